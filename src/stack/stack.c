/* `moat up`: start the private engine and moatd, record them (and roll
 * back what was started when a step fails); foreground supervision.
 * Stopping (`moat down`, rollback) is teardown.c. */
#include "stack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "ctl/ctl.h"
#include "internal.h"
#include "net/nft.h"

/* moatd's default --net-port: where the rules moat up loads before moatd
 * runs redirect to (nothing listens yet: refused). */
#define STACK_NET_PORT 15001
/* A moatd that dies is restarted alone at most this often. */
#define MOATD_RESTARTS 5
#define MOATD_RESTART_WINDOW_MS (10 * 60 * 1000)

static const char *const user_bridges[] = { "br-*" };

/* The interception rules of the private engine on `bridge`: the same
 * interfaces moatd intercepts (src/daemon/net_role.c). */
void
stack_intercept_for (const char *bridge, const char *netns,
                     struct net_intercept *ic)
{
  memset (ic, 0, sizeof *ic);
  ic->iface = bridge;
  ic->ifaces = user_bridges;
  ic->n_ifaces = 1;
  ic->listen_port = STACK_NET_PORT;
  ic->netns = netns;
}

void
stack_up_opts_init (struct stack_up_opts *o)
{
  memset (o, 0, sizeof *o);
  o->bridge = "moat0";
  o->bridge_cidr = "10.213.0.1/24";
  o->pool = "10.214.0.0/16";
  o->pool_size = 24;
  o->dockerd_path = "/usr/sbin/dockerd";
  o->timeout_s = 60;
  o->dashboard_port = 7979;
}

char *
stack_find_helper (const char *name)
{
  return fs_find_helper (name, NULL);
}

static void
sleep_ms (int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static bool
aborted_p (const struct stack_up_opts *o)
{
  sigset_t pending;
  if (o->abort_on == NULL || sigpending (&pending) < 0)
    return false;
  for (int s = 1; s < NSIG; s++)
    if (sigismember (o->abort_on, s) == 1 && sigismember (&pending, s) == 1)
      return true;
  return false;
}

static off_t
file_size (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 ? st.st_size : 0;
}

void
stack_unlink_quiet (const char *path)
{
  if (unlink (path) < 0 && errno != ENOENT)
    log_warn ("cannot remove `%s`: %s", path, strerror (errno));
}

/* A pid file moat finds without a record of its process: removed when its
 * process is gone, refused (never signalled) when one is alive. */
int
stack_check_orphan_pidfile (const char *path, moat_error_t *err)
{
  pid_t pid;
  enum stack_proc_state s = stack_pidfile_check (path, &pid);

  if (pid == 0)
    {
      if (access (path, F_OK) == 0)
        {
          log_warn ("removing malformed pid file `%s`", path);
          stack_unlink_quiet (path);
        }
      return 0;
    }
  if (s == STACK_PROC_ALIVE)
    return moat_error (err, 0,
                       "pid file `%s` names running process %d, which moat "
                       "has no record of starting; stop that process or "
                       "remove the file",
                       path, (int)pid);
  log_warn ("removing stale pid file `%s` (pid %d is not running)", path,
            (int)pid);
  stack_unlink_quiet (path);
  return 0;
}

const char *
stack_record_str (json_t *record, const char *key)
{
  return json_string_value (json_object_get (record, key));
}

static char *
containerd_pidfile (const struct moat_paths *paths)
{
  char *s = NULL;
  if (asprintf (&s, "%s/containerd/containerd.pid", paths->engine_exec) < 0)
    return NULL;
  return s;
}

static void
append_proc_desc (char **buf, json_t *record, const char *name, bool alive)
{
  struct stack_proc p;
  char *nb = NULL;

  if (!stack_record_get_proc (record, name, &p))
    return;
  if (alive && stack_proc_check (&p) != STACK_PROC_ALIVE)
    return;
  if (asprintf (&nb, "%s%s%s pid %d%s", *buf ?: "", *buf ? ", " : "", name,
                (int)p.pid,
                alive ? ""
                      : (stack_proc_check (&p) == STACK_PROC_ALIVE
                             ? " running"
                             : " not running"))
      < 0)
    return;
  free (*buf);
  *buf = nb;
}

/* Is this a stack whose moatd died while everything else still runs? */
static bool
moatd_only_dead_p (json_t *record)
{
  struct stack_proc p;
  const char *state = stack_record_str (record, "state") ?: "";
  if (strcmp (state, "running") != 0 && strcmp (state, "repairing") != 0)
    return false;
  if (!stack_record_get_proc (record, "moatd", &p)
      || stack_proc_check (&p) == STACK_PROC_ALIVE)
    return false;
  if (stack_record_get_proc (record, "dockerd", &p))
    return stack_proc_check (&p) == STACK_PROC_ALIVE;
  /* An external engine: nothing of moat's runs but moatd. */
  return strcmp (stack_record_str (record, "engine") ?: "", "external") == 0;
}

/* Refuse to start over a running stack; clean up after a crashed one.
 * Returns 1 with *out the record when only moatd died (repair it), 0 when
 * a new stack may start. */
static int
check_previous (const struct moat_paths *paths, json_t **out,
                moat_error_t *err)
{
  json_t *record = NULL;
  int r = stack_record_read (paths, &record, err);

  if (r < 0)
    {
      /* An unreadable record cannot name processes to stop: keep it for
       * the administrator rather than guess. */
      return moat_error_wrap (err, "previous stack record (remove it if no "
                                   "moat processes are running)");
    }
  if (r == 0 && moatd_only_dead_p (record))
    {
      struct stack_proc p;
      stack_record_get_proc (record, "moatd", &p);
      log_warn ("moatd (pid %d) is not running but the engine is; "
                "restarting moatd alone",
                (int)p.pid);
      *out = record;
      return 1;
    }
  if (r == 0)
    {
      cleanup_free char *alive = NULL;
      cleanup_free char *all = NULL;
      append_proc_desc (&alive, record, "moatd", true);
      append_proc_desc (&alive, record, "dockerd", true);
      if (alive != NULL)
        {
          json_decref (record);
          return moat_error (err, 0,
                             "moat is already running (%s); run `moat "
                             "down` first",
                             alive);
        }
      append_proc_desc (&all, record, "moatd", false);
      append_proc_desc (&all, record, "dockerd", false);
      log_warn ("a previous `moat up` did not stop cleanly (%s); cleaning "
                "up its state",
                all ?: "no processes recorded");
      r = stack_teardown (paths, record, true, err);
      json_decref (record);
      if (r < 0)
        return moat_error_wrap (err, "clean up the previous stack");
    }
  if (stack_check_orphan_pidfile (paths->moatd_pid, err) < 0
      || stack_check_orphan_pidfile (paths->dockerd_pid, err) < 0)
    return -1;
  return 0;
}

/* Serialise `moat up` and `moat down`: two at once would both believe
 * they own the stack.  Returns the locked descriptor (CLOEXEC, so no child
 * inherits the lock), or -1. */
int
stack_lock (const struct moat_paths *paths, moat_error_t *err)
{
  cleanup_free char *path = NULL;
  cleanup_close int fd = -1;

  if (asprintf (&path, "%s/stack.lock", paths->run_dir) < 0)
    return moat_error (err, ENOMEM, "lock");
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return moat_error (err, errno, "open `%s`", path);
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      if (errno != EWOULDBLOCK)
        return moat_error (err, errno, "lock `%s`", path);
      log_info ("waiting for another `moat up` or `moat down` to finish");
      while (flock (fd, LOCK_EX) < 0)
        if (errno != EINTR)
          return moat_error (err, errno, "lock `%s`", path);
    }
  return steal_fd (&fd);
}

static int
make_dirs (const struct moat_paths *paths, moat_error_t *err)
{
  const struct
  {
    const char *path;
    mode_t mode;
  } dirs[] = {
    { paths->run_dir, 0755 },     { paths->log_dir, 0750 },
    { paths->state_dir, 0755 },   { paths->engine_data, 0710 },
    { paths->engine_exec, 0700 },
  };
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    if (fs_mkdir_p (dirs[i].path, dirs[i].mode, err) < 0)
      return -1;
  return 0;
}

static char *
log_path (const struct moat_paths *paths, const char *name)
{
  char *s = NULL;
  if (asprintf (&s, "%s/%s.log", paths->log_dir, name) < 0)
    return NULL;
  return s;
}

/* The error of a component that failed to start, with its log's tail. */
static int
startup_error (moat_error_t *err, const char *name, const char *log,
               off_t from, const char *why)
{
  cleanup_free char *tail = stack_log_tail (log, from, 15);
  if (tail == NULL)
    return moat_error (err, 0, "%s %s (nothing new in its log `%s`)", name,
                       why, log);
  return moat_error (err, 0, "%s %s; last lines of `%s`:\n%s", name, why, log,
                     tail);
}

/* A spawn that failed (exec error, or exited at once): say so with the
 * log's tail. */
static int
spawn_error (int ret, moat_error_t *err, const char *name, const char *log,
             off_t from)
{
  cleanup_free char *why = NULL;
  if (asprintf (&why, ret == -2 ? "%s" : "did not start (%s)",
                moat_error_msg (err))
      < 0)
    return moat_error_wrap (err, "start %s", name);
  moat_error_release (err);
  return startup_error (err, name, log, from, why);
}

static int
wait_engine (const struct stack_up_opts *o, const char *sock,
             const struct stack_proc *dockerd, const char *log, off_t from,
             moat_error_t *err)
{
  long long deadline = moat_mono_ms () + (long long)o->timeout_s * 1000;
  char why[64];

  for (;;)
    {
      cleanup_error moat_error_t e = NULL;
      int st = 0;

      if (stack_proc_exited (dockerd, &st)
          || stack_proc_check (dockerd) != STACK_PROC_ALIVE)
        {
          snprintf (why, sizeof why, "exited during startup (%s %d)",
                    WIFEXITED (st) ? "status" : "signal",
                    WIFEXITED (st) ? WEXITSTATUS (st) : WTERMSIG (st));
          return startup_error (err, "dockerd", log, from, why);
        }
      if (access (sock, F_OK) == 0 && stack_engine_ping (sock, 2000, &e) == 0)
        return 0;
      if (aborted_p (o))
        return moat_error (err, EINTR, "interrupted while dockerd started");
      if (moat_mono_ms () > deadline)
        {
          snprintf (why, sizeof why,
                    "did not answer on its socket within %d s", o->timeout_s);
          return startup_error (err, "dockerd", log, from, why);
        }
      sleep_ms (100);
    }
}

int
stack_ctl_quick (const struct moat_paths *paths, const char *cmd,
                 int timeout_ms, json_t **resp, moat_error_t *err)
{
  json_t *req = json_pack ("{s:s}", "cmd", cmd);
  int ret;

  if (req == NULL)
    return moat_error (err, ENOMEM, "request");
  ret = ctl_call_timeout (paths, req, timeout_ms, resp, err);
  json_decref (req);
  /* A refusal says whose it is; the other errors name the socket. */
  if (ret < 0 && moat_error_status (err) == 0)
    return moat_error_wrap (err, "moatd");
  return ret;
}

static int
wait_moatd (const struct moat_paths *paths, const struct stack_up_opts *o,
            const struct stack_proc *moatd, const char *log, off_t from,
            moat_error_t *err)
{
  long long deadline = moat_mono_ms () + (long long)o->timeout_s * 1000;
  char why[64];

  for (;;)
    {
      cleanup_error moat_error_t e = NULL;
      json_t *resp = NULL;
      int st = 0;

      if (stack_proc_exited (moatd, &st)
          || stack_proc_check (moatd) != STACK_PROC_ALIVE)
        {
          snprintf (why, sizeof why, "exited during startup (%s %d)",
                    WIFEXITED (st) ? "status" : "signal",
                    WIFEXITED (st) ? WEXITSTATUS (st) : WTERMSIG (st));
          return startup_error (err, "moatd", log, from, why);
        }
      if (stack_ctl_quick (paths, "ping", 2000, &resp, &e) == 0)
        {
          json_decref (resp);
          return 0;
        }
      if (aborted_p (o))
        return moat_error (err, EINTR, "interrupted while moatd started");
      if (moat_mono_ms () > deadline)
        {
          snprintf (why, sizeof why, "did not answer ping within %d s",
                    o->timeout_s);
          return startup_error (err, "moatd", log, from, why);
        }
      sleep_ms (100);
    }
}

static int
write_moatd_pidfile (const struct moat_paths *paths, pid_t pid,
                     moat_error_t *err)
{
  char buf[32];
  int n = snprintf (buf, sizeof buf, "%d\n", (int)pid);
  return fs_write_file_atomic (paths->moatd_pid, buf, (size_t)n, 0644, err);
}

/* `--runtime=runc` names dockerd's builtin runc, which runtimeArgs do not
 * reach: dockerd (and the containerd it starts) find `runc` through PATH,
 * so a directory of moat's own with `runc -> moat-runc` goes first in the
 * PATH dockerd inherits.  moat-runc itself delegates to runc by absolute
 * path and reads MOAT_ROOT from the environment in that case.  *saved is
 * the PATH to restore after the spawn. */
static int
runtime_shadow_runc (const struct moat_paths *paths, const char *runtime,
                     char **saved, moat_error_t *err)
{
  cleanup_free char *dir = NULL, *link = NULL, *path = NULL;
  const char *old = getenv ("PATH");

  if (asprintf (&dir, "%s/bin", paths->run_dir) < 0
      || asprintf (&link, "%s/runc", dir) < 0)
    return moat_error (err, ENOMEM, "runtime path");
  if (fs_mkdir_p (dir, 0755, err) < 0)
    return -1;
  if (unlink (link) < 0 && errno != ENOENT)
    return moat_error (err, errno, "remove `%s`", link);
  if (symlink (runtime, link) < 0)
    return moat_error (err, errno, "link `%s` to `%s`", link, runtime);
  if (asprintf (&path, "%s:%s", dir,
                old != NULL ? old
                            : "/usr/local/sbin:/usr/local/bin:"
                              "/usr/sbin:/usr/bin:/sbin:/bin")
      < 0)
    return moat_error (err, ENOMEM, "runtime path");
  *saved = strdup (old != NULL ? old : "");
  if (*saved == NULL)
    return moat_error (err, ENOMEM, "runtime path");
  if (setenv ("PATH", path, 1) < 0
      || setenv ("MOAT_ROOT", paths->root[0] ? paths->root : "/", 1) < 0)
    return moat_error (err, errno, "set dockerd environment");
  return 0;
}

static int
start_dockerd (const struct moat_paths *paths, const struct stack_up_opts *o,
               json_t *record, moat_error_t *err)
{
  cleanup_free char *cfg_path = NULL;
  cleanup_free char *key_path = NULL;
  cleanup_free char *cgroup = NULL;
  cleanup_free char *ctrd_ns = NULL;
  cleanup_free char *runtime = NULL;
  cleanup_free char *cfg_text = NULL;
  cleanup_free char *log = log_path (paths, "dockerd");
  cleanup_free char *ctrd_pidfile = containerd_pidfile (paths);
  struct stack_engine_config c = { 0 };
  struct stack_proc dockerd, ctrd;
  json_t *cfg;
  off_t from;
  pid_t cpid;

  if (log == NULL || ctrd_pidfile == NULL
      || asprintf (&cfg_path, "%s/dockerd.json", paths->run_dir) < 0
      || asprintf (&key_path, "%s/key.json", paths->engine_data) < 0
      || asprintf (&cgroup, "/moat%s%s", o->netns ? "-" : "", o->netns ?: "")
             < 0
      /* Test stacks side by side must not share a containerd namespace
       * should they ever share a system containerd. */
      || asprintf (&ctrd_ns, "moat%s%s", o->netns ? "-" : "", o->netns ?: "")
             < 0)
    return moat_error (err, ENOMEM, "start dockerd");
  if (o->runtime_path == NULL)
    runtime = stack_find_helper ("moat-runc");
  else if (o->runtime_path[0] != '\0')
    runtime = strdup (o->runtime_path);
  if (runtime != NULL && access (runtime, X_OK) < 0)
    return moat_error (err, errno, "runtime `%s`", runtime);

  c.data_root = paths->engine_data;
  c.exec_root = paths->engine_exec;
  c.engine_sock = paths->engine_sock;
  c.pidfile = paths->dockerd_pid;
  c.key_path = key_path;
  c.bridge = o->bridge;
  c.pool_base = o->pool;
  c.pool_size = o->pool_size;
  c.cgroup_parent = cgroup;
  c.containerd_ns = ctrd_ns;
  c.runtime_path = runtime;
  c.moat_root = paths->root;
  cfg = stack_engine_config_build (&c, err);
  if (cfg == NULL)
    return -1;
  cfg_text = json_dumps (cfg, JSON_INDENT (2) | JSON_SORT_KEYS);
  json_decref (cfg);
  if (cfg_text == NULL)
    return moat_error (err, ENOMEM, "encode dockerd configuration");
  if (fs_write_file_atomic (cfg_path, cfg_text, strlen (cfg_text), 0600, err)
      < 0)
    return moat_error_wrap (err, "write dockerd configuration");

  {
    char *const argv[]
        = { (char *)o->dockerd_path, "--config-file", cfg_path, NULL };
    cleanup_free char *saved_path = NULL;
    from = file_size (log);
    log_info ("starting dockerd (log `%s`)%s%s", log,
              runtime ? ", default runtime " : "", runtime ?: "");
    if (runtime != NULL
        && runtime_shadow_runc (paths, runtime, &saved_path, err) < 0)
      return -1;
    int r = stack_spawn (argv, log, o->netns, &dockerd, err);
    if (saved_path != NULL)
      setenv ("PATH", saved_path, 1);
    if (r < 0)
      return spawn_error (r, err, "dockerd", log, from);
  }
  if (stack_record_add_proc (record, "dockerd", &dockerd, paths->dockerd_pid)
          < 0
      || stack_record_write (paths, record, err) < 0)
    return moat_error_wrap (err, "record dockerd");
  if (wait_engine (o, paths->engine_sock, &dockerd, log, from, err) < 0)
    return -1;
  /* Only root may use the raw engine: it can do anything to the host. */
  if (chmod (paths->engine_sock, 0600) < 0)
    return moat_error (err, errno, "chmod `%s`", paths->engine_sock);

  /* The containerd that dockerd started is recorded too, so that `moat
   * down` can stop it if dockerd dies without taking it along. */
  if (stack_pidfile_check (ctrd_pidfile, &cpid) == STACK_PROC_ALIVE)
    {
      char stat[64], buf[1024];
      cleanup_close int fd = -1;
      pid_t ppid = 0;
      ssize_t n;
      snprintf (stat, sizeof stat, "/proc/%d/stat", (int)cpid);
      fd = open (stat, O_RDONLY | O_CLOEXEC);
      n = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
      if (n > 0)
        {
          cleanup_error moat_error_t e = NULL;
          buf[n] = '\0';
          ctrd.pid = cpid;
          if (stack_proc_stat_parse (buf, NULL, &ppid, &ctrd.start_time, &e)
                  == 0
              && ppid == dockerd.pid)
            stack_record_add_proc (record, "containerd", &ctrd, ctrd_pidfile);
        }
    }
  return 0;
}

/* Start moatd for the stack `record` describes (a new one, or one whose
 * moatd died), record it, and wait until it answers. */
static int
start_moatd (const struct moat_paths *paths, const struct stack_up_opts *o,
             json_t *record, const char *moatd_path, moat_error_t *err)
{
  /* The net guard intercepts the private engine's networks, in the
   * engine's network namespace; an external engine's networks are not
   * moat's to know, so its net guard stays off. */
  bool private
      = strcmp (stack_record_str (record, "engine") ?: "", "private") == 0;
  json_t *bridge = json_object_get (record, "bridge");
  const char *bname = json_string_value (json_object_get (bridge, "name"));
  const char *bcidr = json_string_value (json_object_get (bridge, "cidr"));
  const char *pool = stack_record_str (record, "pool") ?: o->pool;
  const char *netns = stack_record_str (record, "netns");
  cleanup_free char *cidrs = NULL;
  cleanup_free char *moatd_log = log_path (paths, "moatd");
  struct stack_proc moatd;
  char *argv[13], port[16];
  int ac = 0;
  /* The port of the first start: a restarted moatd keeps it. */
  json_t *jport = json_object_get (record, "dashboard_port");
  int dport = json_is_integer (jport) ? (int)json_integer_value (jport)
                                      : o->dashboard_port;
  off_t from;

  if (moatd_log == NULL)
    return moat_error (err, ENOMEM, "start moatd");
  argv[ac++] = (char *)moatd_path;
  argv[ac++] = (char *)"--engine-sock";
  argv[ac++] = (char *)stack_record_str (record, "engine_sock");
  snprintf (port, sizeof port, "%d", dport);
  argv[ac++] = (char *)"--dashboard-port";
  argv[ac++] = port;
  if (!json_is_integer (jport))
    json_object_set_new (record, "dashboard_port", json_integer (dport));
  if (private && bname != NULL && bcidr != NULL)
    {
      if (asprintf (&cidrs, "%s,%s", bcidr, pool) < 0)
        {
          cidrs = NULL;
          return moat_error (err, ENOMEM, "start moatd");
        }
      argv[ac++] = (char *)"--container-cidrs";
      argv[ac++] = cidrs;
      argv[ac++] = (char *)"--engine-bridge";
      argv[ac++] = (char *)bname;
      if (netns != NULL)
        {
          argv[ac++] = (char *)"--engine-netns";
          argv[ac++] = (char *)netns;
        }
    }
  argv[ac] = NULL;
  /* moatd_path may be the record's own string: set it only when new. */
  if (strcmp (stack_record_str (record, "moatd_path") ?: "", moatd_path) != 0)
    json_object_set_new (record, "moatd_path", json_string (moatd_path));
  from = file_size (moatd_log);
  log_info ("starting moatd (log `%s`)", moatd_log);
  int r = stack_spawn (argv, moatd_log, NULL, &moatd, err);
  if (r < 0)
    return spawn_error (r, err, "moatd", moatd_log, from);
  if (stack_record_add_proc (record, "moatd", &moatd, paths->moatd_pid) < 0
      || write_moatd_pidfile (paths, moatd.pid, err) < 0
      || stack_record_write (paths, record, err) < 0)
    return -1;
  return wait_moatd (paths, o, &moatd, moatd_log, from, err);
}

/* moatd died but the engine runs (its containers with it): start moatd
 * alone.  The interception rules stay in place throughout (moatd left
 * them; were they missing, the fail-closed ones are loaded first). */
static int
repair_moatd (const struct moat_paths *paths, const struct stack_up_opts *o,
              json_t *record, const char *moatd_path, moat_error_t *err)
{
  json_t *bridge = json_object_get (record, "bridge");
  const char *bname = json_string_value (json_object_get (bridge, "name"));

  if (json_is_true (json_object_get (record, "intercept")) && bname != NULL)
    {
      struct net_intercept ic;
      int r;
      stack_intercept_for (bname, stack_record_str (record, "netns"), &ic);
      ic.owner = stack_owner (paths);
      r = net_nft_table_exists (&ic, err);
      if (r < 0)
        return -1;
      if (r == 0)
        {
          log_warn ("the interception rules were missing; loading the "
                    "fail-closed ones until moatd is up");
          if (net_nft_apply_closed (&ic, err) < 0)
            return -1;
        }
    }
  if (stack_socket_in_use (paths->control_sock))
    return moat_error (err, 0,
                       "moatd's control socket `%s` is in use by a process "
                       "moat did not start; stop it first",
                       paths->control_sock);
  stack_unlink_quiet (paths->control_sock);
  json_object_set_new (record, "state", json_string ("repairing"));
  if (start_moatd (paths, o, record, moatd_path, err) < 0)
    return moat_error_wrap (err, "restart moatd (the engine and the "
                                 "interception rules are left running)");
  json_object_set_new (record, "state", json_string ("running"));
  return stack_record_write (paths, record, err);
}

int
stack_up (const struct moat_paths *paths, const struct stack_up_opts *o,
          json_t **record_out, moat_error_t *err)
{
  bool private = o->engine == NULL || strcmp (o->engine, "private") == 0;
  cleanup_free char *moatd_path = NULL;
  cleanup_free char *moatd_log = NULL;
  cleanup_free char *docker_host = NULL;
  cleanup_close int lockfd = -1;
  const char *engine_sock;
  json_t *record = NULL;
  char started[32];
  time_t t = time (NULL);
  struct tm tm;
  bool had_record;
  int prev;

  engine_sock = private ? paths->engine_sock : o->engine;
  if (strncmp (engine_sock, "unix://", 7) == 0)
    engine_sock += 7;
  if (engine_sock[0] != '/')
    return moat_error (err, EINVAL,
                       "--engine takes `private` or the absolute path of an "
                       "engine socket (unix:///path), not `%s`",
                       o->engine);
  moatd_path
      = o->moatd_path ? strdup (o->moatd_path) : stack_find_helper ("moatd");
  if (moatd_path == NULL)
    return moat_error (err, 0,
                       "cannot find moatd next to the moat binary (or in "
                       "../sbin); pass --moatd PATH");
  moatd_log = log_path (paths, "moatd");
  if (moatd_log == NULL
      || asprintf (&docker_host, "unix://%s", paths->docker_sock) < 0)
    return moat_error (err, ENOMEM, "moat up");

  if (make_dirs (paths, err) < 0)
    return -1;
  /* A root no container can reach is refused before anything starts: a
   * stack that answers but cannot run a container is not healthy. */
  if (private && stack_root_check (paths, true, err) < 0)
    return -1;
  lockfd = stack_lock (paths, err);
  if (lockfd < 0)
    return -1;
  had_record = access (paths->stack_json, F_OK) == 0;
  prev = check_previous (paths, &record, err);
  if (prev < 0)
    return -1;
  if (prev == 1)
    {
      /* Half running: the engine is up, moatd is not. */
      if (repair_moatd (paths, o, record, moatd_path, err) < 0)
        {
          json_decref (record);
          return -1;
        }
      *record_out = record;
      return 0;
    }
  if (private && stack_socket_in_use (paths->engine_sock))
    return moat_error (err, 0,
                       "engine socket `%s` is already in use by a process "
                       "moat did not start; stop it, or use that engine with "
                       "`moat up --engine %s`",
                       paths->engine_sock, paths->engine_sock);
  if (stack_socket_in_use (paths->control_sock))
    return moat_error (err, 0,
                       "moatd's control socket `%s` is already in use by a "
                       "process moat did not start; stop it first",
                       paths->control_sock);
  if (private)
    stack_unlink_quiet (paths->engine_sock);
  stack_unlink_quiet (paths->control_sock);
  if (!private)
    {
      if (stack_engine_ping (engine_sock, 5000, err) < 0)
        return moat_error_wrap (err, "the engine given with --engine does not "
                                     "answer");
    }
  /* One stack a network namespace: never over another's rules. */
  if (private
      && stack_netns_owner_check (paths, o->netns, o->bridge, had_record, err)
             < 0)
    return -1;

  gmtime_r (&t, &tm);
  strftime (started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &tm);
  record = json_pack ("{s:i, s:s, s:s, s:s, s:s, s:s, s:{}}", "version", 1,
                      "state", "starting", "engine",
                      private ? "private" : "external", "engine_sock",
                      engine_sock, "docker_host", docker_host, "started",
                      started, "processes");
  if (record == NULL)
    return moat_error (err, ENOMEM, "moat up");
  if (o->netns != NULL)
    json_object_set_new (record, "netns", json_string (o->netns));

  if (private)
    {
      if (stack_bridge_create (o->netns, o->bridge, o->bridge_cidr, o->pool,
                               err)
          < 0)
        goto fail_early;
      json_object_set_new (record, "bridge",
                           json_pack ("{s:s, s:s, s:b}", "name", o->bridge,
                                      "cidr", o->bridge_cidr, "created",
                                      true));
      json_object_set_new (record, "pool", json_string (o->pool));
      /* Fail closed from the first moment a container could run: the
       * interception rules (everything refused until moatd loads the
       * policy's) are in place before dockerd starts, and stay until it
       * has exited (teardown). */
      json_object_set_new (record, "intercept", json_true ());
      if (stack_record_write (paths, record, err) < 0)
        goto fail;
      {
        struct net_intercept ic;
        stack_intercept_for (o->bridge, o->netns, &ic);
        ic.owner = stack_owner (paths);
        if (net_nft_apply_closed (&ic, err) < 0)
          goto fail;
      }
      if (start_dockerd (paths, o, record, err) < 0)
        goto fail;
    }

  if (start_moatd (paths, o, record, moatd_path, err) < 0)
    goto fail;

  json_object_set_new (record, "state", json_string ("running"));
  if (stack_record_write (paths, record, err) < 0)
    goto fail;
  *record_out = record;
  return 0;

fail:
  {
    cleanup_error moat_error_t e = NULL;
    log_info ("startup failed; stopping what was started");
    if (stack_teardown (paths, record, false, &e) < 0)
      log_error ("rollback incomplete: %s", moat_error_msg (&e));
  }
  json_decref (record);
  return -1;
fail_early:
  json_decref (record);
  return -1;
}

/* In the foreground: moatd died, the engine still runs.  Restart moatd
 * alone under the stack lock (a `moat down` meanwhile wins: then there is
 * nothing to restart).  *record is replaced by the new one. */
static int
supervise_restart_moatd (const struct moat_paths *paths, json_t **record,
                         const sigset_t *sigs, moat_error_t *err)
{
  cleanup_close int lockfd = stack_lock (paths, err);
  struct stack_up_opts o;
  json_t *now = NULL;
  const char *moatd_path;
  int r;

  if (lockfd < 0)
    return -1;
  r = stack_record_read (paths, &now, err);
  if (r != 0)
    return r < 0 ? -1 : moat_error (err, 0, "moat was stopped meanwhile");
  if (!moatd_only_dead_p (now))
    {
      json_decref (now);
      return moat_error (err, 0, "the engine is not running either");
    }
  stack_up_opts_init (&o);
  o.abort_on = sigs;
  moatd_path = stack_record_str (now, "moatd_path");
  if (moatd_path == NULL || repair_moatd (paths, &o, now, moatd_path, err) < 0)
    {
      if (moatd_path == NULL)
        moat_error (err, 0, "the record does not name moatd's binary");
      json_decref (now);
      return -1;
    }
  json_decref (*record);
  *record = now;
  return 0;
}

int
stack_supervise (const struct moat_paths *paths, json_t *record,
                 const sigset_t *sigs, moat_error_t *err)
{
  static const char *const names[] = { "moatd", "dockerd" };
  struct timespec tick = { 0, 500 * 1000000L };
  long long restarts[MOATD_RESTARTS] = { 0 };
  size_t n_restarts = 0;
  json_t *rec = json_incref (record);

  for (;;)
    {
      int sig = sigtimedwait (sigs, NULL, &tick);
      if (sig > 0)
        {
          json_decref (rec);
          return sig;
        }
      for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        {
          struct stack_proc p;
          int st = 0;
          if (!stack_record_get_proc (rec, names[i], &p))
            continue;
          if (stack_proc_exited (&p, &st)
              || stack_proc_check (&p) != STACK_PROC_ALIVE)
            {
              moat_error (err, 0, "%s (pid %d) exited (%s %d)", names[i],
                          (int)p.pid, WIFEXITED (st) ? "status" : "signal",
                          WIFEXITED (st) ? WEXITSTATUS (st) : WTERMSIG (st));
              /* moatd alone is restarted (the engine, its containers and
               * the interception rules stay), a few times at most. */
              long long now = moat_mono_ms ();
              size_t slot = n_restarts % MOATD_RESTARTS;
              if (strcmp (names[i], "moatd") == 0
                  && (n_restarts < MOATD_RESTARTS
                      || now - restarts[slot] > MOATD_RESTART_WINDOW_MS))
                {
                  cleanup_error moat_error_t e = NULL;
                  log_error ("%s; restarting it", moat_error_msg (err));
                  if (supervise_restart_moatd (paths, &rec, sigs, &e) == 0)
                    {
                      moat_error_release (err);
                      restarts[slot] = now;
                      n_restarts++;
                      break;
                    }
                  log_error ("%s", moat_error_msg (&e));
                }
              json_decref (rec);
              return 0;
            }
        }
    }
}
