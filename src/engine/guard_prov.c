/* The guard's side of image name provenance (engine/imgprov.h): a
 * forwarded request that binds image names is marked on its pending
 * answer, and a non-root caller's names entered as in flight
 * (engine/imgpend.h) before its first byte goes to the engine; a load's or
 * pull's answer body is kept (bounded); a 2xx answer hands the names to a
 * check worker, which resolves and records them with no connection attached
 * (the client has its answer already). */
#include "engine/guard_int.h"

#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "engine/imgprov.h"

void
guard_prov_clear (struct pending *pe)
{
  free (pe->prov_names);
  pe->prov_names = NULL;
  io_buf_free (&pe->prov_body);
  io_buf_free (&pe->prov_keep);
  pe->prov = IMGPROV_NONE;
  pe->status = 0;
  /* its names in flight stay: the engine may still bind them */
  pe->prov_token = 0;
}

/* 0, or -1 when its names cannot be entered as in flight (out of memory,
 * too many in flight): it is not sent.  Called with the head queued but
 * not yet written to the engine. */
int
guard_prov_mark (struct conn *c, struct pending *pe)
{
  cleanup_free char *raw = NULL;
  struct engine_uri u;
  const char *m = llhttp_method_name ((llhttp_method_t)c->req.method);
  /* only image, build and commit POSTs bind names: nothing else parsed */
  if (c->req.method != HTTP_POST || c->route == NULL
      || (strcmp (c->route->group, "image") != 0
          && strcmp (c->route->group, "build") != 0
          && strcmp (c->route->pattern, "/commit") != 0))
    return 0;
  raw = engine_req_url (&c->req);
  if (raw == NULL || engine_uri_parse (raw, strlen (raw), &u) < 0)
    return 0;
  pe->prov = (int)engine_image_prov_of (m, u.path, u.query, c->caller_uid,
                                        &pe->prov_names);
  engine_uri_free (&u);
  if (pe->prov == IMGPROV_NAMES && c->caller_uid != 0
      && engine_image_pending_add (&c->g->inflight, pe->prov_names,
                                   c->caller_uid, &pe->prov_token)
             < 0)
    {
      log_warn ("engine guard: cannot note image names in flight: the "
                "request is not sent");
      return -1;
    }
  return 0;
}

/* engine_image_namer_fn of the checks: a binding in flight by another
 * non-root user blames (2), then the records */
int
guard_prov_namer (void *ctx, const char *name, const char *id, uid_t caller,
                  uid_t *other)
{
  struct engine_guard *g = ctx;
  if (g->cfg.image_namer == NULL)
    return 0;
  if (engine_image_pending_find (&g->inflight, name, caller, other) > 0)
    return 2;
  return g->cfg.image_namer (g->cfg.image_ctx, name, id, caller, other);
}

void
guard_prov_body (struct conn *c, const char *at, size_t len)
{
  struct pending *pe = &c->pend[c->pend_head];
  if (engine_image_prov_scan ((enum engine_image_prov)pe->prov, &pe->prov_body,
                              &pe->prov_keep, at, len)
      < 0)
    {
      /* out of memory: nothing is recorded for it */
      log_warn ("engine guard: out of memory reading an image answer");
      guard_prov_clear (pe);
    }
}

void
guard_prov_done (struct conn *c, struct pending *pe)
{
  struct engine_guard *g = c->g;
  struct check_job *j;
  if (pe->status < 200 || pe->status >= 300)
    {
      /* refused before any binding: nothing is in flight */
      engine_image_pending_drop (&g->inflight, pe->prov_token);
      guard_prov_clear (pe);
      return;
    }
  if ((j = calloc (1, sizeof *j)) == NULL)
    {
      /* bound, and no record can be made: it stays in flight */
      guard_prov_clear (pe);
      return;
    }
  j->g = g;
  j->op = JOB_IMG_NOTE;
  j->detached = true;
  j->pidfd = -1;
  j->prov = pe->prov;
  j->caller_uid = c->caller_uid;
  j->name = pe->prov_names;
  pe->prov_names = NULL;
  j->prov_token = pe->prov_token;
  /* the lines of its answer the record needs (engine_image_prov_scan) */
  if (pe->prov_keep.len > 0
      && (j->body = malloc (pe->prov_keep.len + 1)) != NULL)
    {
      memcpy (j->body, io_buf_data (&pe->prov_keep), pe->prov_keep.len);
      j->body[pe->prov_keep.len] = '\0';
      j->len = pe->prov_keep.len;
    }
  guard_prov_clear (pe);
  if (g->sync_checks)
    {
      guard_prov_run (g, j);
      guard_job_free (j);
      return;
    }
  /* counted before the answer's end reaches the client: a create it
   * sends next waits for the record */
  pthread_mutex_lock (&g->jmu);
  g->prov_inflight++;
  pthread_mutex_unlock (&g->jmu);
  j->prov_counted = true;
  guard_checks_enqueue (g, j);
}

/* Wait (at most 5 s) until the records of answers already given are
 * written; a record still queued is run here, so that workers waiting
 * here cannot starve it.  0, or -1 when they could not be written in
 * time.  A check worker. */
int
guard_prov_wait (struct engine_guard *g)
{
  struct timespec until;
  int r = 0;
  clock_gettime (CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  pthread_mutex_lock (&g->jmu);
  while (g->prov_inflight > 0 && !g->jstop)
    {
      struct check_job **pp = &g->jq, *q = NULL;
      for (; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->op == JOB_IMG_NOTE)
          {
            q = *pp;
            *pp = q->next;
            if (g->jq_tail == q)
              {
                g->jq_tail = NULL;
                for (struct check_job *t = g->jq; t != NULL; t = t->next)
                  g->jq_tail = t;
              }
            break;
          }
      if (q != NULL)
        {
          pthread_mutex_unlock (&g->jmu);
          guard_prov_run (g, q);
          pthread_mutex_lock (&g->jmu);
          q->next = g->jdone;
          g->jdone = q;
          io_loop_wake (g->loop);
          continue;
        }
      if (pthread_cond_timedwait (&g->prov_cv, &g->jmu, &until) != 0)
        {
          r = g->prov_inflight > 0 ? -1 : 0;
          break;
        }
    }
  pthread_mutex_unlock (&g->jmu);
  return r;
}

void
guard_prov_run (struct engine_guard *g, struct check_job *j)
{
  /* recorded (a name gone since binds nothing): no longer in flight; a
   * name that could not be recorded stays in flight */
  if (engine_image_prov_record (g->cfg.engine_get, g->cfg.engine_get_ctx,
                                g->cfg.image_note, g->cfg.image_ctx,
                                (enum engine_image_prov)j->prov, j->name,
                                j->body, j->len, j->caller_uid)
      == 0)
    engine_image_pending_drop (&g->inflight, j->prov_token);
  j->prov_token = 0;
  if (j->prov_counted)
    {
      pthread_mutex_lock (&g->jmu);
      g->prov_inflight--;
      pthread_cond_broadcast (&g->prov_cv);
      pthread_mutex_unlock (&g->jmu);
      j->prov_counted = false;
    }
}
