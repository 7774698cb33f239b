/* moat-runc's verbs that do more than hand over to runc.
 *
 * moat-runc is called by containerd's runc shim exactly like runc.  Every
 * verb is delegated to the real runc with the same global options, except
 * that `create` first rewrites the bundle's config.json (spec.h), reserves
 * the container's id range (idpool.h) and prepares its root file system
 * (rootfs.h) — for a container with CAP_SYS_ADMIN it also makes the
 * moat-lock shim its first process (spec_add_lock_shim) — `start` waits
 * until that shim has locked the container's mounts, and `delete` releases
 * what create took. */
#ifndef MOAT_RUNTIME_RUNTIME_H
#define MOAT_RUNTIME_RUNTIME_H

#include <stdint.h>

#include "common/error.h"
#include "common/paths.h"

struct runtime_ctx
{
  struct moat_paths paths;
  const char *runc_path;      /* the runtime we delegate to */
  char **runc_globals;        /* runc + global options, NULL-terminated */
  int idmap_rootfs;           /* prepare id-mapped rootfs and bind mounts */
  const char *const *protect; /* extra sockets no bind mount may expose */
  const char *lock_shim;      /* moat-lock on the host (static program) */
  int containerd;             /* a containerd runtime handler: ranges and
                                 run directories keyed by runc's root too
                                 (handler.h) */
  const char *runc_root;      /* runc's --root (NULL: runc's default) */
  const char *kubelet_root;   /* the kubelet's --root-dir (NULL: default) */
  unsigned allow_host_ns;     /* host namespaces CRI pods may share
                                 (handler_parse_host_ns; containerd only) */
};

/* Run the delegate with the globals followed by args; returns its exit
 * status (127 if it could not be started). */
int runtime_run_runc (const struct runtime_ctx *ctx, char *const *args);

/* Replace this process with the delegate; returns only on error. */
int runtime_exec_runc (const struct runtime_ctx *ctx, char *const *args,
                       moat_error_t *err);

/* `exec [opts] ID [CMD...]`: for a container of a pod whose network
 * namespace moat-runc joined at create (handler.h), joins it again, then
 * replaces this process with runc (returns only on error). */
int runtime_exec (const struct runtime_ctx *ctx, char *const *args,
                  moat_error_t *err);

/* `create [opts] ID`: args[0] is "create".  Returns the exit status for
 * main, or -1 with *err set when moat refused or failed before runc ran. */
int runtime_create (const struct runtime_ctx *ctx, char *const *args,
                    moat_error_t *err);

/* `start ID`: delegate; for a container whose first process is the lock
 * shim (spec_add_lock_shim), return only once that process has moved into
 * its locked mount namespace, so that no `exec` (which joins pid 1's
 * namespaces) can land in the unlocked one.  If it does not within
 * RUNTIME_LOCK_WAIT_MS, the container is killed and start fails.  For a
 * container that keeps CAP_SYS_ADMIN it then starts the container's mount
 * supervisor (supervise.h) and returns once that holds the listener; if
 * it cannot, the container is killed and start fails. */
#define RUNTIME_LOCK_WAIT_MS 10000

/* Beside the containers' run directories (run/moat/runc, or its
 * ctd-<hash> directory under containerd): one empty file per container
 * whose own key holds a range, from before create reserves it until
 * delete has released it.  A delete that finds neither it nor the run
 * directory, of a container runc no longer knows, opens no pool (the runc
 * shim deletes twice). */
#define RUNTIME_HELD_DIR ".held"

/* Replace path with data (NUL-terminated; a temp file beside it, then
 * rename; 0600, a link at path is replaced, not followed): the bundle's
 * config.json and moat-runc's notes in a container's run directory.  No
 * fsync: they are read while the container lives and outlive no crash
 * that matters (the container dies with the machine), and an fsync and
 * one of the directory cost a create 2-20 ms where /run is on disk. */
int runtime_write_file (const char *path, const char *data, moat_error_t *err);
int runtime_start (const struct runtime_ctx *ctx, char *const *args,
                   moat_error_t *err);

/* `delete [--force] ID`: delegate, then release the container's range and
 * mounts once runc no longer knows the container. */
int runtime_delete (const struct runtime_ctx *ctx, char *const *args,
                    moat_error_t *err);

/* Release every range (and its mounts) whose container runc no longer
 * knows (`runc state ID` fails), e.g. after a crash between create and
 * delete.  Sets *released to the number released.  moatd calls it at
 * start-up through `moat-runc --moat-root R --root RUNC_ROOT
 * moat-reconcile`; create calls it once when the pool is exhausted. */
int runtime_reconcile (const struct runtime_ctx *ctx, unsigned *released,
                       moat_error_t *err);

/* This root's pool and every other live root on the host whose pool
 * overlaps it (idpool_peers), as JSON text (caller frees):
 * {"pool": {"uid_start", "gid_start", "count"}, "registry": PATH,
 *  "peers": [{"state_db", "uid_start", "gid_start", "count", "ranges",
 *             "conflicts"}]}.  `moat-runc moat-pool` prints it; `moat
 * status` and `moat verify` read it. */
int runtime_pool_report (const struct runtime_ctx *ctx, char **json,
                         moat_error_t *err);

/* Container ids become path components: refuse anything but
 * [A-Za-z0-9_.-], a leading dot, and more than 256 bytes. */
int runtime_id_valid_p (const char *id);

/* Pool configuration from $MOAT_ROOT/etc/subuid and subgid, creating the
 * `moat` entries (default RUNTIME_POOL_START, RUNTIME_POOL_COUNT) when
 * missing.  uid and gid pools must be the same size; ranges use the same
 * slot in both. */
#define RUNTIME_POOL_START 1000000u
#define RUNTIME_POOL_COUNT (65536u * 1000u)
int runtime_pool_config (const struct moat_paths *paths, uint32_t *uid_start,
                         uint32_t *gid_start, uint32_t *count,
                         moat_error_t *err);

#endif
