/* A container's root file system and bind mounts, owned by its range
 * without copying or chowning anything.
 *
 * Docker hands over an overlay mounted by host root whose files are owned
 * by host ids.  rootfs_prepare builds a second overlay over the same
 * layers, seen through id-mapped mounts (host id n appears as base + n),
 * and mounts it from inside a user namespace with the container's mapping:
 *
 *   - each lower dir: open_tree(OPEN_TREE_CLONE) + mount_setattr(IDMAP,
 *     read-only) + move_mount into <run>/l<i>;
 *   - Docker's upper dir and a work dir of our own beside it, through one
 *     id-mapped mount of their parent (<run>/u);
 *   - the overlay itself (userxattr) made with fsopen/fsmount by a helper
 *     that is root in the container's user namespace, passed back over a
 *     socket and attached at <run>/rootfs, which becomes root.path.
 *
 * Because the overlay's mounter is the container's root, files it creates
 * in the upper dir are written through the id mapping: on disk they carry
 * the container-relative ids (0, 1000, ...) exactly as without moat, so
 * `docker commit`, `docker export`, `docker cp` and a later run with a
 * different range all see normal ownership.  The cost is a fixed number of
 * mount syscalls per layer: it does not grow with the size of the image.
 *
 * Bind mounts (volumes, -v, resolv.conf/hosts) are opened once (O_PATH),
 * judged by the real path of what was opened (bindpol.h), cloned from that
 * descriptor (open_tree, no second path lookup), id-mapped the same way
 * and attached at <run>/b<i>; the spec's source is pointed there.  A
 * source whose file system cannot be id-mapped is attached unmapped, with
 * a warning.
 *
 * That overlay (userxattr) keeps opaque-directory markers as
 * user.overlay.opaque where Docker uses trusted.overlay.opaque: create
 * copies trusted -> user once per image layer (marked
 * user.moat.opaque-synced) and on the upper dir, rootfs_cleanup copies
 * user -> trusted on the upper dir for commit and build.
 *
 * Known limits: Docker's own merged mount shares the upper dir (the kernel
 * warns; dockerd reads through it for cp/export); commit of a running
 * container misses opaque markers made since it started. */
#ifndef MOAT_RUNTIME_ROOTFS_H
#define MOAT_RUNTIME_ROOTFS_H

#include <jansson.h>
#include <stdint.h>

#include "common/error.h"
#include "runtime/bindpol.h"

struct rootfs_report
{
  unsigned layers;             /* id-mapped lower layers */
  unsigned binds;              /* id-mapped bind mounts */
  unsigned skipped;            /* bind mounts left as they were */
  unsigned caller_mapped;      /* host binds mapped to the caller only */
  unsigned host_rw;            /* writable binds of host directories */
  unsigned host_rw_unconfined; /* of those, where the container's root may
                                  act as someone other than the caller
                                  (root caller, or not id-mapped) */
};

/* run_dir: the container's private directory (created root:<gid_base>
 * 0710, so other host users cannot read the container's files).  Rewrites
 * root.path and bind mount sources in spec.  bp: what bind sources may be
 * (NULL: any); a refusal fails with the contract message
 * (bindpol_refusal_p). */
int rootfs_prepare (const char *run_dir, json_t *spec, uint32_t uid_base,
                    uint32_t gid_base, uint32_t size, const struct bindpol *bp,
                    struct rootfs_report *rep, moat_error_t *err);

/* Detach every mount under run_dir and remove it.  Missing is fine. */
int rootfs_cleanup (const char *run_dir, moat_error_t *err);

#endif
