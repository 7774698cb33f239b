/* Keys and pods of moat-runc as a containerd runtime handler (handler.h). */
#include "handler.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "runtime/bindpol.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

char *
handler_key (const char *runc_root, const char *id)
{
  char *s = NULL;
  size_t n = strlen (runc_root);
  /* "/run/x/" and "/run/x" are one root */
  while (n > 1 && runc_root[n - 1] == '/')
    n--;
  if (asprintf (&s, "%.*s/%s", (int)n, runc_root, id) < 0)
    return NULL;
  return s;
}

int
handler_split_key (const char *key, char **root, char **id, moat_error_t *err)
{
  const char *slash = strrchr (key, '/');
  *root = *id = NULL;
  if (slash == NULL || slash == key || slash[1] == '\0')
    return moat_error (err, EINVAL, "`%s` is not a handler key", key);
  *root = strndup (key, (size_t)(slash - key));
  *id = strdup (slash + 1);
  if (*root == NULL || *id == NULL)
    {
      free (*root);
      free (*id);
      *root = *id = NULL;
      return moat_error (err, ENOMEM, "split key");
    }
  return 0;
}

char *
handler_scope (const char *runc_root)
{
  uint64_t h = 14695981039346656037ull;
  char *s = NULL;
  size_t n = strlen (runc_root);
  while (n > 1 && runc_root[n - 1] == '/')
    n--;
  for (size_t i = 0; i < n; i++)
    {
      h ^= (unsigned char)runc_root[i];
      h *= 1099511628211ull;
    }
  if (asprintf (&s, "ctd-%016" PRIx64, h) < 0)
    return NULL;
  return s;
}

int
handler_pod_sandbox (json_t *spec, const char **sandbox_id, moat_error_t *err)
{
  json_t *ann = json_object_get (spec, "annotations");
  const char *type
      = json_string_value (json_object_get (ann, HANDLER_ANN_TYPE));
  const char *sid
      = json_string_value (json_object_get (ann, HANDLER_ANN_SANDBOX));

  *sandbox_id = NULL;
  if (type == NULL || strcmp (type, "sandbox") == 0)
    return 0;
  if (strcmp (type, "container") != 0)
    return moat_error (err, EINVAL, "annotation %s: unknown type `%s`",
                       HANDLER_ANN_TYPE, type);
  if (sid == NULL || !runtime_id_valid_p (sid))
    return moat_error (err, EINVAL,
                       "a CRI container without a valid %s annotation",
                       HANDLER_ANN_SANDBOX);
  *sandbox_id = sid;
  return 0;
}

int
handler_parse_host_ns (const char *list, unsigned *mask, moat_error_t *err)
{
  const char *p = list;
  *mask = 0;
  while (*p != '\0')
    {
      size_t n = strcspn (p, ",");
      if (n == 7 && strncmp (p, "network", n) == 0)
        *mask |= 1u << SPEC_NS_NETWORK;
      else if (n == 3 && strncmp (p, "ipc", n) == 0)
        *mask |= 1u << SPEC_NS_IPC;
      else if (n == 3 && strncmp (p, "pid", n) == 0)
        *mask |= 1u << SPEC_NS_PID;
      else if (n > 0)
        return moat_error (err, EINVAL,
                           "--moat-allow-host-ns: `%.*s` is not one of "
                           "network, ipc, pid",
                           (int)n, p);
      p += n;
      if (*p == ',')
        p++;
    }
  return 0;
}

int
handler_cri_p (json_t *spec)
{
  return json_string_value (json_object_get (
             json_object_get (spec, "annotations"), HANDLER_ANN_TYPE))
         != NULL;
}

#define TASK_DIR "/io.containerd.runtime.v2.task/"
#define CRI_DIR "io.containerd.grpc.v1.cri/sandboxes"
#define CRI_VOLUMES "io.containerd.grpc.v1.cri/containers/%s/volumes"

/* The containerd directory a task path lies in: the prefix before
 * TASK_DIR (malloc'd), or NULL. */
static char *
ctd_dir_of (const char *task_path)
{
  const char *t = task_path ? strstr (task_path, TASK_DIR) : NULL;
  if (t == NULL || t == task_path)
    return NULL;
  return strndup (task_path, (size_t)(t - task_path));
}

int
handler_pod_binds (struct bindpol *bp, json_t *spec, const char *bundle,
                   const char *id, const char *kubelet_root, moat_error_t *err)
{
  json_t *ann = json_object_get (spec, "annotations");
  const char *type
      = json_string_value (json_object_get (ann, HANDLER_ANN_TYPE));
  const char *uid
      = json_string_value (json_object_get (ann, HANDLER_ANN_POD_UID));
  const char *sid = NULL;
  cleanup_free char *real = realpath (bundle, NULL);
  cleanup_free char *work = NULL, *wreal = NULL;
  cleanup_free char *state = NULL, *root = NULL;
  int r = 0;

  if (type == NULL)
    return 0;
  if (strcmp (type, "sandbox") == 0)
    sid = id;
  else if (handler_pod_sandbox (spec, &sid, err) < 0)
    return -1;
  if (asprintf (&work, "%s/work", bundle) < 0)
    return moat_error (err, ENOMEM, "pod binds");
  wreal = realpath (work, NULL);
  state = ctd_dir_of (real);
  root = ctd_dir_of (wreal);
  for (int i = 0; i < 2; i++)
    {
      const char *d = i == 0 ? root : state;
      cleanup_free char *dir = NULL;
      if (d == NULL)
        continue;
      if (asprintf (&dir, "%s/" CRI_DIR "/%s", d, sid) < 0)
        return moat_error (err, ENOMEM, "pod binds");
      r |= bindpol_add_pod_dir (bp, dir);
      /* the image's VOLUMEs: CRI's directories of this container (its
       * runc id, not an annotation) */
      free (dir);
      dir = NULL;
      if (asprintf (&dir, "%s/" CRI_VOLUMES, d, id) < 0)
        {
          dir = NULL;
          return moat_error (err, ENOMEM, "pod binds");
        }
      r |= bindpol_add_pod_dir (bp, dir);
      r |= bindpol_add_protected (bp, d);
    }
  if (uid != NULL && runtime_id_valid_p (uid))
    {
      cleanup_free char *dir = NULL;
      if (asprintf (&dir, "%s/pods/%s", kubelet_root, uid) < 0)
        return moat_error (err, ENOMEM, "pod binds");
      r |= bindpol_add_pod_dir (bp, dir);
    }
  r |= bindpol_add_protected (bp, kubelet_root);
  if (r != 0)
    return moat_error (err, ENOMEM, "pod binds");
  return 0;
}

/* The network namespace entry's path ("" for the host's: no entry,
 * allowed by policy). */
static const char *
netns_path (json_t *spec)
{
  json_t *ns;
  size_t i;
  json_array_foreach (
      json_object_get (json_object_get (spec, "linux"), "namespaces"), i, ns)
  {
    const char *t = json_string_value (json_object_get (ns, "type"));
    if (t != NULL && strcmp (t, "network") == 0)
      {
        const char *p = json_string_value (json_object_get (ns, "path"));
        return p != NULL ? p : NULL;
      }
  }
  return "";
}

int
handler_netns_host_owned (json_t *spec, moat_error_t *err)
{
  const char *path = netns_path (spec);
  if (path == NULL)
    return 0; /* a network namespace of its own */
  if (*path != '\0')
    {
      cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
      cleanup_close int owner = -1;
      struct stat a, b;
      if (fd < 0)
        return moat_error (err, errno, "open `%s`", path);
      owner = ioctl (fd, NS_GET_USERNS);
      if (owner < 0 || fstat (owner, &a) < 0
          || stat ("/proc/self/ns/user", &b) < 0)
        return moat_error (err, errno, "owner of network namespace `%s`",
                           path);
      if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return 0; /* another container's: binds_share_netns_sysfs */
    }
  return 1;
}

int
handler_sysfs_plan (json_t *spec, json_t **sys, moat_error_t *err)
{
  json_t *m;
  size_t i;
  int r;

  *sys = NULL;
  r = handler_netns_host_owned (spec, err);
  if (r <= 0)
    return r;
  json_array_foreach (json_object_get (spec, "mounts"), i, m)
  {
    const char *d = json_string_value (json_object_get (m, "destination"));
    const char *t = json_string_value (json_object_get (m, "type"));
    if (d != NULL && t != NULL && strcmp (d, "/sys") == 0
        && strcmp (t, "sysfs") == 0)
      {
        if (json_object_set_new (m, "type", json_string ("moat-sysfs")) < 0)
          return moat_error (err, ENOMEM, "sysfs");
        *sys = m;
        return 1;
      }
  }
  return 0;
}

int
handler_sysfs_make (json_t *spec, json_t *sys, const char *run_dir,
                    moat_error_t *err)
{
  const char *path = netns_path (spec);
  cleanup_free char *target = NULL;
  json_t *opts;
  int pfd[2], status;
  char msg[160];
  ssize_t n;
  pid_t pid;

  if (asprintf (&target, "%s/sys", run_dir) < 0)
    return moat_error (err, ENOMEM, "sysfs");
  if (mkdir (target, 0711) < 0 && errno != EEXIST)
    return moat_error (err, errno, "mkdir `%s`", target);
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return moat_error (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    {
      close (pfd[0]);
      close (pfd[1]);
      return moat_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      /* joins the network namespace only: the mount is made and attached
       * in moat-runc's own (the host's) mount namespace */
      const char *step = "open the network namespace";
      int fd = -1, fs = -1, mfd = -1;
      close (pfd[0]);
      if (path != NULL && *path != '\0')
        {
          fd = open (path, O_RDONLY | O_CLOEXEC);
          if (fd < 0 || (step = "join it", setns (fd, CLONE_NEWNET) < 0))
            goto child_fail;
        }
      step = "fsopen sysfs";
      fs = (int)syscall (SYS_fsopen, "sysfs", FSOPEN_CLOEXEC);
      if (fs < 0)
        goto child_fail;
      step = "create sysfs";
      if (syscall (SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        goto child_fail;
      step = "fsmount sysfs";
      mfd = (int)syscall (SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                          MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID
                              | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
      if (mfd < 0)
        goto child_fail;
      step = "attach sysfs";
      if (syscall (SYS_move_mount, mfd, "", AT_FDCWD, target,
                   MOVE_MOUNT_F_EMPTY_PATH)
          < 0)
        goto child_fail;
      _exit (0);
    child_fail:
      n = snprintf (msg, sizeof msg, "%s: %s", step, strerror (errno));
      if (n > 0)
        (void)!write (pfd[1], msg, (size_t)n);
      _exit (1);
    }
  close (pfd[1]);
  n = read (pfd[0], msg, sizeof msg - 1);
  close (pfd[0]);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return moat_error (err, errno, "wait for the sysfs helper");
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      msg[n > 0 ? n : 0] = '\0';
      return moat_error (err, EIO, "sysfs for network namespace `%s`: %s",
                         path && *path ? path : "(the host's)",
                         n > 0 ? msg : "helper failed");
    }
  opts = json_pack ("[s,s,s,s,s]", "rbind", "ro", "nosuid", "nodev", "noexec");
  if (opts == NULL || json_object_set_new (sys, "type", json_string ("bind"))
      || json_object_set_new (sys, "source", json_string (target))
      || json_object_set_new (sys, "options", opts))
    return moat_error (err, ENOMEM, "sysfs");
  return 0;
}

int
handler_netns_take (json_t *spec, const char *run_dir, int *fd,
                    moat_error_t *err)
{
  json_t *nss
      = json_object_get (json_object_get (spec, "linux"), "namespaces");
  cleanup_free char *rec = NULL;
  const char *path = NULL;
  size_t i, at = 0;
  json_t *ns;
  int nfd;

  *fd = -1;
  json_array_foreach (nss, i, ns)
  {
    const char *t = json_string_value (json_object_get (ns, "type"));
    if (t != NULL && strcmp (t, "network") == 0)
      {
        path = json_string_value (json_object_get (ns, "path"));
        at = i;
      }
  }
  if (path == NULL || *path == '\0')
    return 0; /* a namespace of its own, or the host's (nothing to join) */
  nfd = open (path, O_RDONLY | O_CLOEXEC);
  if (nfd < 0)
    return moat_error (err, errno, "open network namespace `%s`", path);
  if (ioctl (nfd, NS_GET_NSTYPE) != CLONE_NEWNET)
    {
      close (nfd);
      return moat_error (err, EINVAL, "`%s` is not a network namespace", path);
    }
  if (asprintf (&rec, "%s/%s", run_dir, HANDLER_NETNS_RECORD) < 0)
    {
      rec = NULL;
      close (nfd);
      return moat_error (err, ENOMEM, "netns record");
    }
  if (fs_mkdir_p (run_dir, 0711, err) < 0
      || runtime_write_file (rec, path, err) < 0)
    {
      close (nfd);
      return -1;
    }
  if (json_array_remove (nss, at) < 0)
    {
      close (nfd);
      return moat_error (err, ENOMEM, "network namespace entry");
    }
  *fd = nfd;
  return 1;
}

int
handler_netns_join_recorded (const char *run_dir, moat_error_t *err)
{
  cleanup_free char *rec = NULL, *path = NULL;
  cleanup_close int nfd = -1;
  size_t len;

  if (asprintf (&rec, "%s/%s", run_dir, HANDLER_NETNS_RECORD) < 0)
    return moat_error (err, ENOMEM, "netns record");
  if (access (rec, F_OK) < 0)
    return 0;
  if (fs_read_file (rec, PATH_MAX, &path, &len, err) < 0)
    return -1;
  if (len == 0 || strlen (path) != len)
    return moat_error (err, EINVAL, "bad netns record `%s`", rec);
  nfd = open (path, O_RDONLY | O_CLOEXEC);
  if (nfd < 0)
    return moat_error (err, errno, "open network namespace `%s`", path);
  if (ioctl (nfd, NS_GET_NSTYPE) != CLONE_NEWNET)
    return moat_error (err, EINVAL, "`%s` is not a network namespace", path);
  if (setns (nfd, CLONE_NEWNET) < 0)
    return moat_error (err, errno, "join network namespace `%s`", path);
  return 1;
}

/* /proc/PID/ns/ names of the spec's namespace types */
static const char *
proc_ns_name (const char *type)
{
  static const char *const map[][2]
      = { { "network", "net" }, { "ipc", "ipc" },   { "uts", "uts" },
          { "pid", "pid" },     { "mount", "mnt" }, { "cgroup", "cgroup" },
          { "time", "time" },   { NULL, NULL } };
  for (size_t i = 0; map[i][0] != NULL; i++)
    if (strcmp (type, map[i][0]) == 0)
      return map[i][1];
  return NULL;
}

static int
same_file (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int
handler_pod_ns_check (json_t *spec, const char *sid, const char *pod_userns,
                      moat_error_t *err)
{
  json_t *ns;
  size_t i;
  long pid;
  char extra;
  struct stat podu;

  if (sscanf (pod_userns, "/proc/%ld/ns/use%c", &pid, &extra) != 2
      || extra != 'r' || pid <= 0 || stat (pod_userns, &podu) < 0)
    return moat_error (err, EINVAL, "pod sandbox `%s`: user namespace `%s`",
                       sid, pod_userns);
  json_array_foreach (
      json_object_get (json_object_get (spec, "linux"), "namespaces"), i, ns)
  {
    const char *t = json_string_value (json_object_get (ns, "type"));
    const char *p = json_string_value (json_object_get (ns, "path"));
    const char *pn = t != NULL ? proc_ns_name (t) : NULL;
    cleanup_close int fd = -1, owner = -1;
    struct stat a, b, o;
    char sp[64];

    if (t == NULL || strcmp (t, "user") == 0 || p == NULL || *p == '\0')
      continue;
    fd = open (p, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat (fd, &a) < 0)
      return moat_error (err, errno, "open %s namespace `%s`", t, p);
    if (pn != NULL)
      {
        snprintf (sp, sizeof sp, "/proc/%ld/ns/%s", pid, pn);
        if (stat (sp, &b) == 0 && same_file (&a, &b))
          continue; /* the sandbox's own */
      }
    owner = ioctl (fd, NS_GET_USERNS);
    if (owner >= 0 && fstat (owner, &o) == 0 && same_file (&o, &podu))
      continue; /* made in the pod's user namespace: the pod's */
    /* status 0: a refusal, audited like the others (bindpol_refusal_p) */
    return moat_error (err, 0,
                       "enhanced container isolation: a container of pod "
                       "sandbox `%s` can only join its pod's namespaces, "
                       "not the %s namespace `%s`",
                       sid, t, p);
  }
  return 0;
}

/* The container id of `exec [opts] ID [CMD...]` (runc 1.1's options);
 * NULL when an option is not known (then nothing is joined). */
const char *
handler_exec_id (char *const *args)
{
  static const char *const valued[] = { "--console-socket",
                                        "--pid-file",
                                        "--process",
                                        "-p",
                                        "--cwd",
                                        "--env",
                                        "-e",
                                        "--user",
                                        "-u",
                                        "--additional-gids",
                                        "-g",
                                        "--process-label",
                                        "--apparmor",
                                        "--cap",
                                        "-c",
                                        "--preserve-fds",
                                        "--cgroup",
                                        NULL };
  static const char *const flags[]
      = { "--tty",           "-t", "--detach", "-d", "--no-new-privs",
          "--ignore-paused", NULL };
  for (size_t i = 1; args[i] != NULL; i++)
    {
      const char *a = args[i];
      size_t k;
      int known = 0;
      if (a[0] != '-')
        return a;
      if (strncmp (a, "--", 2) == 0 && strchr (a, '=') != NULL)
        continue;
      for (k = 0; valued[k] != NULL && !known; k++)
        if (strcmp (a, valued[k]) == 0)
          {
            if (args[++i] == NULL)
              return NULL;
            known = 1;
          }
      for (k = 0; flags[k] != NULL && !known; k++)
        known = strcmp (a, flags[k]) == 0;
      if (!known)
        return NULL;
    }
  return NULL;
}
