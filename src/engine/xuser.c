/* Other users' volumes and networks, and prunes (engine/xuser.h). */
#include "engine/xuser.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "common/strutil.h"
#include "engine/eci_internal.h"
#include "engine/route.h"

/* ---- prune ------------------------------------------------------------ */

/* [A-Za-z0-9-._~] as is, every other byte %XX */
static char *
pct_encode (const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen (s);
  char *o = malloc (3 * n + 1), *p = o;
  if (o == NULL)
    return NULL;
  for (; *s; s++)
    {
      unsigned char c = (unsigned char)*s;
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
          || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
          || c == '~')
        *p++ = (char)c;
      else
        {
          *p++ = '%';
          *p++ = hex[c >> 4];
          *p++ = hex[c & 15];
        }
    }
  *p = '\0';
  return o;
}

/* The engine's filters: {"key":{"value":true}} or the legacy
 * {"key":["value"]}; folded to the first form. */
static json_t *
prune_filters (const char *raw, struct eci_verdict *v)
{
  json_t *in, *out, *val, *e;
  const char *k;
  size_t i;
  if (raw == NULL || raw[0] == '\0')
    {
      out = json_object ();
      if (out == NULL)
        eci_oom (v);
      return out;
    }
  in = json_loads (raw, JSON_REJECT_DUPLICATES, NULL);
  out = json_object ();
  if (out == NULL)
    {
      json_decref (in);
      eci_oom (v);
      return NULL;
    }
  if (!json_is_object (in))
    goto bad;
  json_object_foreach (in, k, val)
  {
    json_t *set;
    if (json_is_object (val))
      set = json_deep_copy (val);
    else if (json_is_array (val))
      {
        set = json_object ();
        json_array_foreach (val, i, e)
        {
          if (!json_is_string (e))
            {
              json_decref (set);
              goto bad;
            }
          if (set != NULL
              && json_object_set_new (set, json_string_value (e), json_true ())
                     < 0)
            {
              json_decref (set);
              set = NULL;
            }
        }
      }
    else
      goto bad;
    if (set == NULL || json_object_set_new (out, k, set) < 0)
      {
        json_decref (in);
        json_decref (out);
        eci_oom (v);
        return NULL;
      }
  }
  json_decref (in);
  return out;
bad:
  json_decref (in);
  json_decref (out);
  eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "filters");
  return NULL;
}

int
engine_prune_uri (const char *version, const char *path, const char *query,
                  unsigned caller_uid, char **uri, struct eci_verdict *v)
{
  cleanup_free char *raw = engine_query_get (query ? query : "", "filters");
  cleanup_free char *dumped = NULL;
  cleanup_free char *enc = NULL;
  char want[48];
  json_t *f, *label;

  *uri = NULL;
  f = prune_filters (raw, v);
  if (f == NULL)
    return -1;
  label = json_object_get (f, "label");
  if (label == NULL)
    {
      label = json_object ();
      if (label == NULL || json_object_set_new (f, "label", label) < 0)
        {
          json_decref (f);
          return eci_oom (v);
        }
    }
  snprintf (want, sizeof want, ECI_CALLER_UID_LABEL "=%u", caller_uid);
  if (json_object_set_new (label, want, json_true ()) < 0
      || (dumped = json_dumps (f, JSON_COMPACT | JSON_SORT_KEYS)) == NULL
      || (enc = pct_encode (dumped)) == NULL
      || asprintf (uri, "%s%s%s?filters=%s", version[0] ? "/v" : "", version,
                   path, enc)
             < 0)
    {
      *uri = NULL;
      json_decref (f);
      return eci_oom (v);
    }
  json_decref (f);
  return 0;
}

/* ---- owners of volumes and networks ----------------------------------- */

enum obj_kind
{
  OBJ_VOLUME,
  OBJ_NETWORK,
};

/* Inspect `name` of kind; 0 with *root (the answer), or -1 refused. */
static int
inspect (engine_get_fn get, void *ctx, enum obj_kind kind, const char *name,
         json_t **root, struct eci_verdict *v)
{
  const char *what = kind == OBJ_VOLUME ? "volume" : "network";
  cleanup_free char *path = NULL;
  cleanup_free char *body = NULL;
  size_t len = 0;
  int r;

  *root = NULL;
  /* nothing that could change the URL it is put in; a name the engine
   * would not make */
  if (!engine_name_p (name, strlen (name), 256))
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                       kind == OBJ_VOLUME ? "volume name" : "network name");
  if (get == NULL)
    return eci_refuse (v, 403, "eci.owner", REFUSAL_OBJ_UNCHECKED, what);
  if (asprintf (&path, "/%ss/%s", what, name) < 0)
    {
      path = NULL;
      return eci_oom (v);
    }
  r = get (ctx, path, &body, &len);
  if (r > 0)
    return kind == OBJ_VOLUME
               ? eci_refuse (v, 404, "eci.owner", REFUSAL_NO_SUCH_VOLUME, name)
               : eci_refuse (v, 404, "eci.owner", REFUSAL_NO_SUCH_NETWORK,
                             name);
  if (r < 0 || (*root = json_loadb (body, len, 0, NULL)) == NULL
      || !json_is_object (*root))
    {
      json_decref (*root);
      *root = NULL;
      return eci_refuse (v, 502, "eci.owner", REFUSAL_ERR_INSPECT_OBJ, what,
                         name);
    }
  return 0;
}

/* the answer's owner label is caller_uid */
static bool
owner_is (json_t *root, unsigned caller_uid)
{
  char want[16];
  const char *owner = json_string_value (json_object_get (
      json_object_get (root, "Labels"), ECI_CALLER_UID_LABEL));
  snprintf (want, sizeof want, "%u", caller_uid);
  return owner != NULL && strcmp (owner, want) == 0;
}

/* The networks every container may join: the engine's own (predefined;
 * no other network may take their names), which carry no labels. */
static const char *const default_networks[]
    = { "bridge", "none", "host", NULL };

static bool
default_network_p (json_t *root)
{
  const char *n = json_string_value (json_object_get (root, "Name"));
  json_t *labels = json_object_get (root, "Labels");
  return n != NULL && eci_in_list (n, default_networks)
         && (labels == NULL || json_object_size (labels) == 0);
}

/* The volume or network name must be caller_uid's (a network: or one of
 * the engine's own). */
static int
object_owner_check (engine_get_fn get, void *ctx, enum obj_kind kind,
                    const char *name, unsigned caller_uid,
                    struct eci_verdict *v)
{
  json_t *root;
  bool ok;
  if (inspect (get, ctx, kind, name, &root, v) < 0)
    return -1;
  ok = (kind == OBJ_NETWORK && default_network_p (root))
       || owner_is (root, caller_uid);
  json_decref (root);
  if (!ok)
    return eci_refuse (v, 403, "eci.owner", REFUSAL_OWNER_OTHER_OBJ,
                       kind == OBJ_VOLUME ? "volume" : "network", name);
  return 0;
}

int
engine_volume_owner_check (engine_get_fn get, void *ctx, const char *name,
                           unsigned caller_uid, struct eci_verdict *v)
{
  return object_owner_check (get, ctx, OBJ_VOLUME, name, caller_uid, v);
}

int
engine_network_owner_check (engine_get_fn get, void *ctx, const char *name,
                            unsigned caller_uid, struct eci_verdict *v)
{
  return object_owner_check (get, ctx, OBJ_NETWORK, name, caller_uid, v);
}

/* ---- creates ---------------------------------------------------------- */

/* nv's refusal into v (whose other fields, a create check's rewrites,
 * stay); -1 */
static int
pass_on (struct eci_verdict *v, struct eci_verdict *nv)
{
  free (v->message);
  v->message = nv->message;
  nv->message = NULL;
  v->status = nv->status;
  v->rule = nv->rule;
  eci_verdict_clear (nv);
  return -1;
}

/* Labels of obj (made when absent): the client's com.moat.* dropped (any
 * case of the prefix), the caller's uid and gid set. */
static int
set_owner_labels (json_t *obj, unsigned uid, unsigned gid,
                  struct eci_verdict *v)
{
  json_t *labels, *val;
  const char *k;
  void *tmp;
  char num[16];
  size_t pl = strlen (ECI_LABEL_PREFIX);

  if (eci_obj_get (obj, "Labels", &labels, v) < 0)
    return -1;
  if (labels != NULL && !json_is_null (labels) && !json_is_object (labels))
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "Labels");
  if (labels == NULL || json_is_null (labels))
    {
      labels = json_object ();
      if (labels == NULL || eci_obj_set_canonical (obj, "Labels", labels) < 0)
        return eci_oom (v);
    }
  json_object_foreach_safe (labels, tmp, k, val)
  {
    if (strncasecmp (k, ECI_LABEL_PREFIX, pl) == 0)
      json_object_del (labels, k);
  }
  snprintf (num, sizeof num, "%u", uid);
  if (json_object_set_new (labels, ECI_CALLER_UID_LABEL, json_string (num))
      < 0)
    return eci_oom (v);
  snprintf (num, sizeof num, "%u", gid);
  if (json_object_set_new (labels, ECI_CALLER_GID_LABEL, json_string (num))
      < 0)
    return eci_oom (v);
  return 0;
}

int
engine_volume_create_owner (engine_get_fn get, void *ctx, const char *body,
                            size_t len, unsigned caller_uid,
                            unsigned caller_gid, char **out, size_t *out_len,
                            struct eci_verdict *v)
{
  json_t *root = NULL, *name;
  int ret = -1;
  *out = NULL;
  if (eci_parse_object (body, len, &root, v) < 0)
    return -1;
  if (eci_obj_get (root, "Name", &name, v) < 0)
    goto done;
  if (name != NULL && !json_is_null (name) && !json_is_string (name))
    {
      eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "Name");
      goto done;
    }
  /* the engine answers a create of an existing name with that volume */
  if (json_string_length (name) > 0)
    {
      struct eci_verdict nv = { 0 };
      if (engine_volume_owner_check (get, ctx, json_string_value (name),
                                     caller_uid, &nv)
              < 0
          && nv.status != 404)
        {
          pass_on (v, &nv);
          goto done;
        }
      eci_verdict_clear (&nv);
    }
  if (set_owner_labels (root, caller_uid, caller_gid, v) < 0)
    goto done;
  ret = eci_dump (root, out, out_len, v);
done:
  json_decref (root);
  return ret;
}

int
engine_network_create_owner (const char *body, size_t len, unsigned caller_uid,
                             unsigned caller_gid, char **out, size_t *out_len,
                             struct eci_verdict *v)
{
  json_t *root = NULL;
  int ret = -1;
  *out = NULL;
  if (eci_parse_object (body, len, &root, v) < 0)
    return -1;
  if (set_owner_labels (root, caller_uid, caller_gid, v) < 0)
    goto done;
  if (eci_obj_set_canonical (root, "CheckDuplicate", json_true ()) < 0)
    {
      eci_oom (v);
      goto done;
    }
  ret = eci_dump (root, out, out_len, v);
done:
  json_decref (root);
  return ret;
}

/* A named volume of a create: the caller's, or made now for it. */
static int
create_volume (engine_get_fn get, engine_post_fn post, void *ctx,
               const char *name, json_t *driver, json_t *opts, json_t *labels,
               unsigned uid, unsigned gid, struct eci_verdict *v)
{
  struct eci_verdict nv = { 0 };
  json_t *req;
  cleanup_free char *body = NULL;
  size_t blen = 0;
  int st;

  if (engine_volume_owner_check (get, ctx, name, uid, &nv) == 0)
    return 0;
  if (nv.status != 404 || post == NULL)
    {
      if (nv.status == 404)
        {
          eci_verdict_clear (&nv);
          return eci_refuse (v, 403, "eci.owner", REFUSAL_OBJ_UNCHECKED,
                             "volume");
        }
      return pass_on (v, &nv);
    }
  eci_verdict_clear (&nv);
  /* as the engine would make it (daemon/volumes.go): the mount's driver,
   * options and labels */
  req = json_pack ("{s:s}", "Name", name);
  if (req == NULL
      || (json_is_string (driver)
          && json_object_set (req, "Driver", driver) < 0)
      || (json_is_object (opts)
          && json_object_set (req, "DriverOpts", opts) < 0)
      || json_object_set_new (req, "Labels",
                              json_is_object (labels) ? json_deep_copy (labels)
                                                      : json_object ())
             < 0)
    {
      json_decref (req);
      return eci_oom (v);
    }
  if (set_owner_labels (req, uid, gid, v) < 0
      || eci_dump (req, &body, &blen, v) < 0)
    {
      json_decref (req);
      return -1;
    }
  json_decref (req);
  /* as POST /volumes/create would be: not an extension backend's */
  if (eci_check_ext_reserved (body, blen, "volume", true, v) < 0)
    return -1;
  st = post (ctx, "/volumes/create", body, blen);
  if (st < 200 || st > 299)
    return eci_refuse (v, 502, "eci.owner", REFUSAL_ERR_MAKE_VOLUME, name);
  /* made, or another's made in between (a create of an existing name
   * answers with that one) */
  return engine_volume_owner_check (get, ctx, name, uid, v);
}

static int
binds_volumes (engine_get_fn get, engine_post_fn post, void *ctx, json_t *hc,
               json_t *driver, unsigned uid, unsigned gid,
               struct eci_verdict *v)
{
  json_t *x, *b;
  size_t i;
  if (eci_obj_get (hc, "Binds", &x, v) < 0)
    return -1;
  if (!json_is_array (x))
    return 0;
  json_array_foreach (x, i, b)
  {
    const char *s = json_string_value (b);
    size_t n;
    cleanup_free char *name = NULL;
    if (s == NULL)
      return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "Binds");
    n = strcspn (s, ":");
    /* a host path, or a destination alone (anonymous) */
    if (s[0] == '/' || s[n] == '\0')
      continue;
    name = strndup (s, n);
    if (name == NULL)
      return eci_oom (v);
    if (create_volume (get, post, ctx, name, driver, NULL, NULL, uid, gid, v)
        < 0)
      return -1;
  }
  return 0;
}

static int
mounts_volumes (engine_get_fn get, engine_post_fn post, void *ctx, json_t *hc,
                unsigned uid, unsigned gid, struct eci_verdict *v)
{
  json_t *x, *m;
  size_t i;
  if (eci_obj_get (hc, "Mounts", &x, v) < 0)
    return -1;
  if (!json_is_array (x))
    return 0;
  json_array_foreach (x, i, m)
  {
    json_t *type, *src, *vo = NULL, *dc = NULL, *dn = NULL, *opts = NULL,
                        *labels = NULL;
    if (!json_is_object (m))
      return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "Mounts");
    if (eci_obj_get (m, "Type", &type, v) < 0
        || eci_obj_get (m, "Source", &src, v) < 0
        || eci_obj_get (m, "VolumeOptions", &vo, v) < 0)
      return -1;
    /* the engine matches types exactly; any spelling is checked */
    if (strcasecmp (eci_str_or_empty (type), "volume") != 0
        || eci_str_or_empty (src)[0] == '\0')
      continue;
    if (json_is_object (vo)
        && (eci_obj_get (vo, "DriverConfig", &dc, v) < 0
            || eci_obj_get (vo, "Labels", &labels, v) < 0))
      return -1;
    if (json_is_object (dc)
        && (eci_obj_get (dc, "Name", &dn, v) < 0
            || eci_obj_get (dc, "Options", &opts, v) < 0))
      return -1;
    if (create_volume (get, post, ctx, json_string_value (src), dn, opts,
                       labels, uid, gid, v)
        < 0)
      return -1;
  }
  return 0;
}

/* An endpoint's NetworkID: the engine joins that network instead of the
 * one its key (or a connect's path) names, for any network but the
 * default ones (daemon getNetworkID) */
static int
endpoint_network_id (engine_get_fn get, void *ctx, json_t *ep, unsigned uid,
                     struct eci_verdict *v)
{
  struct eci_verdict nv = { 0 };
  json_t *id = NULL;
  if (!json_is_object (ep))
    return 0;
  if (eci_obj_get (ep, "NetworkID", &id, v) < 0)
    return -1;
  if (id == NULL || json_is_null (id))
    return 0;
  if (!json_is_string (id))
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "NetworkID");
  if (json_string_length (id) == 0)
    return 0;
  if (engine_network_owner_check (get, ctx, json_string_value (id), uid, &nv)
          < 0
      && nv.status != 404)
    return pass_on (v, &nv);
  eci_verdict_clear (&nv);
  return 0;
}

int
engine_network_endpoint_check (engine_get_fn get, void *ctx, const char *body,
                               size_t len, unsigned caller_uid,
                               struct eci_verdict *v)
{
  json_t *root = NULL, *ep = NULL;
  int r;
  if (eci_parse_object (body, len, &root, v) < 0)
    return -1;
  r = eci_obj_get (root, "EndpointConfig", &ep, v) < 0
          ? -1
          : endpoint_network_id (get, ctx, ep, caller_uid, v);
  json_decref (root);
  return r;
}

static int
networks_check (engine_get_fn get, void *ctx, json_t *root, json_t *hc,
                unsigned uid, struct eci_verdict *v)
{
  json_t *x = NULL, *nc = NULL, *eps = NULL, *ep;
  struct eci_verdict nv = { 0 };
  const char *k;
  if (json_is_object (hc))
    {
      const char *m;
      if (eci_obj_get (hc, "NetworkMode", &x, v) < 0)
        return -1;
      m = eci_str_or_empty (x);
      /* "" and "default" are the bridge; container:<x> is the owner rule
       * of engine/owner.h; host is refused by the create check */
      if (m[0] != '\0' && strcmp (m, "default") != 0
          && !eci_in_list (m, default_networks)
          && strncmp (m, "container:", 10) != 0
          && engine_network_owner_check (get, ctx, m, uid, &nv) < 0
          && nv.status != 404)
        return pass_on (v, &nv);
      eci_verdict_clear (&nv);
    }
  if (eci_obj_get (root, "NetworkingConfig", &nc, v) < 0)
    return -1;
  if (!json_is_object (nc))
    return 0;
  if (eci_obj_get (nc, "EndpointsConfig", &eps, v) < 0)
    return -1;
  if (!json_is_object (eps))
    return 0;
  json_object_foreach (eps, k, ep)
  {
    /* a network that does not exist: the engine's own error */
    if (strcmp (k, "default") == 0 || eci_in_list (k, default_networks))
      continue;
    if (engine_network_owner_check (get, ctx, k, uid, &nv) < 0
        && nv.status != 404)
      return pass_on (v, &nv);
    eci_verdict_clear (&nv);
    if (endpoint_network_id (get, ctx, ep, uid, v) < 0)
      return -1;
  }
  return 0;
}

int
engine_create_objects_check (engine_get_fn get, engine_post_fn post, void *ctx,
                             const char *body, size_t len, unsigned caller_uid,
                             unsigned caller_gid, struct eci_verdict *v)
{
  json_t *root = NULL, *hc = NULL, *drv = NULL;
  int r = -1;
  if (eci_parse_object (body, len, &root, v) < 0)
    return -1;
  if (eci_obj_get (root, "HostConfig", &hc, v) < 0)
    goto done;
  /* networks first: nothing is made for a create that is refused */
  if (networks_check (get, ctx, root, hc, caller_uid, v) < 0)
    goto done;
  if (json_is_object (hc)
      && (eci_obj_get (hc, "VolumeDriver", &drv, v) < 0
          || binds_volumes (get, post, ctx, hc, drv, caller_uid, caller_gid, v)
                 < 0
          || mounts_volumes (get, post, ctx, hc, caller_uid, caller_gid, v)
                 < 0))
    goto done;
  r = 0;
done:
  json_decref (root);
  return r;
}
