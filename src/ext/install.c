/* Extension life cycle (ext.h). */
#include "ext.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strutil.h"
#include "dockerapi/dockerapi.h"
#include "ext/compose.h"
#include "ext/files.h"
#include "ext/hostexec.h"
#include "ext/sandbox.h"
#include "ext/tar.h"

#define ENGINE_TIMEOUT_MS 60000
#define RECORD "extension.json"

/* ---- engine calls ---- */

/* An image reference that can go into a request path as it is: the
 * characters of a Docker reference, no "..". */
static bool
image_ref_p (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > 255 || s[0] == '-' || s[0] == '/' || strstr (s, "..")
      || strstr (s, "//"))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
          || (s[i] >= '0' && s[i] <= '9') || strchr ("._-/:@", s[i])))
      return false;
  return true;
}

/* method path on sock with an optional JSON body; *out is the parsed
 * JSON answer (may be NULL) and the status is returned, or -1. */
static long
eng (const char *sock, const char *method, const char *path, json_t *body,
     json_t **out, moat_error_t *err)
{
  struct dockerapi_response r;
  cleanup_free char *text = NULL;
  long st;

  if (out != NULL)
    *out = NULL;
  if (body != NULL)
    {
      text = json_dumps (body, JSON_COMPACT);
      if (text == NULL)
        return moat_error (err, ENOMEM, "engine request");
    }
  if (dockerapi_call (sock, method, path, text, text ? strlen (text) : 0,
                      false, ENGINE_TIMEOUT_MS, &r, err)
      < 0)
    return -1;
  st = r.status;
  if (st >= 300)
    {
      char m[512];
      dockerapi_error_message (&r, m, sizeof m);
      moat_error (err, 0, "%s", m);
    }
  else if (out != NULL && r.len > 0)
    *out = json_loadb (r.body, r.len, 0, NULL);
  dockerapi_response_free (&r);
  return st;
}

static void
remove_container (const char *sock, const char *id, bool volumes)
{
  cleanup_free char *url = NULL;
  moat_error_t e = NULL;
  if (id == NULL
      || asprintf (&url, "/containers/%s?force=1&v=%d", id, volumes ? 1 : 0)
             < 0)
    return;
  eng (sock, "DELETE", url, NULL, NULL, &e);
  moat_error_release (&e);
}

/* ---- reading the image ---- */

struct probe
{
  char *image_id;
  char *probe_id; /* the never-started container */
  json_t *labels;
  struct ext_meta meta;
  bool have_meta;
};

static void
probe_free (const struct ext_ctx *c, struct probe *p)
{
  remove_container (c->engine_sock, p->probe_id, true);
  free (p->probe_id);
  free (p->image_id);
  json_decref (p->labels);
  if (p->have_meta)
    ext_meta_free (&p->meta);
  memset (p, 0, sizeof *p);
}

/* Inspect image, create the probe container and read metadata.json. */
static int
probe_image (const struct ext_ctx *c, const char *image, struct probe *p,
             struct ext_problems *probs, moat_error_t *err)
{
  cleanup_free char *url = NULL;
  cleanup_free char *tar = NULL;
  json_t *info = NULL, *created = NULL, *body;
  size_t len = 0, off = 0;
  struct ext_tar_entry e;
  long st;
  int r;

  memset (p, 0, sizeof *p);
  if (!image_ref_p (image))
    return moat_error (err, EINVAL, "`%s` is not an image reference", image);
  if (asprintf (&url, "/images/%s/json", image) < 0)
    return moat_error (err, ENOMEM, "inspect");
  st = eng (c->engine_sock, "GET", url, NULL, &info, err);
  if (st == 404)
    {
      moat_error_release (err);
      return moat_error (err, 0,
                         "image `%s` is not on the engine; pull or build it "
                         "first (moat pulls nothing itself)",
                         image);
    }
  if (st != 200 || info == NULL)
    {
      json_decref (info);
      return st < 0 || st >= 300
                 ? moat_error_wrap (err, "inspect `%s`", image)
                 : moat_error (err, EIO, "inspect `%s`", image);
    }
  p->image_id = json_string_value (json_object_get (info, "Id"))
                    ? strdup (json_string_value (json_object_get (info, "Id")))
                    : NULL;
  p->labels = json_incref (
      json_object_get (json_object_get (info, "Config"), "Labels"));
  json_decref (info);
  if (p->image_id == NULL || !image_ref_p (p->image_id))
    return moat_error (err, EIO, "inspect `%s`: no image id", image);
  ext_labels_check (p->labels, probs);

  /* Created, never started, without a network: only its files are read. */
  body = json_pack ("{s:s, s:[s], s:[], s:b, s:{s:s}}", "Image", p->image_id,
                    "Entrypoint", "/moat-extension-probe-never-started", "Cmd",
                    "NetworkDisabled", 1, "Labels", "com.moat.extension-probe",
                    "1");
  st = eng (c->engine_sock, "POST", "/containers/create", body, &created, err);
  json_decref (body);
  if (st != 201 || created == NULL)
    {
      json_decref (created);
      return st >= 0 && st < 300
                 ? moat_error (err, EIO, "create")
                 : moat_error_wrap (err, "read the files of `%s`", image);
    }
  {
    const char *id = json_string_value (json_object_get (created, "Id"));
    p->probe_id = id != NULL && full_id_p (id) ? strdup (id) : NULL;
  }
  json_decref (created);
  if (p->probe_id == NULL)
    return moat_error (err, EIO, "create: no container id");

  r = ext_get_archive (c->engine_sock, p->probe_id, "metadata.json", &tar,
                       &len, err);
  if (r < 0)
    return -1;
  if (r == 1)
    {
      ext_problems_add (probs, "", "not found at the image root");
      return 0;
    }
  r = ext_tar_next (tar, len, &off, &e, err);
  if (r < 0)
    return -1;
  if (r == 0 || e.type != '0')
    {
      ext_problems_add (probs, "", "not a regular file");
      free (r == 1 ? e.name : NULL);
      return 0;
    }
  free (e.name);
  ext_meta_parse (e.data, e.size, image, &p->meta, probs);
  p->have_meta = true;
  return 0;
}

int
ext_validate_image (const struct ext_ctx *c, const char *image,
                    struct ext_problems *probs, moat_error_t *err)
{
  struct probe p;
  int r = probe_image (c, image, &p, probs, err);
  probe_free (c, &p);
  if (r < 0)
    return -1;
  return probs->n > 0 ? -1 : 0;
}

/* ---- the extensions directory ---- */

static int
open_dir (const struct ext_ctx *c, moat_error_t *err)
{
  int fd;
  if (fs_mkdir_p (c->dir, 0700, err) < 0)
    return -1;
  fd = open (c->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return moat_error (err, errno, "open `%s`", c->dir);
  return fd;
}

static json_t *
read_record (int dfd, const char *name, moat_error_t *err)
{
  cleanup_free char *rel = NULL;
  cleanup_close int fd = -1;
  char buf[EXT_META_MAX];
  ssize_t n;
  json_t *j;

  if (asprintf (&rel, "%s/" RECORD, name) < 0)
    {
      moat_error (err, ENOMEM, "record");
      return NULL;
    }
  fd = openat (dfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      moat_error (err, errno, "extension `%s`", name);
      return NULL;
    }
  n = read (fd, buf, sizeof buf);
  if (n < 0)
    {
      moat_error (err, errno, "read the record of `%s`", name);
      return NULL;
    }
  j = json_loadb (buf, (size_t)n, 0, NULL);
  if (!json_is_object (j))
    {
      json_decref (j);
      moat_error (err, EINVAL, "the record of `%s` is damaged", name);
      return NULL;
    }
  return j;
}

static int
write_record (const struct ext_ctx *c, const char *sub, json_t *rec,
              moat_error_t *err)
{
  cleanup_free char *path = NULL;
  cleanup_free char *text = json_dumps (rec, JSON_INDENT (2));
  if (text == NULL || asprintf (&path, "%s/%s/" RECORD, c->dir, sub) < 0)
    return moat_error (err, ENOMEM, "record");
  return fs_write_file_atomic (path, text, strlen (text), 0600, err);
}

/* Unpack the UI, the host binaries and the icon of p into dfd/sub (made
 * here). */
static int
stage_files (const struct ext_ctx *c, int dfd, const char *sub,
             const struct probe *p, moat_error_t *err)
{
  const struct ext_meta *m = &p->meta;
  cleanup_close int sfd = -1;
  cleanup_free char *tar = NULL;
  size_t len = 0;
  int r;

  if (mkdirat (dfd, sub, 0700) < 0)
    return moat_error (err, errno, "mkdir `%s/%s`", c->dir, sub);
  sfd = openat (dfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sfd < 0)
    return moat_error (err, errno, "open `%s/%s`", c->dir, sub);
  if (m->has_ui)
    {
      cleanup_close int ufd = -1;
      struct stat st;

      r = ext_get_archive (c->engine_sock, p->probe_id, m->ui_root, &tar, &len,
                           err);
      if (r < 0)
        return -1;
      if (r == 1)
        return moat_error (err, 0,
                           "ui.dashboard-tab.root: `/%s` is not in the image",
                           m->ui_root);
      if (mkdirat (sfd, "ui", 0755) < 0)
        return moat_error (err, errno, "mkdir ui");
      ufd = openat (sfd, "ui",
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (ufd < 0)
        return moat_error (err, errno, "open ui");
      if (ext_unpack_at (ufd, tar, len, "ui.dashboard-tab.root", NULL, err)
          < 0)
        return -1;
      if (fstatat (ufd, m->ui_src, &st, AT_SYMLINK_NOFOLLOW) < 0
          || !S_ISREG (st.st_mode))
        return moat_error (err, 0,
                           "ui.dashboard-tab.src: `%s` is not a file under "
                           "`/%s` in the image",
                           m->ui_src, m->ui_root);
      free (tar);
      tar = NULL;
    }
  if (m->vm_compose != NULL)
    {
      r = ext_get_archive (c->engine_sock, p->probe_id, m->vm_compose, &tar,
                           &len, err);
      if (r < 0)
        return -1;
      if (r == 1)
        return moat_error (err, 0, "vm.composefile: `/%s` is not in the image",
                           m->vm_compose);
      if (ext_unpack_at (sfd, tar, len, "vm.composefile", "compose.yml", err)
          < 0)
        return -1;
      free (tar);
      tar = NULL;
    }
  if (m->sandbox_script != NULL
      && ext_stage_sandbox (c->engine_sock, sfd, p->probe_id,
                            m->sandbox_script, err)
             < 0)
    return -1;
  for (size_t i = 0; i < m->n_binaries; i++)
    if (ext_stage_binary (c->engine_sock, sfd, p->probe_id, m->binaries[i],
                          err)
        < 0)
      return -1;
  r = ext_get_archive (c->engine_sock, p->probe_id, m->icon, &tar, &len, err);
  if (r < 0)
    return -1;
  if (r == 1)
    return moat_error (err, 0, "icon: `/%s` is not in the image", m->icon);
  return ext_unpack_at (sfd, tar, len, "icon", "icon", err);
}

/* ---- the backend ---- */

static int
backend_state (const struct ext_ctx *c, const char *id, bool *running,
               long *pid, long *exit_code, long *restarts, moat_error_t *err)
{
  cleanup_free char *url = NULL;
  json_t *info = NULL, *state;
  long st;

  if (asprintf (&url, "/containers/%s/json", id) < 0)
    return moat_error (err, ENOMEM, "inspect");
  st = eng (c->engine_sock, "GET", url, NULL, &info, err);
  if (st != 200 || info == NULL)
    {
      json_decref (info);
      return st == 200 ? moat_error (err, EIO, "inspect") : -1;
    }
  state = json_object_get (info, "State");
  /* A backend that exits is restarted (unless-stopped): while it waits
   * for that it is not running. */
  *running = json_is_true (json_object_get (state, "Running"))
             && !json_is_true (json_object_get (state, "Restarting"));
  *restarts
      = (long)json_integer_value (json_object_get (info, "RestartCount"));
  *pid = (long)json_integer_value (json_object_get (state, "Pid"));
  *exit_code = (long)json_integer_value (json_object_get (state, "ExitCode"));
  json_decref (info);
  return 0;
}

static int
socket_path (long pid, const char *sock, char *buf, size_t bufsz,
             moat_error_t *err)
{
  int n = snprintf (buf, bufsz, "/proc/%ld/root/run/guest-services/%s", pid,
                    sock);
  if (n < 0 || (size_t)n >= bufsz
      || (size_t)n >= sizeof ((struct sockaddr_un *)0)->sun_path)
    return moat_error (err, ENAMETOOLONG, "backend socket path");
  return 0;
}

/* Can moatd connect to the socket at path?  (ext_socket_open, ui.c.) */
static bool
connect_p (const char *path)
{
  int fd = ext_socket_open (path);
  if (fd < 0)
    return false;
  close (fd);
  return true;
}

/* Create and start the backend on the guarded engine; wait for its
 * socket.  *id is the container's id (also on failure, for rollback). */
static int
start_backend (const struct ext_ctx *c, const char *name, const char *image,
               const char *dir, const struct ext_meta *m, json_t *binds,
               char **id, moat_error_t *err)
{
  cleanup_free char *url = NULL;
  json_t *body, *created = NULL;
  unsigned char rnd[4];
  long st, waited = 0;

  *id = NULL;
  if (m->vm_compose != NULL)
    {
      if (ext_compose_up (c, name, image, dir, id, err) < 0)
        return -1;
      goto wait;
    }
  if (m->vm_image == NULL)
    return 0;
  if (!image_ref_p (m->vm_image))
    return moat_error (err, 0, "vm.image: `%s` is not an image reference",
                       m->vm_image);
  if (getrandom (rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
    return moat_error (err, errno, "getrandom");
  if (asprintf (&url, "/containers/create?name=moat-ext-%s-%02x%02x%02x%02x",
                name, rnd[0], rnd[1], rnd[2], rnd[3])
      < 0)
    return moat_error (err, ENOMEM, "backend");
  /* The socket directory is a tmpfs of the container's own: nothing on
   * the host is shared, so nothing but moatd (as root, through
   * /proc/<pid>/root) reaches the socket. */
  body = json_pack ("{s:s, s:{s:s}, s:{s:{s:s}, s:{s:s}}}", "Image",
                    m->vm_image, "Labels", "com.moat.extension", name,
                    "HostConfig", "Tmpfs", "/run/guest-services", "mode=1777",
                    "RestartPolicy", "Name", "unless-stopped");
  if (body != NULL && json_array_size (binds) > 0)
    json_object_set (json_object_get (body, "HostConfig"), "Binds", binds);
  st = eng (c->guard_sock, "POST", url, body, &created, err);
  json_decref (body);
  if (st != 201 || created == NULL)
    {
      json_decref (created);
      return st >= 0 && st < 300
                 ? moat_error (err, EIO, "backend create")
                 : moat_error_wrap (err, "backend `%s`", m->vm_image);
    }
  {
    const char *cid = json_string_value (json_object_get (created, "Id"));
    *id = cid != NULL && full_id_p (cid) ? strdup (cid) : NULL;
  }
  json_decref (created);
  if (*id == NULL)
    return moat_error (err, EIO, "backend create: no container id");
  free (url);
  url = NULL;
  if (asprintf (&url, "/containers/%s/start", *id) < 0)
    return moat_error (err, ENOMEM, "backend");
  st = eng (c->guard_sock, "POST", url, NULL, NULL, err);
  if (st != 204 && st != 304)
    return st >= 0 && st < 300 ? moat_error (err, EIO, "backend start")
                               : moat_error_wrap (err, "backend start");
wait:
  for (;;)
    {
      bool running = false;
      long pid = 0, code = 0, restarts = 0;
      char path[128];

      if (backend_state (c, *id, &running, &pid, &code, &restarts, err) < 0)
        return moat_error_wrap (err, "backend");
      /* One that exited and was restarted counts as exited. */
      if (!running || restarts > 0)
        return moat_error (err, 0,
                           "backend exited (code %ld) before it opened "
                           "/run/guest-services/%s",
                           code, m->vm_socket ? m->vm_socket : "");
      if (m->vm_socket == NULL)
        return 0;
      if (socket_path (pid, m->vm_socket, path, sizeof path, err) < 0)
        return -1;
      if (connect_p (path))
        return 0;
      if (waited >= c->socket_wait_ms)
        return moat_error (err, 0,
                           "backend did not open /run/guest-services/%s "
                           "within %ld ms",
                           m->vm_socket, c->socket_wait_ms);
      struct timespec ts = { 0, 100 * 1000 * 1000 };
      nanosleep (&ts, NULL);
      waited += 100;
    }
}

/* ---- install ---- */

static json_t *
make_record (const char *name, const char *image, const struct probe *p,
             const char *backend_id, int64_t uid)
{
  const struct ext_meta *m = &p->meta;
  json_t *bins = json_array ();
  const char *ver = json_string_value (
      json_object_get (p->labels, "org.opencontainers.image.version"));
  const char *colon = strrchr (image, ':');
  struct timespec now;

  clock_gettime (CLOCK_REALTIME, &now);
  for (size_t i = 0; i < m->n_binaries; i++)
    json_array_append_new (bins, json_string (m->binaries[i]));
  if (ver == NULL)
    ver = colon != NULL && strchr (colon, '/') == NULL ? colon + 1 : "latest";
  return json_pack (
      "{s:s, s:s, s:s, s:s, s:s?, s:s, s:o, s:{s:s?, s:s?, s:s?}, s:{s:s?,"
      " s:s?, s:s?, s:s?}, s:I, s:I}",
      "name", name, "image", image, "image_id", p->image_id, "version", ver,
      "title",
      json_string_value (
          json_object_get (p->labels, "org.opencontainers.image.title")),
      "icon", m->icon, "host_binaries", bins, "ui", "title", m->ui_title,
      "root", m->ui_root, "src", m->ui_src, "backend", "image", m->vm_image,
      "compose", m->vm_compose, "socket", m->vm_socket, "container",
      backend_id, "installed_by_uid", (json_int_t)uid, "installed_at_ms",
      (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
}

/* The sandbox part of the record: what was requested and what is
 * granted (the request cut to the administrator's pins, docs/extensions.md
 * "Grants"). */
static void
add_sandbox_record (const struct ext_ctx *c, const char *name,
                    const struct ext_meta *m, json_t *rec)
{
  const json_t *pins = NULL;
  json_t *req = m->sandbox_scopes ? m->sandbox_scopes : json_object ();
  if (m->sandbox_script == NULL)
    {
      if (m->sandbox_scopes == NULL)
        json_decref (req);
      return;
    }
  if (c->sandbox_pins != NULL)
    {
      pins = json_object_get (c->sandbox_pins, name);
      if (pins == NULL)
        pins = json_object_get (c->sandbox_pins, "*");
      if (pins == NULL)
        pins = json_object (); /* pinned, and nothing for this one */
      else
        json_incref ((json_t *)pins);
    }
  json_object_set_new (rec, "sandbox",
                       json_pack ("{s:s, s:O, s:o}", "script",
                                  m->sandbox_script, "requestedScopes", req,
                                  "grants", ext_sandbox_grants (req, pins)));
  json_decref ((json_t *)pins);
  if (m->sandbox_scopes == NULL)
    json_decref (req);
}

int
ext_sandbox_preview (const struct ext_ctx *c, const char *image, json_t **out,
                     moat_error_t *err)
{
  char name[EXT_NAME_MAX + 1];
  struct ext_problems probs = { 0 };
  struct probe p;
  int r;

  *out = NULL;
  if (ext_name_from_image (image, name, sizeof name, err) < 0)
    return -1;
  r = probe_image (c, image, &p, &probs, err);
  if (r == 0 && probs.n == 0 && p.have_meta && p.meta.sandbox_script != NULL)
    {
      json_t *rec = json_object ();
      add_sandbox_record (c, name, &p.meta, rec);
      *out = json_incref (json_object_get (rec, "sandbox"));
      json_decref (rec);
    }
  probe_free (c, &p);
  ext_problems_free (&probs);
  return r;
}

static int
invalid (const char *image, struct ext_problems *probs, moat_error_t *err)
{
  cleanup_free char *all = ext_problems_join (probs);
  return moat_error (err, 0, "`%s` is not a valid extension: %s", image,
                     all ? all : "(out of memory)");
}

/* Install's and update's first steps: probe image (*p, *probs), refuse
 * it when it is not a valid extension, stage its files in dfd/staging. */
static int
probe_and_stage (const struct ext_ctx *c, int dfd, const char *image,
                 const char *staging, struct probe *p,
                 struct ext_problems *probs, moat_error_t *err)
{
  if (probe_image (c, image, p, probs, err) < 0)
    return -1;
  if (probs->n > 0)
    return invalid (image, probs, err);
  return stage_files (c, dfd, staging, p, err);
}

/* Install's and update's backend and record: the backend started from
 * the staged files (binds: the old backend's volumes, or NULL), then the
 * record of what was installed.  *backend is set also on failure (for
 * rollback). */
static int
start_and_record (const struct ext_ctx *c, const char *name, const char *image,
                  const char *staging, const struct probe *p, json_t *binds,
                  int64_t uid, char **backend, json_t **rec, moat_error_t *err)
{
  cleanup_free char *sdir = NULL;

  if (asprintf (&sdir, "%s/%s", c->dir, staging) < 0)
    {
      sdir = NULL;
      return moat_error (err, ENOMEM, "the staging path");
    }
  if (start_backend (c, name, image, sdir, &p->meta, binds, backend, err) < 0)
    return -1;
  *rec = make_record (name, image, p, *backend, uid);
  if (*rec == NULL)
    return moat_error (err, ENOMEM, "record");
  add_sandbox_record (c, name, &p->meta, *rec);
  return 0;
}

int
ext_install (const struct ext_ctx *c, const char *image, int64_t uid,
             json_t **record, moat_error_t *err)
{
  char name[EXT_NAME_MAX + 1];
  cleanup_free char *staging = NULL;
  cleanup_free char *backend = NULL;
  cleanup_close int dfd = -1;
  struct ext_problems probs = { 0 };
  struct probe p = { 0 };
  json_t *rec = NULL;
  struct stat st;

  *record = NULL;
  if (ext_name_from_image (image, name, sizeof name, err) < 0)
    return -1;
  dfd = open_dir (c, err);
  if (dfd < 0)
    return -1;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      json_t *old = read_record (dfd, name, err);
      moat_error_release (err);
      moat_error (err, 0,
                  "an extension named `%s` is already installed (from `%s`); "
                  "remove it first, or `moat extension update` to another "
                  "tag",
                  name,
                  old ? json_string_value (json_object_get (old, "image"))
                      : "?");
      json_decref (old);
      return -1;
    }
  if (asprintf (&staging, ".staging-%s", name) < 0)
    return moat_error (err, ENOMEM, "install");
  /* A crash during an earlier install may have left its staging. */
  if (ext_rm_tree_at (dfd, staging, err) < 0)
    return -1;

  if (probe_and_stage (c, dfd, image, staging, &p, &probs, err) < 0)
    goto fail;
  {
    cleanup_free char *data = NULL;
    if (asprintf (&data, "%s/data", staging) < 0
        || mkdirat (dfd, data, 0700) < 0)
      {
        moat_error (err, errno, "mkdir data");
        goto fail;
      }
  }
  if (start_and_record (c, name, image, staging, &p, NULL, uid, &backend, &rec,
                        err)
      < 0)
    goto fail;
  if (write_record (c, staging, rec, err) < 0)
    goto fail;
  /* The last step: the extension exists from here on. */
  if (renameat (dfd, staging, dfd, name) < 0)
    {
      moat_error (err, errno, "install `%s`", name);
      goto fail;
    }
  probe_free (c, &p);
  ext_problems_free (&probs);
  *record = rec;
  return 0;

fail:
  {
    moat_error_t e2 = NULL;
    remove_container (c->engine_sock, backend, true);
    if (p.have_meta && p.meta.vm_compose != NULL)
      ext_compose_down (c, name, true);
    probe_free (c, &p);
    ext_rm_tree_at (dfd, staging, &e2);
    moat_error_release (&e2);
    ext_problems_free (&probs);
    json_decref (rec);
    if (*err == NULL)
      moat_error (err, EIO, "install `%s`", image);
    return moat_error_wrap (err, "install `%s` (nothing was left installed)",
                            image);
  }
}

/* ---- update ---- */

static int
start_container (const char *sock, const char *id, moat_error_t *err)
{
  cleanup_free char *url = NULL;
  long st;
  if (asprintf (&url, "/containers/%s/start", id) < 0)
    return moat_error (err, ENOMEM, "start");
  st = eng (sock, "POST", url, NULL, NULL, err);
  return st == 204 || st == 304 ? 0 : -1;
}

static int
stop_container (const char *sock, const char *id, moat_error_t *err)
{
  cleanup_free char *url = NULL;
  long st;
  if (asprintf (&url, "/containers/%s/stop?t=5", id) < 0)
    return moat_error (err, ENOMEM, "stop");
  st = eng (sock, "POST", url, NULL, NULL, err);
  if (st == 404)
    moat_error_release (err);
  return st == 204 || st == 304 || st == 404 ? 0 : -1;
}

/* The volumes of container id as Binds ("<volume>:<destination>"), so
 * that the new backend of an update gets the old one's volumes, its
 * anonymous ones included. */
static json_t *
volume_binds (const struct ext_ctx *c, const char *id)
{
  cleanup_free char *url = NULL;
  json_t *info = NULL, *binds = json_array (), *mnt;
  moat_error_t e = NULL;
  size_t i;

  if (asprintf (&url, "/containers/%s/json", id) < 0
      || eng (c->engine_sock, "GET", url, NULL, &info, &e) != 200)
    {
      moat_error_release (&e);
      json_decref (info);
      return binds;
    }
  json_array_foreach (json_object_get (info, "Mounts"), i, mnt)
  {
    const char *type = json_string_value (json_object_get (mnt, "Type"));
    const char *vn = json_string_value (json_object_get (mnt, "Name"));
    const char *dst = json_string_value (json_object_get (mnt, "Destination"));
    char *b = NULL;
    if (type == NULL || strcmp (type, "volume") != 0 || vn == NULL
        || dst == NULL || !engine_name_p (vn, strlen (vn), 255)
        || asprintf (&b, "%s:%s", vn, dst) < 0)
      continue;
    json_array_append_new (binds, json_string (b));
    free (b);
  }
  json_decref (info);
  return binds;
}

/* Swap dfd/a/leaf and dfd/b/leaf (either may be missing). */
static int
exchange (int dfd, const char *a, const char *b, const char *leaf,
          moat_error_t *err)
{
  cleanup_free char *pa = NULL;
  cleanup_free char *pb = NULL;
  struct stat st;

  if (asprintf (&pa, "%s/%s", a, leaf) < 0
      || asprintf (&pb, "%s/%s", b, leaf) < 0)
    return moat_error (err, ENOMEM, "update");
  if (fstatat (dfd, pa, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      /* Nothing new: the old one goes away with the staging. */
      if (renameat (dfd, pb, dfd, pa) < 0 && errno != ENOENT)
        return moat_error (err, errno, "update %s", leaf);
      return 0;
    }
  if (renameat2 (dfd, pa, dfd, pb, RENAME_EXCHANGE) == 0)
    return 0;
  if (errno != ENOENT)
    return moat_error (err, errno, "update %s", leaf);
  if (renameat (dfd, pa, dfd, pb) < 0)
    return moat_error (err, errno, "update %s", leaf);
  return 0;
}

int
ext_update (const struct ext_ctx *c, const char *image, int64_t uid,
            json_t **record, moat_error_t *err)
{
  char name[EXT_NAME_MAX + 1];
  cleanup_free char *staging = NULL;
  cleanup_free char *backend = NULL;
  cleanup_free char *old_c = NULL;
  cleanup_free char *new_c = NULL;
  cleanup_close int dfd = -1;
  struct ext_problems probs = { 0 };
  struct probe p = { 0 };
  json_t *old = NULL, *rec = NULL, *binds = NULL;
  const char *old_id;
  bool old_stopped = false;

  *record = NULL;
  if (ext_name_from_image (image, name, sizeof name, err) < 0)
    return -1;
  dfd = open_dir (c, err);
  if (dfd < 0)
    return -1;
  old = read_record (dfd, name, err);
  if (old == NULL)
    return moat_error_wrap (err, "update: no installed extension `%s`", name);
  old_c = ext_image_canonical (
      json_string_value (json_object_get (old, "image")) ?: "");
  new_c = ext_image_canonical (image);
  if (old_c == NULL || new_c == NULL)
    {
      json_decref (old);
      return moat_error (err, ENOMEM, "update");
    }
  if (strcmp (old_c, new_c) == 0)
    {
      json_decref (old);
      return moat_error (
          err, 0,
          "`%s` is what `%s` already runs; update needs another "
          "tag",
          image, name);
    }
  if (asprintf (&staging, ".staging-%s", name) < 0
      || ext_rm_tree_at (dfd, staging, err) < 0)
    {
      json_decref (old);
      return moat_error (err, ENOMEM, "update");
    }
  old_id = json_string_value (
      json_object_get (json_object_get (old, "backend"), "container"));

  if (probe_and_stage (c, dfd, image, staging, &p, &probs, err) < 0)
    goto fail;
  /* The old backend stops first: both never run on the same volumes. */
  if (old_id != NULL && full_id_p (old_id))
    {
      binds = volume_binds (c, old_id);
      if (stop_container (c->engine_sock, old_id, err) < 0)
        goto fail;
      old_stopped = true;
    }
  if (start_and_record (c, name, image, staging, &p, binds, uid, &backend,
                        &rec, err)
      < 0)
    goto fail;
  json_object_set (rec, "installed_at_ms",
                   json_object_get (old, "installed_at_ms"));
  json_object_set_new (rec, "updated_by_uid", json_integer (uid));
  if (write_record (c, staging, rec, err) < 0
      || exchange (dfd, staging, name, "ui", err) < 0
      || exchange (dfd, staging, name, "icon", err) < 0
      || exchange (dfd, staging, name, "sandbox.js", err) < 0

      || exchange (dfd, staging, name, "host", err) < 0
      || exchange (dfd, staging, name, RECORD, err) < 0)
    goto fail; /* before the record moved, the old files are back */
  if (old_id != NULL && full_id_p (old_id))
    remove_container (c->engine_sock, old_id, false);
  {
    moat_error_t e2 = NULL;
    ext_rm_tree_at (dfd, staging, &e2);
    moat_error_release (&e2);
  }
  probe_free (c, &p);
  json_decref (old);
  json_decref (binds);
  *record = rec;
  return 0;

fail:
  {
    moat_error_t e2 = NULL;
    remove_container (c->engine_sock, backend, true);
    if (old_stopped && start_container (c->engine_sock, old_id, &e2) < 0)
      moat_error_release (&e2);
    probe_free (c, &p);
    ext_rm_tree_at (dfd, staging, &e2);
    moat_error_release (&e2);
    ext_problems_free (&probs);
    json_decref (rec);
    json_decref (old);
    json_decref (binds);
    if (*err == NULL)
      moat_error (err, EIO, "update");
    return moat_error_wrap (
        err, "update `%s` (the installed version was kept)", image);
  }
}

/* ---- remove, list ---- */

/* The volume at url ("/volumes/<name>") for rm --volumes of a compose
 * backend: 1 when the compose project of extension name made it
 * (labelled com.docker.compose.project=moat-ext-<name>; ECI lets no one
 * but root make such a volume), 404 when it is gone already, else 0.  A
 * compose file may mount any named volume (`external: true`): rm
 * --volumes must not delete, as root, one that is not the extension's. */
static int
project_volume (const struct ext_ctx *c, const char *name, const char *url)
{
  moat_error_t e = NULL;
  json_t *v = NULL;
  const char *proj;
  int mine = 0;
  long st = eng (c->engine_sock, "GET", url, NULL, &v, &e);
  moat_error_release (&e);
  proj = json_string_value (json_object_get (json_object_get (v, "Labels"),
                                             "com.docker.compose.project"));
  if (st == 404)
    mine = 404;
  else if (st == 200 && proj != NULL && strncmp (proj, "moat-ext-", 9) == 0
           && strcmp (proj + 9, name) == 0)
    mine = 1;
  json_decref (v);
  return mine;
}

int
ext_remove (const struct ext_ctx *c, const char *name, bool volumes,
            json_t **left, moat_error_t *err)
{
  cleanup_close int dfd = -1;
  cleanup_free char *url = NULL;
  json_t *rec, *info = NULL, *mounts, *mnt;
  const char *id;
  size_t i;
  long st;
  bool compose;
  int mine;

  *left = json_array ();
  if (!engine_name_p (name, strlen (name), EXT_NAME_MAX) || name[0] == '.')
    return moat_error (err, EINVAL, "`%s` is not an extension name", name);
  dfd = open_dir (c, err);
  if (dfd < 0)
    return -1;
  rec = read_record (dfd, name, err);
  if (rec == NULL)
    return moat_error_wrap (err, "no installed extension `%s`", name);
  compose = json_string_value (
                json_object_get (json_object_get (rec, "backend"), "compose"))
            != NULL;
  id = json_string_value (
      json_object_get (json_object_get (rec, "backend"), "container"));
  if (id != NULL && full_id_p (id))
    {
      if (asprintf (&url, "/containers/%s/json", id) < 0)
        goto nomem;
      st = eng (c->engine_sock, "GET", url, NULL, &info, err);
      if (st == 404)
        moat_error_release (err);
      else if (st != 200)
        goto fail;
      mounts = json_object_get (info, "Mounts");
      json_array_foreach (mounts, i, mnt)
      {
        const char *vn = json_string_value (json_object_get (mnt, "Name"));
        if (vn != NULL
            && strcmp (json_string_value (json_object_get (mnt, "Type")) ?: "",
                       "volume")
                   == 0)
          json_array_append_new (*left, json_string (vn));
      }
      if (st == 200)
        {
          free (url);
          url = NULL;
          if (asprintf (&url, "/containers/%s?force=1&v=%d", id,
                        volumes ? 1 : 0)
              < 0)
            goto nomem;
          st = eng (c->engine_sock, "DELETE", url, NULL, NULL, err);
          if (st == 404)
            moat_error_release (err);
          else if (st != 204)
            goto fail;
        }
      if (volumes)
        {
          size_t j = 0;
          while (j < json_array_size (*left))
            {
              const char *vn = json_string_value (json_array_get (*left, j));
              free (url);
              url = NULL;
              if (!engine_name_p (vn, strlen (vn), 255)
                  || asprintf (&url, "/volumes/%s", vn) < 0)
                {
                  j++;
                  continue;
                }
              if (compose && (mine = project_volume (c, name, url)) != 1)
                {
                  if (mine == 404)
                    json_array_remove (*left, j);
                  else
                    j++;
                  continue;
                }
              st = eng (c->engine_sock, "DELETE", url, NULL, NULL, err);
              moat_error_release (err);
              if (st == 204 || st == 404)
                json_array_remove (*left, j);
              else
                j++;
            }
        }
    }
  if (json_string_value (
          json_object_get (json_object_get (rec, "backend"), "compose"))
      != NULL)
    ext_compose_down (c, name, volumes);
  json_decref (info);
  json_decref (rec);
  if (ext_rm_tree_at (dfd, name, err) < 0)
    return -1;
  return ext_host_home_remove (c->dir, name, err); /* host binaries' homes */

nomem:
  moat_error (err, ENOMEM, "remove");
fail:
  json_decref (info);
  json_decref (rec);
  return moat_error_wrap (err, "remove `%s` (nothing was removed)", name);
}

int
ext_backend_socket (const struct ext_ctx *c, const char *name, char *buf,
                    size_t bufsz, moat_error_t *err)
{
  cleanup_close int dfd = open_dir (c, err);
  json_t *rec, *be;
  const char *id, *sock;
  bool running = false;
  long pid = 0, code = 0, restarts = 0;
  int r;

  if (dfd < 0)
    return -1;
  if (!engine_name_p (name, strlen (name), EXT_NAME_MAX) || name[0] == '.')
    return moat_error (err, EINVAL, "`%s` is not an extension name", name);
  rec = read_record (dfd, name, err);
  if (rec == NULL)
    return -1;
  be = json_object_get (rec, "backend");
  id = json_string_value (json_object_get (be, "container"));
  sock = json_string_value (json_object_get (be, "socket"));
  if (id == NULL || sock == NULL || !full_id_p (id))
    r = moat_error (err, ENOENT, "`%s` has no backend socket", name);
  else if (backend_state (c, id, &running, &pid, &code, &restarts, err) < 0)
    r = -1;
  else if (!running)
    r = moat_error (err, ECONNREFUSED, "the backend of `%s` is not running",
                    name);
  else
    r = socket_path (pid, sock, buf, bufsz, err);
  json_decref (rec);
  return r;
}

int
ext_list (const struct ext_ctx *c, json_t **out, moat_error_t *err)
{
  cleanup_close int dfd = open_dir (c, err);
  DIR *d;
  struct dirent *de;
  int fd;

  *out = json_array ();
  if (dfd < 0)
    return -1;
  fd = dup (dfd);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return moat_error (err, errno, "read `%s`", c->dir);
    }
  while ((de = readdir (d)) != NULL)
    {
      json_t *rec, *be;
      const char *id;
      moat_error_t e2 = NULL;
      const char *state = "none";
      bool reachable = false;

      if (de->d_name[0] == '.')
        continue;
      rec = read_record (dfd, de->d_name, &e2);
      if (rec == NULL)
        {
          json_array_append_new (*out,
                                 json_pack ("{s:s, s:s}", "name", de->d_name,
                                            "error", moat_error_msg (&e2)));
          moat_error_release (&e2);
          continue;
        }
      be = json_object_get (rec, "backend");
      id = json_string_value (json_object_get (be, "container"));
      if (id != NULL && full_id_p (id))
        {
          bool running = false;
          long pid = 0, code = 0, restarts = 0;
          char path[128];
          if (backend_state (c, id, &running, &pid, &code, &restarts, &e2) < 0)
            state = "missing";
          else
            state = running ? "running" : "stopped";
          moat_error_release (&e2);
          if (running)
            {
              const char *sock
                  = json_string_value (json_object_get (be, "socket"));
              reachable
                  = sock != NULL
                    && socket_path (pid, sock, path, sizeof path, &e2) == 0
                    && connect_p (path);
              moat_error_release (&e2);
            }
        }
      json_object_set_new (be, "state", json_string (state));
      json_object_set_new (be, "socket_reachable", json_boolean (reachable));
      json_array_append_new (*out, rec);
    }
  closedir (d);
  return 0;
}
