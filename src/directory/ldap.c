/* The LDAP backend: a simple bind as the user; organizations are the
 * groups under groupBaseDn whose member attribute names the user.
 *
 * One connection per call (sign-ins and revocation checks are rare), with
 * network and operation timeouts from timeoutSeconds.  Every failure other
 * than a refused password is DIRECTORY_E_UNAVAILABLE: sign-in fails
 * closed.  An empty password is refused before any bind: LDAP treats a
 * simple bind with an empty password as an unauthenticated (anonymous)
 * bind that succeeds (RFC 4513 §5.1.2). */
#include <errno.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "internal.h"

static void
unbind (LDAP *ld)
{
  if (ld != NULL)
    ldap_unbind_ext_s (ld, NULL, NULL);
}

static int
unavailable (LDAP *ld, struct directory *dir, const char *what, int rc,
             moat_error_t *err)
{
  char *diag = NULL;
  int r;
  if (ld != NULL)
    ldap_get_option (ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
  r = directory_unavailable (err, "LDAP server %s: %s: %s%s%s", dir->ldap.url,
                             what, ldap_err2string (rc),
                             diag != NULL && diag[0] != '\0' ? ": " : "",
                             diag != NULL ? diag : "");
  ldap_memfree (diag);
  return r;
}

static int
connect_ldap (struct directory *dir, LDAP **out, moat_error_t *err)
{
  const struct ldap_conf *c = &dir->ldap;
  struct timeval tv = { .tv_sec = c->timeout_s };
  int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
  LDAP *ld = NULL;
  int rc;

  *out = NULL;
  rc = ldap_initialize (&ld, c->url);
  if (rc != LDAP_SUCCESS)
    return unavailable (NULL, dir, "initialize", rc, err);
  if (ldap_set_option (ld, LDAP_OPT_PROTOCOL_VERSION, &version)
          != LDAP_OPT_SUCCESS
      || ldap_set_option (ld, LDAP_OPT_NETWORK_TIMEOUT, &tv)
             != LDAP_OPT_SUCCESS
      || ldap_set_option (ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS
      || ldap_set_option (ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF)
             != LDAP_OPT_SUCCESS
      || ldap_set_option (ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand)
             != LDAP_OPT_SUCCESS
      || (c->ca_file != NULL
          && ldap_set_option (ld, LDAP_OPT_X_TLS_CACERTFILE, c->ca_file)
                 != LDAP_OPT_SUCCESS)
      || ldap_set_option (ld, LDAP_OPT_X_TLS_NEWCTX, &zero)
             != LDAP_OPT_SUCCESS)
    {
      unbind (ld);
      return directory_unavailable (err, "LDAP client options");
    }
  if (c->start_tls && (rc = ldap_start_tls_s (ld, NULL, NULL)) != LDAP_SUCCESS)
    {
      unavailable (ld, dir, "StartTLS", rc, err);
      unbind (ld);
      return -1;
    }
  *out = ld;
  return 0;
}

/* Simple bind; 1 bound, 0 invalid credentials, -1 other failure. */
static int
bind_as (LDAP *ld, struct directory *dir, const char *dn, const char *pw,
         size_t len, moat_error_t *err)
{
  struct berval cred = { .bv_val = (char *)pw, .bv_len = len };
  int rc
      = ldap_sasl_bind_s (ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
  if (rc == LDAP_SUCCESS)
    return 1;
  if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INVALID_DN_SYNTAX)
    return 0;
  return unavailable (ld, dir, "bind", rc, err);
}

/* s with RFC 4515 escapes for a filter value. */
static char *
filter_escape (const char *s)
{
  size_t n = strlen (s);
  char *out = malloc (n * 3 + 1), *o = out;
  if (out == NULL)
    return NULL;
  for (; *s != '\0'; s++)
    {
      if (strchr ("*()\\", *s) != NULL)
        o += sprintf (o, "\\%02x", (unsigned char)*s);
      else
        *o++ = *s;
    }
  *o = '\0';
  return out;
}

/* The DN of user: from the template, or the one entry under baseDn whose
 * userAttr is the name.  *dn NULL: no such user (or several: ambiguous,
 * refused like an unknown user).  user has passed directory_user_name_p,
 * so it holds nothing a DN or a filter would interpret. */
static int
user_dn (LDAP *ld, struct directory *dir, const char *user, char **dn,
         moat_error_t *err)
{
  const struct ldap_conf *c = &dir->ldap;
  char *attrs[] = { (char *)LDAP_NO_ATTRS, NULL };
  cleanup_free char *filter = NULL;
  LDAPMessage *res = NULL;
  int rc;

  *dn = NULL;
  if (c->user_dn_template != NULL)
    {
      /* conf.c checked that the template holds exactly one %s. */
      const char *at = strstr (c->user_dn_template, "%s");
      if (asprintf (dn, "%.*s%s%s", (int)(at - c->user_dn_template),
                    c->user_dn_template, user, at + 2)
          < 0)
        return moat_error (err, ENOMEM, "LDAP");
      return 0;
    }
  if (asprintf (&filter, "(%s=%s)", c->user_attr, user) < 0)
    return moat_error (err, ENOMEM, "LDAP");
  rc = ldap_search_ext_s (ld, c->base_dn, LDAP_SCOPE_SUBTREE, filter, attrs, 0,
                          NULL, NULL, NULL, 2, &res);
  if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED
      && rc != LDAP_NO_SUCH_OBJECT)
    {
      ldap_msgfree (res);
      return unavailable (ld, dir, "user search", rc, err);
    }
  if (rc == LDAP_SUCCESS && ldap_count_entries (ld, res) == 1)
    {
      char *d = ldap_get_dn (ld, ldap_first_entry (ld, res));
      if (d != NULL)
        {
          *dn = strdup (d);
          ldap_memfree (d);
        }
      if (*dn == NULL)
        {
          ldap_msgfree (res);
          return moat_error (err, ENOMEM, "LDAP");
        }
    }
  ldap_msgfree (res);
  return 0;
}

/* The groups whose member attribute holds the user (its DN for member and
 * uniqueMember, its name for memberUid), named by groupNameAttr, lower
 * case; a name that breaks the rules of allowedOrgs is skipped (it could
 * never match one). */
static int
group_names (LDAP *ld, struct directory *dir, const char *user, const char *dn,
             char ***orgs, moat_error_t *err)
{
  const struct ldap_conf *c = &dir->ldap;
  char *attrs[] = { c->group_name_attr, NULL };
  bool by_uid = strcmp (c->group_member_attr, "memberUid") == 0;
  cleanup_free char *value = filter_escape (by_uid ? user : dn);
  cleanup_free char *filter = NULL;
  LDAPMessage *res = NULL, *e;
  char **v = NULL;
  size_t n = 0;
  int rc;

  if (value == NULL
      || asprintf (&filter, "(%s=%s)", c->group_member_attr, value) < 0
      || (v = calloc (1, sizeof *v)) == NULL)
    return moat_error (err, ENOMEM, "LDAP");
  rc = ldap_search_ext_s (ld, c->group_base_dn, LDAP_SCOPE_SUBTREE, filter,
                          attrs, 0, NULL, NULL, NULL, 1000, &res);
  if (rc != LDAP_SUCCESS)
    {
      ldap_msgfree (res);
      directory_strv_free (v);
      return unavailable (ld, dir, "group search", rc, err);
    }
  for (e = ldap_first_entry (ld, res); e != NULL; e = ldap_next_entry (ld, e))
    {
      struct berval **vals = ldap_get_values_len (ld, e, c->group_name_attr);
      for (size_t i = 0; vals != NULL && vals[i] != NULL; i++)
        {
          char name[65];
          if (vals[i]->bv_len == 0 || vals[i]->bv_len >= sizeof name
              || memchr (vals[i]->bv_val, '\0', vals[i]->bv_len) != NULL)
            continue;
          memcpy (name, vals[i]->bv_val, vals[i]->bv_len);
          name[vals[i]->bv_len] = '\0';
          for (char *p = name; *p != '\0'; p++)
            if (*p >= 'A' && *p <= 'Z')
              *p = (char)(*p - 'A' + 'a');
          if (!directory_org_name_p (name))
            continue;
          if (strv_add (&v, &n, name) < 0)
            {
              ldap_value_free_len (vals);
              ldap_msgfree (res);
              directory_strv_free (v);
              return moat_error (err, ENOMEM, "LDAP");
            }
        }
      ldap_value_free_len (vals);
    }
  ldap_msgfree (res);
  strv_sort (v, n);
  *orgs = v;
  return 0;
}

/* Bind with the service account when one is configured; anonymous
 * otherwise (no bind at all). */
static int
service_bind (LDAP *ld, struct directory *dir, moat_error_t *err)
{
  int r;
  if (dir->ldap.bind_dn == NULL)
    return 0;
  r = bind_as (ld, dir, dir->ldap.bind_dn, dir->ldap.bind_password,
               dir->ldap.bind_password_len, err);
  if (r == 0)
    return directory_unavailable (err,
                                  "LDAP server %s refused bindDn `%s` (check "
                                  "bindPasswordFile)",
                                  dir->ldap.url, dir->ldap.bind_dn);
  return r < 0 ? -1 : 0;
}

int
ldap_authenticate (struct directory *dir, const char *user,
                   const char *password, char ***orgs, moat_error_t *err)
{
  size_t len = strnlen (password, DIRECTORY_PASSWORD_MAX + 1);
  cleanup_free char *dn = NULL;
  LDAP *ld = NULL;
  int r;

  if (user == NULL || !directory_user_name_p (user, true) || len == 0
      || len > DIRECTORY_PASSWORD_MAX)
    return directory_badcred (err);
  if (connect_ldap (dir, &ld, err) < 0)
    return -1;
  if (dir->ldap.user_dn_template == NULL
      && (service_bind (ld, dir, err) < 0
          || user_dn (ld, dir, user, &dn, err) < 0))
    goto fail;
  if (dir->ldap.user_dn_template != NULL
      && user_dn (ld, dir, user, &dn, err) < 0)
    goto fail;
  if (dn == NULL)
    {
      unbind (ld);
      return directory_badcred (err);
    }
  r = bind_as (ld, dir, dn, password, len, err);
  if (r < 0)
    goto fail;
  if (r == 0)
    {
      unbind (ld);
      return directory_badcred (err);
    }
  /* Groups are read as the user: their own bind decides what they see. */
  r = group_names (ld, dir, user, dn, orgs, err);
  unbind (ld);
  return r;
fail:
  unbind (ld);
  return -1;
}

int
ldap_user_orgs (struct directory *dir, const char *user, char ***orgs,
                moat_error_t *err)
{
  cleanup_free char *dn = NULL;
  LDAP *ld = NULL;
  int r;

  if (connect_ldap (dir, &ld, err) < 0)
    return -1;
  if (service_bind (ld, dir, err) < 0 || user_dn (ld, dir, user, &dn, err) < 0)
    {
      unbind (ld);
      return -1;
    }
  if (dn == NULL)
    {
      unbind (ld);
      *orgs = calloc (1, sizeof **orgs);
      return *orgs == NULL ? moat_error (err, ENOMEM, "LDAP") : 0;
    }
  r = group_names (ld, dir, user, dn, orgs, err);
  unbind (ld);
  return r;
}

int
ldap_probe (struct directory *dir, moat_error_t *err)
{
  char *attrs[] = { (char *)LDAP_NO_ATTRS, NULL };
  LDAPMessage *res = NULL;
  LDAP *ld = NULL;
  int rc;

  if (connect_ldap (dir, &ld, err) < 0)
    return -1;
  if (service_bind (ld, dir, err) < 0)
    {
      unbind (ld);
      return -1;
    }
  rc = ldap_search_ext_s (ld, dir->ldap.group_base_dn, LDAP_SCOPE_BASE,
                          "(objectClass=*)", attrs, 0, NULL, NULL, NULL, 1,
                          &res);
  ldap_msgfree (res);
  if (rc != LDAP_SUCCESS)
    {
      unavailable (ld, dir, "read of groupBaseDn", rc, err);
      unbind (ld);
      return -1;
    }
  unbind (ld);
  return 0;
}
