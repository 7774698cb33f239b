/* Enhanced Container Isolation: create-body checks and rewrites, bind-path
 * resolution. */
#include "eci.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strutil.h"
#include "common/cleanup.h"
#include "common/refusal.h"
#include "engine/route.h"
#include "policy/netaddr.h"

void
eci_verdict_clear (struct eci_verdict *v)
{
  free (v->message);
  free (v->image);
  free (v->rewrite);
  free (v->socket);
  free (v->image_id);
  free (v->pin);
  memset (v, 0, sizeof *v);
}

__attribute__ ((format (printf, 4, 5))) static int
refuse (struct eci_verdict *v, int status, const char *rule, const char *fmt,
        ...)
{
  va_list ap;
  char *m = NULL;
  va_start (ap, fmt);
  if (vasprintf (&m, fmt, ap) < 0)
    m = NULL;
  va_end (ap);
  free (v->message);
  v->message = m;
  v->status = status;
  v->rule = rule;
  return -1;
}

static int
oom (struct eci_verdict *v)
{
  return refuse (v, 500, "internal", "moat: out of memory");
}

/* ---- Go-compatible JSON key matching ---------------------------------- */

/* Next code point of a UTF-8 string, folded the way encoding/json matches
 * field names (ASCII lower case; U+017F LONG S -> 's', U+212A KELVIN -> 'k'
 * since they fold to ASCII); other non-ASCII sequences -> -1. */
static int
next_folded (const unsigned char **p)
{
  const unsigned char *s = *p;
  if (s[0] < 0x80)
    {
      *p = s + 1;
      return (s[0] >= 'A' && s[0] <= 'Z') ? s[0] + 32 : s[0];
    }
  if (s[0] == 0xc5 && s[1] == 0xbf)
    {
      *p = s + 2;
      return 's';
    }
  if (s[0] == 0xe2 && s[1] == 0x84 && s[2] == 0xaa)
    {
      *p = s + 3;
      return 'k';
    }
  /* skip one UTF-8 sequence */
  s++;
  while ((*s & 0xc0) == 0x80)
    s++;
  *p = s;
  return -1;
}

bool
eci_json_key_fold_eq (const char *key, const char *field)
{
  const unsigned char *a = (const unsigned char *)key;
  const unsigned char *b = (const unsigned char *)field;
  while (*a && *b)
    {
      int ca = next_folded (&a);
      int cb = next_folded (&b);
      if (ca < 0 || ca != cb)
        return false;
    }
  return *a == '\0' && *b == '\0';
}

/* The value Go would decode into `field` of obj.  Returns -1 when two keys
 * fold to the field (Go takes the last, jansson's order is not the
 * document's: refuse rather than guess). */
static int
obj_get (json_t *obj, const char *field, json_t **out, struct eci_verdict *v)
{
  const char *k;
  json_t *val;
  *out = NULL;
  json_object_foreach (obj, k, val)
  {
    if (!eci_json_key_fold_eq (k, field))
      continue;
    if (*out != NULL)
      return refuse (
          v, 400, "eci.json",
          REFUSAL_PREFIX "ambiguous request: field \"%s\" given twice", field);
    *out = val;
  }
  return 0;
}

/* Set field to val (stolen) after removing every key that folds to it. */
static int
obj_set_canonical (json_t *obj, const char *field, json_t *val)
{
  const char *k;
  json_t *x;
  void *tmp;
  json_object_foreach_safe (obj, tmp, k, x)
  {
    if (eci_json_key_fold_eq (k, field))
      json_object_del (obj, k);
  }
  return json_object_set_new (obj, field, val);
}

static const char *
str_or_empty (json_t *j)
{
  return json_is_string (j) ? json_string_value (j) : "";
}

/* ---- host path resolution ---------------------------------------------- */

/* Lexically clean an absolute path (like Go's filepath.Clean). */
static char *
lexical_clean (const char *path)
{
  size_t n = strlen (path);
  char *out = malloc (n + 2);
  size_t o = 0;
  const char *p = path;
  if (out == NULL)
    return NULL;
  out[o++] = '/';
  while (*p)
    {
      while (*p == '/')
        p++;
      const char *e = strchrnul (p, '/');
      size_t l = (size_t)(e - p);
      if (l == 0 || (l == 1 && p[0] == '.'))
        ;
      else if (l == 2 && p[0] == '.' && p[1] == '.')
        {
          while (o > 1 && out[o - 1] != '/')
            o--;
          if (o > 1)
            o--;
        }
      else
        {
          if (o > 1)
            out[o++] = '/';
          memcpy (out + o, p, l);
          o += l;
        }
      p = e;
    }
  out[o] = '\0';
  return out;
}

char *
eci_resolve_host_path (const char *path)
{
  /* cur: resolved existing prefix; rest: components still to walk. */
  char cur[PATH_MAX] = "/";
  cleanup_free char *rest = NULL;
  int links = 0;
  bool missing = false;

  if (path == NULL || path[0] != '/')
    return NULL;
  rest = strdup (path);
  if (rest == NULL)
    return NULL;
  for (;;)
    {
      char *p = rest;
      char *e;
      size_t l;
      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      e = strchrnul (p, '/');
      l = (size_t)(e - p);
      if (l == 1 && p[0] == '.')
        ;
      else if (l == 2 && p[0] == '.' && p[1] == '.')
        {
          char *slash = strrchr (cur, '/');
          if (slash == cur)
            cur[1] = '\0';
          else
            *slash = '\0';
        }
      else
        {
          size_t prev = strlen (cur);
          size_t cl = prev;
          struct stat st;
          if (cl + 1 + l + 1 > sizeof cur)
            return NULL;
          if (cl > 1)
            cur[cl++] = '/';
          memcpy (cur + cl, p, l);
          cur[cl + l] = '\0';
          if (!missing && lstat (cur, &st) == 0 && S_ISLNK (st.st_mode))
            {
              char target[PATH_MAX];
              char *nrest = NULL;
              ssize_t tl;
              if (++links > 40)
                return NULL;
              tl = readlink (cur, target, sizeof target - 1);
              if (tl < 0)
                return NULL;
              target[tl] = '\0';
              /* a relative target starts from the link's directory */
              cur[prev] = '\0';
              if (target[0] == '/')
                strcpy (cur, "/");
              if (asprintf (&nrest, "%s/%s", target, e) < 0)
                return NULL;
              free (rest);
              rest = nrest;
              continue;
            }
          else if (!missing && lstat (cur, &st) < 0)
            missing = true; /* the engine creates the rest: lexical */
        }
      memmove (rest, e, strlen (e) + 1);
    }
  return lexical_clean (cur);
}

/* ---- bind checks ------------------------------------------------------- */

static bool
path_under (const char *p, const char *dir)
{
  size_t n = strlen (dir);
  if (strcmp (dir, "/") == 0)
    return true;
  return strncmp (p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* p equals q, is under it, or is a parent of it. */
static bool
path_overlaps (const char *p, const char *q)
{
  return path_under (p, q) || path_under (q, p);
}

static const char *const default_sockets[] = {
  "/run/docker.sock",
  "/var/run/docker.sock",
  "/run/containerd/containerd.sock",
};

static bool
reaches_socket (const struct eci_config *cfg, const char *resolved)
{
  struct stat st;
  /* A socket file anywhere is treated as an engine socket: a copy or a
   * bind of docker.sock can live under any name. */
  if (stat (resolved, &st) == 0 && S_ISSOCK (st.st_mode))
    return true;
  for (size_t i = 0; i < cfg->n_sockets + 3; i++)
    {
      const char *s = i < cfg->n_sockets ? cfg->socket_paths[i]
                                         : default_sockets[i - cfg->n_sockets];
      cleanup_free char *rs = eci_resolve_host_path (s);
      if (path_under (s, resolved) || (rs && path_under (rs, resolved)))
        return true;
    }
  return false;
}

/* eci_check_bind; decide_only: the bind cannot be rewritten (it is
 * inherited), so an allowed socket gets no filtered socket of its own. */
static int
check_bind (const struct eci_config *cfg, const struct policy *pol,
            const char *src, const char *image, bool decide_only,
            struct eci_verdict *v)
{
  cleanup_free char *resolved = NULL;
  cleanup_free char *cleaned = NULL;
  cleanup_free char *resolved_clean = NULL;
  const char *cands[2];
  bool allowed = true;

  if (src[0] != '/')
    return refuse (v, 400, "eci.bind",
                   REFUSAL_PREFIX "bind mount of \"%s\" denied; it is outside "
                                  "the shared directories",
                   src);
  /* The engine may clean the path lexically before the kernel follows
   * symlinks, or not: both readings must pass. */
  resolved = eci_resolve_host_path (src);
  cleaned = lexical_clean (src);
  resolved_clean = cleaned ? eci_resolve_host_path (cleaned) : NULL;
  if (resolved == NULL || resolved_clean == NULL)
    return refuse (v, 403, "eci.bind",
                   REFUSAL_PREFIX "bind mount of \"%s\" denied; it is outside "
                                  "the shared directories",
                   src);
  cands[0] = resolved;
  cands[1] = resolved_clean;

  for (int c = 0; c < 2; c++)
    if (reaches_socket (cfg, cands[c]))
      {
        cleanup_free char *msg = NULL;
        char *repl = NULL;
        struct stat st;
        /* Only the socket itself can be swapped for a filtered one: a
         * parent directory (-v /var/run:/x) would hand over everything
         * else in it too. */
        bool is_dir = stat (cands[c], &st) == 0 && S_ISDIR (st.st_mode);
        char *id = NULL;
        /* decided for an earlier bind of this create */
        if (!is_dir && v->image_id != NULL
            && (decide_only || v->socket != NULL))
          return 1;
        if (!is_dir && cfg->socket_mount_allowed
            && cfg->socket_mount_allowed (
                   cfg->socket_mount_ctx, pol, image ? image : "", cands[c],
                   decide_only ? NULL : &repl, &id, &msg)
                   == 0)
          {
            /* an allowed image with no id to pin the create to would be
             * resolved by name again by the engine: refuse */
            if (id == NULL || (!decide_only && repl == NULL))
              {
                free (id);
                free (repl);
                return refuse (v, 500, "eci.socket-mount",
                               REFUSAL_PREFIX
                               "socket mount hook gave no image "
                               "id or socket");
              }
            free (v->image_id);
            v->image_id = id;
            if (!decide_only)
              v->socket = repl;
            return 1;
          }
        free (id);
        free (repl);
        if (msg != NULL)
          return refuse (v, 403, "eci.socket-mount", "%s", msg);
        return refuse (v, 403, "eci.socket-mount",
                       REFUSAL_PREFIX
                       "docker socket mount denied for container with image "
                       "\"%s\"; image is not in the allowed list; if you wish "
                       "to allow it, configure the docker socket image list "
                       "in the moat admin settings.",
                       image ? image : "");
      }

  for (int c = 0; c < 2 && allowed; c++)
    {
      bool shared = false;
      for (size_t i = 0; i < cfg->n_protected && allowed; i++)
        {
          cleanup_free char *rp
              = eci_resolve_host_path (cfg->protected_paths[i]);
          if (path_overlaps (cands[c], cfg->protected_paths[i])
              || (rp && path_overlaps (cands[c], rp)))
            allowed = false;
        }
      for (size_t i = 0; pol && i < pol->filesharing.n_dirs && !shared; i++)
        {
          cleanup_free char *rd
              = eci_resolve_host_path (pol->filesharing.dirs[i]);
          shared = path_under (cands[c], pol->filesharing.dirs[i])
                   || (rd && path_under (cands[c], rd));
        }
      if (!shared)
        allowed = false;
    }
  if (!allowed)
    return refuse (v, 403, "eci.bind",
                   REFUSAL_PREFIX "bind mount of \"%s\" denied; it is outside "
                                  "the shared directories",
                   src);
  return 0;
}

int
eci_check_bind (const struct eci_config *cfg, const struct policy *pol,
                const char *src, const char *image, struct eci_verdict *v)
{
  return check_bind (cfg, pol, src, image, false, v);
}

/* ---- drivers and plugins ---------------------------------------------- */

/* Where a driver name is used, and the engine's built-in drivers that need
 * no permission.  Any other name is an engine plugin, looked up by a
 * lexical join of the name to /run/docker/plugins/ (and the spec
 * directories): it must be a plain name, and one the admin allows. */
enum driver_kind
{
  DRV_VOLUME,
  DRV_NETWORK,
  DRV_IPAM,
  DRV_LOG,
};

static const char *const builtin_volume[] = { "local", NULL };
/* macvlan and ipvlan put a container on a host link; overlay needs swarm */
static const char *const builtin_network[] = { "bridge", NULL };
static const char *const builtin_ipam[] = { "default", "null", NULL };
/* the others send container output to host services or remote servers,
 * from the host, outside the net guard */
static const char *const builtin_log[]
    = { "json-file", "local", "none", NULL };

static const struct
{
  const char *what;
  const char *const *builtin;
} driver_kinds[] = {
  [DRV_VOLUME] = { "volume driver", builtin_volume },
  [DRV_NETWORK] = { "network driver", builtin_network },
  [DRV_IPAM] = { "IPAM driver", builtin_ipam },
  [DRV_LOG] = { "log driver", builtin_log },
};

/* A driver name as a request gives it (NULL, null or "" = the engine's
 * default): built in, or a plugin name the admin allows. */
static int
check_driver (const struct policy *pol, enum driver_kind kind, json_t *name,
              struct eci_verdict *v)
{
  const char *what = driver_kinds[kind].what;
  const char *n;
  if (name == NULL || json_is_null (name))
    return 0;
  if (!json_is_string (name))
    return refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid %s", what);
  n = json_string_value (name);
  if (n[0] == '\0')
    return 0;
  for (const char *const *b = driver_kinds[kind].builtin; *b; b++)
    if (strcmp (n, *b) == 0)
      return 0;
  /* a path would name a socket anywhere on the host */
  if (!policy_driver_name_p (n))
    return refuse (v, 403, "eci.driver",
                   REFUSAL_PREFIX "%s \"%s\" denied; it is not a plugin name",
                   what, n);
  if (policy_driver_allowed_p (pol, n))
    return 0;
  return refuse (v, 403, "eci.driver",
                 REFUSAL_PREFIX
                 "%s \"%s\" denied; it is not in the allowed list; if you "
                 "wish to allow it, add it to "
                 "enhancedContainerIsolation.allowedDrivers in "
                 "the moat admin settings.",
                 what, n);
}

static bool
in_list (const char *s, const char *const *list)
{
  for (; *list; list++)
    if (strcmp (s, *list) == 0)
      return true;
  return false;
}

/* Mount flags of the engine's option parser that change nothing outside
 * the volume's own mount. */
static const char *const safe_mount_flags[] = {
  "defaults",   "ro",       "rw",         "suid",        "nosuid",
  "dev",        "nodev",    "exec",       "noexec",      "sync",
  "async",      "dirsync",  "atime",      "noatime",     "diratime",
  "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime",
  "private",    "rprivate", "slave",      "rslave",      NULL,
};

/* tmpfs data options (key=value) */
static const char *const tmpfs_options[] = {
  "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", NULL,
};

/* Local-driver options {"type","o","device"}, read as the engine's local
 * driver does (keys exactly; "o" split on ',' into mount flags and fs
 * data).  Accepts no options, tmpfs, and binds ("bind"/"rbind" in o) whose
 * device is an absolute, clean host path that passes as a bind source.
 * Refuses every other file system type: a block device (ext4 on
 * /dev/loop0), overlay (its options name host directories), network file
 * systems (mounted by the host as root, outside the net guard, with the
 * server's device nodes and setuid files), proc and the like; and every
 * option that is neither a known harmless flag nor tmpfs data. */
static int
check_driver_opts (const struct eci_config *cfg, const struct policy *pol,
                   json_t *opts, const char *image, struct eci_verdict *v)
{
  const char *k;
  json_t *x;
  const char *type = "", *o = "", *dev = NULL;
  bool bind = false;
  cleanup_free char *ocopy = NULL;

  if (opts == NULL || json_is_null (opts))
    return 0;
  if (!json_is_object (opts))
    return refuse (v, 400, "eci.json",
                   REFUSAL_PREFIX "invalid volume options");
  json_object_foreach (opts, k, x)
  {
    if (strcmp (k, "type") != 0 && strcmp (k, "o") != 0
        && strcmp (k, "device") != 0)
      return refuse (v, 403, "eci.volume",
                     REFUSAL_PREFIX "volume option key \"%s\" denied", k);
    if (!json_is_string (x))
      return refuse (v, 400, "eci.json",
                     REFUSAL_PREFIX "invalid volume option \"%s\"", k);
    if (k[0] == 't')
      type = json_string_value (x);
    else if (k[0] == 'o')
      o = json_string_value (x);
    else
      dev = json_string_value (x);
  }
  if (json_object_size (opts) == 0)
    return 0;

  /* with MS_BIND the kernel ignores the type */
  ocopy = strdup (o);
  if (ocopy == NULL)
    return oom (v);
  for (char *save = NULL, *it = strtok_r (ocopy, ",", &save); it;
       it = strtok_r (NULL, ",", &save))
    if (strcmp (it, "bind") == 0 || strcmp (it, "rbind") == 0)
      bind = true;
  if (!bind && strcmp (type, "tmpfs") != 0)
    return refuse (v, 403, "eci.volume",
                   REFUSAL_PREFIX "volume type \"%s\" denied; only tmpfs "
                                  "volumes and bind volumes of shared "
                                  "directories are accepted",
                   type);
  strcpy (ocopy, o);
  for (char *save = NULL, *it = strtok_r (ocopy, ",", &save); it;
       it = strtok_r (NULL, ",", &save))
    {
      size_t kl = strcspn (it, "=");
      bool tmpfs_data = false;
      for (const char *const *t = tmpfs_options; *t && !tmpfs_data; t++)
        tmpfs_data
            = strlen (*t) == kl && strncmp (it, *t, kl) == 0 && it[kl] == '=';
      if (strcmp (it, "bind") == 0 || strcmp (it, "rbind") == 0
          || in_list (it, safe_mount_flags) || (tmpfs_data && !bind))
        continue;
      return refuse (v, 403, "eci.volume",
                     REFUSAL_PREFIX "volume option \"%s\" denied", it);
    }

  if (bind)
    {
      cleanup_free char *clean = NULL;
      int r;
      /* The engine resolves a relative device against its own working
       * directory, and may or may not clean it: only one reading. */
      if (dev == NULL || dev[0] != '/' || (clean = lexical_clean (dev)) == NULL
          || strcmp (clean, dev) != 0)
        return refuse (v, 403, "eci.volume",
                       REFUSAL_PREFIX "volume device \"%s\" denied; a bind "
                                      "volume's device must be an absolute, "
                                      "clean host path",
                       dev ? dev : "");
      r = eci_check_bind (cfg, pol, dev, image, v);
      if (r > 0)
        return refuse (v, 403, "eci.socket-mount",
                       REFUSAL_PREFIX
                       "an engine socket can be mounted only as a "
                       "bind mount, not as a volume");
      return r;
    }
  return 0;
}

/* A container name or id as VolumesFrom may give it: what the engine
 * accepts ([a-zA-Z0-9][a-zA-Z0-9_.-]*, an optional leading '/'), and
 * nothing that could change the inspect URL. */
static bool
container_ref_p (const char *s, size_t n)
{
  if (n > 0 && s[0] == '/')
    s++, n--;
  return engine_name_p (s, n, 256);
}

/* The bind mounts one VolumesFrom source container holds (from its
 * inspect answer) are checked as binds of the new container of `image`:
 * inheriting another container's engine socket or host directory is
 * mounting it.  *id gets the source's full id. */
static int
check_inherited (const struct eci_config *cfg, const struct policy *pol,
                 const char *name, const char *image, char **id,
                 struct eci_verdict *v)
{
  cleanup_free char *body = NULL;
  size_t len = 0;
  json_t *root, *mounts, *m;
  size_t i;
  int r;

  r = cfg->inspect_container (cfg->inspect_ctx, name, &body, &len);
  if (r > 0)
    return refuse (v, 404, "eci.volumes-from", "No such container: %s", name);
  if (r < 0)
    return refuse (v, 502, "eci.volumes-from",
                   "moat: cannot inspect container \"%s\" to check the "
                   "volumes it would share",
                   name);
  root = json_loadb (body, len, 0, NULL);
  if (root == NULL || !json_is_object (root)
      || !full_id_p (json_string_value (json_object_get (root, "Id"))))
    {
      json_decref (root);
      return refuse (v, 502, "eci.volumes-from",
                     "moat: bad inspect answer for container \"%s\"", name);
    }
  mounts = json_object_get (root, "Mounts");
  json_array_foreach (mounts, i, m)
  {
    const char *type = json_string_value (json_object_get (m, "Type"));
    const char *src = json_string_value (json_object_get (m, "Source"));
    /* named volumes live in the engine's data root; a local volume with
     * a host device was checked when it was created */
    if (type == NULL || strcmp (type, "bind") != 0)
      continue;
    if (src == NULL || check_bind (cfg, pol, src, image, true, v) < 0)
      {
        if (src == NULL)
          refuse (v, 502, "eci.volumes-from",
                  "moat: bad inspect answer for container \"%s\"", name);
        json_decref (root);
        return -1;
      }
  }
  *id = strdup (json_string_value (json_object_get (root, "Id")));
  json_decref (root);
  return *id ? 0 : oom (v);
}

/* HostConfig.VolumesFrom ["name[:ro|:rw]", ...]: every source container's
 * binds are checked for the new container, and each entry is rewritten
 * to the source's full id, so that the engine shares exactly the mounts
 * that were checked (a container removed and re-created under the same
 * name in between would otherwise be taken). */
static int
check_volumes_from (const struct eci_config *cfg, const struct policy *pol,
                    json_t *hc, const char *image, struct eci_verdict *v)
{
  json_t *x, *e;
  size_t i;

  if (obj_get (hc, "VolumesFrom", &x, v) < 0)
    return -1;
  if (x == NULL || json_is_null (x))
    return 0;
  if (!json_is_array (x))
    return refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid VolumesFrom");
  json_array_foreach (x, i, e)
  {
    const char *s = json_string_value (e);
    size_t n;
    cleanup_free char *name = NULL;
    cleanup_free char *id = NULL;
    cleanup_free char *ne = NULL;
    if (s == NULL)
      return refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid VolumesFrom");
    n = strcspn (s, ":");
    if (!container_ref_p (s, n))
      return refuse (v, 400, "eci.volumes-from",
                     REFUSAL_PREFIX "invalid VolumesFrom entry \"%s\"", s);
    /* no way to check the source: refuse rather than share it unseen */
    if (cfg->inspect_container == NULL)
      return refuse (v, 403, "eci.volumes-from",
                     REFUSAL_PREFIX
                     "volumes-from cannot be checked here and is "
                     "blocked");
    name = strndup (s, n);
    if (name == NULL)
      return oom (v);
    if (check_inherited (cfg, pol, name, image, &id, v) < 0)
      return -1;
    if (asprintf (&ne, "%s%s", id, s + n) < 0)
      {
        ne = NULL;
        return oom (v);
      }
    if (json_array_set_new (x, i, json_string (ne)) < 0)
      return oom (v);
  }
  return 0;
}

/* HostConfig namespace modes: "host" shares the host's namespace. */
static const struct
{
  const char *field;
  const char *ns;
} ns_fields[] = {
  { "PidMode", "pid" },     { "NetworkMode", "network" },
  { "IpcMode", "ipc" },     { "UTSMode", "uts" },
  { "UsernsMode", "user" }, { "CgroupnsMode", "cgroup" },
};

static int
ns_refuse (struct eci_verdict *v, const char *ns)
{
  return refuse (v, 403, "eci.namespace",
                 REFUSAL_PREFIX
                 "containers can't share the %s namespace with the "
                 "host",
                 ns);
}

/* Host devices moat-runc keeps in a container (docs/moat-runc.md): the
 * only ones --device may name. */
static const char *const safe_devices[] = {
  "/dev/null", "/dev/zero", "/dev/full",    "/dev/random", "/dev/urandom",
  "/dev/tty",  "/dev/fuse", "/dev/net/tun", NULL,
};

/* The field is absent, null or an empty array. */
static int
empty_array (json_t *hc, const char *field, bool *empty, struct eci_verdict *v)
{
  json_t *x;
  if (obj_get (hc, field, &x, v) < 0)
    return -1;
  if (x != NULL && !json_is_null (x) && !json_is_array (x))
    return refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid HostConfig.%s",
                   field);
  *empty = x == NULL || json_array_size (x) == 0;
  return 0;
}

/* HostConfig fields that reach host devices, host cgroups, the engine's
 * masks or a plugin: Devices (only the safe list), DeviceCgroupRules and
 * DeviceRequests (none), CgroupParent (none), SecurityOpt
 * systempaths=unconfined, MaskedPaths / ReadonlyPaths (engine defaults
 * only), VolumeDriver and LogConfig.Type (built in or allowed). */
static int
check_host_access (const struct policy *pol, json_t *hc, struct eci_verdict *v)
{
  json_t *x, *e;
  size_t i;
  bool empty;

  if (obj_get (hc, "Devices", &x, v) < 0)
    return -1;
  if (x != NULL && !json_is_null (x) && !json_is_array (x))
    return refuse (v, 400, "eci.json",
                   REFUSAL_PREFIX "invalid HostConfig.Devices");
  json_array_foreach (x, i, e)
  {
    json_t *ph;
    if (!json_is_object (e))
      return refuse (v, 400, "eci.json",
                     REFUSAL_PREFIX "invalid HostConfig.Devices");
    if (obj_get (e, "PathOnHost", &ph, v) < 0)
      return -1;
    const char *p = str_or_empty (ph);
    /* Exactly as written: the engine follows symlinks and walks
     * directories later, and a link a user owns could be swapped for
     * /dev/sda in between; /dev itself is root's. */
    if (!in_list (p, safe_devices))
      return refuse (v, 403, "eci.device",
                     REFUSAL_PREFIX
                     "host device \"%s\" can't be given to a "
                     "container; only /dev/fuse, /dev/net/tun and "
                     "the standard character devices (null, zero, "
                     "full, random, urandom, tty) can",
                     p);
  }
  if (empty_array (hc, "DeviceCgroupRules", &empty, v) < 0)
    return -1;
  if (!empty)
    return refuse (v, 403, "eci.device",
                   REFUSAL_PREFIX
                   "device cgroup rules can't be set; they would "
                   "give access to host devices");
  if (empty_array (hc, "DeviceRequests", &empty, v) < 0)
    return -1;
  if (!empty)
    return refuse (v, 403, "eci.device",
                   REFUSAL_PREFIX
                   "device requests (--gpus) can't be set; they "
                   "give access to host devices");

  /* a container placed in any host cgroup leaves the engine's limits and
   * device rules */
  if (obj_get (hc, "CgroupParent", &x, v) < 0)
    return -1;
  if (x != NULL && !json_is_null (x)
      && (!json_is_string (x) || json_string_length (x) > 0))
    return refuse (v, 403, "eci.cgroup",
                   REFUSAL_PREFIX
                   "a cgroup parent can't be set; containers stay "
                   "in the engine's cgroup");

  if (obj_get (hc, "SecurityOpt", &x, v) < 0)
    return -1;
  if (x != NULL && !json_is_null (x) && !json_is_array (x))
    return refuse (v, 400, "eci.json",
                   REFUSAL_PREFIX "invalid HostConfig.SecurityOpt");
  json_array_foreach (x, i, e)
  {
    if (!json_is_string (e))
      return refuse (v, 400, "eci.json",
                     REFUSAL_PREFIX "invalid HostConfig.SecurityOpt");
    const char *so = json_string_value (e);
    /* the engine splits on '=', or on ':' when there is none */
    size_t kl = strchr (so, '=') ? strcspn (so, "=") : strcspn (so, ":");
    if (kl == strlen ("systempaths") && strncmp (so, "systempaths", kl) == 0)
      return refuse (v, 403, "eci.masks",
                     REFUSAL_PREFIX "security option \"%s\" denied; /proc and "
                                    "/sys stay masked",
                     so);
  }
  /* no value means the engine's defaults; any value replaces them */
  for (int f = 0; f < 2; f++)
    {
      const char *field = f == 0 ? "MaskedPaths" : "ReadonlyPaths";
      if (obj_get (hc, field, &x, v) < 0)
        return -1;
      if (x != NULL && !json_is_null (x))
        return refuse (v, 403, "eci.masks",
                       REFUSAL_PREFIX
                       "HostConfig.%s can't be set (--security-opt "
                       "systempaths=unconfined); /proc and /sys "
                       "stay masked",
                       field);
    }

  if (obj_get (hc, "OomScoreAdj", &x, v) < 0)
    return -1;
  if (x != NULL && !json_is_null (x) && !json_is_integer (x))
    return refuse (v, 400, "eci.json",
                   REFUSAL_PREFIX "invalid HostConfig.OomScoreAdj");
  if (json_is_integer (x) && json_integer_value (x) < 0)
    return refuse (v, 403, "eci.oom",
                   REFUSAL_PREFIX
                   "a negative OOM score adjustment can't be set; "
                   "the kernel would kill host processes first");

  if (obj_get (hc, "VolumeDriver", &x, v) < 0
      || check_driver (pol, DRV_VOLUME, x, v) < 0)
    return -1;
  if (obj_get (hc, "LogConfig", &x, v) < 0)
    return -1;
  if (x != NULL && !json_is_null (x))
    {
      if (!json_is_object (x))
        return refuse (v, 400, "eci.json",
                       REFUSAL_PREFIX "invalid HostConfig.LogConfig");
      if (obj_get (x, "Type", &e, v) < 0
          || check_driver (pol, DRV_LOG, e, v) < 0)
        return -1;
    }
  return 0;
}

static int
check_host_config (const struct eci_config *cfg, const struct policy *pol,
                   json_t *hc, const char *image, struct eci_verdict *v)
{
  json_t *x;

  for (size_t i = 0; i < sizeof ns_fields / sizeof ns_fields[0]; i++)
    {
      if (obj_get (hc, ns_fields[i].field, &x, v) < 0)
        return -1;
      if (x == NULL || json_is_null (x))
        continue;
      if (!json_is_string (x))
        return refuse (v, 400, "eci.json",
                       REFUSAL_PREFIX "invalid HostConfig.%s",
                       ns_fields[i].field);
      if (strcasecmp (json_string_value (x), "host") == 0)
        return ns_refuse (v, ns_fields[i].ns);
    }

  if (obj_get (hc, "Binds", &x, v) < 0)
    return -1;
  if (x && !json_is_null (x))
    {
      size_t i;
      json_t *b;
      if (!json_is_array (x))
        return refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid Binds");
      json_array_foreach (x, i, b)
      {
        if (!json_is_string (b))
          return refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid Binds");
        const char *s = json_string_value (b);
        const char *colon = strchr (s, ':');
        if (s[0] != '/' || colon == NULL)
          continue; /* named volume, or anonymous volume at that path */
        cleanup_free char *src = strndup (s, (size_t)(colon - s));
        cleanup_free char *nb = NULL;
        int r;
        if (src == NULL)
          return oom (v);
        r = eci_check_bind (cfg, pol, src, image, v);
        if (r < 0)
          return -1;
        /* the engine mounts the container's filtered socket instead */
        if (r > 0
            && (asprintf (&nb, "%s%s", v->socket, colon) < 0
                || json_array_set_new (x, i, json_string (nb)) < 0))
          return oom (v);
      }
    }

  if (obj_get (hc, "Mounts", &x, v) < 0)
    return -1;
  if (x && !json_is_null (x))
    {
      size_t i;
      json_t *m;
      if (!json_is_array (x))
        return refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid Mounts");
      json_array_foreach (x, i, m)
      {
        json_t *type, *src, *vo, *dc, *opts;
        if (!json_is_object (m))
          return refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid Mounts");
        if (obj_get (m, "Type", &type, v) < 0
            || obj_get (m, "Source", &src, v) < 0
            || obj_get (m, "VolumeOptions", &vo, v) < 0)
          return -1;
        const char *t = str_or_empty (type);
        /* the engine matches types exactly; any spelling is checked */
        if (strcasecmp (t, "bind") == 0)
          {
            int r = eci_check_bind (cfg, pol, str_or_empty (src), image, v);
            if (r < 0)
              return -1;
            if (r > 0
                && obj_set_canonical (m, "Source", json_string (v->socket))
                       < 0)
              return oom (v);
          }
        else if (strcasecmp (t, "volume") == 0 && vo && json_is_object (vo))
          {
            json_t *name;
            if (obj_get (vo, "DriverConfig", &dc, v) < 0)
              return -1;
            if (dc && json_is_object (dc))
              {
                if (obj_get (dc, "Name", &name, v) < 0
                    || obj_get (dc, "Options", &opts, v) < 0
                    || check_driver (pol, DRV_VOLUME, name, v) < 0)
                  return -1;
                const char *dn = str_or_empty (name);
                if ((dn[0] == '\0' || strcmp (dn, "local") == 0)
                    && check_driver_opts (cfg, pol, opts, image, v) < 0)
                  return -1;
              }
          }
      }
    }
  if (check_host_access (pol, hc, v) < 0)
    return -1;
  return check_volumes_from (cfg, pol, hc, image, v);
}

/* Fields of HostConfig that old API versions also read from the top level
 * of the create body. */
static const char *const toplevel_hostconfig[] = {
  "Binds",       "Mounts",     "NetworkMode",  "PidMode",     "IpcMode",
  "UTSMode",     "UsernsMode", "CgroupnsMode", "Runtime",     "Privileged",
  "VolumesFrom", "Devices",    "CapAdd",       "SecurityOpt", "CgroupParent",
};

static int
parse_object (const char *body, size_t len, json_t **out,
              struct eci_verdict *v)
{
  json_error_t jerr;
  if (len > ECI_MAX_JSON_BODY)
    return refuse (v, 413, "eci.json",
                   "moat: request body larger than %d bytes",
                   ECI_MAX_JSON_BODY);
  *out = json_loadb (body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (*out == NULL)
    return refuse (v, 400, "eci.json", "moat: invalid JSON body: %s",
                   jerr.text);
  if (!json_is_object (*out))
    {
      json_decref (*out);
      *out = NULL;
      return refuse (v, 400, "eci.json", "moat: JSON body is not an object");
    }
  return 0;
}

static int
dump (json_t *root, char **out, size_t *out_len, struct eci_verdict *v)
{
  *out = json_dumps (root, JSON_COMPACT);
  if (*out == NULL)
    return oom (v);
  *out_len = strlen (*out);
  return 0;
}

/* ECI drops CAP_NET_RAW unless the create asks for it (CapAdd NET_RAW or
 * ALL, or Privileged): with it, a container forges packets with another
 * container's source address on its own network, which the reverse-path
 * check on the bridge cannot tell apart (docs/engine-eci-checks.md).
 * ping keeps working through ICMP sockets (net.ipv4.ping_group_range,
 * which moat-runc sets to the container's gids). */
static int
drop_net_raw (json_t *hc, struct eci_verdict *v)
{
  json_t *priv, *add, *drop, *e;
  size_t i;

  if (obj_get (hc, "Privileged", &priv, v) < 0
      || obj_get (hc, "CapAdd", &add, v) < 0
      || obj_get (hc, "CapDrop", &drop, v) < 0)
    return -1;
  if (json_is_true (priv))
    return 0;
  json_array_foreach (add, i, e)
  {
    const char *c = json_string_value (e);
    if (c == NULL)
      continue;
    if (strncasecmp (c, "CAP_", 4) == 0)
      c += 4;
    if (strcasecmp (c, "NET_RAW") == 0 || strcasecmp (c, "ALL") == 0)
      return 0;
  }
  if (drop == NULL || json_is_null (drop))
    {
      drop = json_array ();
      if (drop == NULL || obj_set_canonical (hc, "CapDrop", drop) < 0)
        return oom (v);
    }
  else if (!json_is_array (drop))
    return refuse (v, 400, "eci.json",
                   REFUSAL_PREFIX "invalid HostConfig.CapDrop");
  if (json_array_append_new (drop, json_string ("NET_RAW")) < 0)
    return oom (v);
  return 0;
}

int
eci_check_container_create (const struct eci_config *cfg,
                            const struct policy *pol, const char *body,
                            size_t len, char **out, size_t *out_len,
                            struct eci_verdict *v)
{
  json_t *root = NULL, *hc, *img, *rt, *nc;
  int ret = -1;

  *out = NULL;
  if (parse_object (body, len, &root, v) < 0)
    return -1;
  if (obj_get (root, "Image", &img, v) < 0)
    goto done;
  if (img && json_is_string (img))
    v->image = strdup (json_string_value (img));

  for (size_t i = 0;
       i < sizeof toplevel_hostconfig / sizeof *toplevel_hostconfig; i++)
    {
      json_t *x;
      if (obj_get (root, toplevel_hostconfig[i], &x, v) < 0)
        goto done;
      if (x != NULL)
        {
          refuse (v, 400, "eci.json",
                  REFUSAL_PREFIX "deprecated top-level field \"%s\" is not "
                                 "accepted; put it in HostConfig",
                  toplevel_hostconfig[i]);
          goto done;
        }
    }

  if (obj_get (root, "HostConfig", &hc, v) < 0)
    goto done;
  if (hc == NULL || json_is_null (hc))
    {
      hc = json_object ();
      if (hc == NULL || obj_set_canonical (root, "HostConfig", hc) < 0)
        {
          oom (v);
          goto done;
        }
    }
  else if (!json_is_object (hc))
    {
      refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid HostConfig");
      goto done;
    }
  else
    {
      /* one canonical spelling, so the engine reads the object we check */
      json_incref (hc);
      if (obj_set_canonical (root, "HostConfig", hc) < 0)
        {
          oom (v);
          goto done;
        }
    }

  if (check_host_config (cfg, pol, hc, v->image, v) < 0)
    goto done;

  /* NetworkingConfig.EndpointsConfig {"host": ...} joins the host
   * network as surely as NetworkMode "host". */
  if (obj_get (root, "NetworkingConfig", &nc, v) < 0)
    goto done;
  if (nc && json_is_object (nc))
    {
      json_t *ec;
      const char *k;
      json_t *val;
      if (obj_get (nc, "EndpointsConfig", &ec, v) < 0)
        goto done;
      if (ec && json_is_object (ec))
        json_object_foreach (ec, k, val)
        {
          if (strcasecmp (k, "host") == 0)
            {
              ns_refuse (v, "network");
              goto done;
            }
        }
    }

  /* A replaced socket bind: label the container with its filtered socket
   * so that the socket goes away with it. */
  {
    json_t *labels;
    if (obj_get (root, "Labels", &labels, v) < 0)
      goto done;
    /* only moat sets them: a forged one could keep a socket alive */
    if (labels != NULL && json_is_object (labels))
      {
        json_object_del (labels, ECI_SOCKET_LABEL);
        json_object_del (labels, ECI_IMAGE_LABEL);
      }
    if (v->socket != NULL || v->image_id != NULL)
      {
        if (labels == NULL || !json_is_object (labels))
          {
            labels = json_object ();
            if (labels == NULL
                || obj_set_canonical (root, "Labels", labels) < 0)
              {
                oom (v);
                goto done;
              }
          }
        if ((v->socket != NULL
             && json_object_set_new (labels, ECI_SOCKET_LABEL,
                                     json_string (v->socket))
                    < 0)
            || (v->image_id != NULL
                && json_object_set_new (labels, ECI_IMAGE_LABEL,
                                        json_string (v->image ? v->image : ""))
                       < 0))
          {
            oom (v);
            goto done;
          }
      }
  }

  /* The socket mount was allowed for the content that was checked: the
   * engine must create exactly that, not what the name resolves to when
   * it gets the request (`docker tag evil docker:cli` in between). */
  if (v->image_id != NULL)
    {
      if (asprintf (&v->pin, "Image \"%s\" -> \"%s\"",
                    v->image ? v->image : "", v->image_id)
          < 0)
        {
          v->pin = NULL;
          oom (v);
          goto done;
        }
      if (obj_set_canonical (root, "Image", json_string (v->image_id)) < 0)
        {
          oom (v);
          goto done;
        }
    }

  if (obj_get (hc, "Runtime", &rt, v) < 0)
    goto done;
  if (rt == NULL || !json_is_string (rt)
      || strcmp (json_string_value (rt), ECI_RUNTIME) != 0)
    {
      if (asprintf (&v->rewrite, "HostConfig.Runtime \"%s\" -> \"%s\"",
                    str_or_empty (rt), ECI_RUNTIME)
          < 0)
        {
          v->rewrite = NULL;
          oom (v);
          goto done;
        }
    }
  if (obj_set_canonical (hc, "Runtime", json_string (ECI_RUNTIME)) < 0)
    {
      oom (v);
      goto done;
    }
  if (drop_net_raw (hc, v) < 0)
    goto done;
  ret = dump (root, out, out_len, v);
done:
  json_decref (root);
  return ret;
}

int
eci_check_volume_create (const struct eci_config *cfg,
                         const struct policy *pol, const char *body,
                         size_t len, char **out, size_t *out_len,
                         struct eci_verdict *v)
{
  json_t *root = NULL, *drv, *opts;
  int ret = -1;
  *out = NULL;
  if (parse_object (body, len, &root, v) < 0)
    return -1;
  if (obj_get (root, "Driver", &drv, v) < 0
      || obj_get (root, "DriverOpts", &opts, v) < 0)
    goto done;
  if (check_driver (pol, DRV_VOLUME, drv, v) < 0)
    goto done;
  const char *dn = str_or_empty (drv);
  if ((dn[0] == '\0' || strcmp (dn, "local") == 0)
      && check_driver_opts (cfg, pol, opts, NULL, v) < 0)
    goto done;
  ret = dump (root, out, out_len, v);
done:
  json_decref (root);
  return ret;
}

/* Bridge options that would put the network on a host interface: the
 * engine uses an existing bridge of that name (another engine's, a host
 * LAN bridge), and the net guard intercepts only the engine's own
 * bridges (moat0, br-<id>). */
static const char *const bridge_host_options[] = {
  "com.docker.network.bridge.name",
  "com.docker.network.bridge.default_bridge",
  NULL,
};

/* subnet lies inside one of the container CIDRs, same family. */
static bool
subnet_in_pool (const struct eci_config *cfg, const struct netaddr_cidr *s)
{
  for (size_t i = 0; i < cfg->n_container_cidrs; i++)
    {
      struct netaddr_cidr pool;
      struct netaddr_cidr a = *s;
      cleanup_error moat_error_t err = NULL;
      if (netaddr_parse_cidr (cfg->container_cidrs[i], &pool, &err) < 0)
        continue;
      a.prefix = a.family == 4 ? 32 : 128;
      if (pool.family == s->family && s->prefix >= pool.prefix
          && netaddr_cidr_contains (&pool, &a))
        return true;
    }
  return false;
}

static int
check_subnet (const struct eci_config *cfg, json_t *sub, struct eci_verdict *v)
{
  struct netaddr_cidr c;
  cleanup_error moat_error_t err = NULL;
  cleanup_free char *list = NULL;
  size_t n = 0;
  if (sub == NULL || json_is_null (sub))
    return 0;
  if (!json_is_string (sub)
      || netaddr_parse_cidr (json_string_value (sub), &c, &err) < 0)
    return refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid subnet");
  /* no pool known (an engine moat did not start): the engine's own
   * checks only */
  if (cfg->n_container_cidrs == 0 || subnet_in_pool (cfg, &c))
    return 0;
  for (size_t i = 0; i < cfg->n_container_cidrs; i++)
    n += strlen (cfg->container_cidrs[i]) + 2;
  list = calloc (1, n + 1);
  if (list == NULL)
    return oom (v);
  for (size_t i = 0; i < cfg->n_container_cidrs; i++)
    {
      if (i > 0)
        strcat (list, ", ");
      strcat (list, cfg->container_cidrs[i]);
    }
  return refuse (v, 403, "eci.network",
                 REFUSAL_PREFIX "subnet \"%s\" denied; user networks must lie "
                                "inside moat's address pool (%s)",
                 json_string_value (sub), list);
}

int
eci_check_network_create (const struct eci_config *cfg,
                          const struct policy *pol, const char *body,
                          size_t len, char **out, size_t *out_len,
                          struct eci_verdict *v)
{
  json_t *root = NULL, *x, *ipam, *e;
  size_t i;
  int ret = -1;

  *out = NULL;
  if (parse_object (body, len, &root, v) < 0)
    return -1;
  if (obj_get (root, "Driver", &x, v) < 0
      || check_driver (pol, DRV_NETWORK, x, v) < 0)
    goto done;
  if (obj_get (root, "Options", &x, v) < 0)
    goto done;
  if (x != NULL && !json_is_null (x))
    {
      const char *k;
      if (!json_is_object (x))
        {
          refuse (v, 400, "eci.json",
                  REFUSAL_PREFIX "invalid network options");
          goto done;
        }
      json_object_foreach (x, k, e)
      {
        /* a Go map: keys are read exactly */
        if (in_list (k, bridge_host_options))
          {
            refuse (v, 403, "eci.network",
                    REFUSAL_PREFIX
                    "network option \"%s\" denied; user networks "
                    "get the engine's own bridge",
                    k);
            goto done;
          }
      }
    }
  if (obj_get (root, "IPAM", &ipam, v) < 0)
    goto done;
  if (ipam != NULL && !json_is_null (ipam))
    {
      json_t *conf;
      if (!json_is_object (ipam))
        {
          refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid IPAM");
          goto done;
        }
      if (obj_get (ipam, "Driver", &x, v) < 0
          || check_driver (pol, DRV_IPAM, x, v) < 0
          || obj_get (ipam, "Config", &conf, v) < 0)
        goto done;
      if (conf != NULL && !json_is_null (conf) && !json_is_array (conf))
        {
          refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid IPAM.Config");
          goto done;
        }
      json_array_foreach (conf, i, e)
      {
        json_t *sub;
        if (!json_is_object (e))
          {
            refuse (v, 400, "eci.json", REFUSAL_PREFIX "invalid IPAM.Config");
            goto done;
          }
        if (obj_get (e, "Subnet", &sub, v) < 0
            || check_subnet (cfg, sub, v) < 0)
          goto done;
      }
    }
  ret = dump (root, out, out_len, v);
done:
  json_decref (root);
  return ret;
}

/* A URL the engine would download itself: as host root, from the host's
 * network (cloud metadata, services on the host's loopback), outside the
 * net guard. */
static int
refuse_fetch (struct eci_verdict *v, const char *url)
{
  return refuse (v, 403, "eci.fetch",
                 REFUSAL_PREFIX
                 "the engine would fetch \"%s\" itself, from the "
                 "host and outside the net guard; fetch it "
                 "yourself and send it as the build context",
                 url ? url : "");
}

int
eci_check_image_create (const char *query, struct eci_verdict *v)
{
  cleanup_free char *src = NULL;
  /* "-": the image is the request body; anything else is fetched */
  if (!engine_query_any_other (query, "fromSrc", "-"))
    return 0;
  src = engine_query_get (query, "fromSrc");
  return refuse (v, 403, "eci.fetch",
                 REFUSAL_PREFIX
                 "the engine would fetch \"%s\" itself, from the "
                 "host and outside the net guard; download it and "
                 "import it from stdin: docker import - < file",
                 src ? src : "");
}

int
eci_check_build (const char *query, struct eci_verdict *v)
{
  if (engine_query_any_equal (query, "networkmode", "host"))
    return ns_refuse (v, "network");
  /* BuildKit runs its steps in the engine's own executor, bypassing the
   * OCI runtime, so it would escape every container check. */
  {
    cleanup_free char *remote = engine_query_get (query, "remote");
    if (engine_query_any_set (query, "remote"))
      return refuse_fetch (v, remote);
  }
  /* build steps are containers: the same cgroup rule as a create */
  if (engine_query_any_set (query, "cgroupparent"))
    return refuse (v, 403, "eci.cgroup",
                   REFUSAL_PREFIX
                   "a cgroup parent can't be set; containers stay "
                   "in the engine's cgroup");
  if (engine_query_any_equal (query, "version", "2"))
    return refuse (v, 403, "eci.buildkit",
                   REFUSAL_PREFIX
                   "BuildKit builds bypass the container runtime "
                   "and are blocked; build with the classic "
                   "builder: DOCKER_BUILDKIT=0 docker build ...");
  return 0;
}

/* ---- caller labels ------------------------------------------------------ */

int
eci_set_caller_labels (const char *body, size_t len, uid_t uid, gid_t gid,
                       const struct eci_verdict *v, char **out,
                       size_t *out_len, struct eci_verdict *err)
{
  json_t *root = NULL, *labels;
  const char *k;
  json_t *val;
  void *tmp;
  char num[24];
  int ret = -1;
  size_t pl = strlen (ECI_LABEL_PREFIX);

  *out = NULL;
  if (parse_object (body, len, &root, err) < 0)
    return -1;
  if (obj_get (root, "Labels", &labels, err) < 0)
    goto done;
  if (labels != NULL && !json_is_null (labels) && !json_is_object (labels))
    {
      refuse (err, 400, "eci.json", REFUSAL_PREFIX "invalid Labels");
      goto done;
    }
  if (labels == NULL || json_is_null (labels))
    {
      labels = json_object ();
      if (labels == NULL || obj_set_canonical (root, "Labels", labels) < 0)
        {
          oom (err);
          goto done;
        }
    }
  /* A client must not name its own caller, image or socket.  Label keys
   * are matched exactly by the engine; any case of the prefix goes. */
  json_object_foreach_safe (labels, tmp, k, val)
  {
    bool moats
        = (v != NULL && v->socket != NULL && strcmp (k, ECI_SOCKET_LABEL) == 0)
          || (v != NULL && v->image_id != NULL
              && strcmp (k, ECI_IMAGE_LABEL) == 0);
    /* root (moatd itself) may label its own containers, e.g. an
     * extension's backend, but never name a caller, image or socket */
    bool managed = strcmp (k, ECI_CALLER_UID_LABEL) == 0
                   || strcmp (k, ECI_CALLER_GID_LABEL) == 0
                   || strcmp (k, ECI_SOCKET_LABEL) == 0
                   || strcmp (k, ECI_IMAGE_LABEL) == 0;
    if (strncasecmp (k, ECI_LABEL_PREFIX, pl) == 0 && !moats
        && (uid != 0 || managed || strncmp (k, ECI_LABEL_PREFIX, pl) != 0))
      json_object_del (labels, k);
  }
  snprintf (num, sizeof num, "%lu", (unsigned long)uid);
  if (json_object_set_new (labels, ECI_CALLER_UID_LABEL, json_string (num))
      < 0)
    {
      oom (err);
      goto done;
    }
  snprintf (num, sizeof num, "%lu", (unsigned long)gid);
  if (json_object_set_new (labels, ECI_CALLER_GID_LABEL, json_string (num)) < 0
      || (json_object_get (labels, ECI_SOCKET_LABEL) == NULL
          && json_object_set_new (labels, ECI_SOCKET_LABEL, json_string (""))
                 < 0)
      || (json_object_get (labels, ECI_IMAGE_LABEL) == NULL
          && json_object_set_new (labels, ECI_IMAGE_LABEL, json_string (""))
                 < 0))
    {
      oom (err);
      goto done;
    }
  ret = dump (root, out, out_len, err);
done:
  json_decref (root);
  return ret;
}
