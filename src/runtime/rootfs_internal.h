/* Private to src/runtime/rootfs.c and binds.c: the new mount API, the
 * user namespace helper both id-map through, and the bind steps of
 * rootfs_prepare. */
#ifndef MOAT_RUNTIME_ROOTFS_INTERNAL_H
#define MOAT_RUNTIME_ROOTFS_INTERNAL_H

#include <jansson.h>
#include <linux/mount.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/error.h"
#include "runtime/bindpol.h"
#include "runtime/rootfs.h"

/* glibc 2.36 has no wrappers for the new mount API. */
static inline int
sys_open_tree (int dfd, const char *path, unsigned flags)
{
  return (int)syscall (SYS_open_tree, dfd, path, flags);
}
static inline int
sys_mount_setattr (int dfd, const char *path, unsigned flags,
                   struct mount_attr *attr)
{
  return (int)syscall (SYS_mount_setattr, dfd, path, flags, attr,
                       sizeof *attr);
}
static inline int
sys_move_mount (int from_dfd, const char *from, int to_dfd, const char *to,
                unsigned flags)
{
  return (int)syscall (SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}
static inline int
sys_fsopen (const char *fs, unsigned flags)
{
  return (int)syscall (SYS_fsopen, fs, flags);
}
static inline int
sys_fsconfig (int fd, unsigned cmd, const char *key, const void *val, int aux)
{
  return (int)syscall (SYS_fsconfig, fd, cmd, key, val, aux);
}
static inline int
sys_fsmount (int fd, unsigned flags, unsigned attrs)
{
  return (int)syscall (SYS_fsmount, fd, flags, attrs);
}

/* The helper: a child that becomes root of a user namespace with the
 * container's mapping.  Its namespace file is what id-mapped mounts map
 * through; it also mounts the overlay as the container's root would. */
struct helper
{
  pid_t pid;
  int sock;
  int userns_fd;
};

struct overlay_args
{
  const char *dir;      /* the layer paths below are relative to it */
  const char *lowerdir; /* "a:b:c" */
  const char *upperdir;
  const char *workdir;
};

/* The id mapping of a helper's user namespace: ids inside..inside+size
 * are host ids outside..outside+size. */
struct idmap
{
  uint32_t uid_in, uid_out, gid_in, gid_out, size;
};

/* Attach the detached tree fd (a clone of src) at target, created as a
 * directory or an empty file like the tree's root. */
int rootfs_attach_at (int fd, const char *src, const char *target,
                      moat_error_t *err);

/* Start a helper whose user namespace has the mapping map; ov: the overlay
 * it will mount when asked (zeroed: none). */
int rootfs_helper_start (struct helper *h, const struct overlay_args *ov,
                         const struct idmap *map, moat_error_t *err);

/* Kill and reap the helper, close its descriptors; idempotent. */
void rootfs_helper_end (struct helper *h);

/* ---- binds.c ---- */

/* 0: not a bind mount; 1: bind; 2: rbind (type "bind" or a bind option). */
int binds_is_bind (json_t *m);

/* Every bind source of spec opened once, judged by bp, id-mapped through
 * h (or, for a host directory of a non-root caller, through a namespace
 * that maps only the caller to cmap's process user), attached at
 * <run_dir>/b<i>; the spec's sources point there. */
int binds_idmap (const char *run_dir, json_t *spec, struct helper *h,
                 const struct bindpol *bp, const struct idmap *cmap,
                 struct rootfs_report *rep, moat_error_t *err);

/* --network container:<id>: /sys becomes a read-only clone of that
 * container's own sysfs.  0 when there is nothing to do. */
int binds_share_netns_sysfs (const char *run_dir, json_t *spec,
                             moat_error_t *err);

#endif
