/* What the parts of src/directory share: the directory handle, the parsed
 * directory.json, and the backends' entry points. */
#ifndef MOAT_DIRECTORY_INTERNAL_H
#define MOAT_DIRECTORY_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "directory.h"

enum directory_kind
{
  DIRECTORY_LOCAL,
  DIRECTORY_LDAP,
};

/* {"type": "ldap", ...} of directory.json (docs/signin.md). */
struct ldap_conf
{
  char *url;               /* ldap://host:port or ldaps://host:port */
  char *user_dn_template;  /* "uid=%s,ou=people,dc=example,dc=org", or */
  char *base_dn;           /* search base for userAttr=<user> */
  char *user_attr;         /* default "uid" */
  char *group_base_dn;     /* where the organizations' groups are */
  char *group_member_attr; /* "member" (a DN) or "memberUid" (a name) */
  char *group_name_attr;   /* default "cn" */
  char *bind_dn;           /* optional service account for lookups */
  char *bind_password;     /* read from bindPasswordFile */
  size_t bind_password_len;
  char *ca_file;  /* optional CA bundle for ldaps:// and startTLS */
  bool start_tls; /* StartTLS on an ldap:// URL */
  int timeout_s;  /* network and operation timeout, default 5 */
};

struct directory
{
  enum directory_kind kind;
  char *conf_path; /* directory.json (for messages) */
  /* local */
  char *db_path;
  sqlite3 *db; /* NULL until the database exists */
  /* ldap */
  struct ldap_conf ldap;
};

/* directory.json bytes into dir->kind and dir->ldap; every error names
 * path. */
int directory_conf_parse (const char *buf, size_t len, const char *path,
                          const char *root, struct directory *dir,
                          moat_error_t *err);
void ldap_conf_free (struct ldap_conf *c);

/* The local backend (local.c). */
int local_authenticate (struct directory *dir, const char *user,
                        const char *password, char ***orgs, moat_error_t *err);
int local_user_orgs (struct directory *dir, const char *user, char ***orgs,
                     moat_error_t *err);
int local_probe (struct directory *dir, moat_error_t *err);
/* Open dir->db_path (create: make it, 0600, with its schema). */
int local_db_open (const char *path, bool create, sqlite3 **out,
                   moat_error_t *err);

/* The LDAP backend (ldap.c). */
int ldap_authenticate (struct directory *dir, const char *user,
                       const char *password, char ***orgs, moat_error_t *err);
int ldap_user_orgs (struct directory *dir, const char *user, char ***orgs,
                    moat_error_t *err);
int ldap_probe (struct directory *dir, moat_error_t *err);

/* Password hashes (hash.c): Argon2id, parameters in docs/signin.md. */
int hash_password (const char *pw, size_t len, char **encoded,
                   moat_error_t *err);
/* 1 match, 0 no match, -1 error (a malformed stored hash). */
int hash_verify (const char *encoded, const char *pw, size_t len,
                 moat_error_t *err);

/* Errors with a directory status. */
int directory_badcred (moat_error_t *err);
int directory_unavailable (moat_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* A NULL-terminated list being built: append a copy of s (lower-cased,
 * skipped when already there).  -1 on allocation failure. */
int strv_add (char ***v, size_t *n, const char *s);
/* Sort a list in place (strcmp). */
void strv_sort (char **v, size_t n);

#endif
