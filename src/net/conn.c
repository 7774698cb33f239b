/* The net guard's connections once decided: connecting each hop of the
 * route in turn, TLS to an https:// proxy, the proxy handshake (hs.h), and
 * the relay (io/relay.h where bytes pass untouched, user space where they
 * are rewritten or encrypted).  Level-triggered like all of src/io: every
 * handler consumes what it can and conn_sync() states what it waits for
 * next; nothing is peeked. */
#include "net/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

socklen_t
net_to_sockaddr (const struct net_addr *a, uint16_t port,
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

/* Send the ciphertext waiting for a TLS upstream: 0 when all is sent,
 * else -1 with errno (EAGAIN: the rest waits for EPOLLOUT). */
static int
tls_flush (struct conn *c)
{
  const uint8_t *p;
  size_t n;
  while ((n = net_hs_tls_out (c->tls, &p)) > 0)
    {
      ssize_t k;
      do
        k = send (c->uh.fd, p, n, MSG_NOSIGNAL);
      while (k < 0 && errno == EINTR);
      if (k < 0)
        return -1;
      net_hs_tls_out_consume (c->tls, (size_t)k);
    }
  return 0;
}

static ssize_t
tls_failed (struct conn *c)
{
  if (c->error[0] == '\0')
    snprintf (c->error, sizeof c->error, "relay: %s", c->tls->why);
  errno = EPROTO;
  return -1;
}

/* I/O with the upstream, plain or TLS: write (w) or read (r).  Returns
 * the byte count, 0 for EOF (reads), or -1 with errno (EAGAIN: wait for
 * *want, which is EPOLLIN or EPOLLOUT).  A TLS write that waits must be
 * called again with the same bytes first in buf (SSL_write's rule): they
 * are reported written once their ciphertext is sent. */
static ssize_t
up_io (struct conn *c, void *buf, size_t n, bool w, uint32_t *want)
{
  ssize_t k;

  *want = w ? EPOLLOUT : EPOLLIN;
  if (c->tls == NULL)
    {
      do
        k = w ? send (c->uh.fd, buf, n, MSG_NOSIGNAL)
              : recv (c->uh.fd, buf, n, 0);
      while (k < 0 && errno == EINTR);
      return k;
    }
  if (w)
    {
      if (c->tls->unacked == 0)
        {
          k = net_hs_tls_write (c->tls, buf, n);
          if (k < 0)
            return tls_failed (c);
          c->tls->unacked = (size_t)k;
        }
      if (tls_flush (c) < 0)
        return -1;
      k = (ssize_t)c->tls->unacked;
      c->tls->unacked = 0;
      return k;
    }
  for (;;)
    {
      uint8_t raw[UBUF / 2];
      k = net_hs_tls_read (c->tls, buf, n);
      if (k >= 0)
        {
          /* what reading made TLS answer (a key update): best effort,
           * the next write sends the rest first */
          (void)tls_flush (c);
          return k;
        }
      if (errno != EAGAIN)
        return tls_failed (c);
      do
        k = recv (c->uh.fd, raw, sizeof raw, 0);
      while (k < 0 && errno == EINTR);
      /* EOF without close_notify: EOF (the relayed bytes carry their own
       * framing) */
      if (k <= 0)
        return k;
      if (net_hs_tls_feed (c->tls, raw, (size_t)k) < 0)
        {
          errno = ENOMEM;
          return -1;
        }
    }
}

/* ---- relay ---- */

/* Container -> upstream in user space: read, rewrite (forward mode) or
 * copy, write (TLS or plain).  Runs until a read or a write would block.
 * At most UBUF bytes wait for the upstream (the rewriter is fed only when
 * its output has been sent). */
static int
up_user (struct conn *c)
{
  struct io_relay_dir *d = &c->r.ab;
  for (;;)
    {
      while (!io_buf_empty_p (&c->uo))
        {
          ssize_t n = up_io (c, (void *)io_buf_data (&c->uo),
                             io_buf_len (&c->uo), true, &c->want_up);
          if (n < 0)
            return errno == EAGAIN ? 0 : -1;
          io_buf_consume (&c->uo, (size_t)n);
        }
      if (c->hf != NULL && !io_buf_empty_p (&c->ui))
        {
          size_t out_len = 0;
          char *out = io_buf_reserve (&c->uo, UBUF);
          if (out == NULL)
            return -1;
          ssize_t used = net_httpfwd_feed (
              c->hf, (const uint8_t *)io_buf_data (&c->ui),
              io_buf_len (&c->ui), (uint8_t *)out, UBUF, &out_len);
          if (used < 0)
            {
              snprintf (c->error, sizeof c->error,
                        "request refused in forward mode: %s", c->hf->error);
              errno = EPROTO;
              return -1;
            }
          io_buf_commit (&c->uo, out_len);
          io_buf_consume (&c->ui, (size_t)used);
          if (out_len > 0)
            continue;
        }
      if (d->eof)
        {
          if (!d->shut)
            {
              /* close_notify, then the TCP half-close */
              if (c->tls != NULL)
                {
                  net_hs_tls_close (c->tls);
                  (void)tls_flush (c);
                }
              shutdown (c->uh.fd, SHUT_WR);
              d->shut = true;
            }
          return 0;
        }
      struct io_buf *dst = c->hf != NULL ? &c->ui : &c->uo;
      size_t room = c->hf != NULL ? UIN - io_buf_len (&c->ui) : UBUF;
      if (c->hf != NULL && io_buf_len (&c->ui) >= UIN)
        {
          /* cannot happen: the rewriter takes every byte while its output
           * has room; never read 0 bytes and take it for EOF */
          errno = ENOBUFS;
          return -1;
        }
      ssize_t n = io_buf_recv (dst, c->ch.fd, room);
      if (n < 0)
        return errno == EAGAIN ? 0 : -1;
      if (n == 0)
        d->eof = true;
      else
        d->bytes += (uint64_t)n;
    }
}

/* TLS upstream -> container. */
static int
down_tls (struct conn *c)
{
  struct io_relay_dir *d = &c->r.ba;
  for (;;)
    {
      if (io_buf_send (&c->db, c->ch.fd) < 0)
        return -1;
      if (!io_buf_empty_p (&c->db))
        return 0;
      if (d->eof)
        {
          if (!d->shut)
            {
              shutdown (c->ch.fd, SHUT_WR);
              d->shut = true;
            }
          return 0;
        }
      char *at = io_buf_reserve (&c->db, UBUF);
      if (at == NULL)
        return -1;
      ssize_t n = up_io (c, at, UBUF, false, &c->want_down);
      if (n < 0)
        return errno == EAGAIN ? 0 : -1;
      if (n == 0)
        d->eof = true;
      else
        {
          io_buf_commit (&c->db, (size_t)n);
          d->bytes += (uint64_t)n;
        }
    }
}

static bool
up_user_wants_read (const struct conn *c)
{
  return !c->r.ab.eof && io_buf_empty_p (&c->uo)
         && (c->hf == NULL || io_buf_len (&c->ui) < UIN);
}

void
conn_relay_masks (const struct conn *c, uint32_t *mc, uint32_t *mu)
{
  *mc = *mu = 0;
  if (c->mode == RM_SPLICE)
    {
      *mc = io_relay_mask_a (&c->r);
      *mu = io_relay_mask_b (&c->r);
      return;
    }
  /* up, in user space */
  if (up_user_wants_read (c))
    *mc |= EPOLLIN;
  if (!io_buf_empty_p (&c->uo))
    *mu |= c->tls != NULL ? c->want_up : EPOLLOUT;
  /* down */
  if (c->mode == RM_TLS)
    {
      if (!io_buf_empty_p (&c->db))
        *mc |= EPOLLOUT;
      else if (!c->r.ba.eof)
        *mu |= c->want_down;
    }
  else
    {
      if (io_relay_dir_wants_write_p (&c->r.ba))
        *mc |= EPOLLOUT;
      if (io_relay_dir_wants_read_p (&c->r.ba))
        *mu |= EPOLLIN;
    }
}

static void
relay_failed (struct net_guard *g, struct conn *c)
{
  if (c->error[0] == '\0')
    snprintf (c->error, sizeof c->error, "relay: %s", strerror (errno));
  conn_finish (g, c, true);
}

/* Run the directions that may move: ab (container -> upstream) and/or
 * ba; then end the connection or state what it waits for. */
static void
relay (struct net_guard *g, struct conn *c, bool ab, bool ba)
{
  int r = 0;
  switch (c->mode)
    {
    case RM_SPLICE:
      r = io_relay_run (&g->pipes, &c->r, ab, ba);
      break;
    case RM_FORWARD:
      r = up_user (c);
      if (r == 0)
        r = io_relay_run (&g->pipes, &c->r, false, true);
      break;
    case RM_TLS:
      r = up_user (c);
      if (r == 0)
        r = down_tls (c);
      break;
    }
  if (r < 0)
    {
      relay_failed (g, c);
      return;
    }
  if (c->r.ab.shut && c->r.ba.shut)
    {
      conn_finish (g, c, false);
      return;
    }
  conn_sync (g, c);
}

/* An event on one side of a relay.  Readable: the direction reading this
 * side; writable: the direction writing it (level-triggered, so each bit
 * is one we asked for).  User-space modes run both: TLS may read to
 * write. */
void
conn_relay_event (struct net_guard *g, struct conn *c, bool client,
                  uint32_t ev)
{
  if (ev & EPOLLERR)
    {
      int soerr = 0;
      socklen_t sl = sizeof soerr;
      getsockopt (client ? c->ch.fd : c->uh.fd, SOL_SOCKET, SO_ERROR, &soerr,
                  &sl);
      /* One side reset: reset the other too, as a direct connection
       * would have seen. */
      snprintf (c->error, sizeof c->error, "%s: %s",
                client ? "container" : "upstream",
                strerror (soerr ? soerr : ECONNRESET));
      conn_finish (g, c, true);
      return;
    }
  if (c->mode != RM_SPLICE || (ev & EPOLLHUP))
    {
      relay (g, c, true, true);
      return;
    }
  bool in = ev & EPOLLIN, out = ev & EPOLLOUT;
  if (client)
    relay (g, c, in, out);
  else
    relay (g, c, out, in);
}

static void
start_relay (struct net_guard *g, struct conn *c)
{
  /* The sender already chose its own batching; the guard must not add
   * Nagle delays on top.  The container's side has it from the listener
   * (accepted sockets inherit TCP_NODELAY). */
  int one = 1;
  setsockopt (c->uh.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->r.a = c->ch.fd;
  c->r.b = c->uh.fd;
  c->mode = c->tls != NULL ? RM_TLS : c->hf != NULL ? RM_FORWARD : RM_SPLICE;
  /* What the container sent before: first in line for the upstream (for
   * the rewriter in forward mode).  What the proxy sent after its reply:
   * first in line for the container. */
  struct io_buf *first_up = c->mode == RM_SPLICE ? &c->r.ab.pre
                            : c->hf != NULL      ? &c->ui
                                                 : &c->uo;
  struct io_buf *first_down = c->mode == RM_TLS ? &c->db : &c->r.ba.pre;
  /* counted as relayed: the audit reports what passed, read when it was */
  c->r.ab.bytes += io_buf_len (&c->in);
  c->r.ba.bytes += io_buf_len (&c->hsin);
  io_buf_free (first_up);
  *first_up = c->in;
  memset (&c->in, 0, sizeof c->in);
  io_buf_free (first_down);
  *first_down = c->hsin;
  memset (&c->hsin, 0, sizeof c->hsin);
  c->want_up = EPOLLOUT;
  c->want_down = EPOLLIN;
  c->state = CS_RELAY;
  io_timer_cancel (g->loop, &c->deadline);
  relay (g, c, true, true);
}

/* ---- connecting ---- */

static int arm_deadline (struct net_guard *g, struct conn *c);

void
conn_next_hop (struct net_guard *g, struct conn *c, const char *why)
{
  snprintf (c->error, sizeof c->error, "%s: %s", c->via, why);
  if (c->tls != NULL)
    {
      net_hs_tls_free (c->tls);
      free (c->tls);
      c->tls = NULL;
    }
  io_handle_close (g->loop, &c->uh);
  io_buf_clear (&c->hsin);
  c->hop++;
  conn_try_hop (g, c);
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
on_deadline (struct io_loop *l, struct io_timer *t)
{
  struct conn *c = t->owner;
  if (c->state == CS_SNIFF)
    {
      /* guard.c arms its own sniff deadline; never here */
      return;
    }
  conn_next_hop (c->g, c, "timed out");
}

static int
arm_deadline (struct net_guard *g, struct conn *c)
{
  return io_timer_set (g->loop, &c->deadline,
                       io_now_us ()
                           + (uint64_t)g->cfg.connect_timeout_ms * 1000,
                       on_deadline, c);
}

void
conn_try_hop (struct net_guard *g, struct conn *c)
{
  struct net_job *j = &c->job;
  struct sockaddr_storage ss;
  socklen_t sl;
  char abuf[INET6_ADDRSTRLEN];

  for (; c->hop < j->dec.route.n; c->hop++)
    {
      const struct proxy_hop *h = &j->dec.route.hops[c->hop];
      uint16_t port = h->kind == PROXY_DIRECT ? j->port : h->port;
      int fd;
      if (h->kind == PROXY_REJECT)
        break;
      if (h->kind == PROXY_DIRECT)
        c->via[0] = '\0';
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
      sl = net_to_sockaddr (&j->hop_addr[c->hop], port, &ss);
      fd = socket (ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   0);
      if (fd < 0)
        {
          snprintf (c->error, sizeof c->error, "socket: %s", strerror (errno));
          continue;
        }
      if (connect (fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)
        {
          snprintf (c->error, sizeof c->error, "connect %s:%u: %s",
                    net_addr_format (&j->hop_addr[c->hop], abuf, sizeof abuf),
                    port, strerror (errno));
          close (fd);
          continue;
        }
      /* The connect's completion is the first EPOLLOUT. */
      if (io_handle_add (g->loop, &c->uh, fd, EPOLLOUT) < 0
          || arm_deadline (g, c) < 0)
        {
          snprintf (c->error, sizeof c->error, "epoll: %s", strerror (errno));
          if (c->uh.fd >= 0)
            io_handle_close (g->loop, &c->uh);
          else
            close (fd);
          continue;
        }
      c->state = CS_CONNECTING;
      c->decision = hop_decision (h->kind);
      return;
    }
  /* Every hop failed (or the rest of the route is a refusal). */
  c->decision = c->hop < j->dec.route.n ? "refused" : "failed";
  conn_finish (g, c, true);
}

/* ---- handshakes ---- */

/* The proxy answered; a refusal by the proxy is final (no failover: the
 * proxy's policy said no). */
static void
proxy_refused (struct net_guard *g, struct conn *c, const char *why)
{
  snprintf (c->error, sizeof c->error, "%s: %s", c->via, why);
  c->decision = "refused";
  conn_finish (g, c, true);
}

static void hs_io (struct net_guard *g, struct conn *c);

static void
hs_begin (struct net_guard *g, struct conn *c)
{
  const struct proxy_hop *h = &c->job.dec.route.hops[c->hop];
  struct net_job *j = &c->job;
  const char *user = j->has_cred[c->hop] ? j->hop_user[c->hop] : NULL;
  const char *pass = j->has_cred[c->hop] ? j->hop_pass[c->hop] : NULL;
  char abuf[INET6_ADDRSTRLEN];

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
          || net_httpfwd_init (c->hf, target, j->port, user, pass) < 0)
        {
          free (c->hf);
          c->hf = NULL;
          conn_next_hop (g, c, "cannot set up forward mode");
          return;
        }
      c->decision = h->kind == PROXY_HTTPS ? "https-forward" : "http-forward";
      start_relay (g, c);
      return;
    }
  struct net_hs_target t = {
    .name = j->verified ? j->claimed : NULL,
    .addr = &j->dst,
    .port = j->port,
    .user = user,
    .pass = pass,
  };
  enum net_hs_proto proto = h->kind == PROXY_SOCKS4   ? NET_HS_SOCKS4
                            : h->kind == PROXY_SOCKS5 ? NET_HS_SOCKS5
                                                      : NET_HS_HTTP_CONNECT;
  if (net_hs_start (&c->hs, proto, &t) != NET_HS_SEND)
    {
      conn_next_hop (g, c, c->hs.why);
      return;
    }
  c->hs_off = 0;
  c->state = CS_HS_SEND;
  /* the socket is connected: it is most likely writable now */
  hs_io (g, c);
}

/* Send hs.out, then read the reply into hsin and parse what arrived:
 * every byte read is consumed from the socket (level-triggered: a peeked
 * byte would keep it readable and spin the loop while the proxy waits). */
static void
hs_io (struct net_guard *g, struct conn *c)
{
  uint32_t want;
  for (;;)
    {
      if (c->state == CS_HS_SEND)
        {
          while (c->hs_off < c->hs.out_len)
            {
              ssize_t n = up_io (c, c->hs.out + c->hs_off,
                                 c->hs.out_len - c->hs_off, true, &want);
              if (n < 0 && errno == EAGAIN)
                {
                  c->want_down = want;
                  conn_sync (g, c);
                  return;
                }
              if (n < 0)
                {
                  conn_next_hop (g, c, strerror (errno));
                  return;
                }
              c->hs_off += (size_t)n;
            }
          c->state = CS_HS_RECV;
        }
      /* what arrived already (a proxy may answer two steps at once) */
      size_t used = 0;
      enum net_hs_result r = NET_HS_MORE;
      if (!io_buf_empty_p (&c->hsin))
        r = net_hs_input (&c->hs, (const uint8_t *)io_buf_data (&c->hsin),
                          io_buf_len (&c->hsin), &used);
      switch (r)
        {
        case NET_HS_SEND:
          io_buf_consume (&c->hsin, used);
          c->hs_off = 0;
          c->state = CS_HS_SEND;
          continue;
        case NET_HS_DONE:
          io_buf_consume (&c->hsin, used);
          start_relay (g, c);
          return;
        case NET_HS_REFUSE:
          proxy_refused (g, c, c->hs.why);
          return;
        case NET_HS_FAIL:
          conn_next_hop (g, c, c->hs.why);
          return;
        case NET_HS_MORE:
          break;
        }
      if (io_buf_len (&c->hsin) >= NET_HS_REPLY_MAX)
        {
          proxy_refused (g, c, "proxy reply too long");
          return;
        }
      char *at = io_buf_reserve (&c->hsin,
                                 NET_HS_REPLY_MAX - io_buf_len (&c->hsin));
      if (at == NULL)
        {
          conn_next_hop (g, c, "out of memory");
          return;
        }
      ssize_t n = up_io (c, at, NET_HS_REPLY_MAX - io_buf_len (&c->hsin),
                         false, &want);
      if (n < 0 && errno == EAGAIN)
        {
          c->want_down = want;
          conn_sync (g, c);
          return;
        }
      if (n <= 0)
        {
          conn_next_hop (
              g, c, n == 0 ? "proxy closed the connection" : strerror (errno));
          return;
        }
      io_buf_commit (&c->hsin, (size_t)n);
    }
}

/* ---- TLS to an https:// proxy ---- */

/* The TLS handshake (CS_TLS, hs_tls.h): send what the module has for
 * the proxy, feed it what the proxy answers.  A certificate that does not
 * verify is a refusal, not a reason to fall over: the next hop may be
 * DIRECT, and an interception of the proxy must not widen egress.  Other
 * failures (the port does not speak TLS, the proxy hangs up) fall over
 * like a connect error. */
static void
tls_step (struct net_guard *g, struct conn *c)
{
  uint8_t raw[4096];

  for (;;)
    {
      if (tls_flush (c) < 0)
        {
          if (errno == EAGAIN)
            {
              c->want_down = EPOLLOUT;
              conn_sync (g, c);
            }
          else
            conn_next_hop (g, c, strerror (errno));
          return;
        }
      ssize_t n;
      do
        n = recv (c->uh.fd, raw, sizeof raw, 0);
      while (n < 0 && errno == EINTR);
      if (n < 0 && errno == EAGAIN)
        {
          c->want_down = EPOLLIN;
          conn_sync (g, c);
          return;
        }
      if (n <= 0)
        {
          conn_next_hop (g, c,
                         n == 0 ? "TLS handshake: proxy closed the connection"
                                : strerror (errno));
          return;
        }
      switch (net_hs_tls_handshake (c->tls, raw, (size_t)n))
        {
        case NET_HS_DONE:
          /* the Finished left in the module goes first with CONNECT */
          hs_begin (g, c);
          return;
        case NET_HS_REFUSE:
          if (c->tls->untrusted)
            proxy_refused (g, c, c->tls->why);
          else
            conn_next_hop (g, c, c->tls->why);
          return;
        default:
          break;
        }
    }
}

static void
tls_begin (struct net_guard *g, struct conn *c)
{
  const struct proxy_hop *h = &c->job.dec.route.hops[c->hop];

  c->tls = malloc (sizeof *c->tls);
  if (c->tls == NULL)
    {
      conn_next_hop (g, c, "TLS: out of memory");
      return;
    }
  if (net_hs_tls_start (c->tls, g->ssl_ctx, h->host) != NET_HS_SEND)
    {
      conn_next_hop (g, c, c->tls->why);
      return;
    }
  c->state = CS_TLS;
  tls_step (g, c);
}

/* An event on the upstream socket before the relay. */
void
conn_upstream_event (struct net_guard *g, struct conn *c, uint32_t ev)
{
  switch (c->state)
    {
    case CS_CONNECTING:
      if (ev & (EPOLLERR | EPOLLHUP))
        {
          int soerr = 0;
          socklen_t sl = sizeof soerr;
          if (getsockopt (c->uh.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            soerr = errno;
          conn_next_hop (g, c, strerror (soerr ? soerr : ECONNREFUSED));
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
      return;
    case CS_TLS:
      tls_step (g, c);
      return;
    case CS_HS_SEND:
    case CS_HS_RECV:
      hs_io (g, c);
      return;
    default:
      return;
    }
}
