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

static bool
body_blank_p (const struct gbuf *b)
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
        if (j->eci)
          {
            j->r = eci_check_container_create (&g->cfg.eci, pol, j->body,
                                               j->len, &checked, &checked_len,
                                               &j->v);
            if (j->r < 0)
              break;
            b = checked;
            bl = checked_len;
          }
        j->r = eci_set_caller_labels (b, bl, j->caller_uid, j->caller_gid,
                                      j->eci ? &j->v : NULL, &j->out,
                                      &j->out_len, &j->v);
      }
      break;
    case ROUTE_OP_ARCHIVE:
      j->r = engine_archive_check (g->cfg.engine_get, g->cfg.engine_get_ctx,
                                   j->name, &j->out, &j->v);
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
    case ROUTE_OP_VOLUME_CREATE:
      j->r = eci_check_volume_create (&g->cfg.eci, pol, j->body, j->len,
                                      &j->out, &j->out_len, &j->v);
      break;
    case ROUTE_OP_NETWORK_CREATE:
      j->r = eci_check_network_create (&g->cfg.eci, pol, j->body, j->len,
                                       &j->out, &j->out_len, &j->v);
      break;
    case ROUTE_OP_CONTAINER_START:
      {
        /* API < 1.24 took a HostConfig here, applied with no create
         * check */
        struct gbuf b = { .d = j->body, .len = j->len };
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
  uint64_t one = 1;
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
      bool live = j->c != NULL;
      pthread_mutex_unlock (&g->jmu);
      if (live)
        guard_checks_run (g, j);
      pthread_mutex_lock (&g->jmu);
      j->next = g->jdone;
      g->jdone = j;
      if (write (g->jfd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn ("engine guard: wake the loop: %s", strerror (errno));
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

/* A check finished: audit, then send the (rewritten) body or refuse. */
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
