#include "verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "ctl/ctl.h"
#include "dockerapi/dockerapi.h"
#include "stack/stack.h"
#include "verify-internal.h"

#define CALL_TIMEOUT_MS 60000

struct ctx
{
  const struct moat_paths *paths;
  const struct verify_opts *o;
  json_t *results;
  bool all;
};

static void record (struct ctx *c, const char *check, bool passed,
                    const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static void
record (struct ctx *c, const char *check, bool passed, const char *fmt, ...)
{
  char detail[1024];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (detail, sizeof detail, fmt, ap);
  va_end (ap);
  json_array_append_new (c->results,
                         json_pack ("{s:s, s:b, s:s}", "check", check,
                                    "passed", passed, "detail", detail));
  if (!passed)
    c->all = false;
}

static int
call (struct ctx *c, const char *method, const char *path, json_t *body,
      struct dockerapi_response *r, moat_error_t *err)
{
  cleanup_free char *s = NULL;
  if (body != NULL)
    {
      s = json_dumps (body, JSON_COMPACT);
      if (s == NULL)
        return moat_error (err, ENOMEM, "encode request");
    }
  return dockerapi_call (c->o->docker_sock, method, path, s,
                         s ? strlen (s) : 0, false, CALL_TIMEOUT_MS, r, err);
}

/* Make sure the image exists; import one from busybox-static if not. */
static int
ensure_image (struct ctx *c, moat_error_t *err)
{
  struct dockerapi_response r;
  struct tarbuf t = { 0 };
  cleanup_free char *path = NULL;
  char repo[512];
  char *tag;
  int ret;

  if (strlen (c->o->image) >= sizeof repo)
    return moat_error (err, ENAMETOOLONG, "image name `%s`", c->o->image);
  strcpy (repo, c->o->image);
  if (asprintf (&path, "/images/%s/json", c->o->image) < 0)
    return moat_error (err, ENOMEM, "image");
  if (call (c, "GET", path, NULL, &r, err) < 0)
    return -1;
  ret = r.status == 200 ? 1 : 0;
  dockerapi_response_free (&r);
  if (ret == 1)
    return 0;
  tag = strrchr (repo, ':');
  if (tag != NULL && strchr (tag, '/') == NULL)
    *tag++ = '\0';
  else
    tag = (char *)"latest";
  if (verify_tar_busybox ("/bin/busybox", &t, err) < 0)
    return -1;
  free (path);
  path = NULL;
  if (asprintf (&path, "/images/create?fromSrc=-&repo=%s&tag=%s", repo, tag)
      < 0)
    {
      free (t.buf);
      return moat_error (err, ENOMEM, "image");
    }
  ret = dockerapi_call (c->o->docker_sock, "POST", path, t.buf, t.len, true,
                        CALL_TIMEOUT_MS, &r, err);
  free (t.buf);
  if (ret < 0)
    return -1;
  if (r.status != 200)
    {
      char m[512];
      moat_error (err, 0, "import %s: %s", c->o->image,
                  dockerapi_error_message (&r, m, sizeof m));
      dockerapi_response_free (&r);
      return -1;
    }
  dockerapi_response_free (&r);
  return 0;
}

/* Create a container from spec; *id on 201, else *refusal has the message.
 * Returns -1 only on transport failure. */
static int
create (struct ctx *c, json_t *spec, char **id, char **refusal,
        moat_error_t *err)
{
  struct dockerapi_response r;
  json_t *j;

  *id = *refusal = NULL;
  if (call (c, "POST", "/containers/create", spec, &r, err) < 0)
    return -1;
  if (r.status == 201)
    {
      j = json_loads (r.body, 0, NULL);
      if (json_string_value (json_object_get (j, "Id")) != NULL)
        *id = strdup (json_string_value (json_object_get (j, "Id")));
      json_decref (j);
    }
  else
    {
      char m[1024];
      *refusal = strdup (dockerapi_error_message (&r, m, sizeof m));
    }
  dockerapi_response_free (&r);
  return 0;
}

static void
remove_container (struct ctx *c, const char *id)
{
  struct dockerapi_response r;
  moat_error_t err = NULL;
  char path[256];
  snprintf (path, sizeof path, "/containers/%s?force=1&v=1", id);
  if (call (c, "DELETE", path, NULL, &r, &err) < 0)
    moat_error_release (&err);
  else
    dockerapi_response_free (&r);
}

/* Demultiplex a non-TTY logs stream (8-byte frame headers) into text. */
static char *
demux (const char *b, size_t len)
{
  char *out = malloc (len + 1);
  size_t o = 0, i = 0;
  if (out == NULL)
    return NULL;
  while (i + 8 <= len)
    {
      size_t n = ((size_t)(unsigned char)b[i + 4] << 24)
                 | ((size_t)(unsigned char)b[i + 5] << 16)
                 | ((size_t)(unsigned char)b[i + 6] << 8)
                 | (size_t)(unsigned char)b[i + 7];
      i += 8;
      if (n > len - i)
        n = len - i;
      memcpy (out + o, b + i, n);
      o += n;
      i += n;
    }
  out[o] = '\0';
  return out;
}

/* Run `cmd` in a container and return its stdout, plus its inspect JSON. */
static int
run_capture (struct ctx *c, json_t *spec, char **output, json_t **inspect,
             char **refusal, moat_error_t *err)
{
  cleanup_free char *id = NULL;
  struct dockerapi_response r;
  char path[256];
  int ret = -1;

  *output = NULL;
  *inspect = NULL;
  if (create (c, spec, &id, refusal, err) < 0)
    return -1;
  if (id == NULL)
    return 0;
  snprintf (path, sizeof path, "/containers/%s/start", id);
  if (call (c, "POST", path, NULL, &r, err) < 0)
    goto out;
  if (r.status != 204 && r.status != 304)
    {
      char m[1024];
      moat_error (err, 0, "start: %s",
                  dockerapi_error_message (&r, m, sizeof m));
      dockerapi_response_free (&r);
      goto out;
    }
  dockerapi_response_free (&r);
  snprintf (path, sizeof path, "/containers/%s/wait", id);
  if (call (c, "POST", path, NULL, &r, err) < 0)
    goto out;
  dockerapi_response_free (&r);
  snprintf (path, sizeof path, "/containers/%s/logs?stdout=1&stderr=1", id);
  if (call (c, "GET", path, NULL, &r, err) < 0)
    goto out;
  *output = demux (r.body, r.len);
  dockerapi_response_free (&r);
  snprintf (path, sizeof path, "/containers/%s/json", id);
  if (call (c, "GET", path, NULL, &r, err) < 0)
    goto out;
  *inspect = json_loads (r.body, 0, NULL);
  dockerapi_response_free (&r);
  ret = 0;
out:
  remove_container (c, id);
  return ret;
}

static void
check_engine_socket (struct ctx *c)
{
  struct stat st;
  if (stat (c->paths->engine_sock, &st) < 0)
    {
      record (c, "engine socket private", true,
              "no private engine socket at %s (external engine)",
              c->paths->engine_sock);
      return;
    }
  record (c, "engine socket private",
          st.st_uid == 0 && (st.st_mode & 0077) == 0,
          "%s is mode %04o, owner uid %u", c->paths->engine_sock,
          (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
}

/* moat-runc mounts containers' root file systems below MOAT_ROOT/run/moat
 * from inside their user namespace: a directory on the way that others
 * cannot search stops every container (the checks that run one fail
 * too; this one names the directory). */
static void
check_root_searchable (struct ctx *c)
{
  moat_error_t err = NULL;
  if (access (c->paths->engine_sock, F_OK) < 0)
    return; /* an external engine: its runtime is not moat's */
  if (stack_root_check (c->paths, false, &err) < 0)
    {
      record (c, "containers can start under MOAT_ROOT", false, "%s",
              moat_error_msg (&err));
      moat_error_release (&err);
      return;
    }
  record (c, "containers can start under MOAT_ROOT", true,
          "every directory down to %s/runc is searchable by others",
          c->paths->run_dir);
}

/* Another root on this host (another containerd handler's, a test's)
 * whose containers hold ids of this root's containers (docs/moat-runc.md,
 * "Two roots, one host"). */
static void
check_pool_peers (struct ctx *c)
{
  moat_error_t err = NULL;
  const char *peer = NULL;
  json_t *rep;
  int n;
  if (access (c->paths->engine_sock, F_OK) < 0)
    return; /* an external engine: its runtime is not moat's */
  rep = stack_pool_report (c->paths, &err);
  if (rep == NULL)
    {
      record (c, "no id range shared with another root", false, "%s",
              moat_error_msg (&err));
      moat_error_release (&err);
      return;
    }
  n = stack_pool_conflicts (rep, &peer);
  if (n > 0)
    record (c, "no id range shared with another root", false,
            "%d range%s of the root with state `%s` overlap%s this root's;"
            " delete and re-create those containers",
            n, n == 1 ? "" : "s", peer, n == 1 ? "s" : "");
  else
    record (c, "no id range shared with another root", true,
            "%zu other live root%s with an overlapping pool, ranges kept"
            " apart by the host-wide claims",
            json_array_size (json_object_get (rep, "peers")),
            json_array_size (json_object_get (rep, "peers")) == 1 ? "" : "s");
  json_decref (rep);
}

static void
check_uid_map_and_runtime (struct ctx *c)
{
  json_t *spec = json_pack ("{s:s, s:[s,s], s:{s:s}}", "Image", c->o->image,
                            "Cmd", "cat", "/proc/self/uid_map", "HostConfig",
                            "Runtime", "runc");
  cleanup_free char *out = NULL, *refusal = NULL;
  json_t *inspect = NULL;
  moat_error_t err = NULL;
  unsigned long inside, base, len;
  const char *runtime;

  if (run_capture (c, spec, &out, &inspect, &refusal, &err) < 0)
    {
      record (c, "private uid range", false, "%s", moat_error_msg (&err));
      record (c, "runtime forced to moat-runc", false,
              "container did not run");
      moat_error_release (&err);
      json_decref (spec);
      return;
    }
  json_decref (spec);
  if (refusal != NULL)
    {
      record (c, "private uid range", false, "container refused: %s", refusal);
      record (c, "runtime forced to moat-runc", false,
              "a request for --runtime=runc was refused instead of rewritten");
      return;
    }
  if (out != NULL && sscanf (out, "%lu %lu %lu", &inside, &base, &len) == 3
      && inside == 0 && base != 0 && len == 65536
      && strchr (out, '\n') == strrchr (out, '\n'))
    record (c, "private uid range", true,
            "container root is host uid %lu, range of %lu ids", base, len);
  else
    record (c, "private uid range", false, "uid_map is `%s`",
            out != NULL ? out : "");
  runtime = json_string_value (
      json_object_get (json_object_get (inspect, "HostConfig"), "Runtime"));
  record (c, "runtime forced to moat-runc",
          runtime != NULL && strcmp (runtime, "moat-runc") == 0,
          "asked for runc, container runs with %s",
          runtime != NULL ? runtime : "(unknown)");
  json_decref (inspect);
}

/* Run script with `sh -c` in a --privileged container: 0 with its
 * stdout in *out (and the guard's refusal, if it refused, in *refusal),
 * or -1 after recording `check` as failed. */
static int
run_privileged (struct ctx *c, const char *check, const char *script,
                char **out, char **refusal)
{
  json_t *spec
      = json_pack ("{s:s, s:[s,s,s], s:{s:b}}", "Image", c->o->image, "Cmd",
                   "sh", "-c", script, "HostConfig", "Privileged", 1);
  json_t *inspect = NULL;
  moat_error_t err = NULL;
  int r = spec == NULL ? -1
                       : run_capture (c, spec, out, &inspect, refusal, &err);

  json_decref (spec);
  json_decref (inspect);
  if (r < 0)
    {
      record (c, check, false, "%s",
              err ? moat_error_msg (&err) : "out of memory");
      moat_error_release (&err);
    }
  return r;
}

/* A --privileged container must not undo its masks: unmount one, bind
 * /proc without them, or mount a fresh procfs without them (moat-lock and
 * the mount supervisor, see docs/moat-runc.md).  Also fails when no mask
 * is there to test. */
static void
check_privileged_masks (struct ctx *c)
{
  static const char script[]
      = "n=0; mkdir -p /x\n"
        "for p in /proc/kcore /proc/keys /proc/timer_list /proc/acpi "
        "/proc/scsi /sys/firmware; do\n"
        "  grep -q \" $p \" /proc/self/mountinfo || continue\n"
        "  n=$((n+1)); umount -l $p 2>/dev/null && echo \"ESCAPED umount "
        "$p\"\n"
        "done\n"
        "mount --bind /proc /x 2>/dev/null && echo 'ESCAPED bind /proc'\n"
        "mkdir -p /y\n"
        "if mount -t proc proc /y 2>/dev/null; then\n"
        "  grep -q ' /y/keys ' /proc/self/mountinfo || echo 'ESCAPED fresh "
        "procfs without masks'\n"
        "  umount /y/keys 2>/dev/null && echo 'ESCAPED umount in a fresh "
        "procfs'\n"
        "fi\n"
        "echo masks=$n\n";
  const char *check = "privileged container keeps its masks";
  cleanup_free char *out = NULL, *refusal = NULL;
  const char *m, *esc;
  int n = 0;

  if (run_privileged (c, check, script, &out, &refusal) < 0)
    return;
  if (refusal != NULL)
    {
      record (c, check, true, "--privileged is refused: %s", refusal);
      return;
    }
  m = out ? strstr (out, "masks=") : NULL;
  if (m != NULL)
    n = atoi (m + 6);
  esc = out ? strstr (out, "ESCAPED") : NULL;
  if (esc != NULL)
    record (c, check, false, "%.*s", (int)strcspn (esc, "\n"), esc);
  else
    record (c, check, n > 0,
            "%d masked paths stay mounted; umount and bind of /proc "
            "refused, a fresh procfs masked",
            n);
}

/* Issue 13: what a nested runtime does first, without a dind image: a
 * --privileged container makes a pid namespace and mounts its procfs
 * (through the mount supervisor), which shows only the new namespace's
 * processes and keeps the masks. */
static void
check_nested (struct ctx *c)
{
  static const char script[]
      = "unshare -m -p -f --mount-proc sh -c '"
        "n=$(ls /proc | grep -c \"^[0-9]\"); "
        "grep -q \" /proc/keys \" /proc/self/mountinfo "
        "&& test -z \"$(cat /proc/keys)\" && echo nested-ok pids=$n'";
  const char *check = "nested containers work";
  cleanup_free char *out = NULL, *refusal = NULL;
  const char *p;

  if (run_privileged (c, check, script, &out, &refusal) < 0)
    return;
  if (refusal != NULL)
    {
      record (c, check, false, "--privileged is refused: %s", refusal);
      return;
    }
  p = out ? strstr (out, "nested-ok pids=") : NULL;
  if (p != NULL && atoi (p + 15) > 0 && atoi (p + 15) <= 5)
    record (c, check, true,
            "a privileged container mounted the procfs of a pid namespace "
            "of its own (%d processes), masks on it",
            atoi (p + 15));
  else
    record (c, check, false,
            "pid namespace + fresh procfs in a privileged container: `%.*s`",
            out ? (int)strcspn (out, "\n") : 0, out ? out : "");
}

/* Issue 10 hole 5: a container writes a shared directory with its
 * caller's rights at most, so it can never leave a set-id file there that
 * belongs to anyone else (root above all).  The scratch directory is made
 * in /tmp as the caller; a policy that does not share /tmp skips it. */
static void
check_setid_plant (struct ctx *c)
{
  static const char script[]
      = "touch /h/u /h/g; chmod 4755 /h/u; chmod 2755 /h/g; echo done";
  const char *check = "no set-id file planted in a shared directory";
  char dir[] = "/tmp/moat-verify-XXXXXX";
  cleanup_free char *bind = NULL, *output = NULL, *refusal = NULL;
  moat_error_t err = NULL;
  json_t *inspect = NULL, *spec;
  const char *names[] = { "u", "g" };
  int bad = 0;

  if (mkdtemp (dir) == NULL || chmod (dir, 0755) < 0)
    {
      record (c, check, false, "scratch directory: %s", strerror (errno));
      return;
    }
  if (asprintf (&bind, "%s:/h", dir) < 0)
    bind = NULL;
  spec = json_pack ("{s:s, s:[s, s, s], s:{s:[s]}}", "Image", c->o->image,
                    "Cmd", "sh", "-c", script, "HostConfig", "Binds",
                    bind ? bind : "/nonexistent:/h");
  if (spec == NULL
      || run_capture (c, spec, &output, &inspect, &refusal, &err) < 0)
    {
      record (c, check, false, "%s",
              err ? moat_error_msg (&err) : "out of memory");
      moat_error_release (&err);
    }
  else if (refusal != NULL)
    record (c, check,
            strstr (refusal, "outside the shared directories") != NULL,
            "skipped: %s", refusal);
  else
    {
      char detail[512] = "";
      size_t o = 0;
      for (size_t i = 0; i < 2; i++)
        {
          char path[64];
          struct stat st;
          snprintf (path, sizeof path, "%s/%s", dir, names[i]);
          if (lstat (path, &st) < 0)
            continue;
          /* a set-id file is only the caller's own business */
          if ((st.st_mode & (S_ISUID | S_ISGID)) != 0
              && (st.st_uid != geteuid () || st.st_uid == 0))
            bad++;
          if (o < sizeof detail)
            o += (size_t)snprintf (detail + o, sizeof detail - o,
                                   "%s%s mode %04o owner %u", o ? ", " : "",
                                   names[i], (unsigned)(st.st_mode & 07777),
                                   (unsigned)st.st_uid);
        }
      record (c, check, bad == 0, "%s", detail[0] ? detail : "no file made");
    }
  json_decref (inspect);
  json_decref (spec);
  for (size_t i = 0; i < 2; i++)
    {
      char path[64];
      snprintf (path, sizeof path, "%s/%s", dir, names[i]);
      unlink (path);
    }
  rmdir (dir);
}

/* Hole 7: a filtered socket answers only its own container.  Connect to
 * each one being served as nobody (root drops to 65534 in a child) and
 * expect the guard's 403. */
static int
probe_socket_as_nobody (const char *path)
{
  pid_t pid = fork ();
  int status;
  if (pid < 0)
    return -1;
  if (pid == 0)
    {
      static const char req[] = "GET /_ping HTTP/1.1\r\nHost: moat\r\n\r\n";
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      char buf[64] = "";
      int fd;
      if (geteuid () == 0
          && (setgroups (0, NULL) < 0 || setresgid (65534, 65534, 65534) < 0
              || setresuid (65534, 65534, 65534) < 0))
        _exit (3);
      if (strlen (path) >= sizeof sa.sun_path)
        _exit (3);
      strcpy (sa.sun_path, path);
      fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0)
        _exit (3);
      if (connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        _exit (0); /* unreachable: refused */
      alarm (10);
      if (write (fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
        _exit (0);
      if (read (fd, buf, sizeof buf - 1) <= 0)
        _exit (0);
      _exit (strncmp (buf, "HTTP/1.1 200", 12) == 0 ? 1 : 0);
    }
  if (waitpid (pid, &status, 0) < 0 || !WIFEXITED (status))
    return -1;
  return WEXITSTATUS (status);
}

static void
check_filtered_sockets (struct ctx *c)
{
  const char *check = "filtered sockets answer only their container";
  cleanup_free char *dirpath = NULL;
  struct dirent *e;
  DIR *d;
  int n = 0, open_ = 0, errs = 0;

  if (asprintf (&dirpath, "%s/sockets", c->paths->run_dir) < 0)
    {
      record (c, check, false, "out of memory");
      return;
    }
  d = opendir (dirpath);
  while (d != NULL && (e = readdir (d)) != NULL)
    {
      char path[512];
      size_t len = strlen (e->d_name);
      if (len < 6 || strcmp (e->d_name + len - 5, ".sock") != 0)
        continue;
      snprintf (path, sizeof path, "%s/%s", dirpath, e->d_name);
      n++;
      switch (probe_socket_as_nobody (path))
        {
        case 0:
          break;
        case 1:
          open_++;
          break;
        default:
          errs++;
        }
    }
  if (d != NULL)
    closedir (d);
  if (n == 0)
    record (c, check, true, "no filtered socket is being served");
  else
    record (c, check, open_ == 0 && errs == 0,
            "%d socket(s): %d answered a host user, %d could not be probed", n,
            open_, errs);
}

/* A create that must be refused with a message containing `expect`. */
static void
check_refused (struct ctx *c, const char *check, json_t *spec,
               const char *expect)
{
  cleanup_free char *id = NULL, *refusal = NULL;
  moat_error_t err = NULL;

  if (create (c, spec, &id, &refusal, &err) < 0)
    {
      record (c, check, false, "%s", moat_error_msg (&err));
      moat_error_release (&err);
    }
  else if (id != NULL)
    {
      record (c, check, false, "the container was created");
      remove_container (c, id);
    }
  else
    record (c, check, strstr (refusal, expect) != NULL, "refused: %s",
            refusal);
  json_decref (spec);
}

/* The PAC, when the policy names one, is loaded and deciding: moatd's
 * status reports a "pac" error while it cannot be fetched or loaded, or
 * while its latest evaluations fail or time out (then every connection
 * not in exclude is refused). */
static void
check_pac (struct ctx *c)
{
  cleanup_error moat_error_t err = NULL;
  json_t *req = json_pack ("{s:s}", "cmd", "status"), *resp = NULL;
  const char *problem = NULL;
  size_t i;
  json_t *e;

  if (req == NULL || ctl_call (c->paths, req, &resp, &err) < 0)
    {
      json_decref (req);
      record (c, "PAC usable", false, "moatd does not answer: %s",
              err ? moat_error_msg (&err) : "out of memory");
      return;
    }
  json_decref (req);
  json_array_foreach (json_object_get (resp, "errors"), i, e)
  {
    const char *comp = json_string_value (json_object_get (e, "component"));
    if (comp != NULL && strcmp (comp, "pac") == 0)
      problem = json_string_value (json_object_get (e, "message"));
  }
  if (problem != NULL)
    record (c, "PAC usable", false,
            "%s; connections not in exclude are refused", problem);
  else if (json_is_true (json_object_get (
               json_object_get (json_object_get (resp, "policy"),
                                "containersProxy"),
               "pac")))
    record (c, "PAC usable", true, "the PAC is loaded and deciding");
  else
    record (c, "PAC usable", true, "no PAC configured");
  json_decref (resp);
}

int
verify_run (const struct moat_paths *paths, const struct verify_opts *o,
            json_t **out, bool *all_passed, moat_error_t *err)
{
  struct ctx c
      = { .paths = paths, .o = o, .results = json_array (), .all = true };
  struct dockerapi_response r;
  cleanup_free char *sock_bind = NULL;

  if (c.results == NULL)
    return moat_error (err, ENOMEM, "verify");
  if (dockerapi_call (o->docker_sock, "GET", "/_ping", NULL, 0, false, 10000,
                      &r, err)
      < 0)
    {
      json_decref (c.results);
      return moat_error_wrap (err, "the Docker API at `%s` does not answer",
                              o->docker_sock);
    }
  dockerapi_response_free (&r);

  check_engine_socket (&c);
  check_root_searchable (&c);
  check_pool_peers (&c);
  if (ensure_image (&c, err) < 0)
    {
      record (&c, "test image", false, "%s", moat_error_msg (err));
      moat_error_release (err);
    }
  else
    {
      check_uid_map_and_runtime (&c);
      check_privileged_masks (&c);
      check_nested (&c);
      check_setid_plant (&c);
    }
  check_filtered_sockets (&c);

  check_refused (&c, "host pid namespace refused",
                 json_pack ("{s:s, s:{s:s}}", "Image", o->image, "HostConfig",
                            "PidMode", "host"),
                 "can't share the pid namespace with the host");
  check_refused (&c, "host network namespace refused",
                 json_pack ("{s:s, s:{s:s}}", "Image", o->image, "HostConfig",
                            "NetworkMode", "host"),
                 "can't share the network namespace with the host");
  if (asprintf (&sock_bind, "%s:/var/run/docker.sock", paths->engine_sock) < 0)
    sock_bind = NULL;
  check_refused (
      &c, "engine socket mount refused",
      json_pack ("{s:s, s:{s:[s]}}", "Image", o->image, "HostConfig", "Binds",
                 sock_bind ? sock_bind : "/run/moat/engine.sock:/s"),
      "docker socket mount denied");
  /* issue 10 hole 1: dockerd resolves a relative device against its own
   * working directory (nothing is mounted before start) */
  check_refused (&c, "local volume with a relative device refused",
                 json_pack ("{s:s, s:{s:[{s:s, s:s, s:{s:{s:{s:s, s:s, "
                            "s:s}}}}]}}",
                            "Image", o->image, "HostConfig", "Mounts", "Type",
                            "volume", "Target", "/h", "VolumeOptions",
                            "DriverConfig", "Options", "type", "none", "o",
                            "bind", "device", "../.."),
                 "volume device");
  /* hole 3: a driver name is joined to the plugin directory (this path
   * does not exist, and no volume asks for the driver) */
  check_refused (&c, "driver name with a path refused",
                 json_pack ("{s:s, s:{s:s}}", "Image", o->image, "HostConfig",
                            "VolumeDriver",
                            "../../../nonexistent/moat-verify"),
                 "it is not a plugin name");
  check_refused (&c, "docker socket parent mount refused",
                 json_pack ("{s:s, s:{s:[s]}}", "Image", o->image,
                            "HostConfig", "Binds", "/var/run:/x"),
                 "denied");
  check_pac (&c);
  *out = c.results;
  *all_passed = c.all;
  return 0;
}
