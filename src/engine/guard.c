/* The engine guard's event loop and per-connection proxy state machine.
 *
 * Client -> engine: every request is parsed with llhttp.  Its head is
 * checked, then re-serialised (one spelling of every header, CRLF line
 * ends, chunked bodies re-framed) so that the engine reads exactly the
 * request that was checked: no framing ambiguity survives the guard.
 * Bodies stream through as llhttp yields them; only the bodies of the
 * endpoints ECI inspects are collected, up to ECI_MAX_JSON_BODY.
 *
 * Engine -> client: bytes are forwarded unchanged; a response parser only
 * tracks message boundaries, to know when a hijack (attach, exec start)
 * really happened and when a locally generated answer may be sent.
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
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "common/log.h"
#include "engine/decide.h"
#include "engine/guard_int.h"
#include "engine/guard_test.h"

/* ---- small helpers -------------------------------------------------------
 */

static int
set_nonblock (int fd)
{
  int fl = fcntl (fd, F_GETFL);
  if (fl < 0 || fcntl (fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return -1;
  return 0;
}

static void
audit (struct conn *c, const char *rule, const char *outcome,
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

static int conn_flush (struct conn *c);
static void conn_update (struct conn *c);
static void process_client (struct conn *c);

/* Queue a local answer: sent now if nothing is outstanding on the engine
 * side, else after the engine's responses (never interleaved). */
static void
local_answer (struct conn *c, int status, const char *message, bool close)
{
  gbuf_free (&c->local);
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

static void
emit_local (struct conn *c)
{
  if (c->local.len == 0)
    return;
  if (c->pend_n > 0)
    {
      c->rs = RS_WAIT_LOCAL;
      return;
    }
  if (gbuf_append (&c->cout, c->local.d + c->local.off, c->local.len) < 0)
    c->dead = true;
  gbuf_free (&c->local);
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
      if (c->chunked_out)
        {
          if (gbuf_printf (&c->uout, "%zx\r\n", len) < 0
              || gbuf_append (&c->uout, at, len) < 0
              || gbuf_append (&c->uout, "\r\n", 2) < 0)
            return -1;
          return 0;
        }
      return gbuf_append (&c->uout, at, len);
    case RS_COLLECT:
      if (c->body_too_big || c->body.len + len > ECI_MAX_JSON_BODY)
        {
          c->body_too_big = true;
          gbuf_free (&c->body);
          return 0;
        }
      return gbuf_append (&c->body, at, len);
    default:
      return 0;
    }
}

/* ---- response parser callbacks ------------------------------------------ */

static int
on_resp_hfield (llhttp_t *p, const char *at, size_t len)
{
  struct conn *c = p->data;
  if (c->resp_in_value)
    {
      c->resp_hname_len = 0;
      c->resp_in_value = false;
      c->resp_in_ct = false;
    }
  for (size_t i = 0; i < len && c->resp_hname_len < sizeof c->resp_hname; i++)
    c->resp_hname[c->resp_hname_len++] = at[i];
  return 0;
}

static int
on_resp_hvalue (llhttp_t *p, const char *at, size_t len)
{
  struct conn *c = p->data;
  if (!c->resp_in_value)
    {
      c->resp_in_value = true;
      c->resp_in_ct = c->resp_hname_len == 12
                      && strncasecmp (c->resp_hname, "content-type", 12) == 0;
      if (c->resp_in_ct)
        c->resp_ct_len = 0;
    }
  if (c->resp_in_ct)
    for (size_t i = 0; i < len && c->resp_ct_len < sizeof c->resp_ct - 1; i++)
      c->resp_ct[c->resp_ct_len++] = at[i];
  return 0;
}

static int
on_resp_begin (llhttp_t *p)
{
  struct conn *c = p->data;
  c->resp_hname_len = 0;
  c->resp_in_value = false;
  c->resp_in_ct = false;
  c->resp_ct_len = 0;
  c->resp_informational = false;
  return 0;
}

static int
on_resp_headers_complete (llhttp_t *p)
{
  struct conn *c = p->data;
  int status = p->status_code;
  struct pending *pe;
  if (c->pend_n == 0)
    return -1; /* a response nobody asked for */
  pe = &c->pend[c->pend_head];
  if (status >= 100 && status < 200 && status != 101)
    {
      c->resp_informational = true;
      return 0;
    }
  if (pe->hijack)
    {
      c->resp_ct[c->resp_ct_len] = '\0';
      bool raw_ct
          = strncasecmp (c->resp_ct, "application/vnd.docker.", 23) == 0
            && strstr (c->resp_ct, "-stream") != NULL;
      /* The engine took the connection over: from here on it speaks no
       * HTTP, and neither may the client. */
      if (status == 101 || (status == 200 && raw_ct))
        {
          c->raw = true;
          return 2;
        }
    }
  if (pe->head)
    return 1;
  return 0;
}

static int
on_resp_message_complete (llhttp_t *p)
{
  struct conn *c = p->data;
  if (c->resp_informational)
    return 0;
  if (c->pend_n == 0)
    return -1;
  bool was_hijack = c->pend[c->pend_head].hijack;
  c->pend_head = (c->pend_head + 1) % MAX_PENDING;
  c->pend_n--;
  if (was_hijack && !c->raw && c->rs == RS_WAIT_HIJACK)
    c->rs = RS_HEAD;
  return 0;
}

/* ---- request handling ----------------------------------------------------
 */

static int
engine_connect (struct conn *c)
{
  int fd;
  if (c->ufd >= 0)
    return 0;
  fd = guard_pool_take (c->g);
  if (fd < 0)
    return -1;
  c->ufd = fd;
  c->ep_u.kind = EP_ENGINE;
  c->ep_u.c = c;
  c->mask_u = 0;
  c->reg_u = false;
  return 0;
}

static int
push_pending (struct conn *c, bool hijack)
{
  if (c->pend_n == MAX_PENDING)
    return -1;
  struct pending *pe = &c->pend[(c->pend_head + c->pend_n) % MAX_PENDING];
  pe->head = c->req.method == HTTP_HEAD;
  pe->hijack = hijack;
  c->pend_n++;
  return 0;
}

/* Refuse the current request: answer once its body is consumed. */
static void
refuse (struct conn *c, int status, const char *message, bool close)
{
  local_answer (c, status, message, close);
  c->rs = RS_DISCARD;
}

static void forward_head (struct conn *c);
static void refuse_unwritable (struct conn *c);
static void start_archive_check (struct conn *c);

/* Decide about a complete head (engine/decide.c).  Sets c->rs to what
 * happens to the body. */
static void
handle_head (struct conn *c)
{
  struct engine_guard *g = c->g;
  struct engine_decision d;
  cleanup_free char *raw_uri = engine_req_url (&c->req);
  struct engine_head_facts f = {
    .method = c->req.method,
    .http_major = c->req.http_major,
    .raw_uri = raw_uri,
    .has_body = engine_req_has_body (&c->req),
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
  gbuf_free (&c->body);
  c->body_too_big = false;
  c->op = ROUTE_OP_NONE;
  c->route = NULL;
  if (raw_uri == NULL)
    {
      c->dead = true;
      return;
    }
  f.headers_valid = engine_req_headers_valid (&c->req);
  pthread_mutex_lock (&g->mu);
  r = engine_decide (&f, g->pol, &d);
  pthread_mutex_unlock (&g->mu);
  if (r < 0)
    {
      refuse_unwritable (c);
      return;
    }
  c->route = d.route;
  c->op = d.op;
  c->eci_on = d.eci;
  c->container = d.container;
  c->archive = d.archive;
  c->query = d.query;
  d.container = d.archive = d.query = NULL;
  snprintf (c->version, sizeof c->version, "%s", d.version);
  if (d.verdict == ENGINE_REFUSE)
    {
      if (d.rule)
        audit (c, d.rule, "refused", d.message, NULL);
      refuse (c, d.status, d.message, d.close);
      engine_decision_clear (&d);
      return;
    }
  engine_decision_clear (&d);

  if (engine_connect (c) < 0)
    {
      refuse (c, 502, REFUSAL_ENGINE_NO_ENGINE, true);
      return;
    }
  gbuf_free (&c->head_out);
  c->head_out.limit = g->head_limit;
  if (engine_req_write_head (&c->req, &c->head_out, NULL) < 0)
    {
      refuse_unwritable (c);
      return;
    }
  if (c->op == ROUTE_OP_ARCHIVE)
    {
      start_archive_check (c);
      return;
    }
  if (c->op != ROUTE_OP_NONE)
    {
      c->rs = RS_COLLECT;
      return;
    }
  forward_head (c);
}

/* A request that cannot be written whole (out of memory) is answered 500
 * and the connection closed: never half a head to the engine. */
static void
refuse_unwritable (struct conn *c)
{
  log_warn ("engine guard: cannot write a request: %s", strerror (errno));
  gbuf_free (&c->head_out);
  refuse (c, 500, REFUSAL_ENGINE_NO_MEMORY, true);
}

/* Send the checked head (c->head_out, without framing) and stream the
 * body after it.  The head reaches uout in one append: whole, or not at
 * all. */
static void
forward_head (struct conn *c)
{
  int r;
  c->chunked_out = c->req.chunked_in;
  if (c->chunked_out)
    r = gbuf_printf (&c->head_out, "Transfer-Encoding: chunked\r\n\r\n");
  else if (c->req.has_length)
    r = gbuf_printf (&c->head_out, "Content-Length: %llu\r\n\r\n",
                     (unsigned long long)c->req.content_length);
  else
    r = gbuf_append (&c->head_out, "\r\n", 2);
  if (r < 0
      || gbuf_append (&c->uout, c->head_out.d + c->head_out.off,
                      c->head_out.len)
             < 0)
    {
      refuse_unwritable (c);
      return;
    }
  if (push_pending (c, (c->route->flags & ROUTE_F_HIJACK) != 0) < 0)
    {
      c->dead = true;
      return;
    }
  gbuf_free (&c->head_out);
  c->rs = RS_FORWARD;
}

static void
finish_collected (struct conn *c, struct check_job *j)
{
  struct eci_verdict *v = &j->v;
  char *nb = j->out;
  size_t nlen = j->out_len;

  if (j->r < 0)
    {
      const char *m = v->message ? v->message : REFUSAL_ENGINE_REFUSED;
      audit (c, v->rule ? v->rule : "eci", "refused", m, v->image);
      local_answer (c, v->status ? v->status : 403, m, false);
      emit_local (c);
      return;
    }
  if (v->rewrite)
    audit (c, "eci.runtime", "rewritten", v->rewrite, v->image);
  if (v->socket)
    {
      cleanup_free char *what = NULL;
      if (asprintf (&what, "engine socket bind -> filtered socket \"%s\"",
                    v->socket)
          >= 0)
        audit (c, "eci.socket-mount", "rewritten", what, v->image);
    }
  if (v->pin)
    audit (c, "eci.socket-mount", "rewritten", v->pin, v->image);
  if (j->op == ROUTE_OP_CONTAINER_CREATE)
    {
      char what[128];
      snprintf (what, sizeof what,
                "Labels " ECI_CALLER_UID_LABEL "=\"%lu\" " ECI_CALLER_GID_LABEL
                "=\"%lu\"",
                (unsigned long)j->caller_uid, (unsigned long)j->caller_gid);
      audit (c, "caller", "rewritten", what, v->image);
    }
  if (nb == NULL)
    {
      nb = j->body;
      nlen = j->len;
    }
  /* head and body reach uout in one append: whole, or not at all */
  if (gbuf_printf (&c->head_out, "Content-Length: %zu\r\n\r\n", nlen) < 0
      || gbuf_append (&c->head_out, nb, nlen) < 0
      || gbuf_append (&c->uout, c->head_out.d + c->head_out.off,
                      c->head_out.len)
             < 0)
    {
      refuse_unwritable (c);
      emit_local (c);
      return;
    }
  if (push_pending (c, false) < 0)
    {
      c->dead = true;
      return;
    }
  gbuf_free (&c->head_out);
  c->rs = c->local_close ? RS_CLOSED : RS_HEAD;
}

static void submit_job (struct conn *c, struct check_job *j);

/* The collected body is complete: park the connection and hand the check
 * to a worker (its answer resumes the connection, resume_checked), or
 * answer 413 at once. */
static void
handle_collected (struct conn *c)
{
  struct check_job *j;

  if (c->body_too_big)
    {
      char msg[96];
      snprintf (msg, sizeof msg, REFUSAL_ENGINE_BODY_TOO_LARGE,
                ECI_MAX_JSON_BODY);
      local_answer (c, 413, msg, false);
      emit_local (c);
      return;
    }
  j = calloc (1, sizeof *j);
  if (j == NULL || (j->body = malloc (c->body.len + 1)) == NULL)
    {
      free (j);
      c->dead = true;
      return;
    }
  memcpy (j->body, c->body.d ? c->body.d + c->body.off : "", c->body.len);
  j->body[c->body.len] = '\0';
  j->len = c->body.len;
  j->op = c->op;
  j->eci = c->eci_on;
  j->caller_uid = c->caller_uid;
  j->caller_gid = c->caller_gid;
  j->pidfd = -1;
  gbuf_free (&c->body);
  submit_job (c, j);
}

static void finish_job (struct conn *c, struct check_job *j);

/* Run j for c on a worker: c is parked until the answer is in (or, with
 * sync_checks, checked here and now). */
static void
submit_job (struct conn *c, struct check_job *j)
{
  struct engine_guard *g = c->g;
  j->g = g;
  j->c = c;
  if (g->sync_checks)
    {
      guard_checks_run (g, j);
      finish_job (c, j);
      guard_job_free (j);
      return;
    }
  /* nothing more is read from this client until the answer is in: its
   * next request must not overtake this one */
  c->job = j;
  c->rs = RS_PARKED;
  guard_checks_enqueue (g, j);
}

/* A non-root caller's docker cp: ask whether the container mounts a host
 * path before the head (and any tar) goes to the engine. */
static void
start_archive_check (struct conn *c)
{
  struct check_job *j = calloc (1, sizeof *j);
  if (j == NULL || (j->name = strdup (c->archive)) == NULL)
    {
      free (j);
      c->dead = true;
      return;
    }
  j->op = ROUTE_OP_ARCHIVE;
  j->pidfd = -1;
  submit_job (c, j);
}

static void
finish_archive (struct conn *c, struct check_job *j)
{
  cleanup_free char *uri = NULL;
  if (j->r < 0)
    {
      const char *m = j->v.message ? j->v.message : REFUSAL_ENGINE_REFUSED;
      audit (c, j->v.rule ? j->v.rule : "eci.archive", "refused", m, NULL);
      refuse (c, j->v.status ? j->v.status : 403, m, false);
      return;
    }
  /* sent for the id that was checked, not the name */
  if (asprintf (&uri, "%s%s/containers/%s/archive%s%s",
                c->version[0] ? "/v" : "", c->version, j->out,
                c->query && c->query[0] ? "?" : "", c->query ? c->query : "")
      < 0)
    {
      uri = NULL;
      c->dead = true;
      return;
    }
  gbuf_free (&c->head_out);
  c->head_out.limit = c->g->head_limit;
  if (engine_req_write_head (&c->req, &c->head_out, uri) < 0)
    {
      refuse_unwritable (c);
      return;
    }
  forward_head (c);
}

/* A filtered socket's peer was checked: serve it, or answer once and
 * close. */
static void
finish_peer (struct conn *c, struct check_job *j)
{
  if (j->r < 0)
    {
      const char *m = j->v.message ? j->v.message : REFUSAL_ENGINE_REFUSED;
      audit (c, "socket.peer", "refused", m, NULL);
      local_answer (c, 403, m, true);
      emit_local (c);
      return;
    }
  c->caller_uid = j->caller_uid;
  c->caller_gid = j->caller_gid;
  c->rs = RS_HEAD;
}

static void
finish_job (struct conn *c, struct check_job *j)
{
  switch (j->op)
    {
    case JOB_PEER:
      finish_peer (c, j);
      break;
    case ROUTE_OP_ARCHIVE:
      finish_archive (c, j);
      break;
    default:
      finish_collected (c, j);
      break;
    }
}

/* A new connection on a filtered socket: nothing is read from it until
 * its peer is known to be the socket's container. */
static void
start_peer_check (struct conn *c, int listener_id)
{
  struct check_job *j = calloc (1, sizeof *j);
  socklen_t sl = sizeof j->pidfd;
  if (j == NULL)
    {
      c->dead = true;
      return;
    }
  j->op = JOB_PEER;
  j->cred = c->cred;
  j->listener_id = listener_id;
  /* a pidfd names the peer process itself (Linux >= 6.5), so that its
   * pid cannot be recycled under the check */
  if (getsockopt (c->cfd, SOL_SOCKET, SO_PEERPIDFD, &j->pidfd, &sl) < 0)
    j->pidfd = -1;
  submit_job (c, j);
}

/* The loop's side of finished checks. */
static void
resume_checked (struct engine_guard *g)
{
  struct check_job *rev = guard_checks_take_done (g);
  while (rev)
    {
      struct check_job *j = rev;
      struct conn *c = j->c;
      rev = j->next;
      if (c != NULL && !c->closed)
        {
          c->job = NULL;
          finish_job (c, j);
          c->kick = true; /* pipelined requests may wait in cin */
          conn_update (c);
        }
      guard_job_free (j);
    }
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
      if (c->chunked_out && gbuf_append (&c->uout, "0\r\n\r\n", 5) < 0)
        c->dead = true;
      c->rs = (c->route && (c->route->flags & ROUTE_F_HIJACK)) ? RS_WAIT_HIJACK
                                                               : RS_HEAD;
      break;
    case RS_COLLECT:
      handle_collected (c);
      break;
    case RS_DISCARD:
      emit_local (c);
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
  local_answer (c, c->req.head_error ? 431 : 400, msg, true);
  emit_local (c);
}

/* Feed buffered client bytes to the parser while the state allows. */
static void
process_client (struct conn *c)
{
  while (!c->dead && (c->cin.len > 0 || c->kick))
    {
      if (c->raw)
        {
          if (gbuf_append (&c->uout, c->cin.d + c->cin.off, c->cin.len) < 0)
            c->dead = true;
          gbuf_consume (&c->cin, c->cin.len);
          return;
        }
      if (c->rs == RS_WAIT_HIJACK || c->rs == RS_WAIT_LOCAL
          || c->rs == RS_PARKED)
        return;
      if (c->rs == RS_CLOSED)
        {
          gbuf_consume (&c->cin, c->cin.len);
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
          gbuf_consume (&c->cin, c->cin.len);
          if (c->rs == RS_HEAD)
            c->req.in_head = true;
          parse_error (c, e);
          return;
        }
      gbuf_consume (&c->cin, used);
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
write_out (int fd, struct gbuf *b)
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
      gbuf_consume (b, (size_t)n);
    }
  return 0;
}

/* Move what a pipe holds to dst. */
static int
pipe_drain (int pipe_r, int dst, size_t *held)
{
  while (*held > 0)
    {
      ssize_t n = splice (pipe_r, NULL, dst, NULL, *held,
                          SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return errno == EAGAIN ? 0 : -1;
        }
      *held -= (size_t)n;
    }
  return 0;
}

static int
conn_flush (struct conn *c)
{
  if (c->ufd >= 0 && write_out (c->ufd, &c->uout) < 0)
    return -1;
  if (write_out (c->cfd, &c->cout) < 0)
    return -1;
  if (c->spliced)
    {
      if (c->uout.len == 0
          && pipe_drain (c->pipe_cu[0], c->ufd, &c->in_cu) < 0)
        return -1;
      if (c->cout.len == 0
          && pipe_drain (c->pipe_uc[0], c->cfd, &c->in_uc) < 0)
        return -1;
    }
  return 0;
}

/* Read from src into a pipe (raw mode); 0 on EOF sets *eof. */
static int
splice_in (int src, int pipe_w, size_t *held, bool *eof)
{
  ssize_t n = splice (src, NULL, pipe_w, NULL, READ_CHUNK,
                      SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  if (n < 0)
    return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
  if (n == 0)
    *eof = true;
  *held += (size_t)n;
  return 0;
}

/* Switch a hijacked connection to splice(2); on failure bytes keep going
 * through user space. */
static void
start_splice (struct conn *c)
{
  if (c->spliced || !c->raw)
    return;
  if (pipe2 (c->pipe_cu, O_CLOEXEC | O_NONBLOCK) < 0)
    return;
  if (pipe2 (c->pipe_uc, O_CLOEXEC | O_NONBLOCK) < 0)
    {
      close (c->pipe_cu[0]);
      close (c->pipe_cu[1]);
      c->pipe_cu[0] = c->pipe_cu[1] = -1;
      return;
    }
  c->spliced = true;
}

/* Close both sockets now; the memory goes when the epoll batch that may
 * still name this connection is done. */
static void
conn_close (struct conn *c)
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
  /* Out of the epoll set before closing: a copy of the descriptor (a
   * forked child's, before its exec) would keep the registration, and
   * its events would name freed memory. */
  if (c->reg_c)
    epoll_ctl (g->epfd, EPOLL_CTL_DEL, c->cfd, NULL);
  if (c->reg_u && c->ufd >= 0)
    epoll_ctl (g->epfd, EPOLL_CTL_DEL, c->ufd, NULL);
  close (c->cfd);
  if (c->ufd >= 0)
    close (c->ufd);
  c->next = g->graveyard;
  c->prev = NULL;
  g->graveyard = c;
}

static void
conn_free (struct conn *c)
{
  for (int i = 0; i < 2; i++)
    {
      if (c->pipe_cu[i] >= 0)
        close (c->pipe_cu[i]);
      if (c->pipe_uc[i] >= 0)
        close (c->pipe_uc[i]);
    }
  gbuf_free (&c->cin);
  engine_req_free (&c->req);
  gbuf_free (&c->head_out);
  gbuf_free (&c->body);
  gbuf_free (&c->local);
  gbuf_free (&c->uout);
  gbuf_free (&c->cout);
  free (c->container);
  free (c->archive);
  free (c->query);
  free (c);
}

/* An fd with no interest is taken out of epoll altogether: a hung-up
 * peer would otherwise report EPOLLHUP forever while the guard holds off
 * reading it (back-pressure), and the unread tail must still be
 * delivered. */
static void
set_mask (struct conn *c, int fd, struct ep *ep, uint32_t *cur, bool *reg,
          uint32_t want)
{
  struct epoll_event ev;
  int op;
  if (fd < 0 || (*cur == want && *reg == (want != 0)))
    return;
  ev.events = want;
  ev.data.ptr = ep;
  op = want == 0 ? EPOLL_CTL_DEL : *reg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl (c->g->epfd, op, fd, &ev) == 0)
    {
      *cur = want;
      *reg = want != 0;
    }
  else
    c->dead = true;
}

/* Flush, apply half-closes, decide whether the connection is over, and set
 * the epoll interest of both sockets. */
static void
conn_update (struct conn *c)
{
  uint32_t mc = 0, mu = 0;
  if (c->closed)
    return;
  if (c->raw && !c->spliced && !c->dead)
    start_splice (c);
  if (!c->dead && conn_flush (c) < 0)
    c->dead = true;
  if (!c->dead && (c->cin.len > 0 || c->kick))
    {
      process_client (c);
      if (!c->dead && conn_flush (c) < 0)
        c->dead = true;
    }
  if (!c->dead && c->raw)
    {
      /* half-close travels on: each direction ends on its own */
      if (c->cin_eof && c->uout.len == 0 && c->in_cu == 0 && !c->ushut_done
          && c->ufd >= 0)
        {
          shutdown (c->ufd, SHUT_WR);
          c->ushut_done = true;
        }
      if (c->uin_eof && c->cout.len == 0 && c->in_uc == 0 && !c->cshut_done)
        {
          shutdown (c->cfd, SHUT_WR);
          c->cshut_done = true;
        }
      if (c->ushut_done && c->cshut_done)
        c->dead = true;
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
            c->dead = true;
          else if (c->ufd >= 0 && c->uout.len == 0 && !c->ushut_done)
            {
              shutdown (c->ufd, SHUT_WR);
              c->ushut_done = true;
            }
        }
    }
  if (c->dead)
    {
      conn_close (c);
      return;
    }
  bool want_client
      = !c->cin_eof && c->cin.len < READ_CHUNK && c->uout.len <= HIGH_WATER;
  bool want_engine = !c->uin_eof && c->cout.len <= HIGH_WATER;
  if (c->spliced)
    {
      /* the pipe is the queue: read again once it is empty */
      want_client = want_client && c->uout.len == 0 && c->in_cu == 0;
      want_engine = want_engine && c->cout.len == 0 && c->in_uc == 0;
    }
  else if (!c->raw && (c->rs == RS_WAIT_HIJACK || c->rs == RS_WAIT_LOCAL))
    want_client = !c->cin_eof && c->cin.len < READ_CHUNK;
  if (want_client)
    mc |= EPOLLIN;
  if (c->cout.len > 0 || c->in_uc > 0)
    mc |= EPOLLOUT;
  if (c->ufd >= 0)
    {
      if (want_engine)
        mu |= EPOLLIN;
      if (c->uout.len > 0 || c->in_cu > 0)
        mu |= EPOLLOUT;
    }
  /* an idle kept-alive connection holds no buffers */
  if (!c->raw && c->rs == RS_HEAD && !c->req.head_started && c->cin.len == 0)
    {
      gbuf_free (&c->cin);
      gbuf_free (&c->req.hbuf);
      if (c->uout.len == 0)
        gbuf_free (&c->uout);
      if (c->cout.len == 0)
        gbuf_free (&c->cout);
    }
  set_mask (c, c->cfd, &c->ep_c, &c->mask_c, &c->reg_c, mc);
  set_mask (c, c->ufd, &c->ep_u, &c->mask_u, &c->reg_u, mu);
  if (c->dead)
    conn_close (c);
}

static void
on_client_readable (struct conn *c)
{
  char tmp[READ_CHUNK];
  if (c->spliced && c->uout.len == 0 && c->cin.len == 0)
    {
      if (splice_in (c->cfd, c->pipe_cu[1], &c->in_cu, &c->cin_eof) < 0)
        c->dead = true;
      return;
    }
  ssize_t n = recv (c->cfd, tmp, sizeof tmp, 0);
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
  if (gbuf_append (&c->cin, tmp, (size_t)n) < 0)
    {
      c->dead = true;
      return;
    }
  process_client (c);
}

static void engine_bytes (struct conn *c, const char *tmp, size_t n);

static void
on_engine_readable (struct conn *c)
{
  char tmp[READ_CHUNK];
  if (c->spliced && c->cout.len == 0)
    {
      if (splice_in (c->ufd, c->pipe_uc[1], &c->in_uc, &c->uin_eof) < 0)
        c->dead = true;
      return;
    }
  ssize_t n = recv (c->ufd, tmp, sizeof tmp, 0);
  if (n < 0)
    {
      if (errno != EAGAIN && errno != EINTR)
        c->dead = true;
      return;
    }
  if (n == 0)
    {
      c->uin_eof = true;
      if (!c->raw)
        llhttp_finish (&c->resp);
      return;
    }
  engine_bytes (c, tmp, (size_t)n);
}

/* Bytes from the engine: track response framing, queue them for the
 * client. */
static void
engine_bytes (struct conn *c, const char *tmp, size_t n)
{
  if (!c->raw)
    {
      llhttp_errno_t e = llhttp_execute (&c->resp, tmp, n);
      if (e != HPE_OK && e != HPE_PAUSED_UPGRADE)
        {
          /* lost track of the engine's framing: nothing safe to do */
          log_warn ("engine guard: bad engine response: %s",
                    llhttp_errno_name (e));
          c->dead = true;
          return;
        }
      if (e == HPE_PAUSED_UPGRADE)
        {
          /* only a hijack the guard recognised may switch to raw */
          if (!c->raw)
            {
              c->dead = true;
              return;
            }
          c->rs = RS_CLOSED;
        }
    }
  if (gbuf_append (&c->cout, tmp, n) < 0)
    {
      c->dead = true;
      return;
    }
  if (c->rs == RS_WAIT_LOCAL && c->pend_n == 0)
    emit_local (c);
  /* a finished response may let waiting client bytes through */
  process_client (c);
}

static struct conn *
conn_new (struct engine_guard *g, int fd)
{
  struct conn *c = calloc (1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->g = g;
  c->cfd = fd;
  c->ufd = -1;
  c->pipe_cu[0] = c->pipe_cu[1] = c->pipe_uc[0] = c->pipe_uc[1] = -1;
  engine_req_init (&c->req, ENGINE_GUARD_MAX_HEAD, conn_body, c);
  llhttp_init (&c->resp, HTTP_RESPONSE, &g->resp_settings);
  c->resp.data = c;
  c->rs = RS_HEAD;
  c->req.method = -1;
  c->ep_c.kind = EP_CLIENT;
  c->ep_c.c = c;
  return c;
}

static void
conn_link (struct conn *c)
{
  struct engine_guard *g = c->g;
  c->next = g->conns;
  if (g->conns)
    g->conns->prev = c;
  g->conns = c;
  g->n_conns++;
}

static void
accept_clients (struct engine_guard *g, struct listener *l)
{
  for (;;)
    {
      int fd = accept4 (l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      struct epoll_event ev;
      struct conn *c;
      socklen_t sl;
      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (errno != EAGAIN)
            log_warn ("engine guard: accept: %s", strerror (errno));
          return;
        }
      if (g->n_conns >= g->cfg.max_conns)
        {
          close (fd);
          continue;
        }
      c = conn_new (g, fd);
      if (c == NULL)
        {
          close (fd);
          continue;
        }
      c->listener_id = l->id;
      c->command_list = l->command_list;
      sl = sizeof c->cred;
      if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &sl) < 0)
        c->cred.pid = 0, c->cred.uid = (uid_t)-1, c->cred.gid = (gid_t)-1;
      c->caller_uid = c->cred.uid;
      c->caller_gid = c->cred.gid;
      c->mask_c = EPOLLIN;
      c->reg_c = true;
      ev.events = EPOLLIN;
      ev.data.ptr = &c->ep_c;
      if (epoll_ctl (g->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        {
          close (fd);
          free (c);
          continue;
        }
      conn_link (c);
      if (l->command_list && g->cfg.peer_check != NULL)
        {
          start_peer_check (c, l->id);
          conn_update (c);
        }
    }
}

/* Close connections whose request head is overdue (slowloris). */
static void
expire_heads (struct engine_guard *g)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  for (struct conn *c = g->conns, *next; c; c = next)
    {
      next = c->next;
      if (c->raw || c->rs != RS_HEAD || !c->req.head_started)
        continue;
      long ms = (now.tv_sec - c->req.head_start.tv_sec) * 1000
                + (now.tv_nsec - c->req.head_start.tv_nsec) / 1000000;
      if (ms >= (long)g->cfg.head_timeout_ms)
        conn_close (c);
    }
}

/* ---- public API ----------------------------------------------------------
 */

static int
make_listener (const char *path, moat_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;
  struct stat st;
  if (strlen (path) >= sizeof sa.sun_path)
    return moat_error (err, ENAMETOOLONG, "listen on `%s`", path);
  strcpy (sa.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return moat_error (err, errno, "socket");
  /* only a stale socket is replaced, never another kind of file */
  if (lstat (path, &st) == 0)
    {
      if (!S_ISSOCK (st.st_mode))
        return moat_error (err, EEXIST, "`%s` exists and is not a socket",
                           path);
      if (unlink (path) < 0)
        return moat_error (err, errno, "remove stale `%s`", path);
    }
  if (bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    return moat_error (err, errno, "bind `%s`", path);
  if (chmod (path, 0660) < 0)
    return moat_error (err, errno, "chmod `%s`", path);
  if (listen (fd, SOMAXCONN) < 0)
    return moat_error (err, errno, "listen on `%s`", path);
  return steal_fd (&fd);
}

static int
ep_add (struct engine_guard *g, int fd, struct ep *ep, enum ep_kind kind)
{
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ep };
  ep->kind = kind;
  ep->c = NULL;
  return epoll_ctl (g->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int
listener_start (struct engine_guard *g, int id, int fd, bool command_list)
{
  struct listener *l = calloc (1, sizeof *l);
  struct epoll_event ev = { .events = EPOLLIN };
  if (l == NULL)
    return -1;
  l->id = id;
  l->fd = fd;
  l->command_list = command_list;
  l->ep.kind = EP_LISTEN;
  l->ep.l = l;
  ev.data.ptr = &l->ep;
  if (epoll_ctl (g->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
    {
      free (l);
      return -1;
    }
  l->next = g->listeners;
  g->listeners = l;
  return 0;
}

/* Stop listener id and close the connections it accepted. */
static void
listener_stop (struct engine_guard *g, int id)
{
  for (struct listener **pp = &g->listeners; *pp; pp = &(*pp)->next)
    if ((*pp)->id == id)
      {
        struct listener *l = *pp;
        *pp = l->next;
        close (l->fd);
        free (l);
        break;
      }
  for (struct conn *c = g->conns, *next; c; c = next)
    {
      next = c->next;
      if (c->listener_id == id)
        conn_close (c);
    }
}

/* Apply the listener changes other threads queued, in order. */
static void
apply_listener_ops (struct engine_guard *g)
{
  struct listener_op *ops, *rev = NULL;
  pthread_mutex_lock (&g->mu);
  ops = g->ops;
  g->ops = NULL;
  pthread_mutex_unlock (&g->mu);
  while (ops)
    {
      struct listener_op *n = ops->next;
      ops->next = rev;
      rev = ops;
      ops = n;
    }
  while (rev)
    {
      struct listener_op *o = rev;
      rev = o->next;
      if (!o->add)
        listener_stop (g, o->id);
      else if (listener_start (g, o->id, o->fd, o->command_list) < 0)
        {
          log_warn ("engine guard: cannot serve listener %d: %s", o->id,
                    strerror (errno));
          close (o->fd);
        }
      free (o);
    }
}

/* Hand o to the loop; o may be freed as soon as the mutex is released. */
static int
queue_listener_op (struct engine_guard *g, struct listener_op *o)
{
  uint64_t one = 1;
  int ret;
  pthread_mutex_lock (&g->mu);
  if (o->add)
    o->id = ++g->next_listener_id;
  ret = o->add ? o->id : 0;
  o->next = g->ops;
  g->ops = o;
  pthread_mutex_unlock (&g->mu);
  if (write (g->wfd, &one, sizeof one) < 0 && errno != EAGAIN)
    return -1;
  return ret;
}

int
engine_guard_add_listener (struct engine_guard *g, int fd, unsigned flags,
                           moat_error_t *err)
{
  struct listener_op *o;
  if (set_nonblock (fd) < 0)
    return moat_error (err, errno, "listening socket");
  o = calloc (1, sizeof *o);
  if (o == NULL)
    return moat_error (err, ENOMEM, "engine guard listener");
  o->add = true;
  o->fd = fd;
  o->command_list = (flags & ENGINE_LISTENER_COMMAND_LIST) != 0;
  return queue_listener_op (g, o);
}

void
engine_guard_remove_listener (struct engine_guard *g, int id)
{
  struct listener_op *o = calloc (1, sizeof *o);
  if (o == NULL)
    return;
  o->id = id;
  queue_listener_op (g, o);
}

struct engine_guard *
engine_guard_new (const struct engine_guard_config *cfg, moat_error_t *err)
{
  int lfd = -1;
  struct engine_guard *g = calloc (1, sizeof *g);
  struct itimerspec its = { { 1, 0 }, { 1, 0 } };
  if (g == NULL)
    {
      moat_error (err, ENOMEM, "engine guard");
      return NULL;
    }
  g->cfg = *cfg;
  g->efd = g->wfd = g->tfd = g->epfd = g->jfd = -1;
  pthread_mutex_init (&g->jmu, NULL);
  pthread_cond_init (&g->jcv, NULL);
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
      if (set_nonblock (lfd) < 0)
        {
          moat_error (err, errno, "listening socket");
          goto fail;
        }
    }
  else if (cfg->listen_path == NULL
           || (lfd = make_listener (cfg->listen_path, err)) < 0)
    {
      if (cfg->listen_path == NULL)
        moat_error (err, EINVAL, "engine guard: no listening socket");
      goto fail;
    }
  g->efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  g->wfd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  g->tfd = timerfd_create (CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  g->jfd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  g->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (g->efd < 0 || g->wfd < 0 || g->tfd < 0 || g->jfd < 0 || g->epfd < 0
      || timerfd_settime (g->tfd, 0, &its, NULL) < 0
      || listener_start (g, ++g->next_listener_id, lfd, cfg->command_list) < 0
      || (lfd = -1, ep_add (g, g->efd, &g->ep_e, EP_STOP)) < 0
      || ep_add (g, g->wfd, &g->ep_w, EP_WAKE) < 0
      || ep_add (g, g->tfd, &g->ep_t, EP_TIMER) < 0
      || ep_add (g, g->jfd, &g->ep_j, EP_JOBS) < 0)
    {
      moat_error (err, errno, "engine guard event loop");
      goto fail;
    }

  llhttp_settings_init (&g->resp_settings);
  g->resp_settings.on_message_begin = on_resp_begin;
  g->resp_settings.on_header_field = on_resp_hfield;
  g->resp_settings.on_header_value = on_resp_hvalue;
  g->resp_settings.on_headers_complete = on_resp_headers_complete;
  g->resp_settings.on_message_complete = on_resp_message_complete;
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
engine_guard_stop (struct engine_guard *g)
{
  uint64_t one = 1;
  ssize_t r = write (g->efd, &one, sizeof one);
  (void)r;
}

int
engine_guard_run (struct engine_guard *g, moat_error_t *err)
{
  struct epoll_event evs[64];
  if (!g->sync_checks)
    guard_checks_start (g);
  while (!g->stopping)
    {
      int n;
      guard_pool_fill (g);
      n = epoll_wait (g->epfd, evs, 64, -1);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return moat_error (err, errno, "engine guard: epoll_wait");
        }
      for (int i = 0; i < n; i++)
        {
          struct ep *ep = evs[i].data.ptr;
          uint64_t v;
          switch (ep->kind)
            {
            case EP_LISTEN:
              accept_clients (g, ep->l);
              break;
            case EP_WAKE:
              if (read (g->wfd, &v, sizeof v) == sizeof v)
                apply_listener_ops (g);
              /* listeners stopped here may have events later in evs */
              i = n;
              break;
            case EP_STOP:
              if (read (g->efd, &v, sizeof v) == sizeof v)
                g->stopping = true;
              break;
            case EP_TIMER:
              if (read (g->tfd, &v, sizeof v) == sizeof v)
                expire_heads (g);
              g->pool_hold = false;
              break;
            case EP_JOBS:
              if (read (g->jfd, &v, sizeof v) == sizeof v)
                resume_checked (g);
              break;
            case EP_CLIENT:
            case EP_ENGINE:
              {
                struct conn *c = ep->c;
                bool is_c = ep->kind == EP_CLIENT;
                uint32_t mask = is_c ? c->mask_c : c->mask_u;
                if (c->closed)
                  break;
                if (evs[i].events & EPOLLERR)
                  c->dead = true;
                else if ((evs[i].events & (EPOLLIN | EPOLLHUP))
                         && (mask & EPOLLIN))
                  {
                    if (is_c)
                      on_client_readable (c);
                    else
                      on_engine_readable (c);
                  }
                else if ((evs[i].events & EPOLLHUP) && is_c)
                  c->dead = true; /* the client is gone both ways */
                conn_update (c);
              }
              break;
            }
        }
      while (g->graveyard)
        {
          struct conn *c = g->graveyard;
          g->graveyard = c->next;
          conn_free (c);
        }
    }
  guard_checks_stop (g);
  return 0;
}

void
engine_guard_free (struct engine_guard *g)
{
  if (g == NULL)
    return;
  while (g->conns)
    conn_close (g->conns);
  while (g->graveyard)
    {
      struct conn *c = g->graveyard;
      g->graveyard = c->next;
      conn_free (c);
    }
  while (g->listeners)
    {
      struct listener *l = g->listeners;
      g->listeners = l->next;
      close (l->fd);
      free (l);
    }
  guard_checks_stop (g);
  while (g->jq)
    {
      struct check_job *j = g->jq;
      g->jq = j->next;
      guard_job_free (j);
    }
  while (g->jdone)
    {
      struct check_job *j = g->jdone;
      g->jdone = j->next;
      guard_job_free (j);
    }
  while (g->ops)
    {
      struct listener_op *o = g->ops;
      g->ops = o->next;
      if (o->add)
        close (o->fd);
      free (o);
    }
  if (g->efd >= 0)
    close (g->efd);
  if (g->wfd >= 0)
    close (g->wfd);
  if (g->tfd >= 0)
    close (g->tfd);
  if (g->epfd >= 0)
    close (g->epfd);
  if (g->jfd >= 0)
    close (g->jfd);
  pthread_mutex_destroy (&g->mu);
  pthread_mutex_destroy (&g->jmu);
  pthread_cond_destroy (&g->jcv);
  pthread_rwlock_destroy (&g->pol_rw);
  guard_pool_free (g);
  free (g->engine_path);
  free (g);
}

/* ---- test entry point -----------------------------------------------------
 */

static int
feed (struct engine_guard *g, const char *client, size_t clen,
      const char *engine, size_t elen, size_t step, size_t head_limit,
      struct gbuf *to_engine, struct gbuf *to_client)
{
  struct conn *c;
  size_t ci = 0, ei = 0;
  int ret = 0;
  int in = open ("/dev/null", O_RDWR | O_CLOEXEC);
  int out = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (in < 0 || out < 0 || step == 0 || (c = conn_new (g, in)) == NULL)
    {
      if (in >= 0)
        close (in);
      if (out >= 0)
        close (out);
      return -1;
    }
  g->sync_checks = true; /* no loop to resume a parked connection */
  g->head_limit = head_limit;
  c->ufd = out; /* "connected": engine_connect() does nothing */
  c->command_list = g->cfg.command_list;
  conn_link (c);
  while ((ci < clen || ei < elen) && !c->dead)
    {
      if (ci < clen)
        {
          size_t n = clen - ci < step ? clen - ci : step;
          if (gbuf_append (&c->cin, client + ci, n) < 0)
            break;
          ci += n;
          process_client (c);
        }
      if (ei < elen && !c->dead)
        {
          size_t n = elen - ei < step ? elen - ei : step;
          engine_bytes (c, engine + ei, n);
          ei += n;
        }
      /* what would be sent is taken at once, as by a fast peer; a dead
       * connection sends nothing more */
      if (!c->dead && to_engine
          && gbuf_append (to_engine, c->uout.d + c->uout.off, c->uout.len) < 0)
        ret = -1;
      if (!c->dead && to_client
          && gbuf_append (to_client, c->cout.d + c->cout.off, c->cout.len) < 0)
        ret = -1;
      gbuf_consume (&c->uout, c->uout.len);
      gbuf_consume (&c->cout, c->cout.len);
    }
  g->head_limit = 0;
  conn_close (c);
  while (g->graveyard)
    {
      struct conn *d = g->graveyard;
      g->graveyard = d->next;
      conn_free (d);
    }
  return ret;
}

int
engine_guard_feed (struct engine_guard *g, const char *client, size_t clen,
                   const char *engine, size_t elen, size_t step)
{
  return feed (g, client, clen, engine, elen, step, 0, NULL, NULL);
}

static char *
buf_take (struct gbuf *b, size_t *len)
{
  char *s = malloc (b->len + 1);
  if (s != NULL)
    {
      memcpy (s, b->d ? b->d + b->off : "", b->len);
      s[b->len] = '\0';
      *len = b->len;
    }
  gbuf_free (b);
  return s;
}

int
engine_guard_feed_ex (struct engine_guard *g, const char *client, size_t clen,
                      const char *engine, size_t elen, size_t step,
                      size_t head_limit, struct engine_guard_feed_out *out)
{
  struct gbuf te = { 0 }, tc = { 0 };
  int r = feed (g, client, clen, engine, elen, step, head_limit, &te, &tc);
  memset (out, 0, sizeof *out);
  out->to_engine = buf_take (&te, &out->to_engine_len);
  out->to_client = buf_take (&tc, &out->to_client_len);
  if (out->to_engine == NULL || out->to_client == NULL)
    r = -1;
  return r;
}
