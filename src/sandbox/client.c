/* Parent side of the sandbox protocol.  Everything read from the sandbox is
 * hostile: lengths are bounded by sb_header_parse(), an unexpected frame is
 * a protocol violation, and the only remedy for a misbehaving sandbox is
 * SIGKILL by its PID and a fresh one. */
#include "sandbox/client.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/log.h"
#include "sandbox/proto.h"

#define CPU_CHECK_EVERY 256

struct script
{
  char *name;
  char *src;
  size_t len;
  unsigned timeout_ms;
};

struct sandbox_client
{
  struct sandbox_client_opts opts;
  char *exe;
  pid_t pid;
  int fd;
  struct script *scripts;
  size_t nscripts;
  unsigned long restarts;
  unsigned long calls;
  bool spawned; /* once at least (a lazy client starts at its first use) */
  /* Bytes received from this sandbox and not consumed yet: a frame's
   * header and payload come in one recv, not two.  Emptied with the
   * sandbox (stop), so nothing of a dead one is read as the next one's. */
  uint8_t in[4096];
  size_t in_off, in_len;
};

/* Kill (by PID, which we own and have not reaped, so it cannot have been
 * reused) and reap the sandbox; describe how it ended in *how. */
static void
stop (struct sandbox_client *c, char *how, size_t howlen)
{
  int status = 0;
  if (how)
    snprintf (how, howlen, "stopped");
  if (c->pid > 0)
    {
      /* A sandbox that already exited is a zombie until we reap it, so the
       * PID is still ours and the kill is harmless. */
      kill (c->pid, SIGKILL);
      while (waitpid (c->pid, &status, 0) < 0 && errno == EINTR)
        ;
      if (how && WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL)
        snprintf (how, howlen, "killed by the watchdog");
      else if (how && WIFSIGNALED (status))
        snprintf (how, howlen, "killed by signal %d (%s)", WTERMSIG (status),
                  strsignal (WTERMSIG (status)));
      else if (how && WIFEXITED (status))
        snprintf (how, howlen, "exited with status %d", WEXITSTATUS (status));
    }
  if (c->fd >= 0)
    {
      close (c->fd);
      c->fd = -1;
    }
  c->pid = -1;
  c->in_off = c->in_len = 0;
}

static int
send_all (struct sandbox_client *c, const uint8_t *buf, size_t len,
          int64_t deadline, moat_error_t *err)
{
  while (len > 0)
    {
      ssize_t n = send (c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0)
        {
          buf += n;
          len -= (size_t)n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno != EAGAIN)
        return moat_error (err, ECHILD, "write to sandbox: %s",
                           strerror (errno));
      int64_t left = deadline - moat_mono_ms ();
      if (left <= 0)
        return moat_error (err, ETIMEDOUT, "sandbox not reading");
      struct pollfd p = { .fd = c->fd, .events = POLLOUT };
      if (poll (&p, 1, (int)left) < 0 && errno != EINTR)
        return moat_error (err, errno, "poll sandbox");
    }
  return 0;
}

/* len bytes from the sandbox by the deadline.  What is buffered goes
 * first; then it waits (poll) before reading, since an answer is never
 * there the moment a request has been sent: a recv that would only say
 * EAGAIN is a syscall (several microseconds in a VM) for nothing.  Small
 * reads go through c->in, so one recv takes a whole frame. */
static int
recv_all (struct sandbox_client *c, uint8_t *buf, size_t len, int64_t deadline,
          moat_error_t *err)
{
  while (len > 0)
    {
      if (c->in_off < c->in_len)
        {
          size_t k = c->in_len - c->in_off < len ? c->in_len - c->in_off : len;
          memcpy (buf, c->in + c->in_off, k);
          c->in_off += k;
          buf += k;
          len -= k;
          continue;
        }
      int64_t left = deadline - moat_mono_ms ();
      if (left <= 0)
        return moat_error (err, ETIMEDOUT, "no answer by the deadline");
      struct pollfd p = { .fd = c->fd, .events = POLLIN };
      int r = poll (&p, 1, (int)left);
      if (r < 0 && errno != EINTR)
        return moat_error (err, errno, "poll sandbox");
      if (r <= 0)
        continue; /* EINTR or the deadline: checked above */
      bool direct = len >= sizeof c->in;
      ssize_t n = recv (c->fd, direct ? buf : c->in,
                        direct ? len : sizeof c->in, MSG_DONTWAIT);
      if (n == 0)
        return moat_error (err, ECHILD, "sandbox closed its pipe");
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n < 0)
        return moat_error (err, ECHILD, "read from sandbox: %s",
                           strerror (errno));
      if (direct)
        {
          buf += n;
          len -= (size_t)n;
        }
      else
        {
          c->in_off = 0;
          c->in_len = (size_t)n;
        }
    }
  return 0;
}

static int
send_frame (struct sandbox_client *c, uint8_t type, const struct sb_field *f,
            size_t n, int64_t deadline, moat_error_t *err)
{
  cleanup_free uint8_t *buf = NULL;
  size_t len;
  if (sb_frame_encode (type, f, n, &buf, &len) < 0)
    return moat_error (err, errno ? errno : EMSGSIZE, "encode frame");
  return send_all (c, buf, len, deadline, err);
}

/* Receive one frame; *payload is malloc'ed and owns the fields. */
static int
recv_frame (struct sandbox_client *c, int64_t deadline, uint8_t *type,
            uint8_t **payload, struct sb_field *f, int *nf, moat_error_t *err)
{
  uint8_t hdr[SB_FRAME_HDR];
  uint32_t len;
  if (recv_all (c, hdr, sizeof hdr, deadline, err) < 0)
    return -1;
  if (sb_header_parse (hdr, &len, type) < 0)
    return moat_error (err, EPROTO, "sandbox sent a malformed frame");
  cleanup_free uint8_t *p = malloc ((size_t)len + 1);
  if (p == NULL)
    return moat_error (err, ENOMEM, "frame of %" PRIu32 " bytes", len);
  if (recv_all (c, p, len, deadline, err) < 0)
    return -1;
  *nf = sb_payload_fields (p, len, f, SB_FIELDS_MAX);
  if (*nf < 0)
    return moat_error (err, EPROTO, "sandbox sent malformed fields");
  *payload = steal_pointer (&p);
  return 0;
}

static int
spawn (struct sandbox_client *c, moat_error_t *err)
{
  int sv[2];
  uint8_t type;
  int nf;
  struct sb_field f[SB_FIELDS_MAX];

  /* The sandbox gets no environment but the time zone (so that local time
   * in PACs matches the host's): nothing like LD_PRELOAD reaches it. */
  char tzbuf[256];
  const char *tz = getenv ("TZ");
  char *envp[2] = { NULL, NULL };
  if (tz && snprintf (tzbuf, sizeof tzbuf, "TZ=%s", tz) < (int)sizeof tzbuf)
    envp[0] = tzbuf;

  char heap[16];
  char *argv[4] = { (char *)"moat-sandbox", NULL, NULL, NULL };
  if (c->opts.heap_mb != 0)
    {
      snprintf (heap, sizeof heap, "%u", c->opts.heap_mb);
      argv[1] = (char *)"--heap-mb";
      argv[2] = heap;
    }

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return moat_error (err, errno, "socketpair");
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (sv[0]);
      close (sv[1]);
      return moat_error (err, e, "fork sandbox");
    }
  if (pid == 0)
    {
      /* Child: only async-signal-safe calls until exec. */
      sigset_t all;
      sigemptyset (&all);
      sigprocmask (SIG_SETMASK, &all, NULL);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (dup2 (sv[1], 0) < 0 || dup2 (sv[1], 1) < 0)
        _exit (127);
      execve (c->exe, argv, envp);
      _exit (127);
    }
  close (sv[1]);
  c->fd = sv[0];
  c->pid = pid;
  c->spawned = true;

  cleanup_free uint8_t *payload = NULL;
  if (recv_frame (c, moat_mono_ms () + c->opts.start_timeout_ms, &type,
                  &payload, f, &nf, err)
          < 0
      || type != SB_MSG_READY)
    {
      char how[96];
      stop (c, how, sizeof how);
      if (*err == NULL)
        moat_error (err, EPROTO, "unexpected first frame");
      return moat_error_wrap (err, "start sandbox `%s` (%s)", c->exe, how);
    }
  return 0;
}

/* One request/response exchange, answering host callbacks in between.  On a
 * script error returns -1 with status 0 and the sandbox alive; any other
 * failure leaves the sandbox to be killed by the caller. */
static int
exchange (struct sandbox_client *c, uint8_t type, const struct sb_field *in,
          size_t nin, int64_t deadline, char **result, moat_error_t *err)
{
  if (send_frame (c, type, in, nin, deadline, err) < 0)
    return -1;
  for (;;)
    {
      cleanup_free uint8_t *payload = NULL;
      struct sb_field f[SB_FIELDS_MAX];
      int nf;
      uint8_t t;
      if (recv_frame (c, deadline, &t, &payload, f, &nf, err) < 0)
        return -1;
      if (t == SB_MSG_OK && nf <= 1)
        {
          if (result)
            {
              *result = strdup (nf == 1 ? f[0].p : "null");
              if (*result == NULL)
                return moat_error (err, ENOMEM, "result");
            }
          return 0;
        }
      if (t == SB_MSG_ERR && nf == 1)
        {
          int st = strstr (f[0].p, "execution timeout") ? ETIMEDOUT : 0;
          moat_error (err, 0, "%s", f[0].p);
          if (st)
            (*err)->status = st;
          return -2;
        }
      if (t != SB_MSG_HOST || nf != 2)
        return moat_error (err, EPROTO, "sandbox sent frame type %u",
                           (unsigned)t);

      cleanup_error moat_error_t herr = NULL;
      cleanup_free char *answer = NULL;
      int r = -1;
      if (c->opts.host)
        r = c->opts.host (c->opts.host_ud, f[0].p, f[1].p, &answer, &herr);
      else
        moat_error (&herr, 0, "no host functions");
      if (r == 0 && answer == NULL)
        answer = strdup ("null");
      const char *msg = r == 0 ? answer : moat_error_msg (&herr);
      struct sb_field out = { msg, (uint32_t)strlen (msg) };
      if (send_frame (c, r == 0 ? SB_MSG_HOST_OK : SB_MSG_HOST_ERR, &out, 1,
                      deadline, err)
          < 0)
        return -1;
    }
}

static int
load_one (struct sandbox_client *c, const struct script *s, moat_error_t *err)
{
  char ms[16];
  snprintf (ms, sizeof ms, "%u", s->timeout_ms);
  struct sb_field in[3] = { { s->name, (uint32_t)strlen (s->name) },
                            { s->src, (uint32_t)s->len },
                            { ms, (uint32_t)strlen (ms) } };
  int64_t deadline = moat_mono_ms () + s->timeout_ms + c->opts.grace_ms;
  return exchange (c, SB_MSG_LOAD, in, 3, deadline, NULL, err);
}

/* Replace a dead or hung sandbox with a fresh one holding the same scripts.
 * err describes what happened to the old one (the caller's error). */
static void
restart (struct sandbox_client *c, moat_error_t *err)
{
  char how[96];
  cleanup_error moat_error_t e = NULL;
  stop (c, how, sizeof how);
  c->restarts++;
  moat_error_wrap (err, "sandbox %s, restarted", how);
  log_warn ("%s", moat_error_msg (err));
  if (spawn (c, &e) < 0)
    {
      log_error ("%s", moat_error_msg (&e));
      return; /* next call tries again */
    }
  for (size_t i = 0; i < c->nscripts; i++)
    {
      cleanup_error moat_error_t le = NULL;
      if (load_one (c, &c->scripts[i], &le) == -1)
        {
          log_error ("reload `%s`: %s", c->scripts[i].name,
                     moat_error_msg (&le));
          stop (c, NULL, 0);
          return;
        }
    }
}

static int
ensure_running (struct sandbox_client *c, moat_error_t *err)
{
  if (c->pid > 0)
    return 0;
  if (!c->spawned) /* lazy: the first start, not a restart */
    return spawn (c, err);
  cleanup_error moat_error_t e = NULL;
  restart (c, &e);
  if (c->pid <= 0)
    return moat_error (err, ECHILD, "sandbox is not running");
  return 0;
}

/* RLIMIT_CPU is cumulative: recycle a long-lived sandbox at half of it so
 * that the limit only ever fires on a runaway, not on an old healthy one. */
static void
maybe_recycle (struct sandbox_client *c)
{
  char path[64], buf[1024];
  unsigned long ut, st;
  if (c->opts.cpu_seconds == 0 || ++c->calls % CPU_CHECK_EVERY != 0)
    return;
  snprintf (path, sizeof path, "/proc/%d/stat", (int)c->pid);
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return;
  buf[n] = 0;
  char *p = strrchr (buf, ')'); /* comm may hold spaces */
  if (p == NULL
      || sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                 &ut, &st)
             != 2)
    return;
  long hz = sysconf (_SC_CLK_TCK);
  if (hz > 0 && (ut + st) / (unsigned long)hz >= c->opts.cpu_seconds / 2)
    {
      cleanup_error moat_error_t e = NULL;
      moat_error (&e, 0, "used half its CPU budget");
      restart (c, &e);
    }
}

int
sandbox_client_new (const struct sandbox_client_opts *opts,
                    struct sandbox_client **out, moat_error_t *err)
{
  struct sandbox_client *c = calloc (1, sizeof *c);
  if (c == NULL)
    return moat_error (err, ENOMEM, "sandbox client");
  c->opts = *opts;
  c->fd = -1;
  c->pid = -1;
  if (c->opts.grace_ms == 0)
    c->opts.grace_ms = 50;
  if (c->opts.start_timeout_ms == 0)
    c->opts.start_timeout_ms = 5000;
  c->exe = strdup (opts->exe);
  if (c->exe == NULL)
    {
      free (c);
      return moat_error (err, ENOMEM, "sandbox client");
    }
  c->opts.exe = c->exe;
  if (!c->opts.lazy && spawn (c, err) < 0)
    {
      sandbox_client_free (c);
      return -1;
    }
  *out = c;
  return 0;
}

static void
drop_scripts (struct sandbox_client *c)
{
  for (size_t i = 0; i < c->nscripts; i++)
    {
      free (c->scripts[i].name);
      free (c->scripts[i].src);
    }
  free (c->scripts);
  c->scripts = NULL;
  c->nscripts = 0;
}

void
sandbox_client_free (struct sandbox_client *c)
{
  if (c == NULL)
    return;
  stop (c, NULL, 0);
  drop_scripts (c);
  free (c->exe);
  free (c);
}

int
sandbox_client_load (struct sandbox_client *c, const char *name,
                     const char *src, size_t len, unsigned timeout_ms,
                     moat_error_t *err)
{
  struct script s = { (char *)name, (char *)src, len, timeout_ms };
  if (ensure_running (c, err) < 0)
    return -1;
  int r = load_one (c, &s, err);
  if (r == -2)
    return -1;
  if (r < 0)
    {
      restart (c, err);
      return -1;
    }
  struct script *n = realloc (c->scripts, (c->nscripts + 1) * sizeof *n);
  if (n == NULL)
    return moat_error (err, ENOMEM, "remember script");
  c->scripts = n;
  s.name = strdup (name);
  s.src = malloc (len ? len : 1);
  if (s.name == NULL || s.src == NULL)
    {
      free (s.name);
      free (s.src);
      return moat_error (err, ENOMEM, "remember script");
    }
  memcpy (s.src, src, len);
  c->scripts[c->nscripts++] = s;
  return 0;
}

int
sandbox_client_call (struct sandbox_client *c, const char *fn,
                     const char *args_json, unsigned timeout_ms,
                     char **result_json, moat_error_t *err)
{
  char ms[16];
  if (ensure_running (c, err) < 0)
    return -1;
  snprintf (ms, sizeof ms, "%u", timeout_ms);
  struct sb_field in[3] = { { fn, (uint32_t)strlen (fn) },
                            { args_json, (uint32_t)strlen (args_json) },
                            { ms, (uint32_t)strlen (ms) } };
  int64_t deadline = moat_mono_ms () + timeout_ms + c->opts.grace_ms;
  int r = exchange (c, SB_MSG_CALL, in, 3, deadline, result_json, err);
  if (r == -1)
    {
      restart (c, err);
      return -1;
    }
  maybe_recycle (c);
  return r < 0 ? -1 : 0;
}

int
sandbox_client_reset (struct sandbox_client *c, moat_error_t *err)
{
  stop (c, NULL, 0);
  drop_scripts (c);
  return spawn (c, err);
}

pid_t
sandbox_client_pid (const struct sandbox_client *c)
{
  return c->pid;
}

unsigned long
sandbox_client_restarts (const struct sandbox_client *c)
{
  return c->restarts;
}
