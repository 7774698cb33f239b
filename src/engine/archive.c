/* docker cp checks: which containers' archive endpoints a non-root
 * caller may use. */
#include "archive.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strutil.h"
#include "common/cleanup.h"
#include "common/refusal.h"

__attribute__ ((format (printf, 3, 4))) static int
refuse (struct eci_verdict *v, int status, const char *fmt, ...)
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
  v->rule = "eci.archive";
  return -1;
}

/* A container or volume name the engine accepts
 * ([a-zA-Z0-9][a-zA-Z0-9_.-]*, a container's with an optional leading
 * '/'): nothing that could change the URL it is put in. */
/* refuse with another rule than eci.archive */
#define refuse_rule(v, status, rl, ...)                                       \
  (refuse ((v), (status), __VA_ARGS__), (v)->rule = (rl), -1)

static bool
name_p (const char *s, bool slash)
{
  size_t n;
  if (slash && s[0] == '/')
    s++;
  n = strlen (s);
  return engine_name_p (s, n, 256);
}

static int
blocked (struct eci_verdict *v, const char *name, const char *what)
{
  return refuse (v, 403, REFUSAL_ARCHIVE_BLOCKED, name, what);
}

/* Does local volume `vol` have a device (a host path or a remote file
 * system mounted as root)?  1 yes, 0 no, -1 cannot tell. */
static int
volume_has_device (engine_get_fn get, void *ctx, const char *vol)
{
  cleanup_free char *path = NULL;
  cleanup_free char *body = NULL;
  size_t len = 0;
  json_t *root, *opts;
  int r;
  if (!name_p (vol, false) || asprintf (&path, "/volumes/%s", vol) < 0)
    return -1;
  if (get (ctx, path, &body, &len) != 0)
    return -1;
  root = json_loadb (body, len, 0, NULL);
  if (!json_is_object (root))
    {
      json_decref (root);
      return -1;
    }
  opts = json_object_get (root, "Options");
  r = 0;
  if (opts != NULL && !json_is_null (opts))
    {
      const char *k = NULL;
      json_t *val = NULL;
      if (!json_is_object (opts))
        r = -1;
      else
        json_object_foreach (opts, k, val)
        {
          /* the local driver reads "device" exactly; any spelling
           * counts, in case another reads it folded */
          if (strcasecmp (k, "device") == 0)
            r = 1;
        }
    }
  json_decref (root);
  return r;
}

int
engine_owner_check (engine_get_fn get, void *ctx, const char *name,
                    unsigned caller_uid, char **id, struct eci_verdict *v)
{
  cleanup_free char *path = NULL;
  cleanup_free char *body = NULL;
  char want[16];
  size_t len = 0;
  const char *owner;
  json_t *root;
  int r;

  *id = NULL;
  if (!name_p (name, true))
    return refuse_rule (v, 404, "eci.owner", REFUSAL_NO_SUCH_CONTAINER, name);
  if (get == NULL)
    return refuse_rule (v, 403, "eci.owner", REFUSAL_OWNER_UNCHECKED);
  if (asprintf (&path, "/containers/%s/json", name) < 0)
    {
      path = NULL;
      return refuse_rule (v, 500, "eci.owner", REFUSAL_ERR_OOM);
    }
  r = get (ctx, path, &body, &len);
  if (r > 0)
    return refuse_rule (v, 404, "eci.owner", REFUSAL_NO_SUCH_CONTAINER, name);
  if (r < 0)
    return refuse_rule (v, 502, "eci.owner", REFUSAL_ERR_INSPECT_OWNER, name);
  root = json_loadb (body, len, 0, NULL);
  if (!json_is_object (root)
      || !full_id_p (json_string_value (json_object_get (root, "Id"))))
    {
      json_decref (root);
      return refuse_rule (v, 502, "eci.owner", REFUSAL_ERR_INSPECT_ANSWER,
                          name);
    }
  owner = json_string_value (json_object_get (
      json_object_get (json_object_get (root, "Config"), "Labels"),
      ECI_CALLER_UID_LABEL));
  snprintf (want, sizeof want, "%u", caller_uid);
  if (owner == NULL || strcmp (owner, want) != 0)
    {
      json_decref (root);
      return refuse_rule (v, 403, "eci.owner", REFUSAL_OWNER_OTHER, name);
    }
  *id = strdup (json_string_value (json_object_get (root, "Id")));
  json_decref (root);
  if (*id == NULL)
    return refuse_rule (v, 500, "eci.owner", REFUSAL_ERR_OOM);
  return 0;
}

int
engine_exec_owner_check (engine_get_fn get, void *ctx, const char *exec_id,
                         unsigned caller_uid, char **id, struct eci_verdict *v)
{
  cleanup_free char *path = NULL;
  cleanup_free char *body = NULL;
  cleanup_free char *cid = NULL;
  size_t len = 0;
  const char *eid, *ct;
  json_t *root;
  int r;

  *id = NULL;
  if (!name_p (exec_id, false))
    return refuse_rule (v, 404, "eci.owner", REFUSAL_NO_SUCH_EXEC, exec_id);
  if (get == NULL)
    return refuse_rule (v, 403, "eci.owner", REFUSAL_OWNER_UNCHECKED);
  if (asprintf (&path, "/exec/%s/json", exec_id) < 0)
    {
      path = NULL;
      return refuse_rule (v, 500, "eci.owner", REFUSAL_ERR_OOM);
    }
  r = get (ctx, path, &body, &len);
  if (r > 0)
    return refuse_rule (v, 404, "eci.owner", REFUSAL_NO_SUCH_EXEC, exec_id);
  if (r < 0)
    return refuse_rule (v, 502, "eci.owner", REFUSAL_ERR_INSPECT_EXEC,
                        exec_id);
  root = json_loadb (body, len, 0, NULL);
  eid = json_string_value (json_object_get (root, "ID"));
  ct = json_string_value (json_object_get (root, "ContainerID"));
  if (!full_id_p (eid) || !full_id_p (ct))
    {
      json_decref (root);
      return refuse_rule (v, 502, "eci.owner", REFUSAL_ERR_INSPECT_EXEC,
                          exec_id);
    }
  /* the container by its full id: the owner rule, as for exec itself */
  if (engine_owner_check (get, ctx, ct, caller_uid, &cid, v) < 0)
    {
      json_decref (root);
      return -1;
    }
  *id = strdup (eid);
  json_decref (root);
  if (*id == NULL)
    return refuse_rule (v, 500, "eci.owner", REFUSAL_ERR_OOM);
  return 0;
}

static int archive_check (engine_get_fn get, void *ctx, const char *name,
                          const char *standin, char **id,
                          struct eci_verdict *v);

int
engine_archive_check (engine_get_fn get, void *ctx, const char *name,
                      char **id, struct eci_verdict *v)
{
  return archive_check (get, ctx, name, NULL, id, v);
}

int
engine_archive_check_root (engine_get_fn get, void *ctx, const char *name,
                           const char *standin, char **id,
                           struct eci_verdict *v)
{
  /* "" never equals a mount's source: every container passes */
  return archive_check (get, ctx, name, standin ? standin : "", id, v);
}

/* standin NULL: a non-root caller's check; else root's (only binds whose
 * source is standin are refused). */
static int
archive_check (engine_get_fn get, void *ctx, const char *name,
               const char *standin, char **id, struct eci_verdict *v)
{
  cleanup_free char *path = NULL;
  cleanup_free char *body = NULL;
  size_t len = 0, i;
  json_t *root, *m;
  int r;

  *id = NULL;
  if (!name_p (name, true))
    return refuse (v, 404, REFUSAL_NO_SUCH_CONTAINER, name);
  if (get == NULL)
    return refuse (v, 403, REFUSAL_ARCHIVE_UNCHECKED);
  if (asprintf (&path, "/containers/%s/json", name) < 0)
    {
      path = NULL;
      return refuse (v, 500, REFUSAL_ERR_OOM);
    }
  r = get (ctx, path, &body, &len);
  if (r > 0)
    return refuse (v, 404, REFUSAL_NO_SUCH_CONTAINER, name);
  if (r < 0)
    return refuse (v, 502, REFUSAL_ERR_INSPECT_ARCHIVE, name);
  root = json_loadb (body, len, 0, NULL);
  if (!json_is_object (root)
      || !full_id_p (json_string_value (json_object_get (root, "Id")))
      || !json_is_array (json_object_get (root, "Mounts")))
    {
      json_decref (root);
      return refuse (v, 502, REFUSAL_ERR_INSPECT_ANSWER, name);
    }
  json_array_foreach (json_object_get (root, "Mounts"), i, m)
  {
    const char *type = json_string_value (json_object_get (m, "Type"));
    const char *src = json_string_value (json_object_get (m, "Source"));
    const char *drv = json_string_value (json_object_get (m, "Driver"));
    const char *vol = json_string_value (json_object_get (m, "Name"));
    cleanup_free char *what = NULL;
    if (standin != NULL)
      {
        const char *dst
            = json_string_value (json_object_get (m, "Destination"));
        if (type == NULL || strcmp (type, "bind") != 0 || src == NULL
            || strcmp (src, standin) != 0)
          continue;
        r = refuse (v, 403, REFUSAL_ARCHIVE_STANDIN, name, dst ? dst : "");
        json_decref (root);
        return r;
      }
    if (type != NULL
        && (strcmp (type, "tmpfs") == 0 || strcmp (type, "image") == 0))
      continue;
    if (type != NULL && strcmp (type, "volume") == 0 && vol != NULL
        && (drv == NULL || drv[0] == '\0' || strcmp (drv, "local") == 0))
      {
        int d = volume_has_device (get, ctx, vol);
        if (d == 0)
          continue;
        if (asprintf (&what, REFUSAL_ARCHIVE_WHAT_VOLUME, vol) < 0)
          what = NULL;
      }
    else if (type != NULL && strcmp (type, "bind") == 0)
      {
        /* a stand-in: name the path the caller wrote (eci.h) */
        const char *dst
            = json_string_value (json_object_get (m, "Destination"));
        const char *lab = json_string_value (json_object_get (
            json_object_get (json_object_get (root, "Config"), "Labels"),
            ECI_BINDS_LABEL));
        json_t *binds = lab ? json_loads (lab, 0, NULL) : NULL;
        const char *orig = json_string_value (
            json_object_get (json_object_get (binds, dst ? dst : ""), "src"));
        if (asprintf (&what, REFUSAL_ARCHIVE_WHAT_BIND,
                      orig  ? orig
                      : src ? src
                            : "")
            < 0)
          what = NULL;
        json_decref (binds);
      }
    else if (asprintf (&what, REFUSAL_ARCHIVE_WHAT_MOUNT,
                       type ? type : "unknown", vol ? " \"" : "",
                       vol ? vol : "", vol ? "\"" : "")
             < 0)
      what = NULL;
    r = blocked (v, name, what ? what : REFUSAL_ARCHIVE_WHAT_UNKNOWN);
    json_decref (root);
    return r;
  }
  *id = strdup (json_string_value (json_object_get (root, "Id")));
  json_decref (root);
  if (*id == NULL)
    return refuse (v, 500, REFUSAL_ERR_OOM);
  return 0;
}
