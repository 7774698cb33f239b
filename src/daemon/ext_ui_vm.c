/* vm.cli.exec (docs/extensions.md, "The UI"): an exec in the extension's
 * own backend container, on the raw engine, with nothing chosen by the
 * caller but the command, a working directory and the allowed
 * environment; collected or streamed; a run past its limits (or whose
 * stream was closed) is killed with its process tree, which the Engine
 * API cannot do.  Blocks: ext_ui_role.c's workers and ext_ui_stream.c's
 * threads call it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "dockerapi/dockerapi.h"
#include "ext_ui_exec.h"
#include "ext_ui_exec_int.h"

#define PREFIX "enhanced container isolation: "
#define VM_TIMEOUT_MS 30000L

/* ---- an exec in the extension's own backend container ---- */

/* The backend container's id from the installed record (the one
 * vm.service reaches); NULL with a message. */
static char *
backend_id (const char *dir, const char *name)
{
  cleanup_free char *p = NULL;
  json_t *rec;
  const char *id;
  char *r = NULL;

  if (asprintf (&p, "%s/%s/extension.json", dir, name) < 0)
    return NULL;
  rec = json_load_file (p, JSON_REJECT_DUPLICATES, NULL);
  id = json_string_value (
      json_object_get (json_object_get (rec, "backend"), "container"));
  if (id != NULL && strlen (id) == 64 && strspn (id, "0123456789abcdef") == 64)
    r = strdup (id);
  json_decref (rec);
  return r;
}

/* Split the engine's multiplexed stream into stdout and stderr. */
static int
demux (const char *b, size_t len, json_t *o)
{
  cleanup_free char *out = malloc (len + 1), *err = malloc (len + 1);
  size_t no = 0, ne = 0, i = 0;
  if (out == NULL || err == NULL)
    return -1;
  while (i + 8 <= len)
    {
      const unsigned char *h = (const unsigned char *)b + i;
      size_t sz = ((size_t)h[4] << 24) | ((size_t)h[5] << 16)
                  | ((size_t)h[6] << 8) | h[7];
      i += 8;
      if (sz > len - i)
        sz = len - i;
      if (h[0] == 2)
        memcpy (err + ne, b + i, sz), ne += sz;
      else
        memcpy (out + no, b + i, sz), no += sz;
      i += sz;
    }
  if (json_object_set_new (o, "stdout", json_stringn (out, no)) < 0
      || json_object_set_new (o, "stderr", json_stringn (err, ne)) < 0)
    return -1;
  return 0;
}

/* ---- ending an exec the engine cannot end ---- */

/* The parent pid of pid (/proc/PID/stat), -1 when it is gone. */
static pid_t
ppid_of (pid_t pid)
{
  char path[64], buf[512], *rp;
  int pp = -1;
  ssize_t n;
  cleanup_close int fd = -1;
  snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || (n = read (fd, buf, sizeof buf - 1)) <= 0)
    return -1;
  buf[n] = '\0';
  rp = strrchr (buf, ')'); /* the command may hold spaces and parens */
  if (rp == NULL || sscanf (rp + 1, " %*c %d", &pp) != 1)
    return -1;
  return (pid_t)pp;
}

/* Whether pid's cgroup is the container id's (its path names the id). */
static bool
in_container (pid_t pid, const char *id)
{
  char path[64], buf[4096];
  ssize_t n;
  cleanup_close int fd = -1;
  snprintf (path, sizeof path, "/proc/%d/cgroup", (int)pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || (n = read (fd, buf, sizeof buf - 1)) <= 0)
    return false;
  buf[n] = '\0';
  return strstr (buf, id) != NULL;
}

/* Stop (then kill) root and every process descended from it.  Stopped
 * processes cannot fork, so the walk is repeated until it finds nothing
 * new; then all get SIGKILL.  Only processes in the container's cgroup
 * are touched. */
static void
kill_tree (pid_t root, const char *id)
{
  pid_t *set = NULL;
  size_t n = 0, cap = 0;
  bool grew = true;

  for (int round = 0; grew && round < 16; round++)
    {
      DIR *d = opendir ("/proc");
      struct dirent *e;
      grew = false;
      if (d == NULL)
        break;
      while ((e = readdir (d)) != NULL)
        {
          char *end;
          long v = strtol (e->d_name, &end, 10);
          pid_t p = (pid_t)v, a;
          bool mine = false, seen = false;
          int depth = 0;
          if (*end != '\0' || v <= 1)
            continue;
          /* p is in the tree when an ancestor (within 64 levels) is root */
          for (a = p; a > 1 && !mine; a = ppid_of (a))
            {
              mine = a == root;
              if (++depth > 64)
                break;
            }
          if (!mine || !in_container (p, id))
            continue;
          seen = false;
          for (size_t i = 0; i < n && !seen; i++)
            seen = set[i] == p;
          if (seen)
            continue;
          if (n == cap)
            {
              pid_t *ns = realloc (set, (cap ? cap * 2 : 16) * sizeof *ns);
              if (ns == NULL)
                break;
              set = ns;
              cap = cap ? cap * 2 : 16;
            }
          set[n++] = p;
          kill (p, SIGSTOP);
          grew = true;
        }
      closedir (d);
    }
  for (size_t i = 0; i < n; i++)
    kill (set[i], SIGKILL);
  free (set);
}

/* End exec eid of container id, still running after its time (or output)
 * limit: its pid from the engine, checked to be in the container (through
 * a pidfd, so a reused pid is never signalled), then its whole tree. */
static void
vm_exec_kill (const char *engine_sock, const char *id, const char *eid)
{
  moat_error_t err = NULL;
  struct dockerapi_response r = { 0 };
  cleanup_free char *p = NULL;
  cleanup_close int pidfd = -1;
  json_t *j;
  pid_t pid;
  bool running;

  if (asprintf (&p, "/exec/%s/json", eid) < 0)
    {
      p = NULL;
      return;
    }
  if (dockerapi_call (engine_sock, "GET", p, NULL, 0, false, 10000, &r, &err)
      < 0)
    {
      log_warn ("vm.cli.exec: cannot end exec %.12s: %s", eid,
                moat_error_msg (&err));
      moat_error_release (&err);
      return;
    }
  j = r.status == 200 ? json_loadb (r.body, r.len, 0, NULL) : NULL;
  pid = (pid_t)json_integer_value (json_object_get (j, "Pid"));
  running = json_is_true (json_object_get (j, "Running"));
  json_decref (j);
  dockerapi_response_free (&r);
  if (!running || pid <= 1)
    return;
  pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    return; /* gone already */
  /* the pid is the process the pidfd holds as long as that is alive:
   * checked after the cgroup was read */
  if (!in_container (pid, id)
      || syscall (SYS_pidfd_send_signal, pidfd, 0, NULL, 0) != 0)
    return;
  kill_tree (pid, id);
  syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
}

/* (streamed) POST /exec/EID/start on the raw engine, read by hand: the
 * engine answers 200 and then the multiplexed stream, each frame passed to
 * sink as it comes, until the exec ends (EOF), the time or output limit,
 * or a cancel.  0 when the exec ended by itself; 1 when it was cut off
 * (*why says how); -1 with *err. */
static int
vm_stream_start (const char *engine_sock, const char *eid,
                 const struct ext_ui_sink *sink, const char **why,
                 moat_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;
  cleanup_free char *rq = NULL;
  char buf[65536]; /* a frame's header and up to 64 KiB of it */
  const char *sb = "{\"Detach\":false,\"Tty\":false}";
  size_t len = 0, cap = sizeof buf, total[2] = { 0, 0 };
  long long deadline = moat_mono_ms () + EXT_UI_STREAM_TIMEOUT_MS;
  bool head = true;
  int n;

  *why = NULL;
  if (strlen (engine_sock) >= sizeof sa.sun_path)
    return moat_error (err, ENAMETOOLONG, "the engine's socket path");
  memcpy (sa.sun_path, engine_sock, strlen (engine_sock) + 1);
  n = asprintf (&rq,
                "POST /exec/%s/start HTTP/1.1\r\nHost: docker\r\n"
                "User-Agent: moat\r\nContent-Type: application/json\r\n"
                "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                eid, strlen (sb), sb);
  if (n < 0)
    {
      rq = NULL;
      return moat_error (err, ENOMEM, "out of memory");
    }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0
      || ext_ui_write_all (fd, rq, (size_t)n) < 0)
    return moat_error (err, errno, "the engine's socket");
  for (;;)
    {
      struct pollfd pf[2]
          = { { fd, POLLIN, 0 }, { sink->cancel_fd, POLLIN, 0 } };
      long long left = deadline - moat_mono_ms ();
      ssize_t got;
      if (left <= 0)
        {
          *why = "timedOut";
          return 1;
        }
      if (poll (pf, 2, (int)(left > 1000 ? 1000 : left)) < 0)
        {
          if (errno == EINTR)
            continue;
          return moat_error (err, errno, "poll");
        }
      if (pf[1].revents != 0)
        {
          *why = "cancelled";
          return 1;
        }
      if (pf[0].revents == 0)
        continue;
      if (len == cap)
        return moat_error (err, E2BIG,
                           "a frame of the engine's stream "
                           "is too large");
      got = read (fd, buf + len, cap - len);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        return moat_error (err, errno, "read the engine's stream");
      if (got == 0)
        return head ? moat_error (err, EIO, "the engine closed the exec") : 0;
      len += (size_t)got;
      if (head)
        {
          char *e = memmem (buf, len, "\r\n\r\n", 4);
          int st = 0;
          if (e == NULL)
            continue;
          if (sscanf (buf, "HTTP/1.%*d %d", &st) != 1 || st != 200)
            return moat_error (err, EIO,
                               "the engine answered the exec's "
                               "start with HTTP %d",
                               st);
          head = false;
          memmove (buf, e + 4, len - (size_t)(e + 4 - buf));
          len -= (size_t)(e + 4 - buf);
        }
      /* whole frames: 8-byte header (stream, 0, 0, 0, size big-endian) */
      while (len >= 8)
        {
          const unsigned char *h = (const unsigned char *)buf;
          size_t sz = ((size_t)h[4] << 24) | ((size_t)h[5] << 16)
                      | ((size_t)h[6] << 8) | h[7];
          if (sz > cap - 8)
            return moat_error (err, E2BIG,
                               "a frame of the engine's stream "
                               "is too large");
          if (len < 8 + sz)
            break;
          total[h[0] == 2 ? 1 : 0] += sz;
          if (sz > 0)
            sink->output (sink->ud, h[0] == 2 ? 2 : 1, buf + 8, sz);
          memmove (buf, buf + 8 + sz, len - 8 - sz);
          len -= 8 + sz;
          if (total[0] > EXT_UI_STREAM_MAX_OUTPUT
              || total[1] > EXT_UI_STREAM_MAX_OUTPUT)
            {
              *why = "truncated";
              return 1;
            }
        }
    }
}

void
ext_ui_vm_exec (const struct ext_ui_exec_ctx *x, const char *name,
                const json_t *req, const struct ext_ui_sink *sink, int *status,
                json_t **reply)
{
  moat_error_t err = NULL;
  struct dockerapi_response r = { 0 };
  struct exec_opts o = { 0 };
  cleanup_free char *id = NULL, *p = NULL, *body = NULL;
  json_t *cmd = json_array (), *o_ = NULL, *j, *env = json_array ();
  char *why, **v = ext_ui_req_argv (req, NULL, &why), ebuf[256];
  const char *eid, *owhy = NULL, *cut = NULL;

  *status = 502;
  if (v == NULL || ext_ui_req_opts (req, &o, &owhy) < 0
      || (o.cwd != NULL && o.cwd[0] != '/'))
    {
      *status = 400;
      *reply = ext_ui_message (
          PREFIX "extension %s: vm.cli.exec: %s", name,
          v == NULL      ? why
          : owhy != NULL ? owhy
                         : "options.cwd must be an absolute path in the "
                           "backend container");
      json_decref (cmd);
      json_decref (env);
      ext_ui_argv_free (v);
      ext_ui_opts_free (&o);
      return;
    }
  for (size_t i = 0; v[i] != NULL; i++)
    json_array_append_new (cmd, json_string (v[i]));
  ext_ui_argv_free (v);
  for (size_t i = 0; o.env != NULL && o.env[i] != NULL; i++)
    json_array_append_new (env, json_string (o.env[i]));
  id = backend_id (x->dir, name);
  if (id == NULL)
    {
      *status = 404;
      *reply = ext_ui_message (PREFIX
                               "extension %s: vm.cli.exec: it has no backend "
                               "container",
                               name);
      json_decref (cmd);
      json_decref (env);
      ext_ui_opts_free (&o);
      return;
    }
  /* The caller chooses the command, a working directory and the allowed
   * environment (locale, terminal) only: no User, Privileged or other Env;
   * the exec gets the container's own user, capabilities, seccomp profile
   * and user namespace. */
  j = json_pack ("{s:b, s:b, s:b, s:b, s:o, s:o}", "AttachStdin", 0,
                 "AttachStdout", 1, "AttachStderr", 1, "Tty", 0, "Cmd", cmd,
                 "Env", env);
  if (j != NULL && o.cwd != NULL)
    json_object_set_new (j, "WorkingDir", json_string (o.cwd));
  ext_ui_opts_free (&o);
  body = j != NULL ? json_dumps (j, JSON_COMPACT) : NULL;
  json_decref (j);
  if (body == NULL || asprintf (&p, "/containers/%s/exec", id) < 0)
    {
      p = NULL;
      *reply = ext_ui_message ("out of memory");
      return;
    }
  if (dockerapi_call (x->engine_sock, "POST", p, body, strlen (body), false,
                      VM_TIMEOUT_MS, &r, &err)
      < 0)
    goto fail;
  if (r.status != 201)
    {
      *status = r.status == 409 ? 409 : 502;
      *reply
          = ext_ui_message (PREFIX "extension %s: vm.cli.exec: %s", name,
                            dockerapi_error_message (&r, ebuf, sizeof ebuf));
      dockerapi_response_free (&r);
      return;
    }
  j = json_loadb (r.body, r.len, 0, NULL);
  eid = json_string_value (json_object_get (j, "Id"));
  free (p);
  p = NULL;
  if (eid == NULL || strspn (eid, "0123456789abcdef") != strlen (eid)
      || asprintf (&p, "/exec/%s", eid) < 0)
    {
      p = NULL;
      json_decref (j);
      dockerapi_response_free (&r);
      *reply = ext_ui_message (PREFIX
                               "extension %s: vm.cli.exec: the engine gave no "
                               "exec id",
                               name);
      return;
    }
  json_decref (j);
  dockerapi_response_free (&r);
  {
    cleanup_free char *start = NULL, *insp = NULL;
    const char *sb = "{\"Detach\":false,\"Tty\":false}";
    if (asprintf (&start, "%s/start", p) < 0
        || asprintf (&insp, "%s/json", p) < 0)
      {
        *reply = ext_ui_message ("out of memory");
        return;
      }
    if (sink != NULL)
      {
        int sr = vm_stream_start (x->engine_sock, p + 6, sink, &cut, &err);
        if (sr != 0)
          vm_exec_kill (x->engine_sock, id, p + 6);
        if (sr < 0)
          goto fail;
        o_ = json_pack ("{s:s, s:s}", "stdout", "", "stderr", "");
      }
    else
      {
        if (dockerapi_call (x->engine_sock, "POST", start, sb, strlen (sb),
                            false, VM_TIMEOUT_MS, &r, &err)
            < 0)
          {
            /* past the time or output limit: the engine would let it run
             * until the container ends */
            vm_exec_kill (x->engine_sock, id, p + 6);
            goto fail;
          }
        o_ = json_object ();
        if (r.status != 200 || o_ == NULL || demux (r.body, r.len, o_) < 0)
          {
            vm_exec_kill (x->engine_sock, id, p + 6);
            *reply = ext_ui_message (
                PREFIX "extension %s: vm.cli.exec: %s", name,
                r.status != 200
                    ? dockerapi_error_message (&r, ebuf, sizeof ebuf)
                    : "the output is not UTF-8 text");
            json_decref (o_);
            dockerapi_response_free (&r);
            return;
          }
        dockerapi_response_free (&r);
      }
    if (o_ == NULL)
      {
        *reply = ext_ui_message ("out of memory");
        return;
      }
    if (cut != NULL)
      {
        json_object_set_new (o_, "code", json_null ());
        json_object_set_new (o_, "killed", json_true ());
        json_object_set_new (o_, "signal", json_string ("KILL"));
        json_object_set_new (o_, cut, json_true ());
        *status = 200;
        *reply = o_;
        return;
      }
    if (dockerapi_call (x->engine_sock, "GET", insp, NULL, 0, false,
                        VM_TIMEOUT_MS, &r, &err)
        < 0)
      {
        json_decref (o_);
        goto fail;
      }
    j = json_loadb (r.body, r.len, 0, NULL);
    json_object_set_new (
        o_, "code",
        json_is_integer (json_object_get (j, "ExitCode"))
                && !json_is_true (json_object_get (j, "Running"))
            ? json_integer (
                json_integer_value (json_object_get (j, "ExitCode")))
            : json_null ());
    json_decref (j);
    dockerapi_response_free (&r);
  }
  *status = 200;
  *reply = o_;
  return;
fail:
  *reply = ext_ui_message (PREFIX "extension %s: vm.cli.exec: %s", name,
                           moat_error_msg (&err));
  moat_error_release (&err);
}
