/* extensions.txt (market.h). */
#include "market.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/refusal.h"

/* org/repo[:tag] (or a registry host first): the characters of a Docker
 * reference, no blank, no '@' (a list names tags, as Docker's does). */
static bool
ref_p (const char *s, size_t n)
{
  if (n == 0 || n > 255 || s[0] == '/' || s[0] == ':' || s[n - 1] == '/'
      || s[n - 1] == ':')
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
          || (s[i] >= '0' && s[i] <= '9') || strchr ("._-/:", s[i]) != NULL))
      return false;
  return true;
}

int
ext_market_parse (const char *buf, size_t len, struct ext_market *out,
                  struct ext_problems *probs)
{
  size_t before = probs->n, line = 0;
  const char *p = buf, *end = buf + len;

  memset (out, 0, sizeof *out);
  if (len > EXT_MARKET_MAX)
    {
      ext_problems_add (probs, "extensions.txt", "larger than %d bytes",
                        EXT_MARKET_MAX);
      return -1;
    }
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t)(end - p));
      const char *e = nl != NULL ? nl : end, *s = p;
      char where[48];

      line++;
      p = nl != NULL ? nl + 1 : end;
      while (s < e && (*s == ' ' || *s == '\t'))
        s++;
      while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
      if (s == e || *s == '#')
        continue;
      snprintf (where, sizeof where, "extensions.txt:%zu", line);
      if (!ref_p (s, (size_t)(e - s)))
        {
          ext_problems_add (probs, where,
                            "\"%.*s\" is not an org/repo:tag reference",
                            (int)(e - s > 80 ? 80 : e - s), s);
          continue;
        }
      if (out->n >= EXT_MARKET_MAX_ENTRIES)
        {
          ext_problems_add (probs, where, "more than %d entries",
                            EXT_MARKET_MAX_ENTRIES);
          break;
        }
      {
        cleanup_free char *ref = strndup (s, (size_t)(e - s));
        char **nr = realloc (out->refs, (out->n + 1) * sizeof *nr);
        char *c = ref != NULL ? ext_image_canonical (ref) : NULL;
        if (nr != NULL)
          out->refs = nr;
        if (nr == NULL || c == NULL)
          {
            free (c);
            ext_problems_add (probs, where, "out of memory");
            break;
          }
        out->refs[out->n++] = c;
      }
    }
  return probs->n > before ? -1 : 0;
}

void
ext_market_free (struct ext_market *m)
{
  for (size_t i = 0; i < m->n; i++)
    free (m->refs[i]);
  free (m->refs);
  memset (m, 0, sizeof *m);
}

bool
ext_market_allows_p (const struct ext_market *m, const char *image)
{
  cleanup_free char *c = ext_image_canonical (image);
  if (c == NULL)
    return false;
  for (size_t i = 0; i < m->n; i++)
    if (strcmp (m->refs[i], c) == 0)
      return true;
  return false;
}

int
ext_policy_check (bool enabled, bool only_marketplace,
                  bool private_marketplace, const char *market_path,
                  const char *stop_at, const char *image, moat_error_t *err)
{
  cleanup_free char *buf = NULL;
  struct ext_market m = { 0 };
  struct ext_problems probs = { 0 };
  moat_error_t rerr = NULL;
  size_t len = 0;
  bool ok;

  if (!enabled)
    return moat_error (err, 0, "%s", REFUSAL_EXTENSION_DISABLED);
  if (!only_marketplace && !private_marketplace)
    return 0;
  /* moat has no public marketplace to consult: either key limits
   * installs to the private list, and a missing or invalid list allows
   * nothing (fail closed). */
  if (fs_read_trusted (market_path, stop_at, EXT_MARKET_MAX, &buf, &len, &rerr)
          == 0
      && ext_market_parse (buf, len, &m, &probs) == 0)
    ok = ext_market_allows_p (&m, image);
  else
    ok = false;
  ext_market_free (&m);
  ext_problems_free (&probs);
  moat_error_release (&rerr);
  if (!ok)
    return moat_error (err, 0, REFUSAL_EXTENSION_FMT, image);
  return 0;
}
