/* The scopes of extension sandboxes (sandbox.h): checking what an
 * extension requests, and cutting it down to what the administrator
 * pinned (docs/extensions.md "Sandboxed backend code"). */
#include <stdio.h>
#include <string.h>

#include "ext/metadata.h"
#include "ext/sandbox.h"
#include "ext/sandbox_int.h"

#define URLS_MAX 64

static const char *const read_only_docker[]
    = { "ps", "images", "inspect", "version", "info", NULL };
static const char *const http_methods[]
    = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", NULL };

static bool
in_list (const char *s, const char *const *list)
{
  for (size_t i = 0; list[i] != NULL; i++)
    if (strcmp (s, list[i]) == 0)
      return true;
  return false;
}

static void
check_strings (const json_t *arr, const char *path, const char *const *allowed,
               struct ext_problems *probs)
{
  size_t i;
  json_t *v;
  if (!json_is_array (arr))
    {
      ext_problems_add (probs, path, "must be an array of strings");
      return;
    }
  if (json_array_size (arr) > URLS_MAX)
    ext_problems_add (probs, path, "more than %d entries", URLS_MAX);
  json_array_foreach (arr, i, v)
  {
    const char *s = json_string_value (v);
    if (s == NULL || s[0] == 0 || strlen (s) > 1024)
      ext_problems_add (probs, path,
                        "[%zu]: must be a string of 1 to 1024 "
                        "bytes",
                        i);
    else if (allowed != NULL && !in_list (s, allowed))
      ext_problems_add (probs, path, "[%zu]: `%s` is not supported", i, s);
    else if (allowed == NULL && strncmp (s, "http://", 7) != 0
             && strncmp (s, "https://", 8) != 0)
      ext_problems_add (probs, path,
                        "[%zu]: `%s` must start with http:// or https://", i,
                        s);
  }
}

/* The keys a scope takes, and the strings each allows (NULL: URLs). */
static const struct
{
  const char *scope, *key;
  const char *const *allowed;
} scope_keys[] = {
  { "request", "urls", NULL },
  { "request", "methods", http_methods },
  { "docker", "commands", read_only_docker },
};

/* The settings v of scope (at path): each key one scope_keys lists. */
static void
check_keys (const char *scope, const json_t *v, const char *path,
            struct ext_problems *probs)
{
  const char *rk;
  json_t *rv;
  json_object_foreach ((json_t *)v, rk, rv)
  {
    char sub[160];
    size_t i = 0;
    snprintf (sub, sizeof sub, "%s.%.20s", path, rk);
    while (i < sizeof scope_keys / sizeof scope_keys[0]
           && (strcmp (scope_keys[i].scope, scope) != 0
               || strcmp (scope_keys[i].key, rk) != 0))
      i++;
    if (i < sizeof scope_keys / sizeof scope_keys[0])
      check_strings (rv, sub, scope_keys[i].allowed, probs);
    else
      ext_problems_add (probs, sub, "unknown key");
  }
}

int
ext_sandbox_scopes_check (const json_t *scopes, struct ext_problems *probs)
{
  static const char base[] = "moat.sandbox.requestedScopes";
  size_t before = probs->n;
  const char *k;
  json_t *v;
  char path[128];

  if (!json_is_object (scopes))
    {
      ext_problems_add (probs, base, "must be an object");
      return -1;
    }
  json_object_foreach ((json_t *)scopes, k, v)
  {
    snprintf (path, sizeof path, "%s.%.40s", base, k);
    if (!json_is_object (v))
      {
        ext_problems_add (probs, path, "must be an object");
        continue;
      }
    if (strcmp (k, "log") == 0 || strcmp (k, "sleep") == 0
        || strcmp (k, "storage") == 0)
      {
        if (json_object_size (v) != 0)
          ext_problems_add (probs, path, "takes no settings ({})");
      }
    else if (strcmp (k, "request") == 0 || strcmp (k, "docker") == 0)
      {
        check_keys (k, v, path, probs);
        if (strcmp (k, "request") == 0
            && !json_is_array (json_object_get (v, "urls")))
          ext_problems_add (probs, path, "needs \"urls\"");
      }
    else
      ext_problems_add (probs, path,
                        "unknown scope (request, log, sleep, storage, "
                        "docker)");
  }
  return probs->n > before ? -1 : 0;
}

/* The strings of a that b has too (b NULL: all of a). */
static json_t *
intersect (const json_t *a, const json_t *b)
{
  json_t *out = json_array ();
  size_t i, j;
  json_t *x, *y;
  json_array_foreach (a, i, x)
  {
    bool keep = b == NULL;
    json_array_foreach (b, j, y)
    {
      if (json_equal (x, y))
        keep = true;
    }
    if (keep && json_is_string (x))
      json_array_append (out, x);
  }
  return out;
}

json_t *
ext_sandbox_grants (const json_t *requested, const json_t *pinned)
{
  json_t *g = json_object ();
  const char *k;
  json_t *v;
  if (!json_is_object (requested))
    return g;
  json_object_foreach ((json_t *)requested, k, v)
  {
    const json_t *p = pinned ? json_object_get (pinned, k) : NULL;
    if (pinned != NULL && !json_is_object (p))
      continue; /* the administrator does not grant this scope */
    if (strcmp (k, "request") == 0)
      {
        json_t *m = json_object_get (v, "methods");
        json_t *pm = p ? json_object_get (p, "methods") : NULL;
        json_t *dflt = json_pack ("[s]", "GET");
        json_object_set_new (
            g, k,
            json_pack ("{s:o, s:o}", "urls",
                       intersect (json_object_get (v, "urls"),
                                  p ? json_object_get (p, "urls") : NULL),
                       "methods",
                       intersect (m ? m : dflt, p ? (pm ? pm : dflt) : NULL)));
        json_decref (dflt);
      }
    else if (strcmp (k, "docker") == 0)
      json_object_set_new (
          g, k,
          json_pack ("{s:o}", "commands",
                     intersect (json_object_get (v, "commands"),
                                p ? json_object_get (p, "commands") : NULL)));
    else if (strcmp (k, "log") == 0 || strcmp (k, "sleep") == 0
             || strcmp (k, "storage") == 0)
      json_object_set_new (g, k, json_object ());
  }
  return g;
}

bool
ext_sandbox_docker_read_only_p (const char *cmd)
{
  return in_list (cmd, read_only_docker);
}
