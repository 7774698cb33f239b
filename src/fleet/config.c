/* fleet.json: where the signed admin settings come from and which key must
 * have signed them.  Strict like admin-settings.json: an unknown key or a
 * value that does not parse is an error naming it, never a silent default
 * (a typo in "publicKey" must not leave the fleet unverified). */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "fleet.h"
#include "policy/url.h"

char *
fleet_config_path (const struct moat_paths *paths)
{
  char *p = NULL;
  if (asprintf (&p, "%s/fleet.json", paths->etc_dir) < 0)
    return NULL;
  return p;
}

char *
fleet_store_dir (const struct moat_paths *paths)
{
  char *p = NULL;
  if (asprintf (&p, "%s/fleet", paths->state_dir) < 0)
    return NULL;
  return p;
}

/* Plain HTTP only to this machine (tests, a local relay): anything else
 * could be answered by whoever sits on the path.  The signature protects
 * the content either way; TLS keeps which policy a host runs private. */
static bool
loopback_host_p (const char *host)
{
  struct in_addr a4;
  struct in6_addr a6;
  if (strcmp (host, "localhost") == 0)
    return true;
  if (inet_pton (AF_INET, host, &a4) == 1)
    return (ntohl (a4.s_addr) >> 24) == 127;
  if (inet_pton (AF_INET6, host, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK (&a6);
  return false;
}

static int
check_url (const char *s, moat_error_t *err)
{
  struct policy_url u;
  cleanup_error moat_error_t why = NULL;

  if (strpbrk (s, "?#") != NULL)
    return moat_error (err, EINVAL,
                       "url: a query or fragment is not allowed (moat "
                       "fetches <url> and <url>.sig)");
  if (policy_pac_url_parse (s, &u, &why) < 0)
    return moat_error (err, EINVAL, "url: %s", moat_error_msg (&why));
  if (u.scheme == POLICY_URL_HTTPS)
    return 0;
  if (u.scheme == POLICY_URL_HTTP && loopback_host_p (u.host))
    return 0;
  if (u.scheme == POLICY_URL_HTTP)
    return moat_error (err, EINVAL,
                       "url: plain http is allowed only to a loopback "
                       "host (127.0.0.0/8, ::1, localhost); use https");
  return moat_error (err, EINVAL, "url: must be an https:// URL");
}

int
fleet_config_parse (const char *buf, size_t len, struct fleet_config *out,
                    moat_error_t *err)
{
  static const char *const known[] = { "url", "publicKey", "refreshSeconds" };
  json_error_t jerr;
  json_t *doc, *v;
  const char *key;
  int ret = -1;

  memset (out, 0, sizeof *out);
  out->refresh_seconds = FLEET_REFRESH_DEFAULT;
  doc = json_loadb (buf, len, JSON_REJECT_DUPLICATES, &jerr);
  if (doc == NULL)
    return moat_error (err, EINVAL, "invalid JSON at line %d, column %d: %s",
                       jerr.line, jerr.column, jerr.text);
  if (!json_is_object (doc))
    {
      moat_error (err, EINVAL, "the file must hold a JSON object");
      goto out;
    }
  json_object_foreach (doc, key, v)
  {
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
      ok = ok || strcmp (key, known[i]) == 0;
    if (!ok)
      {
        moat_error (err, EINVAL,
                    "unknown key \"%s\" (fleet.json has \"url\", "
                    "\"publicKey\" and \"refreshSeconds\")",
                    key);
        goto out;
      }
  }
  v = json_object_get (doc, "url");
  if (!json_is_string (v))
    {
      moat_error (err, EINVAL, "url: %s",
                  v == NULL ? "missing" : "expected a string");
      goto out;
    }
  if (check_url (json_string_value (v), err) < 0)
    goto out;
  out->url = strdup (json_string_value (v));
  if (out->url == NULL || asprintf (&out->sig_url, "%s.sig", out->url) < 0)
    {
      out->sig_url = NULL;
      moat_error (err, ENOMEM, "fleet.json");
      goto out;
    }
  v = json_object_get (doc, "publicKey");
  if (!json_is_string (v))
    {
      moat_error (err, EINVAL, "publicKey: %s",
                  v == NULL ? "missing" : "expected a PEM string");
      goto out;
    }
  if (fleet_key_parse (json_string_value (v), json_string_length (v),
                       &out->key, err)
      < 0)
    {
      moat_error_wrap (err, "publicKey");
      goto out;
    }
  v = json_object_get (doc, "refreshSeconds");
  if (v != NULL)
    {
      if (!json_is_integer (v) || json_integer_value (v) < FLEET_REFRESH_MIN
          || json_integer_value (v) > FLEET_REFRESH_MAX)
        {
          moat_error (err, EINVAL,
                      "refreshSeconds: expected an integer from %d to %d",
                      FLEET_REFRESH_MIN, FLEET_REFRESH_MAX);
          goto out;
        }
      out->refresh_seconds = (int)json_integer_value (v);
    }
  ret = 0;
out:
  json_decref (doc);
  if (ret < 0)
    fleet_config_free (out);
  return ret;
}

int
fleet_config_load (const struct moat_paths *paths, struct fleet_config *out,
                   moat_error_t *err)
{
  cleanup_free char *path = fleet_config_path (paths);
  cleanup_free char *buf = NULL;
  size_t len = 0;

  memset (out, 0, sizeof *out);
  if (path == NULL)
    return moat_error (err, ENOMEM, "fleet.json");
  if (fs_read_trusted (path, paths->root, FLEET_CONFIG_MAX, &buf, &len, err)
      < 0)
    return -1;
  if (fleet_config_parse (buf, len, out, err) < 0)
    return moat_error_wrap (err, "`%s`", path);
  return 0;
}

void
fleet_config_free (struct fleet_config *c)
{
  free (c->url);
  free (c->sig_url);
  fleet_key_free (c->key);
  memset (c, 0, sizeof *c);
}
