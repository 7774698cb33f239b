/* Docker socket exceptions: which containers may mount the engine socket.
 *
 * A container's image passes when it matches
 * enhancedContainerIsolation.dockerSocketMount.imageList and is what the
 * allowed reference names in its registry: an unpinned reference
 * ("docker:cli") is resolved to its manifest digest there (HTTP API v2),
 * and that digest must be one of the image's RepoDigests, so that
 * `docker tag malicious docker:cli` does not pass.  A registry that cannot
 * be reached refuses unpinned references (fail closed).  With
 * allowDerivedImages, a local image whose layers start with the layers of
 * a validated allowed base passes too: the image a pattern names, or, for
 * a wildcard pattern, any local image whose tag it matches. */
#ifndef MOAT_ENGINE_SOCKEX_H
#define MOAT_ENGINE_SOCKEX_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/error.h"
#include "policy/imageref.h"
#include "policy/policy.h"

/* Largest manifest response header block / digest we accept. */
#define SOCKEX_DIGEST_MAX 160

/* What the engine says of a local image (GET /images/{name}/json). */
struct sockex_image
{
  char *id;            /* "sha256:<64 hex>", the content the engine runs */
  char **repo_digests; /* "domain/path@sha256:..." as the engine gives them */
  size_t n_repo_digests;
  char **layers; /* RootFS.Layers */
  size_t n_layers;
};

void sockex_image_free (struct sockex_image *im);

/* Fill im from an image inspect JSON body. */
int sockex_image_parse (const char *json, size_t len, struct sockex_image *im,
                        moat_error_t *err);

/* A local image as the engine lists it. */
struct sockex_local
{
  char *id;    /* "sha256:<64 hex>" */
  char **tags; /* RepoTags: "name:tag" */
  size_t n_tags;
};

#define SOCKEX_MAX_LOCAL 4096

/* The lookups a decision needs; injected so that tests can fake them. */
struct sockex_ops
{
  /* 0 = found, 1 = no such image, -1 = error */
  int (*inspect) (void *ctx, const char *name, struct sockex_image *out,
                  moat_error_t *err);
  /* Manifest digest of ref (has a tag) in its registry; -1 when the
   * registry cannot be reached or does not answer with one. */
  int (*remote_digest) (void *ctx, const struct imageref *ref, char **digest,
                        moat_error_t *err);
  /* The engine's local images with their tags (GET /images/json); -1 on
   * error.  Needed only for derived images of wildcard patterns; NULL:
   * such patterns name no base. */
  int (*list_images) (void *ctx, struct sockex_local **out, size_t *n,
                      moat_error_t *err);
  void *ctx;
};

/* Parse the answer of GET /images/json: the images that have an id and at
 * least one tag ("<none>:<none>" left out), at most SOCKEX_MAX_LOCAL. */
int sockex_local_parse (const char *json, size_t len,
                        struct sockex_local **out, size_t *n,
                        moat_error_t *err);
void sockex_local_free (struct sockex_local *l, size_t n);

/* A wildcard pattern's derived-image check inspects at most this many
 * local images (those with a tag the pattern matches). */
#define SOCKEX_MAX_BASES 256

/* Decide for a container of `image` (as written in the create body).
 * Returns 0 = allowed, with *image_id (when image_id is not NULL) the
 * malloc'd id ("sha256:...") of the image that was checked: the create
 * must run exactly that, not whatever the name resolves to later.
 * Returns -1 = refused with *message malloc'd (NULL: the contract "not in
 * the allowed list" message applies). */
int sockex_decide (const struct policy *pol, const struct sockex_ops *ops,
                   const char *image, char **image_id, char **message);

/* True for "sha256:" followed by 64 lower-case hex digits. */
bool sockex_image_id_p (const char *id);

/* Does the cgroup path (one line's path of /proc/PID/cgroup) put its
 * process in container id (64 hex digits)?  Its first component that is
 * a container id decides: /docker/<id>[/...] or .../docker-<id>.scope. */
bool sockex_cgroup_names_p (const char *cgpath, const char *id);

/* A registry manifest digest lookup with a cache. */
struct sockex_registry;

/* ttl_s: how long a digest is trusted before it is fetched again;
 * timeout_ms: per request. */
struct sockex_registry *sockex_registry_new (unsigned ttl_s, long timeout_ms);
void sockex_registry_free (struct sockex_registry *r);

/* HEAD /v2/<path>/manifests/<tag> (Accept: docker v2 and OCI manifests and
 * indexes) at ref's registry; the Docker-Content-Digest answer, cached.
 * http for loopback registries (as Docker treats them as insecure), https
 * otherwise; docker.io is registry-1.docker.io.  A 401 with a Bearer
 * challenge is answered with an anonymous token from the realm (Docker
 * Hub's flow, see regauth.h); any other 401 is an error. */
int sockex_registry_digest (struct sockex_registry *r,
                            const struct imageref *ref, char **digest,
                            moat_error_t *err);

/* Parse one response header line; when it is Docker-Content-Digest with a
 * well-formed sha256/sha512 digest, copy it to out (NUL-terminated) and
 * return 1; 0 otherwise. */
int sockex_parse_digest_header (const char *line, size_t len,
                                char out[SOCKEX_DIGEST_MAX]);

#endif
