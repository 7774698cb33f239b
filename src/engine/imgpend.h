/* Image name bindings in flight (docs/engine-eci-checks.md, "Bindings
 * whose answer was never seen").  The guard records who bound an image
 * name after it read the engine's answer; a client that pipelines a tag
 * behind an answer it never reads (or disconnects) kept that answer, and
 * the record, from ever being made while the engine applied the tag.  So
 * a non-root request that binds names known from the request (tag, build
 * -t, commit, import) is entered here before its first byte goes to the
 * engine: "name N by uid U, image unknown".  A 2xx answer replaces it by
 * the record, a 4xx/5xx removes it, an answer never seen leaves it (until
 * moatd stops: the table lives in memory).  Thread-safe. */
#ifndef MOAT_ENGINE_IMGPEND_H
#define MOAT_ENGINE_IMGPEND_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* at most this many names in flight, and of one uid: a binding past
 * either is not sent (one user filling the table blocks only itself) */
#define ENGINE_IMAGE_PENDING_MAX 16384
#define ENGINE_IMAGE_PENDING_UID_MAX 512

struct engine_image_pending_ent
{
  char *name; /* normalized (engine_image_norm) */
  uid_t uid;
  uint64_t token;
};

struct engine_image_pending
{
  pthread_mutex_t mu;
  struct engine_image_pending_ent *e;
  size_t n, cap;
  uint64_t next; /* the last token given */
};

void engine_image_pending_init (struct engine_image_pending *p);
void engine_image_pending_free (struct engine_image_pending *p);

/* Enter each of names ('\n'-separated references, as the request gave
 * them; what is no name is skipped) as bound by uid, under one token.
 * 0 with *token (0: nothing entered), -1 out of memory or the table full
 * (nothing entered). */
int engine_image_pending_add (struct engine_image_pending *p,
                              const char *names, uid_t uid, uint64_t *token);

/* Remove what token entered (0: nothing). */
void engine_image_pending_drop (struct engine_image_pending *p,
                                uint64_t token);

/* A binding of name (normalized) in flight by a uid other than 0 and
 * caller: 1 with *other, else 0. */
int engine_image_pending_find (struct engine_image_pending *p,
                               const char *name, uid_t caller, uid_t *other);

#endif
