/* The registry a request makes the engine reach (regpol.h). */
#include "engine/regpol.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "engine/route.h"
#include "policy/imageref.h"

int
engine_registry_split (const char *domain, char **host, unsigned *port,
                       moat_error_t *err)
{
  const char *h = domain, *colon;
  size_t hl;
  *host = NULL;
  *port = 443;
  if (strcmp (domain, "docker.io") == 0
      || strcmp (domain, "index.docker.io") == 0)
    domain = h = "registry-1.docker.io";
  if (h[0] == '[')
    {
      const char *close = strchr (h, ']');
      if (close == NULL || close == h + 1)
        return moat_error (err, EINVAL, "registry `%s`", domain);
      h++;
      hl = (size_t)(close - h);
      colon = close[1] == ':' ? close + 1 : NULL;
      if (close[1] != '\0' && colon == NULL)
        return moat_error (err, EINVAL, "registry `%s`", domain);
    }
  else
    {
      colon = strchr (h, ':');
      hl = colon ? (size_t)(colon - h) : strlen (h);
    }
  if (hl == 0)
    return moat_error (err, EINVAL, "registry `%s`", domain);
  if (colon != NULL)
    {
      char *end;
      errno = 0;
      unsigned long p = strtoul (colon + 1, &end, 10);
      if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno || p == 0
          || p > 65535)
        return moat_error (err, EINVAL, "registry port in `%s`", domain);
      *port = (unsigned)p;
    }
  *host = strndup (h, hl);
  return *host ? 0 : moat_error (err, ENOMEM, "registry");
}

/* The registry of an image name as the engine reads it. */
static int
name_target (const char *name, char **host, unsigned *port, moat_error_t *err)
{
  struct imageref ref = { 0 };
  if (imageref_parse (name, &ref, err) < 0)
    return -1;
  int r = engine_registry_split (ref.domain, host, port, err);
  imageref_free (&ref);
  return r < 0 ? -1 : 1;
}

/* The name between prefix and suffix of path, when path has both. */
static char *
between (const char *path, const char *prefix, const char *suffix)
{
  size_t pl = strlen (prefix), sl = strlen (suffix), l = strlen (path);
  if (l <= pl + sl || strncmp (path, prefix, pl) != 0
      || strcmp (path + l - sl, suffix) != 0)
    return NULL;
  return strndup (path + pl, l - pl - sl);
}

/* docker search's index: the term's first component when it looks like a
 * registry (a '.' or ':', or "localhost"), else Docker Hub's index. */
static int
search_target (const char *term, char **host, unsigned *port,
               moat_error_t *err)
{
  const char *slash = term ? strchr (term, '/') : NULL;
  if (slash != NULL)
    {
      cleanup_free char *first = strndup (term, (size_t)(slash - term));
      if (first == NULL)
        return moat_error (err, ENOMEM, "search");
      if (strpbrk (first, ".:") != NULL || strcmp (first, "localhost") == 0)
        return engine_registry_split (first, host, port, err) < 0 ? -1 : 1;
    }
  *port = 443;
  *host = strdup ("index.docker.io");
  return *host ? 1 : moat_error (err, ENOMEM, "search");
}

int
engine_registry_target (const char *method, const char *path,
                        const char *query, char **host, unsigned *port,
                        moat_error_t *err)
{
  cleanup_free char *name = NULL;
  *host = NULL;
  *port = 0;
  if (strcmp (method, "POST") == 0 && strcmp (path, "/images/create") == 0)
    {
      name = engine_query_get (query ? query : "", "fromImage");
      if (name == NULL || name[0] == '\0')
        return 0;
      return name_target (name, host, port, err);
    }
  if (strcmp (method, "POST") == 0
      && (name = between (path, "/images/", "/push")) != NULL)
    return name_target (name, host, port, err);
  if (strcmp (method, "GET") == 0
      && (name = between (path, "/distribution/", "/json")) != NULL)
    return name_target (name, host, port, err);
  if (strcmp (method, "GET") == 0 && strcmp (path, "/images/search") == 0)
    {
      name = engine_query_get (query ? query : "", "term");
      return search_target (name, host, port, err);
    }
  if (strcmp (method, "POST") == 0 && strcmp (path, "/auth") == 0)
    {
      *port = 443;
      *host = strdup ("");
      return *host ? 1 : moat_error (err, ENOMEM, "auth");
    }
  return 0;
}
