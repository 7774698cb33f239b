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

/* Does the request carry a Content-Type the engine parses as form values
 * (Go's Request.ParseForm: application/x-www-form-urlencoded, parameters
 * and case aside)?  Any such header counts, whichever one Go would read. */
bool
guard_form_body_p (const struct engine_req *r)
{
  static const char form[] = "application/x-www-form-urlencoded";
  const size_t fl = sizeof form - 1;
  for (size_t i = 0; i < r->n_headers; i++)
    {
      const char *n = r->hbuf.d + r->hname_off[i];
      const char *v = r->hbuf.d + r->hval_off[i];
      size_t vl = r->hval_len[i];
      if (r->hname_len[i] != 12 || strncasecmp (n, "content-type", 12) != 0)
        continue;
      while (vl > 0 && (*v == ' ' || *v == '\t'))
        v++, vl--;
      if (vl >= fl && strncasecmp (v, form, fl) == 0
          && (vl == fl || v[fl] == ';' || v[fl] == ' ' || v[fl] == '\t'))
        return true;
    }
  return false;
}
