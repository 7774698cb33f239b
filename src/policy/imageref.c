#include "imageref.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

static bool
lower_alnum_p (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static int
check_component (const char *s, size_t n, moat_error_t *err)
{
  size_t i = 0;

  if (n == 0)
    return moat_error (err, 0, "empty path component");
  for (size_t k = 0; k < n; k++)
    if (isupper ((unsigned char)s[k]))
      return moat_error (err, 0, "repository name must be lowercase");
  while (i < n)
    {
      size_t run = 0;
      while (i < n && lower_alnum_p (s[i]))
        i++, run++;
      if (run == 0)
        return moat_error (err, 0,
                           "invalid character `%c` in repository name "
                           "component `%.*s`",
                           s[i], (int)n, s);
      if (i == n)
        break;
      if (s[i] == '.')
        i++;
      else if (s[i] == '_')
        i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
      else if (s[i] == '-')
        while (i < n && s[i] == '-')
          i++;
      else
        return moat_error (err, 0,
                           "invalid character `%c` in repository name "
                           "component `%.*s`",
                           s[i], (int)n, s);
      if (i == n)
        return moat_error (err, 0,
                           "repository name component `%.*s` must end with a "
                           "letter or digit",
                           (int)n, s);
    }
  return 0;
}

static int
check_path (const char *p, moat_error_t *err)
{
  for (;;)
    {
      const char *slash = strchr (p, '/');
      size_t n = slash != NULL ? (size_t)(slash - p) : strlen (p);
      if (check_component (p, n, err) < 0)
        return -1;
      if (slash == NULL)
        return 0;
      p = slash + 1;
    }
}

/* host[:port]; host is DNS-like labels or [IPv6]. */
static int
check_domain (const char *d, moat_error_t *err)
{
  const char *port = NULL;
  size_t hn;

  if (d[0] == '[')
    {
      const char *close = strchr (d, ']');
      if (close == NULL || close == d + 1)
        return moat_error (err, 0, "invalid registry host `%s`", d);
      for (const char *c = d + 1; c < close; c++)
        if (!isxdigit ((unsigned char)*c) && *c != ':' && *c != '.')
          return moat_error (err, 0, "invalid registry host `%s`", d);
      if (close[1] == ':')
        port = close + 2;
      else if (close[1] != '\0')
        return moat_error (err, 0, "invalid registry host `%s`", d);
    }
  else
    {
      const char *colon = strchr (d, ':');
      hn = colon != NULL ? (size_t)(colon - d) : strlen (d);
      if (colon != NULL)
        port = colon + 1;
      if (hn == 0)
        return moat_error (err, 0, "empty registry host");
      for (size_t i = 0; i < hn; i++)
        {
          bool label_start = i == 0 || d[i - 1] == '.';
          bool label_end = i + 1 == hn || d[i + 1] == '.';
          if (d[i] == '.' && (label_start || i + 1 == hn))
            return moat_error (err, 0, "invalid registry host `%.*s`", (int)hn,
                               d);
          if (d[i] == '-' && (label_start || label_end))
            return moat_error (err, 0, "invalid registry host `%.*s`", (int)hn,
                               d);
          if (d[i] != '.' && d[i] != '-' && !isalnum ((unsigned char)d[i]))
            return moat_error (err, 0, "invalid registry host `%.*s`", (int)hn,
                               d);
        }
    }
  if (port != NULL)
    {
      size_t pn = strlen (port);
      if (pn == 0 || pn > 5 || strspn (port, "0123456789") != pn
          || atoi (port) > 65535)
        return moat_error (err, 0, "invalid registry port `%s`", port);
    }
  return 0;
}

static int
check_tag (const char *t, moat_error_t *err)
{
  size_t n = strlen (t);
  if (n == 0 || n > 128)
    return moat_error (err, 0, "tag must be 1-128 characters");
  for (size_t i = 0; i < n; i++)
    {
      char c = t[i];
      bool word = isalnum ((unsigned char)c) || c == '_';
      if (!word && (i == 0 || (c != '.' && c != '-')))
        return moat_error (err, 0, "invalid tag `%s`", t);
    }
  return 0;
}

static int
check_digest (const char *d, moat_error_t *err)
{
  size_t want, n;
  const char *hex;

  if (strncmp (d, "sha256:", 7) == 0)
    want = 64, hex = d + 7;
  else if (strncmp (d, "sha512:", 7) == 0)
    want = 128, hex = d + 7;
  else
    return moat_error (err, 0,
                       "digest `%s` must be sha256:<64 hex digits> or "
                       "sha512:<128 hex digits>",
                       d);
  n = strlen (hex);
  if (n != want || strspn (hex, "0123456789abcdef") != n)
    return moat_error (err, 0,
                       "digest `%s` must have exactly %zu lowercase hex "
                       "digits",
                       d, want);
  return 0;
}

/* Split NAME into domain and path as the Docker CLI does. */
static int
split_name (const char *name, struct imageref *out, moat_error_t *err)
{
  const char *slash = strchr (name, '/');
  size_t dn = slash != NULL ? (size_t)(slash - name) : 0;
  bool has_domain = false;
  const char *rest = name;

  if (slash != NULL)
    {
      bool lower = true;
      for (size_t i = 0; i < dn; i++)
        if (isupper ((unsigned char)name[i]))
          lower = false;
      has_domain
          = memchr (name, '.', dn) != NULL || memchr (name, ':', dn) != NULL
            || (dn == 9 && strncmp (name, "localhost", 9) == 0) || !lower;
    }
  if (has_domain)
    {
      out->domain = strndup (name, dn);
      rest = slash + 1;
    }
  else
    out->domain = strdup ("docker.io");
  if (out->domain == NULL)
    return moat_error (err, ENOMEM, "parse image reference");
  if (strcmp (out->domain, "index.docker.io") == 0)
    {
      free (out->domain);
      out->domain = strdup ("docker.io");
      if (out->domain == NULL)
        return moat_error (err, ENOMEM, "parse image reference");
    }
  if (check_domain (out->domain, err) < 0)
    return -1;
  if (strcmp (out->domain, "docker.io") == 0 && strchr (rest, '/') == NULL)
    {
      if (asprintf (&out->path, "library/%s", rest) < 0)
        out->path = NULL;
    }
  else
    out->path = strdup (rest);
  if (out->path == NULL)
    return moat_error (err, ENOMEM, "parse image reference");
  return check_path (rest, err);
}

static int
parse_ref (const char *s, bool default_tag, struct imageref *out,
           moat_error_t *err)
{
  cleanup_free char *name = NULL;
  const char *at, *colon, *last_slash;

  memset (out, 0, sizeof *out);
  if (s[0] == '\0')
    return moat_error (err, 0, "empty image reference");
  for (const char *c = s; *c != '\0'; c++)
    if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
      return moat_error (err, 0,
                         "image reference contains a space or a control or "
                         "non-ASCII character");
  name = strdup (s);
  if (name == NULL)
    return moat_error (err, ENOMEM, "parse image reference");
  at = strchr (name, '@');
  if (at != NULL)
    {
      if (check_digest (at + 1, err) < 0)
        goto fail;
      out->digest = strdup (at + 1);
      if (out->digest == NULL)
        goto oom;
      name[at - name] = '\0';
    }
  colon = strrchr (name, ':');
  last_slash = strrchr (name, '/');
  if (colon != NULL && (last_slash == NULL || colon > last_slash))
    {
      if (check_tag (colon + 1, err) < 0)
        goto fail;
      out->tag = strdup (colon + 1);
      if (out->tag == NULL)
        goto oom;
      name[colon - name] = '\0';
    }
  else if (out->digest == NULL && default_tag)
    {
      out->tag = strdup ("latest");
      if (out->tag == NULL)
        goto oom;
    }
  if (name[0] == '\0')
    {
      moat_error (err, 0, "missing repository name");
      goto fail;
    }
  if (strlen (name) > IMAGEREF_NAME_MAX)
    {
      moat_error (err, 0, "repository name longer than %d characters",
                  IMAGEREF_NAME_MAX);
      goto fail;
    }
  if (split_name (name, out, err) < 0)
    goto fail;
  return 0;
oom:
  moat_error (err, ENOMEM, "parse image reference");
fail:
  imageref_free (out);
  return -1;
}

int
imageref_parse (const char *s, struct imageref *out, moat_error_t *err)
{
  return parse_ref (s, true, out, err);
}

void
imageref_free (struct imageref *r)
{
  free (r->domain);
  free (r->path);
  free (r->tag);
  free (r->digest);
  memset (r, 0, sizeof *r);
}

char *
imageref_format (const struct imageref *r)
{
  char *s = NULL;
  if (asprintf (&s, "%s/%s%s%s%s%s", r->domain, r->path,
                r->tag != NULL ? ":" : "", r->tag != NULL ? r->tag : "",
                r->digest != NULL ? "@" : "",
                r->digest != NULL ? r->digest : "")
      < 0)
    return NULL;
  return s;
}

int
imageref_normalize (const char *s, char **out, moat_error_t *err)
{
  struct imageref r;
  if (imageref_parse (s, &r, err) < 0)
    return -1;
  *out = imageref_format (&r);
  imageref_free (&r);
  if (*out == NULL)
    return moat_error (err, ENOMEM, "normalise image reference");
  return 0;
}

int
imageref_pattern_parse (const char *s, struct imageref_pattern *out,
                        moat_error_t *err)
{
  cleanup_free char *name = NULL;
  size_t n;
  char *star;

  memset (out, 0, sizeof *out);
  if (strcmp (s, "*") == 0 || strcmp (s, "*:*") == 0)
    {
      out->any = true;
      return 0;
    }
  name = strdup (s);
  if (name == NULL)
    return moat_error (err, ENOMEM, "parse image pattern");
  n = strlen (name);
  if (strchr (name, '@') == NULL && n >= 2 && strcmp (name + n - 2, ":*") == 0)
    {
      out->any_tag = true;
      name[n - 2] = '\0';
      n -= 2;
    }
  star = strchr (name, '*');
  if (star != NULL)
    {
      const char *tail = star + 1;
      /* The only other wildcard is a whole last path component. */
      if (star == name || star[-1] != '/'
          || (*tail != '\0' && *tail != ':' && *tail != '@')
          || strchr (tail, '*') != NULL)
        /* cppcheck does not know cleanup_free. */
        /* cppcheck-suppress memleak */
        return moat_error (err, 0,
                           "`*` is allowed only as the whole image (\"*\"), "
                           "the whole tag (\"NAME:*\") or the last path "
                           "component (\"PREFIX/*\")");
      out->repo_prefix = true;
    }
  if (out->repo_prefix)
    {
      /* Parse "PREFIX/x[:tag]" and drop the placeholder component, so that
       * "testcontainers/\*" is docker.io/testcontainers/... and
       * "registry.local/\*" is every repository of that registry. */
      size_t pn = (size_t)(star - name) - 1;
      cleanup_free char *probe = NULL;
      bool domain_only
          = memchr (name, '/', pn) == NULL
            && (memchr (name, '.', pn) != NULL
                || memchr (name, ':', pn) != NULL
                || (pn == 9 && strncmp (name, "localhost", 9) == 0));
      *star = 'x';
      if (domain_only)
        {
          if (asprintf (&probe, "%.*s/x/%s", (int)pn, name, star) < 0)
            return moat_error (err, ENOMEM, "parse image pattern");
        }
      else
        probe = strdup (name);
      if (probe == NULL)
        return moat_error (err, ENOMEM, "parse image pattern");
      if (parse_ref (probe, !out->any_tag, &out->ref, err) < 0)
        return -1;
      {
        char *last = strrchr (out->ref.path, '/');
        if (domain_only)
          out->ref.path[0] = '\0';
        else if (last != NULL)
          *last = '\0';
      }
      return 0;
    }
  return parse_ref (name, !out->any_tag, &out->ref, err);
}

void
imageref_pattern_free (struct imageref_pattern *p)
{
  imageref_free (&p->ref);
  memset (p, 0, sizeof *p);
}

static bool
str_eq (const char *a, const char *b)
{
  return a != NULL && b != NULL && strcmp (a, b) == 0;
}

bool
imageref_pattern_match (const struct imageref_pattern *p,
                        const struct imageref *r)
{
  if (p->any)
    return true;
  if (!str_eq (p->ref.domain, r->domain))
    return false;
  if (p->repo_prefix)
    {
      size_t n = strlen (p->ref.path);
      if (n > 0
          && (strncmp (r->path, p->ref.path, n) != 0 || r->path[n] != '/'))
        return false;
    }
  else if (!str_eq (p->ref.path, r->path))
    return false;
  if (p->any_tag)
    return true;
  if (p->ref.digest != NULL)
    return str_eq (p->ref.digest, r->digest)
           && (p->ref.tag == NULL || str_eq (p->ref.tag, r->tag));
  return str_eq (p->ref.tag, r->tag);
}
