/* moat-runc as a containerd runtime handler (a Kubernetes RuntimeClass;
 * docs/kubernetes.md).
 *
 * Under dockerd a container's range and run directory are keyed by its id
 * alone: one engine, one runc root.  As a containerd handler
 * (`--moat-containerd`, what dist/k8s/moat-runc-containerd passes) the same
 * id may exist in several containerd namespaces or instances, each with its
 * own runc root (`--root`, which the runc shim sets to
 * <Root option>/<namespace>).  runc refuses two containers of one id under
 * one root, so "<runc root>/<id>" is unique on the host: it keys the range
 * in the state database, and the run directory lives under a directory
 * named after the root (run/moat/runc/ctd-<hash>/<id>).  Such keys hold a
 * `/`, which moatd's reconciliation (dockerd's runc root) never touches.
 *
 * A Kubernetes pod is a sandbox (pause) container plus its containers, all
 * sharing the sandbox's network and IPC namespaces.  containerd's CRI
 * plugin marks them with the OCI annotations io.kubernetes.cri.container-type
 * ("sandbox" or "container") and io.kubernetes.cri.sandbox-id: a container
 * of a pod takes the range of its sandbox ("<runc root>/<sandbox id>"), so
 * the whole pod has one range, and only the sandbox's delete releases it. */
#ifndef MOAT_RUNTIME_HANDLER_H
#define MOAT_RUNTIME_HANDLER_H

#include <jansson.h>

#include "common/error.h"

#define HANDLER_ANN_TYPE "io.kubernetes.cri.container-type"
#define HANDLER_ANN_SANDBOX "io.kubernetes.cri.sandbox-id"

/* runc's root when the shim passes no --root. */
#define HANDLER_RUNC_DEFAULT_ROOT "/run/runc"

/* "<runc_root>/<id>" (malloc'd), or NULL on allocation failure. */
char *handler_key (const char *runc_root, const char *id);

/* Split a key made by handler_key at its last `/`: *root and *id are
 * malloc'd.  -1 (EINVAL) for a key without a `/` or with an empty part. */
int handler_split_key (const char *key, char **root, char **id,
                       moat_error_t *err);

/* The run directory's scope name for runc_root: "ctd-" and 16 hex digits
 * (FNV-1a of the path), malloc'd. */
char *handler_scope (const char *runc_root);

/* The pod a CRI container belongs to: sets *sandbox_id to the sandbox's
 * id (a pointer into spec) for a container of type "container", NULL for
 * a sandbox or a container without CRI annotations.  -1 (EINVAL) when the
 * annotations are malformed (a container without a valid sandbox id, a
 * type that is neither "sandbox" nor "container"). */
int handler_pod_sandbox (json_t *spec, const char **sandbox_id,
                         moat_error_t *err);

/* --moat-allow-host-ns LIST: the host namespaces ("network", "ipc",
 * "pid", comma-separated; "" for none) a CRI pod that asks for them
 * (hostNetwork, hostIPC, hostPID) may share.  Node policy, in the
 * handler's wrapper: only root can change it.  Sets *mask (bits
 * 1 << enum spec_ns); -1 (EINVAL) for any other name. */
int handler_parse_host_ns (const char *list, unsigned *mask,
                           moat_error_t *err);

/* Is spec a container of containerd's CRI plugin (it has the
 * io.kubernetes.cri.container-type annotation)? */
int handler_cri_p (json_t *spec);

/* /sys of a container whose network namespace the host's user namespace
 * owns: a CRI sandbox's CNI namespace (/var/run/netns/cni-...), its pod's
 * containers, the host's own by policy (--moat-allow-host-ns network).
 * runc cannot mount a sysfs for it from the container's user namespace
 * (the kernel wants CAP_SYS_ADMIN over the namespace's owner), so
 * moat-runc, host root, makes one: a helper joins the network namespace
 * (none to join for the host's), makes a fresh sysfs (fsopen/fsmount,
 * read-only, nosuid, nodev, noexec: it shows that namespace's interfaces)
 * and attaches it at <run_dir>/sys; the spec's /sys becomes a bind of it,
 * and runc still masks /sys/firmware and powercap over it.
 *
 * handler_sysfs_plan, before the root file system is prepared: returns 1
 * and sets *sys (the spec's /sys mount, its type set aside so that the
 * bind steps leave it) when the container needs it, 0 when not.
 * handler_sysfs_make, after: makes the sysfs and rewrites *sys. */
/* 1 when the container's network namespace is owned by the host's user
 * namespace (a path such as CNI's, or none: the host's, by policy), 0
 * when it is a namespace of its own or another container's. */
int handler_netns_host_owned (json_t *spec, moat_error_t *err);
int handler_sysfs_plan (json_t *spec, json_t **sys, moat_error_t *err);
int handler_sysfs_make (json_t *spec, json_t *sys, const char *run_dir,
                        moat_error_t *err);

/* A container of a pod in a network namespace the host's user namespace
 * owns (CNI's /var/run/netns/cni-...) joins the sandbox's user namespace;
 * runc 1.1 joins a user namespace path before the others and could not
 * join that network namespace from inside it (nor mount the sandbox's
 * IPC namespace's mqueue from a user namespace of its own).  So moat-runc,
 * host root, joins the network namespace itself before it runs runc, and
 * the spec carries no network entry: the container inherits it.
 * handler_netns_take (create): removes the network entry with a path from
 * spec, opens the path (checked to be a network namespace), records it at
 * <run_dir>/netns for exec, and returns 1 with the open namespace in *fd
 * (0 and -1 when there is no such entry).
 * handler_netns_join_recorded (exec): joins the namespace recorded for the
 * container at run_dir; 0 when none is recorded, 1 when joined. */
#define HANDLER_NETNS_RECORD "netns"
/* The container id of runc's `exec [opts] ID [CMD...]` (args[0] "exec",
 * runc 1.1's exec options); NULL when an option is not known. */
const char *handler_exec_id (char *const *args);
int handler_netns_take (json_t *spec, const char *run_dir, int *fd,
                        moat_error_t *err);
int handler_netns_join_recorded (const char *run_dir, moat_error_t *err);

/* A container of pod sandbox sid joins only its pod's namespaces: every
 * namespace path of spec but the user namespace's must be the sandbox's
 * own namespace of that type (/proc/<pid>/ns/..., the pid of pod_userns)
 * or one owned by the pod's user namespace pod_userns (another container
 * of the pod, e.g. a debug container's target); else refused (status 0,
 * the contract prefix: audited). */
int handler_pod_ns_check (json_t *spec, const char *sid,
                          const char *pod_userns, moat_error_t *err);

#define HANDLER_ANN_POD_UID "io.kubernetes.cri.sandbox-uid"
#define HANDLER_KUBELET_ROOT "/var/lib/kubelet"

struct bindpol;

/* A CRI container's own files, for the bind rules: containerd's root and
 * state (from the bundle, <state>/io.containerd.runtime.v2.task/<ns>/<id>,
 * and its `work` link into <root>) give the pod's CRI sandbox directories
 * (<root|state>/io.containerd.grpc.v1.cri/sandboxes/<sandbox id>: hosts,
 * hostname, resolv.conf, shm), the annotation io.kubernetes.cri.sandbox-uid
 * the kubelet's <kubelet_root>/pods/<uid> (volumes, etc-hosts,
 * termination log).  Those become bp's pod directories; containerd's root
 * and state and the kubelet's root become directories no bind may name
 * otherwise.  A bundle not laid out so adds nothing. */
int handler_pod_binds (struct bindpol *bp, json_t *spec, const char *bundle,
                       const char *id, const char *kubelet_root,
                       moat_error_t *err);

#endif
