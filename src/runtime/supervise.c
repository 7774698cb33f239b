/* The mount supervisor (see supervise.h). */
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/nsfs.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "procfs.h"

#define CAP_SYS_ADMIN_BIT 21
#define LISTENER_LINK "anon_inode:seccomp notify"

int
supervise_wanted_p (json_t *spec)
{
  json_t *b = json_object_get (
      json_object_get (json_object_get (spec, "process"), "capabilities"),
      "bounding");
  size_t i;
  json_t *v;
  json_array_foreach (b, i, v)
  {
    if (json_is_string (v)
        && strcmp (json_string_value (v), "CAP_SYS_ADMIN") == 0)
      return 1;
  }
  return 0;
}

static char *
pidfile_path (const char *rundir)
{
  char *s = NULL;
  if (asprintf (&s, "%s/mountsup.pid", rundir) < 0)
    return NULL;
  return s;
}

/* Read a NUL-terminated string of at most cap-1 bytes at ADDR of the
 * process whose /proc/TID/mem is MEM. */
static int
read_string (int mem, uint64_t addr, char *buf, size_t cap)
{
  ssize_t n;
  if (addr == 0)
    return -1;
  n = pread (mem, buf, cap - 1, (off_t)addr);
  if (n <= 0)
    {
      /* the string may end right before an unmapped page: byte by byte */
      size_t k = 0;
      for (; k < cap - 1; k++)
        {
          if (pread (mem, buf + k, 1, (off_t)(addr + k)) != 1)
            return -1;
          if (buf[k] == '\0')
            return 0;
        }
      buf[k] = '\0';
      return -1;
    }
  buf[n] = '\0';
  if (strnlen (buf, (size_t)n) == (size_t)n)
    return -1; /* longer than cap-1 (or truncated read) */
  return 0;
}

/* Inode of the user namespace that owns namespace NS of TID ("user": the
 * task's own). */
static int
ns_owner (pid_t tid, const char *ns, ino_t *ino)
{
  char path[64];
  struct stat st;
  cleanup_close int fd = -1;
  cleanup_close int u = -1;

  snprintf (path, sizeof path, "/proc/%d/ns/%s", (int)tid, ns);
  if (strcmp (ns, "user") == 0)
    {
      if (stat (path, &st) < 0)
        return -1;
      *ino = st.st_ino;
      return 0;
    }
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  u = ioctl (fd, NS_GET_USERNS);
  if (u < 0 || fstat (u, &st) < 0)
    return -1;
  *ino = st.st_ino;
  return 0;
}

/* 1 if TID's own user namespace is the owner of its namespace NS or an
 * ancestor of that owner (then TID's capabilities cover it, as the
 * kernel's cap_capable walks up), else 0.  moat-lock's locked mount
 * namespace is owned by a child of the container's user namespace. */
static int
covers_ns (pid_t tid, const char *ns)
{
  char path[64];
  struct stat self, st;
  cleanup_close int fd = -1;
  int u;

  snprintf (path, sizeof path, "/proc/%d/ns/user", (int)tid);
  if (stat (path, &self) < 0)
    return 0;
  snprintf (path, sizeof path, "/proc/%d/ns/%s", (int)tid, ns);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  u = ioctl (fd, NS_GET_USERNS);
  for (int depth = 0; u >= 0 && depth < 33; depth++)
    {
      int parent;
      if (fstat (u, &st) < 0)
        break;
      if (st.st_ino == self.st_ino && st.st_dev == self.st_dev)
        {
          close (u);
          return 1;
        }
      parent = ioctl (u, NS_GET_PARENT);
      close (u);
      u = parent;
    }
  if (u >= 0)
    close (u);
  return 0;
}

static int
has_sys_admin (pid_t tid)
{
  char path[64], line[256];
  cleanup_file FILE *f = NULL;
  unsigned long long eff = 0;
  int found = 0;

  snprintf (path, sizeof path, "/proc/%d/status", (int)tid);
  f = fopen (path, "re");
  if (f == NULL)
    return 0;
  while (fgets (line, sizeof line, f) != NULL)
    if (sscanf (line, "CapEff: %llx", &eff) == 1)
      {
        found = 1;
        break;
      }
  return found && (eff & (1ULL << CAP_SYS_ADMIN_BIT));
}

/* runc mounts at /proc/self/fd/N (a descriptor of its own) */
static int
self_fd_target (const char *t, int *n)
{
  const char *rest = NULL;
  char *end;
  long v;
  if (strncmp (t, "/proc/self/fd/", 14) == 0)
    rest = t + 14;
  else if (strncmp (t, "/proc/thread-self/fd/", 21) == 0)
    rest = t + 21;
  if (rest == NULL || *rest < '0' || *rest > '9')
    return 0;
  errno = 0;
  v = strtol (rest, &end, 10);
  if (errno != 0 || *end != '\0' || v < 0 || v > INT_MAX)
    return 0;
  *n = (int)v;
  return 1;
}

/* The target directory as the caller would resolve it; -1 with errno. */
static int
open_target (pid_t tid, const char *target)
{
  char path[64];
  int n, fd;
  struct stat st;
  cleanup_close int base = -1;
  struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                          .resolve = RESOLVE_NO_MAGICLINKS };

  if (self_fd_target (target, &n))
    {
      snprintf (path, sizeof path, "/proc/%d/fd/%d", (int)tid, n);
      fd = open (path, O_PATH | O_CLOEXEC);
      if (fd < 0)
        return -1;
      if (fstat (fd, &st) < 0 || !S_ISDIR (st.st_mode))
        {
          close (fd);
          errno = ENOTDIR;
          return -1;
        }
      return fd;
    }
  if (target[0] == '/')
    {
      snprintf (path, sizeof path, "/proc/%d/root", (int)tid);
      how.resolve |= RESOLVE_IN_ROOT;
    }
  else
    {
      /* relative: below the working directory only */
      snprintf (path, sizeof path, "/proc/%d/cwd", (int)tid);
      how.resolve |= RESOLVE_BENEATH;
    }
  base = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (base < 0)
    return -1;
  return (int)syscall (SYS_openat2, base, target, &how, sizeof how);
}

/* Flags a proc or sysfs mount may carry; the mount is always nosuid, nodev
 * and noexec (like the container's own), read-only when asked. */
#define OK_FLAGS                                                              \
  (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME  \
   | MS_RELATIME | MS_STRICTATIME | MS_SILENT | MS_LAZYTIME | MS_REC)

/* Answer one notification: 1 to let the kernel continue, else 0 with
 * *error (0: success). */
static int
handle (const char *id, int listener, const struct seccomp_notif *req,
        int *error)
{
  pid_t tid = (pid_t)req->pid;
  char path[64], fstype[32], target[PATH_MAX], data[256];
  cleanup_close int mem = -1;
  cleanup_close int tfd = -1;
  unsigned long flags = (unsigned long)req->data.args[3];
  int sysfs, inert;
  ino_t u_self, u_mnt, u_fs;
  cleanup_error moat_error_t err = NULL;

  if (tid <= 0)
    return 1;
  snprintf (path, sizeof path, "/proc/%d/mem", (int)tid);
  mem = open (path, O_RDONLY | O_CLOEXEC);
  if (mem < 0
      || read_string (mem, req->data.args[2], fstype, sizeof fstype) < 0)
    return 1; /* the kernel reads it again and answers */
  inert = procfs_inert_p (fstype);
  if (strcmp (fstype, "proc") != 0 && strcmp (fstype, "sysfs") != 0 && !inert)
    return 1;
  sysfs = fstype[0] == 's';
  if (read_string (mem, req->data.args[1], target, sizeof target) < 0)
    {
      *error = EFAULT;
      return 0;
    }
  data[0] = '\0';
  if (req->data.args[4] != 0
      && read_string (mem, req->data.args[4], data, sizeof data) < 0)
    {
      *error = EINVAL;
      return 0;
    }
  /* what we read is what was asked: the caller still waits */
  if (ioctl (listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0)
    return 1;

  /* Could the caller make it itself (apart from the masks)?  For debugfs
   * and tracefs: could it mount a tmpfs there (CAP_SYS_ADMIN over its
   * mount namespace)? */
  if (!has_sys_admin (tid)
      || (inert ? !covers_ns (tid, "mnt")
                : (ns_owner (tid, "user", &u_self) < 0
                   || ns_owner (tid, "mnt", &u_mnt) < 0
                   || ns_owner (tid, sysfs ? "net" : "pid", &u_fs) < 0
                   || u_mnt != u_self || u_fs != u_self)))
    {
      log_warn ("%s: mount supervisor: %s at `%s` by %d refused: the caller "
                "cannot mount it in its own namespaces",
                id, fstype, target, (int)tid);
      *error = EPERM;
      return 0;
    }
  if (data[0] != '\0' || (flags & ~(unsigned long)MS_MGC_MSK & ~OK_FLAGS))
    {
      log_warn ("%s: mount supervisor: %s at `%s` refused: options `%s`, "
                "flags %#lx are not supported",
                id, fstype, target, data, flags);
      *error = EPERM;
      return 0;
    }
  tfd = open_target (tid, target);
  if (tfd < 0)
    {
      *error = errno;
      return 0;
    }
  if (procfs_attach_fd (tid, fstype, tfd, (flags & MS_RDONLY) != 0, &err) < 0)
    {
      log_warn ("%s: mount supervisor: %s", id, moat_error_msg (&err));
      *error = moat_error_status (&err) ? moat_error_status (&err) : EPERM;
      return 0;
    }
  log_info ("%s: mount supervisor: fresh %s with masks at `%s` for %d", id,
            fstype, target, (int)tid);
  *error = 0;
  return 0;
}

static void
serve (const char *id, int listener)
{
  struct seccomp_notif req;
  struct seccomp_notif_resp resp;

  for (;;)
    {
      struct pollfd p = { .fd = listener, .events = POLLIN };
      int error = 0;
      if (poll (&p, 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return;
        }
      if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
        return;
      memset (&req, 0, sizeof req);
      if (ioctl (listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
        {
          if (errno == EINTR || errno == ENOENT)
            continue;
          return;
        }
      memset (&resp, 0, sizeof resp);
      resp.id = req.id;
      if (handle (id, listener, &req, &error))
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      else
        resp.error = -error;
      if (ioctl (listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0
          && errno != ENOENT)
        log_warn ("%s: mount supervisor: answer: %s", id, strerror (errno));
    }
}

/* The listener among PID's descriptors; -1 if not (yet) there. */
static int
find_listener (pid_t pid, int pidfd)
{
  char path[64], link[320], name[PATH_MAX];
  DIR *d;
  struct dirent *e;
  int fd = -1;

  snprintf (path, sizeof path, "/proc/%d/fd", (int)pid);
  d = opendir (path);
  if (d == NULL)
    return -1;
  while ((e = readdir (d)) != NULL && fd < 0)
    {
      ssize_t n;
      if (e->d_name[0] < '0' || e->d_name[0] > '9')
        continue;
      snprintf (link, sizeof link, "%s/%s", path, e->d_name);
      n = readlink (link, name, sizeof name - 1);
      if (n < 0)
        continue;
      name[n] = '\0';
      if (strcmp (name, LISTENER_LINK) == 0)
        fd = (int)syscall (SYS_pidfd_getfd, pidfd, atoi (e->d_name), 0);
    }
  closedir (d);
  return fd;
}

/* The supervisor process: never returns. */
static _Noreturn void
supervisor (const char *id, pid_t pid, const char *rundir, int ready)
{
  cleanup_free char *pf = pidfile_path (rundir);
  int pidfd, listener = -1, nul;
  char line[32];
  int e = 0;

  prctl (PR_SET_NAME, SUPERVISE_COMM, 0, 0, 0);
  /* the shim reads start's output until every writer is gone */
  nul = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (nul >= 0)
    {
      dup2 (nul, 0);
      dup2 (nul, 1);
      dup2 (nul, 2);
      close (nul);
    }
  pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    e = errno;
  for (int waited = 0; e == 0 && listener < 0; waited++)
    {
      struct timespec ms = { 0, 1000000 };
      listener = find_listener (pid, pidfd);
      if (listener >= 0)
        break;
      if (waited >= SUPERVISE_WAIT_MS || kill (pid, 0) < 0)
        e = ETIMEDOUT;
      else
        nanosleep (&ms, NULL);
    }
  if (e == 0 && pf != NULL)
    {
      int fd = open (pf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      int n = snprintf (line, sizeof line, "%d\n", (int)getpid ());
      if (fd < 0 || write (fd, line, (size_t)n) != n)
        e = errno ? errno : EIO;
      if (fd >= 0)
        close (fd);
    }
  if (e == 0 && syscall (SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0) < 0)
    e = errno;
  if (write (ready, &e, sizeof e) != (ssize_t)sizeof e)
    e = EIO;
  close (ready);
  if (e != 0)
    _exit (1);
  close (pidfd);
  serve (id, listener);
  if (pf != NULL)
    unlink (pf);
  _exit (0);
}

int
supervise_start (const char *id, pid_t pid, const char *rundir,
                 moat_error_t *err)
{
  int p[2], e = EIO, status;
  pid_t a;
  struct pollfd pf;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return moat_error (err, errno, "mount supervisor: pipe");
  a = fork ();
  if (a < 0)
    {
      int en = errno;
      close (p[0]);
      close (p[1]);
      return moat_error (err, en, "mount supervisor: fork");
    }
  if (a == 0)
    {
      /* detach: a session of its own, reparented to the shim (a
       * subreaper) or init */
      pid_t b;
      close (p[0]);
      setsid ();
      b = fork ();
      if (b < 0)
        _exit (1);
      if (b == 0)
        supervisor (id, pid, rundir, p[1]);
      _exit (0);
    }
  close (p[1]);
  while (waitpid (a, &status, 0) < 0 && errno == EINTR)
    ;
  pf.fd = p[0];
  pf.events = POLLIN;
  if (poll (&pf, 1, SUPERVISE_WAIT_MS + 2000) == 1
      && read (p[0], &e, sizeof e) != (ssize_t)sizeof e)
    e = EIO;
  close (p[0]);
  if (e != 0)
    return moat_error (err, e,
                       "mount supervisor for %d did not take the "
                       "listener",
                       (int)pid);
  return 0;
}

void
supervise_stop (const char *rundir)
{
  cleanup_free char *pf = pidfile_path (rundir);
  char buf[32] = { 0 }, path[64], comm[32] = { 0 };
  cleanup_close int fd = -1;
  cleanup_close int cf = -1;
  long pid;
  ssize_t n;

  if (pf == NULL)
    return;
  fd = open (pf, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  n = read (fd, buf, sizeof buf - 1);
  unlink (pf);
  pid = n > 0 ? strtol (buf, NULL, 10) : 0;
  if (pid <= 1)
    return;
  snprintf (path, sizeof path, "/proc/%ld/comm", pid);
  cf = open (path, O_RDONLY | O_CLOEXEC);
  if (cf < 0 || read (cf, comm, sizeof comm - 1) <= 0)
    return;
  comm[strcspn (comm, "\n")] = '\0';
  if (strcmp (comm, SUPERVISE_COMM) == 0)
    kill ((pid_t)pid, SIGTERM);
}
