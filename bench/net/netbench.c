/* netbench: the client and server of the net guard benchmark (bench/net).
 *
 *   netbench serve PORT...            epoll server: first byte 'S' = sink
 *                                      (reads to EOF, answers 8 bytes),
 *                                      'E' = echo until EOF
 *   netbench tput HOST PORT BYTES     one stream up; prints MB/s (and
 *                                      its own CPU time, as setup does)
 *   netbench setup HOST PORT N        N sequential connect+1-byte echo;
 *                                      prints mean/p50/p99 microseconds
 *   netbench conc HOST PORT N         N connections opened at once, all
 *                                      held, each echoes a byte; prints
 *                                      wall time and failures
 * HOST is a numeric IPv4 address. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
raise_nofile (void)
{
  struct rlimit r;
  if (getrlimit (RLIMIT_NOFILE, &r) == 0)
    {
      r.rlim_cur = r.rlim_max;
      setrlimit (RLIMIT_NOFILE, &r);
    }
}

static struct sockaddr_in
addr (const char *host, const char *port)
{
  struct sockaddr_in a
      = { .sin_family = AF_INET, .sin_port = htons ((uint16_t)atoi (port)) };
  if (inet_pton (AF_INET, host, &a.sin_addr) != 1)
    {
      fprintf (stderr, "bad host %s\n", host);
      exit (2);
    }
  return a;
}

/* ---- server ---- */

struct sconn
{
  int fd;
  char mode;
  uint64_t n;
  uint64_t want; /* sink: payload length announced in the first 8 bytes */
  int hdr;       /* header bytes still expected */
};

static int
serve (int argc, char **argv)
{
  int ep = epoll_create1 (0);
  struct epoll_event evs[512];
  static char buf[1 << 16];

  for (int i = 0; i < argc; i++)
    {
      struct sockaddr_in a = addr ("0.0.0.0", argv[i]);
      int one = 1, l = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      setsockopt (l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind (l, (struct sockaddr *)&a, sizeof a) < 0 || listen (l, 4096))
        {
          perror ("bind/listen");
          return 1;
        }
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
      struct sconn *ls = calloc (1, sizeof *ls);
      ls->fd = l;
      ls->mode = 'L';
      ev.data.ptr = ls;
      epoll_ctl (ep, EPOLL_CTL_ADD, l, &ev);
    }
  for (;;)
    {
      int n = epoll_wait (ep, evs, 512, -1);
      for (int i = 0; i < n; i++)
        {
          struct sconn *c = evs[i].data.ptr;
          if (c->mode == 'L')
            {
              int fd;
              while ((fd = accept4 (c->fd, NULL, NULL, SOCK_NONBLOCK)) >= 0)
                {
                  struct sconn *nc = calloc (1, sizeof *nc);
                  struct epoll_event ev
                      = { .events = EPOLLIN, .data.ptr = nc };
                  nc->fd = fd;
                  epoll_ctl (ep, EPOLL_CTL_ADD, fd, &ev);
                }
              continue;
            }
          for (;;)
            {
              ssize_t r = read (c->fd, buf, sizeof buf);
              if (r < 0 && errno == EAGAIN)
                break;
              if (r <= 0)
                {
                  close (c->fd);
                  free (c);
                  break;
                }
              size_t off = 0;
              if (c->mode == 0)
                {
                  c->mode = buf[0];
                  off = 1;
                  c->hdr = c->mode == 'S' ? 8 : 0;
                }
              while (c->hdr > 0 && off < (size_t)r)
                {
                  c->want = (c->want << 8) | (uint8_t)buf[off++];
                  c->hdr--;
                }
              if (c->mode == 'S')
                {
                  /* Answer when the announced bytes are in: proxies such
                   * as microsocks do not forward a half-close. */
                  c->n += (uint64_t)r - off;
                  if (c->hdr == 0 && c->n >= c->want)
                    {
                      ssize_t w = write (c->fd, &c->n, 8);
                      (void)w;
                      c->mode = 'D';
                    }
                }
              else if (r > (ssize_t)off)
                {
                  /* echo: small messages, the socket buffer takes them */
                  ssize_t w = write (c->fd, buf + off, (size_t)r - off);
                  (void)w;
                }
            }
        }
    }
}

/* ---- clients ---- */

static int
dial (struct sockaddr_in *a)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0), one = 1;
  if (fd < 0 || connect (fd, (struct sockaddr *)a, sizeof *a) < 0)
    {
      if (fd >= 0)
        close (fd);
      return -1;
    }
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* This process's CPU time (user + system) so far, ms: the client's share
 * of the run's CPU (bench/net/run.sh adds the server's and the proxy's). */
static long
cpu_ms (void)
{
  struct rusage u;
  if (getrusage (RUSAGE_SELF, &u) < 0)
    return -1;
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000L
         + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000L;
}

static int
tput (char **argv)
{
  struct sockaddr_in a = addr (argv[0], argv[1]);
  uint64_t total = strtoull (argv[2], NULL, 10), sent = 0, got = 0;
  static char buf[1 << 18];
  double t0 = now ();
  int fd = dial (&a);
  if (fd < 0)
    {
      perror ("connect");
      return 1;
    }
  memset (buf, 'x', sizeof buf);
  buf[0] = 'S';
  for (int i = 0; i < 8; i++)
    buf[1 + i] = (char)(total >> (56 - 8 * i));
  total += 9;
  while (sent < total)
    {
      size_t n = total - sent < sizeof buf ? total - sent : sizeof buf;
      ssize_t w = write (fd, buf, n);
      if (w <= 0)
        {
          perror ("write");
          return 1;
        }
      sent += (uint64_t)w;
      memset (buf, 'x', 9);
    }
  if (read (fd, &got, 8) != 8 || got != total - 9)
    {
      fprintf (stderr, "server got %llu of %llu\n", (unsigned long long)got,
               (unsigned long long)total - 9);
      return 1;
    }
  total -= 9;
  double dt = now () - t0;
  printf ("%.1f MB/s (%.2f Gbit/s, %llu bytes in %.3f s), cpu %ld ms\n",
          (double)total / dt / 1e6, (double)total * 8 / dt / 1e9,
          (unsigned long long)total, dt, cpu_ms ());
  close (fd);
  return 0;
}

static int
cmp (const void *x, const void *y)
{
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static int
setup (char **argv)
{
  struct sockaddr_in a = addr (argv[0], argv[1]);
  int n = atoi (argv[2]), fails = 0;
  double *t = calloc ((size_t)n, sizeof *t), sum = 0;
  char msg[2] = { 'E', 'p' }, r;
  for (int i = 0; i < n; i++)
    {
      double t0 = now ();
      int fd = dial (&a);
      if (fd < 0 || write (fd, msg, 2) != 2 || read (fd, &r, 1) != 1)
        {
          fails++;
          if (fd >= 0)
            close (fd);
          t[i] = 0;
          continue;
        }
      t[i] = (now () - t0) * 1e6;
      sum += t[i];
      close (fd);
    }
  qsort (t, (size_t)n, sizeof *t, cmp);
  printf ("connect+first byte: mean %.0f us, p50 %.0f us, p99 %.0f us "
          "(%d connections, %d failed), cpu %ld ms\n",
          sum / (n - fails), t[fails + (n - fails) / 2],
          t[fails + (int)((n - fails) * 0.99)], n, fails, cpu_ms ());
  return fails ? 1 : 0;
}

static int
conc (char **argv)
{
  struct sockaddr_in a = addr (argv[0], argv[1]);
  int n = atoi (argv[2]), ep = epoll_create1 (0), done = 0, fails = 0;
  int *fds = calloc ((size_t)n, sizeof *fds);
  char *state = calloc ((size_t)n, 1);
  struct epoll_event evs[512];
  double t0 = now ();

  for (int i = 0; i < n; i++)
    {
      fds[i] = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (fds[i] < 0
          || (connect (fds[i], (struct sockaddr *)&a, sizeof a) < 0
              && errno != EINPROGRESS))
        {
          fails++;
          state[i] = 2;
          continue;
        }
      struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)i };
      epoll_ctl (ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
  while (done + fails < n)
    {
      int k = epoll_wait (ep, evs, 512, 10000);
      if (k <= 0)
        break;
      for (int j = 0; j < k; j++)
        {
          int i = (int)evs[j].data.u32;
          char r;
          if (state[i] == 0)
            {
              if (write (fds[i], "Ep", 2) != 2)
                {
                  fails++;
                  state[i] = 2;
                  epoll_ctl (ep, EPOLL_CTL_DEL, fds[i], NULL);
                  continue;
                }
              struct epoll_event ev
                  = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
              epoll_ctl (ep, EPOLL_CTL_MOD, fds[i], &ev);
              state[i] = 1;
            }
          else if (state[i] == 1)
            {
              if (read (fds[i], &r, 1) == 1)
                done++;
              else
                fails++;
              state[i] = 2;
              epoll_ctl (ep, EPOLL_CTL_DEL, fds[i], NULL);
            }
        }
    }
  double dt = now () - t0;
  printf ("%d concurrent connections: %d echoed, %d failed, all held open, "
          "%.1f ms\n",
          n, done, n - done, dt * 1e3);
  for (int i = 0; i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  return done == n ? 0 : 1;
}

int
main (int argc, char **argv)
{
  raise_nofile ();
  if (argc >= 3 && strcmp (argv[1], "serve") == 0)
    return serve (argc - 2, argv + 2);
  if (argc == 5 && strcmp (argv[1], "tput") == 0)
    return tput (argv + 2);
  if (argc == 5 && strcmp (argv[1], "setup") == 0)
    return setup (argv + 2);
  if (argc == 5 && strcmp (argv[1], "conc") == 0)
    return conc (argv + 2);
  fprintf (stderr, "usage: see the top of bench/net/netbench.c\n");
  return 2;
}
