/* Registry token authentication.  See regauth.h. */
#include "regauth.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/strutil.h"

#define TOKEN_BODY_MAX (1024 * 1024)

void
regauth_challenge_free (struct reg_challenge *c)
{
  if (c == NULL)
    return;
  free (c->scheme);
  free (c->realm);
  free (c->service);
  free (c->scope);
  memset (c, 0, sizeof *c);
}

/* RFC 7230 tchar */
static bool
tchar (char ch)
{
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')
         || (ch >= 'A' && ch <= 'Z') || strchr ("!#$%&'*+-.^_`|~", ch) != NULL;
}

struct cursor
{
  const char *p, *end;
};

static void
skip_blanks (struct cursor *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
    c->p++;
}

/* A token; NULL (and nothing consumed) when there is none. */
static char *
take_token (struct cursor *c)
{
  const char *s = c->p;
  while (c->p < c->end && tchar (*c->p))
    c->p++;
  return c->p > s ? strndup (s, (size_t)(c->p - s)) : NULL;
}

/* A quoted-string, cursor on the opening quote.  -1 when unterminated or
 * when it holds a control character. */
static int
take_quoted (struct cursor *c, char **out)
{
  size_t n = 0;
  cleanup_free char *buf = malloc ((size_t)(c->end - c->p) + 1);
  if (buf == NULL)
    return -1;
  c->p++;
  while (c->p < c->end && *c->p != '"')
    {
      if (*c->p == '\\')
        {
          c->p++;
          if (c->p == c->end)
            return -1;
        }
      if ((unsigned char)*c->p < 0x20 || *c->p == 0x7f)
        return -1;
      buf[n++] = *c->p++;
    }
  if (c->p == c->end)
    return -1;
  c->p++;
  buf[n] = '\0';
  *out = buf;
  buf = NULL;
  return 0;
}

static void
keep (char **slot, char **value)
{
  if (*slot == NULL)
    {
      *slot = *value;
      *value = NULL;
    }
}

int
regauth_parse_challenge (const char *value, size_t len,
                         struct reg_challenge *out, moat_error_t *err)
{
  struct cursor c = { value, value + len };
  memset (out, 0, sizeof *out);
  if (len > REGAUTH_CHALLENGE_MAX)
    return moat_error (err, EPROTO, "WWW-Authenticate: over %d bytes",
                       REGAUTH_CHALLENGE_MAX);
  skip_blanks (&c);
  out->scheme = take_token (&c);
  if (out->scheme == NULL)
    return moat_error (err, EPROTO, "WWW-Authenticate: no scheme");
  for (;;)
    {
      cleanup_free char *name = NULL, *val = NULL;
      const char *mark;
      skip_blanks (&c);
      while (c.p < c.end && (*c.p == ',' || *c.p == ' ' || *c.p == '\t'))
        c.p++;
      if (c.p == c.end)
        return 0;
      mark = c.p;
      name = take_token (&c);
      skip_blanks (&c);
      if (name == NULL || c.p == c.end || *c.p != '=')
        {
          /* the next challenge (or a token68): the first one is complete */
          if (mark != c.p || name != NULL)
            return 0;
          regauth_challenge_free (out);
          return moat_error (err, EPROTO, "WWW-Authenticate: unexpected `%c`",
                             *c.p);
        }
      c.p++;
      skip_blanks (&c);
      if (c.p < c.end && *c.p == '"')
        {
          if (take_quoted (&c, &val) < 0)
            {
              regauth_challenge_free (out);
              return moat_error (err, EPROTO,
                                 "WWW-Authenticate: bad quoted string");
            }
        }
      else if ((val = take_token (&c)) == NULL)
        {
          regauth_challenge_free (out);
          return moat_error (err, EPROTO,
                             "WWW-Authenticate: `%s` has no value", name);
        }
      if (strcasecmp (name, "realm") == 0)
        keep (&out->realm, &val);
      else if (strcasecmp (name, "service") == 0)
        keep (&out->service, &val);
      else if (strcasecmp (name, "scope") == 0)
        keep (&out->scope, &val);
      skip_blanks (&c);
      if (c.p < c.end && *c.p != ',')
        {
          regauth_challenge_free (out);
          return moat_error (
              err, EPROTO, "WWW-Authenticate: expected `,` after `%s`", name);
        }
    }
}

const char *
regauth_header_value (const char *line, size_t len, size_t *vlen)
{
  return header_line_value (line, len, "www-authenticate:", vlen);
}

int
regauth_parse_token (const char *json, size_t len, char **token,
                     moat_error_t *err)
{
  json_error_t je;
  json_t *root = json_loadb (json, len, JSON_REJECT_DUPLICATES, &je);
  const char *t;
  size_t n;
  if (root == NULL)
    return moat_error (err, EPROTO, "token answer: %s", je.text);
  t = json_string_value (json_object_get (root, "token"));
  if (t == NULL || t[0] == '\0')
    t = json_string_value (json_object_get (root, "access_token"));
  if (t == NULL || t[0] == '\0')
    {
      json_decref (root);
      return moat_error (err, EPROTO, "token answer holds no token");
    }
  n = strlen (t);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
      {
        json_decref (root);
        return moat_error (err, EPROTO,
                           "token answer: token has a character that "
                           "cannot go in a header");
      }
  if (n > REGAUTH_TOKEN_MAX)
    {
      json_decref (root);
      return moat_error (err, EPROTO, "token answer: token over %d bytes",
                         REGAUTH_TOKEN_MAX);
    }
  *token = strdup (t);
  json_decref (root);
  return *token ? 0 : moat_error (err, ENOMEM, "token");
}

int
regauth_loopback_host (const char *domain)
{
  cleanup_free char *host = strdup (domain);
  char *colon;
  if (host == NULL)
    return 0;
  if (host[0] == '[')
    return strncmp (host, "[::1]", 5) == 0;
  colon = strchr (host, ':');
  if (colon)
    *colon = '\0';
  return strcmp (host, "localhost") == 0 || strncmp (host, "127.", 4) == 0;
}

static void
url_cleanup (CURLU **u)
{
  if (*u)
    curl_url_cleanup (*u);
}

static void
curlfree (char **p)
{
  if (*p)
    curl_free (*p);
}

static int
add_query (CURLU *u, const char *name, const char *value)
{
  cleanup_free char *kv = NULL;
  if (asprintf (&kv, "%s=%s", name, value) < 0)
    return -1;
  return curl_url_set (u, CURLUPART_QUERY, kv,
                       CURLU_APPENDQUERY | CURLU_URLENCODE)
                 == CURLUE_OK
             ? 0
             : -1;
}

int
regauth_token_url (const struct reg_challenge *c, const char *default_scope,
                   char **url, moat_error_t *err)
{
  __attribute__ ((cleanup (url_cleanup))) CURLU *u = NULL;
  __attribute__ ((cleanup (curlfree))) char *scheme = NULL;
  __attribute__ ((cleanup (curlfree))) char *host = NULL;
  __attribute__ ((cleanup (curlfree))) char *full = NULL;
  const char *scope = c->scope ? c->scope : default_scope;

  if (c->realm == NULL)
    return moat_error (err, EPROTO, "Bearer challenge without a realm");
  u = curl_url ();
  if (u == NULL)
    return moat_error (err, ENOMEM, "token url");
  if (curl_url_set (u, CURLUPART_URL, c->realm, 0) != CURLUE_OK
      || curl_url_get (u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
      || curl_url_get (u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
    return moat_error (err, EPROTO, "token realm `%s` is not a URL", c->realm);
  if (strcasecmp (scheme, "https") != 0
      && !(strcasecmp (scheme, "http") == 0 && regauth_loopback_host (host)))
    return moat_error (err, EPROTO,
                       "token realm `%s` is neither https nor a loopback "
                       "http address",
                       c->realm);
  if ((c->service && add_query (u, "service", c->service) < 0)
      || (scope && add_query (u, "scope", scope) < 0)
      || curl_url_get (u, CURLUPART_URL, &full, 0) != CURLUE_OK)
    return moat_error (err, ENOMEM, "token url");
  *url = strdup (full);
  return *url ? 0 : moat_error (err, ENOMEM, "token url");
}

struct body
{
  char *buf;
  size_t len;
};

static size_t
on_body (char *data, size_t size, size_t n, void *arg)
{
  struct body *b = arg;
  size_t add = size * n;
  char *nb;
  if (b->len + add > TOKEN_BODY_MAX)
    return 0; /* curl fails the transfer: CURLE_WRITE_ERROR */
  nb = realloc (b->buf, b->len + add + 1);
  if (nb == NULL)
    return 0;
  memcpy (nb + b->len, data, add);
  b->buf = nb;
  b->len += add;
  b->buf[b->len] = '\0';
  return add;
}

int
regauth_fetch_token (const char *url, long timeout_ms, char **token,
                     moat_error_t *err)
{
  struct body b = { NULL, 0 };
  CURL *c = curl_easy_init ();
  CURLcode rc;
  long status = 0;
  int r;
  if (c == NULL)
    return moat_error (err, ENOMEM, "curl");
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_NOPROXY, "*");
  rc = curl_easy_perform (c);
  if (rc == CURLE_OK)
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup (c);
  if (rc != CURLE_OK)
    r = moat_error (err, EHOSTUNREACH, "token %s: %s", url,
                    rc == CURLE_WRITE_ERROR ? "answer over 1 MiB"
                                            : curl_easy_strerror (rc));
  else if (status != 200)
    r = moat_error (err, EACCES,
                    "token %s: HTTP %ld (the registry does not give "
                    "anonymous tokens for this image)",
                    url, status);
  else
    r = regauth_parse_token (b.buf ? b.buf : "", b.len, token, err);
  free (b.buf);
  return r;
}
