/* `moat status`: what stack.json says was started, whether each process is
 * still the one recorded, whether the engine and moatd answer, and
 * whatever moatd reports about itself and the policy (passed through
 * unchanged, so that it keeps working as moatd grows). */
#include "stack.h"

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"

static json_t *
engine_status (const char *sock, const char *mode, bool *ok)
{
  cleanup_error moat_error_t err = NULL;
  json_t *o = json_pack ("{s:s, s:s, s:b}", "mode", mode, "socket", sock,
                         "reachable", false);
  json_t *v = NULL;

  *ok = false;
  if (o == NULL)
    return NULL;
  if (stack_engine_ping (sock, 3000, &err) < 0
      || stack_engine_version (sock, 3000, &v, &err) < 0)
    {
      json_object_set_new (o, "error", json_string (moat_error_msg (&err)));
      return o;
    }
  *ok = true;
  json_object_set_new (o, "reachable", json_true ());
  json_object_set (o, "version", json_object_get (v, "Version"));
  json_object_set (o, "api_version", json_object_get (v, "ApiVersion"));
  json_decref (v);
  return o;
}

json_t *
stack_status (const struct moat_paths *paths, bool *healthy)
{
  cleanup_error moat_error_t err = NULL;
  json_t *out = json_object ();
  json_t *record = NULL, *procs, *rprocs, *moatd, *resp = NULL;
  const char *key;
  json_t *val;
  bool ok = true, eng_ok;
  const char *engine_sock, *mode;
  int r;

  *healthy = false;
  if (out == NULL)
    return NULL;
  r = stack_record_read (paths, &record, &err);
  if (r != 0)
    {
      json_object_set_new (out, "running", json_false ());
      json_object_set_new (
          out, "error",
          json_string (r == 1 ? "moat is not running (no `moat up` record)"
                              : moat_error_msg (&err)));
      ok = false;
      record = json_pack ("{s:{}}", "processes");
    }
  else
    json_object_set_new (out, "running", json_true ());

  procs = json_object ();
  rprocs = json_object_get (record, "processes");
  for (void *it = json_object_iter (rprocs); it != NULL;
       it = json_object_iter_next (rprocs, it))
    if ((key = json_object_iter_key (it)) != NULL
        && (val = json_object_iter_value (it)) != NULL)
      {
        struct stack_proc p;
        enum stack_proc_state s;
        if (!stack_record_get_proc (record, key, &p))
          continue;
        s = stack_proc_check (&p);
        json_object_set_new (procs, key,
                             json_pack ("{s:i, s:b, s:s}", "pid", (int)p.pid,
                                        "running", s == STACK_PROC_ALIVE,
                                        "state", stack_proc_state_name (s)));
        /* dockerd restarts a containerd that dies, under a new pid: only the
         * two processes moat started itself decide health. */
        if (s != STACK_PROC_ALIVE && strcmp (key, "containerd") != 0)
          ok = false;
      }
  json_object_set_new (out, "processes", procs);
  if (json_object_get (record, "docker_host") != NULL)
    json_object_set (out, "docker_host",
                     json_object_get (record, "docker_host"));
  if (json_object_get (record, "bridge") != NULL)
    json_object_set (out, "bridge", json_object_get (record, "bridge"));
  if (json_object_get (record, "started") != NULL)
    json_object_set (out, "started", json_object_get (record, "started"));

  engine_sock = json_string_value (json_object_get (record, "engine_sock"));
  mode = json_string_value (json_object_get (record, "engine"));
  /* The private engine's containers are mounted below the run directory
   * (moat-runc): when others cannot reach it, no container starts. */
  if (r == 0 && strcmp (mode ?: "private", "private") == 0)
    {
      moat_error_release (&err);
      if (stack_root_check (paths, false, &err) < 0)
        {
          json_object_set_new (out, "root",
                               json_pack ("{s:b, s:s}", "searchable", false,
                                          "error", moat_error_msg (&err)));
          ok = false;
        }
      else
        json_object_set_new (out, "root",
                             json_pack ("{s:b}", "searchable", true));
      /* Other roots on this host whose id pools overlap this one's: the
       * host-wide claims keep ranges apart; a range two roots hold at
       * once (made before the claims existed) is not healthy. */
      moat_error_release (&err);
      json_t *pool = stack_pool_report (paths, &err);
      if (pool == NULL)
        json_object_set_new (
            out, "pool_peers",
            json_pack ("{s:s}", "error", moat_error_msg (&err)));
      else
        {
          if (stack_pool_conflicts (pool, NULL) > 0)
            ok = false;
          json_object_set (out, "pool_peers", json_object_get (pool, "peers"));
          json_decref (pool);
        }
    }
  json_object_set_new (out, "engine",
                       engine_status (engine_sock ?: paths->engine_sock,
                                      mode ?: "private", &eng_ok));
  ok = ok && eng_ok;

  moatd = json_pack ("{s:s, s:b}", "socket", paths->control_sock, "reachable",
                     false);
  moat_error_release (&err);
  if (stack_ctl_quick (paths, "ping", 5000, &resp, &err) < 0)
    {
      json_object_set_new (moatd, "error",
                           json_string (moat_error_msg (&err)));
      ok = false;
    }
  else
    {
      json_object_set_new (moatd, "reachable", json_true ());
      json_decref (resp);
      resp = NULL;
      if (stack_ctl_quick (paths, "status", 5000, &resp, &err) < 0)
        json_object_set_new (moatd, "status_error",
                             json_string (moat_error_msg (&err)));
      else
        {
          /* moatd's own keys: "moatd" merges into ours, everything else
           * ("policy", "errors", what comes later) is passed through. */
          for (void *it = json_object_iter (resp); it != NULL;
               it = json_object_iter_next (resp, it))
            if ((key = json_object_iter_key (it)) != NULL
                && (val = json_object_iter_value (it)) != NULL)
              {
                if (strcmp (key, "ok") == 0)
                  continue;
                if (strcmp (key, "moatd") == 0 && json_is_object (val))
                  json_object_update_missing (moatd, val);
                else if (json_object_get (out, key) == NULL)
                  json_object_set (out, key, val);
              }
          json_decref (resp);
        }
    }
  json_object_set_new (out, "moatd", moatd);
  json_object_set_new (out, "healthy", json_boolean (ok));
  json_decref (record);
  *healthy = ok;
  return out;
}
