/* cgroup delegation for privileged containers (docs/moat-runc.md,
 * "cgroup delegation").
 *
 * After runc create has put the container's init in its cgroups, the
 * container's own directory in every hierarchy (each v1 controller, named
 * v1 hierarchies such as name=systemd, and the v2 one) is given to the
 * container's root (the first id of its range), with the files that let
 * it make children and move its own processes: v1 `cgroup.procs` and
 * `tasks`, v2 `cgroup.procs`, `cgroup.threads` and `cgroup.subtree_control`.
 * Nothing else changes owner: the limits files of the container's own
 * cgroup stay host root's (it cannot raise its own limits), and nothing
 * above its cgroup is touched.  With the private cgroup namespace runc
 * makes, the container sees its cgroup as the root: an inner runtime makes
 * its cgroups below it, and the kernel keeps their limits within it.
 *
 * A hierarchy where the container's cgroup is the root, or moat-runc's own
 * cgroup or one of its ancestors, is never delegated (skipped, counted). */
#ifndef MOAT_RUNTIME_CGDELEG_H
#define MOAT_RUNTIME_CGDELEG_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct cgdeleg_dir
{
  char *path; /* host path of the container's cgroup directory */
  int v2;     /* 1: the unified (v2) hierarchy */
};

/* From /proc/PID/cgroup text of the container and of moat-runc itself,
 * and the mountinfo text moat-runc sees, the host directories to
 * delegate.  *skipped counts hierarchies left out (not mounted, the
 * hierarchy's root, or moat-runc's own cgroup or an ancestor of it). */
int cgdeleg_plan (const char *cgroup, const char *self_cgroup,
                  const char *mountinfo, struct cgdeleg_dir **dirs, size_t *n,
                  unsigned *skipped, moat_error_t *err);

void cgdeleg_dirs_free (struct cgdeleg_dir *dirs, size_t n);

/* Delegate the cgroups of process PID (the container's init, after runc
 * create) to UID:GID.  *ndirs: directories delegated. */
int cgdeleg_delegate (long pid, uint32_t uid, uint32_t gid, unsigned *ndirs,
                      unsigned *skipped, moat_error_t *err);

#endif
