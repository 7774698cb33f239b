/* The dashboard's server: listener, connections, request framing with
 * llhttp, deadlines, responses and audit streams (web.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "internal.h"
#include "peer.h"

static const char *
status_text (int status)
{
  switch (status)
    {
    case 200:
      return "OK";
    case 303:
      return "See Other";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 409:
      return "Conflict";
    case 429:
      return "Too Many Requests";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 421:
      return "Misdirected Request";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
    }
}

/* ---- connection life cycle ---- */

static void conn_event (struct io_loop *l, struct io_handle *h,
                        uint32_t events);

static void
conn_free (void *p)
{
  struct web_conn *c = p;
  io_buf_free (&c->in);
  io_buf_free (&c->out);
  io_buf_free (&c->body);
  free (c);
}

static void
conn_close (struct web_conn *c)
{
  struct web *w = c->w;
  if (c->h.fd < 0)
    return;
  if (c->xstream != 0 && w->ops.ext_stream_closed != NULL)
    w->ops.ext_stream_closed (w->ops.ctx, c->xstream);
  c->xstream = 0;
  io_handle_close (w->l, &c->h);
  io_timer_cancel (w->l, &c->t);
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    w->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  w->n_conns--;
  if (c->stream)
    w->n_followers--;
  io_loop_defer_free (w->l, &c->g, conn_free, c);
}

static void
conn_deadline (struct io_loop *l, struct io_timer *t)
{
  struct web_conn *c = t->owner;
  (void)l;
  conn_close (c);
}

static int
conn_arm (struct web_conn *c, uint64_t ms)
{
  return io_timer_set (c->w->l, &c->t, io_now_us () + ms * 1000, conn_deadline,
                       c);
}

/* Send what is queued; then want EPOLLOUT while bytes wait, EPOLLIN
 * otherwise (never both: requests are answered in order, and a client
 * that does not read its answers is not read either). */
static void
conn_flush (struct web_conn *c)
{
  uint32_t mask;
  if (io_buf_send (&c->out, c->h.fd) < 0)
    {
      conn_close (c);
      return;
    }
  if (!io_buf_empty_p (&c->out))
    mask = EPOLLOUT;
  else if (c->closing && !c->lingering)
    {
      /* Half-close and read what the client still sends, for a while:
       * closing with unread bytes would reset the connection, and the
       * client could lose the answer (an oversized head's 431). */
      c->lingering = true;
      if (shutdown (c->h.fd, SHUT_WR) < 0 || conn_arm (c, 2000) < 0)
        {
          conn_close (c);
          return;
        }
      mask = EPOLLIN | EPOLLRDHUP;
    }
  else if (c->closing)
    mask = EPOLLIN | EPOLLRDHUP;
  else
    mask = c->stream || c->pending || c->xstream ? EPOLLRDHUP
                                                 : EPOLLIN | EPOLLRDHUP;
  if (io_handle_set (c->w->l, &c->h, mask) < 0)
    conn_close (c);
}

static void
req_reset (struct web_conn *c)
{
  c->head_bytes = 0;
  c->url_len = 0;
  c->url[0] = '\0';
  c->hname_len = 0;
  c->hname_long = false;
  c->cur = HDR_NONE;
  c->in_value = false;
  c->host[0] = c->origin[0] = c->cookie[0] = c->ctype[0] = '\0';
  c->fetch_site[0] = '\0';
  c->token[0] = '\0';
  c->service_worker[0] = '\0';
  c->ext = false;
  c->n_host = 0;
  c->error = 0;
  c->complete = false;
  io_buf_clear (&c->body);
}

/* ---- llhttp callbacks: collect the few headers the routes read ---- */

static int
head_count (struct web_conn *c, size_t len)
{
  c->head_bytes += len;
  if (c->head_bytes > WEB_MAX_HEAD)
    {
      c->error = 431;
      return -1;
    }
  return 0;
}

static int
on_begin (llhttp_t *p)
{
  struct web_conn *c = p->data;
  req_reset (c);
  /* a begun request must be complete in time (slow clients) */
  return conn_arm (c, WEB_REQ_DEADLINE_MS) < 0 ? -1 : 0;
}

static int
on_url (llhttp_t *p, const char *at, size_t len)
{
  struct web_conn *c = p->data;
  if (head_count (c, len) < 0)
    return -1;
  if (c->url_len + len >= sizeof c->url)
    {
      c->error = 431;
      return -1;
    }
  memcpy (c->url + c->url_len, at, len);
  c->url_len += len;
  c->url[c->url_len] = '\0';
  return 0;
}

static int
on_hfield (llhttp_t *p, const char *at, size_t len)
{
  struct web_conn *c = p->data;
  if (head_count (c, len) < 0)
    return -1;
  if (c->in_value)
    {
      c->in_value = false;
      c->hname_len = 0;
      c->hname_long = false;
    }
  if (c->hname_len + len >= sizeof c->hname)
    c->hname_long = true;
  else
    {
      memcpy (c->hname + c->hname_len, at, len);
      c->hname_len += len;
    }
  c->hname[c->hname_len] = '\0';
  return 0;
}

static char *
hdr_target (struct web_conn *c, size_t *cap)
{
  switch (c->cur)
    {
    case HDR_HOST:
      *cap = sizeof c->host;
      return c->host;
    case HDR_ORIGIN:
      *cap = sizeof c->origin;
      return c->origin;
    case HDR_COOKIE:
      *cap = sizeof c->cookie;
      return c->cookie;
    case HDR_CTYPE:
      *cap = sizeof c->ctype;
      return c->ctype;
    case HDR_FETCH_SITE:
      *cap = sizeof c->fetch_site;
      return c->fetch_site;
    case HDR_TOKEN:
      *cap = sizeof c->token;
      return c->token;
    case HDR_SW:
      *cap = sizeof c->service_worker;
      return c->service_worker;
    default:
      return NULL;
    }
}

static int
start_value (struct web_conn *c)
{
  static const struct
  {
    const char *name;
    enum web_hdr h;
  } known[] = {
    { "host", HDR_HOST },
    { "origin", HDR_ORIGIN },
    { "cookie", HDR_COOKIE },
    { "content-type", HDR_CTYPE },
    { "sec-fetch-site", HDR_FETCH_SITE },
    { "x-moat-token", HDR_TOKEN },
    { "service-worker", HDR_SW },
  };
  c->in_value = true;
  c->cur = HDR_NONE;
  if (c->hname_long)
    return 0;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcasecmp (c->hname, known[i].name) == 0)
      c->cur = known[i].h;
  size_t cap;
  char *t = hdr_target (c, &cap);
  if (t == NULL)
    return 0;
  if (c->cur == HDR_HOST)
    c->n_host++;
  /* Any of these twice is malformed (two Hosts: which one is checked?);
   * several Cookie headers are joined as "; " as RFC 6265 allows. */
  if (t[0] != '\0')
    {
      if (c->cur != HDR_COOKIE)
        {
          c->error = 400;
          return -1;
        }
      if (strlen (t) + 2 >= cap)
        {
          c->error = 431;
          return -1;
        }
      strcat (t, "; ");
    }
  return 0;
}

static int
on_hvalue (llhttp_t *p, const char *at, size_t len)
{
  struct web_conn *c = p->data;
  size_t cap, have;
  char *t;
  if (head_count (c, len) < 0)
    return -1;
  if (!c->in_value && start_value (c) < 0)
    return -1;
  t = hdr_target (c, &cap);
  if (t == NULL)
    return 0;
  have = strlen (t);
  if (have + len >= cap)
    {
      c->error = 431;
      return -1;
    }
  if (memchr (at, '\0', len) != NULL)
    {
      c->error = 400;
      return -1;
    }
  memcpy (t + have, at, len);
  t[have + len] = '\0';
  return 0;
}

static int
on_hvalue_complete (llhttp_t *p)
{
  struct web_conn *c = p->data;
  /* an empty value calls no on_header_value */
  if (!c->in_value && start_value (c) < 0)
    return -1;
  return 0;
}

static int
on_headers_complete (llhttp_t *p)
{
  struct web_conn *c = p->data;
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > WEB_MAX_BODY)
    {
      c->error = 413;
      return -1;
    }
  return 0;
}

static int
on_body (llhttp_t *p, const char *at, size_t len)
{
  struct web_conn *c = p->data;
  if (io_buf_len (&c->body) + len > WEB_MAX_BODY)
    {
      c->error = 413;
      return -1;
    }
  if (io_buf_append (&c->body, at, len) < 0)
    {
      c->error = 500;
      return -1;
    }
  return 0;
}

static int
on_complete (llhttp_t *p)
{
  struct web_conn *c = p->data;
  c->complete = true;
  return HPE_PAUSED;
}

/* ---- responses ---- */

int
web_reply (struct web_conn *c, int status, const char *ctype,
           const char *extra, const void *body, size_t len)
{
  bool keep = !c->closing && llhttp_should_keep_alive (&c->p);
  char csp[320];
  if (!keep)
    c->closing = true;
  /* An extension's origin: the contract's policy exactly, framed by the
   * dashboard only (docs/extensions.md, "The UI").  The dashboard: this
   * origin only, and frames of the extensions' origins. */
  if (c->ext)
    snprintf (csp, sizeof csp,
              "Content-Security-Policy: default-src 'self'; "
              "frame-ancestors http://127.0.0.1:%u\r\n"
              "Cross-Origin-Resource-Policy: same-origin\r\n",
              c->w->port);
  else
    snprintf (csp, sizeof csp,
              "X-Frame-Options: DENY\r\n"
              "Content-Security-Policy: default-src 'none'; script-src "
              "'self'; style-src 'self'; img-src 'self' data:; connect-src "
              "'self'; frame-src http://*.ext.localhost:%u; form-action "
              "'self'; frame-ancestors 'none'; base-uri 'none'\r\n",
              c->w->port);
  if (io_buf_printf (&c->out,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "Referrer-Policy: no-referrer\r\n"
                     "%s"
                     "%s"
                     "Connection: %s\r\n\r\n",
                     status, status_text (status), ctype, len, csp,
                     extra ? extra : "", keep ? "keep-alive" : "close")
          < 0
      || (c->p.method != HTTP_HEAD && len > 0
          && io_buf_append (&c->out, body, len) < 0))
    {
      c->closing = true;
      return -1;
    }
  return 0;
}

int
web_reply_json (struct web_conn *c, int status, json_t *o)
{
  cleanup_free char *s = NULL;
  if (o == NULL)
    return web_reply_error (c, 500, "out of memory");
  s = json_dumps (o, JSON_COMPACT);
  json_decref (o);
  if (s == NULL)
    return web_reply_error (c, 500, "out of memory");
  return web_reply (c, status, "application/json", NULL, s, strlen (s));
}

int
web_reply_error (struct web_conn *c, int status, const char *msg)
{
  json_t *o = json_pack ("{s:s}", "message", msg);
  cleanup_free char *s = o != NULL ? json_dumps (o, JSON_COMPACT) : NULL;
  json_decref (o);
  if (status >= 400 && status != 401 && status != 404)
    c->closing = c->closing || status == 400 || status == 413 || status == 431
                 || status == 421;
  return web_reply (c, status, "application/json", NULL, s ? s : "{}",
                    s ? strlen (s) : 2);
}

/* ---- reading ---- */

/* Answer the complete requests buffered on c, in order. */
static void
conn_parse (struct web_conn *c)
{
  while (!io_buf_empty_p (&c->in) && !c->closing && !c->stream
         && c->pending == 0 && c->xstream == 0)
    {
      const char *base = io_buf_data (&c->in);
      llhttp_errno_t e = llhttp_execute (&c->p, base, io_buf_len (&c->in));
      size_t used = io_buf_len (&c->in);
      if (e == HPE_PAUSED)
        used = (size_t)(llhttp_get_error_pos (&c->p) - base);
      io_buf_consume (&c->in, used);
      if (e == HPE_PAUSED && c->complete)
        {
          llhttp_resume (&c->p);
          io_timer_cancel (c->w->l, &c->t);
          web_route (c);
          if (c->pending != 0 || c->xstream != 0)
            break; /* answered later: web_conn_resume, or streamed */
          if (!c->stream && !c->closing && conn_arm (c, WEB_IDLE_MS) < 0)
            c->closing = true;
          continue;
        }
      if (e != HPE_OK)
        {
          int st = c->error != 0 ? c->error : 400;
          web_reply_error (c, st,
                           st == 431   ? "request head too large"
                           : st == 413 ? "request body too large"
                                       : "malformed request");
          c->closing = true;
        }
      break;
    }
}

static void
conn_read (struct web_conn *c)
{
  ssize_t n;
  if (c->lingering)
    {
      char sink[4096];
      n = recv (c->h.fd, sink, sizeof sink, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN))
        conn_close (c);
      return;
    }
  n = io_buf_recv (&c->in, c->h.fd, 16384);
  if (n == 0 || (n < 0 && errno != EAGAIN))
    {
      conn_close (c);
      return;
    }
  conn_parse (c);
  conn_flush (c);
}

void
web_conn_drop (struct web_conn *c)
{
  conn_close (c);
}

void
web_conn_flush (struct web_conn *c)
{
  if (c->h.fd >= 0)
    conn_flush (c);
}

void
web_conn_resume (struct web_conn *c)
{
  if (c->h.fd < 0)
    return;
  if (!c->closing && conn_arm (c, WEB_IDLE_MS) < 0)
    c->closing = true;
  conn_parse (c);
  conn_flush (c);
}

static void
conn_event (struct io_loop *l, struct io_handle *h, uint32_t events)
{
  struct web_conn *c = h->owner;
  (void)l;
  if (events & (EPOLLERR | EPOLLHUP))
    {
      conn_close (c);
      return;
    }
  if ((c->stream || c->pending || c->xstream) && (events & EPOLLRDHUP))
    {
      conn_close (c);
      return;
    }
  if (events & EPOLLOUT)
    {
      conn_flush (c);
      return;
    }
  if (events & (EPOLLIN | EPOLLRDHUP))
    conn_read (c);
}

/* Whether the peer (known, uid) already has WEB_MAX_CONNS_PER_UID
 * connections open: at most WEB_MAX_CONNS steps. */
static bool
uid_full_p (const struct web *w, bool known, uid_t uid)
{
  size_t n = 0;
  for (const struct web_conn *c = w->conns; c != NULL; c = c->next)
    if (c->peer_known == known && (!known || c->peer_uid == uid)
        && ++n >= WEB_MAX_CONNS_PER_UID)
      return true;
  return false;
}

static void
on_accept (struct io_loop *l, struct io_handle *h, uint32_t events)
{
  struct web *w = h->owner;
  (void)events;
  for (int i = 0; i < 64; i++)
    {
      int fd = accept4 (w->lh.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      struct web_conn *c;
      if (fd < 0)
        {
          if (errno != EAGAIN && errno != EINTR)
            log_warn ("dashboard: accept: %s", strerror (errno));
          return;
        }
      if (w->n_conns >= WEB_MAX_CONNS || (c = calloc (1, sizeof *c)) == NULL)
        {
          close (fd);
          continue;
        }
      c->peer_known = web_peer_uid (fd, &c->peer_uid) == 0;
      if (uid_full_p (w, c->peer_known, c->peer_uid))
        {
          close (fd);
          free (c);
          continue;
        }
      c->w = w;
      c->in.limit = WEB_MAX_HEAD + WEB_MAX_BODY + 4096;
      c->body.limit = WEB_MAX_BODY;
      c->out.limit = WEB_MAX_REPLY;
      llhttp_init (&c->p, HTTP_REQUEST, &w->settings);
      c->p.data = c;
      io_handle_init (&c->h, IO_CLIENT, conn_event, c);
      if (io_handle_add (l, &c->h, fd, EPOLLIN | EPOLLRDHUP) < 0)
        {
          close (fd);
          free (c);
          continue;
        }
      c->next = w->conns;
      if (w->conns != NULL)
        w->conns->prev = c;
      w->conns = c;
      w->n_conns++;
      if (conn_arm (c, WEB_REQ_DEADLINE_MS) < 0)
        conn_close (c);
    }
}

/* ---- the server ---- */

int
web_new (struct io_loop *l, const struct web_config *cfg,
         const struct web_ops *ops, struct web **out, moat_error_t *err)
{
  struct web *w = calloc (1, sizeof *w);
  struct sockaddr_in a = { .sin_family = AF_INET };
  socklen_t al = sizeof a;
  cleanup_close int fd = -1;
  int one = 1;

  if (w == NULL)
    return moat_error (err, ENOMEM, "dashboard");
  w->l = l;
  w->ops = *ops;
  web_auth_init (
      &w->auth, (cfg->ticket_ttl_ms ? cfg->ticket_ttl_ms : 60000) * 1000,
      (cfg->session_ttl_ms ? cfg->session_ttl_ms : 8ull * 3600 * 1000) * 1000);
  llhttp_settings_init (&w->settings);
  w->settings.on_message_begin = on_begin;
  w->settings.on_url = on_url;
  w->settings.on_header_field = on_hfield;
  w->settings.on_header_value = on_hvalue;
  w->settings.on_header_value_complete = on_hvalue_complete;
  w->settings.on_headers_complete = on_headers_complete;
  w->settings.on_body = on_body;
  w->settings.on_message_complete = on_complete;
  io_handle_init (&w->lh, IO_LISTEN, on_accept, w);

  a.sin_port = htons ((uint16_t)cfg->port);
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK); /* never beyond loopback */
  fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
      || bind (fd, (struct sockaddr *)&a, sizeof a) < 0 || listen (fd, 128) < 0
      || getsockname (fd, (struct sockaddr *)&a, &al) < 0)
    {
      int e = errno;
      free (w);
      return moat_error (err, e, "dashboard: listen on 127.0.0.1:%u",
                         cfg->port);
    }
  w->port = ntohs (a.sin_port);
  if (io_handle_add (l, &w->lh, fd, EPOLLIN) < 0)
    {
      int e = errno;
      free (w);
      return moat_error (err, e, "dashboard: epoll");
    }
  fd = -1;
  *out = w;
  return 0;
}

void
web_free (struct web *w)
{
  if (w == NULL)
    return;
  while (w->conns != NULL)
    conn_close (w->conns);
  io_handle_close (w->l, &w->lh);
  free (w);
}

unsigned
web_port (const struct web *w)
{
  return w->port;
}

size_t
web_followers (const struct web *w)
{
  return w->n_followers;
}

int
web_ticket (struct web *w, uid_t uid, char *url, size_t len, moat_error_t *err)
{
  char tok[WEB_TOKEN_LEN + 1];
  if (web_auth_ticket_new (&w->auth, uid, io_now_us (), tok) < 0)
    return moat_error (err, errno, "dashboard ticket: no randomness");
  if ((size_t)snprintf (url, len, "http://127.0.0.1:%u/login?ticket=%s",
                        w->port, tok)
      >= len)
    return moat_error (err, ENAMETOOLONG, "dashboard ticket URL");
  return 0;
}

/* ---- audit streams (server-sent events) ---- */

int
web_stream_start (struct web_conn *c, int64_t since_id)
{
  struct web *w = c->w;
  if (w->n_followers >= WEB_MAX_FOLLOWERS)
    return web_reply_error (c, 503, "too many audit streams");
  if (io_buf_puts (&c->out, "HTTP/1.1 200 OK\r\n"
                            "Content-Type: text/event-stream\r\n"
                            "Cache-Control: no-store\r\n"
                            "X-Content-Type-Options: nosniff\r\n"
                            "Connection: keep-alive\r\n\r\n"
                            ": moat audit stream\n\n")
      < 0)
    return -1;
  c->stream = true;
  c->out.limit = WEB_STREAM_BUF;
  w->n_followers++;
  io_timer_cancel (w->l, &c->t);
  if (since_id > 0 && w->ops.audit_since != NULL)
    {
      json_t *recs = w->ops.audit_since (w->ops.ctx, since_id);
      size_t i;
      json_t *r;
      json_array_foreach (recs, i, r)
      {
        cleanup_free char *s = json_dumps (r, JSON_COMPACT);
        if (s == NULL
            || io_buf_printf (
                   &c->out, "id: %lld\ndata: %s\n\n",
                   (long long)json_integer_value (json_object_get (r, "id")),
                   s)
                   < 0)
          {
            c->closing = true;
            break;
          }
      }
      json_decref (recs);
    }
  return 0;
}

static bool
follower_valid (struct web_conn *c)
{
  uid_t uid;
  return web_auth_session_find (&c->w->auth, c->session, io_now_us (), &uid)
         == 0;
}

void
web_audit_push (struct web *w, json_t *rec)
{
  cleanup_free char *s = NULL;
  char head[48];
  size_t sl, hl;
  if (w == NULL || w->n_followers == 0)
    return;
  s = json_dumps (rec, JSON_COMPACT);
  if (s == NULL)
    return;
  sl = strlen (s);
  hl = (size_t)snprintf (
      head, sizeof head, "id: %lld\ndata: ",
      (long long)json_integer_value (json_object_get (rec, "id")));
  for (struct web_conn *c = w->conns, *next; c != NULL; c = next)
    {
      next = c->next;
      if (!c->stream || c->h.fd < 0)
        continue;
      if (!follower_valid (c))
        {
          conn_close (c);
          continue;
        }
      /* a follower that cannot take the record (1 MiB queued: it does
       * not read) is dropped rather than sent a gap */
      if (io_buf_append (&c->out, head, hl) < 0
          || io_buf_append (&c->out, s, sl) < 0
          || io_buf_append (&c->out, "\n\n", 2) < 0)
        {
          conn_close (c);
          continue;
        }
      conn_flush (c);
    }
}

void
web_tick (struct web *w)
{
  if (w == NULL)
    return;
  web_auth_sweep (&w->auth, io_now_us ());
  for (struct web_conn *c = w->conns, *next; c != NULL; c = next)
    {
      next = c->next;
      if (!c->stream || c->h.fd < 0)
        continue;
      if (!follower_valid (c) || io_buf_append (&c->out, ": ping\n\n", 8) < 0)
        {
          conn_close (c);
          continue;
        }
      conn_flush (c);
    }
}
