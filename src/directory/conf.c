/* directory.json: which directory sign-in uses (docs/signin.md).
 *
 *   {"type": "local"}
 *   {"type": "ldap", "url": "ldap://127.0.0.1:389",
 *    "userDnTemplate": "uid=%s,ou=people,dc=example,dc=org",
 *      or "baseDn": "ou=people,dc=example,dc=org", "userAttr": "uid",
 *    "groupBaseDn": "ou=groups,dc=example,dc=org",
 *    "groupMemberAttr": "member" | "uniqueMember" | "memberUid",
 *    "groupNameAttr": "cn", "bindDn": ..., "bindPasswordFile": ...,
 *    "startTLS": false, "caFile": ..., "timeoutSeconds": 5}
 *
 * Refuses, naming the file and the key: bad JSON, duplicate or unknown
 * keys, wrong types, a missing url or groupBaseDn, both or neither of
 * userDnTemplate and baseDn, a template without exactly one %s, and an
 * ldap:// URL to a host other than loopback without startTLS (the users'
 * passwords would cross the network in clear). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "internal.h"

static int
conf_error (moat_error_t *err, const char *path, const char *key,
            const char *msg)
{
  if (key != NULL)
    return moat_error (err, EINVAL, "%s: %s: %s", path, key, msg);
  return moat_error (err, EINVAL, "%s: %s", path, msg);
}

static int
get_str (json_t *doc, const char *key, bool required, char **out,
         const char *path, moat_error_t *err)
{
  json_t *v = json_object_get (doc, key);
  *out = NULL;
  if (v == NULL)
    return required ? conf_error (err, path, key, "missing") : 0;
  if (!json_is_string (v) || json_string_length (v) == 0)
    return conf_error (err, path, key, "expected a non-empty string");
  if (strlen (json_string_value (v)) != json_string_length (v))
    return conf_error (err, path, key, "contains a NUL byte");
  *out = strdup (json_string_value (v));
  return *out == NULL ? moat_error (err, ENOMEM, "%s", path) : 0;
}

/* ldap://host[:port] with host 127.x.x.x, [::1] or localhost. */
static bool
loopback_url_p (const char *url)
{
  const char *h = url + strlen ("ldap://");
  if (strncmp (h, "127.", 4) == 0)
    return true;
  if (strncmp (h, "[::1]", 5) == 0)
    return h[5] == '\0' || h[5] == ':' || h[5] == '/';
  if (strncmp (h, "localhost", 9) == 0)
    return h[9] == '\0' || h[9] == ':' || h[9] == '/';
  return false;
}

static int
check_template (const char *t, const char *path, moat_error_t *err)
{
  const char *p = strchr (t, '%');
  if (p == NULL || p[1] != 's' || strchr (p + 2, '%') != NULL)
    return conf_error (err, path, "userDnTemplate",
                       "must hold exactly one %s (the user name) and no "
                       "other '%'");
  return 0;
}

static int
parse_ldap (json_t *doc, const char *path, const char *root,
            struct ldap_conf *c, moat_error_t *err)
{
  static const char *const known[] = { "type",
                                       "url",
                                       "userDnTemplate",
                                       "baseDn",
                                       "userAttr",
                                       "groupBaseDn",
                                       "groupMemberAttr",
                                       "groupNameAttr",
                                       "bindDn",
                                       "bindPasswordFile",
                                       "caFile",
                                       "startTLS",
                                       "timeoutSeconds" };
  cleanup_free char *pwfile = NULL;
  const char *key;
  json_t *v;

  json_object_foreach (doc, key, v)
  {
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
      ok = ok || strcmp (key, known[i]) == 0;
    if (!ok)
      return conf_error (err, path, key, "unknown key");
  }
  if (get_str (doc, "url", true, &c->url, path, err) < 0
      || get_str (doc, "userDnTemplate", false, &c->user_dn_template, path,
                  err)
             < 0
      || get_str (doc, "baseDn", false, &c->base_dn, path, err) < 0
      || get_str (doc, "userAttr", false, &c->user_attr, path, err) < 0
      || get_str (doc, "groupBaseDn", true, &c->group_base_dn, path, err) < 0
      || get_str (doc, "groupMemberAttr", false, &c->group_member_attr, path,
                  err)
             < 0
      || get_str (doc, "groupNameAttr", false, &c->group_name_attr, path, err)
             < 0
      || get_str (doc, "bindDn", false, &c->bind_dn, path, err) < 0
      || get_str (doc, "bindPasswordFile", false, &pwfile, path, err) < 0
      || get_str (doc, "caFile", false, &c->ca_file, path, err) < 0)
    return -1;

  if (strncmp (c->url, "ldap://", 7) != 0
      && strncmp (c->url, "ldaps://", 8) != 0)
    return conf_error (err, path, "url",
                       "must start with ldap:// or ldaps://");
  if ((c->user_dn_template == NULL) == (c->base_dn == NULL))
    return conf_error (err, path, NULL,
                       "give either userDnTemplate or baseDn (with "
                       "userAttr), not both or neither");
  if (c->user_dn_template != NULL
      && check_template (c->user_dn_template, path, err) < 0)
    return -1;
  if (c->user_attr != NULL && c->base_dn == NULL)
    return conf_error (err, path, "userAttr", "only goes with baseDn");
  if (c->user_attr == NULL && (c->user_attr = strdup ("uid")) == NULL)
    return moat_error (err, ENOMEM, "%s", path);
  if (c->group_member_attr == NULL
      && (c->group_member_attr = strdup ("member")) == NULL)
    return moat_error (err, ENOMEM, "%s", path);
  if (strcmp (c->group_member_attr, "member") != 0
      && strcmp (c->group_member_attr, "uniqueMember") != 0
      && strcmp (c->group_member_attr, "memberUid") != 0)
    return conf_error (err, path, "groupMemberAttr",
                       "expected \"member\", \"uniqueMember\" or "
                       "\"memberUid\"");
  if (c->group_name_attr == NULL
      && (c->group_name_attr = strdup ("cn")) == NULL)
    return moat_error (err, ENOMEM, "%s", path);
  if ((c->bind_dn == NULL) != (pwfile == NULL))
    return conf_error (err, path, "bindDn",
                       "bindDn and bindPasswordFile go together");

  v = json_object_get (doc, "startTLS");
  if (v != NULL && !json_is_boolean (v))
    return conf_error (err, path, "startTLS", "expected true or false");
  c->start_tls = v != NULL && json_is_true (v);
  if (c->start_tls && strncmp (c->url, "ldap://", 7) != 0)
    return conf_error (err, path, "startTLS", "only goes with an ldap:// url");
  if (strncmp (c->url, "ldap://", 7) == 0 && !c->start_tls
      && !loopback_url_p (c->url))
    return conf_error (err, path, "url",
                       "ldap:// to a host other than loopback sends "
                       "passwords in clear; use ldaps:// or \"startTLS\": "
                       "true");

  v = json_object_get (doc, "timeoutSeconds");
  c->timeout_s = 5;
  if (v != NULL)
    {
      if (!json_is_integer (v) || json_integer_value (v) < 1
          || json_integer_value (v) > 60)
        return conf_error (err, path, "timeoutSeconds",
                           "expected an integer from 1 to 60");
      c->timeout_s = (int)json_integer_value (v);
    }

  if (pwfile != NULL)
    {
      size_t len = 0;
      if (pwfile[0] != '/')
        return conf_error (err, path, "bindPasswordFile",
                           "must be an absolute path");
      cleanup_free char *full = NULL;
      if (asprintf (&full, "%s%s", root, pwfile) < 0)
        return moat_error (err, ENOMEM, "%s", path);
      if (fs_read_trusted (full, root[0] != '\0' ? root : NULL, 4096,
                           &c->bind_password, &len, err)
          < 0)
        return moat_error_wrap (err, "%s: bindPasswordFile", path);
      while (len > 0
             && (c->bind_password[len - 1] == '\n'
                 || c->bind_password[len - 1] == '\r'))
        c->bind_password[--len] = '\0';
      c->bind_password_len = len;
    }
  return 0;
}

int
directory_conf_parse (const char *buf, size_t len, const char *path,
                      const char *root, struct directory *dir,
                      moat_error_t *err)
{
  json_error_t jerr;
  json_t *doc, *type;
  int r = 0;

  doc = json_loadb (buf, len, JSON_REJECT_DUPLICATES, &jerr);
  if (doc == NULL)
    return moat_error (err, EINVAL, "%s: does not parse: line %d: %s", path,
                       jerr.line, jerr.text);
  if (!json_is_object (doc))
    r = conf_error (err, path, NULL, "expected a JSON object");
  else if ((type = json_object_get (doc, "type")) == NULL)
    r = conf_error (err, path, "type",
                    "missing; write {\"type\": \"local\"} or {\"type\": "
                    "\"ldap\", ...}");
  else if (!json_is_string (type))
    r = conf_error (err, path, "type", "expected \"local\" or \"ldap\"");
  else if (strcmp (json_string_value (type), "local") == 0)
    {
      dir->kind = DIRECTORY_LOCAL;
      if (json_object_size (doc) != 1)
        r = conf_error (err, path, NULL,
                        "a local directory has no other key than \"type\"");
    }
  else if (strcmp (json_string_value (type), "ldap") == 0)
    {
      dir->kind = DIRECTORY_LDAP;
      r = parse_ldap (doc, path, root, &dir->ldap, err);
    }
  else
    r = conf_error (err, path, "type", "expected \"local\" or \"ldap\"");
  json_decref (doc);
  return r;
}

void
ldap_conf_free (struct ldap_conf *c)
{
  free (c->url);
  free (c->user_dn_template);
  free (c->base_dn);
  free (c->user_attr);
  free (c->group_base_dn);
  free (c->group_member_attr);
  free (c->group_name_attr);
  free (c->bind_dn);
  if (c->bind_password != NULL)
    directory_password_free (c->bind_password, c->bind_password_len);
  free (c->ca_file);
  memset (c, 0, sizeof *c);
}
