/* hostexec.h: the confined runner.
 *
 * Everything that allocates (the Landlock ruleset, the seccomp program,
 * argv checks) happens in the parent before fork: moatd is multithreaded,
 * so the child only makes system calls until it executes the binary.  The
 * child reports a failed step through a close-on-exec pipe; EOF on it means
 * the binary runs.  The binary is executed by descriptor (execveat), opened
 * before the child drops its rights.
 *
 * Order in the child: new session (its own process group, so the timeout
 * kills every descendant), stdio, close every other descriptor, rlimits,
 * working directory, capabilities and ids, no_new_privs, Landlock,
 * seccomp, execveat. */
#include "ext/hostexec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/openat2.h>
#include <linux/securebits.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"

/* Newer than the kernel headers Debian 12 ships (6.1): the values are the
 * kernel's ABI. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

struct ll_ruleset_attr /* struct landlock_ruleset_attr of ABI 6 */
{
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

#define FS_RX                                                                 \
  (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE                  \
   | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_R (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* The write directory: no execute (nothing written there runs), no device
 * nodes. */
#define FS_RW                                                                 \
  (FS_R | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR       \
   | LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR             \
   | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK               \
   | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM               \
   | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE)
#define FS_FILE_RIGHTS                                                        \
  (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE                  \
   | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE              \
   | LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* What a dynamically linked program (and the docker CLI) reads besides its
 * own files: the loader, libraries, name-service and TLS configuration.
 * Not /etc as a whole (shadow, moat's own settings), not /home, /root,
 * /tmp, /var, /run, /proc or /sys. */
static const struct
{
  const char *path;
  uint64_t access;
} system_paths[] = {
  { "/usr", FS_RX },
  { "/bin", FS_RX },
  { "/sbin", FS_RX },
  { "/lib", FS_RX },
  { "/lib64", FS_RX },
  { "/etc/ld.so.cache", FS_R },
  { "/etc/ld.so.conf", FS_R },
  { "/etc/ld.so.conf.d", FS_R },
  { "/etc/localtime", FS_R },
  { "/etc/nsswitch.conf", FS_R },
  { "/etc/passwd", FS_R },
  { "/etc/group", FS_R },
  { "/etc/hosts", FS_R },
  { "/etc/resolv.conf", FS_R },
  { "/etc/ssl", FS_R },
  { "/etc/ca-certificates", FS_R },
  { "/dev/null", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE
                     | LANDLOCK_ACCESS_FS_TRUNCATE },
  { "/dev/zero", LANDLOCK_ACCESS_FS_READ_FILE },
  { "/dev/urandom", LANDLOCK_ACCESS_FS_READ_FILE },
  { "/dev/random", LANDLOCK_ACCESS_FS_READ_FILE },
};

/* Steps of the child, for the parent's message. */
enum step
{
  STEP_SIGNALS = 1,
  STEP_SESSION,
  STEP_STDIO,
  STEP_FDS,
  STEP_RLIMIT,
  STEP_CHDIR,
  STEP_CAPS,
  STEP_IDS,
  STEP_STILL_ROOT,
  STEP_NNP,
  STEP_LANDLOCK,
  STEP_SECCOMP,
  STEP_EXEC,
};

static const char *const step_names[] = {
  [STEP_SIGNALS] = "reset signals",
  [STEP_SESSION] = "new session",
  [STEP_STDIO] = "set up stdin/stdout/stderr",
  [STEP_FDS] = "close inherited descriptors",
  [STEP_RLIMIT] = "set rlimits",
  [STEP_CHDIR] = "enter the write directory",
  [STEP_CAPS] = "drop capabilities",
  [STEP_IDS] = "switch to the caller's uid/gid/groups",
  [STEP_STILL_ROOT] = "give up root for good",
  [STEP_NNP] = "set no_new_privs",
  [STEP_LANDLOCK] = "enforce the Landlock ruleset",
  [STEP_SECCOMP] = "load the seccomp filter",
  [STEP_EXEC] = "execute the binary",
};

/* ---- Landlock ---- */

static int
landlock_abi (void)
{
  long v = syscall (SYS_landlock_create_ruleset, NULL, 0,
                    LANDLOCK_CREATE_RULESET_VERSION);
  return v < 0 ? 0 : (int)v;
}

static int
add_path_rule (int rfd, const char *path, uint64_t access, uint64_t handled,
               bool must_exist, moat_error_t *err)
{
  struct landlock_path_beneath_attr pb = { 0 };
  cleanup_close int fd = open (path, O_PATH | O_CLOEXEC);
  struct stat st;

  if (fd < 0)
    {
      if (!must_exist && errno == ENOENT)
        return 0;
      return moat_error (err, errno, "Landlock rule for `%s`", path);
    }
  if (fstat (fd, &st) < 0)
    return moat_error (err, errno, "stat `%s`", path);
  pb.parent_fd = fd;
  pb.allowed_access = access & handled;
  if (!S_ISDIR (st.st_mode))
    pb.allowed_access &= FS_FILE_RIGHTS;
  if (pb.allowed_access == 0)
    return 0;
  if (syscall (SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0)
      < 0)
    return moat_error (err, errno, "Landlock rule for `%s`", path);
  return 0;
}

/* The ruleset for req at the best ABI the kernel offers (*abi).  Without
 * Landlock (ABI 0) the binary does not run: the contract promises it. */
static int
build_ruleset (const struct ext_exec_req *req, int *abi, moat_error_t *err)
{
  struct ll_ruleset_attr attr = { 0 };
  size_t attr_size;
  cleanup_close int rfd = -1;
  uint64_t fs;

  *abi = landlock_abi ();
  if (*abi < 1)
    return moat_error (err, 0,
                       "this kernel offers no Landlock (enable "
                       "CONFIG_SECURITY_LANDLOCK and lsm=landlock): host "
                       "binaries do not run unconfined");
  fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1 */
  if (*abi >= 2)
    fs |= LANDLOCK_ACCESS_FS_REFER;
  if (*abi >= 3)
    fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (*abi >= 5)
    fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  attr.handled_access_fs = fs;
  attr_size = sizeof attr.handled_access_fs;
  if (*abi >= 4)
    {
      /* No TCP at all (rules none): seccomp also refuses non-unix
       * sockets; this holds if that filter ever lets one through. */
      attr.handled_access_net
          = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
      attr_size += sizeof attr.handled_access_net;
    }
  if (*abi >= 6)
    {
      /* No signal to, and no abstract unix socket of, anything outside. */
      attr.scoped
          = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
      attr_size += sizeof attr.scoped;
    }
  rfd = (int)syscall (SYS_landlock_create_ruleset, &attr, attr_size, 0);
  if (rfd < 0)
    return moat_error (err, errno, "create Landlock ruleset (ABI %d)", *abi);
  for (size_t i = 0; i < sizeof system_paths / sizeof system_paths[0]; i++)
    if (add_path_rule (rfd, system_paths[i].path, system_paths[i].access, fs,
                       false, err)
        < 0)
      return -1;
  for (size_t i = 0; req->read_dirs && req->read_dirs[i]; i++)
    if (add_path_rule (rfd, req->read_dirs[i], FS_RX, fs, true, err) < 0)
      return -1;
  for (size_t i = 0; req->write_dirs && req->write_dirs[i]; i++)
    if (add_path_rule (rfd, req->write_dirs[i], FS_RW, fs, true, err) < 0)
      return -1;
  return steal_fd (&rfd);
}

/* ---- seccomp ---- */

/* Default allow, with a deny list: a host binary is an ordinary program
 * (the docker CLI, a Go tool), so an allow list would break it, while the
 * calls below are the kernel's attack surface and the ways out of the
 * confinement.  What each group prevents is said once. */
static const int denied_syscalls[] = {
  /* file systems and namespaces: a new mount or namespace escapes Landlock's
   * view of paths */
  SCMP_SYS (mount),
  SCMP_SYS (umount2),
  SCMP_SYS (pivot_root),
  SCMP_SYS (chroot),
  SCMP_SYS (unshare),
  SCMP_SYS (setns),
  SCMP_SYS (open_tree),
  SCMP_SYS (move_mount),
  SCMP_SYS (fsopen),
  SCMP_SYS (fsconfig),
  SCMP_SYS (fsmount),
  SCMP_SYS (fspick),
  SCMP_SYS (mount_setattr),
  SCMP_SYS (name_to_handle_at),
  SCMP_SYS (open_by_handle_at),
  SCMP_SYS (swapon),
  SCMP_SYS (swapoff),
  SCMP_SYS (quotactl),
  SCMP_SYS (quotactl_fd),
  SCMP_SYS (acct),
  /* other processes: reading or steering the caller's other programs */
  SCMP_SYS (ptrace),
  SCMP_SYS (process_vm_readv),
  SCMP_SYS (process_vm_writev),
  SCMP_SYS (kcmp),
  SCMP_SYS (pidfd_getfd),
  SCMP_SYS (process_madvise),
  /* leaving the process group the timeout kills */
  SCMP_SYS (setsid),
  SCMP_SYS (setpgid),
  /* the kernel itself */
  SCMP_SYS (bpf),
  SCMP_SYS (perf_event_open),
  SCMP_SYS (userfaultfd),
  SCMP_SYS (kexec_load),
  SCMP_SYS (kexec_file_load),
  SCMP_SYS (init_module),
  SCMP_SYS (finit_module),
  SCMP_SYS (delete_module),
  SCMP_SYS (keyctl),
  SCMP_SYS (add_key),
  SCMP_SYS (request_key),
  SCMP_SYS (reboot),
  SCMP_SYS (syslog),
  SCMP_SYS (iopl),
  SCMP_SYS (ioperm),
  SCMP_SYS (settimeofday),
  SCMP_SYS (clock_settime),
  SCMP_SYS (clock_adjtime),
  SCMP_SYS (adjtimex),
  SCMP_SYS (vhangup),
  SCMP_SYS (lookup_dcookie),
  SCMP_SYS (fanotify_init),
  SCMP_SYS (uselib),
  SCMP_SYS (personality),
  /* io_uring runs operations that seccomp never sees */
  SCMP_SYS (io_uring_setup),
  SCMP_SYS (io_uring_enter),
  SCMP_SYS (io_uring_register),
};

#define NS_FLAGS                                                              \
  (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID   \
   | CLONE_NEWNET | CLONE_NEWCGROUP | 0x00000080 /* CLONE_NEWTIME */)

/* The filter as a BPF program (malloc'd in *prog), ready for the child. */
static int
build_seccomp (struct sock_fprog *prog, moat_error_t *err)
{
  scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  cleanup_close int mfd = -1;
  struct stat st;
  int rc = 0;
  void *buf;

  if (ctx == NULL)
    return moat_error (err, ENOMEM, "seccomp_init");
  for (size_t i = 0; i < sizeof denied_syscalls / sizeof denied_syscalls[0];
       i++)
    if (denied_syscalls[i] >= 0) /* < 0: not on this architecture */
      rc |= seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), denied_syscalls[i],
                              0);
  /* No IP network: the egress guard governs containers; a host binary runs
   * on the host, outside it.  Unix sockets only. */
  rc |= seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (socket), 1,
                          SCMP_A0 (SCMP_CMP_NE, AF_UNIX));
  rc |= seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (socketpair),
                          1, SCMP_A0 (SCMP_CMP_NE, AF_UNIX));
  /* New namespaces through clone; clone3 hides its flags in memory, so it
   * reports ENOSYS and libc falls back to clone. */
  for (unsigned long f = 1; f <= NS_FLAGS; f <<= 1)
    if (f & NS_FLAGS)
      rc |= seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (clone), 1,
                              SCMP_A0 (SCMP_CMP_MASKED_EQ, f, f));
  rc |= seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (clone3), 0);
  /* personality: a query (0xffffffff) only; setting flags such as
   * READ_IMPLIES_EXEC or ADDR_NO_RANDOMIZE weakens the process. */
  rc |= seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (personality),
                          1, SCMP_A0 (SCMP_CMP_NE, 0xffffffffu));
  /* Typing into the caller's terminal. */
  rc |= seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (ioctl), 1,
                          SCMP_A1 (SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
  rc |= seccomp_rule_add (
      ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (ioctl), 1,
      SCMP_A1 (SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
  if (rc != 0)
    {
      seccomp_release (ctx);
      return moat_error (err, EINVAL, "build the seccomp filter");
    }
  mfd = memfd_create ("moat-ext-seccomp", MFD_CLOEXEC);
  if (mfd < 0 || (rc = seccomp_export_bpf (ctx, mfd)) < 0)
    {
      seccomp_release (ctx);
      return moat_error (err, mfd < 0 ? errno : -rc, "export seccomp filter");
    }
  seccomp_release (ctx);
  if (fstat (mfd, &st) < 0 || st.st_size <= 0
      || st.st_size % (off_t)sizeof (struct sock_filter) != 0
      || st.st_size / (off_t)sizeof (struct sock_filter) > BPF_MAXINSNS)
    return moat_error (err, EINVAL, "seccomp filter size");
  buf = malloc ((size_t)st.st_size);
  if (buf == NULL)
    return moat_error (err, ENOMEM, "seccomp filter");
  if (pread (mfd, buf, (size_t)st.st_size, 0) != st.st_size)
    {
      free (buf);
      return moat_error (err, EIO, "read seccomp filter");
    }
  prog->len
      = (unsigned short)(st.st_size / (off_t)sizeof (struct sock_filter));
  prog->filter = buf;
  return 0;
}

/* ---- the child ---- */

struct child_plan
{
  const struct ext_exec_req *req;
  char *const *argv;
  int devnull, out_w, err_w, report_w;
  int exec_fd, ruleset_fd, cwd_fd;
  int keep[4];  /* the four above, sorted */
  bool as_root; /* moatd (or the tool) is root: switch ids */
  bool script;  /* "#!": the interpreter opens /dev/fd/<exec_fd> */
  struct sock_fprog prog;
  unsigned cpu_seconds;
};

static _Noreturn void
child_fail (int report_w, enum step s)
{
  int msg[2] = { (int)s, errno };
  ssize_t n = write (report_w, msg, sizeof msg);
  (void)n;
  _exit (127);
}

/* Close every descriptor >= 3 but the keep ones (sorted, -1 ignored). */
static int
close_others (const int *keep, size_t n)
{
  unsigned from = 3;
  for (size_t i = 0; i < n; i++)
    {
      if (keep[i] < (int)from)
        continue;
      if ((unsigned)keep[i] > from
          && close_range (from, (unsigned)keep[i] - 1, 0) < 0)
        return -1;
      from = (unsigned)keep[i] + 1;
    }
  return close_range (from, ~0U, 0);
}

/* Lower a limit (never above the current hard one: a non-root runner
 * could not raise it). */
static int
set_limit (int res, rlim_t soft, rlim_t hard)
{
  struct rlimit r;
  if (getrlimit (res, &r) < 0)
    return -1;
  if (hard < r.rlim_max)
    r.rlim_max = hard;
  r.rlim_cur = soft < r.rlim_max ? soft : r.rlim_max;
  return setrlimit (res, &r);
}

static _Noreturn void
child_run (const struct child_plan *p)
{
  const struct ext_exec_req *req = p->req;
  int rw = p->report_w;
  sigset_t all;
  struct sigaction dfl = { 0 };

  /* moatd ignores SIGPIPE and blocks some signals: the binary starts with
   * the defaults. */
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      sigaction (s, &dfl, NULL);
  sigemptyset (&all);
  if (sigprocmask (SIG_SETMASK, &all, NULL) < 0)
    child_fail (rw, STEP_SIGNALS);
  if (setsid () < 0)
    child_fail (rw, STEP_SESSION);
  if (dup2 (p->devnull, 0) < 0 || dup2 (p->out_w, 1) < 0
      || dup2 (p->err_w, 2) < 0)
    child_fail (rw, STEP_STDIO);
  if (close_others (p->keep, 4) < 0)
    child_fail (rw, STEP_FDS);
  if (set_limit (RLIMIT_CORE, 0, 0) < 0
      || set_limit (RLIMIT_NOFILE, 1024, 1024) < 0
      || set_limit (RLIMIT_FSIZE, 256 << 20, 256 << 20) < 0
      || set_limit (RLIMIT_CPU, p->cpu_seconds, p->cpu_seconds + 1) < 0
      || set_limit (RLIMIT_MEMLOCK, 0, 0) < 0
      || (req->uid != 0 && set_limit (RLIMIT_NPROC, 2048, 2048) < 0)
      || (req->max_memory != 0
          && set_limit (RLIMIT_DATA, req->max_memory, req->max_memory) < 0))
    child_fail (rw, STEP_RLIMIT);
  umask (077); /* what it creates is the caller's alone, whatever moatd's */
  if (p->cwd_fd >= 0 ? fchdir (p->cwd_fd) < 0 : chdir ("/") < 0)
    child_fail (rw, STEP_CHDIR);
  if (p->as_root)
    {
      /* No capability survives, even for a root caller: root with no
       * capabilities and SECBIT_NOROOT cannot regain them on exec. */
      for (unsigned long c = 0; c <= CAP_LAST_CAP; c++)
        if (prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
          child_fail (rw, STEP_CAPS);
      if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0
          || prctl (PR_SET_SECUREBITS,
                    SECBIT_NOROOT | SECBIT_NOROOT_LOCKED
                        | SECBIT_NO_SETUID_FIXUP_LOCKED
                        | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE
                        | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
                    0, 0, 0)
                 < 0)
        child_fail (rw, STEP_CAPS);
      if (setgroups (req->ngroups, req->groups) < 0
          || setresgid (req->gid, req->gid, req->gid) < 0
          || setresuid (req->uid, req->uid, req->uid) < 0)
        child_fail (rw, STEP_IDS);
      {
        struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct d[2] = { { 0 } };
        if (syscall (SYS_capset, &h, d) < 0)
          child_fail (rw, STEP_CAPS);
      }
      if (req->uid != 0 && (setuid (0) == 0 || seteuid (0) == 0))
        child_fail (rw, STEP_STILL_ROOT);
    }
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    child_fail (rw, STEP_NNP);
  if (syscall (SYS_landlock_restrict_self, p->ruleset_fd, 0) < 0)
    child_fail (rw, STEP_LANDLOCK);
  if (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p->prog, 0, 0) < 0)
    child_fail (rw, STEP_SECCOMP);
  /* A script's interpreter reads it through /dev/fd/N: that descriptor
   * (O_PATH, the script itself) stays open, nothing else. */
  if (p->script && fcntl (p->exec_fd, F_SETFD, 0) < 0)
    child_fail (rw, STEP_EXEC);
  syscall (SYS_execveat, p->exec_fd, "", p->argv, req->envp, AT_EMPTY_PATH);
  child_fail (rw, STEP_EXEC);
}

/* ---- the parent ---- */

static int
high_fd (int fd)
{
  int n;
  if (fd < 0 || fd > 2)
    return fd;
  n = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  close (fd);
  return n;
}

struct sink
{
  int fd;
  char *buf;
  size_t len, cap;
  int stream;                     /* 1 stdout, 2 stderr */
  const struct ext_exec_req *req; /* on_output, when set */
};

/* Read what is there into s; 1 = capped, 0 = more or EOF (fd closed). */
static int
sink_read (struct sink *s, size_t max)
{
  char tmp[16384];
  ssize_t n = read (s->fd, tmp, sizeof tmp);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n <= 0)
    {
      close (s->fd);
      s->fd = -1;
      return 0;
    }
  if (s->len + (size_t)n > max)
    n = (ssize_t)(max - s->len);
  if (s->req != NULL && s->req->on_output != NULL)
    {
      if (n > 0)
        s->req->on_output (s->req->output_ud, s->stream, tmp, (size_t)n);
      s->len += (size_t)n;
      return s->len >= max;
    }
  if (s->len + (size_t)n + 1 > s->cap)
    {
      size_t cap = s->cap ? s->cap : 4096;
      char *nb;
      while (cap < s->len + (size_t)n + 1)
        cap *= 2;
      nb = realloc (s->buf, cap);
      if (nb == NULL)
        return 1; /* treated as the cap: the output stops here */
      s->buf = nb;
      s->cap = cap;
    }
  memcpy (s->buf + s->len, tmp, (size_t)n);
  s->len += (size_t)n;
  return s->len >= max;
}

static int
check_req (const struct ext_exec_req *req, moat_error_t *err)
{
  size_t total = 0, n = 0;

  if (req->path == NULL || req->path[0] != '/')
    return moat_error (err, EINVAL, "the binary's path must be absolute");
  if (req->argv == NULL || req->envp == NULL)
    return moat_error (err, EINVAL, "argv and envp are required");
  for (size_t i = 0; req->argv[i]; i++, n++)
    total += strlen (req->argv[i]) + 1;
  if (n > EXT_EXEC_MAX_ARGS)
    return moat_error (err, E2BIG, "more than %d arguments",
                       EXT_EXEC_MAX_ARGS);
  n = 0;
  for (size_t i = 0; req->envp[i]; i++, n++)
    {
      const char *eq = strchr (req->envp[i], '=');
      if (eq == NULL || eq == req->envp[i])
        return moat_error (err, EINVAL,
                           "environment entry `%s` is not "
                           "NAME=value",
                           req->envp[i]);
      total += strlen (req->envp[i]) + 1;
    }
  if (n > EXT_EXEC_MAX_ARGS || total > EXT_EXEC_MAX_ARGLEN)
    return moat_error (err, E2BIG, "arguments and environment over %d bytes",
                       EXT_EXEC_MAX_ARGLEN);
  if (geteuid () != 0
      && (req->uid != getuid () || req->gid != getgid () || req->ngroups != 0))
    return moat_error (err, EPERM,
                       "only root runs a binary as another user (or with "
                       "chosen groups)");
  return 0;
}

static void
kill_group (pid_t pid)
{
  kill (-pid, SIGKILL);
}

int
ext_exec_confined (const struct ext_exec_req *req, struct ext_exec_result *res,
                   moat_error_t *err)
{
  struct child_plan p = { 0 };
  cleanup_close int exec_fd = -1, ruleset_fd = -1, cwd_fd = -1, devnull = -1;
  cleanup_close int pidfd = -1;
  int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, rep[2] = { -1, -1 };
  char *argv0[2] = { NULL, NULL };
  char **argv = NULL;
  struct sink so = { -1, NULL, 0, 0, 1, req }, se = { -1, NULL, 0, 0, 2, req };
  unsigned timeout = req->timeout_ms ? req->timeout_ms : EXT_EXEC_TIMEOUT_MS;
  size_t max = req->max_output ? req->max_output : EXT_EXEC_MAX_OUTPUT;
  long long deadline;
  int msg[2];
  ssize_t n;
  pid_t pid;
  siginfo_t si;
  bool exited = false;
  int ret = -1;

  memset (res, 0, sizeof *res);
  res->exit_code = -1;
  if (check_req (req, err) < 0)
    return -1;

  /* The binary, opened now, with the rights of moatd: the child cannot
   * reach it by path once it is the caller (the extensions' tree is
   * root's). */
  exec_fd = high_fd (open (req->path, O_PATH | O_CLOEXEC));
  if (exec_fd < 0)
    return moat_error (err, errno, "open `%s`", req->path);
  {
    struct stat st;
    if (fstat (exec_fd, &st) < 0)
      return moat_error (err, errno, "stat `%s`", req->path);
    if (!S_ISREG (st.st_mode))
      return moat_error (err, EACCES, "`%s` is not a regular file", req->path);
  }
  {
    char self[64], magic[2] = { 0, 0 };
    cleanup_close int rfd = -1;
    snprintf (self, sizeof self, "/proc/self/fd/%d", exec_fd);
    rfd = open (self, O_RDONLY | O_CLOEXEC);
    p.script = rfd >= 0 && read (rfd, magic, 2) == 2 && magic[0] == '#'
               && magic[1] == '!';
  }
  ruleset_fd = high_fd (build_ruleset (req, &res->landlock_abi, err));
  if (ruleset_fd < 0)
    return -1;
  if (req->write_dirs && req->write_dirs[0])
    {
      cwd_fd = high_fd (
          open (req->write_dirs[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (cwd_fd < 0)
        return moat_error (err, errno, "open `%s`", req->write_dirs[0]);
      if (req->cwd != NULL && req->cwd[0] != '\0')
        {
          /* beneath the write directory, as the caller could reach it:
           * no link (the caller may plant one there), no "..", no other
           * mount */
          struct open_how how = {
            .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
                       | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
          };
          int sub
              = (int)syscall (SYS_openat2, cwd_fd, req->cwd, &how, sizeof how);
          if (sub < 0)
            return moat_error (err, errno,
                               "working directory `%s` (a directory "
                               "beneath `%s`)",
                               req->cwd, req->write_dirs[0]);
          close (cwd_fd);
          cwd_fd = high_fd (sub);
          if (cwd_fd < 0)
            return moat_error (err, errno, "working directory");
        }
    }
  else if (req->cwd != NULL && req->cwd[0] != '\0')
    {
      return moat_error (err, EINVAL,
                         "a working directory needs a write "
                         "directory");
    }
  devnull = high_fd (open ("/dev/null", O_RDWR | O_CLOEXEC));
  if (devnull < 0)
    return moat_error (err, errno, "open /dev/null");
  if (build_seccomp (&p.prog, err) < 0)
    return -1;
  argv = (char **)req->argv;
  if (argv[0] == NULL)
    {
      argv0[0] = (char *)req->path;
      argv = argv0;
    }

  if (pipe2 (outp, O_CLOEXEC) < 0 || pipe2 (errp, O_CLOEXEC) < 0
      || pipe2 (rep, O_CLOEXEC) < 0)
    {
      moat_error (err, errno, "pipe");
      goto out;
    }
  for (int i = 0; i < 2; i++)
    {
      outp[i] = high_fd (outp[i]);
      errp[i] = high_fd (errp[i]);
      rep[i] = high_fd (rep[i]);
    }
  p.req = req;
  p.argv = argv;
  p.devnull = devnull;
  p.out_w = outp[1];
  p.err_w = errp[1];
  p.report_w = rep[1];
  p.exec_fd = exec_fd;
  p.ruleset_fd = ruleset_fd;
  p.cwd_fd = cwd_fd;
  p.as_root = geteuid () == 0;
  p.cpu_seconds = timeout / 1000 + 1;
  p.keep[0] = exec_fd;
  p.keep[1] = ruleset_fd;
  p.keep[2] = cwd_fd;
  p.keep[3] = rep[1];
  for (int i = 1; i < 4; i++) /* insertion sort: the child must not */
    for (int j = i; j > 0 && p.keep[j - 1] > p.keep[j]; j--)
      {
        int t = p.keep[j];
        p.keep[j] = p.keep[j - 1];
        p.keep[j - 1] = t;
      }

  pid = fork ();
  if (pid < 0)
    {
      moat_error (err, errno, "fork");
      goto out;
    }
  if (pid == 0)
    child_run (&p);

  close (outp[1]);
  close (errp[1]);
  close (rep[1]);
  outp[1] = errp[1] = rep[1] = -1;
  deadline = moat_mono_ms () + timeout;

  /* Until exec, the child only makes a few system calls: this read ends
   * promptly with EOF (exec happened) or the failed step. */
  do
    n = read (rep[0], msg, sizeof msg);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof msg)
    {
      int st;
      waitpid (pid, &st, 0);
      moat_error (err, msg[1], "confine the binary: %s",
                  msg[0] > 0 && msg[0] <= STEP_EXEC ? step_names[msg[0]]
                                                    : "?");
      goto out;
    }

  pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
  so.fd = outp[0];
  se.fd = errp[0];
  outp[0] = errp[0] = -1;
  /* Loop: output until the child exits, the timeout, or the cap. */
  while (!exited)
    {
      struct pollfd pf[4]
          = { { so.fd, POLLIN, 0 },
              { se.fd, POLLIN, 0 },
              { pidfd, POLLIN, 0 },
              { req->cancel_fd ? *req->cancel_fd : -1, POLLIN, 0 } };
      long long left = deadline - moat_mono_ms ();
      int r;

      if (left <= 0)
        {
          res->timed_out = true;
          break;
        }
      r = poll (pf, 4, (int)(left > 1000 ? 1000 : left));
      if (r < 0 && errno != EINTR)
        break;
      if (pf[3].revents != 0)
        {
          res->cancelled = true;
          break;
        }
      if (pidfd < 0 || (pf[2].revents & POLLIN))
        {
          /* Without a pidfd (never on 6.x), poll by waitid. */
          memset (&si, 0, sizeof si);
          if (waitid (P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0
              && si.si_pid == pid)
            exited = true;
        }
      if (so.fd >= 0 && (pf[0].revents & (POLLIN | POLLHUP))
          && sink_read (&so, max))
        res->truncated = true;
      if (se.fd >= 0 && (pf[1].revents & (POLLIN | POLLHUP))
          && sink_read (&se, max))
        res->truncated = true;
      if (res->truncated)
        break;
    }
  /* The whole group goes: what the binary left behind, or everything at
   * the timeout or the cap.  The child is not reaped yet, so its pid (the
   * group's id) cannot have been reused. */
  kill_group (pid);
  /* Drain what was written before the kill (bounded: descendants are dead;
   * one that passed the pipe elsewhere cannot hold us past 1 s). */
  {
    long long until = moat_mono_ms () + 1000;
    while ((so.fd >= 0 || se.fd >= 0) && !res->truncated)
      {
        struct pollfd pf[2] = { { so.fd, POLLIN, 0 }, { se.fd, POLLIN, 0 } };
        long long left = until - moat_mono_ms ();
        if (left <= 0 || poll (pf, 2, (int)left) <= 0)
          break;
        if (so.fd >= 0 && pf[0].revents && sink_read (&so, max))
          res->truncated = true;
        if (se.fd >= 0 && pf[1].revents && sink_read (&se, max))
          res->truncated = true;
      }
  }
  {
    int st;
    pid_t w;
    do
      w = waitpid (pid, &st, 0);
    while (w < 0 && errno == EINTR);
    if (w == pid && WIFEXITED (st))
      res->exit_code = WEXITSTATUS (st);
    else if (w == pid && WIFSIGNALED (st))
      res->term_signal = WTERMSIG (st);
  }
  ret = 0;

out:
  free (p.prog.filter);
  for (int i = 0; i < 2; i++)
    {
      if (outp[i] >= 0)
        close (outp[i]);
      if (errp[i] >= 0)
        close (errp[i]);
      if (rep[i] >= 0)
        close (rep[i]);
    }
  if (so.fd >= 0)
    close (so.fd);
  if (se.fd >= 0)
    close (se.fd);
  if (ret == 0)
    {
      /* with on_output, len only counted what was passed on */
      res->out = so.buf ? so.buf : strdup ("");
      res->out_len = so.buf ? so.len : 0;
      res->err = se.buf ? se.buf : strdup ("");
      res->err_len = se.buf ? se.len : 0;
      if (res->out == NULL || res->err == NULL)
        {
          ext_exec_result_free (res);
          return moat_error (err, ENOMEM, "output");
        }
      res->out[res->out_len] = '\0';
      res->err[res->err_len] = '\0';
    }
  else
    {
      free (so.buf);
      free (se.buf);
    }
  return ret;
}

void
ext_exec_result_free (struct ext_exec_result *res)
{
  free (res->out);
  free (res->err);
  res->out = res->err = NULL;
  res->out_len = res->err_len = 0;
}
