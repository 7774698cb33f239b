/* A fresh, masked and locked procfs or sysfs for a process of a locked
 * container (see procfs.h).  Every namespace change happens in forked
 * children; the caller's namespaces never change. */
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/rootfs_internal.h"
#include "runtime/spec.h"

/* Exit codes of the helpers: the step that failed (errno goes through a
 * pipe). */
struct step
{
  int code;
  const char *what;
};

static const struct step steps[] = {
  { 10, "open the namespaces of the process" },
  { 11, "join its pid (proc) or network (sysfs) namespace" },
  { 12, "make a private mount namespace" },
  { 13, "make the file system" },
  { 14, "attach it in the private namespace" },
  { 15, "cover a masked path" },
  { 16, "make a read-only path read-only" },
  { 17, "lock the masks (user and mount namespace copy)" },
  { 18, "clone the locked tree" },
  { 19, "join the process's mount namespace" },
  { 20, "resolve the target inside the process's root" },
  { 21, "attach at the target" },
};

int
procfs_inert_p (const char *fstype)
{
  return strcmp (fstype, "debugfs") == 0 || strcmp (fstype, "tracefs") == 0;
}

static void
report (int fd, int code)
{
  int e[2] = { code, errno };
  if (write (fd, e, sizeof e) < 0)
    _exit (code);
  _exit (code);
}

/* Cover the masks of the procfs attached at DIR and lock them.  Runs in
 * the private mount namespace. */
static int
apply_masks (const char *dir, const char *prefix)
{
  size_t pl = strlen (prefix);
  size_t n = 0;
  const char *const *masked = spec_masked_paths (&n);
  char p[4096];

  for (size_t i = 0; i < n; i++)
    {
      struct stat st;
      if (strncmp (masked[i], prefix, pl) != 0)
        continue;
      snprintf (p, sizeof p, "%s/%s", dir, masked[i] + pl);
      if (lstat (p, &st) < 0)
        {
          if (errno == ENOENT)
            continue;
          return 15;
        }
      if (S_ISDIR (st.st_mode))
        {
          if (mount ("tmpfs", p, "tmpfs",
                     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555")
              < 0)
            return 15;
        }
      else if (mount ("/dev/null", p, NULL, MS_BIND, NULL) < 0)
        return 15;
    }
  n = 0;
  const char *const *ro = spec_readonly_paths (&n);
  for (size_t i = 0; i < n; i++)
    {
      if (strncmp (ro[i], prefix, pl) != 0)
        continue;
      snprintf (p, sizeof p, "%s/%s", dir, ro[i] + pl);
      if (mount (p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
        {
          if (errno == ENOENT)
            continue;
          return 16;
        }
      if (mount (NULL, p, NULL,
                 MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV
                     | MS_NOEXEC,
                 NULL)
          < 0)
        return 16;
    }
  return 0;
}

/* In PID's active pid namespace: build, lock and attach. */
static void
builder (int efd, int netns, int mntns, int rootfd, const char *fstype,
         const char *dir, const char *target, int target_fd, int rdonly)
{
  int sysfs = strcmp (fstype, "sysfs") == 0;
  int inert = procfs_inert_p (fstype);
  int fs, pfd, tree, tfd, rc, lockpipe[2], go[2];
  pid_t locker;
  struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };

  if (unshare (CLONE_NEWNS) < 0
      || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    report (efd, 12);
  /* sysfs shows the mounter's network namespace */
  if (sysfs && setns (netns, CLONE_NEWNET) < 0)
    report (efd, 11);
  if (inert)
    {
      /* debugfs, tracefs: an empty, read-only, one-page tmpfs in their
       * place; nothing of the host's kernel debug interfaces */
      fs = sys_fsopen ("tmpfs", FSOPEN_CLOEXEC);
      if (fs < 0
          || sys_fsconfig (fs, FSCONFIG_SET_STRING, "mode", "0555", 0) < 0
          || sys_fsconfig (fs, FSCONFIG_SET_STRING, "size", "4k", 0) < 0
          || sys_fsconfig (fs, FSCONFIG_SET_STRING, "nr_inodes", "1", 0) < 0
          || sys_fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        report (efd, 13);
      rdonly = 1;
    }
  else
    {
      fs = sys_fsopen (fstype, FSOPEN_CLOEXEC);
      if (fs < 0 || sys_fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        report (efd, 13);
    }
  pfd = sys_fsmount (fs, FSMOUNT_CLOEXEC,
                     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC
                         | (rdonly ? MOUNT_ATTR_RDONLY : 0));
  if (pfd < 0)
    report (efd, 13);
  /* the caller's empty directory: the procfs on it is seen only in this
   * private namespace */
  if (sys_move_mount (pfd, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    report (efd, 14);
  rc = inert ? 0 : apply_masks (dir, sysfs ? "/sys/" : "/proc/");
  if (rc != 0)
    report (efd, rc);
  /* The locker copies this namespace into one owned by a fresh user
   * namespace: the kernel locks every mount of the copy. */
  if (pipe2 (lockpipe, O_CLOEXEC) < 0 || pipe2 (go, O_CLOEXEC) < 0)
    report (efd, 17);
  locker = fork ();
  if (locker < 0)
    report (efd, 17);
  if (locker == 0)
    {
      char c = 1, r;
      if (unshare (CLONE_NEWUSER | CLONE_NEWNS) < 0)
        c = 0;
      if (write (lockpipe[1], &c, 1) < 0)
        _exit (1);
      /* stay until the builder has cloned from our namespace */
      if (read (go[0], &r, 1) < 0)
        _exit (1);
      _exit (0);
    }
  {
    char c = 0;
    if (read (lockpipe[0], &c, 1) != 1 || c != 1)
      report (efd, 17);
  }
  /* by pidfd: this process's /proc is the host's, its pid numbers are not
   * the ones fork returned here */
  {
    int lfd = (int)syscall (SYS_pidfd_open, locker, 0);
    if (lfd < 0 || setns (lfd, CLONE_NEWNS) < 0)
      {
        kill (locker, SIGKILL);
        report (efd, 17);
      }
    close (lfd);
  }
  tree = sys_open_tree (AT_FDCWD, dir,
                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  {
    int e = errno;
    if (write (go[1], "x", 1) < 0)
      kill (locker, SIGKILL);
    waitpid (locker, NULL, 0);
    errno = e;
  }
  if (tree < 0)
    report (efd, 18);
  if (setns (mntns, CLONE_NEWNS) < 0)
    report (efd, 19);
  tfd = target_fd >= 0
            ? target_fd
            : (int)syscall (SYS_openat2, rootfd, target, &how, sizeof how);
  if (tfd < 0)
    report (efd, 20);
  if (sys_move_mount (tree, "", tfd, "",
                      MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
      < 0)
    report (efd, 21);
  report (efd, 0);
}

static int
attach (pid_t pid, const char *fstype, const char *target, int target_fd,
        int rdonly, moat_error_t *err)
{
  char path[64];
  cleanup_close int netns = -1;
  cleanup_close int pidns = -1;
  cleanup_close int mntns = -1;
  cleanup_close int rootfd = -1;
  char dir[] = "/tmp/moat-procfs-XXXXXX";
  int e[2] = { 10, 0 };
  int efd[2];
  pid_t child;

  snprintf (path, sizeof path, "/proc/%d/ns/pid", (int)pid);
  pidns = open (path, O_RDONLY | O_CLOEXEC);
  if (strcmp (fstype, "proc") != 0 && strcmp (fstype, "sysfs") != 0
      && !procfs_inert_p (fstype))
    return moat_error (err, EINVAL,
                       "fresh mount: `%s` is not proc, sysfs, debugfs or "
                       "tracefs",
                       fstype);
  snprintf (path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
  mntns = open (path, O_RDONLY | O_CLOEXEC);
  snprintf (path, sizeof path, "/proc/%d/ns/net", (int)pid);
  netns = open (path, O_RDONLY | O_CLOEXEC);
  snprintf (path, sizeof path, "/proc/%d/root", (int)pid);
  rootfd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (pidns < 0 || mntns < 0 || netns < 0 || rootfd < 0)
    return moat_error (err, errno, "fresh %s for %d: %s", fstype, (int)pid,
                       steps[0].what);
  if (mkdtemp (dir) == NULL)
    return moat_error (err, errno, "fresh mount: mkdtemp");
  if (pipe2 (efd, O_CLOEXEC) < 0)
    {
      int en = errno;
      rmdir (dir);
      return moat_error (err, en, "fresh mount: pipe");
    }
  child = fork ();
  if (child < 0)
    {
      int en = errno;
      close (efd[0]);
      close (efd[1]);
      rmdir (dir);
      return moat_error (err, en, "fresh mount: fork");
    }
  if (child == 0)
    {
      pid_t b;
      close (efd[0]);
      /* procfs takes the mounter's active pid namespace: join it, then
       * fork the builder into it */
      if (setns (pidns, CLONE_NEWPID) < 0)
        report (efd[1], 11);
      b = fork ();
      if (b < 0)
        report (efd[1], 11);
      if (b == 0)
        builder (efd[1], netns, mntns, rootfd, fstype, dir, target, target_fd,
                 rdonly);
      waitpid (b, NULL, 0);
      _exit (0);
    }
  close (efd[1]);
  {
    ssize_t r = read (efd[0], e, sizeof e);
    if (r != (ssize_t)sizeof e)
      {
        e[0] = 10;
        e[1] = EIO;
      }
  }
  close (efd[0]);
  waitpid (child, NULL, 0);
  rmdir (dir);
  if (e[0] != 0)
    {
      const char *what = "?";
      for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i].code == e[0])
          what = steps[i].what;
      return moat_error (err, e[1], "fresh %s for %d at `%s`: %s", fstype,
                         (int)pid, target, what);
    }
  return 0;
}

int
procfs_attach (pid_t pid, const char *fstype, const char *target,
               moat_error_t *err)
{
  return attach (pid, fstype, target, -1, 0, err);
}

int
procfs_attach_fd (pid_t pid, const char *fstype, int target_fd, int rdonly,
                  moat_error_t *err)
{
  return attach (pid, fstype, "(descriptor)", target_fd, rdonly, err);
}
