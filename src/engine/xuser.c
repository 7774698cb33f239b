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
