/* Who gave an image name its image (docs/engine-eci-checks.md, "Image
 * names of other users").  Image names are shared by every docker-group
 * user: user B could `docker tag`, build, commit, import or load an image
 * of B's under the name `busybox`, and user A's next `docker run busybox`
 * would run B's code with A's rights.  The guard records which uid made
 * each name -> image id binding (build -t, tag, commit, import, load: a
 * caller that is not root) and which a registry pull made, and refuses a
 * non-root caller's create of a name whose current binding another
 * non-root user made, unless a pull made the same binding since.  Content
 * addresses (an image id, name@sha256:digest) always pass: they cannot be
 * pointed elsewhere.  Labels are never trusted (a loaded image carries
 * any).  The records live in moatd's state db (the callbacks below). */
#ifndef MOAT_ENGINE_IMGPROV_H
#define MOAT_ENGINE_IMGPROV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/archive.h"
#include "engine/eci.h"
#include "io/buf.h"

/* Record that `uid` bound `name` (normalized, engine_image_norm) to image
 * `id` ("sha256:..."); uid ENGINE_IMAGE_PULLED: a registry pull did.
 * Thread-safe; 0 or -1. */
#define ENGINE_IMAGE_PULLED (-1)
typedef int (*engine_image_note_fn) (void *ctx, const char *name,
                                     const char *id, int64_t uid);
/* The latest non-root uid other than `caller` that bound name to id and
 * no pull bound it since: 1 with *other, 0 none, -1 cannot tell; 2 with
 * *other: a non-root uid other than `caller` has a binding of name in
 * flight (engine/imgpend.h), whatever id it gives.  Thread-safe. */
typedef int (*engine_image_namer_fn) (void *ctx, const char *name,
                                      const char *id, uid_t caller,
                                      uid_t *other);

/* The engine's normalized form of a reference ("busybox" ->
 * "docker.io/library/busybox:latest"), malloc'd; NULL for a content
 * address (an id, or name@digest) or what is no reference. */
char *engine_image_norm (const char *ref);

/* Decide a non-root caller's create (body as it will be sent): its Image
 * by name must not be another non-root user's binding.  0 passes; -1
 * refuses (403 eci.image-owner) or cannot tell (502, fail closed).
 * namer NULL: passes. */
int engine_image_name_check (engine_get_fn get, void *gctx,
                             engine_image_namer_fn namer, void *nctx,
                             const char *body, size_t len, uid_t caller,
                             struct eci_verdict *v);

/* The same for one reference (a build's FROM). */
int engine_image_ref_check (engine_get_fn get, void *gctx,
                            engine_image_namer_fn namer, void *nctx,
                            const char *ref, uid_t caller,
                            struct eci_verdict *v);

/* Decide a start or restart of container `name` (as in the request
 * path), for any caller: the create was checked with the image's name and
 * sent by name, so a re-tag between the check and the engine's lookup
 * gave the container another user's image.  The container is inspected;
 * when its creator (com.moat.caller.uid) is not root and its Config.Image
 * (by name, not id or digest) was bound to the image id it runs
 * (.Image) by a non-root uid other than the creator, no pull since, the
 * start is refused (403 eci.image-owner).  0 passes with *id (malloc'd:
 * the container's full id, the start is sent for it); no such container
 * 404, an engine or record that cannot be asked 502 (fail closed).
 * namer NULL: passes (*id still set). */
int engine_image_start_check (engine_get_fn get, void *gctx,
                              engine_image_namer_fn namer, void *nctx,
                              const char *name, char **id,
                              struct eci_verdict *v);

/* What a finished request bound, for the record (guard side). */
enum engine_image_prov
{
  IMGPROV_NONE,
  IMGPROV_NAMES, /* names known from the request (tag, build, commit,
                    import): resolved after the answer */
  IMGPROV_LOAD,  /* names read from the answer ("Loaded image: x") */
  IMGPROV_PULL,  /* a pull: the name, and the answer's "Digest: " */
};

/* From a request: its kind, and *names ('\n'-separated, malloc'd) that a
 * caller of uid binds.  Only non-root callers' bindings and everyone's
 * pulls are recorded. */
enum engine_image_prov engine_image_prov_of (const char *method,
                                             const char *path,
                                             const char *query, uid_t uid,
                                             char **names);

/* The answer of a LOAD or PULL as it passes (any size, any split): the
 * lines the record needs ("Loaded image: <ref>", "Digest: sha256:<hex>")
 * are appended to keep (at most 8 MiB); win holds the unscanned tail
 * (bounded).  0, or -1 out of memory. */
int engine_image_prov_scan (enum engine_image_prov kind, struct io_buf *win,
                            struct io_buf *keep, const char *at, size_t len);

/* After a 2xx answer (body: the answer's body for LOAD and PULL, else
 * NULL): resolve and note.  Runs on a check worker.  0, or -1 when a name
 * could not be recorded (the engine or the record could not be asked; a
 * name that no longer exists is no failure). */
int engine_image_prov_record (engine_get_fn get, void *gctx,
                              engine_image_note_fn note, void *nctx,
                              enum engine_image_prov kind, const char *names,
                              const char *body, size_t len, uid_t uid);

#endif
