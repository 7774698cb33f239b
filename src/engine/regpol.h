/* The registry a request makes the engine connect to (docs/net-guard.md,
 * "Registry traffic of a container's socket").  On a filtered socket (a
 * container's), dockerd would connect from the host's side to a registry
 * the container names: a channel around the air gap.  So the guard asks
 * moatd (engine_registry_fn) to decide that registry's host and port as
 * the net guard decides the container's own connections.
 *
 * Pure: no I/O (tests/unit/test_engine_regpol.c). */
#ifndef MOAT_ENGINE_REGPOL_H
#define MOAT_ENGINE_REGPOL_H

#include "common/error.h"

/* The registry host and port that method + path (decoded, /vX.Y removed)
 * + raw query make the engine reach:
 *   POST /images/create?fromImage=NAME   NAME's registry (no fromImage: an
 *                                         import, checked elsewhere)
 *   POST /images/NAME/push               NAME's registry
 *   GET  /distribution/NAME/json         NAME's registry
 *   GET  /images/search?term=[INDEX/]T   INDEX, else index.docker.io
 *   POST /auth                           host "" (the ServerAddress is in
 *                                         the body, not read: see docs)
 * docker.io is registry-1.docker.io; the port is the explicit one, else
 * 443.  Returns 1 with *host malloc'd (a bracket-less IPv6 literal for
 * "[::1]:5000") and *port; 0 when the request reaches no registry; -1
 * when the name cannot be read (refuse: fail closed). */
int engine_registry_target (const char *method, const char *path,
                            const char *query, char **host, unsigned *port,
                            moat_error_t *err);

/* Split a registry domain ("host", "host:5000", "[v6]:5000") into a
 * malloc'd host and a port (443 when none). */
int engine_registry_split (const char *domain, char **host, unsigned *port,
                           moat_error_t *err);

#endif
