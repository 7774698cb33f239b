/* uring_bench: the lever "io_uring to batch the core's syscalls", as a
 * micro-benchmark (bench/uring/run.sh).  Not part of moat.
 *
 * 1. What one syscall costs on this machine (getppid, and a read that
 *    fails with EAGAIN), and what one io_uring_enter carrying K no-ops
 *    costs, per operation: CPU time of the thread, so that a busy
 *    neighbour's preemption does not count.
 * 2. The net guard's per-connection sequence for a DIRECT connection with
 *    a small exchange, over loopback, connection after connection:
 *      accept, TCP_NODELAY, peek the head, socket, connect, TCP_NODELAY,
 *      splice the head client -> pipe -> server, splice the reply
 *      server -> pipe -> client, close both
 *    "plain": one syscall each (blocking sockets, so no epoll calls at all:
 *    the fewest syscalls plain code can make);
 *    "uring": the same operations as SQEs, linked and submitted in 4
 *    io_uring_enter calls (accept | peek, socket | connect, splice,
 *    splice | splice, splice, close, close).
 *    Printed: the relay thread's CPU per connection, the whole process's
 *    (io_uring may hand an operation to an io-wq worker thread, whose CPU
 *    the relay thread's misses; the client and server threads do the same
 *    work in both modes), and the client's round trip p50/p99 (connect to
 *    last byte).
 *
 *   uring_bench syscall
 *   uring_bench conn plain|uring N HEAD_BYTES */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double
now_ns (clockid_t c)
{
  struct timespec ts;
  clock_gettime (c, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_d (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void
die (const char *what)
{
  perror (what);
  exit (1);
}

/* ---- 1. syscall cost ---- */
static void
bench_syscall (void)
{
  const int n = 500000;
  int efd = eventfd (0, EFD_NONBLOCK);
  uint64_t v;
  double t0, t1;
  struct io_uring ring;

  t0 = now_ns (CLOCK_THREAD_CPUTIME_ID);
  for (int i = 0; i < n; i++)
    syscall (SYS_getppid);
  t1 = now_ns (CLOCK_THREAD_CPUTIME_ID);
  printf ("getppid: %.2f us per call\n", (t1 - t0) / n / 1e3);

  t0 = now_ns (CLOCK_THREAD_CPUTIME_ID);
  for (int i = 0; i < n; i++)
    if (read (efd, &v, sizeof v) >= 0)
      die ("eventfd read");
  t1 = now_ns (CLOCK_THREAD_CPUTIME_ID);
  printf ("read (EAGAIN): %.2f us per call\n", (t1 - t0) / n / 1e3);

  if (io_uring_queue_init (64, &ring, 0) < 0)
    die ("io_uring_queue_init");
  for (int k = 1; k <= 16; k *= 2)
    {
      int rounds = n / k;
      t0 = now_ns (CLOCK_THREAD_CPUTIME_ID);
      for (int r = 0; r < rounds; r++)
        {
          struct io_uring_cqe *cqe;
          for (int j = 0; j < k; j++)
            io_uring_prep_nop (io_uring_get_sqe (&ring));
          io_uring_submit_and_wait (&ring, (unsigned)k);
          for (int j = 0; j < k; j++)
            {
              io_uring_wait_cqe (&ring, &cqe);
              io_uring_cqe_seen (&ring, cqe);
            }
        }
      t1 = now_ns (CLOCK_THREAD_CPUTIME_ID);
      printf ("io_uring_enter with %2d nops: %.2f us per enter, %.2f us per "
              "op\n",
              k, (t1 - t0) / rounds / 1e3, (t1 - t0) / rounds / k / 1e3);
    }
  io_uring_queue_exit (&ring);
  close (efd);
}

/* ---- 2. the per-connection sequence ---- */
static struct sockaddr_in relay_addr, server_addr;
static int head_len;
static int n_conns;
static double *rtt;

static int
listener (struct sockaddr_in *a)
{
  int one = 1, fd = socket (AF_INET, SOCK_STREAM, 0);
  socklen_t l = sizeof *a;
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  a->sin_port = 0;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (fd, (struct sockaddr *)a, sizeof *a) < 0 || listen (fd, 128) < 0
      || getsockname (fd, (struct sockaddr *)a, &l) < 0)
    die ("listen");
  return fd;
}

static int server_fd;

/* The destination: reads the head, answers as many bytes, closes. */
static void *
server_thread (void *arg)
{
  char *buf = malloc ((size_t)head_len);
  (void)arg;
  for (int i = 0; i < n_conns; i++)
    {
      int fd = accept (server_fd, NULL, NULL), got = 0;
      while (got < head_len)
        {
          ssize_t r = read (fd, buf + got, (size_t)(head_len - got));
          if (r <= 0)
            break;
          got += (int)r;
        }
      if (write (fd, buf, (size_t)got) != got)
        perror ("server write");
      close (fd);
    }
  free (buf);
  return NULL;
}

/* The container: connect, send the head, read the reply to EOF. */
static void *
client_thread (void *arg)
{
  char *buf = malloc ((size_t)head_len);
  int one = 1;
  (void)arg;
  memset (buf, 'h', (size_t)head_len);
  for (int i = 0; i < n_conns; i++)
    {
      double t0 = now_ns (CLOCK_MONOTONIC);
      int fd = socket (AF_INET, SOCK_STREAM, 0), got = 0;
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (connect (fd, (struct sockaddr *)&relay_addr, sizeof relay_addr) < 0)
        die ("client connect");
      if (write (fd, buf, (size_t)head_len) != head_len)
        die ("client write");
      for (;;)
        {
          ssize_t r = read (fd, buf, (size_t)head_len);
          if (r <= 0)
            break;
          got += (int)r;
        }
      if (got != head_len)
        {
          fprintf (stderr, "connection %d: %d bytes back, not %d\n", i, got,
                   head_len);
          exit (1);
        }
      close (fd);
      rtt[i] = now_ns (CLOCK_MONOTONIC) - t0;
    }
  free (buf);
  return NULL;
}

static void
relay_plain (int lfd, int p[2])
{
  int one = 1;
  char *peek = malloc ((size_t)head_len);
  for (int i = 0; i < n_conns; i++)
    {
      int c = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC), s;
      ssize_t n;
      /* TCP_NODELAY: inherited from the listener (as the guard does). */
      if (recv (c, peek, (size_t)head_len, MSG_PEEK | MSG_WAITALL) < 0)
        die ("peek");
      s = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (connect (s, (struct sockaddr *)&server_addr, sizeof server_addr) < 0)
        die ("connect");
      setsockopt (s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      n = splice (c, NULL, p[1], NULL, (size_t)head_len, SPLICE_F_MOVE);
      if (n != head_len
          || splice (p[0], NULL, s, NULL, (size_t)n, SPLICE_F_MOVE) != n)
        die ("splice up");
      n = splice (s, NULL, p[1], NULL, (size_t)head_len, SPLICE_F_MOVE);
      if (n != head_len
          || splice (p[0], NULL, c, NULL, (size_t)n, SPLICE_F_MOVE) != n)
        die ("splice down");
      close (s);
      close (c);
    }
  free (peek);
}

/* Submit what is queued and reap exactly `want` completions; -1 when one
 * of them failed. */
static int
reap (struct io_uring *ring, unsigned want, int *res)
{
  int bad = 0;
  io_uring_submit_and_wait (ring, want);
  for (unsigned j = 0; j < want; j++)
    {
      struct io_uring_cqe *cqe;
      if (io_uring_wait_cqe (ring, &cqe) < 0)
        die ("wait_cqe");
      if (cqe->res < 0)
        {
          fprintf (stderr, "op %llu: %s\n", (unsigned long long)cqe->user_data,
                   strerror (-cqe->res));
          bad = 1;
        }
      if (res != NULL && cqe->user_data < 8)
        res[cqe->user_data] = cqe->res;
      io_uring_cqe_seen (ring, cqe);
    }
  return bad ? -1 : 0;
}

static void
relay_uring (int lfd, int p[2])
{
  struct io_uring ring;
  struct io_uring_sqe *q;
  int one = 1, res[8];
  char *peek = malloc ((size_t)head_len);
  if (io_uring_queue_init (32, &ring, 0) < 0)
    die ("io_uring_queue_init");
  for (int i = 0; i < n_conns; i++)
    {
      int c, s;
      /* 1: accept */
      q = io_uring_get_sqe (&ring);
      io_uring_prep_accept (q, lfd, NULL, NULL, SOCK_CLOEXEC);
      q->user_data = 0;
      if (reap (&ring, 1, res) < 0)
        die ("accept");
      c = res[0];
      /* TCP_NODELAY: inherited from the listener (as the guard does). */
      /* 2: peek the head, and the outgoing socket */
      q = io_uring_get_sqe (&ring);
      io_uring_prep_recv (q, c, peek, (size_t)head_len,
                          MSG_PEEK | MSG_WAITALL);
      q->user_data = 1;
      q = io_uring_get_sqe (&ring);
      io_uring_prep_socket (q, AF_INET, SOCK_STREAM, 0, 0);
      q->user_data = 2;
      if (reap (&ring, 2, res) < 0)
        die ("peek/socket");
      s = res[2];
      if (setsockopt (s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        die ("nodelay");
      /* 3: connect, then the head up: linked */
      q = io_uring_get_sqe (&ring);
      io_uring_prep_connect (q, s, (struct sockaddr *)&server_addr,
                             sizeof server_addr);
      q->flags |= IOSQE_IO_LINK;
      q->user_data = 3;
      q = io_uring_get_sqe (&ring);
      io_uring_prep_splice (q, c, -1, p[1], -1, (unsigned)head_len,
                            SPLICE_F_MOVE);
      q->flags |= IOSQE_IO_LINK;
      q->user_data = 4;
      q = io_uring_get_sqe (&ring);
      io_uring_prep_splice (q, p[0], -1, s, -1, (unsigned)head_len,
                            SPLICE_F_MOVE);
      q->user_data = 5;
      if (reap (&ring, 3, NULL) < 0)
        die ("connect/splice up");
      /* 4: the reply down, then both closes: linked */
      q = io_uring_get_sqe (&ring);
      io_uring_prep_splice (q, s, -1, p[1], -1, (unsigned)head_len,
                            SPLICE_F_MOVE);
      q->flags |= IOSQE_IO_LINK;
      q->user_data = 6;
      q = io_uring_get_sqe (&ring);
      io_uring_prep_splice (q, p[0], -1, c, -1, (unsigned)head_len,
                            SPLICE_F_MOVE);
      q->flags |= IOSQE_IO_LINK;
      q->user_data = 7;
      q = io_uring_get_sqe (&ring);
      io_uring_prep_close (q, s);
      q->flags |= IOSQE_IO_LINK;
      q->user_data = 8;
      q = io_uring_get_sqe (&ring);
      io_uring_prep_close (q, c);
      q->user_data = 9;
      if (reap (&ring, 4, NULL) < 0)
        die ("splice down/close");
    }
  io_uring_queue_exit (&ring);
  free (peek);
}

static int
bench_conn (const char *mode, int n, int head)
{
  pthread_t st, ct;
  int lfd, p[2], one = 1;
  double c0, c1, p0, p1;
  n_conns = n;
  head_len = head;
  rtt = calloc ((size_t)n, sizeof *rtt);
  server_fd = listener (&server_addr);
  lfd = listener (&relay_addr);
  setsockopt (lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (pipe (p) < 0)
    die ("pipe");
  pthread_create (&st, NULL, server_thread, NULL);
  pthread_create (&ct, NULL, client_thread, NULL);
  p0 = now_ns (CLOCK_PROCESS_CPUTIME_ID);
  c0 = now_ns (CLOCK_THREAD_CPUTIME_ID);
  if (strcmp (mode, "plain") == 0)
    relay_plain (lfd, p);
  else
    relay_uring (lfd, p);
  c1 = now_ns (CLOCK_THREAD_CPUTIME_ID);
  pthread_join (ct, NULL);
  pthread_join (st, NULL);
  p1 = now_ns (CLOCK_PROCESS_CPUTIME_ID);
  qsort (rtt, (size_t)n, sizeof *rtt, cmp_d);
  printf ("%s: relay thread CPU %.1f us/conn, process CPU %.1f us/conn, "
          "round trip p50 %.1f us, p99 %.1f us (%d connections, %d-byte "
          "head)\n",
          mode, (c1 - c0) / n / 1e3, (p1 - p0) / n / 1e3, rtt[n / 2] / 1e3,
          rtt[n * 99 / 100] / 1e3, n, head);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 2 && strcmp (argv[1], "syscall") == 0)
    {
      bench_syscall ();
      return 0;
    }
  if (argc == 5 && strcmp (argv[1], "conn") == 0
      && (strcmp (argv[2], "plain") == 0 || strcmp (argv[2], "uring") == 0))
    return bench_conn (argv[2], atoi (argv[3]), atoi (argv[4]));
  fprintf (stderr, "usage: uring_bench syscall | conn plain|uring N HEAD\n");
  return 2;
}
