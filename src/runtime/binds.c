/* A container's bind mounts: each source opened once, judged (bindpol.h),
 * id-mapped and attached below the run dir (see rootfs.h); and the /sys of
 * a joined network namespace, a bind of that container's own sysfs. */
#include "rootfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asuser.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/refusal.h"

int
binds_is_bind (json_t *m)
{
  const char *type = json_string_value (json_object_get (m, "type"));
  json_t *opts = json_object_get (m, "options");
  size_t i;
  json_t *o;
  if (type != NULL && strcmp (type, "bind") == 0)
    return 1;
  json_array_foreach (opts, i, o)
  {
    const char *s = json_string_value (o);
    if (s != NULL && (strcmp (s, "bind") == 0 || strcmp (s, "rbind") == 0))
      return strcmp (s, "rbind") == 0 ? 2 : 1;
  }
  return 0;
}

static int
has_opt (json_t *m, const char *want)
{
  size_t i;
  json_t *o;
  json_array_foreach (json_object_get (m, "options"), i, o)
  {
    const char *s = json_string_value (o);
    if (s != NULL && strcmp (s, want) == 0)
      return 1;
  }
  return 0;
}

/* The flags the container's user namespace will lock on the pinned copy
 * (nodev: pin_bind sets it; nosuid, noexec: the source mount's, which the
 * clone keeps) must be in the spec's options too: runc 1.1 remounts a
 * bind with exactly the options' flags, and a remount that would clear a
 * locked flag fails with EPERM (CRI's sandbox /dev/shm: a nosuid,noexec
 * tmpfs bound "ro").  Adding them only narrows what the container gets. */
static int
keep_locked_flags (json_t *m, int fd, moat_error_t *err)
{
  struct statfs sf;
  json_t *opts = json_object_get (m, "options");
  const char *add[3];
  size_t n = 0;

  if (fstatfs (fd, &sf) < 0)
    return moat_error (err, errno, "statfs of a bind mount source");
  add[n++] = "nodev";
  if (sf.f_flags & ST_NOSUID)
    add[n++] = "nosuid";
  if (sf.f_flags & ST_NOEXEC)
    add[n++] = "noexec";
  if (opts == NULL)
    {
      opts = json_array ();
      if (opts == NULL || json_object_set_new (m, "options", opts) < 0)
        return moat_error (err, ENOMEM, "bind options");
    }
  for (size_t i = 0; i < n; i++)
    if (!has_opt (m, add[i])
        && json_array_append_new (opts, json_string (add[i])) < 0)
      return moat_error (err, ENOMEM, "bind options");
  return 0;
}

/* Pin one bind source: fd (O_PATH, the source as the kernel resolved it
 * once) is cloned, id-mapped through userns_fd when its file system
 * allows, and attached at target; nothing resolves the source path
 * again.  *mapped tells whether the id mapping took. */
static int
pin_bind (int fd, const char *src, const char *target, int userns_fd,
          int recursive, int rdonly, int *mapped, moat_error_t *err)
{
  cleanup_close int tree = -1;
  struct mount_attr attr = { 0 };
  unsigned rec = recursive ? AT_RECURSIVE : 0;

  tree = sys_open_tree (
      fd, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
  if (tree < 0)
    return moat_error (err, errno, "open_tree `%s`", src);
  /* nodev, set here in the host's mount namespace so the container
   * cannot clear it: a volume or shared directory may hold device nodes */
  attr.attr_set
      = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NODEV | (rdonly ? MOUNT_ATTR_RDONLY : 0);
  attr.userns_fd = (uint64_t)userns_fd;
  *mapped = sys_mount_setattr (tree, "", AT_EMPTY_PATH | rec, &attr) == 0;
  if (!*mapped)
    {
      /* A file system without id-mapped mount support keeps host
       * ownership (the container sees its files as nobody), but is still
       * mounted from the pinned clone. */
      log_warn ("bind mount `%s` not id-mapped: %s", src, strerror (errno));
      struct mount_attr ro
          = { .attr_set
              = MOUNT_ATTR_NODEV | (rdonly ? MOUNT_ATTR_RDONLY : 0) };
      if (sys_mount_setattr (tree, "", AT_EMPTY_PATH | rec, &ro) < 0)
        return moat_error (err, errno, "make `%s` nodev", src);
    }
  return rootfs_attach_at (tree, src, target, err);
}
/* Every bind mount source is opened once, judged by the tree that was
 * opened (bp; a symlink swapped in after the engine guard's check cannot
 * redirect it), id-mapped and attached at <run>/b<i>, and the spec
 * points there: runc mounts exactly what was judged.
 *
 * The engine's own files and volumes are mapped as the container's (host
 * n is container n).  A host directory (BINDPOL_HOST) of a non-root
 * caller is mapped through a second user namespace that maps only the
 * caller's uid and gid, to the container's process user: every other
 * owner is unmapped there, so the container has the caller's rights on
 * it and what it creates is the caller's. */
int
binds_idmap (const char *run_dir, json_t *spec, struct helper *h,
             const struct bindpol *bp, const struct idmap *cmap,
             struct rootfs_report *rep, moat_error_t *err)
{
  json_t *mounts = json_object_get (spec, "mounts");
  struct helper ch = { .pid = 0, .sock = -1, .userns_fd = -1 };
  size_t i;
  json_t *m;
  int ret = -1;

  json_array_foreach (mounts, i, m)
  {
    const char *src = json_string_value (json_object_get (m, "source"));
    const char *dst = json_string_value (json_object_get (m, "destination"));
    cleanup_free char *tgt = NULL;
    cleanup_close int fd = -1;
    enum bindpol_kind kind = BINDPOL_HOST;
    int bind = binds_is_bind (m);
    int ro = has_opt (m, "ro");
    int mapped = 0, userns = h->userns_fd;
    if (bind == 0 || src == NULL || src[0] != '/')
      continue;
    if (asprintf (&tgt, "%s/b%zu", run_dir, i) < 0)
      {
        moat_error (err, ENOMEM, "bind paths");
        goto out;
      }
    const char *orig;
    bool create;
    if (bp != NULL && bindpol_pinned (bp, src, dst, &orig, &create))
      {
        /* a non-root caller's source: reached with the caller's rights,
         * made by the caller when missing (engine/eci.h, ECI_BINDS_LABEL) */
        if (orig == NULL)
          {
            moat_error (err, 0, REFUSAL_BIND_UNRECORDED, dst ? dst : "");
            goto out;
          }
        fd = asuser_open (bp->caller_uid, bp->caller_gid, orig, create, err);
        if (fd < 0)
          goto out;
        src = orig;
      }
    else
      {
        /* resolved once, as mount(2) would (symlinks followed) */
        fd = open (src, O_PATH | O_CLOEXEC);
        if (fd < 0)
          {
            moat_error (err, errno, "bind mount source `%s`", src);
            goto out;
          }
      }
    if (bp != NULL && bindpol_judge_fd (bp, fd, src, dst, &kind, err) < 0)
      goto out;
    if (kind == BINDPOL_HOST && bp != NULL && !bp->caller_root)
      {
        if (ch.pid == 0)
          {
            struct overlay_args none = { 0 };
            struct idmap one = {
              .uid_in = bp->caller_uid,
              .uid_out = cmap->uid_out + cmap->uid_in,
              .gid_in = bp->caller_gid,
              .gid_out = cmap->gid_out + cmap->gid_in,
              .size = 1,
            };
            if (rootfs_helper_start (&ch, &none, &one, err) < 0)
              goto out;
          }
        userns = ch.userns_fd;
      }
    /* A read-only bind is made read-only here, in the host's mount
     * namespace: the container's copy of it is then locked read-only by
     * the kernel, and so is runc's bind of that copy, so the container's
     * root cannot remount it rw. */
    if (pin_bind (fd, src, tgt, userns, bind == 2 || has_opt (m, "rbind"), ro,
                  &mapped, err)
        < 0)
      goto out;
    if (json_object_set_new (m, "source", json_string (tgt)) < 0)
      {
        moat_error (err, ENOMEM, "rewrite bind source");
        goto out;
      }
    if (keep_locked_flags (m, fd, err) < 0)
      goto out;
    if (mapped)
      rep->binds++;
    else
      rep->skipped++;
    if (kind == BINDPOL_HOST && !ro)
      {
        rep->host_rw++;
        if (!mapped || bp == NULL || bp->caller_root)
          rep->host_rw_unconfined++;
      }
    if (kind == BINDPOL_HOST && mapped && bp != NULL && !bp->caller_root)
      rep->caller_mapped++;
  }
  ret = 0;
out:
  rootfs_helper_end (&ch);
  return ret;
}
/* A detached clone of `path` as process pid's mount namespace shows it
 * (open_tree clones only mounts of the caller's own namespace): a child
 * joins that namespace, clones, and passes the descriptor back.  The
 * clone is of that mount alone, or with the mounts below it when those are
 * locked (a container moat-lock locked: its masks come along). */
static int
clone_foreign (int pid, const char *path, moat_error_t *err)
{
  int sv[2], status, fd, data;
  pid_t child;

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return moat_error (err, errno, "socketpair");
  child = fork ();
  if (child < 0)
    {
      close (sv[0]);
      close (sv[1]);
      return moat_error (err, errno, "fork");
    }
  if (child == 0)
    {
      char ns[64];
      int nfd, t;
      close (sv[0]);
      snprintf (ns, sizeof ns, "/proc/%d/ns/mnt", pid);
      nfd = open (ns, O_RDONLY | O_CLOEXEC);
      if (nfd < 0 || setns (nfd, CLONE_NEWNS) < 0)
        _exit (2);
      t = sys_open_tree (AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
      /* a locked container's mounts below path come along (its masks) */
      if (t < 0 && errno == EINVAL)
        t = sys_open_tree (AT_FDCWD, path,
                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
      if (t < 0)
        _exit (3);
      _exit (fdpass_send (sv[1], t, 0) == 0 ? 0 : 4);
    }
  close (sv[1]);
  fd = fdpass_recv (sv[0], &data);
  close (sv[0]);
  while (waitpid (child, &status, 0) < 0 && errno == EINTR)
    ;
  if (fd < 0)
    return moat_error (err, EIO, "clone `%s` of process %d (step %d failed)",
                       path, pid,
                       WIFEXITED (status) ? WEXITSTATUS (status) : -1);
  return fd;
}

/* --network container:<id>: the spec joins /proc/<pid>/ns/net of another
 * container, whose network namespace its own user namespace owns.  runc
 * cannot mount a sysfs for it (the kernel wants CAP_SYS_ADMIN over the
 * network namespace's owner), so /sys becomes a read-only, non-recursive
 * clone of that container's own /sys (a sysfs: checked), which shows the
 * same network namespace.  Only when the namespace is owned by that
 * process's user namespace, which is not ours (the host's is refused
 * earlier).  0 when there is nothing to do. */
int
binds_share_netns_sysfs (const char *run_dir, json_t *spec, moat_error_t *err)
{
  json_t *linux_ = json_object_get (spec, "linux");
  json_t *sys = NULL, *m, *ns;
  const char *path = NULL;
  cleanup_close int nsfd = -1, owner = -1, tree = -1;
  cleanup_free char *tgt = NULL;
  char proc[64], extra;
  struct stat a, b, self;
  struct statfs sfs;
  struct mount_attr attr
      = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
                      | MOUNT_ATTR_NOEXEC };
  size_t i;
  int pid;

  json_array_foreach (json_object_get (linux_, "namespaces"), i, ns)
  {
    const char *t = json_string_value (json_object_get (ns, "type"));
    if (t != NULL && strcmp (t, "network") == 0)
      path = json_string_value (json_object_get (ns, "path"));
  }
  json_array_foreach (json_object_get (spec, "mounts"), i, m)
  {
    const char *d = json_string_value (json_object_get (m, "destination"));
    const char *t = json_string_value (json_object_get (m, "type"));
    if (d != NULL && t != NULL && strcmp (d, "/sys") == 0
        && strcmp (t, "sysfs") == 0)
      sys = m;
  }
  if (path == NULL || *path == '\0' || sys == NULL)
    return 0;
  if (sscanf (path, "/proc/%d/ns/ne%c", &pid, &extra) != 2 || extra != 't'
      || pid <= 0)
    return moat_error (err, EINVAL,
                       "network namespace `%s`: only another container's "
                       "(/proc/PID/ns/net) can be joined",
                       path);
  nsfd = open (path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return moat_error (err, errno, "open `%s`", path);
  owner = ioctl (nsfd, NS_GET_USERNS);
  snprintf (proc, sizeof proc, "/proc/%d/ns/user", pid);
  if (owner < 0 || fstat (owner, &a) < 0 || stat (proc, &b) < 0
      || stat ("/proc/self/ns/user", &self) < 0)
    return moat_error (err, errno, "owner of network namespace `%s`", path);
  if (a.st_dev != b.st_dev || a.st_ino != b.st_ino
      || (a.st_dev == self.st_dev && a.st_ino == self.st_ino))
    return moat_error (err, EPERM,
                       "network namespace `%s` is not owned by its "
                       "container's user namespace",
                       path);
  snprintf (proc, sizeof proc, "/proc/%d/root/sys", pid);
  tree = clone_foreign (pid, "/sys", err);
  if (tree < 0)
    return -1;
  if (fstatfs (tree, &sfs) < 0 || sfs.f_type != SYSFS_MAGIC)
    return moat_error (err, EPERM, "`%s` is not a sysfs", proc);
  if (sys_mount_setattr (tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
    return moat_error (err, errno, "make `%s` read-only", proc);
  if (asprintf (&tgt, "%s/sys", run_dir) < 0)
    return moat_error (err, ENOMEM, "sysfs path");
  if (rootfs_attach_at (tree, proc, tgt, err) < 0)
    return -1;
  if (json_object_set_new (sys, "type", json_string ("bind")) < 0
      || json_object_set_new (sys, "source", json_string (tgt)) < 0
      || json_object_set_new (sys, "options",
                              json_pack ("[s, s, s, s, s]", "rbind", "ro",
                                         "nosuid", "nodev", "noexec"))
             < 0)
    return moat_error (err, ENOMEM, "rewrite /sys mount");
  return 0;
}
