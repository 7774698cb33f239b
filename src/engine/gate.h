/* The sign-in gate of the guarded socket: a uid -> verdict table that
 * moatd's sign-in role builds from its sessions and publishes to the guard
 * (engine_guard_set_gate), so that the per-request decision is one binary
 * search in memory: no SQLite, no lock beyond the one the guard already
 * takes to read its policy (docs/signin.md, "the gate").
 *
 * A table is immutable once sealed.  While it enforces (allowedOrgs set),
 * a uid is served only when it has an entry of a member whose session has
 * not expired; every other uid gets the contract's sign-in message.  No
 * entry, or an expired one: REFUSAL_SIGNIN_REQUIRED; an entry of a user who
 * is not a member: REFUSAL_SIGNIN_NOT_MEMBER. */
#ifndef MOAT_ENGINE_GATE_H
#define MOAT_ENGINE_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct engine_gate;

/* A table for allowedOrgs orgs[0..n_orgs); n_orgs == 0: not enforced
 * (every uid passes).  NULL on allocation failure (err set). */
struct engine_gate *engine_gate_new (const char *const *orgs, size_t n_orgs,
                                     moat_error_t *err);

/* Add uid's session: user (for the not-a-member text), whether it is a
 * member of an allowed organisation, and when it expires (CLOCK_REALTIME
 * seconds).  A uid added twice keeps the last entry.  Before
 * engine_gate_seal() only. */
int engine_gate_add (struct engine_gate *g, uid_t uid, const char *user,
                     bool member, int64_t expires_s, moat_error_t *err);

/* Sort the entries: the table becomes immutable and ready for lookups. */
void engine_gate_seal (struct engine_gate *g);

/* True when the table enforces sign-in. */
bool engine_gate_enforced_p (const struct engine_gate *g);

/* The verdict for uid at now_s (CLOCK_REALTIME seconds): 0 to serve, or -1
 * with *message the refusal text (owned by the table).  g NULL: serve. */
int engine_gate_check (const struct engine_gate *g, uid_t uid, int64_t now_s,
                       const char **message);

void engine_gate_free (struct engine_gate *g);

/* True for the requests that answer without a session (GET/HEAD /_ping and
 * GET /version, with or without a /vX.Y prefix): clients then print the
 * sign-in message of their first real call instead of "cannot connect". */
bool engine_gate_exempt_p (const char *route_pattern);

#endif
