/* Which bind mount sources moat-runc mounts: the engine guard's bind rules
 * (docs/engine-eci-checks.md), applied again on the tree that is actually
 * mounted.
 *
 * The guard checks a bind's path when the create request arrives; the
 * engine mounts it later.  In between a user who can write inside a shared
 * directory can swap a path component for a symlink.  So moat-runc opens
 * each source once (O_PATH: the kernel resolves it as mount would), takes
 * the real path from that descriptor, decides on it, and mounts that same
 * descriptor (open_tree on the fd, no second resolution; binds.c).
 *
 * A source passes when it is, by its real path:
 *   - a file the engine made for this or another container:
 *     <data-root>/containers/<64 hex>/{hostname,hosts,resolv.conf,mounts/shm},
 *     or a named volume's <data-root>/volumes/<name>/_data (a local volume
 *     whose driver bound a host path there is judged as that path);
 *   - the engine's init binary (destination /sbin/docker-init, a root-owned
 *     regular file that only root can write, named docker-init or the real
 *     path of the docker-init that dockerd's PATH lookup finds in the
 *     system directories: Debian's docker-init is a symlink to
 *     tini-static);
 *   - a filtered docker socket moatd handed out:
 *     <run>/moat/sockets/<32 hex>.sock, a socket;
 *   - not a socket, nor an engine socket or a parent of one (else: the
 *     contract socket-mount message naming the container's image), and,
 *     with enhancedContainerIsolation on, not one of moat's or the engine's
 *     directories (nor a parent of one) and inside a filesharingDirectories
 *     entry (else: the contract shared-directories message naming the
 *     source as written). */
#ifndef MOAT_RUNTIME_BINDPOL_H
#define MOAT_RUNTIME_BINDPOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/paths.h"

/* Labels the engine guard puts on every container it creates. */
#define BINDPOL_LABEL_UID "com.moat.caller.uid"
#define BINDPOL_LABEL_GID "com.moat.caller.gid"
/* A non-root caller's host bind sources, keyed by destination; the spec
 * names paths->bind_standin instead (engine/eci.h, ECI_BINDS_LABEL). */
#define BINDPOL_LABEL_BINDS "com.moat.binds"

struct bindpol
{
  bool eci;      /* the shared-directory and protected rules apply */
  char **shared; /* filesharingDirectories, real paths */
  size_t n_shared;
  char **protect; /* never mountable, nor their parents (real paths) */
  size_t n_protect;
  char **sockets; /* engine sockets, as given and as real paths */
  size_t n_sockets;
  char *filtered_dir; /* real path of <run>/moat/sockets, or NULL */
  char *pinned_dir;   /* real path of <run>/moat/runc (moat-runc's pinned
                         copies of judged sources), or NULL */
  char **data_roots;  /* engine data roots (real paths) */
  size_t n_data_roots;
  char *image;     /* the container's image, for the socket message */
  char *init_real; /* bindpol_engine_init (NULL), or NULL if none */
  /* Who asked for the container: the labels com.moat.caller.uid and
   * com.moat.caller.gid the engine guard sets on every create (decimal,
   * from SO_PEERCRED, overwriting what the client sent).  No label means
   * the raw engine socket, which only root can reach: caller_root. */
  bool caller_root;
  uint32_t caller_uid, caller_gid;
  char *caller_error; /* a caller label that does not parse, or NULL */
  /* The engine's hostconfig.json was read, and whether it asks for
   * CAP_NET_RAW (CapAdd NET_RAW or ALL, any case, with or without CAP_;
   * or Privileged).  A classic build's steps are the engine's own
   * creates: only this tells moat-runc what they asked for. */
  bool hostcfg_read;
  bool net_raw_asked;
  char *standin;      /* paths->bind_standin */
  json_t *pinned;     /* BINDPOL_LABEL_BINDS parsed, or NULL */
  char *policy_error; /* why the settings could not be read (fail closed:
                         no shared directory), or NULL */
  /* A Kubernetes pod under the containerd handler (handler.h): the
   * directories of this pod's own files (CRI's sandbox hosts, hostname,
   * resolv.conf and shm; the kubelet's pod directory with its volumes),
   * real paths.  Inside them a source passes as the engine's files do
   * (a mount point there is judged as a volume's _data is). */
  char **pod_dirs;
  size_t n_pod_dirs;
};

/* Add a pod directory (bindpol.pod_dirs, by its real path, or as given
 * while it does not exist) or a directory never mountable
 * (bindpol.protect).  -1 on allocation. */
int bindpol_add_pod_dir (struct bindpol *bp, const char *dir);
int bindpol_add_protected (struct bindpol *bp, const char *dir);

/* Build the policy for container `id` of `spec`: moat's paths and the
 * effective settings under paths (admin-settings.json and users'
 * overrides in the state database; an unreadable or invalid file leaves
 * no shared directory), extra engine sockets (NULL-terminated, may be
 * NULL), the engine's data root (moat's own, and the one the spec's
 * /etc/hostname mount names) and the container's image from the engine's
 * config.v2.json there.  Fails only on allocation. */
int bindpol_load (struct bindpol *bp, const struct moat_paths *paths,
                  const char *const *extra_sockets, json_t *spec,
                  const char *id, moat_error_t *err);

void bindpol_free (struct bindpol *bp);

/* The real path of the engine's init binary: the first `docker-init`
 * found in dirs (NULL-terminated; NULL means the system directories of
 * dockerd's PATH lookup: /usr/local/sbin /usr/local/bin /usr/sbin
 * /usr/bin /sbin /bin) that is a regular file after symlinks.  NULL when
 * there is none (or on allocation failure). */
char *bindpol_engine_init (const char *const *dirs);

/* A spec mount whose source is the stand-in: 1 with *orig the source the
 * caller wrote (NULL when none was recorded for dest: refuse) and *create
 * whether the engine would have made it; 0 for any other mount. */
int bindpol_pinned (const struct bindpol *bp, const char *src,
                    const char *dest, const char **orig, bool *create);

/* Decide on the source opened as fd (O_PATH or an open_tree clone of it);
 * src is the source as written in the spec, dest the destination.
 * Returns 0, or -1 with the contract refusal message as the whole error
 * text (status 0, so that no errno text is appended; see
 * bindpol_refusal_p), or another error when the source could not be
 * examined. */
int bindpol_check_fd (const struct bindpol *bp, int fd, const char *src,
                      const char *dest, moat_error_t *err);

/* What a source that passed is. */
enum bindpol_kind
{
  BINDPOL_ENGINE, /* a file or volume the engine made, the init binary, a
                     filtered socket: mapped as the container's own */
  BINDPOL_HOST    /* a host directory or file (a shared directory, or what a
                     local volume's driver bound): the caller's rights */
};

/* bindpol_check_fd, and on success *kind says what the source is. */
int bindpol_judge_fd (const struct bindpol *bp, int fd, const char *src,
                      const char *dest, enum bindpol_kind *kind,
                      moat_error_t *err);

/* The same decision on a path (resolved with realpath(3) now): for the
 * early check of the spec, and when bind mounts are not pinned
 * (--moat-no-idmap-rootfs).  A source that does not exist passes here
 * (mounting it fails later). */
int bindpol_check_path (const struct bindpol *bp, const char *src,
                        const char *dest, moat_error_t *err);

/* True when err is a refusal with a contract message (not a failure). */
bool bindpol_refusal_p (const moat_error_t *err);

/* True for a mount of the spec that is a bind (type "bind" or a "bind" /
 * "rbind" option). */
bool bindpol_is_bind (json_t *m);

#endif
