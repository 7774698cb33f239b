/* The engine guard's per-connection proxy state machine, on src/io's event
 * loop (one io_handle per socket, level-triggered; docs/io-core.md).
 *
 * Client -> engine: every request is parsed with llhttp (request.c) and
 * decided (decide.c, pure); slow checks run on workers (guard_checks.c).
 * Its head is
 * checked, then re-serialised (one spelling of every header, CRLF line
 * ends, chunked bodies re-framed) so that the engine reads exactly the
 * request that was checked: no framing ambiguity survives the guard.
 * Bodies stream through as llhttp yields them; only the bodies of the
 * endpoints ECI inspects are collected, up to ECI_MAX_JSON_BODY.
 *
 * Engine -> client: bytes are forwarded unchanged; a response parser only
 * tracks message boundaries (guard_resp.c), to know when a hijack (attach,
 * exec start) really happened and when a locally generated answer may be
 * sent.  A hijacked stream goes to src/io's splice relay.
 *
 * Memory per connection is bounded: reading stops while the peer's output
 * queue is above HIGH_WATER, a request head is capped at
 * ENGINE_GUARD_MAX_HEAD, collected bodies at ECI_MAX_JSON_BODY. */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <llhttp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "common/log.h"
#include "engine/decide.h"
#include "engine/guard_int.h"
#include "engine/guard_test.h"

/* The loop's tick: pool filling retried. */
#define TICK_US 1000000u

/* ---- small helpers -------------------------------------------------------
 */

int
guard_set_nonblock (int fd)
{
  int fl = fcntl (fd, F_GETFL);
  if (fl < 0 || fcntl (fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return -1;
  return 0;
}

void
guard_audit (struct conn *c, const char *rule, const char *outcome,
             const char *detail, const char *image)
{
  struct engine_guard *g = c->g;
  struct engine_audit_record r;
  cleanup_free char *uri = engine_req_url (&c->req);
  if (g->cfg.audit == NULL)
    return;
  memset (&r, 0, sizeof r);
  clock_gettime (CLOCK_REALTIME, &r.time);
  r.uid = c->caller_uid;
  r.gid = c->caller_gid;
  r.pid = c->cred.pid;
  r.method = c->req.method >= 0
                 ? llhttp_method_name ((llhttp_method_t)c->req.method)
                 : "";
  r.uri = uri ? uri : "";
  r.endpoint = c->route ? c->route->commands : "";
  char ep[64];
  {
    /* first command only */
    const char *comma = strchr (r.endpoint, ',');
    size_t n = comma ? (size_t)(comma - r.endpoint) : strlen (r.endpoint);
    if (n >= sizeof ep)
      n = sizeof ep - 1;
    memcpy (ep, r.endpoint, n);
    ep[n] = '\0';
    r.endpoint = ep;
  }
  r.container = c->container ? c->container : "";
  r.image = image ? image : "";
  r.rule = rule;
  r.outcome = outcome;
  r.detail = detail ? detail : "";
  g->cfg.audit (g->cfg.audit_ctx, &r);
}

/* Queue a local answer: sent now if nothing is outstanding on the engine
 * side, else after the engine's responses (never interleaved). */
void
guard_local_answer (struct conn *c, int status, const char *message,
                    bool close)
{
  io_buf_free (&c->local);
  if (engine_error_answer (&c->local, status, message, close,
                           c->req.method == HTTP_HEAD)
      < 0)
    {
      c->dead = true;
      return;
    }
  /* sticky: once a connection is to close, no later answer reopens it */
  if (close)
    c->local_close = true;
}

void
guard_emit_local (struct conn *c)
{
  if (c->local.len == 0)
    return;
  if (c->pend_n > 0)
    {
      c->rs = RS_WAIT_LOCAL;
      return;
    }
  if (io_buf_append (&c->cout, c->local.d + c->local.off, c->local.len) < 0)
    c->dead = true;
  io_buf_free (&c->local);
  if (c->local_close)
    {
      c->rs = RS_CLOSED;
      c->close_when_flushed = true;
    }
  else
    c->rs = RS_HEAD;
}

/* ---- request parser callbacks ------------------------------------------- */

/* Body bytes of the current request (engine_req's on_body). */
static int
conn_body (void *owner, const char *at, size_t len)
{
  struct conn *c = owner;
  switch (c->rs)
    {
    case RS_FORWARD:
      if (c->bscan != NULL)
        return guard_build_body (c, at, len);
      if (c->chunked_out)
        {
          if (io_buf_printf (&c->uout, "%zx\r\n", len) < 0
              || io_buf_append (&c->uout, at, len) < 0
              || io_buf_append (&c->uout, "\r\n", 2) < 0)
            return -1;
          return 0;
        }
      return io_buf_append (&c->uout, at, len);
    case RS_COLLECT:
      if (c->body_too_big || c->body.len + len > ECI_MAX_JSON_BODY)
        {
          c->body_too_big = true;
          io_buf_free (&c->body);
          return 0;
        }
      return io_buf_append (&c->body, at, len);
    default:
      return 0;
    }
}

/* ---- request handling ----------------------------------------------------
 */

static int
engine_connect (struct conn *c)
{
  int fd;
  if (c->hu.fd >= 0)
    return 0;
  fd = guard_pool_take (c->g);
  if (fd < 0)
    return -1;
  /* owned, registered once there is something to wait for */
  if (io_handle_add (c->g->loop, &c->hu, fd, 0) < 0)
    {
      close (fd);
      return -1;
    }
  return 0;
}

int
guard_push_pending (struct conn *c, bool hijack)
{
  if (c->pend_n == MAX_PENDING)
    return -1;
  struct pending *pe = &c->pend[(c->pend_head + c->pend_n) % MAX_PENDING];
  guard_prov_clear (pe);
  pe->head = c->req.method == HTTP_HEAD;
  pe->hijack = hijack;
  /* the engine may take such a connection over: never reused */
  if (hijack || c->req.p.upgrade || c->req.method == HTTP_CONNECT)
    c->hu_taint = true;
  c->pend_n++;
  return 0;
}

/* Refuse the current request: answer once its body is consumed. */
void
guard_refuse (struct conn *c, int status, const char *message, bool close)
{
  guard_local_answer (c, status, message, close);
  c->rs = RS_DISCARD;
}

/* Decide about a complete head (engine/decide.c).  Sets c->rs to what
 * happens to the body. */
static void
handle_head (struct conn *c)
{
  struct engine_guard *g = c->g;
  struct engine_decision d;
  struct timespec now;
  const char *gate_text = NULL;
  cleanup_free char *raw_uri = engine_req_url (&c->req);
  cleanup_free char *send_uri = NULL;
  cleanup_free char *form_type = engine_req_form_type (&c->req);
  struct engine_head_facts f = {
    .method = c->req.method,
    .http_major = c->req.http_major,
    .raw_uri = raw_uri,
    .has_body = engine_req_has_body (&c->req),
    .form_type = form_type,
    .caller_uid = c->caller_uid,
    .command_list = c->command_list,
  };
  int r;

  c->req.head_started = false;
  free (c->container);
  c->container = NULL;
  free (c->archive);
  c->archive = NULL;
  free (c->query);
  c->query = NULL;
  free (c->registry);
  c->registry = NULL;
  io_buf_free (&c->body);
  c->body_too_big = false;
  c->op = ROUTE_OP_NONE;
  c->starts = false;
  c->route = NULL;
  if (raw_uri == NULL)
    {
      c->dead = true;
      return;
    }
  f.headers_valid = engine_req_headers_valid (&c->req);
  clock_gettime (CLOCK_REALTIME_COARSE, &now);
  pthread_mutex_lock (&g->mu);
  r = engine_decide (&f, g->pol, &d);
  /* The sign-in gate (docs/signin.md): one lookup in the table moatd
   * publishes; its text is copied before the table may be swapped.
   * moatd's own calls (an extension's backend it creates) are its own
   * process's: the gate is for users. */
  if (r == 0 && g->gate != NULL && c->cred.pid != g->self
      && !engine_gate_exempt_p (d.route != NULL ? d.route->pattern : NULL)
      && engine_gate_check (g->gate, c->caller_uid, now.tv_sec, &gate_text)
             < 0)
    {
      free (d.message);
      d.message = strdup (gate_text);
      d.verdict = ENGINE_REFUSE;
      d.status = 403;
      d.rule = "signin";
      if (d.message == NULL)
        r = -1;
    }
  pthread_mutex_unlock (&g->mu);
  if (r < 0)
    {
      engine_decision_clear (&d);
      guard_refuse_unwritable (c);
      return;
    }
  c->route = d.route;
  c->op = d.op;
  c->eci_on = d.eci;
  c->container = d.container;
  c->archive = d.archive;
  c->query = d.query;
  c->registry = d.registry;
  c->registry_port = d.registry_port;
  d.container = d.archive = d.query = d.registry = NULL;
  send_uri = d.uri;
  d.uri = NULL;
  snprintf (c->version, sizeof c->version, "%s", d.version);
  if (d.verdict == ENGINE_REFUSE)
    {
      if (d.rule)
        guard_audit (c, d.rule, "refused", d.message, NULL);
      guard_refuse (c, d.status, d.message, d.close);
      engine_decision_clear (&d);
      return;
    }
  engine_decision_clear (&d);

  if (engine_connect (c) < 0)
    {
      guard_refuse (c, 502, REFUSAL_ENGINE_NO_ENGINE, true);
      return;
    }
  io_buf_free (&c->head_out);
  c->head_out.limit = g->head_limit;
  /* a non-root caller's prune: its own objects only (engine/xuser.h) */
  if (send_uri != NULL)
    guard_audit (c, "eci.owner", "rewritten", send_uri, NULL);
  if (engine_req_write_head (&c->req, &c->head_out, send_uri) < 0)
    {
      guard_refuse_unwritable (c);
      return;
    }
  /* root's docker cp is checked only where moat stands in for binds */
  if (c->op == ROUTE_OP_ARCHIVE && c->caller_uid == 0
      && g->cfg.eci.bind_standin == NULL)
    c->op = ROUTE_OP_NONE;
  /* start and restart run the container's image: re-checked for every
   * caller (engine_image_start_check); a start's body after that */
  c->starts
      = c->eci_on && g->cfg.image_namer != NULL && c->route != NULL
        && (c->route->flags & ROUTE_F_STARTS) != 0
        && (c->op == ROUTE_OP_CONTAINER_START || c->op == ROUTE_OP_OWNER);
  if (c->op == ROUTE_OP_CONTAINER_START && !c->starts && !f.has_body)
    c->op = ROUTE_OP_NONE;
  /* root execs into and attaches to any container */
  if ((c->op == ROUTE_OP_OWNER || c->op == ROUTE_OP_EXEC_OWNER
       || c->op == ROUTE_OP_COMMIT || c->op == ROUTE_OP_NETWORK_MEMBER)
      && c->caller_uid == 0 && !c->starts)
    c->op = ROUTE_OP_NONE;
  if (c->op == ROUTE_OP_ARCHIVE || c->op == ROUTE_OP_OWNER
      || c->op == ROUTE_OP_EXEC_OWNER || c->op == ROUTE_OP_COMMIT
      || c->op == ROUTE_OP_VOLUME_OWNER || c->op == ROUTE_OP_NETWORK_OWNER
      || c->starts)
    {
      guard_start_archive_check (c);
      return;
    }
  if (c->registry != NULL && g->cfg.registry_check != NULL)
    {
      guard_start_registry_check (c);
      return;
    }
  if (c->op != ROUTE_OP_NONE)
    {
      c->rs = RS_COLLECT;
      return;
    }
  guard_build_clear (c);
  /* a build's context: scanned for ADD <URL> on its way */
  if (c->eci_on && c->route != NULL && c->route->op == ROUTE_OP_BUILD
      && f.has_body && guard_build_start (c) < 0)
    {
      guard_refuse_unwritable (c);
      return;
    }
  guard_forward_head (c);
}

/* A request that cannot be written whole (out of memory) is answered 500
 * and the connection closed: never half a head to the engine. */
void
guard_refuse_unwritable (struct conn *c)
{
  log_warn ("engine guard: cannot write a request: %s", strerror (errno));
  io_buf_free (&c->head_out);
  guard_refuse (c, 500, REFUSAL_ENGINE_NO_MEMORY, true);
}

/* Send the checked head (c->head_out, without framing) and stream the
 * body after it.  The head reaches uout in one append: whole, or not at
 * all. */
void
guard_forward_head (struct conn *c)
{
  int r;
  c->chunked_out = c->req.chunked_in;
  if (c->chunked_out)
    r = io_buf_printf (&c->head_out, "Transfer-Encoding: chunked\r\n\r\n");
  else if (c->req.has_length)
    r = io_buf_printf (&c->head_out, "Content-Length: %llu\r\n\r\n",
                       (unsigned long long)c->req.content_length);
  else
    r = io_buf_append (&c->head_out, "\r\n", 2);
  if (r < 0
      || io_buf_append (&c->uout, c->head_out.d + c->head_out.off,
                        c->head_out.len)
             < 0)
    {
      guard_refuse_unwritable (c);
      return;
    }
  if (guard_push_pending (c, (c->route->flags & ROUTE_F_HIJACK) != 0) < 0)
    {
      c->dead = true;
      return;
    }
  /* before the head's first byte is written to the engine */
  if (c->g->cfg.image_note != NULL
      && guard_prov_mark (
             c, &c->pend[(c->pend_head + c->pend_n - 1) % MAX_PENDING])
             < 0)
    {
      c->dead = true;
      return;
    }
  io_buf_free (&c->head_out);
  c->rs = RS_FORWARD;
}

/* A request message ended (body included). */
static void
handle_message_end (struct conn *c)
{
  bool keep = llhttp_should_keep_alive (&c->req.p);
  if (!keep)
    c->local_close = true;
  switch (c->rs)
    {
    case RS_FORWARD:
      if (c->bscan != NULL)
        {
          int br = guard_build_end (c);
          if (br < 0 && !c->dead)
            guard_emit_local (c);
          if (br != 0)
            break;
        }
      if (c->chunked_out && io_buf_append (&c->uout, "0\r\n\r\n", 5) < 0)
        c->dead = true;
      c->rs = (c->route && (c->route->flags & ROUTE_F_HIJACK)) ? RS_WAIT_HIJACK
                                                               : RS_HEAD;
      break;
    case RS_COLLECT:
      guard_handle_collected (c);
      break;
    case RS_DISCARD:
      guard_emit_local (c);
      break;
    default:
      break;
    }
  engine_req_next (&c->req);
  if (!keep && c->rs == RS_HEAD)
    c->rs = RS_CLOSED;
}

static void
parse_error (struct conn *c, llhttp_errno_t e)
{
  char msg[160];
  if (!c->req.in_head)
    {
      c->dead = true; /* mid-body: the engine holds half a request */
      return;
    }
  c->req.in_head = false;
  if (c->req.head_error)
    snprintf (msg, sizeof msg, REFUSAL_ENGINE_HEAD_TOO_LARGE,
              ENGINE_GUARD_MAX_HEAD);
  else
    snprintf (msg, sizeof msg, REFUSAL_ENGINE_MALFORMED,
              llhttp_errno_name (e));
  guard_local_answer (c, c->req.head_error ? 431 : 400, msg, true);
  guard_emit_local (c);
}

/* Feed buffered client bytes to the parser while the state allows. */
void
guard_process_client (struct conn *c)
{
  while (!c->dead && (c->cin.len > 0 || c->kick))
    {
      if (c->raw)
        {
          if (io_buf_append (&c->uout, c->cin.d + c->cin.off, c->cin.len) < 0)
            c->dead = true;
          io_buf_consume (&c->cin, c->cin.len);
          return;
        }
      if (c->rs == RS_WAIT_HIJACK || c->rs == RS_WAIT_LOCAL
          || c->rs == RS_PARKED)
        return;
      if (c->rs == RS_CLOSED)
        {
          io_buf_consume (&c->cin, c->cin.len);
          return;
        }
      if (c->uout.len > HIGH_WATER || c->pend_n >= MAX_PENDING - 1)
        return;
      const char *base = c->cin.d ? c->cin.d + c->cin.off : "";
      c->kick = false;
      llhttp_errno_t e = llhttp_execute (&c->req.p, base, c->cin.len);
      size_t used = c->cin.len;
      if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE)
        used = (size_t)(llhttp_get_error_pos (&c->req.p) - base);
      else if (e != HPE_OK)
        {
          io_buf_consume (&c->cin, c->cin.len);
          if (c->rs == RS_HEAD)
            c->req.in_head = true;
          parse_error (c, e);
          return;
        }
      io_buf_consume (&c->cin, used);
      if (e == HPE_OK)
        return;
      if (e == HPE_PAUSED_UPGRADE)
        {
          handle_message_end (c);
          continue;
        }
      llhttp_resume (&c->req.p);
      if (c->req.in_head)
        {
          c->req.in_head = false;
          handle_head (c);
          c->kick = true;
        }
      else
        handle_message_end (c);
    }
}

/* ---- I/O --------------------------------------------------------------- */

static int
write_out (int fd, struct io_buf *b)
{
  while (b->len > 0)
    {
      ssize_t n = send (fd, b->d + b->off, b->len, MSG_NOSIGNAL);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN)
            return 0;
          return -1;
        }
      io_buf_consume (b, (size_t)n);
    }
  return 0;
}

static int
guard_conn_flush (struct conn *c)
{
  if (c->hu.fd >= 0 && write_out (c->hu.fd, &c->uout) < 0)
    return -1;
  if (write_out (c->hc.fd, &c->cout) < 0)
    return -1;
  return 0;
}

static void set_mask (struct conn *c, struct io_handle *h, uint32_t want);

/* A hijacked connection: from now on src/io's relay moves its bytes,
 * those buffered before the hijack first (what the client sent after its
 * request, and the engine's answer with what followed it). */
static int
start_relay (struct conn *c)
{
  struct io_relay *r = &c->relay;
  io_relay_init (r, c->hc.fd, c->hu.fd);
  c->relaying = true;
  if (io_buf_append (&r->ab.pre, c->uout.d + c->uout.off, c->uout.len) < 0
      || io_buf_append (&r->ab.pre, c->cin.d + c->cin.off, c->cin.len) < 0
      || io_buf_append (&r->ba.pre, c->cout.d + c->cout.off, c->cout.len) < 0)
    return -1;
  io_buf_consume (&c->uout, c->uout.len);
  io_buf_consume (&c->cin, c->cin.len);
  io_buf_consume (&c->cout, c->cout.len);
  /* what either side already said or was told */
  r->ab.eof = c->cin_eof;
  r->ab.shut = c->ushut_done;
  r->ba.eof = c->uin_eof;
  r->ba.shut = c->cshut_done;
  return 0;
}

/* Run the relay and set both interests from it. */
static void
relay_update (struct conn *c)
{
  if (!c->relaying && start_relay (c) < 0)
    c->dead = true;
  if (!c->dead && io_relay_run (&c->g->pipes, &c->relay, true, true) < 0)
    c->dead = true;
  if (!c->dead && io_relay_done_p (&c->relay))
    c->dead = true;
  if (!c->dead)
    {
      set_mask (c, &c->hc, io_relay_mask_a (&c->relay));
      set_mask (c, &c->hu, io_relay_mask_b (&c->relay));
    }
  if (c->dead)
    guard_conn_close (c);
}

/* Close both sockets now; the memory goes when the epoll batch that may
 * still name this connection is done. */
static void conn_free_cb (void *p);

void
guard_conn_close (struct conn *c)
{
  struct engine_guard *g = c->g;
  if (c->closed)
    return;
  c->closed = true;
  c->dead = true;
  if (c->job != NULL)
    {
      /* a worker still holds the job: it is freed when it comes back */
      pthread_mutex_lock (&g->jmu);
      c->job->c = NULL;
      pthread_mutex_unlock (&g->jmu);
      c->job = NULL;
    }
  if (c->prev)
    c->prev->next = c->next;
  else
    g->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  g->n_conns--;
  /* out of the epoll set before closing (io_handle_close): a copy of the
   * descriptor (a forked child's, before its exec) would keep the
   * registration */
  if (c->relaying)
    {
      io_relay_release (&g->pipes, &c->relay);
      c->relaying = false;
    }
  io_timer_cancel (g->loop, &c->head_timer);
  io_handle_close (g->loop, &c->hc);
  if (guard_engine_reusable_p (c))
    guard_pool_put (g, io_handle_release (g->loop, &c->hu));
  io_handle_close (g->loop, &c->hu);
  io_loop_defer_free (g->loop, &c->grave, conn_free_cb, c);
}

static void
conn_free_cb (void *p)
{
  guard_conn_free (p);
}

void
guard_conn_free (struct conn *c)
{
  io_buf_free (&c->cin);
  engine_req_free (&c->req);
  io_buf_free (&c->head_out);
  io_buf_free (&c->body);
  io_buf_free (&c->local);
  io_buf_free (&c->uout);
  io_buf_free (&c->cout);
  free (c->container);
  free (c->archive);
  free (c->query);
  free (c->registry);
  guard_build_clear (c);
  for (size_t i = 0; i < MAX_PENDING; i++)
    guard_prov_clear (&c->pend[i]);
  free (c);
}

/* An fd with no interest is taken out of epoll altogether (io_handle_set
 * with 0): a hung-up peer would otherwise report EPOLLHUP forever while
 * the guard holds off reading it (back-pressure), and the unread tail must
 * still be delivered. */
static void
set_mask (struct conn *c, struct io_handle *h, uint32_t want)
{
  if (h->fd >= 0 && io_handle_set (c->g->loop, h, want) < 0)
    c->dead = true;
}

/* A request head overdue (slowloris): the connection goes. */
static void
on_head_overdue (struct io_loop *l, struct io_timer *t)
{
  (void)l;
  guard_conn_close (t->owner);
}

/* The head deadline follows the parser: armed at the head's start plus
 * head_timeout_ms while a begun head is incomplete, cancelled otherwise.
 * A head read whole in one go never arms it. */
static void
head_deadline_sync (struct conn *c)
{
  struct io_loop *l = c->g->loop;
  if (c->raw || c->rs != RS_HEAD || !c->req.head_started)
    {
      io_timer_cancel (l, &c->head_timer);
      return;
    }
  uint64_t when = (uint64_t)c->req.head_start.tv_sec * 1000000u
                  + (uint64_t)c->req.head_start.tv_nsec / 1000u
                  + (uint64_t)c->g->cfg.head_timeout_ms * 1000u;
  if (io_timer_armed_p (&c->head_timer) && c->head_timer.when_us == when)
    return;
  if (io_timer_set (l, &c->head_timer, when, on_head_overdue, c) < 0)
    c->dead = true;
}

/* Flush, apply half-closes, decide whether the connection is over, and set
 * the epoll interest of both sockets. */
void
guard_conn_update (struct conn *c)
{
  uint32_t mc = 0, mu = 0;
  if (c->closed)
    return;
  if (c->relaying)
    {
      relay_update (c);
      return;
    }
  if (!c->dead && guard_conn_flush (c) < 0)
    c->dead = true;
  if (!c->dead && (c->cin.len > 0 || c->kick))
    {
      guard_process_client (c);
      if (!c->dead && guard_conn_flush (c) < 0)
        c->dead = true;
    }
  if (!c->dead && c->raw)
    {
      /* hijacked: the relay takes over from here */
      relay_update (c);
      return;
    }
  else if (!c->dead)
    {
      if (c->close_when_flushed && c->cout.len == 0)
        c->dead = true;
      if (c->rs == RS_CLOSED && c->pend_n == 0 && c->local.len == 0
          && c->cout.len == 0)
        c->dead = true;
      if (c->uin_eof && c->cout.len == 0)
        c->dead = true;
      if (c->cin_eof)
        {
          if (c->rs != RS_HEAD && c->rs != RS_CLOSED && c->rs != RS_WAIT_HIJACK
              && c->rs != RS_WAIT_LOCAL && c->rs != RS_PARKED)
            c->dead = true; /* client left mid-request */
          else if (c->rs == RS_PARKED)
            ; /* its answer is still to come */
          else if (c->pend_n == 0 && c->cout.len == 0 && c->local.len == 0)
            {
              c->dead = true;
              c->hu_reuse = true; /* the client is done, cleanly */
            }
          else if (c->hu.fd >= 0 && c->uout.len == 0 && !c->ushut_done)
            {
              shutdown (c->hu.fd, SHUT_WR);
              c->ushut_done = true;
            }
        }
    }
  if (c->dead)
    {
      guard_conn_close (c);
      return;
    }
  bool want_client
      = !c->cin_eof && c->cin.len < READ_CHUNK && c->uout.len <= HIGH_WATER;
  bool want_engine = !c->uin_eof && c->cout.len <= HIGH_WATER;
  if (!c->raw && (c->rs == RS_WAIT_HIJACK || c->rs == RS_WAIT_LOCAL))
    want_client = !c->cin_eof && c->cin.len < READ_CHUNK;
  if (want_client)
    mc |= EPOLLIN;
  if (c->cout.len > 0)
    mc |= EPOLLOUT;
  if (c->hu.fd >= 0)
    {
      if (want_engine)
        mu |= EPOLLIN;
      if (c->uout.len > 0)
        mu |= EPOLLOUT;
    }
  /* an idle kept-alive connection holds no buffers */
  if (!c->raw && c->rs == RS_HEAD && !c->req.head_started && c->cin.len == 0)
    {
      io_buf_free (&c->cin);
      io_buf_free (&c->req.hbuf);
      if (c->uout.len == 0)
        io_buf_free (&c->uout);
      if (c->cout.len == 0)
        io_buf_free (&c->cout);
    }
  head_deadline_sync (c);
  set_mask (c, &c->hc, mc);
  set_mask (c, &c->hu, mu);
  if (c->dead)
    guard_conn_close (c);
}

static void
on_client_readable (struct conn *c)
{
  char tmp[READ_CHUNK];
  ssize_t n = recv (c->hc.fd, tmp, sizeof tmp, 0);
  if (n < 0)
    {
      if (errno != EAGAIN && errno != EINTR)
        c->dead = true;
      return;
    }
  if (n == 0)
    {
      c->cin_eof = true;
      return;
    }
  if (io_buf_append (&c->cin, tmp, (size_t)n) < 0)
    {
      c->dead = true;
      return;
    }
  guard_process_client (c);
}

/* A client just accepted: its first request has usually been written
 * already (a client writes right after connect), so it is read now, not
 * after another turn of the loop. */
void
guard_conn_first_read (struct conn *c)
{
  on_client_readable (c);
  guard_conn_update (c);
}

static void on_conn_event (struct io_loop *l, struct io_handle *h,
                           uint32_t events);

struct conn *
guard_conn_new (struct engine_guard *g, int fd, uint32_t mask)
{
  struct conn *c = calloc (1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->g = g;
  io_handle_init (&c->hc, IO_CLIENT, on_conn_event, c);
  io_handle_init (&c->hu, IO_UPSTREAM, on_conn_event, c);
  if (io_handle_add (g->loop, &c->hc, fd, mask) < 0)
    {
      free (c); /* fd stays the caller's */
      return NULL;
    }
  engine_req_init (&c->req, ENGINE_GUARD_MAX_HEAD, conn_body, c);
  llhttp_init (&c->resp, HTTP_RESPONSE, &g->resp_settings);
  c->resp.data = c;
  c->rs = RS_HEAD;
  return c;
}

void
guard_conn_link (struct conn *c)
{
  struct engine_guard *g = c->g;
  c->next = g->conns;
  if (g->conns)
    g->conns->prev = c;
  g->conns = c;
  g->n_conns++;
}

/* ---- public API ----------------------------------------------------------
 */

static void on_wake (struct io_loop *l, void *ctx);
static void on_tick (struct io_loop *l, struct io_timer *t);

struct engine_guard *
engine_guard_new (const struct engine_guard_config *cfg, moat_error_t *err)
{
  int lfd = -1;
  struct engine_guard *g = calloc (1, sizeof *g);
  if (g == NULL)
    {
      moat_error (err, ENOMEM, "engine guard");
      return NULL;
    }
  g->cfg = *cfg;
  g->self = getpid ();
  pthread_mutex_init (&g->jmu, NULL);
  pthread_cond_init (&g->jcv, NULL);
  pthread_cond_init (&g->prov_cv, NULL);
  engine_image_pending_init (&g->inflight);
  {
    /* writers first: a policy swap is not starved by a stream of checks */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init (&ra);
    pthread_rwlockattr_setkind_np (
        &ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init (&g->pol_rw, &ra);
    pthread_rwlockattr_destroy (&ra);
  }
  {
    /* recursive: the socket-mount hook runs under mu and may add a
     * listener, which takes mu again */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init (&ma);
    pthread_mutexattr_settype (&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init (&g->mu, &ma);
    pthread_mutexattr_destroy (&ma);
  }
  if (g->cfg.head_timeout_ms == 0)
    g->cfg.head_timeout_ms = 10000;
  if (g->cfg.max_conns == 0)
    g->cfg.max_conns = 4096;
  g->pool_max = cfg->no_pool            ? 0
                : cfg->engine_pool == 0 ? ENGINE_GUARD_POOL_DEFAULT
                : cfg->engine_pool > ENGINE_GUARD_POOL_MAX
                    ? ENGINE_GUARD_POOL_MAX
                    : cfg->engine_pool;
  g->engine_path = strdup (cfg->engine_path ? cfg->engine_path : "");
  if (g->engine_path == NULL)
    {
      moat_error (err, ENOMEM, "engine guard");
      goto fail;
    }
  if (cfg->listen_fd >= 0)
    {
      lfd = cfg->listen_fd;
      if (guard_set_nonblock (lfd) < 0)
        {
          moat_error (err, errno, "listening socket");
          goto fail;
        }
    }
  else if (cfg->listen_path == NULL
           || (lfd = guard_make_listener (cfg->listen_path, err)) < 0)
    {
      if (cfg->listen_path == NULL)
        moat_error (err, EINVAL, "engine guard: no listening socket");
      goto fail;
    }
  if (io_pipe_pool_init (&g->pipes, 64, 8) < 0)
    {
      moat_error (err, ENOMEM, "engine guard");
      goto fail;
    }
  {
    struct io_loop_config lc = { .on_wake = on_wake, .ctx = g };
    if (io_loop_new (&lc, &g->loop, err) < 0)
      goto fail;
  }
  if (guard_listener_start (g, ++g->next_listener_id, lfd, cfg->command_list)
          < 0
      || (lfd = -1,
          io_timer_set (g->loop, &g->tick, io_now_us () + TICK_US, on_tick, g))
             < 0)
    {
      moat_error (err, errno, "engine guard event loop");
      goto fail;
    }

  guard_resp_settings (&g->resp_settings);
  return g;
fail:
  if (lfd >= 0)
    close (lfd);
  engine_guard_free (g);
  return NULL;
}

void
engine_guard_config_init (struct engine_guard_config *cfg,
                          struct engine_guard_paths *store,
                          const struct moat_paths *paths)
{
  size_t n = 0;
  memset (cfg, 0, sizeof *cfg);
  memset (store, 0, sizeof *store);
  cfg->listen_fd = -1;
  cfg->listen_path = paths->docker_sock;
  cfg->engine_path = paths->engine_sock;
  store->protect[n++] = paths->etc_dir;
  store->protect[n++] = paths->state_dir;
  store->protect[n++] = paths->run_dir;
  store->protect[n++] = paths->log_dir;
  store->protect[n++] = paths->engine_data;
  store->protect[n++] = paths->engine_exec;
  cfg->eci.protected_paths = store->protect;
  cfg->eci.n_protected = n;
  n = 0;
  store->sockets[n++] = paths->engine_sock;
  store->sockets[n++] = paths->docker_sock;
  store->sockets[n++] = paths->control_sock;
  cfg->eci.socket_paths = store->sockets;
  cfg->eci.n_sockets = n;
}

void
engine_guard_set_policy (struct engine_guard *g, const struct policy *pol)
{
  /* waits for the checks that use the old policy (not for the loop) */
  pthread_rwlock_wrlock (&g->pol_rw);
  pthread_mutex_lock (&g->mu);
  g->pol = pol;
  pthread_mutex_unlock (&g->mu);
  pthread_rwlock_unlock (&g->pol_rw);
}

void
engine_guard_set_gate (struct engine_guard *g, const struct engine_gate *gate)
{
  pthread_mutex_lock (&g->mu);
  g->gate = gate;
  g->gate_changed = true;
  pthread_mutex_unlock (&g->mu);
  /* open connections are judged again on the loop (apply_gate) */
  io_loop_wake (g->loop);
}

/* (loop) A new gate table: a connection whose caller it no longer serves
 * (signed out, revoked, expired, a new allowedOrgs) is closed, whatever
 * it is doing: a hijacked stream (attach, exec -it), a streamed answer
 * (logs -f, events) or a kept-alive connection between requests.  The
 * gate's refusal of new requests alone would leave those open.  moatd's
 * own connections are not the gate's (handle_head). */
static void
apply_gate (struct engine_guard *g)
{
  struct timespec now;
  struct conn *c, *next;
  size_t cut = 0;

  pthread_mutex_lock (&g->mu);
  if (!g->gate_changed)
    {
      pthread_mutex_unlock (&g->mu);
      return;
    }
  g->gate_changed = false;
  clock_gettime (CLOCK_REALTIME_COARSE, &now);
  for (c = g->conns; c != NULL; c = c->next)
    {
      const char *text;
      /* (a filtered socket's connection whose peer check still runs has
       * no caller yet: its first request is gated) */
      c->gate_cut
          = !c->closed && g->gate != NULL && c->cred.pid != g->self
            && !(c->job != NULL && c->job->op == JOB_PEER)
            && engine_gate_check (g->gate, c->caller_uid, now.tv_sec, &text)
                   < 0;
      cut += c->gate_cut;
    }
  pthread_mutex_unlock (&g->mu);
  for (c = g->conns; cut > 0 && c != NULL; c = next)
    {
      next = c->next;
      if (!c->gate_cut)
        continue;
      cut--;
      if (c->raw || c->relaying || c->rs != RS_HEAD || c->pend_n > 0)
        guard_audit (c, "signin", "refused",
                     "the caller's session ended: its open stream was "
                     "closed",
                     NULL);
      guard_conn_close (c);
    }
}

void
engine_guard_stop (struct engine_guard *g)
{
  io_loop_stop (g->loop);
}

/* Both sockets of a connection. */
static void
on_conn_event (struct io_loop *l, struct io_handle *h, uint32_t events)
{
  struct conn *c = h->owner;
  bool is_c = h == &c->hc;
  (void)l;
  if (c->closed)
    return;
  if (c->relaying)
    {
      /* the relay reads, writes and sees EOF itself */
      if (events & EPOLLERR)
        c->dead = true;
      guard_conn_update (c);
      return;
    }
  if (events & EPOLLERR)
    c->dead = true;
  else if ((events & (EPOLLIN | EPOLLHUP)) && (h->mask & EPOLLIN))
    {
      if (is_c)
        on_client_readable (c);
      else
        guard_engine_readable (c);
    }
  else if ((events & EPOLLHUP) && is_c)
    c->dead = true; /* the client is gone both ways */
  guard_conn_update (c);
}

/* Listener changes and finished checks (other threads: io_loop_wake). */
static void
on_wake (struct io_loop *l, void *ctx)
{
  struct engine_guard *g = ctx;
  (void)l;
  guard_apply_listener_ops (g);
  guard_resume_checked (g);
  apply_gate (g);
}

static void
on_tick (struct io_loop *l, struct io_timer *t)
{
  struct engine_guard *g = t->owner;
  g->pool_hold = false;
  if (io_timer_set (l, t, io_now_us () + TICK_US, on_tick, g) < 0)
    log_warn ("engine guard: re-arm the tick: %s", strerror (errno));
}

int
engine_guard_run (struct engine_guard *g, moat_error_t *err)
{
  int r = 0;
  if (!g->sync_checks)
    guard_checks_start (g);
  while (r == 0 && !io_loop_stopped_p (g->loop))
    {
      guard_pool_fill (g);
      r = io_loop_once (g->loop, -1, err);
    }
  guard_checks_stop (g);
  return r < 0 ? -1 : 0;
}
