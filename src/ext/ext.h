/* Extension life cycle: install, update, remove, list (docs/extensions.md).
 * moatd runs these as root, on its main thread, one at a time.
 *
 * - The image's files are read without running it: a container is created
 *   (never started, no network) on the raw engine and its files are read
 *   with GET /containers/{id}/archive, then the container is removed.
 * - The backend (vm.image) is created and started on the guarded engine,
 *   so ECI, moat-runc and its exclusive id range apply as to any
 *   container; it is labelled com.moat.extension=<name>.  Its socket stays
 *   inside the container (/run/guest-services, a tmpfs): moatd reaches it
 *   as root through /proc/<pid>/root, which no other container and no
 *   non-root host user can traverse.
 * - Every step is undone when a later one fails: nothing is left half
 *   installed. */
#ifndef MOAT_EXT_EXT_H
#define MOAT_EXT_EXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "ext/metadata.h"

struct ext_ctx
{
  const char *engine_sock; /* raw engine: reads images, removes */
  const char *guard_sock;  /* guarded engine: backends are created here */
  const char *dir;         /* $MOAT_ROOT/var/lib/moat/extensions */
  long socket_wait_ms;     /* how long a backend has to open its socket */
  /* extensionSandboxGrants (admin-settings.json): {NAME or "*": scopes},
   * the most a sandbox may be granted; NULL when the key is not set. */
  const json_t *sandbox_pins;
};

/* Check an image on the engine: labels and metadata.json.  Returns 0 (no
 * problem), -1 with problems in probs, or -1 with *err when the image
 * cannot be read at all. */
int ext_validate_image (const struct ext_ctx *c, const char *image,
                        struct ext_problems *probs, moat_error_t *err);

/* What installing image would grant its sandboxed JavaScript:
 * {"script", "requestedScopes", "grants"} (*out NULL when it has none or
 * is not valid), for the install prompt. */
int ext_sandbox_preview (const struct ext_ctx *c, const char *image,
                         json_t **out, moat_error_t *err);

/* Install image (the policy check is the caller's).  *record: what was
 * installed (the record ls shows). */
int ext_install (const struct ext_ctx *c, const char *image, int64_t uid,
                 json_t **record, moat_error_t *err);

/* Replace an installed extension with another tag of it; its data
 * directory and the backend's volumes are kept. */
int ext_update (const struct ext_ctx *c, const char *image, int64_t uid,
                json_t **record, moat_error_t *err);

/* Remove the backend container, UI files and data.  Volumes only when
 * volumes is true; *left names the volumes left otherwise. */
int ext_remove (const struct ext_ctx *c, const char *name, bool volumes,
                json_t **left, moat_error_t *err);

/* Every installed extension's record with "backend": {"state",
 * "socket"} filled in from the engine now. */
int ext_list (const struct ext_ctx *c, json_t **out, moat_error_t *err);

/* The path of the backend socket of an installed extension
 * (/proc/PID/root/run/guest-services/SOCK), valid while its container
 * runs.  Never connect(2) to it as is: the backend controls every
 * component after /root/, and an absolute symlink there is followed from
 * the connecting process's root (a host socket).  Resolve it inside the
 * container's root first (openat2 RESOLVE_IN_ROOT, then
 * /proc/self/fd/N), as install.c connect_p does. */
int ext_backend_socket (const struct ext_ctx *c, const char *name, char *buf,
                        size_t bufsz, moat_error_t *err);

/* A connected descriptor to the socket at path (ext_backend_socket's
 * form), resolved inside the container's root as described above; -1
 * with errno otherwise.  The only way moatd reaches a backend. */
int ext_socket_open (const char *path);

#endif
