/* `moat down`, and the teardown `moat up` also uses to roll back a failed
 * start or to clean up after a crashed stack: stop exactly the processes a
 * record names, then take away what the engine left behind (its bridges,
 * iptables rules and, last, the interception rules). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "internal.h"
#include "net/nft.h"
#include "stack.h"

#define MOATD_STOP_MS 10000
/* dockerd gives containers 15 s (shutdown-timeout) before killing them. */
#define DOCKERD_STOP_MS 30000
#define CONTAINERD_STOP_MS 10000

/* A bridge moat's engine made: moat's own (`bname`), or one dockerd named
 * `br-<12 hex>` for a user-defined network.  A bridge named with the
 * com.docker.network.bridge.name option may be another program's. */
static bool
engine_bridge_p (const char *name, const char *bname)
{
  if (name == NULL)
    return false;
  if (bname != NULL && strcmp (name, bname) == 0)
    return true;
  if (strncmp (name, "br-", 3) != 0 || strlen (name) != 15)
    return false;
  return strspn (name + 3, "0123456789abcdef") == 12;
}

/* Does a process still run in the cgroup directory `dir` or below? */
static bool
cgroup_busy (const char *dir, int depth)
{
  char path[PATH_MAX];
  struct dirent *e;
  bool busy = false;
  DIR *d;
  FILE *f;

  snprintf (path, sizeof path, "%s/cgroup.procs", dir);
  f = fopen (path, "re");
  if (f != NULL)
    {
      busy = fgetc (f) != EOF;
      fclose (f);
      if (busy)
        return true;
    }
  if (depth > 6 || (d = opendir (dir)) == NULL)
    return false;
  while (!busy && (e = readdir (d)) != NULL)
    {
      if (e->d_type != DT_DIR || e->d_name[0] == '.')
        continue;
      if ((size_t)snprintf (path, sizeof path, "%s/%s", dir, e->d_name)
          < sizeof path)
        busy = cgroup_busy (path, depth + 1);
    }
  closedir (d);
  return busy;
}

/* Are containers of the engine still running although dockerd has exited
 * (a dockerd that was killed leaves its containers' shims behind)?  They
 * sit below the engine's cgroup parent (start_dockerd), cgroup v1 or v2. */
static bool
engine_containers_left (const char *netns, char *which, size_t len)
{
  static const char *const roots[]
      = { "/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup" };
  for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++)
    {
      snprintf (which, len, "%s/moat%s%s", roots[i], netns ? "-" : "",
                netns ? netns : "");
      if (access (which, F_OK) == 0 && cgroup_busy (which, 0))
        return true;
    }
  return false;
}

/* Stop everything a record names (moatd first, then dockerd, then a
 * containerd dockerd left behind), remove the bridge moat created and the
 * run-time files.  Data is kept.  Keeps going after a failure and reports
 * the first one; the record is removed unless a process refused to die. */
int
stack_teardown (const struct moat_paths *paths, json_t *record,
                bool restarting, moat_error_t *err)
{
  static const struct
  {
    const char *name;
    int stop_ms;
  } order[] = {
    { "moatd", MOATD_STOP_MS },
    { "dockerd", DOCKERD_STOP_MS },
    { "containerd", CONTAINERD_STOP_MS },
  };
  json_t *bridge = json_object_get (record, "bridge");
  const char *netns = stack_record_str (record, "netns");
  const char *bname = json_string_value (json_object_get (bridge, "name"));
  bool private
      = strcmp (stack_record_str (record, "engine") ?: "", "private") == 0;
  bool keep_record = false, engine_gone = true;
  json_t *nets = NULL;
  int ret = 0;

  /* The engine's bridges (user-defined networks too), asked while it still
   * answers: dockerd leaves them, and its iptables rules, behind when it
   * exits. */
  if (private)
    {
      cleanup_error moat_error_t e = NULL;
      struct stack_proc p;
      if (stack_record_get_proc (record, "dockerd", &p)
          && stack_proc_check (&p) == STACK_PROC_ALIVE
          && stack_engine_bridges (paths->engine_sock, 5000, &nets, &e) < 0)
        log_warn ("cannot list the engine's networks (their bridges may "
                  "stay behind): %s",
                  moat_error_msg (&e));
    }

  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    {
      cleanup_error moat_error_t e = NULL;
      struct stack_proc p;
      json_t *o = json_object_get (json_object_get (record, "processes"),
                                   order[i].name);
      const char *pidfile = json_string_value (json_object_get (o, "pidfile"));
      enum stack_proc_state s;

      if (!stack_record_get_proc (record, order[i].name, &p))
        continue;
      s = stack_proc_check (&p);
      if (s == STACK_PROC_ALIVE)
        log_info ("stopping %s (pid %d)", order[i].name, (int)p.pid);
      else if (strcmp (order[i].name, "containerd") != 0)
        log_warn ("%s (pid %d) is %s", order[i].name, (int)p.pid,
                  stack_proc_state_name (s));
      if (stack_proc_stop (order[i].name, &p, order[i].stop_ms, &e) < 0)
        {
          if (moat_error_status (&e) == ETIMEDOUT)
            {
              keep_record = true;
              /* still running: its containers may be too */
              if (strcmp (order[i].name, "moatd") != 0)
                engine_gone = false;
            }
          if (ret == 0)
            {
              *err = steal_pointer (&e);
              ret = -1;
            }
          continue;
        }
      /* The pid file is removed only when it still names the process we
       * recorded, which is gone now. */
      if (pidfile != NULL)
        {
          pid_t fpid;
          cleanup_error moat_error_t e2 = NULL;
          if (stack_pidfile_read (pidfile, &fpid, &e2) == 0 && fpid == p.pid)
            stack_unlink_quiet (pidfile);
        }
    }
  if (!engine_gone)
    {
      /* Containers may still run: the rules, bridges and record stay
       * (fail closed); `moat down` can be run again. */
      json_decref (nets);
      return ret;
    }
  if (private)
    {
      /* dockerd has exited but its containers may not have (a dockerd
       * that was killed leaves them running under their shims).  Then
       * nothing is taken away: without its bridge a container's veth would
       * route on its own, outside the interception rules. */
      char cg[PATH_MAX];
      if (engine_containers_left (netns, cg, sizeof cg))
        {
          json_decref (nets);
          if (ret == 0)
            ret = moat_error (err, 0,
                              "dockerd has exited but containers of its "
                              "engine still run (cgroup `%s`): the bridge "
                              "and the interception rules stay until they "
                              "have stopped; stop them, then run `moat "
                              "down` again",
                              cg);
          return ret;
        }
    }
  if (nets != NULL)
    {
      /* What dockerd made for its bridges: iptables rules naming them,
       * then the user-defined bridges themselves (only those with
       * dockerd's own `br-<id>` names: a bridge named by option may be
       * another program's). */
      json_t *ifaces = json_array (), *subnets = json_array (), *n;
      cleanup_error moat_error_t e = NULL;
      size_t i, k;
      json_array_foreach (nets, i, n)
      {
        if (!engine_bridge_p (json_string_value (json_object_get (n, "name")),
                              bname))
          continue;
        json_t *sn = json_object_get (n, "subnets");
        json_array_append (ifaces, json_object_get (n, "name"));
        for (k = 0; k < json_array_size (sn); k++)
          json_array_append (subnets, json_array_get (sn, k));
      }
      if (stack_iptables_forget (netns, ifaces, subnets, &e) < 0)
        log_warn ("some of the engine's iptables rules stay: %s",
                  moat_error_msg (&e));
      json_array_foreach (nets, i, n)
      {
        const char *name = json_string_value (json_object_get (n, "name"));
        cleanup_error moat_error_t e2 = NULL;
        if (!engine_bridge_p (name, NULL))
          continue;
        if (stack_bridge_delete (netns, name, &e2) < 0)
          log_warn ("%s", moat_error_msg (&e2));
      }
      json_decref (ifaces);
      json_decref (subnets);
      json_decref (nets);
    }
  if (json_is_true (json_object_get (bridge, "created")))
    {
      cleanup_error moat_error_t e = NULL;
      if (bname != NULL && stack_bridge_delete (netns, bname, &e) < 0
          && ret == 0)
        {
          *err = steal_pointer (&e);
          ret = -1;
        }
    }
  /* The interception rules go last, once no container can run.  `moat up`
   * cleaning up after a crash keeps them: it loads its own at once. */
  if (json_is_true (json_object_get (record, "intercept")) && bname != NULL
      && !restarting)
    {
      struct net_intercept ic;
      cleanup_error moat_error_t e = NULL;
      stack_intercept_for (bname, netns, &ic);
      if (net_nft_apply (&ic, NULL, &e) < 0 && ret == 0)
        {
          *err = steal_pointer (&e);
          ret = -1;
        }
    }
  if (keep_record)
    return ret;
  if (strcmp (stack_record_str (record, "engine") ?: "", "private") == 0
      && !stack_socket_in_use (paths->engine_sock))
    stack_unlink_quiet (paths->engine_sock);
  if (!stack_socket_in_use (paths->control_sock))
    stack_unlink_quiet (paths->control_sock);
  stack_unlink_quiet (paths->stack_json);
  return ret;
}

int
stack_down (const struct moat_paths *paths, bool *was_running,
            moat_error_t *err)
{
  cleanup_close int lockfd = -1;
  json_t *record = NULL;
  int r;

  *was_running = false;
  if (access (paths->run_dir, F_OK) == 0)
    {
      lockfd = stack_lock (paths, err);
      if (lockfd < 0)
        return -1;
    }
  r = stack_record_read (paths, &record, err);
  if (r < 0)
    return -1;
  if (r == 1)
    {
      /* Nothing recorded: only stale pid files can be cleaned; a live
       * process named by one is reported, never signalled. */
      if (stack_check_orphan_pidfile (paths->moatd_pid, err) < 0
          || stack_check_orphan_pidfile (paths->dockerd_pid, err) < 0)
        return -1;
      return 0;
    }
  *was_running = true;
  /* The interception rules stay until dockerd (and with it every
   * container) has exited: teardown removes them last. */
  r = stack_teardown (paths, record, false, err);
  json_decref (record);
  return r;
}
