/* Managing the local directory (`moat directory ...`, root only): users
 * with Argon2id password hashes, organizations, memberships, in
 * $MOAT_ROOT/var/lib/moat/directory.db (0600, in a 0700 directory).
 *
 * The CLI opens the database itself rather than asking moatd: only root
 * can open the file, SQLite serializes writers against moatd's readers,
 * and moatd reads the database at every sign-in and revocation check (it
 * caches nothing from it), so a change is seen at the next check whether
 * moatd runs or not.  Names are checked (directory_user_name_p,
 * directory_org_name_p) before they reach SQL. */
#ifndef MOAT_DIRECTORY_LOCAL_H
#define MOAT_DIRECTORY_LOCAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/paths.h"

struct directory_local;

/* create: make the database (and its directory) when missing.  Without
 * create, a missing database is ENOENT.  Refuses a file that is not a
 * regular file owned by the caller with mode 0600 (EPERM). */
int directory_local_open (const struct moat_paths *paths, bool create,
                          struct directory_local **out, moat_error_t *err);
void directory_local_close (struct directory_local *l);
const char *directory_local_path (const struct directory_local *l);

/* EEXIST when the name is taken, ENOENT when it is missing, EINVAL for a
 * name that breaks the rules or an empty or oversized password. */
int directory_local_user_add (struct directory_local *l, const char *user,
                              const char *pw, size_t len, moat_error_t *err);
int directory_local_user_passwd (struct directory_local *l, const char *user,
                                 const char *pw, size_t len,
                                 moat_error_t *err);
int directory_local_user_rm (struct directory_local *l, const char *user,
                             moat_error_t *err);
int directory_local_org_add (struct directory_local *l, const char *org,
                             moat_error_t *err);
/* Removes the organization's memberships too. */
int directory_local_org_rm (struct directory_local *l, const char *org,
                            moat_error_t *err);
int directory_local_member_add (struct directory_local *l, const char *org,
                                const char *user, moat_error_t *err);
int directory_local_member_rm (struct directory_local *l, const char *org,
                               const char *user, moat_error_t *err);

/* {"users": [{"name", "orgs": [...]}], "orgs": [{"name", "members":
 * [...]}]}, sorted by name.  Never a hash. */
int directory_local_list (struct directory_local *l, json_t **out,
                          moat_error_t *err);

#endif
