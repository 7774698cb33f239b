/* The check workers of the engine guard (guard_int.h): collected bodies,
 * docker cp containers and filtered-socket peers are checked off the loop,
 * because a socket-mount decision may wait seconds for the engine and a
 * registry.  A job touches no connection state; the loop applies its
 * result (guard.c, finish_job). */
#include "engine/guard_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/refusal.h"
#include "engine/eci.h"
#include "engine/imgprov.h"
#include "engine/owner.h"
#include "engine/xuser.h"

static bool
body_blank_p (const struct io_buf *b)
{
  size_t n = b->len;
  const char *p = b->d ? b->d + b->off : "";
  while (n
         && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\r'
             || p[n - 1] == '\t'))
    n--;
  while (n && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++, n--;
  return n == 0 || (n == 2 && memcmp (p, "{}", 2) == 0)
         || (n == 4 && memcmp (p, "null", 4) == 0);
}

void
guard_job_free (struct check_job *j)
{
  if (j == NULL)
    return;
  free (j->body);
  free (j->out);
  free (j->name);
  if (j->pidfd >= 0)
    close (j->pidfd);
  eci_verdict_clear (&j->v);
  free (j);
}

/* A start or restart: the records of names bound just before are
 * written, then the container's image is re-checked; j->out becomes the
 * full id that was checked (the request is sent for it).  With j->out
 * set already (a restart's owner check), that container is the one
 * checked. */
static int
start_check (struct engine_guard *g, struct check_job *j)
{
  char *id = NULL;
  if (guard_prov_wait (g) < 0)
    {
      j->v.status = 502;
      j->v.rule = "eci.image-owner";
      j->v.message = strdup (REFUSAL_ERR_IMAGE_RECORDS);
      return -1;
    }
  if (engine_image_start_check (g->cfg.engine_get, g->cfg.engine_get_ctx,
                                guard_prov_namer, g, j->out ? j->out : j->name,
                                &id, &j->v)
      < 0)
    return -1;
  free (j->out);
  j->out = id;
  return 0;
}

/* The check itself (a worker, or the caller with sync_checks).  Touches
 * no connection state. */
void
guard_checks_run (struct engine_guard *g, struct check_job *j)
{
  const struct policy *pol;
  pthread_rwlock_rdlock (&g->pol_rw);
  pthread_mutex_lock (&g->mu);
  pol = g->pol;
  pthread_mutex_unlock (&g->mu);
  switch (j->op)
    {
    case ROUTE_OP_CONTAINER_CREATE:
      {
        cleanup_free char *checked = NULL;
        size_t checked_len = 0;
        const char *b = j->body;
        size_t bl = j->len;
        if (j->eci && j->caller_uid != 0
            && ((j->r = eci_check_ext_reserved (j->body, j->len, "container",
                                                false, &j->v))
                    < 0
                || (j->r = eci_check_ext_image (g->cfg.engine_get,
                                                g->cfg.engine_get_ctx, j->body,
                                                j->len, &j->v))
                       < 0))
          break;
        if (j->eci)
          {
            j->r = eci_check_container_create (&g->cfg.eci, pol, j->body,
                                               j->len, &checked, &checked_len,
                                               &j->v);
            if (j->r < 0)
              break;
            b = checked;
            bl = checked_len;
            /* joining or borrowing another user's container; an image
             * another user gave its name */
            /* the records of names bound just before */
            if (j->caller_uid != 0 && g->cfg.image_namer != NULL
                && guard_prov_wait (g) < 0)
              {
                j->v.status = 502;
                j->v.rule = "eci.image-owner";
                j->v.message = strdup (REFUSAL_ERR_IMAGE_RECORDS);
                j->r = -1;
                break;
              }
            if (j->caller_uid != 0
                && ((j->r = engine_create_refs_check (
                         g->cfg.engine_get, g->cfg.engine_get_ctx, b, bl,
                         j->caller_uid, &j->v))
                        < 0
                    || (j->r = engine_image_name_check (
                            g->cfg.engine_get, g->cfg.engine_get_ctx,
                            guard_prov_namer, g, b, bl, j->caller_uid, &j->v))
                           < 0
                    /* volumes (and networks) of other users */
                    || (j->r = engine_create_objects_check (
                            g->cfg.engine_get, g->cfg.engine_post,
                            g->cfg.engine_get_ctx, b, bl, j->caller_uid,
                            j->caller_gid, &j->v))
                           < 0))
              break;
          }
        j->r = eci_set_caller_labels (b, bl, j->caller_uid, j->caller_gid,
                                      j->eci ? g->cfg.eci.bind_standin : NULL,
                                      j->eci ? &j->v : NULL, &j->out,
                                      &j->out_len, &j->v);
      }
      break;
    case ROUTE_OP_ARCHIVE:
      if (j->caller_uid == 0)
        {
          j->r = engine_archive_check_root (
              g->cfg.engine_get, g->cfg.engine_get_ctx, j->name,
              g->cfg.eci.bind_standin, &j->out, &j->v);
          break;
        }
      /* another user's container first (its file system is theirs),
       * then its mounts; both must be the same container */
      {
        cleanup_free char *id = NULL;
        j->r = engine_owner_check (g->cfg.engine_get, g->cfg.engine_get_ctx,
                                   j->name, j->caller_uid, &id, &j->v);
        if (j->r == 0)
          j->r
              = engine_archive_check (g->cfg.engine_get, g->cfg.engine_get_ctx,
                                      j->name, &j->out, &j->v);
        if (j->r == 0 && strcmp (j->out, id) != 0)
          {
            j->v.status = 409;
            j->v.rule = "eci.owner";
            j->v.message = strdup (REFUSAL_ENGINE_REFUSED);
            j->r = -1;
          }
      }
      break;
    case ROUTE_OP_VOLUME_OWNER:
      j->r = engine_volume_owner_check (g->cfg.engine_get,
                                        g->cfg.engine_get_ctx, j->name,
                                        j->caller_uid, &j->v);
      break;
    case ROUTE_OP_NETWORK_OWNER:
      j->r = engine_network_owner_check (g->cfg.engine_get,
                                         g->cfg.engine_get_ctx, j->name,
                                         j->caller_uid, &j->v);
      break;
    case ROUTE_OP_COMMIT:
      j->r = engine_commit_owner_check (g->cfg.engine_get,
                                        g->cfg.engine_get_ctx, j->name,
                                        j->caller_uid, &j->v);
      break;
    case ROUTE_OP_NETWORK_MEMBER:
      /* the container, then the network (from the path) */
      j->r = engine_network_member_check (
          g->cfg.engine_get, g->cfg.engine_get_ctx, j->body, j->len,
          j->caller_uid, &j->out, &j->out_len, &j->v);
      if (j->r == 0 && j->name != NULL)
        j->r = engine_network_owner_check (g->cfg.engine_get,
                                           g->cfg.engine_get_ctx, j->name,
                                           j->caller_uid, &j->v);
      if (j->r == 0 && j->name != NULL)
        j->r = engine_network_endpoint_check (
            g->cfg.engine_get, g->cfg.engine_get_ctx, j->out, j->out_len,
            j->caller_uid, &j->v);
      break;
    case ROUTE_OP_OWNER:
      /* root's is here only for a restart's image check */
      if (j->caller_uid != 0)
        j->r = engine_owner_check (g->cfg.engine_get, g->cfg.engine_get_ctx,
                                   j->name, j->caller_uid, &j->out, &j->v);
      if (j->r == 0 && j->starts)
        j->r = start_check (g, j);
      break;
    case ROUTE_OP_EXEC_OWNER:
      j->r = engine_exec_owner_check (g->cfg.engine_get, g->cfg.engine_get_ctx,
                                      j->name, j->caller_uid, &j->out, &j->v);
      break;
    case JOB_PEER:
      if (g->cfg.peer_check == NULL)
        {
          j->caller_uid = j->cred.uid;
          j->caller_gid = j->cred.gid;
          j->r = 0;
          break;
        }
      {
        char *m = NULL;
        j->r
            = g->cfg.peer_check (g->cfg.peer_ctx, j->listener_id, &j->cred,
                                 j->pidfd, &j->caller_uid, &j->caller_gid, &m);
        if (j->r < 0)
          {
            j->v.status = 403;
            j->v.rule = "socket.peer";
            j->v.message = m ? m : strdup (REFUSAL_ENGINE_PEER);
          }
        else
          free (m);
      }
      break;
    case JOB_BUILD_BASES:
      guard_build_bases_run (g, j);
      break;
    case JOB_IMG_NOTE:
      guard_prov_run (g, j);
      break;
    case JOB_REGISTRY:
      guard_registry_run (g, j);
      break;
    case ROUTE_OP_VOLUME_CREATE:
      if (j->caller_uid != 0
          && (j->r = eci_check_ext_reserved (j->body, j->len, "volume", true,
                                             &j->v))
                 < 0)
        break;
      j->r = eci_check_volume_create (&g->cfg.eci, pol, j->body, j->len,
                                      &j->out, &j->out_len, &j->v);
      /* the caller's own, labelled as such (engine/xuser.h) */
      if (j->r == 0 && j->caller_uid != 0)
        {
          cleanup_free char *checked = j->out;
          j->out = NULL;
          j->r = engine_volume_create_owner (
              g->cfg.engine_get, g->cfg.engine_get_ctx, checked, j->out_len,
              j->caller_uid, j->caller_gid, &j->out, &j->out_len, &j->v);
        }
      break;
    case ROUTE_OP_NETWORK_CREATE:
      if (j->caller_uid != 0
          && (j->r = eci_check_ext_reserved (j->body, j->len, "network", true,
                                             &j->v))
                 < 0)
        break;
      j->r = eci_check_network_create (&g->cfg.eci, pol, j->body, j->len,
                                       &j->out, &j->out_len, &j->v);
      if (j->r == 0 && j->caller_uid != 0)
        {
          cleanup_free char *checked = j->out;
          j->out = NULL;
          j->r = engine_network_create_owner (checked, j->out_len,
                                              j->caller_uid, j->caller_gid,
                                              &j->out, &j->out_len, &j->v);
        }
      break;
    case ROUTE_OP_CONTAINER_START:
      if (j->starts) /* its head: the image; then any body (below) */
        {
          j->r = start_check (g, j);
          break;
        }
      {
        /* API < 1.24 took a HostConfig here, applied with no create
         * check */
        struct io_buf b = { .d = j->body, .len = j->len };
        if (!body_blank_p (&b))
          {
            j->v.status = 400;
            j->v.rule = "eci.start-hostconfig";
            j->v.message = strdup (REFUSAL_ENGINE_START_HOSTCONFIG);
            j->r = -1;
          }
      }
      break;
    default:
      break;
    }
  pthread_rwlock_unlock (&g->pol_rw);
}

static void *
check_worker (void *arg)
{
  struct engine_guard *g = arg;
  pthread_mutex_lock (&g->jmu);
  for (;;)
    {
      struct check_job *j;
      while (!g->jstop && g->jq == NULL)
        pthread_cond_wait (&g->jcv, &g->jmu);
      if (g->jstop)
        break;
      j = g->jq;
      g->jq = j->next;
      if (g->jq == NULL)
        g->jq_tail = NULL;
      /* a connection closed while queued needs no answer */
      bool live = j->c != NULL || j->detached;
      pthread_mutex_unlock (&g->jmu);
      if (live)
        guard_checks_run (g, j);
      pthread_mutex_lock (&g->jmu);
      j->next = g->jdone;
      g->jdone = j;
      io_loop_wake (g->loop);
    }
  pthread_mutex_unlock (&g->jmu);
  return NULL;
}

/* Workers are started by the loop's thread, so that they share its
 * network namespace (registry lookups reach what the engine reaches). */
void
guard_checks_start (struct engine_guard *g)
{
  while (g->n_workers < N_WORKERS)
    {
      if (pthread_create (&g->workers[g->n_workers], NULL, check_worker, g)
          != 0)
        break;
      g->n_workers++;
    }
  if (g->n_workers == 0)
    {
      log_warn ("engine guard: no check worker thread; checking on the "
                "loop");
      g->sync_checks = true;
    }
}

void
guard_checks_stop (struct engine_guard *g)
{
  pthread_mutex_lock (&g->jmu);
  g->jstop = true;
  pthread_cond_broadcast (&g->jcv);
  pthread_mutex_unlock (&g->jmu);
  for (int i = 0; i < g->n_workers; i++)
    pthread_join (g->workers[i], NULL);
  g->n_workers = 0;
}

void
guard_checks_enqueue (struct engine_guard *g, struct check_job *j)
{
  pthread_mutex_lock (&g->jmu);
  if (g->jq_tail)
    g->jq_tail->next = j;
  else
    g->jq = j;
  g->jq_tail = j;
  pthread_cond_signal (&g->jcv);
  pthread_mutex_unlock (&g->jmu);
}

struct check_job *
guard_checks_take_done (struct engine_guard *g)
{
  struct check_job *done, *rev = NULL;
  pthread_mutex_lock (&g->jmu);
  done = g->jdone;
  g->jdone = NULL;
  pthread_mutex_unlock (&g->jmu);
  while (done)
    {
      struct check_job *n = done->next;
      done->next = rev;
      rev = done;
      done = n;
    }
  return rev;
}

/* ---- the loop's side: park a connection, apply a finished check ---- */

static void guard_finish_job (struct conn *c, struct check_job *j);

/* A check finished: audit, then send the (rewritten) body or refuse. */
static void
guard_finish_collected (struct conn *c, struct check_job *j)
{
  struct eci_verdict *v = &j->v;
  char *nb = j->out;
  size_t nlen = j->out_len;

  if (j->r < 0)
    {
      const char *m = v->message ? v->message : REFUSAL_ENGINE_REFUSED;
      guard_audit (c, v->rule ? v->rule : "eci", "refused", m, v->image);
      guard_local_answer (c, v->status ? v->status : 403, m, false);
      guard_emit_local (c);
      return;
    }
  if (v->rewrite)
    guard_audit (c, "eci.runtime", "rewritten", v->rewrite, v->image);
  if (v->socket)
    {
      cleanup_free char *what = NULL;
      if (asprintf (&what, "engine socket bind -> filtered socket \"%s\"",
                    v->socket)
          >= 0)
        guard_audit (c, "eci.socket-mount", "rewritten", what, v->image);
    }
  if (v->pin)
    guard_audit (c, "eci.socket-mount", "rewritten", v->pin, v->image);
  if (j->op == ROUTE_OP_CONTAINER_CREATE)
    {
      char what[128];
      snprintf (what, sizeof what,
                "Labels " ECI_CALLER_UID_LABEL "=\"%lu\" " ECI_CALLER_GID_LABEL
                "=\"%lu\"",
                (unsigned long)j->caller_uid, (unsigned long)j->caller_gid);
      guard_audit (c, "caller", "rewritten", what, v->image);
    }
  if (nb == NULL)
    {
      nb = j->body;
      nlen = j->len;
    }
  /* head and body reach uout in one append: whole, or not at all */
  if (io_buf_printf (&c->head_out, "Content-Length: %zu\r\n\r\n", nlen) < 0
      || io_buf_append (&c->head_out, nb, nlen) < 0
      || io_buf_append (&c->uout, c->head_out.d + c->head_out.off,
                        c->head_out.len)
             < 0)
    {
      guard_refuse_unwritable (c);
      guard_emit_local (c);
      return;
    }
  if (guard_push_pending (c, false) < 0)
    {
      c->dead = true;
      return;
    }
  io_buf_free (&c->head_out);
  c->rs = c->local_close ? RS_CLOSED : RS_HEAD;
}

/* The collected body is complete: park the connection and hand the check
 * to a worker (its answer resumes the connection, resume_checked), or
 * answer 413 at once. */
void
guard_handle_collected (struct conn *c)
{
  struct check_job *j;

  if (c->body_too_big)
    {
      char msg[96];
      snprintf (msg, sizeof msg, REFUSAL_ENGINE_BODY_TOO_LARGE,
                ECI_MAX_JSON_BODY);
      guard_local_answer (c, 413, msg, false);
      guard_emit_local (c);
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
  /* a network connect's network (decide.c) */
  if (c->archive != NULL && (j->name = strdup (c->archive)) == NULL)
    {
      free (j->body);
      free (j);
      c->dead = true;
      return;
    }
  io_buf_free (&c->body);
  guard_submit_job (c, j);
}

/* Run j for c on a worker: c is parked until the answer is in (or, with
 * sync_checks, checked here and now). */
void
guard_submit_job (struct conn *c, struct check_job *j)
{
  struct engine_guard *g = c->g;
  j->g = g;
  j->c = c;
  if (g->sync_checks)
    {
      guard_checks_run (g, j);
      guard_finish_job (c, j);
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
void
guard_start_archive_check (struct conn *c)
{
  struct check_job *j = calloc (1, sizeof *j);
  if (j == NULL || (j->name = strdup (c->archive)) == NULL)
    {
      free (j);
      c->dead = true;
      return;
    }
  j->op = c->op;
  j->starts = c->starts;
  j->caller_uid = c->caller_uid;
  j->caller_gid = c->caller_gid;
  j->pidfd = -1;
  guard_submit_job (c, j);
}

static void
guard_finish_archive (struct conn *c, struct check_job *j)
{
  cleanup_free char *uri = NULL;
  if (j->r < 0)
    {
      const char *m = j->v.message ? j->v.message : REFUSAL_ENGINE_REFUSED;
      guard_audit (c,
                   j->v.rule                   ? j->v.rule
                   : j->op == ROUTE_OP_ARCHIVE ? "eci.archive"
                                               : "eci.owner",
                   "refused", m, NULL);
      guard_refuse (c, j->v.status ? j->v.status : 403, m, false);
      return;
    }
  /* commit: the head as it came (its container= was checked); a
   * volume's name is its id */
  if (j->op == ROUTE_OP_COMMIT || j->op == ROUTE_OP_VOLUME_OWNER
      || j->op == ROUTE_OP_NETWORK_OWNER)
    {
      guard_forward_head (c);
      return;
    }
  /* sent for the id that was checked, not the name; the route's own
   * suffix ("/archive", "/exec", "/attach", "/attach/ws") */
  size_t sl = engine_route_suffix_len (c->route);
  const char *suffix = c->route->pattern + strlen (c->route->pattern) - sl;
  if (asprintf (
          &uri, "%s%s/%s/%s%s%s%s", c->version[0] ? "/v" : "", c->version,
          j->op == ROUTE_OP_EXEC_OWNER ? "exec" : "containers", j->out, suffix,
          c->query && c->query[0] ? "?" : "", c->query ? c->query : "")
      < 0)
    {
      uri = NULL;
      c->dead = true;
      return;
    }
  io_buf_free (&c->head_out);
  c->head_out.limit = c->g->head_limit;
  if (engine_req_write_head (&c->req, &c->head_out, uri) < 0)
    {
      guard_refuse_unwritable (c);
      return;
    }
  /* a start's body (a pre-1.24 HostConfig) is checked next */
  if (j->op == ROUTE_OP_CONTAINER_START && engine_req_has_body (&c->req))
    {
      c->rs = RS_COLLECT;
      return;
    }
  guard_forward_head (c);
}

/* A filtered socket's peer was checked: serve it, or answer once and
 * close. */
static void
guard_finish_peer (struct conn *c, struct check_job *j)
{
  if (j->r < 0)
    {
      const char *m = j->v.message ? j->v.message : REFUSAL_ENGINE_REFUSED;
      guard_audit (c, "socket.peer", "refused", m, NULL);
      guard_local_answer (c, 403, m, true);
      guard_emit_local (c);
      return;
    }
  c->caller_uid = j->caller_uid;
  c->caller_gid = j->caller_gid;
  c->rs = RS_HEAD;
}

static void
guard_finish_job (struct conn *c, struct check_job *j)
{
  switch (j->op)
    {
    case JOB_PEER:
      guard_finish_peer (c, j);
      break;
    case JOB_BUILD_BASES:
      guard_build_bases_finish (c, j);
      break;
    case JOB_REGISTRY:
      guard_registry_finish (c, j);
      break;
    case ROUTE_OP_CONTAINER_START:
      if (j->starts)
        guard_finish_archive (c, j);
      else
        guard_finish_collected (c, j);
      break;
    case ROUTE_OP_ARCHIVE:
    case ROUTE_OP_OWNER:
    case ROUTE_OP_EXEC_OWNER:
    case ROUTE_OP_COMMIT:
    case ROUTE_OP_VOLUME_OWNER:
    case ROUTE_OP_NETWORK_OWNER:
      guard_finish_archive (c, j);
      break;
    default:
      guard_finish_collected (c, j);
      break;
    }
}

/* A new connection on a filtered socket: nothing is read from it until
 * its peer is known to be the socket's container. */
void
guard_start_peer_check (struct conn *c, int listener_id)
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
  if (getsockopt (c->hc.fd, SOL_SOCKET, SO_PEERPIDFD, &j->pidfd, &sl) < 0)
    j->pidfd = -1;
  guard_submit_job (c, j);
}

/* The loop's side of finished checks. */
void
guard_resume_checked (struct engine_guard *g)
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
          guard_finish_job (c, j);
          c->kick = true; /* pipelined requests may wait in cin */
          guard_conn_update (c);
        }
      guard_job_free (j);
    }
}
