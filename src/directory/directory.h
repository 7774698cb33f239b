/* The organization directory: who may sign in, with which password, and
 * which organizations each user belongs to.
 *
 * $MOAT_ROOT/etc/moat/directory.json names the backend (docs/signin.md):
 *   - missing, or {"type": "local"}: the local directory, one SQLite file
 *     ($MOAT_ROOT/var/lib/moat/directory.db, 0600, root only) with users
 *     (Argon2id password hashes), organizations and memberships;
 *   - {"type": "ldap", "url": ..., ...}: an LDAP server; the user binds as
 *     themselves and organizations are LDAP groups.
 * directory.json is a root-trusted file (fs_read_trusted): a file a non-root
 * user could change, a symlink, bad JSON, duplicate or unknown keys are all
 * errors naming the file.
 *
 * Failures of authenticate and user_orgs set the error's status to one of
 * the codes below, so a caller can tell a refusal from an outage without
 * reading the message (directory_error_kind).  The same message is used for
 * an unknown user and a wrong password, and an unknown local user still
 * costs one Argon2id verify, so neither the answer nor its time tells
 * whether a user exists.
 *
 * One `struct directory` per thread (it holds a SQLite or LDAP connection);
 * none of the functions keep a password after they return. */
#ifndef MOAT_DIRECTORY_DIRECTORY_H
#define MOAT_DIRECTORY_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/paths.h"

/* Error statuses (moat_error_status) of directory failures.  Outside the
 * errno range, so that they never collide with one. */
enum
{
  DIRECTORY_E_BADCRED = 0x4d0001,     /* unknown user or wrong password */
  DIRECTORY_E_UNAVAILABLE = 0x4d0002, /* backend down: fail closed */
};

/* The one message of DIRECTORY_E_BADCRED. */
#define DIRECTORY_BADCRED_MSG "unknown user or wrong password"

/* Longest password accepted (bytes); a longer one is a bad credential. */
#define DIRECTORY_PASSWORD_MAX 1024

struct directory;

/* Read directory.json (missing = local) and open the backend it names.  A
 * local directory whose database does not exist yet is opened empty (every
 * sign-in fails until `moat directory user add`); the file is not created.
 * An LDAP directory connects lazily: a server that is down is reported by
 * authenticate/user_orgs as DIRECTORY_E_UNAVAILABLE, not here. */
int directory_open (const struct moat_paths *paths, struct directory **out,
                    moat_error_t *err);
void directory_close (struct directory *dir);

/* "local" or "ldap". */
const char *directory_type (const struct directory *dir);

/* Check user's password.  0: *orgs is a NULL-terminated list of the user's
 * organizations (lower case, sorted, possibly empty) that the caller frees
 * with directory_strv_free.  -1 with *err: DIRECTORY_E_BADCRED (unknown
 * user, wrong password, empty or oversized password, a name that is not a
 * valid user name), DIRECTORY_E_UNAVAILABLE (LDAP server unreachable or
 * failing), or another status for local errors (a database that cannot be
 * read). */
int directory_authenticate (struct directory *dir, const char *user,
                            const char *password, char ***orgs,
                            moat_error_t *err);

/* The organizations of user without a password (the periodic revocation
 * check of sessions).  A user that no longer exists is a member of nothing:
 * 0 with an empty list.  -1: DIRECTORY_E_UNAVAILABLE or a local error. */
int directory_user_orgs (struct directory *dir, const char *user, char ***orgs,
                         moat_error_t *err);

/* Is the directory usable now (for `moat status`)?  Local: the database,
 * when it exists, opens (0 also when there is none yet).  LDAP: a
 * connection, the service bind when bindDn is set, and a read of
 * groupBaseDn itself; -1 with DIRECTORY_E_UNAVAILABLE otherwise. */
int directory_probe (struct directory *dir, moat_error_t *err);

/* DIRECTORY_E_BADCRED, DIRECTORY_E_UNAVAILABLE, or 0 for any other error. */
int directory_error_kind (const moat_error_t *err);

/* Is s a valid user name: [a-z0-9][a-z0-9._-]*, at most 64 bytes (LDAP
 * names may also hold upper case and '@').  Names are checked before they
 * reach SQL or an LDAP DN or filter, so none needs escaping. */
bool directory_user_name_p (const char *s, bool ldap);

/* Is s a valid organization name (the rules of allowedOrgs):
 * [a-z0-9._-]+, at most 64 bytes. */
bool directory_org_name_p (const char *s);

/* Free a NULL-terminated list (NULL is fine). */
void directory_strv_free (char **v);

/* Wipe and free a password buffer of len bytes (NULL is fine). */
void directory_password_free (char *pw, size_t len);

#endif
