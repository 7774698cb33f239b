/* GET /_ping latency over a unix socket: kept-alive or a new connection per
 * request.  Usage: ping_lat SOCKET N keep|new [PATH]; prints p50 p99 in µs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int
dial (const char *path)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM, 0);
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
  if (connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    {
      perror ("connect");
      exit (1);
    }
  return fd;
}

/* read one response with Content-Length */
static void
read_resp (int fd)
{
  char buf[65536];
  size_t len = 0;
  for (;;)
    {
      ssize_t n = read (fd, buf + len, sizeof buf - len - 1);
      if (n <= 0)
        exit (1);
      len += (size_t)n;
      buf[len] = 0;
      char *e = strstr (buf, "\r\n\r\n");
      if (!e)
        continue;
      char *cl = strcasestr (buf, "content-length:");
      size_t want
          = (size_t)(e + 4 - buf) + (cl ? strtoul (cl + 15, 0, 10) : 0);
      if (len >= want)
        return;
    }
}

static int
cmp (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  int n = atoi (argv[2]);
  int keep = strcmp (argv[3], "keep") == 0;
  const char *path = argc > 4 ? argv[4] : "/_ping";
  char req[256];
  double *lat = calloc ((size_t)n, sizeof *lat);
  int fd = keep ? dial (argv[1]) : -1;
  int rl
      = snprintf (req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
  for (int i = 0; i < n; i++)
    {
      struct timespec a, b;
      clock_gettime (CLOCK_MONOTONIC, &a);
      if (!keep)
        fd = dial (argv[1]);
      if (write (fd, req, (size_t)rl) != rl)
        return 1;
      read_resp (fd);
      if (!keep)
        close (fd);
      clock_gettime (CLOCK_MONOTONIC, &b);
      lat[i] = (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
    }
  qsort (lat, (size_t)n, sizeof *lat, cmp);
  printf ("p50 %.0f us  p99 %.0f us\n", lat[n / 2], lat[n * 99 / 100]);
  return 0;
}
