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

/* POST /containers/prune, /volumes/prune, /networks/prune by a caller that
 * is not root: *uri (malloc'd) is the request-URI to send instead: the
 * same path (with "/v<version>" when version is not ""), its query only
 * filters=, the caller's first filters (as the engine reads them; the
 * legacy {"k":["v"]} form folded to {"k":{"v":true}}) with
 * label=com.moat.caller.uid=<uid> added (the engine ANDs labels).
 * Filters that are not a JSON object of those forms: 400. */
int engine_prune_uri (const char *version, const char *path, const char *query,
                      unsigned caller_uid, char **uri, struct eci_verdict *v);

#endif
