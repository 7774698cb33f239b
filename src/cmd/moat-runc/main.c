/* moat-runc: the OCI runtime containerd's runc shim calls.
 *
 * Accepts runc's command line.  Options of its own come first and are
 * removed before runc sees the rest (dockerd passes them from daemon.json
 * "runtimeArgs"):
 *   --moat-root DIR      $MOAT_ROOT (default: the MOAT_ROOT environment
 *                        variable, else /): id pool in DIR/etc/subuid,
 *                        DIR/etc/subgid, state in DIR/var/lib/moat/state.db,
 *                        mounts under DIR/run/moat/runc/<id>
 *   --moat-runc PATH     the runtime to delegate to (default /usr/sbin/runc)
 *   --moat-protect PATH  a socket no bind mount may expose, beside moat's own
 *                        and Docker's default ones (repeatable)
 *   --moat-no-idmap-rootfs  keep Docker's rootfs and bind mounts as they are
 *                        (the container's root then owns nothing on them)
 *   --moat-lock PATH     the lock shim for containers with CAP_SYS_ADMIN
 *                        (default: moat-lock beside this program)
 *   --moat-containerd    called as a containerd runtime handler
 *                        (Kubernetes): ranges keyed by runc's --root and
 *                        the id, one range per CRI pod (handler.h)
 *   --moat-allow-host-ns LIST  with --moat-containerd: host namespaces
 *                        (network,ipc,pid) CRI pods may ask for
 *   --moat-kubelet-root DIR  the kubelet's root (default /var/lib/kubelet):
 *                        a pod's files under DIR/pods/<uid> may be bound
 * Called by a path NAME with NAME.conf beside it, the file's options come
 * first (conf.h: containerd's BinaryName a link to moat-runc).
 * `create`, `start` and `delete` do moat's part (src/runtime/runtime.h); every
 * other verb is exec'd into runc unchanged.  `moat-reconcile` (moat's own
 * verb) releases ranges of containers runc no longer knows; `moat-pool`
 * prints the pool and the other roots on this host that share it;
 * `moat-fresh-mount
 * PID proc|sysfs TARGET` attaches a fresh, masked and locked procfs or
 * sysfs for PID. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "runtime/handler.h"
#include "runtime/procfs.h"
#include "runtime/runtime.h"

#include "conf.h"

#define MOAT_RUNC_VERSION "0.1.0"

struct globals
{
  const char *moat_root;
  const char *runc_path;
  const char *log_path;
  const char *log_format;
  int no_idmap;
  int containerd;
  const char *runc_root;
  const char *allow_host_ns;
  const char *kubelet_root;
  const char *lock_shim;
  const char **protect; /* NULL-terminated */
  size_t nprotect;
  char **runc_argv; /* runc + passed-through globals */
  size_t n;
};

/* runc's global options that take a value. */
static int
valued_global_p (const char *a)
{
  static const char *const v[]
      = { "--root", "--log", "--log-format", "--criu", "--rootless", NULL };
  for (size_t i = 0; v[i] != NULL; i++)
    if (strcmp (a, v[i]) == 0)
      return 1;
  return 0;
}

static const char *
opt_eq (const char *a, const char *name)
{
  size_t n = strlen (name);
  if (strncmp (a, name, n) == 0 && a[n] == '=')
    return a + n + 1;
  return NULL;
}

/* Split argv into our options, runc's globals and the command; returns the
 * index of the command (argc if none). */
static int
parse_globals (int argc, char **argv, struct globals *g)
{
  int i;
  g->runc_argv = calloc ((size_t)argc + 2, sizeof *g->runc_argv);
  g->protect = calloc ((size_t)argc + 1, sizeof *g->protect);
  if (g->runc_argv == NULL || g->protect == NULL)
    return -1;
  g->runc_argv[g->n++] = (char *)g->runc_path;
  for (i = 1; i < argc; i++)
    {
      const char *a = argv[i], *v;
      if (a[0] != '-')
        break;
      if (strcmp (a, "--moat-root") == 0 && i + 1 < argc)
        {
          g->moat_root = argv[++i];
          continue;
        }
      if ((v = opt_eq (a, "--moat-root")) != NULL)
        {
          g->moat_root = v;
          continue;
        }
      if (strcmp (a, "--moat-runc") == 0 && i + 1 < argc)
        {
          g->runc_path = g->runc_argv[0] = argv[++i];
          continue;
        }
      if (strcmp (a, "--moat-protect") == 0 && i + 1 < argc)
        {
          g->protect[g->nprotect++] = argv[++i];
          continue;
        }
      if (strcmp (a, "--moat-lock") == 0 && i + 1 < argc)
        {
          g->lock_shim = argv[++i];
          continue;
        }
      if (strcmp (a, "--moat-no-idmap-rootfs") == 0)
        {
          g->no_idmap = 1;
          continue;
        }
      if (strcmp (a, "--moat-containerd") == 0)
        {
          g->containerd = 1;
          continue;
        }
      if (strcmp (a, "--moat-kubelet-root") == 0 && i + 1 < argc)
        {
          g->kubelet_root = argv[++i];
          continue;
        }
      if (strcmp (a, "--moat-allow-host-ns") == 0 && i + 1 < argc)
        {
          g->allow_host_ns = argv[++i];
          continue;
        }
      g->runc_argv[g->n++] = argv[i];
      if (strcmp (a, "--log") == 0 && i + 1 < argc)
        g->log_path = argv[i + 1];
      else if ((v = opt_eq (a, "--log")) != NULL)
        g->log_path = v;
      if (strcmp (a, "--root") == 0 && i + 1 < argc)
        g->runc_root = argv[i + 1];
      else if ((v = opt_eq (a, "--root")) != NULL)
        g->runc_root = v;
      if (strcmp (a, "--log-format") == 0 && i + 1 < argc)
        g->log_format = argv[i + 1];
      else if ((v = opt_eq (a, "--log-format")) != NULL)
        g->log_format = v;
      if (valued_global_p (a) && i + 1 < argc)
        g->runc_argv[g->n++] = argv[++i];
    }
  return i;
}

/* moat-lock installed beside moat-runc (build/, /usr/local/sbin). */
static char *
default_lock_shim (void)
{
  char self[4096], *slash, *s = NULL;
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return NULL;
  self[n] = '\0';
  slash = strrchr (self, '/');
  if (slash == NULL)
    return NULL;
  *slash = '\0';
  if (asprintf (&s, "%s/moat-lock", self) < 0)
    return NULL;
  return s;
}

/* Errors go to runc's log (the shim reports the last "error" line of it
 * as the reason create failed) and to stderr. */
static int
fail (moat_error_t *err)
{
  log_error ("%s", moat_error_msg (err));
  fprintf (stderr, "moat-runc: %s\n", moat_error_msg (err));
  return 1;
}

int
main (int argc, char **argv)
{
  struct globals g = { .runc_path = "/usr/sbin/runc" };
  struct runtime_ctx ctx = { 0 };
  cleanup_error moat_error_t err = NULL;
  enum moat_log_format fmt = MOAT_LOG_HUMAN;
  const char *cmd;
  int ci, rc, logfd = 2;

  /* Called by a name with NAME.conf beside it (containerd's BinaryName
   * a link to moat-runc): the file's options come first (conf.h). */
  int conf_rc = conf_apply (&argc, &argv, &err);
  ci = parse_globals (argc, argv, &g);
  if (ci < 0)
    return 1;
  cmd = ci < argc ? argv[ci] : NULL;

  if (g.log_path != NULL)
    {
      logfd
          = open (g.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
      if (logfd < 0)
        logfd = 2;
    }
  if (g.log_format != NULL)
    moat_log_format_parse (g.log_format, &fmt);
  moat_log_init ("moat-runc", fmt, MOAT_LOG_INFO, logfd);
  /* after the log is open: the shim reports its last error line */
  if (conf_rc < 0)
    return fail (&err);

  if (cmd == NULL || strcmp (cmd, "--version") == 0 || strcmp (cmd, "-v") == 0)
    {
      /* `runc --version` is parsed as a global flag: print ours first. */
      for (int i = 1; i < argc; i++)
        if (strcmp (argv[i], "--version") == 0 || strcmp (argv[i], "-v") == 0)
          {
            printf ("moat-runc version %s\n", MOAT_RUNC_VERSION);
            fflush (stdout);
            break;
          }
    }

  /* Installed as `runc` first in dockerd's PATH, moat-runc also catches
   * --runtime=runc, which takes no runtimeArgs: MOAT_ROOT then comes from
   * the environment dockerd passed down through containerd. */
  if (g.moat_root == NULL)
    g.moat_root = getenv ("MOAT_ROOT");
  ctx.runc_path = g.runc_path;
  ctx.runc_globals = g.runc_argv;
  ctx.idmap_rootfs = !g.no_idmap;
  ctx.protect = g.protect;
  ctx.containerd = g.containerd;
  ctx.runc_root = g.runc_root;
  ctx.kubelet_root = g.kubelet_root;
  if (g.allow_host_ns != NULL
      && handler_parse_host_ns (g.allow_host_ns, &ctx.allow_host_ns, &err) < 0)
    return fail (&err);
  cleanup_free char *lock_default = NULL;
  if (g.lock_shim == NULL)
    g.lock_shim = lock_default = default_lock_shim ();
  ctx.lock_shim = g.lock_shim;
  if (moat_paths_init (&ctx.paths, g.moat_root, &err) < 0)
    return fail (&err);

  if (cmd != NULL && strcmp (cmd, "create") == 0)
    {
      rc = runtime_create (&ctx, argv + ci, &err);
      if (rc < 0)
        rc = fail (&err);
    }
  else if (cmd != NULL && strcmp (cmd, "start") == 0)
    {
      rc = runtime_start (&ctx, argv + ci, &err);
      if (rc < 0)
        rc = fail (&err);
    }
  else if (cmd != NULL && strcmp (cmd, "exec") == 0)
    {
      runtime_exec (&ctx, argv + ci, &err);
      rc = fail (&err);
    }
  else if (cmd != NULL && strcmp (cmd, "delete") == 0)
    rc = runtime_delete (&ctx, argv + ci, &err);
  else if (cmd != NULL
           && (strcmp (cmd, "run") == 0 || strcmp (cmd, "restore") == 0))
    {
      /* Both make a container from a bundle without `create`: handed to
       * runc they would skip the user namespace, the range, the checks. */
      moat_error (&err, EPERM,
                  "`%s` is not supported: it would start a container "
                  "without moat-runc's isolation; use create and start",
                  cmd);
      rc = fail (&err);
    }
  else if (cmd != NULL && strcmp (cmd, "moat-reconcile") == 0)
    {
      unsigned released = 0;
      rc = runtime_reconcile (&ctx, &released, &err) < 0 ? fail (&err) : 0;
      if (rc == 0)
        printf ("released %u stale id range%s\n", released,
                released == 1 ? "" : "s");
    }
  else if (cmd != NULL && strcmp (cmd, "moat-pool") == 0)
    {
      /* the pool and the other live roots that share it (runtime.h) */
      char *json = NULL;
      rc = runtime_pool_report (&ctx, &json, &err) < 0 ? fail (&err) : 0;
      if (rc == 0)
        printf ("%s\n", json);
      free (json);
    }
  else if (cmd != NULL && strcmp (cmd, "moat-fresh-mount") == 0)
    {
      /* moat-fresh-mount PID proc|sysfs|debugfs|tracefs TARGET: a fresh,
       * masked, locked procfs or sysfs (or the inert tmpfs for debugfs and
       * tracefs) for PID at TARGET (procfs.h; the mount supervisor's
       * building block) */
      char *const *a = argv + ci;
      long pid = a[1] != NULL ? strtol (a[1], NULL, 10) : 0;
      if (pid <= 0 || a[2] == NULL || a[3] == NULL)
        {
          moat_error (&err, EINVAL,
                      "usage: moat-fresh-mount PID "
                      "proc|sysfs|debugfs|tracefs TARGET");
          rc = fail (&err);
        }
      else
        rc = procfs_attach ((pid_t)pid, a[2], a[3], &err) < 0 ? fail (&err)
                                                              : 0;
    }
  else
    {
      runtime_exec_runc (&ctx, cmd != NULL ? argv + ci : argv + argc, &err);
      rc = fail (&err);
    }
  moat_paths_free (&ctx.paths);
  free (g.runc_argv);
  free (g.protect);
  return rc;
}
