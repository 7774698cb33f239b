/* Reading a password without it passing through stdio buffers, argv or
 * the environment (password.h). */
#include "password.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "directory.h"

/* One line from fd, a byte at a time (nothing is read past the newline, and
 * no buffer but ours holds the password). */
static int
read_line (int fd, char *buf, size_t cap, size_t *len, moat_error_t *err)
{
  size_t n = 0;

  for (;;)
    {
      char c;
      ssize_t r = read (fd, &c, 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return moat_error (err, errno, "read password");
      if (r == 0 || c == '\n')
        break;
      if (n + 1 >= cap)
        return moat_error (err, EINVAL, "password longer than %d bytes",
                           DIRECTORY_PASSWORD_MAX);
      buf[n++] = c;
    }
  if (n > 0 && buf[n - 1] == '\r')
    n--;
  buf[n] = '\0';
  *len = n;
  return 0;
}

int
directory_password_read (bool from_stdin, const char *prompt, char **out,
                         size_t *len, moat_error_t *err)
{
  const size_t cap = DIRECTORY_PASSWORD_MAX + 2;
  cleanup_close int tty = -1;
  struct termios old, quiet;
  char *buf;
  int r;

  *out = NULL;
  *len = 0;
  buf = calloc (1, cap);
  if (buf == NULL)
    return moat_error (err, ENOMEM, "read password");
  if (from_stdin)
    r = read_line (STDIN_FILENO, buf, cap, len, err);
  else
    {
      tty = open ("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
      if (tty < 0 || tcgetattr (tty, &old) < 0)
        {
          free (buf);
          return moat_error (err, ENXIO,
                             "no terminal to read the password from; pipe "
                             "it with --password-stdin");
        }
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t)ECHO;
      quiet.c_lflag |= ECHONL;
      if (write (tty, prompt, strlen (prompt)) < 0
          || tcsetattr (tty, TCSAFLUSH, &quiet) < 0)
        {
          free (buf);
          return moat_error (err, errno, "terminal");
        }
      r = read_line (tty, buf, cap, len, err);
      tcsetattr (tty, TCSAFLUSH, &old);
    }
  if (r == 0 && *len == 0)
    r = moat_error (err, EINVAL, "empty password");
  if (r == 0 && memchr (buf, '\0', *len) != NULL)
    r = moat_error (err, EINVAL, "password contains a NUL byte");
  if (r < 0)
    {
      directory_password_free (buf, cap);
      *len = 0;
      return -1;
    }
  *out = buf;
  return 0;
}
