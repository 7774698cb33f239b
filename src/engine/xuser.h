/* Other users' volumes and networks, and prunes (docs/engine-eci-checks.md,
 * "Other users' volumes and networks"): under ECI a caller that is not
 * root may prune, inspect, remove, mount or join only the volumes and
 * networks it created (their com.moat.caller.uid label); unlabelled ones
 * count as root's; the default networks (bridge, none, host) stay open;
 * image and build-cache prunes are root's.  Listing stays open. */
#ifndef MOAT_ENGINE_XUSER_H
#define MOAT_ENGINE_XUSER_H

#include <stddef.h>

#include "engine/archive.h"
#include "engine/eci.h"

/* POST path with a JSON body on the engine: the answer's HTTP status, or
 * -1 when the engine cannot be asked.  May block (bounded); thread-safe. */
typedef int (*engine_post_fn) (void *ctx, const char *path, const char *body,
                               size_t len);

/* POST /containers/prune, /volumes/prune, /networks/prune by a caller that
 * is not root: *uri (malloc'd) is the request-URI to send instead: the
 * same path (with "/v<version>" when version is not ""), its query only
 * filters=, the caller's first filters (as the engine reads them; the
 * legacy {"k":["v"]} form folded to {"k":{"v":true}}) with
 * label=com.moat.caller.uid=<uid> added (the engine ANDs labels).
 * Filters that are not a JSON object of those forms: 400. */
int engine_prune_uri (const char *version, const char *path, const char *query,
                      unsigned caller_uid, char **uri, struct eci_verdict *v);

/* GET / PUT / DELETE /volumes/{name}: passes (0) when the volume is the
 * caller's; another's or root's (no label) 403, none 404, an engine that
 * cannot be asked 502. */
int engine_volume_owner_check (engine_get_fn get, void *ctx, const char *name,
                               unsigned caller_uid, struct eci_verdict *v);

/* GET / DELETE /networks/{id}, POST .../connect, .../disconnect: passes
 * when the network is the caller's, or a default one (bridge, none, host
 * without an owner label); otherwise as engine_volume_owner_check. */
int engine_network_owner_check (engine_get_fn get, void *ctx, const char *name,
                                unsigned caller_uid, struct eci_verdict *v);

/* POST /networks/{id}/connect's body: an EndpointConfig.NetworkID (the
 * engine joins that network instead of the path's) must pass
 * engine_network_owner_check; one that does not exist passes. */
int engine_network_endpoint_check (engine_get_fn get, void *ctx,
                                   const char *body, size_t len,
                                   unsigned caller_uid, struct eci_verdict *v);

/* POST /volumes/create (as checked) by a caller that is not root: *out the
 * body with the caller's owner labels (any com.moat.* label of the client
 * dropped); a Name that is already another user's volume is refused. */
int engine_volume_create_owner (engine_get_fn get, void *ctx, const char *body,
                                size_t len, unsigned caller_uid,
                                unsigned caller_gid, char **out,
                                size_t *out_len, struct eci_verdict *v);

/* POST /networks/create by a caller that is not root: *out the body with
 * the owner labels and CheckDuplicate true (a second network of a name
 * would make the name ambiguous). */
int engine_network_create_owner (const char *body, size_t len,
                                 unsigned caller_uid, unsigned caller_gid,
                                 char **out, size_t *out_len,
                                 struct eci_verdict *v);

/* POST /containers/create (as checked) by a caller that is not root:
 * every named volume (HostConfig.Binds sources that are not paths,
 * HostConfig.Mounts of type volume with a Source) must be the caller's;
 * one that does not exist is made now for the caller (post; with the
 * mount's driver, options and labels), then inspected again: the
 * caller's, or refused.  Every network (HostConfig.NetworkMode other than
 * the default, none, host and container:<x>;
 * NetworkingConfig.EndpointsConfig keys and their NetworkID) must pass
 * engine_network_owner_check (one that does not exist passes). */
int engine_create_objects_check (engine_get_fn get, engine_post_fn post,
                                 void *ctx, const char *body, size_t len,
                                 unsigned caller_uid, unsigned caller_gid,
                                 struct eci_verdict *v);

#endif
