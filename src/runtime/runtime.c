/* create and delete around the delegated runc (see runtime.h). */
#include "runtime.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "cgdeleg.h"
#include "handler.h"
#include "idpool.h"
#include "runtime/bindpol.h"
#include "state/state.h"
#include "rootfs.h"
#include "spec.h"
#include "supervise.h"

int
runtime_id_valid_p (const char *id)
{
  size_t n = strlen (id);
  if (n == 0 || n > 256 || id[0] == '.')
    return 0;
  for (size_t i = 0; i < n; i++)
    {
      char c = id[i];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
        return 0;
    }
  return 1;
}

static char **
build_argv (const struct runtime_ctx *ctx, char *const *args)
{
  size_t ng = 0, na = 0;
  char **v;
  while (ctx->runc_globals[ng] != NULL)
    ng++;
  while (args[na] != NULL)
    na++;
  v = calloc (ng + na + 1, sizeof *v);
  if (v == NULL)
    return NULL;
  memcpy (v, ctx->runc_globals, ng * sizeof *v);
  memcpy (v + ng, args, na * sizeof *v);
  return v;
}

int
runtime_exec_runc (const struct runtime_ctx *ctx, char *const *args,
                   moat_error_t *err)
{
  cleanup_free char **v = build_argv (ctx, args);
  if (v == NULL)
    return moat_error (err, ENOMEM, "build runc arguments");
  execv (ctx->runc_path, v);
  return moat_error (err, errno, "exec `%s`", ctx->runc_path);
}

/* Run runc with args and wait; quiet sends its stdout and stderr to
 * /dev/null (probes whose failure is an answer, not an error). */
static int
run_runc (const struct runtime_ctx *ctx, char *const *args, bool quiet)
{
  cleanup_free char **v = build_argv (ctx, args);
  pid_t pid;
  int status;

  if (v == NULL)
    return 127;
  pid = fork ();
  if (pid < 0)
    return 127;
  if (pid == 0)
    {
      if (quiet)
        {
          int fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
          if (fd < 0 || dup2 (fd, 1) < 0 || dup2 (fd, 2) < 0)
            _exit (127);
        }
      execv (ctx->runc_path, v);
      _exit (127);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return 127;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

int
runtime_run_runc (const struct runtime_ctx *ctx, char *const *args)
{
  return run_runc (ctx, args, false);
}

static int
run_runc_quiet (const struct runtime_ctx *ctx, char *const *args)
{
  return run_runc (ctx, args, true);
}

int
runtime_pool_config (const struct moat_paths *paths, uint32_t *uid_start,
                     uint32_t *gid_start, uint32_t *count, moat_error_t *err)
{
  cleanup_free char *etc = moat_paths_join (paths, "/etc");
  cleanup_free char *subuid = moat_paths_join (paths, "/etc/subuid");
  cleanup_free char *subgid = moat_paths_join (paths, "/etc/subgid");
  uint32_t ucount, gcount, def = RUNTIME_POOL_START;
  int ru, rg;

  if (etc == NULL || subuid == NULL || subgid == NULL)
    return moat_error (err, ENOMEM, "pool paths");
  if (fs_mkdir_p (etc, 0755, err) < 0)
    return -1;
  ru = subid_lookup (subuid, "moat", uid_start, &ucount, err);
  rg = ru < 0 ? -1 : subid_lookup (subgid, "moat", gid_start, &gcount, err);
  if (ru < 0 || rg < 0)
    return moat_error_wrap (err, "id pool");
  /* A new root: a default pool no other live root on this host uses, so
   * that roots do not compete for the same slots (the host-wide claims
   * keep ranges exclusive either way, idpool.h). */
  if ((ru == 1 || rg == 1)
      && idpool_pick_start (NULL, paths->state_db, RUNTIME_POOL_START,
                            RUNTIME_POOL_COUNT, &def, err)
             < 0)
    return moat_error_wrap (err, "id pool");
  if ((ru == 1
       && subid_ensure (subuid, "moat", def, RUNTIME_POOL_COUNT, uid_start,
                        &ucount, err)
              < 0)
      || (rg == 1
          && subid_ensure (subgid, "moat", def, RUNTIME_POOL_COUNT, gid_start,
                           &gcount, err)
                 < 0))
    return moat_error_wrap (err, "id pool");
  if (*uid_start == 0 || *gid_start == 0)
    return moat_error (err, EINVAL,
                       "id pool: the `moat` entry starts at host id 0;"
                       " refusing to map root");
  *count = ucount < gcount ? ucount : gcount;
  return 0;
}

static int
open_pool (const struct runtime_ctx *ctx, struct idpool **pool,
           uint32_t *uid_start, uint32_t *gid_start, moat_error_t *err)
{
  struct idpool_config cfg = { .size = IDPOOL_RANGE };
  if (runtime_pool_config (&ctx->paths, uid_start, gid_start, &cfg.count, err)
      < 0)
    return -1;
  cfg.start = *uid_start;
  cfg.gid_start = *gid_start;
  if (fs_mkdir_p (ctx->paths.state_dir, 0700, err) < 0)
    return -1;
  return idpool_open (pool, ctx->paths.state_db, &cfg, err);
}

static const char *
runc_root (const struct runtime_ctx *ctx)
{
  return ctx->runc_root != NULL ? ctx->runc_root : HANDLER_RUNC_DEFAULT_ROOT;
}

/* The container's private directory for mounts: run/moat/runc/<id>, and
 * run/moat/runc/ctd-<hash of runc's root>/<id> for a containerd handler
 * (handler.h). */
static char *
container_run_dir (const struct runtime_ctx *ctx, const char *id)
{
  char *s = NULL;
  if (ctx->containerd)
    {
      cleanup_free char *scope = handler_scope (runc_root (ctx));
      if (scope == NULL
          || asprintf (&s, "%s/runc/%s/%s", ctx->paths.run_dir, scope, id) < 0)
        return NULL;
      return s;
    }
  if (asprintf (&s, "%s/runc/%s", ctx->paths.run_dir, id) < 0)
    return NULL;
  return s;
}

/* The container's own key in the id pool: its id under dockerd,
 * "<runc root>/<id>" for a containerd handler. */
static char *
pool_key (const struct runtime_ctx *ctx, const char *id)
{
  if (ctx->containerd)
    return handler_key (runc_root (ctx), id);
  return strdup (id);
}

static const char *
last_positional (char *const *args, const char *const *valued)
{
  const char *id = NULL;
  for (size_t i = 1; args[i] != NULL; i++)
    {
      const char *a = args[i];
      if (a[0] != '-')
        {
          id = a;
          continue;
        }
      if (strchr (a, '=') != NULL)
        continue;
      for (size_t k = 0; valued[k] != NULL; k++)
        if (strcmp (a, valued[k]) == 0 && args[i + 1] != NULL)
          {
            i++;
            break;
          }
    }
  return id;
}

/* The held marker: present from before create reserves a range under
 * the container's own key until delete has released it.  Its absence
 * (and that of the run directory, for containers made before the
 * marker) tells a delete that nothing is held: the shim's second delete
 * then opens no pool.  In a directory beside the run directories whose
 * name no container id can have (ids never start with a dot). */
static char *
held_marker_path (const struct runtime_ctx *ctx, const char *id)
{
  cleanup_free char *dir = container_run_dir (ctx, id);
  char *slash = dir != NULL ? strrchr (dir, '/') : NULL;
  char *s = NULL;
  if (slash == NULL)
    return NULL;
  *slash = '\0';
  if (asprintf (&s, "%s/" RUNTIME_HELD_DIR "/%s", dir, id) < 0)
    return NULL;
  return s;
}

static int
mark_held (const struct runtime_ctx *ctx, const char *id, moat_error_t *err)
{
  cleanup_free char *m = held_marker_path (ctx, id);
  char *slash = m != NULL ? strrchr (m, '/') : NULL;
  int fd;
  if (slash == NULL)
    return moat_error (err, ENOMEM, "held marker");
  *slash = '\0';
  if (fs_mkdir_p (m, 0700, err) < 0)
    return -1;
  *slash = '/';
  fd = open (m, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return moat_error (err, errno, "create `%s`", m);
  close (fd);
  return 0;
}

/* Undo create: the supervisor, the mounts, and the range the container's
 * own key holds.  force: open the pool even without a held marker
 * (reconciliation, a create that failed, a delete of a container runc
 * knew: one an older moat-runc made has no marker). */
static void
release_all (const struct runtime_ctx *ctx, const char *id, bool force)
{
  cleanup_error moat_error_t err = NULL;
  cleanup_free char *dir = container_run_dir (ctx, id);
  cleanup_free char *key = pool_key (ctx, id);
  cleanup_free char *held = held_marker_path (ctx, id);
  struct idpool *pool = NULL;
  uint32_t us, gs;
  int released = 0, nothing_held = 0;

  if (!force && held != NULL && dir != NULL && access (held, F_OK) < 0
      && errno == ENOENT && access (dir, F_OK) < 0 && errno == ENOENT)
    nothing_held = 1;
  if (dir != NULL)
    supervise_stop (dir);
  if (dir != NULL && rootfs_cleanup (dir, &err) < 0)
    {
      log_warn ("%s: %s", id, moat_error_msg (&err));
      moat_error_release (&err);
    }
  if (nothing_held)
    {
      log_debug ("%s: no range held, pool not opened", id);
      return;
    }
  if (key == NULL || held == NULL)
    log_error ("%s: out of memory", id);
  else if (open_pool (ctx, &pool, &us, &gs, &err) < 0
           || idpool_release (pool, key, &released, &err) < 0)
    log_error ("%s: %s", id, moat_error_msg (&err));
  else
    {
      if (released)
        log_info ("%s: released id range", id);
      if (unlink (held) < 0 && errno != ENOENT)
        log_warn ("%s: remove `%s`: %s", id, held, strerror (errno));
    }
  idpool_close (pool);
}

/* Does runc under ctx->runc_root know the container?  The globals'
 * --root is replaced by ctx->runc_root (reconcile asks under each key's
 * root). */
static int
handler_runc_knows (const struct runtime_ctx *ctx, const char *id)
{
  size_t n = 0, k = 0;
  cleanup_free char **g = NULL;
  struct runtime_ctx c2 = *ctx;
  char *st[] = { "state", (char *)id, NULL };
  while (ctx->runc_globals[n] != NULL)
    n++;
  g = calloc (n + 3, sizeof *g);
  if (g == NULL)
    return 1; /* keep the range when in doubt */
  for (size_t i = 0; i < n; i++)
    {
      if (strcmp (ctx->runc_globals[i], "--root") == 0
          && ctx->runc_globals[i + 1] != NULL)
        {
          i++;
          continue;
        }
      if (strncmp (ctx->runc_globals[i], "--root=", 7) == 0)
        continue;
      g[k++] = ctx->runc_globals[i];
    }
  g[k++] = (char *)"--root";
  g[k++] = (char *)runc_root (ctx);
  g[k] = NULL;
  /* g[0] is runc itself, the globals follow: build_argv takes them as
   * they are */
  c2.runc_globals = g;
  return run_runc_quiet (&c2, st) == 0;
}

int
runtime_reconcile (const struct runtime_ctx *ctx, unsigned *released,
                   moat_error_t *err)
{
  struct idpool *pool = NULL;
  struct idpool_entry *e = NULL;
  size_t n = 0;
  uint32_t us, gs;

  *released = 0;
  if (open_pool (ctx, &pool, &us, &gs, err) < 0 || idpool_sync (pool, err) < 0
      || idpool_list (pool, &e, &n, err) < 0)
    {
      idpool_close (pool);
      return moat_error_wrap (err, "reconcile id ranges");
    }
  idpool_close (pool);
  for (size_t i = 0; i < n; i++)
    {
      char *st[] = { "state", e[i].container_id, NULL };
      cleanup_free char *root = NULL, *cid = NULL;
      cleanup_error moat_error_t kerr = NULL;
      if (ctx->containerd)
        {
          /* a handler's keys, whichever runc root they name: runc is
           * asked under that root */
          struct runtime_ctx c2 = *ctx;
          if (handler_split_key (e[i].container_id, &root, &cid, &kerr) < 0
              || !runtime_id_valid_p (cid))
            continue;
          c2.runc_root = root;
          if (handler_runc_knows (&c2, cid))
            continue;
          log_warn ("%s: runc does not know this container; releasing its "
                    "range %" PRIu32,
                    e[i].container_id, e[i].base);
          release_all (&c2, cid, true);
          (*released)++;
          continue;
        }
      if (!runtime_id_valid_p (e[i].container_id))
        continue;
      if (run_runc_quiet (ctx, st) == 0)
        continue;
      log_warn ("%s: runc does not know this container; releasing its range "
                "%" PRIu32,
                e[i].container_id, e[i].base);
      release_all (ctx, e[i].container_id, true);
      (*released)++;
    }
  idpool_entries_free (e, n);
  return 0;
}

int
runtime_pool_report (const struct runtime_ctx *ctx, char **json,
                     moat_error_t *err)
{
  struct idpool *pool = NULL;
  struct idpool_peer *v = NULL;
  size_t n = 0;
  uint32_t us, gs, count;
  json_t *peers, *out;

  if (runtime_pool_config (&ctx->paths, &us, &gs, &count, err) < 0
      || open_pool (ctx, &pool, &us, &gs, err) < 0
      || idpool_peers (pool, &v, &n, err) < 0)
    {
      idpool_close (pool);
      return moat_error_wrap (err, "pool report");
    }
  idpool_close (pool);
  peers = json_array ();
  for (size_t i = 0; i < n; i++)
    json_array_append_new (
        peers,
        json_pack ("{s:s, s:I, s:I, s:I, s:I, s:I}", "state_db", v[i].db_path,
                   "uid_start", (json_int_t)v[i].uid_start, "gid_start",
                   (json_int_t)v[i].gid_start, "count", (json_int_t)v[i].count,
                   "ranges", (json_int_t)v[i].claims, "conflicts",
                   (json_int_t)v[i].conflicts));
  idpool_peers_free (v, n);
  out = json_pack ("{s:{s:I, s:I, s:I}, s:s, s:o}", "pool", "uid_start",
                   (json_int_t)us, "gid_start", (json_int_t)gs, "count",
                   (json_int_t)count, "registry", IDPOOL_REGISTRY, "peers",
                   peers);
  *json = out ? json_dumps (out, JSON_COMPACT) : NULL;
  json_decref (out);
  if (*json == NULL)
    return moat_error (err, ENOMEM, "pool report");
  return 0;
}

/* runtime.h */
int
runtime_write_file (const char *config, const char *data, moat_error_t *err)
{
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;
  size_t len = strlen (data), off = 0;

  if (asprintf (&tmp, "%s.moat-tmp", config) < 0)
    return moat_error (err, ENOMEM, "write spec");
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return moat_error (err, errno, "open `%s`", tmp);
  while (off < len)
    {
      ssize_t n = write (fd, data + off, len - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          unlink (tmp);
          return moat_error (err, errno, "write `%s`", tmp);
        }
      off += (size_t)n;
    }
  if (rename (tmp, config) < 0)
    {
      unlink (tmp);
      return moat_error (err, errno, "rename `%s`", tmp);
    }
  return 0;
}

/* Present while a container runs with the set-id guard (spec_guard_setid),
 * so that what is exec'd into it gets the guard too (runtime_exec). */
static char *
setid_marker_path (const char *rundir)
{
  char *s = NULL;
  if (asprintf (&s, "%s/setid-guard", rundir) < 0)
    return NULL;
  return s;
}

/* The lock marker: "PID INODE SUP" of the init process and of the mount
 * namespace runc made, which start waits for it to leave; SUP 1: start
 * then starts the mount supervisor (supervise.h). */
static char *
lock_marker_path (const char *rundir)
{
  char *s = NULL;
  if (asprintf (&s, "%s/lock-pending", rundir) < 0)
    return NULL;
  return s;
}

static int
record_lock_pending (const char *rundir, const char *pidfile, int sup,
                     moat_error_t *err)
{
  cleanup_free char *data = NULL;
  cleanup_free char *marker = lock_marker_path (rundir);
  cleanup_free char *line = NULL;
  char path[64];
  struct stat st;
  size_t len;
  long pid;

  if (marker == NULL)
    return moat_error (err, ENOMEM, "lock marker");
  /* containerd always passes --pid-file; without it start could not tell
   * when the container is locked. */
  if (pidfile == NULL)
    return moat_error (err, EINVAL,
                       "a container with CAP_SYS_ADMIN needs --pid-file");
  if (fs_read_file (pidfile, 64, &data, &len, err) < 0)
    return -1;
  pid = strtol (data, NULL, 10);
  if (pid <= 0)
    return moat_error (err, EINVAL, "bad pid in `%s`", pidfile);
  snprintf (path, sizeof path, "/proc/%ld/ns/mnt", pid);
  if (stat (path, &st) < 0)
    return moat_error (err, errno, "stat `%s`", path);
  if (fs_mkdir_p (rundir, 0700, err) < 0)
    return -1;
  if (asprintf (&line, "%ld %llu %d\n", pid, (unsigned long long)st.st_ino,
                sup)
      < 0)
    return moat_error (err, ENOMEM, "lock marker");
  return runtime_write_file (marker, line, err);
}

/* A privileged container's cgroups are delegated to its root once runc
 * create has put its init in them (cgdeleg.h). */
static int
delegate_cgroups (const char *id, const char *pidfile, uint32_t uid,
                  uint32_t gid, moat_error_t *err)
{
  cleanup_free char *data = NULL;
  unsigned n = 0, skipped = 0;
  size_t len;
  long pid;

  if (pidfile == NULL)
    return moat_error (err, EINVAL, "a privileged container needs --pid-file");
  if (fs_read_file (pidfile, 64, &data, &len, err) < 0)
    return -1;
  pid = strtol (data, NULL, 10);
  if (pid <= 0)
    return moat_error (err, EINVAL, "bad pid in `%s`", pidfile);
  if (cgdeleg_delegate (pid, uid, gid, &n, &skipped, err) < 0)
    return -1;
  log_info ("%s: cgroups delegated to the container's root (%u "
            "directories, %u hierarchies left out)",
            id, n, skipped);
  return 0;
}

static double
elapsed_ms (const struct timespec *a)
{
  struct timespec b;
  clock_gettime (CLOCK_MONOTONIC, &b);
  return (double)(b.tv_sec - a->tv_sec) * 1e3
         + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* A refusal goes to the audit log beside the engine guard's (moatd and
 * `moat audit` read the same table).  Best effort: the refusal stands. */
static void
audit_refusal (const struct runtime_ctx *ctx, const char *id,
               const char *message)
{
  struct moat_state *st = NULL;
  cleanup_error moat_error_t e = NULL;
  cleanup_free char *endpoint = NULL;
  const char *rule = strstr (message, "socket mount") ? "eci.socket-mount"
                     : strstr (message, "bind mount") ? "eci.bind"
                     : strstr (message, "namespace")  ? "eci.namespace"
                                                      : "runtime";
  struct audit_record r = {
    .component = "runtime",
    .caller_uid = -1,
    .caller_pid = -1,
    .container = id,
    .rule = rule,
    .outcome = "refused",
    .detail = message,
  };
  if (asprintf (&endpoint, "moat-runc create %s", id) < 0)
    endpoint = NULL;
  r.endpoint = endpoint;
  if (state_open (ctx->paths.state_db, &st, &e) < 0
      || state_audit_append (st, &r, &e) < 0)
    log_warn ("%s: refusal not audited: %s", id, moat_error_msg (&e));
  state_close (st);
}

/* The pool key create allocates under: the container's own (pool_key),
 * or for a container of a Kubernetes pod its sandbox's, so that the pod
 * has one range (handler.h).  The sandbox must be a container runc knows
 * under the same root. */
static int
create_key (const struct runtime_ctx *ctx, json_t *spec, const char *id,
            char **key, const char **pod, moat_error_t *err)
{
  const char *sid = NULL;
  *pod = NULL;
  if (ctx->containerd && handler_pod_sandbox (spec, &sid, err) < 0)
    return -1;
  if (sid != NULL && strcmp (sid, id) != 0)
    {
      if (!handler_runc_knows (ctx, sid))
        return moat_error (err, ENOENT,
                           "pod sandbox `%s` is not a container of this "
                           "runtime (runc root `%s`)",
                           sid, runc_root (ctx));
      *key = handler_key (runc_root (ctx), sid);
      *pod = sid;
      if (*key != NULL)
        log_info ("%s: a container of pod sandbox %s: the pod's range", id,
                  sid);
    }
  else
    *key = pool_key (ctx, id);
  if (*key == NULL)
    return moat_error (err, ENOMEM, "pool key");
  return 0;
}

/* The user namespace of pod sandbox sid (its init process, from runc's
 * state.json under our runc root), checked to map exactly the pod's range
 * [base, base + size): only the pod holds that range, so joining it gives
 * the container nothing the pod does not have. */
static int
pod_userns_path (const struct runtime_ctx *ctx, const char *sid, uint32_t base,
                 uint32_t size, char **out, moat_error_t *err)
{
  cleanup_free char *state = NULL, *data = NULL, *map = NULL;
  cleanup_free char *mapfile = NULL;
  json_t *j, *jpid;
  json_error_t jerr;
  size_t len;
  long pid;
  unsigned long inside, outside, count;

  if (asprintf (&state, "%s/%s/state.json", runc_root (ctx), sid) < 0)
    return moat_error (err, ENOMEM, "pod state");
  if (fs_read_file (state, SPEC_MAX, &data, &len, err) < 0)
    return moat_error_wrap (err, "pod sandbox `%s`", sid);
  j = json_loadb (data, len, 0, &jerr);
  jpid = json_object_get (j, "init_process_pid");
  pid = json_is_integer (jpid) ? (long)json_integer_value (jpid) : 0;
  json_decref (j);
  if (pid <= 0)
    return moat_error (err, EINVAL, "pod sandbox `%s`: no init pid in `%s`",
                       sid, state);
  if (asprintf (&mapfile, "/proc/%ld/uid_map", pid) < 0)
    return moat_error (err, ENOMEM, "pod state");
  if (fs_read_file (mapfile, 4096, &map, &len, err) < 0)
    return moat_error_wrap (err, "pod sandbox `%s`", sid);
  if (sscanf (map, "%lu %lu %lu", &inside, &outside, &count) != 3
      || inside != 0 || outside != base || count != size
      || strchr (map, '\n') != map + len - 1)
    return moat_error (err, EPERM,
                       "pod sandbox `%s`: its user namespace does not map "
                       "the pod's range %" PRIu32,
                       sid, base);
  if (asprintf (out, "/proc/%ld/ns/user", pid) < 0)
    return moat_error (err, ENOMEM, "pod state");
  return 0;
}

/* containerd's shim writes root.path relative to the bundle ("rootfs");
 * dockerd writes it absolute.  The root is prepared from moat's own run
 * directory, so make it absolute (resolved: the bundle may be reached
 * through a symlink). */
static int
absolute_root (json_t *spec, const char *bundle, moat_error_t *err)
{
  json_t *root = json_object_get (spec, "root");
  const char *path = json_string_value (json_object_get (root, "path"));
  cleanup_free char *joined = NULL;
  cleanup_free char *real = NULL;

  if (path == NULL || path[0] == '/')
    return 0;
  if (asprintf (&joined, "%s/%s", bundle, path) < 0)
    return moat_error (err, ENOMEM, "root path");
  real = realpath (joined, NULL);
  if (real == NULL)
    return moat_error (err, errno, "resolve root `%s`", joined);
  if (json_object_set_new (root, "path", json_string (real)) < 0)
    return moat_error (err, ENOMEM, "rewrite root.path");
  return 0;
}

int
runtime_create (const struct runtime_ctx *ctx, char *const *args,
                moat_error_t *err)
{
  static const char *const valued[]
      = { "--bundle",       "-b", "--console-socket", "--pid-file",
          "--preserve-fds", NULL };
  const char *bundle = ".";
  const char *id = last_positional (args, valued);
  cleanup_free char *config = NULL;
  cleanup_free char *data = NULL;
  cleanup_free char *out = NULL;
  cleanup_free char *rundir = NULL;
  cleanup_free char *key = NULL;
  cleanup_free char *pod_userns = NULL;
  const char *pod = NULL;
  int pod_host_net = 0;
  int pod_guard = 0;
  cleanup_close int netfd = -1; /* the pod's network namespace to join */
  json_t *sys_fresh = NULL;     /* /sys made by moat-runc (handler.h) */
  struct spec_ctx sctx = { .size = IDPOOL_RANGE };
  struct spec_report rep = { 0 };
  struct rootfs_report rrep = { 0 };
  struct bindpol bp = { 0 };
  struct idpool *pool = NULL;
  json_t *spec = NULL;
  json_error_t jerr;
  uint32_t uid_start, gid_start, base;
  size_t len;
  int rc = -1;
  struct timespec t0;
  double t_alloc, t_rootfs = 0;
  char caller[32];
  int sup = 0;

  for (size_t i = 1; args[i] != NULL; i++)
    {
      if ((strcmp (args[i], "--bundle") == 0 || strcmp (args[i], "-b") == 0)
          && args[i + 1] != NULL)
        bundle = args[++i];
      else if (strncmp (args[i], "--bundle=", 9) == 0)
        bundle = args[i] + 9;
    }
  if (id == NULL)
    return moat_error (err, EINVAL, "create: no container id");
  if (!runtime_id_valid_p (id))
    return moat_error (err, EINVAL, "create: invalid container id `%s`", id);
  if (asprintf (&config, "%s/config.json", bundle) < 0)
    return moat_error (err, ENOMEM, "create");
  rundir = container_run_dir (ctx, id);
  if (rundir == NULL)
    return moat_error (err, ENOMEM, "create");

  if (spec_ctx_probe_host (&sctx, err) < 0)
    return moat_error_wrap (err, "create `%s`", id);
  if (fs_read_file (config, SPEC_MAX, &data, &len, err) < 0)
    return moat_error_wrap (err, "create `%s`", id);
  spec = json_loadb (data, len, 0, &jerr);
  if (spec == NULL)
    return moat_error (err, EINVAL, "create `%s`: %s: line %d: %s", id, config,
                       jerr.line, jerr.text);

  if (absolute_root (spec, bundle, err) < 0)
    {
      moat_error_wrap (err, "create `%s`", id);
      goto out;
    }

  if (create_key (ctx, spec, id, &key, &pod, err) < 0)
    {
      moat_error_wrap (err, "create `%s`", id);
      goto out;
    }

  clock_gettime (CLOCK_MONOTONIC, &t0);
  /* before the range is reserved (a pod's container reserves none of
   * its own: the pod's is its sandbox's) */
  if (pod == NULL && mark_held (ctx, id, err) < 0)
    {
      moat_error_wrap (err, "create `%s`", id);
      goto out;
    }
  if (open_pool (ctx, &pool, &uid_start, &gid_start, err) < 0)
    {
      moat_error_wrap (err, "create `%s`", id);
      goto out;
    }
  /* a pod's container: the range is the running sandbox's */
  if ((pod != NULL ? idpool_alloc_held (pool, key, &base, err)
                   : idpool_alloc (pool, key, &base, err))
      < 0)
    {
      unsigned freed = 0;
      cleanup_error moat_error_t e2 = NULL;
      /* Exhausted: ranges of containers that died without delete may be
       * holding slots.  Reconcile once and retry. */
      if (moat_error_status (err) != ENOSPC
          || runtime_reconcile (ctx, &freed, &e2) < 0 || freed == 0)
        {
          moat_error_wrap (err, "create `%s`", id);
          goto out;
        }
      moat_error_release (err);
      if ((pod != NULL ? idpool_alloc_held (pool, key, &base, err)
                       : idpool_alloc (pool, key, &base, err))
          < 0)
        {
          moat_error_wrap (err, "create `%s`", id);
          goto out;
        }
    }
  t_alloc = elapsed_ms (&t0);
  sctx.uid_base = base;
  sctx.gid_base = gid_start + (base - uid_start);
  /* A pod whose network namespace the host's user namespace owns (CNI's):
   * runc 1.1 joins a user namespace path before the network namespace,
   * and could not join the latter from the sandbox's user namespace.  The
   * container still joins the sandbox's user namespace (its IPC and UTS
   * namespaces are that one's); moat-runc joins the network namespace
   * itself before runc runs (handler_netns_take, docs/kubernetes.md,
   * "Pods"). */
  if (pod != NULL)
    {
      pod_host_net = handler_netns_host_owned (spec, err);
      if (pod_host_net < 0)
        {
          moat_error_wrap (err, "create `%s`", id);
          goto fail;
        }
    }
  if (pod != NULL)
    {
      if (pod_userns_path (ctx, pod, base, sctx.size, &pod_userns, err) < 0)
        {
          moat_error_wrap (err, "create `%s`", id);
          goto fail;
        }
      sctx.pod_userns = pod_userns;
    }

  /* What bind sources may be: the engine guard's rules, applied here
   * again on what is mounted (a guard bypassed, a path swapped since). */
  if (bindpol_load (&bp, &ctx->paths, ctx->protect, spec, id, err) < 0)
    goto fail;
  if (ctx->containerd
      && handler_pod_binds (
             &bp, spec, bundle, id,
             ctx->kubelet_root ? ctx->kubelet_root : HANDLER_KUBELET_ROOT, err)
             < 0)
    {
      moat_error_wrap (err, "create `%s`", id);
      goto fail;
    }
  sctx.binds = &bp;
  if (bp.caller_error != NULL)
    {
      moat_error (err, EINVAL, "create `%s`: %s", id, bp.caller_error);
      goto fail;
    }
  if (ctx->containerd && handler_cri_p (spec))
    sctx.allow_host_ns = ctx->allow_host_ns;
  if (spec_rewrite (spec, &sctx, &rep, err) < 0)
    goto fail;
  /* CAP_NET_RAW only when asked for, as the engine guard gives it
   * (docs/engine-eci-checks.md, "CAP_NET_RAW"): the engine's own creates
   * (a classic build's steps) never pass the guard. */
  if (bp.eci && bp.hostcfg_read && !bp.net_raw_asked
      && spec_drop_cap (spec, "CAP_NET_RAW", err) < 0)
    goto fail;
  /* after spec_rewrite: a host namespace gets the contract's refusal */
  if (pod_userns != NULL
      && handler_pod_ns_check (spec, pod, pod_userns, err) < 0)
    goto fail;
  if (ctx->containerd && ctx->idmap_rootfs
      && handler_sysfs_plan (spec, &sys_fresh, err) < 0)
    {
      moat_error_wrap (err, "create `%s`", id);
      goto fail;
    }
  if (ctx->idmap_rootfs)
    {
      clock_gettime (CLOCK_MONOTONIC, &t0);
      if (rootfs_prepare (rundir, spec, sctx.uid_base, sctx.gid_base,
                          sctx.size, &bp, &rrep, err)
          < 0)
        {
          /* a refusal is the contract message, as is */
          if (!bindpol_refusal_p (err))
            moat_error_wrap (err, "create `%s`: root file system", id);
          goto fail;
        }
      t_rootfs = elapsed_ms (&t0);
    }
  if (sys_fresh != NULL
      && handler_sysfs_make (spec, sys_fresh, rundir, err) < 0)
    {
      moat_error_wrap (err, "create `%s`", id);
      goto fail;
    }
  /* A container that writes a host directory as someone other than its
   * caller must not leave set-id files there.  A Kubernetes pod's
   * containers share one user namespace (its sandbox's): a sibling with
   * CAP_SETFCAP or set-id calls could act on a guarded container's bind
   * (through /proc/PID/fd, or by mapping uid 0 into a nested user
   * namespace the guarded one joins), so every container of a pod, and
   * its sandbox, is guarded. */
  pod_guard = ctx->containerd && handler_cri_p (spec);
  if (rrep.host_rw_unconfined > 0 || pod_guard)
    {
      cleanup_free char *m = setid_marker_path (rundir);
      if (spec_guard_setid (spec, err) < 0)
        {
          moat_error_wrap (err, "create `%s`", id);
          goto fail;
        }
      if (m == NULL)
        {
          moat_error (err, ENOMEM, "create `%s`: set-id marker", id);
          goto fail;
        }
      if (fs_mkdir_p (rundir, 0711, err) < 0
          || runtime_write_file (m, "1", err) < 0)
        {
          moat_error_wrap (err, "create `%s`", id);
          goto fail;
        }
      if (rrep.host_rw_unconfined > 0)
        log_info ("%s: set-id guard on (a writable host directory, caller "
                  "%s)",
                  id, bp.caller_root ? "root" : "not id-mapped");
      else
        log_info ("%s: set-id guard on (a pod's containers share its user "
                  "namespace)",
                  id);
    }
  if (rep.lock_mounts)
    {
      struct stat st;
      if (ctx->lock_shim == NULL || stat (ctx->lock_shim, &st) < 0
          || !S_ISREG (st.st_mode))
        {
          moat_error (err, ctx->lock_shim ? errno ? errno : EINVAL : ENOENT,
                      "create `%s`: cannot lock the mounts of a container "
                      "with CAP_SYS_ADMIN: lock shim `%s`",
                      id, ctx->lock_shim ? ctx->lock_shim : "(none)");
          goto fail;
        }
      sup = supervise_wanted_p (spec);
      if (spec_add_lock_shim (spec, ctx->lock_shim, sctx.cap_bound, err) < 0)
        {
          moat_error_wrap (err, "create `%s`", id);
          goto fail;
        }
    }
  if (pod_host_net > 0 && handler_netns_take (spec, rundir, &netfd, err) < 0)
    {
      moat_error_wrap (err, "create `%s`", id);
      goto fail;
    }
  out = json_dumps (spec, JSON_COMPACT);
  if (out == NULL)
    {
      moat_error (err, ENOMEM, "create `%s`: encode spec", id);
      goto fail;
    }
  if (runtime_write_file (config, out, err) < 0)
    {
      moat_error_wrap (err, "create `%s`", id);
      goto fail;
    }

  if (bp.caller_root)
    snprintf (caller, sizeof caller, "root");
  else
    snprintf (caller, sizeof caller, "%" PRIu32 ":%" PRIu32, bp.caller_uid,
              bp.caller_gid);
  log_info ("%s: uid map 0 %" PRIu32 " %" PRIu32 ", gid map 0 %" PRIu32
            " %" PRIu32 "%s%s (range %.1f ms, rootfs %.1f ms, %u idmapped "
            "layers, %u idmapped binds, %u to caller %s)",
            id, sctx.uid_base, sctx.size, sctx.gid_base, sctx.size,
            rep.privileged ? ", privileged" : "",
            rep.lock_mounts ? sup ? ", mounts locked by moat-lock, mount "
                                    "supervisor"
                                  : ", mounts locked by moat-lock"
                            : "",
            t_alloc, t_rootfs, rrep.layers, rrep.binds, rrep.caller_mapped,
            caller);
  if (rep.dropped_caps != NULL)
    log_warn ("%s: capabilities outside this runtime's bounding set left "
              "out: %s",
              id, rep.dropped_caps);
  if (rep.dropped_devices != NULL)
    log_warn ("%s: host devices pruned: %s", id, rep.dropped_devices);
  if (rep.dropped_rules > 0)
    log_info ("%s: device cgroup rebuilt for the devices it keeps (%u allow "
              "rules replaced)",
              id, rep.dropped_rules);
  if (rep.host_ns_allowed)
    log_warn ("%s: shares the host's%s%s%s namespace by node policy "
              "(--moat-allow-host-ns)",
              id,
              rep.host_ns_allowed & (1u << SPEC_NS_NETWORK) ? " network" : "",
              rep.host_ns_allowed & (1u << SPEC_NS_IPC) ? " ipc" : "",
              rep.host_ns_allowed & (1u << SPEC_NS_PID) ? " pid" : "");
  if (rep.added_cgroup_ns)
    log_info ("%s: added a private cgroup namespace", id);
  if (rep.replaced_mappings)
    log_warn ("%s: replaced the id mappings the spec came with", id);

  if (netfd >= 0 && setns (netfd, CLONE_NEWNET) < 0)
    {
      moat_error (err, errno, "create `%s`: join the pod's network namespace",
                  id);
      goto fail;
    }
  if (netfd >= 0)
    log_info ("%s: in its pod's user namespace, network namespace joined by "
              "moat-runc",
              id);
  rc = runtime_run_runc (ctx, args);
  if (rc == 0 && (rep.lock_mounts || rep.privileged))
    {
      const char *pidfile = NULL;
      for (size_t i = 1; args[i] != NULL; i++)
        if (strcmp (args[i], "--pid-file") == 0 && args[i + 1] != NULL)
          pidfile = args[i + 1];
        else if (strncmp (args[i], "--pid-file=", 11) == 0)
          pidfile = args[i] + 11;
      if (rep.privileged
          && delegate_cgroups (id, pidfile, sctx.uid_base, sctx.gid_base, err)
                 < 0)
        {
          moat_error_wrap (err, "create `%s`", id);
          rc = -1;
        }
      if (rc == 0 && rep.lock_mounts
          && record_lock_pending (rundir, pidfile, sup, err) < 0)
        {
          moat_error_wrap (err, "create `%s`", id);
          rc = -1;
        }
    }
  if (rc != 0)
    {
      /* runc failed: nothing of the container exists, give the range and
       * mounts back now (the shim will not call delete for it). */
      char *del[] = { "delete", "--force", (char *)id, NULL };
      run_runc_quiet (ctx, del);
      release_all (ctx, id, false);
    }
  goto out;

fail:
  rc = -1;
  if (bindpol_refusal_p (err))
    audit_refusal (ctx, id, moat_error_msg (err));
  idpool_close (pool);
  pool = NULL;
  release_all (ctx, id, false);
out:
  idpool_close (pool);
  bindpol_free (&bp);
  spec_report_free (&rep);
  json_decref (spec);
  return rc;
}

int
runtime_exec (const struct runtime_ctx *ctx, char *const *args,
              moat_error_t *err)
{
  const char *id = handler_exec_id (args);
  cleanup_free char *rundir = NULL;
  cleanup_free char *marker = NULL;
  cleanup_free char **guarded = NULL;

  if (id != NULL && runtime_id_valid_p (id))
    {
      rundir = container_run_dir (ctx, id);
      marker = rundir != NULL ? setid_marker_path (rundir) : NULL;
      if (marker == NULL)
        return moat_error (err, ENOMEM, "exec `%s`", id);
      if (ctx->containerd && handler_netns_join_recorded (rundir, err) < 0)
        return moat_error_wrap (err, "exec `%s`", id);
      if (access (marker, F_OK) == 0
          && spec_guard_setid_exec (id, args, &guarded, err) < 0)
        return -1;
    }
  return runtime_exec_runc (ctx, guarded != NULL ? guarded : args, err);
}

int
runtime_start (const struct runtime_ctx *ctx, char *const *args,
               moat_error_t *err)
{
  static const char *const valued[] = { NULL };
  const char *id = last_positional (args, valued);
  cleanup_free char *rundir = NULL;
  cleanup_free char *marker = NULL;
  cleanup_free char *data = NULL;
  char path[64];
  unsigned long long ino;
  struct timespec t0;
  long pid;
  int sup = 0;
  size_t len;
  int rc;

  if (id == NULL || !runtime_id_valid_p (id))
    return runtime_exec_runc (ctx, args, err);
  rundir = container_run_dir (ctx, id);
  marker = rundir ? lock_marker_path (rundir) : NULL;
  if (marker == NULL)
    return moat_error (err, ENOMEM, "start `%s`", id);
  /* Not a locked container (create wrote the marker before it
   * returned): runc in this process, nothing to wait for. */
  if (access (marker, F_OK) < 0)
    return runtime_exec_runc (ctx, args, err);
  rc = runtime_run_runc (ctx, args);
  if (rc != 0)
    return rc;
  if (fs_read_file (marker, 128, &data, &len, err) < 0)
    return moat_error_wrap (err, "start `%s`", id);
  if (sscanf (data, "%ld %llu %d", &pid, &ino, &sup) < 2 || pid <= 0)
    return moat_error (err, EINVAL, "start `%s`: bad lock marker", id);
  snprintf (path, sizeof path, "/proc/%ld/ns/mnt", pid);
  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (int waited = 0;; waited++)
    {
      struct stat st;
      struct timespec ms = { 0, 1000000 };
      /* Gone (the command failed or exited at once): nothing to lock. */
      if (stat (path, &st) < 0 || (unsigned long long)st.st_ino != ino)
        break;
      if (waited >= RUNTIME_LOCK_WAIT_MS)
        {
          char *kill_[] = { "kill", (char *)id, "KILL", NULL };
          run_runc_quiet (ctx, kill_);
          return moat_error (err, ETIMEDOUT,
                             "start `%s`: the container did not lock its "
                             "mounts within %d ms; killed it",
                             id, RUNTIME_LOCK_WAIT_MS);
        }
      nanosleep (&ms, NULL);
    }
  unlink (marker);
  log_info ("%s: mounts locked %.1f ms after runc start returned", id,
            elapsed_ms (&t0));
  if (sup && kill ((pid_t)pid, 0) == 0)
    {
      if (supervise_start (id, (pid_t)pid, rundir, err) < 0)
        {
          char *kill_[] = { "kill", (char *)id, "KILL", NULL };
          run_runc_quiet (ctx, kill_);
          return moat_error_wrap (err, "start `%s`; killed it", id);
        }
      log_info ("%s: mount supervisor up %.1f ms after runc start returned",
                id, elapsed_ms (&t0));
    }
  return 0;
}

int
runtime_delete (const struct runtime_ctx *ctx, char *const *args,
                moat_error_t *err)
{
  static const char *const valued[] = { NULL };
  const char *id = last_positional (args, valued);
  cleanup_free char *state = NULL;
  bool knew;
  int rc;

  if (id == NULL || !runtime_id_valid_p (id))
    return runtime_run_runc (ctx, args);
  /* A container runc still knows (its state.json) may hold a range with
   * no marker: an older moat-runc made none (nor, --moat-no-idmap-rootfs,
   * a run directory).  The shim's second delete finds no state: no pool. */
  if (asprintf (&state, "%s/%s/state.json", runc_root (ctx), id) < 0)
    state = NULL; /* in doubt: open the pool */
  knew = state == NULL || access (state, F_OK) == 0;
  rc = runtime_run_runc (ctx, args);
  /* Release only once runc has forgotten the container: a failed delete of
   * a running container must keep its range.  A failed delete of a
   * container runc never knew (the shim's cleanup after a failed create)
   * releases too. */
  if (rc == 0)
    release_all (ctx, id, knew);
  else
    {
      char *st[] = { "state", (char *)id, NULL };
      if (run_runc_quiet (ctx, st) != 0)
        release_all (ctx, id, knew);
    }
  return rc;
}
