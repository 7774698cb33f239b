/* moat-lock: the first process of a container that holds CAP_SYS_ADMIN.
 *
 * moat-runc makes it process.args[0] (bind-mounted read-only at
 * /dev/.moat-lock, inside runc's /dev tmpfs, so it never lands in an image
 * layer) with the original command after `--`.  runc starts it as uid 0
 * with the spec's capabilities plus the few it needs here, in the
 * container's user namespace U1 and mount namespace M1, after every mount,
 * mask and read-only path is in place.
 *
 * It then moves itself into a copy of M1 that the kernel locks:
 *
 *   - a child unshares a user namespace U2 (a child of U1, no mappings
 *     needed) together with a mount namespace M2.  Copying a mount
 *     namespace into one owned by a less privileged user namespace marks
 *     every mount MNT_LOCKED (cannot be unmounted, even lazily, nor moved),
 *     read-only ones MNT_LOCK_READONLY (cannot be remounted rw), mount
 *     flags locked, and a non-recursive bind of a tree with locked children
 *     refused; a fresh procfs or sysfs is refused while locked mounts cover
 *     parts of the visible one (mount_too_revealing);
 *   - this process, still in U1 with its capabilities (which cover U2: U2's
 *     parent is U1), joins M2 with setns and the child exits.  Nothing is
 *     left in M1, so it dies.
 *
 * The container keeps U1 (uid_map "0 BASE 65536"), its network, UTS, IPC,
 * cgroup and pid namespaces, which U1 owns: sysctls, hostname, iptables and
 * new mounts work as before; only what was mounted when it started is
 * locked.  `runc exec` joins /proc/<pid 1>/ns/mnt, which is M2.
 *
 * Then it restores what runc would have given the command: uid (kept at 0
 * for the steps above), bounding, effective, permitted, inheritable and
 * ambient capabilities, the working directory (setns resets it), and execs
 * the command through PATH as pid 1.
 *
 *   moat-lock --uid UID --caps BND,EFF,PRM,INH,AMB -- CMD [ARG...]
 *
 * When the command keeps CAP_SYS_ADMIN in its bounding set (it can mount),
 * moat-lock also adds the mount supervisor's seccomp filter before it
 * execs the command (docs/moat-runc.md, "Nested runtimes: procfs and
 * sysfs"): mount(2) calls that make a new mount (no MS_BIND, MS_REMOUNT,
 * MS_MOVE or propagation flag) return SECCOMP_RET_USER_NOTIF; every other
 * call is allowed by this filter.  The listener is close-on-exec: moat-lock
 * blocks SIGUSR1, installs the filter and waits (at most LISTENER_WAIT_S)
 * for the supervisor, which takes the listener with pidfd_getfd and then
 * sends SIGUSR1.
 *
 * Capability sets are hexadecimal masks.  Any failure exits 126 (127 if
 * CMD is not found) before CMD runs: the container never runs unlocked.
 * Built static: it runs inside the container's root file system. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mount.h>
#include <time.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum
{
  CAPS_BND,
  CAPS_EFF,
  CAPS_PRM,
  CAPS_INH,
  CAPS_AMB,
  CAPS_N
};

static _Noreturn void
die (int code, const char *fmt, ...)
{
  va_list ap;
  int e = errno;
  fputs ("moat-lock: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  if (e != 0)
    fprintf (stderr, ": %s", strerror (e));
  fputc ('\n', stderr);
  _exit (code);
}

static int
parse_caps (const char *s, uint64_t caps[CAPS_N])
{
  for (int i = 0; i < CAPS_N; i++)
    {
      char *end;
      errno = 0;
      caps[i] = strtoull (s, &end, 16);
      if (errno != 0 || end == s || *end != (i == CAPS_N - 1 ? '\0' : ','))
        return -1;
      s = end + 1;
    }
  return 0;
}

/* A child unshares U2 + M2; we join M2 and stay in U1.  The child holds M2
 * only until we have a descriptor of it. */
static void
enter_locked_mount_ns (void)
{
  int ready[2], hold[2], nsfd, status;
  char path[64], c;
  pid_t pid;
  ssize_t n;

  if (pipe2 (ready, O_CLOEXEC) < 0 || pipe2 (hold, O_CLOEXEC) < 0)
    die (126, "pipe");
  pid = fork ();
  if (pid < 0)
    die (126, "fork");
  if (pid == 0)
    {
      close (ready[0]);
      close (hold[1]);
      if (unshare (CLONE_NEWUSER | CLONE_NEWNS) < 0)
        die (126, "unshare a user and mount namespace");
      if (write (ready[1], "x", 1) != 1)
        _exit (126);
      while (read (hold[0], &c, 1) < 0 && errno == EINTR)
        ;
      _exit (0);
    }
  close (ready[1]);
  close (hold[0]);
  do
    n = read (ready[0], &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    {
      errno = 0;
      die (126, "the namespace helper failed");
    }
  snprintf (path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
  nsfd = open (path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    die (126, "open `%s`", path);
  close (hold[1]);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      die (126, "wait for the namespace helper");
  if (setns (nsfd, CLONE_NEWNS) < 0)
    die (126, "join the locked mount namespace");
  close (nsfd);
  close (ready[0]);
}

#define LISTENER_WAIT_S 10
#define CAP_SYS_ADMIN_BIT 21

/* Flags that never make a new file system: such calls go straight to the
 * kernel. */
#define PASS_FLAGS                                                            \
  (MS_BIND | MS_REMOUNT | MS_MOVE | MS_SHARED | MS_PRIVATE | MS_SLAVE         \
   | MS_UNBINDABLE)

/* The filter: new mounts of the native architecture notify, the rest is
 * allowed (the kernel decides, as without the filter). */
static void
add_mount_supervisor_filter (void)
{
  struct sock_filter f[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_mount, 1, 0),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    /* low 32 bits of the flags (args[3]) */
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS,
              offsetof (struct seccomp_data, args) + 3 * sizeof (__u64)),
    BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, PASS_FLAGS, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
  };
  struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
  struct timespec ts = { LISTENER_WAIT_S, 0 };
  sigset_t usr1, old;
  int fd, sig;

  sigemptyset (&usr1);
  sigaddset (&usr1, SIGUSR1);
  if (sigprocmask (SIG_BLOCK, &usr1, &old) < 0)
    die (126, "block SIGUSR1");
  /* allowed without no_new_privs: we hold CAP_SYS_ADMIN in our user
   * namespace */
  fd = (int)syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                     SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (fd < 0)
    die (126, "add the mount supervisor's seccomp filter");
  do
    sig = sigtimedwait (&usr1, NULL, &ts);
  while (sig < 0 && errno == EINTR);
  if (sig < 0)
    die (126, "no mount supervisor took the listener within %d s",
         LISTENER_WAIT_S);
  close (fd);
  if (sigprocmask (SIG_SETMASK, &old, NULL) < 0)
    die (126, "restore the signal mask");
}

static int
last_cap (void)
{
  int fd = open ("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  char buf[16] = { 0 };
  int v = 40;
  if (fd >= 0)
    {
      if (read (fd, buf, sizeof buf - 1) > 0)
        v = atoi (buf);
      close (fd);
    }
  return v > 0 && v < 64 ? v : 40;
}

/* What runc does in finalizeNamespace: bounding set, then the uid with
 * capabilities kept, then effective/permitted/inheritable, then ambient. */
static void
apply_user_and_caps (uid_t uid, const uint64_t caps[CAPS_N])
{
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];
  int last = last_cap ();

  for (int c = 0; c <= last; c++)
    if (!(caps[CAPS_BND] & (1ULL << c))
        && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      die (126, "drop capability %d from the bounding set", c);
  if (uid != 0)
    {
      if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        die (126, "keep capabilities");
      if (setresuid (uid, uid, uid) < 0)
        die (126, "set uid %u", (unsigned)uid);
      if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        die (126, "clear keepcaps");
    }
  for (int i = 0; i < 2; i++)
    {
      data[i].effective = (uint32_t)(caps[CAPS_EFF] >> (32 * i));
      data[i].permitted = (uint32_t)(caps[CAPS_PRM] >> (32 * i));
      data[i].inheritable = (uint32_t)(caps[CAPS_INH] >> (32 * i));
    }
  if (syscall (SYS_capset, &hdr, data) < 0)
    die (126, "set capabilities");
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0
      && errno != EINVAL)
    die (126, "clear ambient capabilities");
  for (int c = 0; c <= last; c++)
    if ((caps[CAPS_AMB] & (1ULL << c))
        && prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
      die (126, "raise ambient capability %d", c);
}

int
main (int argc, char **argv)
{
  uint64_t caps[CAPS_N];
  int have_caps = 0, have_uid = 0, i;
  unsigned long uid = 0;
  char cwd[PATH_MAX];

  for (i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        {
          i++;
          break;
        }
      if (strcmp (argv[i], "--uid") == 0 && i + 1 < argc)
        {
          char *end;
          errno = 0;
          uid = strtoul (argv[++i], &end, 10);
          if (errno != 0 || *end != '\0' || uid > UINT32_MAX - 1)
            die (126, "bad --uid `%s`", argv[i]);
          have_uid = 1;
        }
      else if (strcmp (argv[i], "--caps") == 0 && i + 1 < argc)
        {
          if (parse_caps (argv[++i], caps) < 0)
            die (126, "bad --caps `%s`", argv[i]);
          have_caps = 1;
        }
      else
        {
          errno = 0;
          die (126, "unknown argument `%s`", argv[i]);
        }
    }
  errno = 0;
  if (!have_uid || !have_caps || i >= argc)
    die (126, "usage: moat-lock --uid UID --caps B,E,P,I,A -- CMD [ARG...]");

  /* runc starts us as root even for another user, so exec may have raised
   * our permitted set and made us undumpable; the helper inherits that,
   * and we could not open its /proc/PID/ns/mnt without CAP_SYS_PTRACE.
   * The command's exec sets dumpable again by its own rules. */
  if (prctl (PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
    die (126, "set dumpable");
  /* setns(CLONE_NEWNS) moves cwd to the namespace's root; the same path
   * names the same directory in the copy. */
  if (getcwd (cwd, sizeof cwd) == NULL)
    die (126, "getcwd");
  enter_locked_mount_ns ();
  if (chdir (cwd) < 0)
    die (126, "chdir `%s`", cwd);
  if (caps[CAPS_BND] & (1ULL << CAP_SYS_ADMIN_BIT))
    add_mount_supervisor_filter ();
  apply_user_and_caps ((uid_t)uid, caps);

  execvp (argv[i], argv + i);
  die (errno == ENOENT ? 127 : 126, "exec `%s`", argv[i]);
}
