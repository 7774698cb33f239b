/* Enhanced Container Isolation checks on Engine API request bodies.
 *
 * Every check reads the body the way the engine's Go JSON decoder does
 * (keys match case-insensitively, with Go's folding of U+017F and U+212A),
 * refuses what would be ambiguous (two keys folding to one field), and
 * re-serialises the body, so the engine sees exactly what was checked.
 * The tables of what is checked where are in docs/engine-eci-checks.md. */
#ifndef MOAT_ENGINE_ECI_H
#define MOAT_ENGINE_ECI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "policy/policy.h"

/* The runtime every container is forced to. */
#define ECI_RUNTIME "moat-runc"

/* Largest JSON body the guard reads to check it (create, volume create,
 * start).  Larger ones are refused with 413 before any parsing. */
#define ECI_MAX_JSON_BODY (1024 * 1024)

/* Decide whether a container of `image` (as written in the create body)
 * may mount the engine socket at `host_path` (resolved).  Return 0 to
 * allow: *image_id is then the malloc'd id ("sha256:...") of the image
 * that was checked, which the create is pinned to, and, when replace is
 * not NULL, *replace a malloc'd host path that replaces the bind source
 * (the container's filtered socket); replace NULL asks for the decision
 * only (a socket inherited through VolumesFrom).  Return -1 to refuse:
 * *message is a malloc'd refusal text, or NULL for the contract message.
 * Called once per create (the answer is reused for a second socket bind),
 * on one of the guard's check workers: it may block (bounded), and must be
 * thread-safe.  NULL hook = never. */
typedef int (*eci_socket_mount_fn) (void *ctx, const struct policy *pol,
                                    const char *image, const char *host_path,
                                    char **replace, char **image_id,
                                    char **message);

/* Label the create body gets when a socket bind was replaced: its value is
 * the filtered socket's host path, so that it can be removed with the
 * container. */
#define ECI_SOCKET_LABEL "com.moat.filtered-socket"

/* Label a create pinned to an image id gets: the image as the user wrote
 * it (`docker ps` shows the id the engine was told to run). */
#define ECI_IMAGE_LABEL "com.moat.image"

/* Who asked for a container: the uid and gid of the caller on the guarded
 * socket (SO_PEERCRED), or, through a container's filtered socket, those
 * that created that container.  Every create that passes the guard
 * carries them (decimal); moat-runc reads them from the engine's container
 * config to give shared directories the caller's rights. */
#define ECI_CALLER_UID_LABEL "com.moat.caller.uid"
#define ECI_CALLER_GID_LABEL "com.moat.caller.gid"

/* A non-root caller's host bind sources, as written: the create the engine
 * gets names a stand-in directory instead (eci_config.bind_standin), so
 * that the engine, which creates a missing bind source as host root at
 * every start and follows symlinks on the way, never resolves a path the
 * caller controls.  The value is a JSON object keyed by the cleaned
 * destination: {"/dst": {"src": "/host/path", "create": true|false}}
 * (create: Binds, which the engine creates when missing; Mounts, which it
 * does not).  moat-runc opens each source as the caller. */
#define ECI_BINDS_LABEL "com.moat.binds"

/* Every label under this prefix is moat's: a client's is removed. */
#define ECI_LABEL_PREFIX "com.moat."

/* The engine's inspect answer (GET /containers/{name}/json) for a
 * container: 0 with *json / *len malloc'd, 1 when there is no such
 * container, -1 when the engine cannot be asked.  Runs on a check worker,
 * like the socket-mount hook. */
typedef int (*eci_inspect_container_fn) (void *ctx, const char *name,
                                         char **json, size_t *len);

struct eci_config
{
  /* Never mountable, nor any parent of them: moat's own paths, the engine's
   * data and exec roots.  Absolute host paths. */
  const char *const *protected_paths;
  size_t n_protected;
  /* Engine sockets; a bind of one of them or a parent directory is a socket
   * mount.  /run/docker.sock and /run/containerd/containerd.sock are always
   * added. */
  const char *const *socket_paths;
  size_t n_sockets;
  eci_socket_mount_fn socket_mount_allowed;
  void *socket_mount_ctx;
  /* The address pool of the engine's networks (moatd's --container-cidrs,
   * IPv4 or IPv6 CIDRs): a user network's subnets must lie inside one of
   * the same family.  None: subnets are not restricted (an engine moat
   * did not start). */
  const char *const *container_cidrs;
  size_t n_container_cidrs;
  /* An existing root-owned directory the engine is given in place of a
   * non-root caller's host bind sources (ECI_BINDS_LABEL); NULL: sources
   * are passed as written. */
  const char *bind_standin;
  /* For HostConfig.VolumesFrom (NULL: VolumesFrom is refused). */
  eci_inspect_container_fn inspect_container;
  void *inspect_ctx;
};

/* What a check decided. */
struct eci_verdict
{
  int status;       /* 0 = passes (maybe rewritten); else HTTP status */
  char *message;    /* refusal message (contract text where one exists) */
  const char *rule; /* "eci.namespace", "eci.bind", "eci.socket-mount"... */
  char *image;      /* image of a create request, or NULL */
  char *rewrite;    /* what was rewritten, or NULL */
  char *socket;     /* filtered socket that replaced engine socket binds */
  char *image_id;   /* socket mount allowed for this image id: the create's
                       Image is rewritten to it */
  char *pin;        /* that rewrite, for the audit log, or NULL */
};

void eci_verdict_clear (struct eci_verdict *v);

/* POST /containers/create.  Refuses host namespaces, binds outside the
 * shared directories, socket mounts, local volume options that name host
 * paths or devices, driver names that are not built in or allowed (volume,
 * log), host devices beyond the safe list, device cgroup rules and
 * requests, a cgroup parent, mask changes, a negative OOM score,
 * deprecated top-level HostConfig fields; forces HostConfig.Runtime.
 * When a socket mount is allowed because of the image, Image becomes the id of
 * the image that was checked (so a re-tag between check and create changes
 * nothing).  On pass, *out / *out_len hold the body to send (malloc'd).
 * Returns 0 on pass, -1 with v filled. */
int eci_check_container_create (const struct eci_config *cfg,
                                const struct policy *pol, const char *body,
                                size_t len, char **out, size_t *out_len,
                                struct eci_verdict *v);

/* Labels of a container create body (after eci_check_container_create,
 * or alone when ECI is off): every com.moat.* label the client wrote (any
 * case of the prefix) is removed, except ECI_SOCKET_LABEL and
 * ECI_IMAGE_LABEL when v says moat set them (v may be NULL: none), and,
 * for a root caller, exact-prefix labels other than those four (moatd
 * labels its own containers); the caller labels are set; and the
 * socket and image labels are set to "" when moat did not set them, so
 * that an image's own LABEL (which the engine merges under the create's)
 * can never supply one.  With standin (a non-root caller under ECI), host
 * bind sources are replaced by standin and recorded in ECI_BINDS_LABEL
 * (else that label is ""), except the filtered socket v names.  On pass,
 * *out / *out_len hold the body to send (malloc'd).  Returns 0, or -1
 * with err filled (status, message). */
int eci_set_caller_labels (const char *body, size_t len, uid_t uid, gid_t gid,
                           const char *standin, const struct eci_verdict *v,
                           char **out, size_t *out_len,
                           struct eci_verdict *err);

/* POST /volumes/create: a local-driver volume whose device is a host path
 * is a bind mount: its device must be an absolute, clean path that passes
 * as a bind source; other local volumes: tmpfs only; Driver built in
 * ("local") or allowed. */
/* A non-root caller's create under ECI of a container (with_name false),
 * a network or a volume (with_name: its Name too; what: "container",
 * "network", "volume"): refused (403, rule eci.ext-project) when it is
 * labelled com.docker.compose.project=moat-ext-* or named moat-ext-*
 * (any case).  docker-compose adopts such objects into moat's extension
 * backend projects, which moatd brings up as root.  Nothing else is
 * checked (the other checks run too); an empty body passes. */
int eci_check_ext_reserved (const char *body, size_t len, const char *what,
                            bool with_name, struct eci_verdict *v);

int eci_check_volume_create (const struct eci_config *cfg,
                             const struct policy *pol, const char *body,
                             size_t len, char **out, size_t *out_len,
                             struct eci_verdict *v);

/* POST /networks/create: Driver and IPAM.Driver built in or allowed
 * (macvlan, ipvlan, overlay and plugins need the admin's allowedDrivers),
 * no bridge option that names a host interface, subnets inside
 * cfg->container_cidrs.  On pass, *out / *out_len hold the body to send. */
int eci_check_network_create (const struct eci_config *cfg,
                              const struct policy *pol, const char *body,
                              size_t len, char **out, size_t *out_len,
                              struct eci_verdict *v);

/* POST /build query: networkmode=host, cgroupparent, remote (a context
 * the engine would fetch itself) and BuildKit (version=2) refused. */
int eci_check_build (const char *query, struct eci_verdict *v);

/* POST /build query of a caller that is not root: networkmode other than
 * "", "default", "bridge" or "none" (a container:<name> or a user network
 * the build steps would join, with no owner check) refused. */
int eci_check_build_network (const char *query, struct eci_verdict *v);

/* GET /containers/{id}/top query: ps_args other than a standard format
 * or a -o format starting with pid refused (engine/eci_top.c). */
int eci_check_top (const char *query, struct eci_verdict *v);

/* POST /images/create query: fromSrc other than "-" (the engine would
 * download a URL as host root) refused. */
int eci_check_image_create (const char *query, struct eci_verdict *v);

/* Check one bind source (host path as written) for a container of image
 * (may be NULL).  Returns 0 when it passes as is, 1 when it is an engine
 * socket that the hook allowed: the bind source must then be replaced by
 * v->socket. */
int eci_check_bind (const struct eci_config *cfg, const struct policy *pol,
                    const char *src, const char *image, struct eci_verdict *v);

/* Resolve a host path the way mounting it would: symlinks followed
 * component by component, "..", "." and "//" handled, a missing tail
 * appended lexically (the engine creates it).  Returns malloc'd absolute
 * path or NULL (relative path, loop, allocation). */
char *eci_resolve_host_path (const char *path);

/* Go encoding/json key match: ASCII case-insensitive plus U+017F ~ 's' and
 * U+212A ~ 'k'. */
bool eci_json_key_fold_eq (const char *key, const char *field);

#endif
