/* The owner rule beyond exec and attach (docs/engine-eci-checks.md,
 * "Other users' containers"): under ECI a caller that is not root may
 * reach, by any endpoint, only the containers it created.  The per-
 * container endpoints are checked with engine_owner_check (archive.h);
 * these are the requests that name a container elsewhere than in their
 * path: docker commit's query, network connect / disconnect's body, and
 * a create that joins or borrows another container (VolumesFrom,
 * NetworkMode / PidMode / IpcMode "container:<name>", Links). */
#ifndef MOAT_ENGINE_OWNER_H
#define MOAT_ENGINE_OWNER_H

#include <stddef.h>

#include "engine/archive.h"
#include "engine/eci.h"

/* POST /commit?container=<name>: passes (0) when the container is the
 * caller's; two different container= values are refused (400). */
int engine_commit_owner_check (engine_get_fn get, void *ctx, const char *query,
                               unsigned caller_uid, struct eci_verdict *v);

/* POST /networks/{id}/connect and /disconnect: the body's Container must
 * be the caller's.  Passes with *out (malloc'd, *out_len) the body to
 * send, its Container rewritten to the full id that was checked. */
int engine_network_member_check (engine_get_fn get, void *ctx,
                                 const char *body, size_t len,
                                 unsigned caller_uid, char **out,
                                 size_t *out_len, struct eci_verdict *v);

/* POST /containers/create (the body as the ECI check sends it): every
 * container it names - HostConfig.VolumesFrom, HostConfig.Links,
 * NetworkingConfig.EndpointsConfig.*.Links, and the "container:<name>"
 * forms of NetworkMode, PidMode and IpcMode - must be the caller's. */
int engine_create_refs_check (engine_get_fn get, void *ctx, const char *body,
                              size_t len, unsigned caller_uid,
                              struct eci_verdict *v);

#endif
