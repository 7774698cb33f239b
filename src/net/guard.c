/* The net guard's loop (see guard.h for what it does and conn.h for a
 * connection's states).  It runs on an io_loop (src/io): level-triggered,
 * deadlines as timers, connections freed after the batch that ended
 * them.  This file accepts, sniffs, decides and ends connections; conn.c
 * connects and relays them. */
#include "net/conn.h"
#include "net/decide.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/cleanup.h"
#include "common/log.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

/* Out of descriptors: listeners pause this long, so that a
 * level-triggered listener does not spin (other connections keep being
 * relayed meanwhile). */
#define PAUSE_US 100000

const char *
net_tls_error (char *buf, size_t size)
{
  unsigned long e = ERR_peek_last_error ();
  if (e == 0)
    snprintf (buf, size, "%s", errno ? strerror (errno) : "connection closed");
  else
    ERR_error_string_n (e, buf, size);
  return buf;
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
  sl = net_to_sockaddr (&a, port, &ss);
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
                       net_tls_error (buf, sizeof buf));
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
                       g->cfg.proxy_ca_file, net_tls_error (buf, sizeof buf));
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
      || net_host_addrs (&s->host, &s->n_host, err) < 0)
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

void
net_guard_recheck (struct net_guard *g)
{
  net_pool_bump (&g->pool);
}

int
net_guard_remove_rules (struct net_guard *g, moat_error_t *err)
{
  return net_nft_apply (&g->cfg.intercept, NULL, err);
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

static int
original_dst (int fd, int family, struct sockaddr_storage *ss)
{
  socklen_t sl = sizeof *ss;
  if (family == AF_INET)
    return getsockopt (fd, SOL_IP, SO_ORIGINAL_DST, ss, &sl);
  return getsockopt (fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, ss, &sl);
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

/* ---- connection end ---- */

static void
reset_fd (int fd)
{
  /* SO_LINGER 0: close sends RST, so the container learns at once. */
  struct linger l = { .l_onoff = 1, .l_linger = 0 };
  if (fd >= 0)
    setsockopt (fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

static void
conn_free (void *p)
{
  free (p);
}

void
conn_finish (struct net_guard *g, struct conn *c, bool reset)
{
  struct net_audit a;

  if (c->state == CS_DONE)
    return;
  net_guard_redo_orphan (c);
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
  a.bytes_up = c->r.ab.bytes;
  a.bytes_down = c->r.ba.bytes;
  a.duration_us = io_now_us () - c->t0_us;

  if (reset)
    {
      reset_fd (c->ch.fd);
      reset_fd (c->uh.fd);
    }
  if (c->tls != NULL)
    net_hs_tls_free (c->tls);
  free (c->tls);
  c->tls = NULL;
  free (c->hf);
  c->hf = NULL;
  io_buf_free (&c->in);
  io_buf_free (&c->hsin);
  io_buf_free (&c->ui);
  io_buf_free (&c->uo);
  io_buf_free (&c->db);
  io_timer_cancel (g->loop, &c->deadline);
  io_handle_close (g->loop, &c->ch);
  io_handle_close (g->loop, &c->uh);
  io_relay_release (&g->pipes, &c->r);
  if (c->prev)
    c->prev->next = c->next;
  else
    g->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  g->n_conns--;
  c->state = CS_DONE;
  io_loop_defer_free (g->loop, &c->grave, conn_free, c);
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

/* The container's bytes before the relay are read into c->in (at most
 * sniff_cap, then reading stops until the relay), never peeked. */
static bool
client_wants_read (const struct net_guard *g, const struct conn *c)
{
  return !c->r.ab.eof && io_buf_len (&c->in) < g->cfg.sniff_cap;
}

void
conn_sync (struct net_guard *g, struct conn *c)
{
  uint32_t mc = 0, mu = 0;

  switch (c->state)
    {
    case CS_SNIFF:
    case CS_DECIDING:
      mc = client_wants_read (g, c) ? EPOLLIN : 0;
      break;
    case CS_CONNECTING:
      mc = client_wants_read (g, c) ? EPOLLIN : 0;
      mu = EPOLLOUT;
      break;
    case CS_TLS:
    case CS_HS_SEND:
    case CS_HS_RECV:
      mc = client_wants_read (g, c) ? EPOLLIN : 0;
      mu = c->want_down;
      break;
    case CS_RELAY:
      conn_relay_masks (c, &mc, &mu);
      break;
    case CS_DONE:
      return;
    }
  if (io_handle_set (g->loop, &c->ch, mc) < 0
      || (c->uh.fd >= 0 && io_handle_set (g->loop, &c->uh, mu) < 0))
    {
      snprintf (c->error, sizeof c->error, "epoll: %s", strerror (errno));
      conn_finish (g, c, true);
    }
}

/* ---- sniff and decide ---- */

static void decided (struct net_guard *g, struct net_job *j);

static void
decide (struct net_guard *g, struct conn *c)
{
  c->state = CS_DECIDING;
  io_timer_cancel (g->loop, &c->deadline);
  /* Static rules on an address are a pure function: no thread hop. */
  if (net_pool_decide_inline (&g->pool, &c->job))
    decided (g, &c->job);
  else
    {
      net_pool_submit (&g->pool, &c->job);
      conn_sync (g, c);
    }
}

/* Look at what the container sent so far; decide once a name is found,
 * the bytes cannot hold one, or sniff_cap bytes came without one. */
static void
sniff (struct net_guard *g, struct conn *c)
{
  char name[NET_HOSTNAME_MAX];
  const uint8_t *p = (const uint8_t *)io_buf_data (&c->in);
  size_t n = io_buf_len (&c->in);
  int r;

  if (n == 0)
    {
      if (!c->r.ab.eof)
        {
          conn_sync (g, c);
          return;
        }
      /* The container left before saying anything: nothing to decide. */
      snprintf (c->error, sizeof c->error, "client closed before sending");
      c->decision = "refused";
      conn_finish (g, c, false);
      return;
    }
  if (c->job.port == 443)
    r = net_sniff_tls_sni (p, n, name, sizeof name);
  else
    {
      r = net_sniff_http_host (p, n, name, sizeof name);
      c->http = http_request_p (p, n);
    }
  if (r == NET_SNIFF_MORE && n < g->cfg.sniff_cap && !c->r.ab.eof)
    {
      conn_sync (g, c);
      return;
    }
  if (r == NET_SNIFF_FOUND)
    {
      memcpy (c->job.claimed, name, sizeof name);
      c->host_source = c->job.port == 443 ? "sni" : "http-host";
    }
  decide (g, c);
}

static void
sniff_expired (struct io_loop *l, struct io_timer *t)
{
  struct conn *c = t->owner;
  /* Nothing recognisable in time: decide on the IP. */
  c->host_source = "timeout";
  decide (c->g, c);
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
  conn_try_hop (g, c);
  if (c->state != CS_DONE && c->state != CS_RELAY)
    conn_sync (g, c);
}

/* The container's socket before the relay: read what it sends (up to
 * sniff_cap) into c->in. */
static void
client_early (struct net_guard *g, struct conn *c, uint32_t ev)
{
  if (client_wants_read (g, c) && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
    {
      ssize_t n = io_buf_recv (&c->in, c->ch.fd,
                               g->cfg.sniff_cap - io_buf_len (&c->in));
      if (n == 0)
        c->r.ab.eof = true;
      else if (n < 0 && errno != EAGAIN)
        {
          /* Reset before its connection was made: nothing to relay. */
          snprintf (c->error, sizeof c->error, "container: %s",
                    strerror (errno));
          if (c->state != CS_DECIDING)
            {
              if (c->decision == NULL)
                c->decision = "refused";
              conn_finish (g, c, true);
              return;
            }
          /* a worker holds the job: finish when it comes back */
          c->r.ab.eof = true;
        }
    }
  if (c->state == CS_SNIFF)
    sniff (g, c);
  else
    conn_sync (g, c);
}

static void
on_conn (struct io_loop *l, struct io_handle *h, uint32_t ev)
{
  struct conn *c = h->owner;
  struct net_guard *g = c->g;
  bool client = h == &c->ch;

  if (c->state == CS_RELAY)
    conn_relay_event (g, c, client, ev);
  else if (client)
    client_early (g, c, ev);
  else
    conn_upstream_event (g, c, ev);
}

/* ---- accept ---- */

static void
listeners_mask (struct net_guard *g, uint32_t ev)
{
  /* best effort: a listener that cannot be re-armed is logged */
  if (g->l4.fd >= 0 && io_handle_set (g->loop, &g->l4, ev) < 0)
    log_warn ("net guard: epoll_ctl: %s", strerror (errno));
  if (g->l6.fd >= 0 && io_handle_set (g->loop, &g->l6, ev) < 0)
    log_warn ("net guard: epoll_ctl: %s", strerror (errno));
}

static void
unpause (struct io_loop *l, struct io_timer *t)
{
  listeners_mask (t->owner, EPOLLIN);
}

static void
pause_listeners (struct net_guard *g)
{
  listeners_mask (g, 0);
  if (io_timer_set (g->loop, &g->unpause, io_now_us () + PAUSE_US, unpause, g)
      < 0)
    listeners_mask (g, EPOLLIN);
}

static void
accept_one (struct net_guard *g, int fd, int family,
            const struct sockaddr_storage *peer)
{
  struct sockaddr_storage odst;
  struct conn *c = calloc (1, sizeof *c);

  if (c == NULL)
    {
      reset_fd (fd);
      close (fd);
      return;
    }
  c->g = g;
  sockaddr_to (peer, &c->src, &c->sport);
  c->job.src = c->src;
  bool over = g->n_conns >= g->cfg.max_conns
              || src_count (g, &c->src) >= g->cfg.max_conns_per_src;
  io_handle_init (&c->ch, IO_CLIENT, on_conn, c);
  io_handle_init (&c->uh, IO_UPSTREAM, on_conn, c);
  io_relay_init (&c->r, -1, -1);
  c->t0_us = io_now_us ();
  c->host_source = "none";
  c->job.conn = c;
  c->next = g->conns;
  if (g->conns)
    g->conns->prev = c;
  g->conns = c;
  g->n_conns++;
  if (io_handle_add (g->loop, &c->ch, fd, 0) < 0)
    {
      close (fd);
      snprintf (c->error, sizeof c->error, "epoll: %s", strerror (errno));
      conn_finish (g, c, true);
      return;
    }

  memset (&odst, 0, sizeof odst);
  if (original_dst (fd, family, &odst) < 0)
    {
      refuse (g, c, "no original destination (not redirected)");
      return;
    }
  sockaddr_to (&odst, &c->job.dst, &c->job.port);
  /* Counted before refusing, so the audit shows who hit the limit. */
  if (over)
    {
      refuse (g, c, "too many connections (net guard limit)");
      return;
    }
  /* A connection made to the listener itself has no destination to go
   * to; relaying it would loop. */
  if (c->job.port == g->port)
    {
      refuse (g, c, "connection to the net guard itself");
      return;
    }
  if (c->job.port != 80 && c->job.port != 443)
    {
      decide (g, c);
      return;
    }
  c->state = CS_SNIFF;
  if (io_timer_set (g->loop, &c->deadline,
                    c->t0_us + (uint64_t)g->cfg.sniff_timeout_ms * 1000,
                    sniff_expired, c)
      < 0)
    {
      snprintf (c->error, sizeof c->error, "out of memory");
      conn_finish (g, c, true);
      return;
    }
  conn_sync (g, c);
}

static void
on_listen (struct io_loop *l, struct io_handle *h, uint32_t ev)
{
  struct net_guard *g = h->owner;
  int family = h == &g->l4 ? AF_INET : AF_INET6;
  /* How many to accept: accepting until EAGAIN costs one failed accept4
   * per connection when they come one at a time.  So take one; only when
   * the listener is readable again in the very next batch after a stop
   * at the limit (a burst) take twice as many, up to 64 (a bounded
   * batch: other connections get their turn).  Level-triggered, a
   * listener with connections left is reported again. */
  int k = family == AF_INET6;
  uint64_t batch = io_loop_batch (l);
  g->accept_max[k] = g->accept_cut[k] != 0 && batch == g->accept_cut[k] + 1
                         ? (g->accept_max[k] < 32 ? g->accept_max[k] * 2 : 64)
                         : 1;
  g->accept_cut[k] = 0;
  for (unsigned i = 0;; i++)
    {
      if (i == g->accept_max[k])
        {
          g->accept_cut[k] = batch;
          return;
        }
      struct sockaddr_storage peer;
      socklen_t pl = sizeof peer;
      int fd = accept4 (h->fd, (struct sockaddr *)&peer, &pl,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
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
      accept_one (g, fd, family, &peer);
    }
}

static void
on_done (struct io_loop *l, struct io_handle *h, uint32_t ev)
{
  struct net_guard *g = h->owner;
  uint64_t v, gen;
  if (read (h->fd, &v, sizeof v) < 0 && errno != EAGAIN)
    log_warn ("net guard: eventfd: %s", strerror (errno));
  gen = net_pool_gen (&g->pool);
  if (gen != g->policy_gen)
    {
      g->policy_gen = gen;
      net_guard_policy_changed (g);
    }
  for (struct net_job *j = net_pool_take_done (&g->pool), *nx; j != NULL;
       j = nx)
    {
      struct conn *c = j->conn;
      nx = j->next;
      if (j->redecide)
        {
          net_guard_redo_done (g, j, gen);
          continue;
        }
      if (c->error[0] != '\0' && c->r.ab.eof && io_buf_empty_p (&c->in))
        {
          /* the container reset while its decision was made */
          if (c->decision == NULL)
            c->decision = "refused";
          conn_finish (g, c, true);
          continue;
        }
      if (j->gen != gen)
        {
          /* decided under a policy replaced meanwhile: again, under the
           * one in force */
          decide (g, c);
          continue;
        }
      decided (g, j);
    }
}

/* ---- public API ---- */

int
net_guard_new (const struct net_guard_config *cfg, struct net_guard **out,
               moat_error_t *err)
{
  struct net_guard *g = calloc (1, sizeof *g);
  const char *l4, *l6;
  int fd4 = -1, fd6 = -1;

  if (g == NULL)
    return moat_error (err, ENOMEM, "net guard");
  g->cfg = *cfg;
  io_handle_init (&g->l4, IO_LISTEN, on_listen, g);
  io_handle_init (&g->l6, IO_LISTEN, on_listen, g);
  io_handle_init (&g->done, IO_EVENT, on_done, g);
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
  if (io_pipe_pool_init (&g->pipes, PIPE_POOL_MAX, BULK_MAX) < 0)
    {
      moat_error (err, ENOMEM, "net guard");
      goto fail;
    }
  if (io_loop_new (NULL, &g->loop, err) < 0 || tls_context (g, err) < 0)
    goto fail;
  l4 = cfg->listen4 ? cfg->listen4 : "0.0.0.0";
  l6 = cfg->listen6 ? cfg->listen6 : "::";
  g->port = cfg->listen_port;
  if (l4[0] != '\0')
    {
      if (listen_on (l4, g->port, AF_INET, &fd4, err) < 0)
        goto fail;
      if (g->port == 0)
        {
          struct sockaddr_storage ss;
          socklen_t sl = sizeof ss;
          struct net_addr a;
          getsockname (fd4, (struct sockaddr *)&ss, &sl);
          sockaddr_to (&ss, &a, &g->port);
        }
    }
  if (l6[0] != '\0' && listen_on (l6, g->port, AF_INET6, &fd6, err) < 0)
    goto fail;
  if (fd4 < 0 && fd6 < 0)
    {
      moat_error (err, EINVAL, "net guard: no listener configured");
      goto fail;
    }
  g->cfg.intercept.listen_port = g->port;
  if (net_pool_start (&g->pool, &g->cfg, g->cfg.workers, err) < 0)
    goto fail;
  g->pool_started = true;
  if (fd4 >= 0)
    {
      if (io_handle_add (g->loop, &g->l4, fd4, EPOLLIN) < 0)
        goto fail_ctl;
      fd4 = -1;
    }
  if (fd6 >= 0)
    {
      if (io_handle_add (g->loop, &g->l6, fd6, EPOLLIN) < 0)
        goto fail_ctl;
      fd6 = -1;
    }
  /* the pool owns its eventfd: released, not closed, at the end */
  if (io_handle_add (g->loop, &g->done, g->pool.done_fd, EPOLLIN) < 0)
    goto fail_ctl;
  *out = g;
  return 0;
fail_ctl:
  moat_error (err, errno, "epoll_ctl");
fail:
  if (fd4 >= 0)
    close (fd4);
  if (fd6 >= 0)
    close (fd6);
  net_guard_free (g);
  return -1;
}

uint16_t
net_guard_port (const struct net_guard *g)
{
  return g->port;
}

void
net_guard_stop (struct net_guard *g)
{
  io_loop_stop (g->loop);
}

int
net_guard_run (struct net_guard *g, moat_error_t *err)
{
  return io_loop_run (g->loop, err);
}

void
net_guard_free (struct net_guard *g)
{
  if (g == NULL)
    return;
  if (g->loop != NULL)
    io_handle_release (g->loop, &g->done); /* the pool closes it */
  if (g->pool_started)
    net_pool_stop (&g->pool);
  net_guard_redo_free_all (g);
  while (g->conns != NULL)
    {
      g->conns->decision = g->conns->decision ? g->conns->decision : "refused";
      snprintf (g->conns->error, sizeof g->conns->error, "net guard stopped");
      conn_finish (g, g->conns, true);
    }
  if (g->loop != NULL)
    {
      io_handle_close (g->loop, &g->l4);
      io_handle_close (g->loop, &g->l6);
      io_timer_cancel (g->loop, &g->unpause);
      io_loop_free (g->loop);
    }
  io_pipe_pool_free (&g->pipes);
  SSL_CTX_free (g->ssl_ctx);
  pthread_mutex_destroy (&g->policy_lock);
  free (g);
}
