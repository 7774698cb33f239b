/* Bind mount sources moat-runc accepts (see bindpol.h). */
#include "bindpol.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "common/strutil.h"
#include "common/fs.h"
#include "common/log.h"
#include "policy/policy.h"
#include "state/state.h"

#define CONFIG_MAX (4u << 20)

static const char *const default_sockets[] = {
  "/run/docker.sock",
  "/var/run/docker.sock",
  "/run/containerd/containerd.sock",
};

static const char *const init_dirs[] = {
  "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
  "/sbin",           "/bin",           NULL,
};

static void
free_list (char **l, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (l[i]);
  free (l);
}

void
bindpol_free (struct bindpol *bp)
{
  free_list (bp->shared, bp->n_shared);
  free_list (bp->protect, bp->n_protect);
  free_list (bp->sockets, bp->n_sockets);
  free_list (bp->data_roots, bp->n_data_roots);
  free_list (bp->pod_dirs, bp->n_pod_dirs);
  free (bp->filtered_dir);
  free (bp->pinned_dir);
  free (bp->image);
  free (bp->init_real);
  free (bp->policy_error);
  free (bp->caller_error);
  free (bp->standin);
  json_decref (bp->pinned);
  memset (bp, 0, sizeof *bp);
}

/* Append path, and its real path when that differs (or path itself when
 * it does not exist yet): both spellings are compared. */
static int
push (char ***l, size_t *n, const char *path, bool real_only)
{
  cleanup_free char *real = realpath (path, NULL);
  const char *add[2] = { real_only ? NULL : path, real };
  if (real_only && real == NULL)
    add[0] = path;
  for (int i = 0; i < 2; i++)
    {
      char **nl;
      if (add[i] == NULL || (i == 1 && add[0] && strcmp (add[0], real) == 0))
        continue;
      nl = realloc (*l, (*n + 1) * sizeof *nl);
      if (nl == NULL)
        return -1;
      *l = nl;
      if ((nl[*n] = strdup (add[i])) == NULL)
        return -1;
      (*n)++;
    }
  return 0;
}

static bool
path_under (const char *p, const char *dir)
{
  size_t n = strlen (dir);
  if (strcmp (dir, "/") == 0)
    return p[0] == '/';
  return strncmp (p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static bool
hex_p (const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

/* The engine's data root as the spec's /etc/hostname mount names it:
 * <root>/containers/<id>/hostname.  The id is the engine's, chosen at
 * create, so a user could not have prepared a path of that shape. */
static char *
spec_data_root (json_t *spec, const char *id)
{
  size_t i;
  json_t *m;
  json_array_foreach (json_object_get (spec, "mounts"), i, m)
  {
    const char *dst = json_string_value (json_object_get (m, "destination"));
    const char *src = json_string_value (json_object_get (m, "source"));
    char tail[320];
    size_t sl, tl;
    if (dst == NULL || src == NULL || strcmp (dst, "/etc/hostname") != 0)
      continue;
    snprintf (tail, sizeof tail, "/containers/%s/hostname", id);
    sl = strlen (src);
    tl = strlen (tail);
    if (sl > tl && src[0] == '/' && strcmp (src + sl - tl, tail) == 0)
      return strndup (src, sl - tl);
  }
  return NULL;
}

/* A caller label's value: decimal, below UINT32_MAX (-1 is no id). */
static bool
parse_id (const char *s, uint32_t *out)
{
  unsigned long long v = 0;
  if (s == NULL || *s == '\0' || strlen (s) > 10)
    return false;
  for (const char *p = s; *p != '\0'; p++)
    {
      if (*p < '0' || *p > '9')
        return false;
      v = v * 10 + (unsigned)(*p - '0');
    }
  if (v >= UINT32_MAX)
    return false;
  *out = (uint32_t)v;
  return true;
}

/* The caller from the labels (bindpol.h); a missing uid label is root. */
static void
read_caller (struct bindpol *bp, json_t *labels)
{
  json_t *ju = json_object_get (labels, BINDPOL_LABEL_UID);
  json_t *jg = json_object_get (labels, BINDPOL_LABEL_GID);
  const char *u = json_string_value (ju), *g = json_string_value (jg);

  bp->caller_root = true;
  if (ju == NULL && jg == NULL)
    return;
  if (!parse_id (u, &bp->caller_uid) || !parse_id (g, &bp->caller_gid))
    {
      if (asprintf (&bp->caller_error,
                    "invalid caller labels " BINDPOL_LABEL_UID
                    "=\"%s\" " BINDPOL_LABEL_GID "=\"%s\"",
                    u ? u : "(none)", g ? g : "(none)")
          < 0)
        bp->caller_error = NULL;
      return;
    }
  bp->caller_root = bp->caller_uid == 0;
}

/* From the engine's container config: Config.Image (the name as the user
 * wrote it, label com.moat.image, when the guard pinned it to an id) and
 * the caller labels.  Returns 1 when the config was read, 0 if not. */
/* bindpol.hostcfg_read, net_raw_asked from the engine's hostconfig.json */
static void
engine_hostconfig (struct bindpol *bp, const char *data_root, const char *id)
{
  cleanup_free char *path = NULL;
  cleanup_free char *data = NULL;
  cleanup_error moat_error_t e = NULL;
  size_t len, i;
  json_t *root, *c;
  if (asprintf (&path, "%s/containers/%s/hostconfig.json", data_root, id) < 0)
    return;
  if (fs_read_file (path, CONFIG_MAX, &data, &len, &e) < 0)
    return;
  root = json_loadb (data, len, 0, NULL);
  if (!json_is_object (root))
    {
      json_decref (root);
      return;
    }
  bp->hostcfg_read = true;
  bp->net_raw_asked = json_is_true (json_object_get (root, "Privileged"));
  json_array_foreach (json_object_get (root, "CapAdd"), i, c)
  {
    const char *n = json_string_value (c);
    if (n != NULL && strncasecmp (n, "CAP_", 4) == 0)
      n += 4;
    if (n != NULL
        && (strcasecmp (n, "NET_RAW") == 0 || strcasecmp (n, "ALL") == 0))
      bp->net_raw_asked = true;
  }
  json_decref (root);
}

static int
engine_config (struct bindpol *bp, const char *data_root, const char *id)
{
  cleanup_free char *path = NULL;
  cleanup_free char *data = NULL;
  cleanup_error moat_error_t e = NULL;
  size_t len;
  json_t *root, *cfg, *labels;
  const char *label, *img;
  if (asprintf (&path, "%s/containers/%s/config.v2.json", data_root, id) < 0)
    return 0;
  if (fs_read_file (path, CONFIG_MAX, &data, &len, &e) < 0)
    return 0;
  root = json_loadb (data, len, 0, NULL);
  if (root == NULL)
    return 0;
  cfg = json_object_get (root, "Config");
  labels = json_object_get (cfg, "Labels");
  label = json_string_value (json_object_get (labels, "com.moat.image"));
  img = json_string_value (json_object_get (cfg, "Image"));
  free (bp->image);
  bp->image = NULL;
  if (label != NULL && label[0] != '\0')
    bp->image = strdup (label);
  else if (img != NULL)
    bp->image = strdup (img);
  read_caller (bp, labels);
  engine_hostconfig (bp, data_root, id);
  label = json_string_value (json_object_get (labels, BINDPOL_LABEL_BINDS));
  json_decref (bp->pinned);
  bp->pinned = label != NULL && label[0] != '\0'
                   ? json_loads (label, JSON_REJECT_DUPLICATES, NULL)
                   : NULL;
  if (bp->pinned != NULL && !json_is_object (bp->pinned))
    {
      json_decref (bp->pinned);
      bp->pinned = NULL;
    }
  json_decref (root);
  return 1;
}

/* The effective filesharingDirectories and ECI switch, as moatd builds
 * them.  Fail closed: with no readable settings, nothing is shared. */
static int
load_settings (struct bindpol *bp, const struct moat_paths *paths)
{
  struct policy_admin *admin = NULL;
  struct policy_report rep = { 0 };
  struct policy *pol = NULL;
  struct moat_state *st = NULL;
  json_t *overrides = NULL;
  cleanup_error moat_error_t e = NULL;
  int ret = 0;

  bp->eci = true;
  if (policy_admin_load (paths, &admin, &rep, &e) < 0)
    {
      char *why = rep.n_errors > 0 ? policy_report_format (&rep)
                                   : strdup (moat_error_msg (&e));
      bp->policy_error = why;
      goto out;
    }
  /* users' overrides of unlocked settings; without them the admin's */
  if (state_open (paths->state_db, &st, &e) < 0
      || state_overrides_load (st, &overrides, &e) < 0)
    {
      log_warn ("user settings not read (%s); the admin settings apply",
                moat_error_msg (&e));
      moat_error_release (&e);
      overrides = NULL;
    }
  if (policy_build (admin, overrides, &pol, &e) < 0)
    {
      bp->policy_error = strdup (moat_error_msg (&e));
      goto out;
    }
  bp->eci = pol->eci.enabled;
  for (size_t i = 0; i < pol->filesharing.n_dirs; i++)
    if (push (&bp->shared, &bp->n_shared, pol->filesharing.dirs[i], true) < 0)
      ret = -1;
out:
  if (bp->policy_error != NULL)
    log_error ("settings not readable, no directory is shared: %s",
               bp->policy_error);
  policy_free (pol);
  json_decref (overrides);
  state_close (st);
  policy_report_free (&rep);
  policy_admin_free (admin);
  return ret;
}

char *
bindpol_engine_init (const char *const *dirs)
{
  const char *const *d = dirs != NULL ? dirs : init_dirs;
  for (size_t i = 0; d[i] != NULL; i++)
    {
      cleanup_free char *p = NULL;
      char *real;
      struct stat st;
      if (asprintf (&p, "%s/docker-init", d[i]) < 0)
        {
          p = NULL;
          return NULL;
        }
      if (stat (p, &st) < 0 || !S_ISREG (st.st_mode))
        continue;
      real = realpath (p, NULL);
      if (real != NULL)
        return real;
    }
  return NULL;
}

int
bindpol_load (struct bindpol *bp, const struct moat_paths *paths,
              const char *const *extra_sockets, json_t *spec, const char *id,
              moat_error_t *err)
{
  cleanup_free char *spec_root = spec_data_root (spec, id);
  cleanup_free char *fdir = NULL;
  const char *prot[]
      = { paths->etc_dir, paths->state_dir,   paths->run_dir,
          paths->log_dir, paths->engine_data, paths->engine_exec };
  const char *socks[]
      = { paths->engine_sock, paths->docker_sock, paths->control_sock };
  int r = 0;

  memset (bp, 0, sizeof *bp);
  if (load_settings (bp, paths) < 0)
    goto oom;
  for (size_t i = 0; i < sizeof prot / sizeof *prot; i++)
    r |= push (&bp->protect, &bp->n_protect, prot[i], false);
  for (size_t i = 0; i < sizeof socks / sizeof *socks; i++)
    r |= push (&bp->sockets, &bp->n_sockets, socks[i], false);
  for (size_t i = 0; i < sizeof default_sockets / sizeof *default_sockets; i++)
    r |= push (&bp->sockets, &bp->n_sockets, default_sockets[i], false);
  for (size_t i = 0; extra_sockets != NULL && extra_sockets[i] != NULL; i++)
    r |= push (&bp->sockets, &bp->n_sockets, extra_sockets[i], false);
  r |= push (&bp->data_roots, &bp->n_data_roots, paths->engine_data, true);
  if (spec_root != NULL)
    {
      /* an engine of its own: its data root is never mountable either */
      r |= push (&bp->data_roots, &bp->n_data_roots, spec_root, true);
      r |= push (&bp->protect, &bp->n_protect, spec_root, false);
    }
  if (r != 0)
    goto oom;
  if (asprintf (&fdir, "%s/sockets", paths->run_dir) < 0)
    {
      fdir = NULL;
      goto oom;
    }
  bp->filtered_dir = realpath (fdir, NULL);
  free (fdir);
  if (asprintf (&fdir, "%s/runc", paths->run_dir) < 0)
    {
      fdir = NULL;
      goto oom;
    }
  bp->pinned_dir = realpath (fdir, NULL);
  bp->init_real = bindpol_engine_init (NULL);
  if ((bp->standin = strdup (paths->bind_standin)) == NULL)
    goto oom;
  bp->caller_root = true;
  if (!engine_config (bp, spec_root ? spec_root : paths->engine_data, id)
      && spec_root != NULL)
    engine_config (bp, paths->engine_data, id);
  if (bp->image == NULL && (bp->image = strdup ("")) == NULL)
    goto oom;
  return 0;
oom:
  bindpol_free (bp);
  return moat_error (err, ENOMEM, "bind mount policy");
}

int
bindpol_pinned (const struct bindpol *bp, const char *src, const char *dest,
                const char **orig, bool *create)
{
  char clean[PATH_MAX];
  size_t o = 0;
  json_t *e;

  *orig = NULL;
  *create = false;
  if (bp->standin == NULL || src == NULL || strcmp (src, bp->standin) != 0)
    return 0;
  /* the engine gives runc the destination cleaned; the guard keyed it
   * cleaned lexically: only repeated and trailing slashes can differ */
  for (const char *p = dest ? dest : ""; *p != '\0' && o + 1 < sizeof clean;
       p++)
    if (!(*p == '/' && o > 0 && clean[o - 1] == '/'))
      clean[o++] = *p;
  if (o > 1 && clean[o - 1] == '/')
    o--;
  clean[o] = '\0';
  e = json_object_get (bp->pinned, clean);
  *orig = json_string_value (json_object_get (e, "src"));
  *create = json_is_true (json_object_get (e, "create"));
  return 1;
}

bool
bindpol_refusal_p (const moat_error_t *err)
{
  return moat_error_status (err) == 0
         && strncmp (moat_error_msg (err), REFUSAL_PREFIX,
                     strlen (REFUSAL_PREFIX))
                == 0;
}

bool
bindpol_is_bind (json_t *m)
{
  const char *type = json_string_value (json_object_get (m, "type"));
  size_t i;
  json_t *o;
  if (type != NULL && strcmp (type, "bind") == 0)
    return true;
  json_array_foreach (json_object_get (m, "options"), i, o)
  {
    const char *s = json_string_value (o);
    if (s != NULL && (strcmp (s, "bind") == 0 || strcmp (s, "rbind") == 0))
      return true;
  }
  return false;
}

/* Inside one of the pod's own directories (bindpol.pod_dirs)? */
static bool
pod_file_p (const struct bindpol *bp, const char *real)
{
  for (size_t i = 0; i < bp->n_pod_dirs; i++)
    if (path_under (real, bp->pod_dirs[i]))
      return true;
  return false;
}

int
bindpol_add_pod_dir (struct bindpol *bp, const char *dir)
{
  return push (&bp->pod_dirs, &bp->n_pod_dirs, dir, true) < 0 ? -1 : 0;
}

int
bindpol_add_protected (struct bindpol *bp, const char *dir)
{
  return push (&bp->protect, &bp->n_protect, dir, false) < 0 ? -1 : 0;
}

/* Files the engine makes for a container, and named volumes: inside a
 * data root, only these. */
static bool
engine_file_p (const struct bindpol *bp, const char *real)
{
  for (size_t i = 0; i < bp->n_data_roots; i++)
    {
      const char *d = bp->data_roots[i];
      size_t n = strlen (d);
      const char *rest;
      if (!path_under (real, d) || real[n] == '\0')
        continue;
      rest = real + n;
      if (strncmp (rest, "/containers/", 12) == 0)
        {
          const char *c = rest + 12;
          if (strlen (c) > 65 && hex_p (c, 64) && c[64] == '/')
            {
              const char *f = c + 65;
              if (strcmp (f, "hostname") == 0 || strcmp (f, "hosts") == 0
                  || strcmp (f, "resolv.conf") == 0
                  || strcmp (f, "mounts/shm") == 0)
                return true;
            }
        }
      else if (strncmp (rest, "/volumes/", 9) == 0)
        {
          const char *v = rest + 9;
          const char *slash = strchr (v, '/');
          if (slash != NULL && slash > v && strcmp (slash, "/_data") == 0)
            return true;
        }
    }
  return false;
}

static bool
filtered_socket_p (const struct bindpol *bp, const char *real,
                   const struct stat *st)
{
  size_t n;
  const char *b;
  if (bp->filtered_dir == NULL || !S_ISSOCK (st->st_mode))
    return false;
  n = strlen (bp->filtered_dir);
  if (strncmp (real, bp->filtered_dir, n) != 0 || real[n] != '/')
    return false;
  b = real + n + 1;
  return strlen (b) == 37 && hex_p (b, 32) && strcmp (b + 32, ".sock") == 0;
}

static int
refuse_socket (const struct bindpol *bp, moat_error_t *err)
{
  return moat_error (err, 0, REFUSAL_ECI_SOCKET_MOUNT,
                     bp->image ? bp->image : "");
}

static int
refuse_shared (const char *src, moat_error_t *err)
{
  return moat_error (err, 0, REFUSAL_ECI_BIND, src);
}

/* One mountinfo line: id, device, root, mount point, file system type,
 * super options (unescaped but the super options).  0 if malformed. */
struct mi
{
  unsigned long long id;
  char dev[32];
  char root[PATH_MAX];
  char mp[PATH_MAX];
  char fstype[64];
  char super[PATH_MAX];
};

static int
mi_parse (const char *line, struct mi *m)
{
  const char *sep = strstr (line, " - ");
  if (sep == NULL
      || sscanf (line, "%llu %*u %31s %4095s %4095s", &m->id, m->dev, m->root,
                 m->mp)
             != 4
      || sscanf (sep + 3, "%63s %*s %4095s", m->fstype, m->super) != 2)
    return 0;
  mountinfo_unescape (m->root);
  mountinfo_unescape (m->mp);
  return 1;
}

static int
push_host (char ***l, size_t *n, const char *mp, const char *rest)
{
  char *h = NULL;
  char **nl;
  if (asprintf (&h, "%s%s", strcmp (mp, "/") == 0 && rest[0] ? "" : mp, rest)
      < 0)
    return -1;
  nl = realloc (*l, (*n + 2) * sizeof *nl);
  if (nl == NULL)
    {
      free (h);
      return -1;
    }
  *l = nl;
  nl[(*n)++] = h;
  nl[*n] = NULL;
  return 0;
}

/* The directories an overlay volume (-o type=overlay -o o=lowerdir=...)
 * shows: lowerdir (':'-separated, "\:" escaped), upperdir, workdir. */
static int
overlay_dirs (const char *super, char ***hosts, size_t *n)
{
  cleanup_free char *opts = strdup (super);
  char *save = NULL;
  if (opts == NULL)
    return -1;
  for (char *o = strtok_r (opts, ",", &save); o != NULL;
       o = strtok_r (NULL, ",", &save))
    {
      const char *keys[] = { "lowerdir=", "upperdir=", "workdir=",
                             "lowerdir+=", "datadir+=" };
      for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        {
          size_t kl = strlen (keys[k]);
          char *v, *w;
          if (strncmp (o, keys[k], kl) != 0)
            continue;
          v = o + kl;
          w = v;
          for (char *r = v;; r++)
            {
              if (*r == '\\' && r[1] == ':')
                {
                  *w++ = ':';
                  r++;
                  continue;
                }
              if (*r == ':' || *r == '\0')
                {
                  char end = *r;
                  *w = '\0';
                  mountinfo_unescape (v);
                  if (*v != '\0' && push_host (hosts, n, v, "") < 0)
                    return -1;
                  if (end == '\0')
                    break;
                  v = w = r + 1;
                  continue;
                }
              *w++ = *r;
            }
        }
    }
  return 0;
}

/* A local volume's driver mounts onto <root>/volumes/<name>/_data what its
 * options say: a bind of a host path (-o o=bind -o device=/path), an
 * overlay of host directories, or a file system of its own (tmpfs, nfs).
 * What the container would see of the host: for a mount whose file system
 * is also mounted elsewhere here, the place that shows the same tree
 * (the mount's root within its file system, mountinfo field 4, below the
 * root of a mount of that file system, whatever the root is: a bind of the
 * host's `/` has root `/`); for an overlay, its directories.  Mounts at
 * another volume's _data do not count (the same volume seen twice).
 * Returns 0 when fd is not a mount point or is a file system found
 * nowhere else, 1 with *hosts (NULL-terminated, malloc'd) to judge, -1
 * when it cannot tell. */
/* The directory holding what fd is: ".." of a directory; for a file
 * (a pod's hosts file, a file bind), the directory of its real path. */
static int
parent_of (int fd)
{
  struct stat st;
  char link[64], real[PATH_MAX];
  char *slash;
  ssize_t n;
  if (fstat (fd, &st) < 0)
    return -1;
  if (S_ISDIR (st.st_mode))
    return openat (fd, "..", O_PATH | O_CLOEXEC);
  snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink (link, real, sizeof real - 1);
  if (n <= 0)
    return -1;
  real[n] = '\0';
  slash = strrchr (real, '/');
  if (slash == NULL)
    return -1;
  if (slash == real)
    slash[1] = '\0';
  else
    *slash = '\0';
  return open (real, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int
volume_bind_source (const struct bindpol *bp, int fd, char ***hosts)
{
  struct statx a, b;
  cleanup_close int parent = parent_of (fd);
  cleanup_free char *line = NULL;
  struct mi self_, m_;
  struct mi *self = &self_, *m = &m_;
  size_t cap = 0, n = 0, best = 0;
  cleanup_free char *best_mp = NULL;
  cleanup_free char *best_root = NULL;
  bool found = false;
  FILE *f;
  int ret = -1;

  *hosts = NULL;
  memset (self, 0, sizeof *self);
  if (parent < 0 || statx (fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &a) < 0
      || statx (parent, "", AT_EMPTY_PATH, STATX_MNT_ID, &b) < 0
      || !(a.stx_mask & b.stx_mask & STATX_MNT_ID))
    return -1;
  if (a.stx_mnt_id == b.stx_mnt_id)
    return 0;
  f = fopen ("/proc/self/mountinfo", "re");
  if (f == NULL)
    return -1;
  /* pass 1: this mount; pass 2: other mounts of its file system */
  for (int pass = 0; pass < 2; pass++)
    {
      rewind (f);
      while (getline (&line, &cap, f) > 0)
        {
          if (!mi_parse (line, m))
            continue;
          if (pass == 0)
            {
              if (m->id == a.stx_mnt_id)
                {
                  *self = *m;
                  found = true;
                }
              continue;
            }
          /* moat-runc's own pinned copies are clones of sources already
           * judged (a pod sandbox's /dev/shm tmpfs): not where the file
           * system is on the host.  Skipping them never hides the
           * original mount, which is still a candidate. */
          if (m->id == self->id || strcmp (m->dev, self->dev) != 0
              || !path_under (self->root, m->root) || engine_file_p (bp, m->mp)
              || (bp->pinned_dir != NULL
                  && path_under (m->mp, bp->pinned_dir)))
            continue;
          if (best == 0 || strlen (m->root) < best)
            {
              free (best_mp);
              free (best_root);
              best_mp = strdup (m->mp);
              best_root = strdup (m->root);
              best = strlen (m->root) + 1;
              if (best_mp == NULL || best_root == NULL)
                goto out;
            }
        }
      if (!found)
        goto out;
    }
  if (strcmp (self->fstype, "overlay") == 0)
    {
      if (overlay_dirs (self->super, hosts, &n) < 0)
        goto out;
      ret = n > 0 ? 1 : -1;
      goto out;
    }
  if (best == 0)
    {
      ret = 0;
      goto out;
    }
  if (push_host (hosts, &n, best_mp,
                 self->root
                     + (strcmp (best_root, "/") == 0 ? 0 : strlen (best_root)))
      < 0)
    goto out;
  ret = 1;
out:
  fclose (f);
  if (ret < 0 && *hosts != NULL)
    {
      for (size_t i = 0; (*hosts)[i] != NULL; i++)
        free ((*hosts)[i]);
      free (*hosts);
      *hosts = NULL;
    }
  return ret;
}

/* The decision on a real (symlink-free) path and what it is. */
static int
decide (const struct bindpol *bp, const char *real, const struct stat *st,
        const char *src, const char *dest, enum bindpol_kind *kind,
        moat_error_t *err)
{
  const char *base = strrchr (real, '/');
  *kind = BINDPOL_ENGINE;
  if (engine_file_p (bp, real) || pod_file_p (bp, real))
    return 0;
  /* the engine's init: named docker-init, or what the system's
   * docker-init resolves to (Debian: a symlink to tini-static) */
  if (dest != NULL && strcmp (dest, "/sbin/docker-init") == 0
      && S_ISREG (st->st_mode) && st->st_uid == 0
      && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0
      && ((base != NULL && strcmp (base, "/docker-init") == 0)
          || (bp->init_real != NULL && strcmp (real, bp->init_real) == 0)))
    return 0;
  if (filtered_socket_p (bp, real, st))
    return 0;
  /* A socket file anywhere is treated as an engine socket: a copy or a
   * bind of docker.sock can live under any name. */
  if (S_ISSOCK (st->st_mode))
    return refuse_socket (bp, err);
  for (size_t i = 0; i < bp->n_sockets; i++)
    if (path_under (bp->sockets[i], real))
      return refuse_socket (bp, err);
  *kind = BINDPOL_HOST;
  if (!bp->eci)
    return 0;
  for (size_t i = 0; i < bp->n_protect; i++)
    if (path_under (real, bp->protect[i]) || path_under (bp->protect[i], real))
      return refuse_shared (src, err);
  for (size_t i = 0; i < bp->n_shared; i++)
    if (path_under (real, bp->shared[i]))
      return 0;
  return refuse_shared (src, err);
}

int
bindpol_check_fd (const struct bindpol *bp, int fd, const char *src,
                  const char *dest, moat_error_t *err)
{
  enum bindpol_kind kind;
  return bindpol_judge_fd (bp, fd, src, dest, &kind, err);
}

int
bindpol_judge_fd (const struct bindpol *bp, int fd, const char *src,
                  const char *dest, enum bindpol_kind *kind, moat_error_t *err)
{
  char link[64];
  char real[PATH_MAX];
  struct stat st;
  ssize_t n;
  if (fstat (fd, &st) < 0)
    return moat_error (err, errno, "stat bind source `%s`", src);
  snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink (link, real, sizeof real - 1);
  if (n < 0)
    return moat_error (err, errno, "real path of bind source `%s`", src);
  real[n] = '\0';
  /* unlinked since it was opened, or not reachable from our root: its
   * place cannot be judged */
  if (real[0] != '/' || (n > 10 && strcmp (real + n - 10, " (deleted)") == 0))
    return refuse_shared (src, err);
  if ((engine_file_p (bp, real) && strstr (real, "/volumes/") != NULL)
      || pod_file_p (bp, real))
    {
      /* a named volume: its data, unless the driver mounted host
       * directories there, which are then judged as those */
      char **host = NULL;
      int r = volume_bind_source (bp, fd, &host);
      int ret = 0;
      *kind = BINDPOL_ENGINE;
      if (r < 0)
        return refuse_shared (src, err);
      for (size_t i = 0; r > 0 && host[i] != NULL; i++)
        {
          cleanup_free char *hreal = realpath (host[i], NULL);
          struct stat hst;
          if (ret == 0
              && (hreal == NULL || stat (hreal, &hst) < 0
                  || decide (bp, hreal, &hst, host[i], dest, kind, err) < 0))
            ret = bindpol_refusal_p (err) ? -1 : refuse_shared (host[i], err);
          free (host[i]);
        }
      free (host);
      /* an overlay of host directories is the host's, whoever asks */
      if (r > 0 && ret == 0)
        *kind = BINDPOL_HOST;
      return ret;
    }
  return decide (bp, real, &st, src, dest, kind, err);
}

int
bindpol_check_path (const struct bindpol *bp, const char *src,
                    const char *dest, moat_error_t *err)
{
  const char *orig;
  bool create;
  /* a caller's source is opened, and judged, when it is mounted (binds.c) */
  if (bindpol_pinned (bp, src, dest, &orig, &create))
    return 0;
  cleanup_close int fd = open (src, O_PATH | O_CLOEXEC);
  if (fd < 0)
    return 0;
  return bindpol_check_fd (bp, fd, src, dest, err);
}
