/* ECI: bind sources (host path resolution, protected paths, engine
 * sockets, shared directories) and the binds VolumesFrom inherits. */
#include "eci_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "common/strutil.h"

/* ---- host path resolution ---------------------------------------------- */

/* Lexically clean an absolute path (like Go's filepath.Clean). */
char *
eci_lexical_clean (const char *path)
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
  return eci_lexical_clean (cur);
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
    return eci_refuse (v, 400, "eci.bind", REFUSAL_ECI_BIND, src);
  /* The engine may clean the path lexically before the kernel follows
   * symlinks, or not: both readings must pass. */
  resolved = eci_resolve_host_path (src);
  cleaned = eci_lexical_clean (src);
  resolved_clean = cleaned ? eci_resolve_host_path (cleaned) : NULL;
  if (resolved == NULL || resolved_clean == NULL)
    return eci_refuse (v, 403, "eci.bind", REFUSAL_ECI_BIND, src);
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
                return eci_refuse (v, 500, "eci.socket-mount",
                                   REFUSAL_ECI_SOCKET_HOOK);
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
          return eci_refuse (v, 403, "eci.socket-mount", "%s", msg);
        return eci_refuse (v, 403, "eci.socket-mount",
                           REFUSAL_ECI_SOCKET_MOUNT, image ? image : "");
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
    return eci_refuse (v, 403, "eci.bind", REFUSAL_ECI_BIND, src);
  return 0;
}

int
eci_check_bind (const struct eci_config *cfg, const struct policy *pol,
                const char *src, const char *image, struct eci_verdict *v)
{
  return check_bind (cfg, pol, src, image, false, v);
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
    return eci_refuse (v, 404, "eci.volumes-from", REFUSAL_NO_SUCH_CONTAINER,
                       name);
  if (r < 0)
    return eci_refuse (v, 502, "eci.volumes-from",
                       REFUSAL_ERR_INSPECT_VOLUMES_FROM, name);
  root = json_loadb (body, len, 0, NULL);
  if (root == NULL || !json_is_object (root)
      || !full_id_p (json_string_value (json_object_get (root, "Id"))))
    {
      json_decref (root);
      return eci_refuse (v, 502, "eci.volumes-from",
                         REFUSAL_ERR_INSPECT_ANSWER, name);
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
    /* a non-root caller's bind: only its recorded source, opened as that
     * caller, is what the engine's stand-in stands for */
    if (src != NULL && cfg->bind_standin != NULL
        && strcmp (src, cfg->bind_standin) == 0)
      {
        json_decref (root);
        return eci_refuse (v, 403, "eci.volumes-from",
                           REFUSAL_ECI_VOLUMES_FROM_PINNED, name);
      }
    if (src == NULL || check_bind (cfg, pol, src, image, true, v) < 0)
      {
        if (src == NULL)
          eci_refuse (v, 502, "eci.volumes-from", REFUSAL_ERR_INSPECT_ANSWER,
                      name);
        json_decref (root);
        return -1;
      }
  }
  *id = strdup (json_string_value (json_object_get (root, "Id")));
  json_decref (root);
  return *id ? 0 : eci_oom (v);
}

/* HostConfig.VolumesFrom ["name[:ro|:rw]", ...]: every source container's
 * binds are checked for the new container, and each entry is rewritten
 * to the source's full id, so that the engine shares exactly the mounts
 * that were checked (a container removed and re-created under the same
 * name in between would otherwise be taken). */
int
eci_check_volumes_from (const struct eci_config *cfg, const struct policy *pol,
                        json_t *hc, const char *image, struct eci_verdict *v)
{
  json_t *x, *e;
  size_t i;

  if (eci_obj_get (hc, "VolumesFrom", &x, v) < 0)
    return -1;
  if (x == NULL || json_is_null (x))
    return 0;
  if (!json_is_array (x))
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "VolumesFrom");
  json_array_foreach (x, i, e)
  {
    const char *s = json_string_value (e);
    size_t n;
    cleanup_free char *name = NULL;
    cleanup_free char *id = NULL;
    cleanup_free char *ne = NULL;
    if (s == NULL)
      return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                         "VolumesFrom");
    n = strcspn (s, ":");
    if (!container_ref_p (s, n))
      return eci_refuse (v, 400, "eci.volumes-from",
                         REFUSAL_ECI_VOLUMES_FROM_ENTRY, s);
    /* no way to check the source: refuse rather than share it unseen */
    if (cfg->inspect_container == NULL)
      return eci_refuse (v, 403, "eci.volumes-from",
                         REFUSAL_ECI_VOLUMES_FROM_UNCHECKED);
    name = strndup (s, n);
    if (name == NULL)
      return eci_oom (v);
    if (check_inherited (cfg, pol, name, image, &id, v) < 0)
      return -1;
    if (asprintf (&ne, "%s%s", id, s + n) < 0)
      {
        ne = NULL;
        return eci_oom (v);
      }
    if (json_array_set_new (x, i, json_string (ne)) < 0)
      return eci_oom (v);
  }
  return 0;
}
