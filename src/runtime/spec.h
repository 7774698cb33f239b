/* Rewrite of an OCI runtime spec (config.json) before runc sees it.
 *
 * spec_rewrite accepts any spec Docker or containerd writes and refuses one
 * that would share a namespace with the host: a pid, network, ipc, uts or
 * mount namespace that is missing (the container would run in the host's),
 * or any namespace whose path names the host's namespace (compared by
 * device and inode with /proc/1/ns/<type>, the runtime's own
 * /proc/self/ns/<type>, which is the engine's "host", and the fixed inode
 * numbers the kernel gives initial namespaces).  A user namespace
 * path is refused outright: the container must get its own user namespace
 * with its exclusive range.  A missing cgroup namespace is added (Docker on
 * cgroup v1 asks for the host's by default; the engine guard refuses an
 * explicit --cgroupns=host).
 *
 * Bind mount sources are checked by their real path now (bindpol.h),
 * refused with the contract messages (socket mount: the image is named;
 * outside the shared directories); binds.c decides again on the tree it
 * actually mounts.
 *
 * Then it adds the user namespace and the mappings, keeps only the
 * capabilities the runtime can grant (its own bounding set), and for a
 * privileged container prunes host devices to a safe set and restores
 * masked and read-only /proc and /sys paths. */
#ifndef MOAT_RUNTIME_SPEC_H
#define MOAT_RUNTIME_SPEC_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "runtime/bindpol.h"

enum spec_ns
{
  SPEC_NS_PID,
  SPEC_NS_NETWORK,
  SPEC_NS_IPC,
  SPEC_NS_UTS,
  SPEC_NS_USER,
  SPEC_NS_CGROUP,
  SPEC_NS_MOUNT,
  SPEC_NS_COUNT
};

struct spec_ns_id
{
  dev_t dev;
  ino_t ino;
  int valid;
};

/* What the rewrite needs to know about the host. */
struct spec_ctx
{
  uint32_t uid_base;
  uint32_t gid_base;
  uint32_t size;
  uint64_t cap_bound; /* bit n set: capability n may be granted */
  /* Host namespaces to refuse: [type][0] init's as /proc/1/ns shows it
   * (unreadable when init holds capabilities we lack), [type][1] our own
   * (the engine's), [type][2] the kernel's fixed inode number of the
   * initial namespace. */
  struct spec_ns_id host_ns[SPEC_NS_COUNT][3];
  /* What bind mount sources may be (NULL: not checked). */
  const struct bindpol *binds;
  /* A container of a Kubernetes pod joins its sandbox's user namespace,
   * which has the pod's range (handler.h): this path is the one user
   * namespace path accepted, and added when the spec has none.  NULL:
   * the container gets a user namespace of its own. */
  const char *pod_userns;
  /* Host namespaces the node's policy lets this container share (bit
   * 1 << enum spec_ns: network, ipc, pid only; handler.h).  0 under
   * dockerd. */
  unsigned allow_host_ns;
};

/* What the rewrite did, for the log.  Strings are malloc'd, may be NULL. */
struct spec_report
{
  int privileged;
  char *dropped_caps;    /* "CAP_SYS_RESOURCE,..." */
  char *dropped_devices; /* "/dev/sda,/dev/mem,..." */
  int added_cgroup_ns;
  int replaced_mappings; /* the spec came with its own id mappings */
  int lock_mounts; /* CAP_SYS_ADMIN granted, or a seccomp filter that lets
                      a process granted it later (exec --privileged)
                      mount: spec_add_lock_shim applies */
  unsigned dropped_rules;   /* device cgroup allow rules replaced */
  unsigned host_ns_allowed; /* host namespaces shared by node policy
                               (bits as spec_ctx.allow_host_ns) */
};

void spec_report_free (struct spec_report *r);

/* Fill ctx->host_ns from /proc/1/ns and /proc/self/ns and ctx->cap_bound
 * from /proc/self/status. */
int spec_ctx_probe_host (struct spec_ctx *ctx, moat_error_t *err);

/* Docker's masked and read-only paths, which create restores for every
 * container (also what a fresh procfs gets: procfs.h). */
const char *const *spec_masked_paths (size_t *n);
const char *const *spec_readonly_paths (size_t *n);

/* Names as used in the spec ("pid", "network", ...). */
const char *spec_ns_name (enum spec_ns ns);

/* Rewrite spec in place.  On refusal returns -1 with status EPERM and the
 * contract message as the whole error text. */
int spec_rewrite (json_t *spec, const struct spec_ctx *ctx,
                  struct spec_report *rep, moat_error_t *err);

/* Where the lock shim appears inside the container: runc's /dev tmpfs,
 * so it is never written to an image layer (docker commit, export). */
#define SPEC_LOCK_SHIM_DEST "/dev/.moat-lock"

/* For a container whose bounding set holds CAP_SYS_ADMIN
 * (rep->lock_mounts): make `shim` (moat-lock, a static program on the
 * host) its first process, bind-mounted read-only at SPEC_LOCK_SHIM_DEST,
 * with the original args after `--`.  The shim runs as uid 0 with the
 * spec's capabilities plus CAP_SETPCAP, CAP_SYS_ADMIN, CAP_SYS_CHROOT and
 * CAP_SETUID, moves into a mount namespace the kernel locks, then restores
 * the original uid and capability sets (passed as arguments) and execs the
 * command.  Refuses (EPERM) when those capabilities are outside
 * cap_bound: such a container could not be locked. */
int spec_add_lock_shim (json_t *spec, const char *shim, uint64_t cap_bound,
                        moat_error_t *err);

/* For a container that can write a host directory while acting as
 * someone other than its caller (a root caller, or a bind that could not
 * be id-mapped): make sure it leaves no set-user-ID or set-group-ID file.
 * Its seccomp filter refuses (EPERM) chmod, fchmod, fchmodat, fchmodat2,
 * creat, mknod, mknodat and open/openat with O_CREAT or O_TMPFILE whose
 * mode has S_ISUID or S_ISGID, and answers openat2 and io_uring_* (whose
 * arguments a filter cannot read) with ENOSYS; CAP_SETFCAP is dropped (a
 * file capability is a set-id bit by another name).  A container without
 * a filter (--privileged, seccomp=unconfined) gets one of moat's own that
 * allows everything else.  Applies to the whole container, its root file
 * system included. */
int spec_guard_setid (json_t *spec, moat_error_t *err);

/* The capability spec_guard_setid drops. */
/* The largest config.json or process file moat-runc reads. */
#define SPEC_MAX (16u << 20)

#define SPEC_SETID_CAP "CAP_SETFCAP"

/* The same for a process a guarded container execs (runc exec
 * --process): its capability sets come from the engine (CRI, dockerd),
 * not from the container's rewritten spec, and would bring CAP_SETFCAP
 * back.  Returns how many entries were removed. */
int spec_guard_setid_process (json_t *process);

/* Exec into a container with the set-id guard: the process file named by
 * runc exec's `--process` is rewritten without SPEC_SETID_CAP, and a
 * `--cap SPEC_SETID_CAP` is left out of the arguments.  *out: runc's
 * arguments (borrowed strings; free the array only).  execguard.c. */
int spec_guard_setid_exec (const char *id, char *const *args, char ***out,
                           moat_error_t *err);

/* Capability name <-> number ("CAP_CHOWN" <-> 0); -1 if unknown. */
/* Remove capability `name` ("CAP_NET_RAW") from every set of the spec's
 * process.  -1 on allocation. */
int spec_drop_cap (json_t *spec, const char *name, moat_error_t *err);
int spec_cap_number (const char *name);

#endif
