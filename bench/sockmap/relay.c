/* relay: the lever "in-kernel relay once DIRECT is decided" as a measured
 * prototype (bench/sockmap/run.sh).  A plain TCP relay, LISTEN -> DST, in
 * one of two modes:
 *
 *   splice   what the net guard does for a DIRECT connection: one epoll
 *            loop, edge-triggered sockets, splice(2) through a pipe per
 *            direction, EOF forwarded with shutdown(SHUT_WR)
 *   sockmap  both sockets go into a BPF sockmap whose sk_skb stream
 *            verdict (relay.bpf.c) redirects every segment to the peer
 *            socket's egress in the kernel; user space only watches for
 *            EOF (EPOLLRDHUP) to forward it and to close
 *
 *   relay splice|sockmap LISTEN_IP LISTEN_PORT DST_IP DST_PORT [BPF_OBJ]
 *
 * Prints "ready" when listening; runs until SIGTERM.  Connects are
 * blocking (a prototype: the destination is one hop away).  Not part of
 * moat. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 4096
#define PIPE_SZ (256 * 1024)

struct side
{
  int fd;
  int pipe[2]; /* splice: data read from fd, not yet written to peer */
  size_t in_pipe;
  int eof;  /* read returned 0 */
  int shut; /* peer has been shut down for writing */
};

struct conn
{
  struct side s[2]; /* 0: client, 1: server */
  uint32_t slot;    /* sockmap: indices slot, slot + 1 */
  int used;
};

static struct conn conns[MAXC];
static int use_sockmap;
static int map_socks = -1, map_peer = -1;
static volatile sig_atomic_t stop;

static void
on_term (int sig)
{
  (void)sig;
  stop = 1;
}

static struct sockaddr_in
addr (const char *ip, const char *port)
{
  struct sockaddr_in a
      = { .sin_family = AF_INET, .sin_port = htons ((uint16_t)atoi (port)) };
  if (inet_pton (AF_INET, ip, &a.sin_addr) != 1)
    {
      fprintf (stderr, "bad address %s\n", ip);
      exit (2);
    }
  return a;
}

static uint64_t
cookie_of (int fd)
{
  uint64_t c = 0;
  socklen_t l = sizeof c;
  if (getsockopt (fd, SOL_SOCKET, SO_COOKIE, &c, &l) < 0)
    perror ("SO_COOKIE");
  return c;
}

static void
conn_close (struct conn *c)
{
  for (int k = 0; k < 2; k++)
    {
      if (use_sockmap)
        {
          uint64_t ck = cookie_of (c->s[k].fd);
          bpf_map_delete_elem (map_peer, &ck);
        }
      close (c->s[k].fd);
      if (c->s[k].pipe[0] >= 0)
        {
          close (c->s[k].pipe[0]);
          close (c->s[k].pipe[1]);
        }
    }
  c->used = 0;
}

/* splice: move what fd k has into its pipe and out to the peer. */
static int
pump (struct conn *c, int k)
{
  struct side *a = &c->s[k], *b = &c->s[!k];
  for (;;)
    {
      if (a->in_pipe > 0)
        {
          ssize_t w = splice (a->pipe[0], NULL, b->fd, NULL, a->in_pipe,
                              SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          if (w < 0)
            return errno == EAGAIN ? 0 : -1;
          a->in_pipe -= (size_t)w;
          continue;
        }
      if (a->eof)
        break;
      ssize_t r = splice (a->fd, NULL, a->pipe[1], NULL, PIPE_SZ,
                          SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (r < 0)
        return errno == EAGAIN ? 0 : -1;
      if (r == 0)
        a->eof = 1;
      a->in_pipe += (size_t)r;
    }
  if (a->eof && a->in_pipe == 0 && !a->shut)
    {
      shutdown (b->fd, SHUT_WR);
      a->shut = 1;
    }
  return 0;
}

/* sockmap: the data never reaches user space; only EOF does. */
static int
watch_eof (struct conn *c, int k)
{
  struct side *a = &c->s[k], *b = &c->s[!k];
  char buf[4096];
  for (;;)
    {
      /* Bytes the verdict let through (before the maps held the pair):
       * relayed by hand. */
      ssize_t r = recv (a->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r > 0)
        {
          if (send (b->fd, buf, (size_t)r, MSG_NOSIGNAL) != r)
            return -1;
          continue;
        }
      if (r == 0)
        a->eof = 1;
      else if (errno != EAGAIN)
        return -1;
      break;
    }
  if (a->eof && !a->shut)
    {
      shutdown (b->fd, SHUT_WR);
      a->shut = 1;
    }
  return 0;
}

int
main (int argc, char **argv)
{
  struct sockaddr_in la, da;
  int lfd, ep, one = 1;
  struct bpf_object *obj = NULL;
  struct rlimit rl = { 1 << 16, 1 << 16 };

  if (argc < 6 || (strcmp (argv[1], "splice") && strcmp (argv[1], "sockmap")))
    {
      fprintf (stderr, "usage: relay splice|sockmap LISTEN_IP PORT DST_IP "
                       "PORT [BPF_OBJ]\n");
      return 2;
    }
  setrlimit (RLIMIT_NOFILE, &rl);
  use_sockmap = strcmp (argv[1], "sockmap") == 0;
  la = addr (argv[2], argv[3]);
  da = addr (argv[4], argv[5]);
  signal (SIGTERM, on_term);
  signal (SIGINT, on_term);
  signal (SIGPIPE, SIG_IGN);

  if (use_sockmap)
    {
      struct bpf_program *prog;
      if (argc < 7)
        {
          fprintf (stderr, "sockmap needs BPF_OBJ\n");
          return 2;
        }
      obj = bpf_object__open_file (argv[6], NULL);
      if (obj == NULL || bpf_object__load (obj) < 0)
        {
          fprintf (stderr, "load %s: %s\n", argv[6], strerror (errno));
          return 1;
        }
      map_socks = bpf_object__find_map_fd_by_name (obj, "socks");
      map_peer = bpf_object__find_map_fd_by_name (obj, "peer_of");
      prog = bpf_object__find_program_by_name (obj, "relay_verdict");
      if (map_socks < 0 || map_peer < 0 || prog == NULL
          || bpf_prog_attach (bpf_program__fd (prog), map_socks,
                              BPF_SK_SKB_STREAM_VERDICT, 0)
                 < 0)
        {
          fprintf (stderr, "attach: %s\n", strerror (errno));
          return 1;
        }
    }

  lfd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  setsockopt (lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt (lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (bind (lfd, (struct sockaddr *)&la, sizeof la) < 0
      || listen (lfd, 4096) < 0)
    {
      perror ("listen");
      return 1;
    }
  ep = epoll_create1 (0);
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
  epoll_ctl (ep, EPOLL_CTL_ADD, lfd, &ev);
  printf ("ready\n");
  fflush (stdout);

  while (!stop)
    {
      struct epoll_event evs[64];
      int n = epoll_wait (ep, evs, 64, 200);
      for (int i = 0; i < n; i++)
        {
          if (evs[i].data.u64 == UINT64_MAX)
            {
              for (;;)
                {
                  int cfd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK);
                  int sfd;
                  uint32_t id;
                  struct conn *c;
                  if (cfd < 0)
                    break;
                  for (id = 0; id < MAXC && conns[id].used; id++)
                    ;
                  sfd = socket (AF_INET, SOCK_STREAM, 0);
                  if (id == MAXC || sfd < 0
                      || connect (sfd, (struct sockaddr *)&da, sizeof da) < 0)
                    {
                      close (cfd);
                      if (sfd >= 0)
                        close (sfd);
                      continue;
                    }
                  fcntl (sfd, F_SETFL, O_NONBLOCK);
                  setsockopt (sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                  c = &conns[id];
                  memset (c, 0, sizeof *c);
                  c->used = 1;
                  c->slot = id * 2;
                  c->s[0].fd = cfd;
                  c->s[1].fd = sfd;
                  for (int k = 0; k < 2; k++)
                    {
                      c->s[k].pipe[0] = c->s[k].pipe[1] = -1;
                      if (!use_sockmap)
                        {
                          if (pipe2 (c->s[k].pipe, O_NONBLOCK) == 0)
                            fcntl (c->s[k].pipe[1], F_SETPIPE_SZ, PIPE_SZ);
                        }
                      else
                        {
                          /* peer first, then the socket: a segment is
                           * redirected only once its peer is in place */
                          uint32_t me = c->slot + (uint32_t)k,
                                   peer = c->slot + (uint32_t)!k;
                          uint64_t ck = cookie_of (c->s[k].fd);
                          uint64_t fd64 = (uint64_t)c->s[k].fd;
                          if (bpf_map_update_elem (map_peer, &ck, &peer,
                                                   BPF_ANY)
                                  < 0
                              || bpf_map_update_elem (map_socks, &me, &fd64,
                                                      BPF_ANY)
                                     < 0)
                            perror ("map update");
                        }
                      struct epoll_event e2
                          = { .events
                              = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                              .data.u64 = ((uint64_t)id << 1) | (uint64_t)k };
                      epoll_ctl (ep, EPOLL_CTL_ADD, c->s[k].fd, &e2);
                    }
                }
              continue;
            }
          uint32_t id = (uint32_t)(evs[i].data.u64 >> 1);
          struct conn *c = &conns[id];
          int rc = 0;
          if (!c->used)
            continue;
          for (int k = 0; k < 2 && rc == 0; k++)
            rc = use_sockmap ? watch_eof (c, k) : pump (c, k);
          if (rc < 0 || (evs[i].events & EPOLLERR)
              || (c->s[0].shut && c->s[1].shut))
            conn_close (c);
        }
    }
  for (int i = 0; i < MAXC; i++)
    if (conns[i].used)
      conn_close (&conns[i]);
  if (obj != NULL)
    bpf_object__close (obj);
  return 0;
}
