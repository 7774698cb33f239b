/* The mount supervisor of a container that can mount (docs/moat-runc.md,
 * "Nested runtimes: procfs and sysfs").
 *
 * moat-lock adds a seccomp filter to such a container's first process
 * (its bounding set holds CAP_SYS_ADMIN) that turns mount(2) calls making
 * a new mount (no MS_BIND, MS_REMOUNT, MS_MOVE or propagation flag) into
 * user notifications, and waits for SIGUSR1.  supervise_start, called by
 * `moat-runc start` once that process is in its locked mount namespace,
 * starts one small process (comm "moat-mountsup", not a child of moatd:
 * it survives moatd restarts; the containerd shim, a subreaper, reaps it)
 * that takes the listener with pidfd_getfd, sends SIGUSR1 and answers
 * every notification:
 *
 *   - a type other than proc, sysfs, debugfs or tracefs: continue (the
 *     kernel decides, with the locks in place, exactly as without the
 *     filter);
 *   - debugfs or tracefs (which the kernel refuses to every user
 *     namespace): as proc below, the caller's mount namespace standing for
 *     the file system's, but what is attached is an empty read-only tmpfs
 *     (procfs_inert_p): systemd's sys-kernel-debug.mount and
 *     sys-kernel-tracing.mount succeed and nothing of the host's is seen;
 *   - proc or sysfs: refused (EPERM) when the caller could not make it
 *     itself (no CAP_SYS_ADMIN, or the mount, pid (proc) or network
 *     (sysfs) namespace is not owned by the caller's user namespace), or
 *     with mount options (data) it does not support; else the target is
 *     resolved inside the caller's root (a /proc/self/fd/N or
 *     /proc/thread-self/fd/N target, runc's way, is the caller's
 *     descriptor N) and procfs_attach_fd attaches a fresh file system
 *     there with Docker's masks and read-only paths locked on it; the
 *     answer is 0 or the errno of the step that failed.
 *
 * The supervisor exits when the listener hangs up (the last process of
 * the container that carries the filter is gone); `delete` also stops it
 * (supervise_stop) through DIR/run/moat/runc/<id>/mountsup.pid. */
#ifndef MOAT_RUNTIME_SUPERVISE_H
#define MOAT_RUNTIME_SUPERVISE_H

#include <jansson.h>
#include <sys/types.h>

#include "common/error.h"

#define SUPERVISE_COMM "moat-mountsup"
#define SUPERVISE_WAIT_MS 10000

/* Start the supervisor for PID (the container's first process, in the
 * host's pid namespace), record its pid in RUNDIR/mountsup.pid and return
 * once it holds the listener and has released PID.  ID names the
 * container in log lines. */
int supervise_start (const char *id, pid_t pid, const char *rundir,
                     moat_error_t *err);

/* Stop the supervisor recorded in RUNDIR, if it still runs.  Best effort. */
void supervise_stop (const char *rundir);

/* Does the lock-shim spec of a container (process.capabilities.bounding
 * as moat-lock sees it) ask for a supervisor? */
int supervise_wanted_p (json_t *spec);

#endif
