/* Enhanced Container Isolation: the entry points (container create, image
 * create and build queries, caller labels) and the JSON helpers every check
 * file shares.  The checks themselves: eci_bind.c (bind sources, host path
 * resolution, VolumesFrom), eci_volume.c (driver names, local volume
 * options), eci_hostcfg.c (HostConfig), eci_network.c (network create). */
#include "eci_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "engine/route.h"

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

int
eci_refuse (struct eci_verdict *v, int status, const char *rule,
            const char *fmt, ...)
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

int
eci_oom (struct eci_verdict *v)
{
  return eci_refuse (v, 500, "internal", REFUSAL_ERR_OOM);
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
int
eci_obj_get (json_t *obj, const char *field, json_t **out,
             struct eci_verdict *v)
{
  const char *k;
  json_t *val;
  *out = NULL;
  json_object_foreach (obj, k, val)
  {
    if (!eci_json_key_fold_eq (k, field))
      continue;
    if (*out != NULL)
      return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_AMBIGUOUS, field);
    *out = val;
  }
  return 0;
}

/* Set field to val (stolen) after removing every key that folds to it. */
int
eci_obj_set_canonical (json_t *obj, const char *field, json_t *val)
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

const char *
eci_str_or_empty (json_t *j)
{
  return json_is_string (j) ? json_string_value (j) : "";
}

bool
eci_in_list (const char *s, const char *const *list)
{
  for (; *list; list++)
    if (strcmp (s, *list) == 0)
      return true;
  return false;
}

/* Fields of HostConfig that old API versions also read from the top level
 * of the create body.  VolumeDriver is taken from there even when the
 * body has a HostConfig whose own VolumeDriver is empty (as are Memory,
 * MemorySwap, CpuShares and CpusetCpus, which reach nothing). */
static const char *const toplevel_hostconfig[] = {
  "Binds",   "Mounts",      "NetworkMode",  "PidMode",
  "IpcMode", "UTSMode",     "UsernsMode",   "CgroupnsMode",
  "Runtime", "Privileged",  "VolumesFrom",  "Devices",
  "CapAdd",  "SecurityOpt", "CgroupParent", "VolumeDriver",
};

int
eci_parse_object (const char *body, size_t len, json_t **out,
                  struct eci_verdict *v)
{
  json_error_t jerr;
  if (len > ECI_MAX_JSON_BODY)
    return eci_refuse (v, 413, "eci.json", REFUSAL_ERR_BODY_SIZE,
                       ECI_MAX_JSON_BODY);
  *out = json_loadb (body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (*out == NULL)
    return eci_refuse (v, 400, "eci.json", REFUSAL_ERR_JSON, jerr.text);
  if (!json_is_object (*out))
    {
      json_decref (*out);
      *out = NULL;
      return eci_refuse (v, 400, "eci.json", REFUSAL_ERR_JSON_OBJECT);
    }
  return 0;
}

int
eci_dump (json_t *root, char **out, size_t *out_len, struct eci_verdict *v)
{
  *out = json_dumps (root, JSON_COMPACT);
  if (*out == NULL)
    return eci_oom (v);
  *out_len = strlen (*out);
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
  if (eci_parse_object (body, len, &root, v) < 0)
    return -1;
  if (eci_obj_get (root, "Image", &img, v) < 0)
    goto done;
  if (img && json_is_string (img))
    v->image = strdup (json_string_value (img));

  for (size_t i = 0;
       i < sizeof toplevel_hostconfig / sizeof *toplevel_hostconfig; i++)
    {
      json_t *x;
      if (eci_obj_get (root, toplevel_hostconfig[i], &x, v) < 0)
        goto done;
      if (x != NULL)
        {
          eci_refuse (v, 400, "eci.json", REFUSAL_ECI_TOPLEVEL,
                      toplevel_hostconfig[i]);
          goto done;
        }
    }

  if (eci_obj_get (root, "HostConfig", &hc, v) < 0)
    goto done;
  if (hc == NULL || json_is_null (hc))
    {
      hc = json_object ();
      if (hc == NULL || eci_obj_set_canonical (root, "HostConfig", hc) < 0)
        {
          eci_oom (v);
          goto done;
        }
    }
  else if (!json_is_object (hc))
    {
      eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "HostConfig");
      goto done;
    }
  else
    {
      /* one canonical spelling, so the engine reads the object we check */
      json_incref (hc);
      if (eci_obj_set_canonical (root, "HostConfig", hc) < 0)
        {
          eci_oom (v);
          goto done;
        }
    }

  if (eci_check_host_config (cfg, pol, hc, v->image, v) < 0)
    goto done;

  /* NetworkingConfig.EndpointsConfig {"host": ...} joins the host
   * network as surely as NetworkMode "host". */
  if (eci_obj_get (root, "NetworkingConfig", &nc, v) < 0)
    goto done;
  if (nc && json_is_object (nc))
    {
      json_t *ec;
      const char *k;
      json_t *val;
      if (eci_obj_get (nc, "EndpointsConfig", &ec, v) < 0)
        goto done;
      if (ec && json_is_object (ec))
        json_object_foreach (ec, k, val)
        {
          if (strcasecmp (k, "host") == 0)
            {
              eci_ns_refuse (v, "network");
              goto done;
            }
        }
    }

  /* A replaced socket bind: label the container with its filtered socket
   * so that the socket goes away with it. */
  {
    json_t *labels;
    if (eci_obj_get (root, "Labels", &labels, v) < 0)
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
                || eci_obj_set_canonical (root, "Labels", labels) < 0)
              {
                eci_oom (v);
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
            eci_oom (v);
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
          eci_oom (v);
          goto done;
        }
      if (eci_obj_set_canonical (root, "Image", json_string (v->image_id)) < 0)
        {
          eci_oom (v);
          goto done;
        }
    }

  if (eci_obj_get (hc, "Runtime", &rt, v) < 0)
    goto done;
  if (rt == NULL || !json_is_string (rt)
      || strcmp (json_string_value (rt), ECI_RUNTIME) != 0)
    {
      if (asprintf (&v->rewrite, "HostConfig.Runtime \"%s\" -> \"%s\"",
                    eci_str_or_empty (rt), ECI_RUNTIME)
          < 0)
        {
          v->rewrite = NULL;
          eci_oom (v);
          goto done;
        }
    }
  if (eci_obj_set_canonical (hc, "Runtime", json_string (ECI_RUNTIME)) < 0)
    {
      eci_oom (v);
      goto done;
    }
  if (eci_drop_net_raw (hc, v) < 0)
    goto done;
  ret = eci_dump (root, out, out_len, v);
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
  return eci_refuse (v, 403, "eci.fetch", REFUSAL_ECI_FETCH_BUILD,
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
  return eci_refuse (v, 403, "eci.fetch", REFUSAL_ECI_FETCH_IMPORT,
                     src ? src : "");
}

int
eci_check_build (const char *query, struct eci_verdict *v)
{
  if (engine_query_any_equal (query, "networkmode", "host"))
    return eci_ns_refuse (v, "network");
  /* BuildKit runs its steps in the engine's own executor, bypassing the
   * OCI runtime, so it would escape every container check. */
  {
    cleanup_free char *remote = engine_query_get (query, "remote");
    if (engine_query_any_set (query, "remote"))
      return refuse_fetch (v, remote);
  }
  /* build steps are containers: the same cgroup rule as a create */
  if (engine_query_any_set (query, "cgroupparent"))
    return eci_refuse (v, 403, "eci.cgroup", REFUSAL_ECI_CGROUP_PARENT);
  if (engine_query_any_equal (query, "version", "2"))
    return eci_refuse (v, 403, "eci.buildkit", REFUSAL_ECI_BUILDKIT);
  /* a base pulled during the build brings ONBUILD triggers nobody checked
   * (guard_build.c checks those of the images already here) */
  if (engine_query_any_true (query, "pull"))
    return eci_refuse (v, 403, "eci.build", REFUSAL_ECI_BUILD_PULL);
  return 0;
}

static bool
build_network_other_cb (const char *k, const char *val, void *ctx)
{
  static const char *const ok[] = { "", "default", "bridge", "none" };
  const char **out = ctx;
  if (strcmp (k, "networkmode") != 0)
    return false;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (strcmp (val, ok[i]) == 0)
      return false;
  *out = strdup (val);
  return true;
}

int
eci_check_build_network (const char *query, struct eci_verdict *v)
{
  /* The engine creates a build's step containers itself with this
   * network mode: container:<name> joins that container's network
   * namespace (another user's loopback services), a name joins that
   * network; neither meets the create's owner rule. */
  cleanup_free char *mode = NULL;
  if (!engine_query_each (query, build_network_other_cb, &mode))
    return 0;
  if (mode == NULL)
    return eci_oom (v);
  return eci_refuse (v, 403, "eci.namespace", REFUSAL_ECI_BUILD_NETWORK, mode);
}

/* ---- caller labels ------------------------------------------------------ */

/* Record one host bind (src as written, dst as written) in map and return
 * the stand-in; NULL on allocation failure. */
static int
standin_record (json_t *map, const char *src, const char *dst, bool create)
{
  cleanup_free char *d = eci_lexical_clean (dst);
  json_t *e = json_pack ("{s:s, s:b}", "src", src, "create", create);
  if (d == NULL || e == NULL)
    {
      json_decref (e);
      return -1;
    }
  return json_object_set_new (map, d, e);
}

/* ECI_BINDS_LABEL: replace every host bind source of HostConfig.Binds and
 * of HostConfig.Mounts (type bind) by standin, except the filtered socket
 * the guard put there; map gets what was replaced. */
static int
standin_binds (json_t *root, const char *standin, const char *socket,
               json_t *map, struct eci_verdict *err)
{
  json_t *hc, *x, *e;
  size_t i;

  if (eci_obj_get (root, "HostConfig", &hc, err) < 0)
    return -1;
  if (hc == NULL || !json_is_object (hc))
    return 0;
  if (eci_obj_get (hc, "Binds", &x, err) < 0)
    return -1;
  json_array_foreach (x, i, e)
  {
    const char *b = json_string_value (e);
    const char *colon = b != NULL ? strchr (b, ':') : NULL;
    cleanup_free char *src = NULL, *dst = NULL, *nb = NULL;
    if (b == NULL || b[0] != '/' || colon == NULL)
      continue;
    src = strndup (b, (size_t)(colon - b));
    dst = strndup (colon + 1, strcspn (colon + 1, ":"));
    if (src == NULL || dst == NULL)
      return eci_oom (err);
    if (socket != NULL && strcmp (src, socket) == 0)
      continue;
    if (standin_record (map, src, dst, true) < 0
        || asprintf (&nb, "%s%s", standin, colon) < 0
        || json_array_set_new (x, i, json_string (nb)) < 0)
      return eci_oom (err);
  }
  if (eci_obj_get (hc, "Mounts", &x, err) < 0)
    return -1;
  json_array_foreach (x, i, e)
  {
    json_t *type, *src, *dst;
    if (!json_is_object (e))
      continue;
    if (eci_obj_get (e, "Type", &type, err) < 0
        || eci_obj_get (e, "Source", &src, err) < 0
        || eci_obj_get (e, "Target", &dst, err) < 0)
      return -1;
    const char *s = eci_str_or_empty (src);
    if (strcasecmp (eci_str_or_empty (type), "bind") != 0 || s[0] != '/'
        || (socket != NULL && strcmp (s, socket) == 0))
      continue;
    if (standin_record (map, s, eci_str_or_empty (dst), false) < 0
        || eci_obj_set_canonical (e, "Source", json_string (standin)) < 0)
      return eci_oom (err);
  }
  return 0;
}

int
eci_set_caller_labels (const char *body, size_t len, uid_t uid, gid_t gid,
                       const char *standin, const struct eci_verdict *v,
                       char **out, size_t *out_len, struct eci_verdict *err)
{
  json_t *root = NULL, *labels;
  const char *k;
  json_t *val;
  void *tmp;
  char num[24];
  int ret = -1;
  size_t pl = strlen (ECI_LABEL_PREFIX);

  *out = NULL;
  if (eci_parse_object (body, len, &root, err) < 0)
    return -1;
  if (eci_obj_get (root, "Labels", &labels, err) < 0)
    goto done;
  if (labels != NULL && !json_is_null (labels) && !json_is_object (labels))
    {
      eci_refuse (err, 400, "eci.json", REFUSAL_ECI_INVALID, "Labels");
      goto done;
    }
  if (labels == NULL || json_is_null (labels))
    {
      labels = json_object ();
      if (labels == NULL || eci_obj_set_canonical (root, "Labels", labels) < 0)
        {
          eci_oom (err);
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
                   || strcmp (k, ECI_BINDS_LABEL) == 0
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
      eci_oom (err);
      goto done;
    }
  {
    json_t *map = json_object ();
    cleanup_free char *mapped = NULL;
    if (map == NULL)
      {
        eci_oom (err);
        goto done;
      }
    if (standin != NULL && uid != 0
        && standin_binds (root, standin, v != NULL ? v->socket : NULL, map,
                          err)
               < 0)
      {
        json_decref (map);
        goto done;
      }
    mapped = json_object_size (map) > 0
                 ? json_dumps (map, JSON_COMPACT | JSON_SORT_KEYS)
                 : strdup ("");
    json_decref (map);
    if (mapped == NULL
        || json_object_set_new (labels, ECI_BINDS_LABEL, json_string (mapped))
               < 0)
      {
        eci_oom (err);
        goto done;
      }
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
      eci_oom (err);
      goto done;
    }
  ret = eci_dump (root, out, out_len, err);
done:
  json_decref (root);
  return ret;
}
