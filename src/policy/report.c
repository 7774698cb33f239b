/* Diagnostics of the settings and sign-in parsers, and the small helpers
 * that phrase them (JSON paths, type names, "did you mean"). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void
policy_report_add (struct policy_report *rep, enum policy_diag_severity sev,
                   const char *path, const char *fmt, ...)
{
  struct policy_diag *items, *d;
  va_list ap;
  char *msg = NULL;
  int r;

  if (sev == POLICY_DIAG_ERROR)
    rep->n_errors++;
  if (rep->n >= POLICY_MAX_DIAGS)
    {
      rep->dropped++;
      return;
    }
  va_start (ap, fmt);
  r = vasprintf (&msg, fmt, ap);
  va_end (ap);
  items = r < 0 ? NULL : realloc (rep->items, (rep->n + 1) * sizeof *items);
  if (items == NULL)
    {
      free (r < 0 ? NULL : msg);
      rep->oom = true;
      return;
    }
  rep->items = items;
  d = &items[rep->n];
  d->severity = sev;
  d->msg = msg;
  d->path = strdup (path != NULL ? path : "?");
  if (d->path == NULL)
    {
      free (msg);
      rep->oom = true;
      return;
    }
  rep->n++;
}

void
policy_report_free (struct policy_report *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n; i++)
    {
      free (r->items[i].path);
      free (r->items[i].msg);
    }
  free (r->items);
  memset (r, 0, sizeof *r);
}

json_t *
policy_report_json (const struct policy_report *r,
                    enum policy_diag_severity sev)
{
  json_t *a = json_array ();
  for (size_t i = 0; a != NULL && i < r->n; i++)
    if (r->items[i].severity == sev)
      json_array_append_new (a,
                             json_pack ("{s:s, s:s}", "path", r->items[i].path,
                                        "message", r->items[i].msg));
  return a;
}

char *
policy_report_format (const struct policy_report *r)
{
  char *out = NULL;
  size_t size = 0;
  FILE *f = open_memstream (&out, &size);

  if (f == NULL)
    return NULL;
  for (size_t i = 0; i < r->n; i++)
    {
      const struct policy_diag *d = &r->items[i];
      fprintf (f, "%s: %s%s%s\n",
               d->severity == POLICY_DIAG_ERROR ? "error" : "warning", d->path,
               d->path[0] != '\0' ? ": " : "", d->msg);
    }
  if (r->dropped > 0)
    fprintf (f, "error: %zu more problems not shown\n", r->dropped);
  if (r->oom)
    fprintf (f, "error: out of memory while recording problems\n");
  if (fclose (f) != 0)
    {
      free (out);
      return NULL;
    }
  return out;
}

const char *
policy_source_name (enum policy_source s)
{
  switch (s)
    {
    case POLICY_SRC_DEFAULT:
      return "default";
    case POLICY_SRC_ADMIN:
      return "admin";
    case POLICY_SRC_USER:
      return "user";
    case POLICY_SRC_FLEET:
      return "fleet";
    }
  return "?";
}

char *
path_join (const char *base, const char *key)
{
  char *s = NULL;
  if (asprintf (&s, "%s%s%s", base, base[0] != '\0' ? "." : "", key) < 0)
    return NULL;
  return s;
}

char *
path_index (const char *base, size_t i)
{
  char *s = NULL;
  if (asprintf (&s, "%s[%zu]", base, i) < 0)
    return NULL;
  return s;
}

const char *
json_type_desc (const json_t *v)
{
  switch (json_typeof (v))
    {
    case JSON_OBJECT:
      return "an object";
    case JSON_ARRAY:
      return "an array";
    case JSON_STRING:
      return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
      return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
      return "a boolean";
    case JSON_NULL:
      return "null";
    }
  return "a value";
}

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent
 * transpositions), case-insensitive: "lockd" -> "locked" is 1. */
static size_t
distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  uint16_t d[72][72];

  if (la >= 72 || lb >= 72)
    return (size_t)-1;
  for (size_t i = 0; i <= la; i++)
    d[i][0] = (uint16_t)i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = (uint16_t)j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++)
      {
        size_t cost = (a[i - 1] | 0x20) == (b[j - 1] | 0x20) ? 0 : 1;
        size_t v = d[i - 1][j] + 1;
        if ((size_t)d[i][j - 1] + 1 < v)
          v = d[i][j - 1] + 1;
        if (d[i - 1][j - 1] + cost < v)
          v = d[i - 1][j - 1] + cost;
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
            && (size_t)d[i - 2][j - 2] + 1 < v)
          v = d[i - 2][j - 2] + 1;
        d[i][j] = (uint16_t)v;
      }
  return d[la][lb];
}

const char *
suggest (const char *word, const char *const *cands, size_t n)
{
  const char *best = NULL;
  size_t best_d = (size_t)-1, len = strlen (word);
  size_t limit = len <= 3 ? 1 : len <= 8 ? 2 : 3;

  for (size_t i = 0; i < n; i++)
    {
      size_t d = distance (word, cands[i]);
      size_t cl = strlen (cands[i]);
      /* On a tie, prefer the candidate that ends like the word ("images*"
       * -> "image*", not "images"). */
      bool better = d < best_d
                    || (d == best_d && best != NULL && len > 0 && cl > 0
                        && cands[i][cl - 1] == word[len - 1]
                        && best[strlen (best) - 1] != word[len - 1]);
      if (d <= limit && better)
        {
          best = cands[i];
          best_d = d;
        }
    }
  return best;
}
