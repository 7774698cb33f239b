/* A fresh procfs or sysfs for a process of a locked container, with the
 * masks re-applied and locked (docs/moat-runc.md, "Nested runtimes: procfs
 * and sysfs").  The first building block of the mount supervisor: nothing
 * in create/start calls it yet; `moat-runc moat-fresh-mount PID TYPE
 * TARGET` does, for tests.
 *
 * For sysfs the helper joins PID's network namespace instead (sysfs shows
 * the mounter's) and the masks are Docker's /sys ones; the rest is as
 * below.
 *
 * A helper joins PID's pid namespace (procfs shows the mounter's active
 * pid namespace), makes the procfs with fsopen/fsmount in a private mount
 * namespace owned by the initial user namespace (so the kernel's
 * "fully visible" check, which the container's locked masks fail, does
 * not apply), covers Docker's masked paths (/dev/null over files, an empty
 * read-only tmpfs over directories) and makes its read-only paths
 * read-only, copies that tree into the mount namespace of a fresh user
 * namespace (which locks every mask), clones it from there recursively
 * and attaches it at TARGET, resolved inside PID's root
 * (RESOLVE_IN_ROOT), in PID's mount namespace. */
#ifndef MOAT_RUNTIME_PROCFS_H
#define MOAT_RUNTIME_PROCFS_H

#include <sys/types.h>

#include "common/error.h"

/* debugfs and tracefs (1, else 0): the kernel never lets a user namespace
 * mount them; a container that asks (systemd's sys-kernel-debug.mount and
 * sys-kernel-tracing.mount) gets an empty, read-only, one-page tmpfs
 * instead, made, locked and attached like the procfs below. */
int procfs_inert_p (const char *fstype);

/* FSTYPE: "proc", "sysfs", or one procfs_inert_p accepts. */
int procfs_attach (pid_t pid, const char *fstype, const char *target,
                   moat_error_t *err);

/* The same at TARGET_FD, a directory already resolved by the caller (the
 * mount supervisor, supervise.h) in PID's mount namespace; RDONLY makes
 * the new mount read-only. */
int procfs_attach_fd (pid_t pid, const char *fstype, int target_fd, int rdonly,
                      moat_error_t *err);

#endif
