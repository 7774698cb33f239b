/* A container's filtered socket asks the engine to reach a registry (a
 * pull, push, search, login or distribution lookup): the engine would
 * connect from the host's side, around the container's egress policy, so
 * moatd decides that registry as it decides the container's own
 * connections (engine_registry_fn) before the head goes to the engine.
 * The hook may evaluate a PAC: it runs on a check worker, the connection
 * parked meanwhile. */
#include "engine/guard_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/refusal.h"

void
guard_start_registry_check (struct conn *c)
{
  struct check_job *j = calloc (1, sizeof *j);
  if (j == NULL || (j->name = strdup (c->registry)) == NULL)
    {
      free (j);
      c->dead = true;
      return;
    }
  j->op = JOB_REGISTRY;
  j->port = c->registry_port;
  j->listener_id = c->listener_id;
  j->caller_uid = c->caller_uid;
  j->caller_gid = c->caller_gid;
  j->pidfd = -1;
  guard_submit_job (c, j);
}

void
guard_registry_run (struct engine_guard *g, struct check_job *j)
{
  char *m = NULL;
  j->r = g->cfg.registry_check (g->cfg.registry_ctx, j->listener_id, j->name,
                                j->port, &m);
  if (j->r < 0)
    {
      j->v.status = 403;
      j->v.rule = "airgap.registry";
      j->v.message = m ? m : strdup (REFUSAL_ENGINE_REFUSED);
    }
  else
    free (m);
}

void
guard_registry_finish (struct conn *c, struct check_job *j)
{
  if (j->r < 0)
    {
      const char *m = j->v.message ? j->v.message : REFUSAL_ENGINE_REFUSED;
      guard_audit (c, "airgap.registry", "refused", m, NULL);
      guard_refuse (c, 403, m, false);
      return;
    }
  guard_forward_head (c);
}
