/* docker cp (PUT/GET/HEAD /containers/{name}/archive) is carried out by
 * the engine itself, as host root, without starting the container's
 * runtime: through a bind mount it would write files with the tar's
 * owners and modes (a setuid-root file) and read files the caller cannot
 * read.  So for a caller that is not root, a container that mounts a host
 * path is refused these endpoints.  docs/engine-eci-checks.md, "docker
 * cp". */
#ifndef MOAT_ENGINE_ARCHIVE_H
#define MOAT_ENGINE_ARCHIVE_H

#include <stddef.h>

#include "engine/eci.h"

/* GET path on the engine: 0 with *body / *len malloc'd (200), 1 for 404,
 * -1 when the engine cannot be asked or answers otherwise.  May block
 * (bounded); thread-safe. */
typedef int (*engine_get_fn) (void *ctx, const char *path, char **body,
                              size_t *len);

/* Decide a non-root caller's archive request on container `name` (as in
 * the request path).  Passes (0) when no mount of the container reaches a
 * host path: only tmpfs and image mounts, and volumes of the local driver
 * without a `device` option; *id is then the container's full id (the
 * request is sent for that id, so that a container re-created under the
 * same name in between is not the one written to).  Refuses (-1, v
 * filled) a bind mount, a local volume with a device, a volume of any
 * other driver, a mount type it does not know, a container that does not
 * exist, and an engine that cannot be asked (fail closed). */
int engine_archive_check (engine_get_fn get, void *ctx, const char *name,
                          char **id, struct eci_verdict *v);

/* The same for a root caller: only a bind whose source is standin (a
 * non-root caller's bind, eci.h ECI_BINDS_LABEL) is refused: the engine
 * would copy into or out of the empty stand-in, not the creator's
 * directory.  standin NULL: every container passes (*id still set). */
int engine_archive_check_root (engine_get_fn get, void *ctx, const char *name,
                               const char *standin, char **id,
                               struct eci_verdict *v);

/* Decide a non-root caller's exec or attach on container `name`: it
 * passes (0, *id its full id, the request is sent for it) only when the
 * container's com.moat.caller.uid label is caller_uid.  A container of
 * another uid, or without the label (root's, made on the engine's own
 * socket), is refused 403 (rule eci.owner); one that does not exist 404;
 * an engine that cannot be asked 502 (fail closed).
 * docs/engine-eci-checks.md, "Other users' containers". */
int engine_owner_check (engine_get_fn get, void *ctx, const char *name,
                        unsigned caller_uid, char **id, struct eci_verdict *v);

/* The same for exec `exec_id` (POST /exec/{id}/start, .../resize, GET
 * .../json): the exec is inspected for its container, which must pass
 * engine_owner_check; *id is then the exec's full id.  An exec that does
 * not exist is 404, an engine that cannot be asked 502 (fail closed). */
/* A non-root caller's container create under ECI (body as sent): its
 * image is inspected, and refused (403, rule eci.ext-project) when the
 * image carries com.docker.compose.project=moat-ext-* (a container
 * inherits its image's labels; eci_check_ext_reserved checks the body).
 * No such image passes (the engine refuses the create); an engine that
 * cannot be asked 502. */
int eci_check_ext_image (engine_get_fn get, void *ctx, const char *body,
                         size_t len, struct eci_verdict *v);

int engine_exec_owner_check (engine_get_fn get, void *ctx, const char *exec_id,
                             unsigned caller_uid, char **id,
                             struct eci_verdict *v);

#endif
