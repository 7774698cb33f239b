/* ext-backend: the backend of the test extensions
 * (tests/integration/test_extensions.sh).  Static, runs in a busybox
 * image.  Listens on the unix socket SOCKET and answers every request
 * with "HTTP/1.0 200 OK" and the body "hello from NAME\n".
 *
 *   ext-backend SOCKET NAME */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  char reply[256], buf[4096];
  int fd, n;

  if (argc != 3 || strlen (argv[1]) >= sizeof sa.sun_path)
    {
      fprintf (stderr, "usage: ext-backend SOCKET NAME\n");
      return 2;
    }
  signal (SIGPIPE, SIG_IGN);
  strcpy (sa.sun_path, argv[1]);
  unlink (argv[1]);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0
      || listen (fd, 16) < 0)
    {
      fprintf (stderr, "ext-backend: %s: %s\n", argv[1], strerror (errno));
      return 1;
    }
  n = snprintf (reply, sizeof reply,
                "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                "Content-Length: %zu\r\n\r\nhello from %s\n",
                strlen (argv[2]) + 12, argv[2]);
  for (;;)
    {
      int c = accept4 (fd, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      if (read (c, buf, sizeof buf) >= 0 && write (c, reply, (size_t)n) != n)
        fprintf (stderr, "ext-backend: short write\n");
      close (c);
    }
}
