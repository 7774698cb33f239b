/* Processes moat starts and stops: identity by PID plus start time,
 * detached spawning, stopping by PID. */
#include "stack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"

int
stack_proc_stat_parse (const char *text, char *state, pid_t *ppid,
                       unsigned long long *start_time, moat_error_t *err)
{
  const char *p = strrchr (text, ')');
  char st;
  long pp;
  unsigned long long t;
  int field;

  if (p == NULL || p[1] != ' ')
    return moat_error (err, EINVAL, "malformed /proc stat line");
  p += 2;
  /* After "(comm) " comes field 3 (state); start time is field 22. */
  if (sscanf (p, "%c %ld", &st, &pp) != 2)
    return moat_error (err, EINVAL, "malformed /proc stat line");
  for (field = 3; field < 22; field++)
    {
      p = strchr (p, ' ');
      if (p == NULL)
        return moat_error (err, EINVAL, "short /proc stat line");
      p++;
    }
  if (sscanf (p, "%llu", &t) != 1)
    return moat_error (err, EINVAL, "malformed start time in /proc stat");
  if (state != NULL)
    *state = st;
  if (ppid != NULL)
    *ppid = (pid_t)pp;
  if (start_time != NULL)
    *start_time = t;
  return 0;
}

int
stack_proc_start_time (pid_t pid, unsigned long long *start_time,
                       moat_error_t *err)
{
  char path[64], buf[1024];
  cleanup_close int fd = -1;
  ssize_t n;
  char state;

  if (pid <= 0)
    return moat_error (err, ESRCH, "pid %d", (int)pid);
  snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return moat_error (err, errno == ENOENT ? ESRCH : errno, "open `%s`",
                       path);
  n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return moat_error (err, n < 0 ? errno : ESRCH, "read `%s`", path);
  buf[n] = '\0';
  if (stack_proc_stat_parse (buf, &state, NULL, start_time, err) < 0)
    return -1;
  if (state == 'Z' || state == 'X')
    return moat_error (err, ESRCH, "pid %d has exited", (int)pid);
  return 0;
}

enum stack_proc_state
stack_proc_check (const struct stack_proc *p)
{
  cleanup_error moat_error_t err = NULL;
  unsigned long long t;

  if (stack_proc_start_time (p->pid, &t, &err) < 0)
    return STACK_PROC_GONE;
  return t == p->start_time ? STACK_PROC_ALIVE : STACK_PROC_REUSED;
}

const char *
stack_proc_state_name (enum stack_proc_state s)
{
  switch (s)
    {
    case STACK_PROC_ALIVE:
      return "running";
    case STACK_PROC_GONE:
      return "not running";
    case STACK_PROC_REUSED:
      return "not running (pid reused by another process)";
    }
  return "?";
}

int
stack_pidfile_read (const char *path, pid_t *pid, moat_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len;
  char *end;
  long v;

  if (fs_read_file (path, 64, &buf, &len, err) < 0)
    {
      if (moat_error_status (err) == ENOENT)
        {
          moat_error_release (err);
          return 1;
        }
      return -1;
    }
  errno = 0;
  v = strtol (buf, &end, 10);
  while (*end == '\n' || *end == ' ')
    end++;
  if (errno != 0 || end == buf || *end != '\0' || v <= 0 || v > INT_MAX)
    return moat_error (err, EINVAL, "pid file `%s` does not hold a pid", path);
  *pid = (pid_t)v;
  return 0;
}

enum stack_proc_state
stack_pidfile_check (const char *path, pid_t *pid)
{
  cleanup_error moat_error_t err = NULL;
  unsigned long long t;

  *pid = 0;
  if (stack_pidfile_read (path, pid, &err) != 0)
    return STACK_PROC_GONE;
  if (stack_proc_start_time (*pid, &t, &err) < 0)
    return STACK_PROC_GONE;
  /* Alive, but without a recorded start time we cannot tell whether it is
   * the process the file was written for: never ours to signal. */
  return STACK_PROC_ALIVE;
}

/* In the child between fork and exec: only async-signal-safe calls.  On
 * failure, writes errno to the status pipe and exits 127. */
static void __attribute__ ((noreturn))
child_exec (char *const argv[], int logfd, int netnsfd, int statusfd)
{
  struct sigaction sa = { .sa_handler = SIG_DFL };
  sigset_t none;
  int nullfd, e;

  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      sigaction (s, &sa, NULL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  if (setsid () < 0)
    goto fail;
  if (netnsfd >= 0 && setns (netnsfd, CLONE_NEWNET) < 0)
    goto fail;
  nullfd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (nullfd < 0 || dup2 (nullfd, 0) < 0 || dup2 (logfd, 1) < 0
      || dup2 (logfd, 2) < 0)
    goto fail;
  /* Everything else is O_CLOEXEC already; closing the rest guards against
   * descriptors a library opened without it. */
  for (int fd = 3; fd < 1024; fd++)
    if (fd != statusfd)
      close (fd);
  execv (argv[0], argv);
fail:
  e = errno;
  if (write (statusfd, &e, sizeof e) < 0)
    _exit (127);
  _exit (127);
}

int
stack_spawn (char *const argv[], const char *log_path, const char *netns,
             struct stack_proc *out, moat_error_t *err)
{
  cleanup_close int logfd = -1;
  cleanup_close int netnsfd = -1;
  int pipefd[2];
  pid_t pid;
  int child_errno = 0;
  ssize_t n;

  logfd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (logfd < 0)
    return moat_error (err, errno, "open log `%s`", log_path);
  if (netns != NULL)
    {
      char nspath[PATH_MAX];
      if (strchr (netns, '/') != NULL || netns[0] == '.' || netns[0] == '\0')
        return moat_error (err, EINVAL, "bad network namespace name `%s`",
                           netns);
      snprintf (nspath, sizeof nspath, "/run/netns/%s", netns);
      netnsfd = open (nspath, O_RDONLY | O_CLOEXEC);
      if (netnsfd < 0)
        return moat_error (err, errno, "open network namespace `%s`", nspath);
    }
  /* The status pipe reports an exec failure; a successful exec closes it. */
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return moat_error (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (pipefd[0]);
      close (pipefd[1]);
      return moat_error (err, e, "fork");
    }
  if (pid == 0)
    child_exec (argv, logfd, netnsfd, pipefd[1]);
  close (pipefd[1]);
  do
    n = read (pipefd[0], &child_errno, sizeof child_errno);
  while (n < 0 && errno == EINTR);
  close (pipefd[0]);
  if (n == (ssize_t)sizeof child_errno)
    {
      waitpid (pid, NULL, 0);
      return moat_error (err, child_errno, "start `%s`", argv[0]);
    }
  out->pid = pid;
  if (stack_proc_start_time (pid, &out->start_time, err) < 0)
    {
      /* Exited already: reap it and let the caller read the log. */
      int st = 0;
      waitpid (pid, &st, 0);
      moat_error_release (err);
      moat_error (err, 0, "exited during startup (%s %d)",
                  WIFEXITED (st) ? "status" : "signal",
                  WIFEXITED (st) ? WEXITSTATUS (st) : WTERMSIG (st));
      return -2;
    }
  return 0;
}

bool
stack_proc_exited (const struct stack_proc *p, int *wstatus)
{
  int st = 0;
  pid_t r = waitpid (p->pid, &st, WNOHANG);
  if (r == p->pid)
    {
      if (wstatus != NULL)
        *wstatus = st;
      return true;
    }
  return false;
}

/* Wait up to ms for the process behind pidfd to exit; true when it has. */
static bool
wait_pidfd (int pidfd, const struct stack_proc *p, int ms)
{
  struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
  struct timespec start, now;

  clock_gettime (CLOCK_MONOTONIC, &start);
  for (;;)
    {
      int left, r;
      clock_gettime (CLOCK_MONOTONIC, &now);
      left = ms
             - (int)((now.tv_sec - start.tv_sec) * 1000
                     + (now.tv_nsec - start.tv_nsec) / 1000000);
      if (left < 0)
        left = 0;
      r = poll (&pfd, 1, left);
      if (r < 0 && errno == EINTR)
        continue;
      if (r != 0)
        {
          stack_proc_exited (p, NULL);
          return true;
        }
      if (left == 0)
        return false;
    }
}

int
stack_proc_stop (const char *name, const struct stack_proc *p, int term_ms,
                 moat_error_t *err)
{
  cleanup_close int pidfd = -1;
  enum stack_proc_state s;

  /* Pin the process with a pidfd first, then check its start time: if it
   * still matches, every signal below reaches exactly the process we
   * started, even if it exits and its PID is reused meanwhile. */
  pidfd = (int)syscall (SYS_pidfd_open, p->pid, 0);
  if (pidfd < 0 && errno != ESRCH)
    return moat_error (err, errno, "pidfd_open %s pid %d", name, (int)p->pid);
  s = pidfd < 0 ? STACK_PROC_GONE : stack_proc_check (p);
  if (s == STACK_PROC_REUSED)
    return moat_error (err, 0,
                       "%s pid %d now belongs to another process; not "
                       "signalling it",
                       name, (int)p->pid);
  if (s == STACK_PROC_GONE)
    {
      stack_proc_exited (p, NULL);
      return 0;
    }
  if (syscall (SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) < 0
      && errno != ESRCH)
    return moat_error (err, errno, "signal %s pid %d", name, (int)p->pid);
  if (wait_pidfd (pidfd, p, term_ms))
    return 0;
  log_warn ("%s pid %d did not stop within %d s; killing it", name,
            (int)p->pid, term_ms / 1000);
  if (syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0
      && errno != ESRCH)
    return moat_error (err, errno, "kill %s pid %d", name, (int)p->pid);
  if (wait_pidfd (pidfd, p, 10000))
    return 0;
  return moat_error (err, ETIMEDOUT, "%s pid %d does not exit", name,
                     (int)p->pid);
}
