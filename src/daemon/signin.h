/* Sign-in sessions of moatd (docs/signin.md, "sessions"): one per OS uid,
 * kept in the state database (table signin_sessions) so that a restart of
 * moatd keeps them, with an absolute expiry SIGNIN_SESSION_TTL_S after
 * `moat login`.  The session store is plain SQL on a connection the caller
 * owns; the gate table (engine/gate.h) is built from the sessions and the
 * sign-in policy by signin_gate_build.  Used by the sign-in role
 * (signin_role.c) on moatd's main thread only. */
#ifndef MOAT_DAEMON_SIGNIN_H
#define MOAT_DAEMON_SIGNIN_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "engine/gate.h"
#include "policy/signin.h"

/* A session lasts 24 hours from `moat login` (not sliding: the gate's hot
 * path writes nothing). */
#define SIGNIN_SESSION_TTL_S (24 * 3600)

struct signin_session
{
  uid_t uid;
  char *user;
  char **orgs; /* NULL-terminated, the user's organisations at the last
                  check (login or revocation check) */
  int64_t created_s, expires_s; /* CLOCK_REALTIME seconds */
};

/* Create the table if it does not exist. */
int signin_store_init (sqlite3 *db, moat_error_t *err);

/* Insert or replace uid's session. */
int signin_store_put (sqlite3 *db, const struct signin_session *s,
                      moat_error_t *err);

/* Delete uid's session: 1 when there was one, 0 when not, -1 on error. */
int signin_store_delete (sqlite3 *db, uid_t uid, moat_error_t *err);

/* Every session, ordered by uid (*out NULL when none). */
int signin_store_load (sqlite3 *db, struct signin_session **out, size_t *n,
                       moat_error_t *err);

void signin_session_clear (struct signin_session *s);
void signin_sessions_free (struct signin_session *v, size_t n);

/* Copy a NULL-terminated list (NULL: an empty list). */
char **signin_strv_dup (char *const *v);
void signin_strv_free (char **v);

/* Whether orgs holds one of the policy's allowedOrgs (true when the policy
 * enforces none). */
bool signin_member_p (char *const *orgs, const struct signin_policy *pol);

/* The gate table for these sessions under pol.  Expired sessions are left
 * out (the gate would refuse them anyway). */
struct engine_gate *signin_gate_build (const struct signin_session *v,
                                       size_t n,
                                       const struct signin_policy *pol,
                                       int64_t now_s, moat_error_t *err);

#endif
