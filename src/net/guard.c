#include "guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "net/httpfwd.h"
#include "net/proxyproto.h"
#include "net/worker.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

/* Bytes moved per splice call; also the pipes' capacity, so at most this
 * much is buffered per direction (backpressure beyond it). */
#define RELAY_CHUNK (256 * 1024)
/* A direction whose read fills its whole pipe is a bulk transfer: its pipe
 * grows to RELAY_BULK, for fewer splice calls and socket lock/unlock
 * cycles per byte (guard CPU per GB relayed, bench/net: ~1090 ms with 64
 * KB pipes, ~600 with 256 KB, ~510 with 1 MB).  At most BULK_MAX pipes
 * are grown at a time, which bounds the extra data held to BULK_MAX MB.
 * 1 MB is the default fs.pipe-max-size. */
#define RELAY_BULK (1024 * 1024)
#define BULK_MAX 64
/* How often deadlines are checked (they are seconds long). */
#define SCAN_US 20000
/* A proxy's reply head larger than this is refused. */
#define PROXY_HEAD_MAX 8192
/* User-space relay buffers (forward mode, TLS to the proxy), per
 * direction (two TLS records; a forward-mode connection also holds the
 * rewriter's ~35 KB state and UIN bytes of input). */
#define UBUF (32 * 1024)
#define UIN (16 * 1024)
/* Empty relay pipes kept for the next connections: creating, sizing and
 * closing a pipe pair costs about ten syscalls per connection, more than
 * everything else in its setup.  The pool only holds pipes that existed at
 * the same time, so it never raises the peak number of descriptors. */
#define PIPE_POOL_MAX 128

enum conn_state
{
  ST_SNIFF,
  ST_DECIDING,
  ST_CONNECTING,
  ST_TLS,     /* TLS handshake with an https:// proxy */
  ST_HS_SEND, /* sending hs_out to the proxy */
  ST_HS_RECV, /* waiting for the proxy's reply */
  ST_RELAY,
};

enum hs_step
{
  HS_HTTP,
  HS_SOCKS4,
  HS_SOCKS_METHOD,
  HS_SOCKS_AUTH,
  HS_SOCKS_CONNECT,
};

struct tag
{
  struct conn *c; /* NULL for the guard's own fds */
  int kind;       /* 0 client, 1 upstream, 2 listener, 3 stop, 4 done */
};

struct dir
{
  int pipe[2];
  size_t pending; /* bytes in the pipe */
  bool eof;       /* source said EOF */
  bool shut;      /* SHUT_WR sent to the destination */
  bool bulk;      /* the pipe was grown to RELAY_BULK */
  uint64_t bytes;
};

struct conn
{
  struct conn *prev, *next; /* the guard's list of all connections */
  enum conn_state state;
  int cfd, ufd;
  struct tag ctag, utag;
  uint32_t cmask, umask; /* epoll interest registered */
  struct net_addr src;
  uint16_t sport;
  uint64_t t0_us, deadline_us;
  /* The epoll batch in which the current upstream socket was registered:
   * an upstream event of that same batch belongs to an earlier hop's
   * socket (closed by next_hop), not to this one. */
  uint64_t ufd_batch;
  const char *host_source;
  struct net_job job;
  size_t hop; /* index in job.dec.route */
  enum hs_step hs;
  uint8_t hs_out[1024];
  size_t hs_len, hs_off;
  const char *decision;
  char via[280];
  char error[512];
  struct dir up, down; /* up: client -> upstream */
  /* Port 80 and the container's first bytes are an HTTP/1.x request: an
   * HTTP proxy gets it in forward mode (absolute form), not CONNECT. */
  bool http;
  SSL *ssl;          /* TLS to an https:// proxy, or NULL */
  uint32_t ssl_want; /* epoll event the last SSL call waits for */
  /* Userspace relay (forward mode or TLS; else splice): */
  struct net_httpfwd *hf; /* forward-mode rewriter, or NULL */
  uint8_t *ui;            /* container bytes waiting for the rewriter */
  size_t ui_len;
  uint8_t *uo; /* bytes for the upstream */
  size_t uo_len, uo_off;
  uint8_t *db; /* bytes from a TLS upstream for the container */
  size_t db_len, db_off;
  /* Finished: fds closed, audited, waiting to be freed after the current
   * epoll batch (a later event of the batch may still name it). */
  bool dead;
  struct conn *grave_next;
};

struct net_guard
{
  struct net_guard_config cfg;
  int lfd4, lfd6, epfd, stop_fd;
  uint16_t port;
  struct tag ltag4, ltag6, stoptag, donetag;
  struct net_pool pool;
  bool pool_started;
  pthread_mutex_t policy_lock; /* serialises set_policy callers */
  struct conn *conns;
  struct conn *grave;
  unsigned n_conns;
  /* Deadlines are checked by a scan every SCAN_US while any is set. */
  bool any_deadline;
  uint64_t last_scan_us;
  /* Out of descriptors: listeners are paused until this time, so a level-
   * triggered listener does not spin the loop (and other connections keep
   * being relayed). */
  uint64_t paused_until_us;
  uint8_t *peek;    /* sniff_cap bytes, loop-owned */
  SSL_CTX *ssl_ctx; /* for https:// proxies */
  uint64_t batch;   /* epoll_wait calls so far */
  unsigned n_bulk;  /* pipes grown to RELAY_BULK */
  int pipes[PIPE_POOL_MAX][2];
  unsigned n_pipes;
};

static uint64_t
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
sockaddr_to (const struct sockaddr_storage *ss, struct net_addr *a,
             uint16_t *port)
{
  memset (a, 0, sizeof *a);
  if (ss->ss_family == AF_INET)
    {
      const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
      a->family = AF_INET;
      memcpy (a->a, &s4->sin_addr, 4);
      *port = ntohs (s4->sin_port);
    }
  else
    {
      const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
      a->family = AF_INET6;
      memcpy (a->a, &s6->sin6_addr, 16);
      *port = ntohs (s6->sin6_port);
      /* a v4 peer on a v6 socket: report it as the v4 it is */
      if (IN6_IS_ADDR_V4MAPPED (&s6->sin6_addr))
        {
          a->family = AF_INET;
          memmove (a->a, a->a + 12, 4);
          memset (a->a + 4, 0, 12);
        }
    }
}

static socklen_t
to_sockaddr (const struct net_addr *a, uint16_t port,
             struct sockaddr_storage *ss)
{
  memset (ss, 0, sizeof *ss);
  if (a->family == AF_INET)
    {
      struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
      s4->sin_family = AF_INET;
      s4->sin_port = htons (port);
      memcpy (&s4->sin_addr, a->a, 4);
      return sizeof *s4;
    }
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  s6->sin6_family = AF_INET6;
  s6->sin6_port = htons (port);
  memcpy (&s6->sin6_addr, a->a, 16);
  return sizeof *s6;
}

/* ---- epoll helpers ---- */

static void
set_mask (struct net_guard *g, int fd, struct tag *t, uint32_t *cur,
          uint32_t want)
{
  struct epoll_event ev = { .events = want, .data.ptr = t };
  if (fd < 0 || *cur == want)
    return;
  if (epoll_ctl (g->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
    log_warn ("net guard: epoll_ctl: %s", strerror (errno));
  *cur = want;
}

static int
add_fd (struct net_guard *g, int fd, struct tag *t, uint32_t events)
{
  struct epoll_event ev = { .events = events, .data.ptr = t };
  return epoll_ctl (g->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* ---- connection end ---- */

static void
reset_fd (int fd)
{
  /* SO_LINGER 0: close sends RST, so the container learns at once. */
  struct linger l = { .l_onoff = 1, .l_linger = 0 };
  if (fd >= 0)
    setsockopt (fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

/* An empty pipe goes back to the pool; one holding bytes of an aborted
 * relay is closed, so that its data can never reach another connection. */
static void
put_pipe (struct net_guard *g, struct dir *d)
{
  if (d->pipe[0] < 0)
    return;
  if (d->bulk)
    {
      /* not pooled: the next connection is most likely a small one */
      g->n_bulk--;
      d->bulk = false;
    }
  else if (d->pending == 0 && g->n_pipes < PIPE_POOL_MAX)
    {
      memcpy (g->pipes[g->n_pipes++], d->pipe, sizeof d->pipe);
      d->pipe[0] = d->pipe[1] = -1;
      return;
    }
  close (d->pipe[0]);
  close (d->pipe[1]);
  d->pipe[0] = d->pipe[1] = -1;
}

static int
get_pipe (struct net_guard *g, struct dir *d)
{
  if (g->n_pipes > 0)
    {
      memcpy (d->pipe, g->pipes[--g->n_pipes], sizeof d->pipe);
      return 0;
    }
  if (pipe2 (d->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
    return -1;
  /* Best effort: a smaller pipe only means more, smaller splices. */
  fcntl (d->pipe[1], F_SETPIPE_SZ, RELAY_CHUNK);
  return 0;
}

static void
conn_finish (struct net_guard *g, struct conn *c, bool reset)
{
  struct net_audit a;

  memset (&a, 0, sizeof a);
  net_addr_format (&c->src, a.src, sizeof a.src);
  a.src_port = c->sport;
  net_addr_format (&c->job.dst, a.dst, sizeof a.dst);
  a.dst_port = c->job.port;
  snprintf (a.hostname, sizeof a.hostname, "%s", c->job.claimed);
  a.hostname_source = c->host_source;
  a.decision = c->decision ? c->decision : "failed";
  snprintf (a.via, sizeof a.via, "%s", c->via);
  snprintf (a.rule, sizeof a.rule, "%s", c->job.dec.rule);
  snprintf (a.error, sizeof a.error, "%s", c->error);
  a.bytes_up = c->up.bytes;
  a.bytes_down = c->down.bytes;
  a.duration_us = now_us () - c->t0_us;

  if (reset)
    {
      reset_fd (c->cfd);
      reset_fd (c->ufd);
    }
  if (c->ssl != NULL)
    SSL_free (c->ssl);
  c->ssl = NULL;
  free (c->hf);
  free (c->ui);
  free (c->uo);
  free (c->db);
  c->hf = NULL;
  c->ui = c->uo = c->db = NULL;
  if (c->cfd >= 0)
    close (c->cfd);
  if (c->ufd >= 0)
    close (c->ufd);
  put_pipe (g, &c->up);
  put_pipe (g, &c->down);
  if (c->prev)
    c->prev->next = c->next;
  else
    g->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  g->n_conns--;
  c->dead = true;
  c->cfd = c->ufd = -1;
  c->grave_next = g->grave;
  g->grave = c;
  if (g->cfg.audit)
    g->cfg.audit (g->cfg.audit_ctx, &a);
}

static void
refuse (struct net_guard *g, struct conn *c, const char *why)
{
  c->decision = "refused";
  if (why != NULL && c->job.dec.rule[0] == '\0')
    snprintf (c->job.dec.rule, sizeof c->job.dec.rule, "%s", why);
  conn_finish (g, c, true);
}

/* ---- TLS to an https:// proxy ---- */

static const char *
tls_error (char *buf, size_t size)
{
  unsigned long e = ERR_peek_last_error ();
  if (e == 0)
    snprintf (buf, size, "%s", errno ? strerror (errno) : "connection closed");
  else
    ERR_error_string_n (e, buf, size);
  return buf;
}

/* I/O with the upstream, plain or TLS: op 'w' write, 'r' read, 'p' peek.
 * Returns the byte count, 0 for EOF (reads), or -1 with errno (EAGAIN:
 * wait for c->ssl_want under TLS). */
static ssize_t
up_io (struct conn *c, void *buf, size_t n, int op)
{
  int len = n > INT32_MAX ? INT32_MAX : (int)n, r;

  if (c->ssl == NULL)
    return op == 'w' ? send (c->ufd, buf, n, MSG_NOSIGNAL)
                     : recv (c->ufd, buf, n, op == 'p' ? MSG_PEEK : 0);
  ERR_clear_error ();
  errno = 0;
  r = op == 'w' ? SSL_write (c->ssl, buf, len) : SSL_read (c->ssl, buf, len);
  if (r > 0)
    return r;
  switch (SSL_get_error (c->ssl, r))
    {
    case SSL_ERROR_WANT_READ:
      c->ssl_want = EPOLLIN;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      c->ssl_want = EPOLLOUT;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    case SSL_ERROR_SYSCALL:
      if (errno == 0)
        errno = ECONNRESET;
      return -1;
    default:
      errno = EPROTO;
      return -1;
    }
}

/* ---- relay ---- */

/* Move what can be moved from src to dst through d's pipe, until a read or
 * a write says EAGAIN (the sockets are edge-triggered).  Returns -1 on a
 * socket error (the caller resets both sides). */
static int
pump (struct net_guard *g, struct dir *d, const struct dir *other, int src,
      int dst)
{
  for (;;)
    {
      if (d->pending > 0)
        {
          ssize_t n = splice (d->pipe[0], NULL, dst, NULL, d->pending,
                              SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          if (n < 0)
            return errno == EAGAIN ? 0 : -1;
          d->pending -= (size_t)n;
          continue;
        }
      if (d->eof)
        {
          /* Forward the half-close once everything before it is out.
           * When the other direction is already closed, both sockets are
           * closed next, and close sends the same FIN (their receive
           * queues are empty: both sides read to EOF). */
          if (!d->shut)
            {
              if (!other->shut)
                shutdown (dst, SHUT_WR);
              d->shut = true;
            }
          return 0;
        }
      size_t want = d->bulk ? RELAY_BULK : RELAY_CHUNK;
      ssize_t n = splice (src, NULL, d->pipe[1], NULL, want,
                          SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n == 0)
        d->eof = true;
      else if (n < 0)
        return errno == EAGAIN ? 0 : -1;
      else
        {
          d->pending += (size_t)n;
          d->bytes += (uint64_t)n;
          if ((size_t)n == want && !d->bulk && g->n_bulk < BULK_MAX
              && fcntl (d->pipe[1], F_SETPIPE_SZ, RELAY_BULK) >= 0)
            {
              d->bulk = true;
              g->n_bulk++;
            }
        }
    }
}

static void relay_user (struct net_guard *g, struct conn *c);

/* Run the directions that may move: up and/or down. */
static void
relay (struct net_guard *g, struct conn *c, bool up, bool down)
{
  if (c->hf != NULL || c->ssl != NULL)
    {
      relay_user (g, c);
      return;
    }
  if ((up && pump (g, &c->up, &c->down, c->cfd, c->ufd) < 0)
      || (down && pump (g, &c->down, &c->up, c->ufd, c->cfd) < 0))
    {
      snprintf (c->error, sizeof c->error, "relay: %s", strerror (errno));
      conn_finish (g, c, true);
      return;
    }
  if (c->up.shut && c->down.shut)
    {
      conn_finish (g, c, false);
      return;
    }
  /* Both fds are edge-triggered for IN and OUT for the whole relay, so no
   * epoll_ctl per chunk: pump() always runs until a read or a write says
   * EAGAIN.  A side is read only when its pipe is empty, so at most one
   * pipe of data is held per direction (backpressure). */
}

/* An event on one side of a relay: run only the directions it can
 * unblock.  Readable: the direction reading this side; if its pipe still
 * holds bytes, pump() first tries to write them out, which keeps a bulk
 * stream moving before the writer's EPOLLOUT (TCP reports it only once a
 * third of the send buffer is free; measured: a few % more MB/s, same
 * CPU).  Writable: the direction writing this side, only if it was
 * stopped by a full socket (pending bytes); epoll reports EPOLLOUT with
 * every event of a writable socket, and a direction with an empty pipe is
 * waiting for its reader's event, not for this one. */
static void
relay_event (struct net_guard *g, struct conn *c, bool client, uint32_t ev)
{
  struct dir *rd = client ? &c->up : &c->down;
  struct dir *wr = client ? &c->down : &c->up;
  if (c->hf != NULL || c->ssl != NULL)
    {
      /* user-space buffers keep no pipe counts: run both directions */
      relay_user (g, c);
      return;
    }
  bool run_rd = (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) && !rd->eof;
  bool run_wr = (ev & EPOLLOUT) && wr->pending > 0;

  if (!run_rd && !run_wr)
    return;
  if (client)
    relay (g, c, run_rd, run_wr);
  else
    relay (g, c, run_wr, run_rd);
}

/* Container -> upstream in user space: read, rewrite (forward mode) or
 * copy, write (TLS or plain).  Runs until a read or a write would block,
 * like pump().  At most UBUF bytes are held per direction (the rewriter
 * is fed only when its output has been sent). */
static int
up_user (struct conn *c)
{
  for (;;)
    {
      while (c->uo_off < c->uo_len)
        {
          ssize_t n = up_io (c, c->uo + c->uo_off, c->uo_len - c->uo_off, 'w');
          if (n < 0)
            return errno == EAGAIN ? 0 : -1;
          c->uo_off += (size_t)n;
        }
      c->uo_off = c->uo_len = 0;
      if (c->hf != NULL && c->ui_len > 0)
        {
          ssize_t used = net_httpfwd_feed (c->hf, c->ui, c->ui_len, c->uo,
                                           UBUF, &c->uo_len);
          if (used < 0)
            {
              snprintf (c->error, sizeof c->error,
                        "request refused in forward mode: %s", c->hf->error);
              return -1;
            }
          memmove (c->ui, c->ui + used, c->ui_len - (size_t)used);
          c->ui_len -= (size_t)used;
          if (c->uo_len > 0)
            continue;
        }
      if (c->up.eof)
        {
          if (!c->up.shut)
            {
              /* close_notify, then the TCP half-close */
              if (c->ssl != NULL)
                SSL_shutdown (c->ssl);
              shutdown (c->ufd, SHUT_WR);
              c->up.shut = true;
            }
          return 0;
        }
      uint8_t *dst = c->hf != NULL ? c->ui + c->ui_len : c->uo;
      size_t room = c->hf != NULL ? UIN - c->ui_len : UBUF;
      if (room == 0)
        {
          /* cannot happen: the rewriter takes every byte while its output
           * has room; never read 0 bytes and take it for EOF */
          errno = ENOBUFS;
          return -1;
        }
      ssize_t n = recv (c->cfd, dst, room, 0);
      if (n < 0)
        return errno == EAGAIN ? 0 : -1;
      if (n == 0)
        {
          c->up.eof = true;
          continue;
        }
      c->up.bytes += (uint64_t)n;
      if (c->hf != NULL)
        c->ui_len += (size_t)n;
      else
        c->uo_len = (size_t)n;
    }
}

/* TLS upstream -> container. */
static int
down_tls (struct conn *c)
{
  for (;;)
    {
      while (c->db_off < c->db_len)
        {
          ssize_t n = send (c->cfd, c->db + c->db_off, c->db_len - c->db_off,
                            MSG_NOSIGNAL);
          if (n < 0)
            return errno == EAGAIN ? 0 : -1;
          c->db_off += (size_t)n;
        }
      c->db_off = c->db_len = 0;
      if (c->down.eof)
        {
          if (!c->down.shut)
            {
              shutdown (c->cfd, SHUT_WR);
              c->down.shut = true;
            }
          return 0;
        }
      ssize_t n = up_io (c, c->db, UBUF, 'r');
      if (n < 0)
        return errno == EAGAIN ? 0 : -1;
      if (n == 0)
        c->down.eof = true;
      else
        {
          c->db_len = (size_t)n;
          c->down.bytes += (uint64_t)n;
        }
    }
}

static void
relay_user (struct net_guard *g, struct conn *c)
{
  int r = up_user (c);
  if (r == 0)
    r = c->ssl != NULL ? down_tls (c)
                       : pump (g, &c->down, &c->up, c->ufd, c->cfd);
  if (r < 0)
    {
      if (c->error[0] == '\0')
        snprintf (c->error, sizeof c->error, "relay: %s", strerror (errno));
      conn_finish (g, c, true);
      return;
    }
  if (c->up.shut && c->down.shut)
    conn_finish (g, c, false);
}

static void
start_relay (struct net_guard *g, struct conn *c)
{
  /* Splice where the bytes pass untouched; user space where they are
   * rewritten (forward mode, up) or encrypted (TLS, both ways). */
  bool user_up = c->hf != NULL || c->ssl != NULL;
  bool user_down = c->ssl != NULL;
  if ((user_up && (c->uo = malloc (UBUF)) == NULL)
      || (c->hf != NULL && (c->ui = malloc (UIN)) == NULL)
      || (user_down && c->db == NULL && (c->db = malloc (UBUF)) == NULL))
    {
      snprintf (c->error, sizeof c->error, "out of memory");
      conn_finish (g, c, true);
      return;
    }
  if ((!user_up && get_pipe (g, &c->up) < 0)
      || (!user_down && get_pipe (g, &c->down) < 0))
    {
      snprintf (c->error, sizeof c->error, "pipe: %s", strerror (errno));
      conn_finish (g, c, true);
      return;
    }
  /* The sender already chose its own batching; the guard must not add
   * Nagle delays on top.  The container's side has it from the listener
   * (accepted sockets inherit TCP_NODELAY). */
  int one = 1;
  setsockopt (c->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->state = ST_RELAY;
  c->deadline_us = 0;
  /* No-ops for a DIRECT hop: both fds were registered this way. */
  set_mask (g, c->cfd, &c->ctag, &c->cmask, EPOLLIN | EPOLLOUT | EPOLLET);
  set_mask (g, c->ufd, &c->utag, &c->umask, EPOLLIN | EPOLLOUT | EPOLLET);
  relay (g, c, true, true);
}

/* ---- connecting and proxy handshakes ---- */

static void try_hop (struct net_guard *g, struct conn *c);

static void
next_hop (struct net_guard *g, struct conn *c, const char *fmt_err)
{
  snprintf (c->error, sizeof c->error, "%s: %s", c->via, fmt_err);
  if (c->ssl != NULL)
    {
      SSL_free (c->ssl);
      c->ssl = NULL;
    }
  if (c->ufd >= 0)
    {
      epoll_ctl (g->epfd, EPOLL_CTL_DEL, c->ufd, NULL);
      close (c->ufd);
      c->ufd = -1;
    }
  c->hop++;
  try_hop (g, c);
}

static const char *
hop_decision (enum proxy_kind k)
{
  switch (k)
    {
    case PROXY_DIRECT:
      return "direct";
    case PROXY_HTTP:
      return "http-connect";
    case PROXY_HTTPS:
      return "https-connect";
    case PROXY_SOCKS5:
      return "socks5";
    case PROXY_SOCKS4:
      return "socks4";
    default:
      return "failed";
    }
}

static void
try_hop (struct net_guard *g, struct conn *c)
{
  struct net_job *j = &c->job;
  struct sockaddr_storage ss;
  socklen_t sl;
  char abuf[INET6_ADDRSTRLEN];

  for (; c->hop < j->dec.route.n; c->hop++)
    {
      const struct proxy_hop *h = &j->dec.route.hops[c->hop];
      uint16_t port = h->kind == PROXY_DIRECT ? j->port : h->port;
      if (h->kind == PROXY_REJECT)
        break;
      if (h->kind == PROXY_DIRECT)
        snprintf (c->via, sizeof c->via, "%s", "");
      else
        snprintf (c->via, sizeof c->via,
                  strchr (h->host, ':') ? "[%s]:%u" : "%s:%u", h->host,
                  h->port);
      if (h->kind == PROXY_HTTPS && g->ssl_ctx == NULL)
        {
          snprintf (c->error, sizeof c->error,
                    "%s: TLS to the proxy unavailable (see moatd's log)",
                    c->via);
          continue;
        }
      if (h->kind != PROXY_DIRECT && h->kind != PROXY_HTTP
          && h->kind != PROXY_HTTPS && h->kind != PROXY_SOCKS5
          && h->kind != PROXY_SOCKS4)
        {
          snprintf (c->error, sizeof c->error,
                    "%s: proxy type not supported by the net guard", c->via);
          continue;
        }
      if (!j->hop_ok[c->hop])
        {
          snprintf (c->error, sizeof c->error, "%s: %.200s", c->via,
                    j->error[0] ? j->error : "cannot resolve");
          continue;
        }
      sl = to_sockaddr (&j->hop_addr[c->hop], port, &ss);
      c->ufd = socket (ss.ss_family,
                       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c->ufd < 0)
        {
          snprintf (c->error, sizeof c->error, "socket: %s", strerror (errno));
          continue;
        }
      if (connect (c->ufd, (struct sockaddr *)&ss, sl) < 0
          && errno != EINPROGRESS)
        {
          snprintf (c->error, sizeof c->error, "connect %s:%u: %s",
                    net_addr_format (&j->hop_addr[c->hop], abuf, sizeof abuf),
                    port, strerror (errno));
          close (c->ufd);
          c->ufd = -1;
          continue;
        }
      /* A DIRECT hop is registered as the relay wants it (edge-triggered,
       * both ways): the connect's completion is its first EPOLLOUT, and
       * no epoll_ctl is needed when the relay starts. */
      c->umask
          = h->kind == PROXY_DIRECT ? EPOLLIN | EPOLLOUT | EPOLLET : EPOLLOUT;
      c->ufd_batch = g->batch;
      if (add_fd (g, c->ufd, &c->utag, c->umask) < 0)
        {
          snprintf (c->error, sizeof c->error, "epoll: %s", strerror (errno));
          close (c->ufd);
          c->ufd = -1;
          continue;
        }
      c->state = ST_CONNECTING;
      c->decision = hop_decision (h->kind);
      c->deadline_us = now_us () + (uint64_t)g->cfg.connect_timeout_ms * 1000;
      g->any_deadline = true;
      return;
    }
  /* Every hop failed (or the rest of the route is a refusal). */
  c->decision = c->hop < j->dec.route.n ? "refused" : "failed";
  conn_finish (g, c, true);
}

static void hs_begin (struct net_guard *g, struct conn *c);

/* One step of the TLS handshake (ST_TLS).  A certificate that does not
 * verify is a refusal, not a reason to fall over: the next hop may be
 * DIRECT, and an interception of the proxy must not widen egress. */
static void
tls_step (struct net_guard *g, struct conn *c)
{
  char why[256];
  int r;

  ERR_clear_error ();
  errno = 0;
  r = SSL_connect (c->ssl);
  if (r == 1)
    {
      hs_begin (g, c);
      return;
    }
  switch (SSL_get_error (c->ssl, r))
    {
    case SSL_ERROR_WANT_READ:
      set_mask (g, c->ufd, &c->utag, &c->umask, EPOLLIN);
      return;
    case SSL_ERROR_WANT_WRITE:
      set_mask (g, c->ufd, &c->utag, &c->umask, EPOLLOUT);
      return;
    default:
      break;
    }
  long v = SSL_get_verify_result (c->ssl);
  if (v != X509_V_OK)
    {
      snprintf (c->error, sizeof c->error,
                "%s: TLS: proxy certificate not trusted: %s", c->via,
                X509_verify_cert_error_string (v));
      c->decision = "refused";
      conn_finish (g, c, true);
      return;
    }
  snprintf (why, sizeof why, "TLS handshake: ");
  tls_error (why + strlen (why), sizeof why - strlen (why));
  next_hop (g, c, why);
}

static void
tls_begin (struct net_guard *g, struct conn *c)
{
  const struct proxy_hop *h = &c->job.dec.route.hops[c->hop];
  struct net_addr a;

  c->ssl = SSL_new (g->ssl_ctx);
  if (c->ssl == NULL || SSL_set_fd (c->ssl, c->ufd) != 1)
    {
      next_hop (g, c, "TLS: out of memory");
      return;
    }
  SSL_set_mode (c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE
                            | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* The proxy must prove the name (or address) the route names. */
  if (net_addr_parse (h->host, &a) == 0)
    {
      if (X509_VERIFY_PARAM_set1_ip_asc (SSL_get0_param (c->ssl), h->host)
          != 1)
        {
          next_hop (g, c, "TLS: bad proxy address");
          return;
        }
    }
  else if (SSL_set_tlsext_host_name (c->ssl, h->host) != 1
           || SSL_set1_host (c->ssl, h->host) != 1)
    {
      next_hop (g, c, "TLS: bad proxy name");
      return;
    }
  c->state = ST_TLS;
  tls_step (g, c);
}

/* Send the handshake message of n bytes in c->hs_out; n < 0 (it could
 * not be built): the next hop. */
static void
hs_send_next (struct net_guard *g, struct conn *c, int n)
{
  if (n < 0)
    {
      next_hop (g, c, "cannot build proxy request");
      return;
    }
  c->hs_len = (size_t)n;
  c->hs_off = 0;
  c->state = ST_HS_SEND;
  set_mask (g, c->ufd, &c->utag, &c->umask, EPOLLOUT);
}

static void
hs_begin (struct net_guard *g, struct conn *c)
{
  const struct proxy_hop *h = &c->job.dec.route.hops[c->hop];
  struct net_job *j = &c->job;
  char abuf[INET6_ADDRSTRLEN];
  int n;

  if ((h->kind == PROXY_HTTP || h->kind == PROXY_HTTPS) && j->port == 80
      && c->http)
    {
      /* Forward mode: the authority is fixed to what the policy decided
       * on (the verified name, else the address), whatever Host says. */
      const char *target = j->verified
                               ? j->claimed
                               : net_addr_format (&j->dst, abuf, sizeof abuf);
      c->hf = malloc (sizeof *c->hf);
      if (c->hf == NULL
          || net_httpfwd_init (
                 c->hf, target, j->port,
                 j->has_cred[c->hop] ? j->hop_user[c->hop] : NULL,
                 j->has_cred[c->hop] ? j->hop_pass[c->hop] : NULL)
                 < 0)
        {
          free (c->hf);
          c->hf = NULL;
          next_hop (g, c, "cannot set up forward mode");
          return;
        }
      c->decision = h->kind == PROXY_HTTPS ? "https-forward" : "http-forward";
      start_relay (g, c);
      return;
    }
  if (h->kind == PROXY_HTTP || h->kind == PROXY_HTTPS)
    {
      /* A verified name is what the proxy's own policy expects to see. */
      const char *target = j->verified
                               ? j->claimed
                               : net_addr_format (&j->dst, abuf, sizeof abuf);
      n = net_http_connect_request (
          (char *)c->hs_out, sizeof c->hs_out, target, j->port,
          j->has_cred[c->hop] ? j->hop_user[c->hop] : NULL,
          j->has_cred[c->hop] ? j->hop_pass[c->hop] : NULL);
      c->hs = HS_HTTP;
    }
  else if (h->kind == PROXY_SOCKS4)
    {
      /* Plain SOCKS4 with the address, as browsers send for PAC's
       * "SOCKS": SOCKS4a by name is not accepted by every server (dante
       * refuses it). */
      n = net_socks4_request (
          c->hs_out, sizeof c->hs_out, NULL, &j->dst, j->port,
          j->has_cred[c->hop] ? j->hop_user[c->hop] : NULL);
      c->hs = HS_SOCKS4;
    }
  else
    {
      n = (int)net_socks5_greeting (c->hs_out, j->has_cred[c->hop]);
      c->hs = HS_SOCKS_METHOD;
    }
  hs_send_next (g, c, n);
}

/* The proxy answered; a refusal by the proxy is final (no failover: the
 * proxy's policy said no). */
static void
proxy_refused (struct net_guard *g, struct conn *c, const char *why)
{
  snprintf (c->error, sizeof c->error, "%s: %s", c->via, why);
  c->decision = "refused";
  conn_finish (g, c, true);
}

/* The CONNECT reply of a TLS proxy.  TLS cannot be peeked across
 * records, so the reply is read into c->db; what follows the head belongs
 * to the stream and is the first thing the relay gives the container. */
static void
hs_tls_reply (struct net_guard *g, struct conn *c)
{
  size_t take = 0;
  int status = 0, r;

  if (c->db == NULL && (c->db = malloc (UBUF)) == NULL)
    {
      next_hop (g, c, "out of memory");
      return;
    }
  for (;;)
    {
      ssize_t n
          = up_io (c, c->db + c->db_len, PROXY_HEAD_MAX - c->db_len, 'r');
      if (n < 0 && errno == EAGAIN)
        {
          set_mask (g, c->ufd, &c->utag, &c->umask, c->ssl_want);
          return;
        }
      if (n <= 0)
        {
          next_hop (g, c,
                    n == 0 ? "proxy closed the connection" : strerror (errno));
          return;
        }
      c->db_len += (size_t)n;
      r = net_http_connect_response (c->db, c->db_len, PROXY_HEAD_MAX, &take,
                                     &status);
      if (r < 0 || (r == 0 && c->db_len == PROXY_HEAD_MAX))
        {
          proxy_refused (g, c, "malformed CONNECT reply");
          return;
        }
      if (r == 1)
        break;
    }
  if (status / 100 != 2)
    {
      char why[64];
      snprintf (why, sizeof why, "proxy answered CONNECT with %d", status);
      proxy_refused (g, c, why);
      return;
    }
  c->db_off = take;
  start_relay (g, c);
}

static void
hs_io (struct net_guard *g, struct conn *c)
{
  struct net_job *j = &c->job;
  uint8_t buf[PROXY_HEAD_MAX];
  ssize_t n;

  if (c->state == ST_HS_SEND)
    {
      while (c->hs_off < c->hs_len)
        {
          n = up_io (c, c->hs_out + c->hs_off, c->hs_len - c->hs_off, 'w');
          if (n < 0 && errno == EAGAIN)
            {
              if (c->ssl != NULL)
                set_mask (g, c->ufd, &c->utag, &c->umask, c->ssl_want);
              return;
            }
          if (n < 0)
            {
              next_hop (g, c, strerror (errno));
              return;
            }
          c->hs_off += (size_t)n;
        }
      c->state = ST_HS_RECV;
      set_mask (g, c->ufd, &c->utag, &c->umask, EPOLLIN);
      return;
    }
  if (c->ssl != NULL)
    {
      hs_tls_reply (g, c);
      return;
    }
  /* Peek, then consume exactly the reply: bytes after it belong to the
   * relayed stream. */
  n = recv (c->ufd, buf, sizeof buf, MSG_PEEK);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0)
    {
      next_hop (g, c,
                n == 0 ? "proxy closed the connection" : strerror (errno));
      return;
    }
  size_t len = (size_t)n, take = 0;
  int status = 0, r;
  switch (c->hs)
    {
    case HS_HTTP:
      r = net_http_connect_response (buf, len, sizeof buf, &take, &status);
      if (r == 0)
        return;
      if (r < 0)
        {
          proxy_refused (g, c, "malformed CONNECT reply");
          return;
        }
      if (recv (c->ufd, buf, take, 0) != (ssize_t)take)
        {
          next_hop (g, c, "short read");
          return;
        }
      if (status / 100 != 2)
        {
          char why[64];
          snprintf (why, sizeof why, "proxy answered CONNECT with %d", status);
          proxy_refused (g, c, why);
          return;
        }
      start_relay (g, c);
      return;
    case HS_SOCKS_METHOD:
    case HS_SOCKS_AUTH:
      if (len < 2)
        return;
      if (recv (c->ufd, buf, 2, 0) != 2)
        {
          next_hop (g, c, "short read");
          return;
        }
      if (c->hs == HS_SOCKS_METHOD && buf[0] == 5 && buf[1] == 2
          && j->has_cred[c->hop])
        {
          c->hs = HS_SOCKS_AUTH;
          hs_send_next (g, c,
                        net_socks5_auth (c->hs_out, sizeof c->hs_out,
                                         j->hop_user[c->hop],
                                         j->hop_pass[c->hop]));
          return;
        }
      if ((c->hs == HS_SOCKS_METHOD && (buf[0] != 5 || buf[1] != 0))
          || (c->hs == HS_SOCKS_AUTH && buf[1] != 0))
        {
          proxy_refused (g, c,
                         c->hs == HS_SOCKS_AUTH
                             ? "SOCKS5 authentication failed"
                             : "no acceptable SOCKS5 method");
          return;
        }
      c->hs = HS_SOCKS_CONNECT;
      /* Domain-name addressing only for a verified name. */
      hs_send_next (g, c,
                    net_socks5_request (c->hs_out, sizeof c->hs_out,
                                        j->verified ? j->claimed : NULL,
                                        &j->dst, j->port));
      return;
    case HS_SOCKS4:
      r = net_socks4_reply (buf, len, &status);
      if (r == 0)
        return;
      if (r < 0)
        {
          proxy_refused (g, c, "malformed SOCKS4 reply");
          return;
        }
      if (recv (c->ufd, buf, 8, 0) != 8)
        {
          next_hop (g, c, "short read");
          return;
        }
      if (!status)
        {
          proxy_refused (g, c, "SOCKS4 request rejected");
          return;
        }
      start_relay (g, c);
      return;
    case HS_SOCKS_CONNECT:
      r = net_socks5_reply (buf, len, &take, &status);
      if (r == 0)
        return;
      if (r < 0)
        {
          proxy_refused (g, c, "malformed SOCKS5 reply");
          return;
        }
      if (recv (c->ufd, buf, take, 0) != (ssize_t)take)
        {
          next_hop (g, c, "short read");
          return;
        }
      if (status != 0)
        {
          char why[64];
          snprintf (why, sizeof why, "SOCKS5 CONNECT failed (reply %d)",
                    status);
          proxy_refused (g, c, why);
          return;
        }
      start_relay (g, c);
      return;
    }
}

/* The upstream socket's first event (never a stale one: conn_event
 * drops those).  Without EPOLLERR or EPOLLHUP the connect succeeded. */
static void
connected (struct net_guard *g, struct conn *c, uint32_t ev)
{
  if (ev & (EPOLLERR | EPOLLHUP))
    {
      int soerr = 0;
      socklen_t sl = sizeof soerr;
      if (getsockopt (c->ufd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
      next_hop (g, c, strerror (soerr ? soerr : ECONNREFUSED));
      return;
    }
  if (!(ev & EPOLLOUT))
    return;
  if (c->job.dec.route.hops[c->hop].kind == PROXY_DIRECT)
    start_relay (g, c);
  else if (c->job.dec.route.hops[c->hop].kind == PROXY_HTTPS)
    tls_begin (g, c);
  else
    hs_begin (g, c);
}

/* ---- accept, sniff, decide ---- */

static void decided (struct net_guard *g, struct net_job *j);

static void
decide (struct net_guard *g, struct conn *c)
{
  c->state = ST_DECIDING;
  c->deadline_us = 0;
  /* Static rules on an address are a pure function: no thread hop. */
  if (net_pool_decide_inline (&g->pool, &c->job))
    decided (g, &c->job);
  else
    net_pool_submit (&g->pool, &c->job);
}

/* The bytes start like an HTTP request line: an upper-case method, a
 * space, a target.  Such a stream goes to an HTTP proxy in forward mode,
 * where the rewriter checks every request (and refuses targets not in
 * origin form); anything else on port 80 is tunnelled with CONNECT. */
static bool
http_request_p (const uint8_t *p, size_t n)
{
  size_t i = 0;
  while (i < n && i < 32 && p[i] >= 'A' && p[i] <= 'Z')
    i++;
  return i > 0 && i + 1 < n && p[i] == ' ' && p[i + 1] > 0x20
         && p[i + 1] < 0x7f;
}

static void
sniff (struct net_guard *g, struct conn *c)
{
  char name[NET_HOSTNAME_MAX];
  ssize_t n = recv (c->cfd, g->peek, g->cfg.sniff_cap, MSG_PEEK);
  int r;

  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0)
    {
      /* The container left before saying anything: nothing to decide. */
      snprintf (c->error, sizeof c->error, "client closed before sending");
      c->decision = "refused";
      conn_finish (g, c, n < 0);
      return;
    }
  if (c->job.port == 443)
    r = net_sniff_tls_sni (g->peek, (size_t)n, name, sizeof name);
  else
    {
      r = net_sniff_http_host (g->peek, (size_t)n, name, sizeof name);
      c->http = http_request_p (g->peek, (size_t)n);
    }
  if (r == NET_SNIFF_MORE && (size_t)n < g->cfg.sniff_cap)
    return;
  if (r == NET_SNIFF_FOUND)
    {
      memcpy (c->job.claimed, name, sizeof name);
      c->host_source = c->job.port == 443 ? "sni" : "http-host";
    }
  decide (g, c);
}

static void
decided (struct net_guard *g, struct net_job *j)
{
  struct conn *c = j->conn;

  if (c->job.claimed[0] != '\0' && !c->job.verified)
    c->host_source
        = c->job.port == 443 ? "sni-mismatch" : "http-host-mismatch";
  if (net_decision_refuse_p (&c->job.dec))
    {
      if (c->error[0] == '\0' && c->job.error[0] != '\0')
        snprintf (c->error, sizeof c->error, "%s", c->job.error);
      refuse (g, c, NULL);
      return;
    }
  c->hop = 0;
  try_hop (g, c);
}

static int
original_dst (int fd, int family, struct sockaddr_storage *ss)
{
  socklen_t sl = sizeof *ss;
  if (family == AF_INET)
    return getsockopt (fd, SOL_IP, SO_ORIGINAL_DST, ss, &sl);
  return getsockopt (fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, ss, &sl);
}

static void
listeners_mask (struct net_guard *g, uint32_t ev)
{
  struct epoll_event e4 = { .events = ev, .data.ptr = &g->ltag4 };
  struct epoll_event e6 = { .events = ev, .data.ptr = &g->ltag6 };
  if (g->lfd4 >= 0)
    epoll_ctl (g->epfd, EPOLL_CTL_MOD, g->lfd4, &e4);
  if (g->lfd6 >= 0)
    epoll_ctl (g->epfd, EPOLL_CTL_MOD, g->lfd6, &e6);
}

static void
pause_listeners (struct net_guard *g)
{
  listeners_mask (g, 0);
  g->paused_until_us = now_us () + 100000;
  g->any_deadline = true;
}

/* Connections open from one container address (a scan: at most
 * max_conns entries, and only on accept). */
static unsigned
src_count (struct net_guard *g, const struct net_addr *a)
{
  unsigned n = 0;
  for (struct conn *c = g->conns; c != NULL; c = c->next)
    n += net_addr_equal_p (&c->src, a);
  return n;
}

static void
accept_all (struct net_guard *g, int lfd, int family)
{
  for (;;)
    {
      struct sockaddr_storage peer, odst;
      socklen_t pl = sizeof peer;
      int fd = accept4 (lfd, (struct sockaddr *)&peer, &pl,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
      struct conn *c;

      if (fd < 0)
        {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
              || errno == ENOMEM)
            {
              log_warn ("net guard: accept: %s; pausing new connections",
                        strerror (errno));
              pause_listeners (g);
            }
          else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            log_warn ("net guard: accept: %s", strerror (errno));
          return;
        }
      c = calloc (1, sizeof *c);
      if (c == NULL)
        {
          reset_fd (fd);
          close (fd);
          continue;
        }
      sockaddr_to (&peer, &c->src, &c->sport);
      c->job.src = c->src;
      bool over = g->n_conns >= g->cfg.max_conns
                  || src_count (g, &c->src) >= g->cfg.max_conns_per_src;
      c->cfd = fd;
      c->ufd = -1;
      c->up.pipe[0] = c->up.pipe[1] = c->down.pipe[0] = c->down.pipe[1] = -1;
      c->ctag = (struct tag){ c, 0 };
      c->utag = (struct tag){ c, 1 };
      c->t0_us = now_us ();
      c->host_source = "none";
      c->job.conn = c;
      c->next = g->conns;
      if (g->conns)
        g->conns->prev = c;
      g->conns = c;
      g->n_conns++;

      memset (&odst, 0, sizeof odst);
      if (original_dst (fd, family, &odst) < 0)
        {
          refuse (g, c, "no original destination (not redirected)");
          continue;
        }
      sockaddr_to (&odst, &c->job.dst, &c->job.port);
      /* Counted before refusing, so the audit shows who hit the limit. */
      if (over)
        {
          refuse (g, c, "too many connections (net guard limit)");
          continue;
        }
      /* A connection made to the listener itself has no destination to
       * go to; relaying it would loop. */
      if (c->job.port == g->port)
        {
          refuse (g, c, "connection to the net guard itself");
          continue;
        }
      /* Edge-triggered: peeked bytes stay queued while a new segment
       * still wakes us, and a hang-up is reported once, not in a loop
       * while the decision is pending.  EPOLLOUT too, as the relay wants
       * it, so that starting the relay needs no epoll_ctl. */
      c->cmask = EPOLLIN | EPOLLOUT | EPOLLET;
      if (add_fd (g, fd, &c->ctag, c->cmask) < 0)
        {
          snprintf (c->error, sizeof c->error, "epoll: %s", strerror (errno));
          conn_finish (g, c, true);
          continue;
        }
      if (c->job.port != 80 && c->job.port != 443)
        {
          decide (g, c);
          continue;
        }
      c->state = ST_SNIFF;
      c->deadline_us = c->t0_us + (uint64_t)g->cfg.sniff_timeout_ms * 1000;
      g->any_deadline = true;
      sniff (g, c);
    }
}

static void
expire (struct net_guard *g, uint64_t now)
{
  g->any_deadline = false;
  g->last_scan_us = now;
  if (g->paused_until_us != 0)
    {
      if (now >= g->paused_until_us)
        {
          g->paused_until_us = 0;
          listeners_mask (g, EPOLLIN);
        }
      else
        g->any_deadline = true;
    }
  for (struct conn *c = g->conns, *next; c != NULL; c = next)
    {
      next = c->next;
      if (c->deadline_us == 0)
        continue;
      if (now < c->deadline_us)
        {
          g->any_deadline = true;
          continue;
        }
      if (c->state == ST_SNIFF)
        {
          /* Nothing recognisable in time: decide on the IP. */
          c->host_source = "timeout";
          decide (g, c);
        }
      else if (c->state == ST_CONNECTING || c->state == ST_TLS
               || c->state == ST_HS_SEND || c->state == ST_HS_RECV)
        next_hop (g, c, "timed out");
    }
}

static void
bury (struct net_guard *g)
{
  while (g->grave != NULL)
    {
      struct conn *c = g->grave;
      g->grave = c->grave_next;
      free (c);
    }
}

static void
conn_event (struct net_guard *g, struct tag *t, uint32_t ev)
{
  struct conn *c = t->c;
  if (c->dead)
    return;
  /* Registered during this batch: the event is an earlier hop socket's. */
  if (t->kind == 1 && c->ufd_batch == g->batch)
    return;
  switch (c->state)
    {
    case ST_SNIFF:
      if (t->kind == 0 && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        sniff (g, c);
      break;
    case ST_DECIDING:
      break;
    case ST_CONNECTING:
      if (t->kind == 1)
        connected (g, c, ev);
      break;
    case ST_TLS:
      if (t->kind == 1)
        tls_step (g, c);
      break;
    case ST_HS_SEND:
    case ST_HS_RECV:
      if (t->kind == 1)
        hs_io (g, c);
      break;
    case ST_RELAY:
      if (ev & EPOLLERR)
        {
          int soerr = 0;
          socklen_t sl = sizeof soerr;
          getsockopt (t->kind == 0 ? c->cfd : c->ufd, SOL_SOCKET, SO_ERROR,
                      &soerr, &sl);
          /* One side reset: reset the other too, as a direct connection
           * would have seen. */
          snprintf (c->error, sizeof c->error, "%s: %s",
                    t->kind == 0 ? "container" : "upstream",
                    strerror (soerr ? soerr : ECONNRESET));
          conn_finish (g, c, true);
          break;
        }
      relay_event (g, c, t->kind == 0, ev);
      break;
    }
}

/* ---- public API ---- */

static int
listen_on (const char *addr, uint16_t port, int family, int *out,
           moat_error_t *err)
{
  struct sockaddr_storage ss;
  struct net_addr a;
  socklen_t sl;
  int one = 1;
  cleanup_close int fd = -1;

  if (net_addr_parse (addr, &a) < 0 || a.family != family)
    return moat_error (err, EINVAL, "listen address `%s`", addr);
  sl = to_sockaddr (&a, port, &ss);
  fd = socket (family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return moat_error (err, errno, "socket");
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* Inherited by every accepted socket (see start_relay). */
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (family == AF_INET6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind (fd, (struct sockaddr *)&ss, sl) < 0)
    return moat_error (err, errno, "bind %s port %u", addr, port);
  if (listen (fd, 4096) < 0)
    return moat_error (err, errno, "listen");
  *out = steal_fd (&fd);
  return 0;
}

/* The client context for https:// proxies: TLS 1.2 or later, the
 * system's trust store plus cfg.proxy_ca_file, peer verification on. */
static int
tls_context (struct net_guard *g, moat_error_t *err)
{
  char buf[256];
  g->ssl_ctx = SSL_CTX_new (TLS_client_method ());
  if (g->ssl_ctx == NULL)
    return moat_error (err, ENOMEM, "TLS context: %s",
                       tls_error (buf, sizeof buf));
  SSL_CTX_set_min_proto_version (g->ssl_ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify (g->ssl_ctx, SSL_VERIFY_PEER, NULL);
  /* The relayed bytes carry their own framing (or their own TLS): a
   * proxy that closes without close_notify ends the stream like TCP. */
  SSL_CTX_set_options (g->ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (SSL_CTX_set_default_verify_paths (g->ssl_ctx) != 1)
    log_warn ("net guard: no system trust store for https:// proxies");
  if (g->cfg.proxy_ca_file != NULL
      && SSL_CTX_load_verify_locations (g->ssl_ctx, g->cfg.proxy_ca_file, NULL)
             != 1)
    return moat_error (err, EINVAL, "proxy CA file `%s`: %s",
                       g->cfg.proxy_ca_file, tls_error (buf, sizeof buf));
  return 0;
}

int
net_guard_new (const struct net_guard_config *cfg, struct net_guard **out,
               moat_error_t *err)
{
  struct net_guard *g = calloc (1, sizeof *g);
  const char *l4, *l6;

  if (g == NULL)
    return moat_error (err, ENOMEM, "net guard");
  g->cfg = *cfg;
  g->lfd4 = g->lfd6 = g->epfd = g->stop_fd = -1;
  if (g->cfg.workers == 0)
    g->cfg.workers = 4;
  if (g->cfg.sniff_timeout_ms == 0)
    g->cfg.sniff_timeout_ms = 1500;
  if (g->cfg.sniff_cap == 0)
    g->cfg.sniff_cap = 16384;
  if (g->cfg.connect_timeout_ms == 0)
    g->cfg.connect_timeout_ms = 5000;
  if (g->cfg.max_conns == 0)
    g->cfg.max_conns = 4096;
  if (g->cfg.max_conns_per_src == 0)
    g->cfg.max_conns_per_src = 1024;
  {
    /* Six descriptors per relayed connection (two sockets, two pipes):
     * cap the connections to what RLIMIT_NOFILE allows, keeping 64 for the
     * rest of the process, rather than fail in the middle of a relay. */
    struct rlimit rl;
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
        && (rlim_t)g->cfg.max_conns * 6 + 64 > rl.rlim_cur)
      {
        unsigned cap
            = rl.rlim_cur > 64 + 6 ? (unsigned)((rl.rlim_cur - 64) / 6) : 1;
        log_warn ("net guard: RLIMIT_NOFILE %llu allows %u connections, not "
                  "%u; raise it in moatd",
                  (unsigned long long)rl.rlim_cur, cap, g->cfg.max_conns);
        g->cfg.max_conns = cap;
      }
  }
  pthread_mutex_init (&g->policy_lock, NULL);
  if (tls_context (g, err) < 0)
    goto fail;
  g->peek = malloc (g->cfg.sniff_cap);
  if (g->peek == NULL)
    {
      moat_error (err, ENOMEM, "net guard");
      goto fail;
    }
  l4 = cfg->listen4 ? cfg->listen4 : "0.0.0.0";
  l6 = cfg->listen6 ? cfg->listen6 : "::";
  g->port = cfg->listen_port;
  if (l4[0] != '\0')
    {
      if (listen_on (l4, g->port, AF_INET, &g->lfd4, err) < 0)
        goto fail;
      if (g->port == 0)
        {
          struct sockaddr_storage ss;
          socklen_t sl = sizeof ss;
          struct net_addr a;
          getsockname (g->lfd4, (struct sockaddr *)&ss, &sl);
          sockaddr_to (&ss, &a, &g->port);
        }
    }
  if (l6[0] != '\0' && listen_on (l6, g->port, AF_INET6, &g->lfd6, err) < 0)
    goto fail;
  if (g->lfd4 < 0 && g->lfd6 < 0)
    {
      moat_error (err, EINVAL, "net guard: no listener configured");
      goto fail;
    }
  g->cfg.intercept.listen_port = g->port;
  g->epfd = epoll_create1 (EPOLL_CLOEXEC);
  g->stop_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (g->epfd < 0 || g->stop_fd < 0)
    {
      moat_error (err, errno, "epoll/eventfd");
      goto fail;
    }
  if (net_pool_start (&g->pool, &g->cfg, g->cfg.workers, err) < 0)
    goto fail;
  g->pool_started = true;
  g->ltag4 = (struct tag){ NULL, 2 };
  g->ltag6 = (struct tag){ NULL, 5 };
  g->stoptag = (struct tag){ NULL, 3 };
  g->donetag = (struct tag){ NULL, 4 };
  if ((g->lfd4 >= 0 && add_fd (g, g->lfd4, &g->ltag4, EPOLLIN) < 0)
      || (g->lfd6 >= 0 && add_fd (g, g->lfd6, &g->ltag6, EPOLLIN) < 0)
      || add_fd (g, g->stop_fd, &g->stoptag, EPOLLIN) < 0
      || add_fd (g, g->pool.done_fd, &g->donetag, EPOLLIN) < 0)
    {
      moat_error (err, errno, "epoll_ctl");
      goto fail;
    }
  *out = g;
  return 0;
fail:
  net_guard_free (g);
  return -1;
}

uint16_t
net_guard_port (const struct net_guard *g)
{
  return g->port;
}

static int
host_addresses (struct net_snapshot *s, moat_error_t *err)
{
  struct ifaddrs *ifa = NULL;
  size_t n = 0;
  if (getifaddrs (&ifa) < 0)
    return moat_error (err, errno, "getifaddrs");
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
    n += i->ifa_addr != NULL;
  s->host = calloc (n ? n : 1, sizeof *s->host);
  if (s->host == NULL)
    {
      freeifaddrs (ifa);
      return moat_error (err, ENOMEM, "host addresses");
    }
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
    {
      uint16_t port;
      if (i->ifa_addr == NULL
          || (i->ifa_addr->sa_family != AF_INET
              && i->ifa_addr->sa_family != AF_INET6))
        continue;
      sockaddr_to ((const struct sockaddr_storage *)i->ifa_addr,
                   &s->host[s->n_host++], &port);
    }
  freeifaddrs (ifa);
  return 0;
}

int
net_guard_set_policy (struct net_guard *g, const struct policy *p,
                      const struct net_system_proxy *sys, moat_error_t *err)
{
  struct net_snapshot *s = calloc (1, sizeof *s);
  int ret = -1;

  if (s == NULL)
    return moat_error (err, ENOMEM, "net policy");
  pthread_mutex_lock (&g->policy_lock);
  if (net_rules_compile (p, sys, &s->rules, err) < 0
      || host_addresses (s, err) < 0)
    {
      moat_error_wrap (err, "net guard policy");
      goto out;
    }
  /* Rules first: the listener exists, so redirected connections queue
   * until the new snapshot decides them; a failed load keeps the old
   * policy whole. */
  if (g->cfg.install_rules
      && net_nft_apply (&g->cfg.intercept, s->rules, err) < 0)
    goto out;
  net_pool_set_snapshot (&g->pool, s);
  s = NULL;
  ret = 0;
out:
  pthread_mutex_unlock (&g->policy_lock);
  if (s != NULL)
    {
      net_rules_free (s->rules);
      free (s->host);
      free (s);
    }
  return ret;
}

int
net_guard_remove_rules (struct net_guard *g, moat_error_t *err)
{
  return net_nft_apply (&g->cfg.intercept, NULL, err);
}

void
net_guard_stop (struct net_guard *g)
{
  uint64_t one = 1;
  ssize_t r = write (g->stop_fd, &one, sizeof one);
  (void)r;
}

int
net_guard_run (struct net_guard *g, moat_error_t *err)
{
  struct epoll_event evs[256];

  for (;;)
    {
      int n = epoll_wait (g->epfd, evs, 256,
                          g->any_deadline ? SCAN_US / 1000 : -1);
      g->batch++;
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return moat_error (err, errno, "epoll_wait");
      for (int i = 0; i < n; i++)
        {
          struct tag *t = evs[i].data.ptr;
          uint64_t v;
          if (t->c != NULL)
            {
              conn_event (g, t, evs[i].events);
              continue;
            }
          switch (t->kind)
            {
            case 2:
              accept_all (g, g->lfd4, AF_INET);
              break;
            case 5:
              accept_all (g, g->lfd6, AF_INET6);
              break;
            case 3:
              goto stop;
            case 4:
              if (read (g->pool.done_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                log_warn ("net guard: eventfd: %s", strerror (errno));
              for (struct net_job *j = net_pool_take_done (&g->pool), *nx;
                   j != NULL; j = nx)
                {
                  nx = j->next;
                  decided (g, j);
                }
              break;
            }
        }
      uint64_t now = now_us ();
      if (g->any_deadline && now - g->last_scan_us >= SCAN_US)
        expire (g, now);
      bury (g);
    }
stop:
  bury (g);
  return 0;
}

void
net_guard_free (struct net_guard *g)
{
  if (g == NULL)
    return;
  if (g->pool_started)
    net_pool_stop (&g->pool);
  while (g->conns != NULL)
    {
      g->conns->decision = g->conns->decision ? g->conns->decision : "refused";
      snprintf (g->conns->error, sizeof g->conns->error, "net guard stopped");
      conn_finish (g, g->conns, true);
    }
  bury (g);
  while (g->n_pipes > 0)
    {
      g->n_pipes--;
      close (g->pipes[g->n_pipes][0]);
      close (g->pipes[g->n_pipes][1]);
    }
  if (g->lfd4 >= 0)
    close (g->lfd4);
  if (g->lfd6 >= 0)
    close (g->lfd6);
  if (g->epfd >= 0)
    close (g->epfd);
  if (g->stop_fd >= 0)
    close (g->stop_fd);
  free (g->peek);
  SSL_CTX_free (g->ssl_ctx);
  pthread_mutex_destroy (&g->policy_lock);
  free (g);
}
