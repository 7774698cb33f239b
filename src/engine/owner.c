/* The owner rule for requests that name a container outside their path
 * (engine/owner.h). */
#include "engine/owner.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "engine/eci_internal.h"
#include "engine/route.h"

/* name (n bytes of s) must be a container of caller_uid */
static int
owned (engine_get_fn get, void *ctx, const char *s, size_t n,
       unsigned caller_uid, char **id, struct eci_verdict *v)
{
  cleanup_free char *name = NULL;
  char *cid = NULL;
  /* "/name", as the engine keeps names: asked without the slash */
  if (n > 0 && s[0] == '/')
    s++, n--;
  name = strndup (s, n);
  if (name == NULL)
    return eci_oom (v);
  if (engine_owner_check (get, ctx, name, caller_uid, &cid, v) < 0)
    return -1;
  if (id != NULL)
    *id = cid;
  else
    free (cid);
  return 0;
}

int
engine_commit_owner_check (engine_get_fn get, void *ctx, const char *query,
                           unsigned caller_uid, struct eci_verdict *v)
{
  cleanup_free char *name = engine_query_get (query ? query : "", "container");
  if (name == NULL)
    return 0; /* the engine answers "No such container" */
  /* the engine reads the first; every one is checked as that one */
  if (engine_query_any_other (query, "container", name))
    return eci_refuse (v, 400, "eci.owner", REFUSAL_OWNER_TWO_NAMES,
                       "container");
  return owned (get, ctx, name, strlen (name), caller_uid, NULL, v);
}

int
engine_network_member_check (engine_get_fn get, void *ctx, const char *body,
                             size_t len, unsigned caller_uid, char **out,
                             size_t *out_len, struct eci_verdict *v)
{
  json_t *root = NULL, *c = NULL;
  cleanup_free char *id = NULL;
  int r;

  *out = NULL;
  if (eci_parse_object (body, len, &root, v) < 0)
    return -1;
  if (eci_obj_get (root, "Container", &c, v) < 0)
    {
      json_decref (root);
      return -1;
    }
  if (!json_is_string (c))
    {
      json_decref (root);
      return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "Container");
    }
  if (owned (get, ctx, json_string_value (c), json_string_length (c),
             caller_uid, &id, v)
      < 0)
    {
      json_decref (root);
      return -1;
    }
  /* sent for the id that was checked */
  r = eci_obj_set_canonical (root, "Container", json_string (id)) < 0
          ? eci_oom (v)
          : eci_dump (root, out, out_len, v);
  json_decref (root);
  return r;
}

/* "container:<name>" of a namespace mode */
static int
mode_ref (engine_get_fn get, void *ctx, json_t *hc, const char *field,
          unsigned caller_uid, struct eci_verdict *v)
{
  json_t *m = NULL;
  const char *s;
  if (eci_obj_get (hc, field, &m, v) < 0)
    return -1;
  s = json_string_value (m);
  if (s == NULL || strncmp (s, "container:", 10) != 0)
    return 0;
  return owned (get, ctx, s + 10, strlen (s + 10), caller_uid, NULL, v);
}

/* ["name", "name:alias", "/name:/c/alias"]: the name before any ':' */
static int
link_refs (engine_get_fn get, void *ctx, json_t *links, const char *field,
           unsigned caller_uid, struct eci_verdict *v)
{
  json_t *e;
  size_t i;
  if (links == NULL || json_is_null (links))
    return 0;
  if (!json_is_array (links))
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, field);
  json_array_foreach (links, i, e)
  {
    const char *s = json_string_value (e);
    if (s == NULL)
      return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, field);
    if (owned (get, ctx, s, strcspn (s, ":"), caller_uid, NULL, v) < 0)
      return -1;
  }
  return 0;
}

static int
create_refs (engine_get_fn get, void *ctx, json_t *root, unsigned caller_uid,
             struct eci_verdict *v)
{
  static const char *const modes[] = { "NetworkMode", "PidMode", "IpcMode" };
  json_t *hc = NULL, *x = NULL, *nc = NULL, *eps = NULL, *ep;
  const char *k;
  size_t i;

  if (eci_obj_get (root, "HostConfig", &hc, v) < 0)
    return -1;
  if (json_is_object (hc))
    {
      for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (mode_ref (get, ctx, hc, modes[i], caller_uid, v) < 0)
          return -1;
      if (eci_obj_get (hc, "Links", &x, v) < 0
          || link_refs (get, ctx, x, "Links", caller_uid, v) < 0)
        return -1;
      x = NULL;
      if (eci_obj_get (hc, "VolumesFrom", &x, v) < 0
          || link_refs (get, ctx, x, "VolumesFrom", caller_uid, v) < 0)
        return -1;
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
    x = NULL;
    if (!json_is_object (ep))
      continue;
    if (eci_obj_get (ep, "Links", &x, v) < 0
        || link_refs (get, ctx, x, "Links", caller_uid, v) < 0)
      return -1;
  }
  return 0;
}

int
engine_create_refs_check (engine_get_fn get, void *ctx, const char *body,
                          size_t len, unsigned caller_uid,
                          struct eci_verdict *v)
{
  json_t *root = NULL;
  int r;
  if (eci_parse_object (body, len, &root, v) < 0)
    return -1;
  r = create_refs (get, ctx, root, caller_uid, v);
  json_decref (root);
  return r;
}
