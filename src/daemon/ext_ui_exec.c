/* The ddClient calls that run something (docs/extensions.md, "The UI"):
 *
 * - host.cli.exec: a host binary the extension lists (ext_host_exec), as
 *   the signed-in user with their groups;
 * - docker.cli.exec: the docker CLI, confined (ext_exec_confined), as that
 *   user, on the guarded socket: ECI, socket exceptions and the sign-in
 *   gate judge the user, never moatd;
 * - docker.listContainers / docker.listImages: the engine's JSON, asked by
 *   a child that has become that user (no capability left) and connected
 *   to the guarded socket itself;
 * - vm.cli.exec: an exec in the extension's own backend container, on the
 *   raw engine, with nothing chosen by the caller but the command.
 *
 * Everything here blocks: it runs on ext_ui_role.c's worker threads. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "common/users.h"
#include "dockerapi/dockerapi.h"
#include "ext/hostexec.h"
#include "ext_ui_exec.h"
#include "ext_ui_exec_int.h"

#define PREFIX "enhanced container isolation: "
#define LIST_TIMEOUT_MS 30000
#define LIST_MAX (DOCKERAPI_MAX_BODY + 64 * 1024)

json_t *
ext_ui_message (const char *fmt, ...)
{
  cleanup_free char *m = NULL;
  va_list ap;
  int n;
  va_start (ap, fmt);
  n = vasprintf (&m, fmt, ap);
  va_end (ap);
  if (n < 0)
    {
      m = NULL;
      return json_pack ("{s:s}", "message", "out of memory");
    }
  return json_pack ("{s:s}", "message", m);
}

static int
err_status (const moat_error_t *err)
{
  switch (moat_error_status (err))
    {
    case EPERM:
    case EACCES:
      return 403;
    case ENOENT:
      return 404;
    case EINVAL:
    case E2BIG:
    case EXDEV:   /* a cwd out of its home (RESOLVE_BENEATH) */
    case ELOOP:   /* a cwd through a link */
    case ENOTDIR: /* a cwd that is not a directory */
      return 400;
    default:
      return 502;
    }
}

/* req's command and args as a NULL-terminated vector (argv[0] = first
 * when not NULL, then command, then args); NULL with a message. */
char **
ext_ui_req_argv (const json_t *req, const char *first, char **why)
{
  const json_t *cmd = json_object_get (req, "command");
  const json_t *args = json_object_get (req, "args"), *a;
  size_t n = args != NULL ? json_array_size (args) : 0, i, k = 0;
  char **v;

  *why = NULL;
  if (!json_is_string (cmd) || json_string_length (cmd) == 0
      || strlen (json_string_value (cmd)) != json_string_length (cmd))
    {
      *why = "the command must be a non-empty string";
      return NULL;
    }
  if (args != NULL && !json_is_array (args) && !json_is_null (args))
    {
      *why = "args must be an array of strings";
      return NULL;
    }
  if (n + 3 > EXT_EXEC_MAX_ARGS)
    {
      *why = "too many arguments";
      return NULL;
    }
  v = calloc (n + 3, sizeof *v);
  if (v == NULL)
    {
      *why = "out of memory";
      return NULL;
    }
  if (first != NULL)
    v[k++] = strdup (first);
  v[k++] = strdup (json_string_value (cmd));
  json_array_foreach (args, i, a)
  {
    if (!json_is_string (a)
        || strlen (json_string_value (a)) != json_string_length (a))
      {
        *why = "args must be an array of strings (without NUL)";
        break;
      }
    v[k++] = strdup (json_string_value (a));
  }
  for (i = 0; i < k && *why == NULL; i++)
    if (v[i] == NULL)
      *why = "out of memory";
  if (*why != NULL)
    {
      for (i = 0; i < k; i++)
        free (v[i]);
      free (v);
      return NULL;
    }
  return v;
}

void
ext_ui_argv_free (char **v)
{
  for (size_t i = 0; v != NULL && v[i] != NULL; i++)
    free (v[i]);
  free (v);
}

/* The options of an exec call: options.cwd (a string) and options.env (an
 * object of strings).  env entries are kept as NAME=value only when the
 * host binaries' allow list passes them (ext_host_env_passed); the rest
 * (LD_PRELOAD, PATH, tokens, ...) is dropped.  *env: NULL-terminated, or
 * NULL when none is kept.  -1 with *why. */

void
ext_ui_opts_free (struct exec_opts *o)
{
  for (size_t i = 0; o->env != NULL && o->env[i] != NULL; i++)
    free (o->env[i]);
  free (o->env);
  o->env = NULL;
}

int
ext_ui_req_opts (const json_t *req, struct exec_opts *o, const char **why)
{
  const json_t *opts = json_object_get (req, "options"), *cwd, *env, *v;
  const char *k;
  size_t n = 0;

  memset (o, 0, sizeof *o);
  if (opts == NULL || json_is_null (opts))
    return 0;
  if (!json_is_object (opts))
    {
      *why = "options must be an object";
      return -1;
    }
  json_object_foreach ((json_t *)opts, k, v)
  {
    if (strcmp (k, "cwd") != 0 && strcmp (k, "env") != 0)
      {
        *why = "unknown option (cwd and env are known)";
        return -1;
      }
  }
  cwd = json_object_get (opts, "cwd");
  if (cwd != NULL && !json_is_null (cwd))
    {
      const char *c = json_string_value (cwd);
      bool ok = c != NULL && strlen (c) == json_string_length (cwd)
                && strlen (c) < 4096;
      for (const char *q = c; ok && *q != '\0'; q++)
        ok = (unsigned char)*q >= 0x20 && *q != 0x7f;
      if (!ok)
        {
          *why = "options.cwd must be a path (a string without control "
                 "characters)";
          return -1;
        }
      o->cwd = c[0] != '\0' ? c : NULL;
    }
  env = json_object_get (opts, "env");
  if (env == NULL || json_is_null (env))
    return 0;
  if (!json_is_object (env) || json_object_size (env) > EXT_EXEC_MAX_ARGS)
    {
      *why = "options.env must be an object of at most 256 strings";
      return -1;
    }
  o->env = calloc (json_object_size (env) + 1, sizeof *o->env);
  if (o->env == NULL)
    {
      *why = "out of memory";
      return -1;
    }
  json_object_foreach ((json_t *)env, k, v)
  {
    char *e = NULL;
    const char *val = json_string_value (v);
    if (val == NULL || strlen (val) != json_string_length (v) || k[0] == '\0'
        || strchr (k, '=') != NULL)
      {
        ext_ui_opts_free (o);
        *why = "options.env must map names (without `=`) to strings "
               "(without NUL)";
        return -1;
      }
    if (asprintf (&e, "%s=%s", k, val) < 0)
      {
        ext_ui_opts_free (o);
        *why = "out of memory";
        return -1;
      }
    if (ext_host_env_passed (e))
      o->env[n++] = e;
    else
      free (e); /* not on the allow list: dropped */
  }
  return 0;
}

/* cwd for a run in home: relative to it, or absolute inside it.  *rel:
 * NULL (home itself) or the part beneath it; -1 with *err when it is
 * elsewhere. */
static int
cwd_in_home (const char *cwd, const char *home, const char **rel,
             moat_error_t *err)
{
  size_t hl = strlen (home);
  *rel = NULL;
  if (cwd == NULL)
    return 0;
  if (cwd[0] != '/')
    {
      *rel = cwd;
      return 0;
    }
  if (strncmp (cwd, home, hl) != 0 || (cwd[hl] != '\0' && cwd[hl] != '/'))
    return moat_error (err, EINVAL,
                       "options.cwd `%.200s` is not inside the extension's "
                       "home for this user (%s)",
                       cwd, home);
  while (cwd[hl] == '/')
    hl++;
  *rel = cwd[hl] != '\0' ? cwd + hl : NULL;
  return 0;
}

/* A streamed run's limits and output (sink NULL: the collected form's
 * defaults). */
static void
exec_sink (struct ext_exec_req *r, const struct ext_ui_sink *sink)
{
  if (sink == NULL)
    return;
  r->timeout_ms = EXT_UI_STREAM_TIMEOUT_MS;
  r->max_output = EXT_UI_STREAM_MAX_OUTPUT;
  r->on_output = sink->output;
  r->output_ud = sink->ud;
  r->cancel_fd = &sink->cancel_fd;
}

/* ExecResult of Docker's SDK: {stdout, stderr, code} (+ killed, signal). */
static json_t *
exec_result (const struct ext_exec_result *r)
{
  json_t *o = json_pack ("{s:s%, s:s%}", "stdout", r->out ? r->out : "",
                         r->out ? r->out_len : 0, "stderr",
                         r->err ? r->err : "", r->err ? r->err_len : 0);
  if (o == NULL)
    return ext_ui_message ("the output is not UTF-8 text");
  json_object_set_new (o, "code",
                       r->exit_code >= 0 ? json_integer (r->exit_code)
                                         : json_null ());
  if (r->term_signal != 0 || r->timed_out || r->truncated || r->cancelled)
    {
      json_object_set_new (o, "killed", json_true ());
      json_object_set_new (o, "signal",
                           json_string (sigabbrev_np (r->term_signal)
                                            ? sigabbrev_np (r->term_signal)
                                            : "KILL"));
    }
  if (r->timed_out)
    json_object_set_new (o, "timedOut", json_true ());
  if (r->cancelled)
    json_object_set_new (o, "cancelled", json_true ());
  if (r->truncated)
    json_object_set_new (o, "truncated", json_true ());
  return o;
}

/* How an exec call runs argv v (command first) with options o as uid;
 * 0 with *res, -1 with *err. */
typedef int (*exec_fn) (const struct ext_ui_exec_ctx *x, uid_t uid,
                        const char *name, char **v, const struct exec_opts *o,
                        const struct ext_ui_sink *sink,
                        struct ext_exec_result *res, moat_error_t *err);

static int
host_run (const struct ext_ui_exec_ctx *x, uid_t uid, const char *name,
          char **v, const struct exec_opts *o, const struct ext_ui_sink *sink,
          struct ext_exec_result *res, moat_error_t *err)
{
  cleanup_free gid_t *groups = NULL;
  cleanup_free char *home = NULL;
  size_t ng = 0;
  gid_t gid;
  struct ext_exec_req ro = { 0 };

  if (moat_user_ids (uid, &gid, &groups, &ng, err) < 0)
    return -1;
  if (o->cwd != NULL)
    {
      home = ext_host_home (x->dir, name, uid, gid, err);
      if (home == NULL || cwd_in_home (o->cwd, home, &ro.cwd, err) < 0)
        return -1;
    }
  exec_sink (&ro, sink);
  return ext_host_exec_opts (x->dir, name, v[0], v + 1, o->env, uid, gid,
                             groups, ng, 0, &ro, res, err);
}

static const char *
docker_cli (void)
{
  if (access ("/usr/local/bin/docker", X_OK) == 0)
    return "/usr/local/bin/docker";
  if (access ("/usr/bin/docker", X_OK) == 0)
    return "/usr/bin/docker";
  return NULL;
}

static int
docker_run (const struct ext_ui_exec_ctx *x, uid_t uid, const char *name,
            char **v, const struct exec_opts *o,
            const struct ext_ui_sink *sink, struct ext_exec_result *res,
            moat_error_t *err)
{
  cleanup_free gid_t *groups = NULL;
  cleanup_free char *home = NULL, *e_home = NULL, *e_host = NULL;
  size_t ng = 0;
  gid_t gid;
  const char *cli = docker_cli ();

  /* the command is a subcommand: a global option (-H, --context,
   * --config) would choose another engine or configuration */
  if (v[1][0] == '-')
    return moat_error (err, EINVAL,
                       "the command must be a docker subcommand, not an "
                       "option (`%.64s`)",
                       v[1]);
  if (cli == NULL) /* ENOEXEC: a 502, moat's install is incomplete */
    return moat_error (err, ENOEXEC,
                       "no docker CLI in /usr/local/bin or /usr/bin");
  if (moat_user_ids (uid, &gid, &groups, &ng, err) < 0
      || (home = ext_host_home (x->dir, name, uid, gid, err)) == NULL)
    return -1;
  if (asprintf (&e_home, "HOME=%s", home) < 0
      || asprintf (&e_host, "DOCKER_HOST=unix://%s", x->guard_sock) < 0)
    {
      e_home = e_host = NULL;
      return moat_error (err, ENOMEM, "out of memory");
    }
  /* moat's four, then the caller's allowed ones (locale, terminal) */
  char *envp[4 + EXT_EXEC_MAX_ARGS + 1]
      = { "PATH=/usr/local/bin:/usr/bin:/bin", e_home, e_host,
          "DOCKER_CLI_HINTS=false" };
  size_t ne = 4;
  const char *writes[] = { home, NULL };
  for (size_t i = 0; o->env != NULL && o->env[i] != NULL; i++)
    envp[ne++] = o->env[i];
  envp[ne] = NULL;
  struct ext_exec_req r = {
    .path = cli,
    .argv = v,
    .envp = envp,
    .uid = uid,
    .gid = gid,
    .groups = groups,
    .ngroups = ng,
    .write_dirs = writes,
    /* its arguments are the extension's: a --format template runs in
     * the CLI, and so does the parsing of whatever the command reads */
    .max_memory = EXT_EXEC_PARSER_MEMORY,
  };
  if (cwd_in_home (o->cwd, home, &r.cwd, err) < 0)
    return -1;
  exec_sink (&r, sink);
  return ext_exec_confined (&r, res, err);
}

/* host.cli.exec and docker.cli.exec: req's argv (after first, when not
 * NULL) and options, run by fn; the answer is its ExecResult (200) or
 * its error's message.  no_errno: the status of an error without an
 * errno (ext_host_exec's refusal of a binary not listed: 403). */
static void
exec_call (const char *call, const char *first, exec_fn fn, int no_errno,
           const struct ext_ui_exec_ctx *x, uid_t uid, const char *name,
           const json_t *req, const struct ext_ui_sink *sink, int *status,
           json_t **reply)
{
  moat_error_t err = NULL;
  struct ext_exec_result res = { 0 };
  struct exec_opts o = { 0 };
  const char *owhy = NULL;
  char *why, **v = ext_ui_req_argv (req, first, &why);

  if (v == NULL || ext_ui_req_opts (req, &o, &owhy) < 0)
    {
      *status = 400;
      *reply = ext_ui_message (PREFIX "extension %s: %s: %s", name, call,
                               v == NULL ? why : owhy);
    }
  else if (fn (x, uid, name, v, &o, sink, &res, &err) == 0)
    {
      *status = 200;
      *reply = exec_result (&res);
    }
  else
    {
      *status = moat_error_status (&err) == 0 ? no_errno : err_status (&err);
      *reply = ext_ui_message (PREFIX "extension %s: %s: %s", name, call,
                               moat_error_msg (&err));
    }
  moat_error_release (&err);
  ext_exec_result_free (&res);
  ext_ui_argv_free (v);
  ext_ui_opts_free (&o);
}

/* ---- the engine's lists, as the user ---- */

int
ext_ui_write_all (int fd, const char *p, size_t n)
{
  while (n > 0)
    {
      ssize_t w = write (fd, p, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return -1;
      p += w;
      n -= (size_t)w;
    }
  return 0;
}

/* (child, after fork: async-signal-safe calls only) become uid:gid with
 * groups, connect to sa, send req, copy the answer to out.  The first 4
 * bytes written are the errno of the connection (0: connected). */
static void __attribute__ ((noreturn))
list_child (int out, const struct sockaddr_un *sa, const char *req,
            size_t req_len, uid_t uid, gid_t gid, const gid_t *groups,
            size_t ng)
{
  char buf[16384];
  int e = 0, s = -1;
  ssize_t n;

  if (syscall (SYS_setgroups, ng, groups) != 0
      || syscall (SYS_setresgid, gid, gid, gid) != 0
      || syscall (SYS_setresuid, uid, uid, uid) != 0
      || prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    _exit (126);
  /* a non-root uid has no capability left (setresuid cleared them); a
   * root caller is root on the guarded socket anyway */
  s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0 || connect (s, (const struct sockaddr *)sa, sizeof *sa) != 0)
    e = errno;
  if (ext_ui_write_all (out, (const char *)&e, sizeof e) < 0 || e != 0)
    _exit (e != 0 ? 1 : 126);
  if (ext_ui_write_all (s, req, req_len) < 0)
    _exit (1);
  while ((n = read (s, buf, sizeof buf)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || ext_ui_write_all (out, buf, (size_t)n) < 0)
        _exit (1);
    }
  _exit (0);
}

/* GET path on the guarded socket as uid; *raw: the HTTP answer. */
static int
guarded_get (const char *sock, const char *path, uid_t uid, gid_t gid,
             const gid_t *groups, size_t ng, char **raw, size_t *raw_len,
             moat_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  cleanup_free char *req = NULL;
  cleanup_free char *buf = NULL;
  size_t len = 0, cap = 0;
  int p[2], st = 0, r = 0;
  long long deadline = moat_mono_ms () + LIST_TIMEOUT_MS;
  pid_t pid;
  int n;

  if (strlen (sock) >= sizeof sa.sun_path)
    return moat_error (err, ENAMETOOLONG, "the guarded socket path");
  memcpy (sa.sun_path, sock, strlen (sock) + 1);
  n = asprintf (&req,
                "GET %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: moat\r\n"
                "Connection: close\r\n\r\n",
                path);
  if (n < 0)
    {
      req = NULL;
      return moat_error (err, ENOMEM, "out of memory");
    }
  if (pipe2 (p, O_CLOEXEC) < 0)
    return moat_error (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    {
      r = moat_error (err, errno, "fork");
      close (p[0]);
      close (p[1]);
      return r;
    }
  if (pid == 0)
    {
      close (p[0]);
      list_child (p[1], &sa, req, (size_t)n, uid, gid, groups, ng);
    }
  close (p[1]);
  for (;;)
    {
      struct pollfd pf = { .fd = p[0], .events = POLLIN };
      long long left = deadline - moat_mono_ms ();
      ssize_t got;
      if (left <= 0)
        {
          r = moat_error (err, ETIMEDOUT,
                          "the guarded engine did not answer "
                          "in time");
          break;
        }
      if (poll (&pf, 1, (int)left) < 0)
        {
          if (errno == EINTR)
            continue;
          r = moat_error (err, errno, "poll");
          break;
        }
      if (len == cap)
        {
          char *nb = cap >= LIST_MAX
                         ? NULL
                         : realloc (buf, cap > 0 ? cap * 2 : 65536);
          if (nb == NULL)
            {
              r = moat_error (err, E2BIG,
                              "the engine's answer is larger than "
                              "%d bytes",
                              LIST_MAX);
              break;
            }
          buf = nb;
          cap = cap > 0 ? cap * 2 : 65536;
        }
      got = read (p[0], buf + len, cap - len);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          r = moat_error (err, errno, "read");
          break;
        }
      if (got == 0)
        break;
      len += (size_t)got;
    }
  close (p[0]);
  if (r < 0)
    kill (pid, SIGKILL);
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (r < 0)
    return -1;
  if (len < sizeof (int))
    return moat_error (err, EIO, "could not become uid %u", (unsigned)uid);
  memcpy (&n, buf, sizeof n);
  if (n != 0)
    return moat_error (err, n,
                       "connect to the guarded Docker socket %s as "
                       "uid %u: %s",
                       sock, (unsigned)uid, strerror (n));
  *raw_len = len - sizeof (int);
  *raw = malloc (*raw_len + 1);
  if (*raw == NULL)
    return moat_error (err, ENOMEM, "out of memory");
  memcpy (*raw, buf + sizeof (int), *raw_len);
  (*raw)[*raw_len] = '\0';
  return 0;
}

static int
url_add (char **q, const char *key, const char *val)
{
  size_t n = strlen (*q), m = strlen (key) + 3 * strlen (val) + 3;
  char *nq = realloc (*q, n + m), *w;
  if (nq == NULL)
    return -1;
  *q = nq;
  w = nq + n;
  w += sprintf (w, "%s%s=", n > 0 ? "&" : "", key);
  for (const unsigned char *s = (const unsigned char *)val; *s; s++)
    if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
        || (*s >= '0' && *s <= '9') || strchr ("-_.~", *s) != NULL)
      *w++ = (char)*s;
    else
      w += sprintf (w, "%%%02X", *s);
  *w = '\0';
  return 0;
}

/* The query of a list: options all, limit, size, digests, filters (an
 * object or its JSON text); other keys are refused. */
static char *
list_query (const json_t *opts, char **why)
{
  char *q = calloc (1, 1);
  const char *k;
  json_t *v;
  *why = NULL;
  if (opts != NULL && !json_is_object (opts) && !json_is_null (opts))
    *why = "options must be an object";
  json_object_foreach ((json_t *)opts, k, v)
  {
    char num[32];
    cleanup_free char *f = NULL;
    if (q == NULL || *why != NULL)
      break;
    if (strcmp (k, "all") == 0 || strcmp (k, "size") == 0
        || strcmp (k, "digests") == 0)
      {
        if (json_is_true (v) && url_add (&q, k, "1") < 0)
          *why = "out of memory";
      }
    else if (strcmp (k, "limit") == 0 && json_is_integer (v))
      {
        snprintf (num, sizeof num, "%lld", (long long)json_integer_value (v));
        if (url_add (&q, k, num) < 0)
          *why = "out of memory";
      }
    else if (strcmp (k, "filters") == 0
             && (json_is_object (v) || json_is_string (v)))
      {
        f = json_is_string (v) ? strdup (json_string_value (v))
                               : json_dumps (v, JSON_COMPACT);
        if (f == NULL || url_add (&q, k, f) < 0)
          *why = "out of memory";
      }
    else
      *why = "unknown option (all, limit, size, digests and filters are "
             "known)";
  }
  if (q == NULL && *why == NULL)
    *why = "out of memory";
  if (*why != NULL)
    {
      free (q);
      return NULL;
    }
  return q;
}

static void
docker_list (const struct ext_ui_exec_ctx *x, uid_t uid, const char *name,
             const char *call, const json_t *req, int *status, json_t **reply)
{
  moat_error_t err = NULL;
  cleanup_free gid_t *groups = NULL;
  cleanup_free char *q = NULL, *path = NULL, *raw = NULL;
  size_t ng = 0, raw_len = 0, blen = 0;
  gid_t gid;
  char *why, *body;
  int st = 0;
  bool images = strcmp (call, "docker.listImages") == 0;
  json_t *j;

  q = list_query (json_object_get (req, "options"), &why);
  if (q == NULL)
    {
      *status = 400;
      *reply = ext_ui_message (PREFIX "extension %s: %s: %s", name, call, why);
      return;
    }
  if (asprintf (&path, "/%s/json%s%s", images ? "images" : "containers",
                *q ? "?" : "", q)
      < 0)
    path = NULL;
  if (path == NULL || moat_user_ids (uid, &gid, &groups, &ng, &err) < 0
      || guarded_get (x->guard_sock, path, uid, gid, groups, ng, &raw,
                      &raw_len, &err)
             < 0)
    {
      *status = path == NULL ? 500 : err_status (&err);
      *reply = ext_ui_message (PREFIX "extension %s: %s: %s", name, call,
                               path == NULL ? "out of memory"
                                            : moat_error_msg (&err));
      moat_error_release (&err);
      return;
    }
  if (http_answer_split (raw, raw_len, &st, &body, &blen) < 0
      || (j = json_loadb (body, blen, 0, NULL)) == NULL)
    {
      *status = 502;
      *reply = ext_ui_message (PREFIX "extension %s: %s: the guarded engine's "
                                      "answer is not JSON",
                               name, call);
      return;
    }
  if (st >= 200 && st < 300)
    {
      *status = 200;
      *reply = j;
      return;
    }
  /* the guard's (or the engine's) refusal, as it said it */
  *status = st;
  if (json_is_string (json_object_get (j, "message")))
    *reply = j;
  else
    {
      json_decref (j);
      *reply = ext_ui_message (PREFIX "extension %s: %s: HTTP %d", name, call,
                               st);
    }
}

void
ext_ui_exec_run (const struct ext_ui_exec_ctx *x, uid_t uid, const char *name,
                 const char *call, const json_t *req,
                 const struct ext_ui_sink *sink, int *status, json_t **reply)
{
  if (strcmp (call, "host.cli.exec") == 0)
    exec_call (call, NULL, host_run, 403, x, uid, name, req, sink, status,
               reply);
  else if (strcmp (call, "docker.cli.exec") == 0)
    exec_call (call, "docker", docker_run, 502, x, uid, name, req, sink,
               status, reply);
  else if (sink == NULL
           && (strcmp (call, "docker.listContainers") == 0
               || strcmp (call, "docker.listImages") == 0))
    docker_list (x, uid, name, call, req, status, reply);
  else if (strcmp (call, "vm.cli.exec") == 0)
    ext_ui_vm_exec (x, name, req, sink, status, reply);
  else
    {
      *status = 400;
      *reply = ext_ui_message (PREFIX "extension %s: unknown SDK call %s%s",
                               name, call, sink != NULL ? " (streamed)" : "");
    }
  if (*reply == NULL)
    {
      *status = 500;
      *reply = ext_ui_message ("out of memory");
    }
}
