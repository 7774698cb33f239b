/* Refusal texts of moat's public contract (shared/DESIGN.md, "messages").
 *
 * Every refusal a client sees starts with REFUSAL_PREFIX.  The texts of each
 * part live in that part's section below, so that one place shows what a
 * client can be told.  Keep the sections apart: each is owned by one part of
 * the code. */
#ifndef MOAT_COMMON_REFUSAL_H
#define MOAT_COMMON_REFUSAL_H

#define REFUSAL_PREFIX "enhanced container isolation: "

/* ---- engine guard: request framing, routes, command lists ---- */

/* What the engine guard answers itself (engine/decide.c, engine/guard.c).
 * Protocol-level answers start "moat: " (they are about the request's
 * form, not the isolation policy); policy refusals start with
 * REFUSAL_PREFIX.  A printf format takes the argument named beside it. */
#define REFUSAL_ENGINE_HTTP_VERSION "moat: only HTTP/1.x is served"
#define REFUSAL_ENGINE_METHOD "moat: method not allowed"
#define REFUSAL_ENGINE_HEADER "moat: malformed request header"
#define REFUSAL_ENGINE_URI "moat: malformed request-URI"
#define REFUSAL_ENGINE_NO_POLICY "moat: policy not loaded yet"
#define REFUSAL_ENGINE_NO_ENGINE "moat: cannot reach the engine"
#define REFUSAL_ENGINE_NO_MEMORY "moat: out of memory"
#define REFUSAL_ENGINE_REFUSED "moat: request refused"
/* %d: ENGINE_GUARD_MAX_HEAD */
#define REFUSAL_ENGINE_HEAD_TOO_LARGE "moat: request head larger than %d bytes"
/* %s: llhttp's error name */
#define REFUSAL_ENGINE_MALFORMED "moat: malformed request: %s"
/* %d: ECI_MAX_JSON_BODY */
#define REFUSAL_ENGINE_BODY_TOO_LARGE "moat: request body larger than %d bytes"
/* %s: the request-URI as received (contract text) */
#define REFUSAL_ENGINE_COMMAND_LIST                                           \
  REFUSAL_PREFIX "docker command \"%s\" is blocked; if you wish to allow "    \
                 "it, configure the docker socket command list in the moat "  \
                 "admin settings."
#define REFUSAL_ENGINE_BUILDKIT                                               \
  REFUSAL_PREFIX "BuildKit builds bypass the container runtime and are "      \
                 "blocked; build with the classic builder: "                  \
                 "DOCKER_BUILDKIT=0 docker build ..."
#define REFUSAL_ENGINE_SWARM                                                  \
  REFUSAL_PREFIX "swarm services are created outside the container checks "   \
                 "and are blocked"
/* A request on a container's filtered socket that makes the engine reach
 * a registry (pull, push, search, login, distribution): decided as the
 * container's egress (docs/net-guard.md, rule airgap.registry). */
#define REFUSAL_ENGINE_REGISTRY                                               \
  REFUSAL_PREFIX "registry \"%s\" is refused by the container proxy "         \
                 "policy (rule: %s)"
#define REFUSAL_ENGINE_REGISTRY_NAME                                          \
  REFUSAL_PREFIX "the registry of this request cannot be told (%s)"
#define REFUSAL_ENGINE_PLUGIN                                                 \
  REFUSAL_PREFIX "engine plugins run with host privileges; installing or "    \
                 "configuring them is blocked"
#define REFUSAL_ENGINE_START_HOSTCONFIG                                       \
  REFUSAL_PREFIX "a HostConfig at container start is not accepted; set it "   \
                 "at create"
/* %s %s: method, request-URI as received */
#define REFUSAL_ENGINE_UNKNOWN_ENDPOINT                                       \
  REFUSAL_PREFIX "docker API endpoint \"%s %s\" is not one moat checks "      \
                 "(a deprecated, debug or newer endpoint), so it is "         \
                 "blocked; use the docker CLI's current commands"
/* %.*s: the Content-Type as received (shortened) */
#define REFUSAL_ENGINE_FORM_BODY                                              \
  REFUSAL_PREFIX "a request body of type \"%.*s\" can't be sent to the "      \
                 "engine: it would read the body's form fields as query "     \
                 "parameters, which moat checks in the URL only; put the "    \
                 "parameters in the URL and send the body as "                \
                 "application/json, application/x-tar or with no type"
#define REFUSAL_ENGINE_PEER                                                   \
  REFUSAL_PREFIX "this filtered docker socket belongs to another container"

/* ---- ECI checks of container, volume and network bodies ---- */

/* The contract's messages (shared/DESIGN.md).  moat-runc refuses with the
 * same texts (bind policy, spec namespaces), so that a client sees one
 * answer whichever layer caught it. */
#define REFUSAL_ECI_NAMESPACE                                                 \
  REFUSAL_PREFIX "containers can't share the %s namespace with the host"
#define REFUSAL_ECI_BIND                                                      \
  REFUSAL_PREFIX "bind mount of \"%s\" denied; it is outside the shared "     \
                 "directories"
/* A non-root caller's bind source is reached as that caller when the
 * container starts (moat-runc; docs/engine-eci-checks.md, "Bind sources
 * are the caller's"), never by the engine as host root. */
#define REFUSAL_BIND_MISSING                                                  \
  REFUSAL_PREFIX "bind mount of \"%s\" denied; it does not exist"
#define REFUSAL_BIND_NO_CREATE                                                \
  REFUSAL_PREFIX "bind mount of \"%s\" denied; it does not exist and you "    \
                 "may not create it"
#define REFUSAL_BIND_NO_ACCESS                                                \
  REFUSAL_PREFIX "bind mount of \"%s\" denied; you may not reach it"
#define REFUSAL_ECI_VOLUMES_FROM_PINNED                                       \
  REFUSAL_PREFIX "--volumes-from \"%s\" denied; its bind mounts are reached " \
                 "with its creator's rights; bind the directory itself with " \
                 "-v"
#define REFUSAL_BIND_UNRECORDED                                               \
  REFUSAL_PREFIX "bind mount at \"%s\" denied; its source was not "           \
                 "recorded when the container was created"
#define REFUSAL_ECI_SOCKET_MOUNT                                              \
  REFUSAL_PREFIX "docker socket mount denied for container with image "       \
                 "\"%s\"; image is not in the allowed list; if you wish to "  \
                 "allow it, configure the docker socket image list in the "   \
                 "moat admin settings."

/* A field of a body that is not what the engine's decoder would accept
 * ("HostConfig.Devices", "Binds", "IPAM.Config", "volume driver", ...). */
#define REFUSAL_ECI_INVALID REFUSAL_PREFIX "invalid %s"
#define REFUSAL_ECI_INVALID_HOSTCONFIG REFUSAL_PREFIX "invalid HostConfig.%s"
#define REFUSAL_ECI_AMBIGUOUS                                                 \
  REFUSAL_PREFIX "ambiguous request: field \"%s\" given twice"
#define REFUSAL_ECI_TOPLEVEL                                                  \
  REFUSAL_PREFIX "deprecated top-level field \"%s\" is not accepted; put it " \
                 "in HostConfig"

/* Engine sockets. */
#define REFUSAL_ECI_SOCKET_HOOK                                               \
  REFUSAL_PREFIX "socket mount hook gave no image id or socket"
#define REFUSAL_ECI_SOCKET_VOLUME                                             \
  REFUSAL_PREFIX "an engine socket can be mounted only as a bind mount, not " \
                 "as a volume"

/* VolumesFrom. */
#define REFUSAL_ECI_VOLUMES_FROM_ENTRY                                        \
  REFUSAL_PREFIX "invalid VolumesFrom entry \"%s\""
#define REFUSAL_ECI_VOLUMES_FROM_UNCHECKED                                    \
  REFUSAL_PREFIX "volumes-from cannot be checked here and is blocked"

/* Extension backends' compose projects (first %s: "container",
 * "network", "volume"; second: the label's value or the name). */
#define REFUSAL_ECI_EXT_PROJECT                                               \
  REFUSAL_PREFIX                                                              \
  "%s labelled com.docker.compose.project=\"%.64s\" refused; "                \
  "compose projects moat-ext-* (and compose's legacy spelling moatext*) "     \
  "are moat's extension backends, which only root (moatd) may create"
/* %s: the image as given, the label's value */
#define REFUSAL_ECI_EXT_IMAGE                                                 \
  REFUSAL_PREFIX                                                              \
  "image \"%.128s\" is labelled "                                             \
  "com.docker.compose.project=\"%.64s\", which its containers would "         \
  "carry; compose projects moat-ext-* (and compose's legacy spelling "        \
  "moatext*) are moat's extension backends, which only root (moatd) may "     \
  "create"
/* not a refusal: the engine could not be asked */
#define REFUSAL_ERR_INSPECT_IMAGE                                             \
  "moat: cannot inspect image \"%.128s\" to check its labels"
#define REFUSAL_ECI_EXT_NAME                                                  \
  REFUSAL_PREFIX                                                              \
  "%s name \"%.64s\" refused; names moat-ext-* (and "                         \
  "compose's legacy spelling moatext*) belong to moat's extension "           \
  "backends, which only root (moatd) may create"
/* Drivers (first %s: "volume driver", "network driver", "IPAM driver",
 * "log driver"; second: the name). */
#define REFUSAL_ECI_DRIVER_NAME                                               \
  REFUSAL_PREFIX "%s \"%s\" denied; it is not a plugin name"
#define REFUSAL_ECI_DRIVER_NOT_ALLOWED                                        \
  REFUSAL_PREFIX "%s \"%s\" denied; it is not in the allowed list; if you "   \
                 "wish to allow it, add it to "                               \
                 "enhancedContainerIsolation.allowedDrivers in the moat "     \
                 "admin settings."

/* Local volume driver options. */
#define REFUSAL_ECI_VOLUME_OPTION_KEY                                         \
  REFUSAL_PREFIX "volume option key \"%s\" denied"
#define REFUSAL_ECI_VOLUME_OPTION_INVALID                                     \
  REFUSAL_PREFIX "invalid volume option \"%s\""
#define REFUSAL_ECI_VOLUME_TYPE                                               \
  REFUSAL_PREFIX "volume type \"%s\" denied; only tmpfs volumes and bind "    \
                 "volumes of shared directories are accepted"
#define REFUSAL_ECI_VOLUME_OPTION REFUSAL_PREFIX "volume option \"%s\" denied"
#define REFUSAL_ECI_VOLUME_DEVICE                                             \
  REFUSAL_PREFIX "volume device \"%s\" denied; a bind volume's device must "  \
                 "be an absolute, clean host path"

/* Host devices, cgroups, masks, OOM score. */
#define REFUSAL_ECI_DEVICE                                                    \
  REFUSAL_PREFIX "host device \"%s\" can't be given to a container; only "    \
                 "/dev/fuse, /dev/net/tun and the standard character "        \
                 "devices (null, zero, full, random, urandom, tty) can"
/* %s: the path as given (engine/eci_hostcfg.c) */
#define REFUSAL_ECI_BLKIO_DEVICE                                              \
  REFUSAL_PREFIX "block I/O limit device \"%.256s\" denied; it must be a "    \
                 "device path under /dev (the engine looks it up as host "    \
                 "root)"
#define REFUSAL_ECI_DEVICE_CGROUP_RULES                                       \
  REFUSAL_PREFIX "device cgroup rules can't be set; they would give access "  \
                 "to host devices"
#define REFUSAL_ECI_DEVICE_REQUESTS                                           \
  REFUSAL_PREFIX "device requests (--gpus) can't be set; they give access "   \
                 "to host devices"
#define REFUSAL_ECI_CGROUP_PARENT                                             \
  REFUSAL_PREFIX "a cgroup parent can't be set; containers stay in the "      \
                 "engine's cgroup"
#define REFUSAL_ECI_SECURITY_OPT                                              \
  REFUSAL_PREFIX "security option \"%s\" denied; /proc and /sys stay masked"
#define REFUSAL_ECI_MASKS                                                     \
  REFUSAL_PREFIX "HostConfig.%s can't be set (--security-opt "                \
                 "systempaths=unconfined); /proc and /sys stay masked"
#define REFUSAL_ECI_OOM_SCORE                                                 \
  REFUSAL_PREFIX "a negative OOM score adjustment can't be set; the kernel "  \
                 "would kill host processes first"

/* Networks. */
#define REFUSAL_ECI_SUBNET                                                    \
  REFUSAL_PREFIX "subnet \"%s\" denied; user networks must lie inside "       \
                 "moat's address pool (%s)"
#define REFUSAL_ECI_NETWORK_OPTION                                            \
  REFUSAL_PREFIX "network option \"%s\" denied; user networks get the "       \
                 "engine's own bridge"

/* What the engine would fetch itself, and BuildKit. */
#define REFUSAL_ECI_FETCH_BUILD                                               \
  REFUSAL_PREFIX "the engine would fetch \"%s\" itself, from the host and "   \
                 "outside the net guard; fetch it yourself and send it as "   \
                 "the build context"
/* docker top's ps options (engine/eci_top.c).  %s: ps_args as given */
#define REFUSAL_ECI_TOP                                                       \
  REFUSAL_PREFIX "docker top's ps options \"%.128s\" are refused: the "       \
                 "engine runs ps as host root over every host process, and "  \
                 "a renamed column, a column before PID that holds spaces, "  \
                 "or no header would show other processes; use a standard "   \
                 "format (-ef, aux, -l, -j) or -o pid,..."
#define REFUSAL_ECI_FETCH_IMPORT                                              \
  REFUSAL_PREFIX "the engine would fetch \"%s\" itself, from the host and "   \
                 "outside the net guard; download it and import it from "     \
                 "stdin: docker import - < file"
/* A local build context whose Dockerfile would make the legacy builder
 * fetch a URL itself (engine/buildscan.h, docs/engine-eci-checks.md,
 * "build contexts").  %s: the ADD source as written (shortened). */
#define REFUSAL_ECI_BUILD_ADD_URL                                             \
  REFUSAL_PREFIX "the Dockerfile's ADD \"%s\" would make the engine fetch "   \
                 "a URL itself, from the host and outside the net guard; "    \
                 "download it yourself and ADD the file from the context"
#define REFUSAL_ECI_BUILD_ADD_VAR                                             \
  REFUSAL_PREFIX "the Dockerfile's ADD \"%s\" has a variable, which could "   \
                 "name a URL the engine would fetch itself; write the ADD "   \
                 "source out"
/* %s: the FROM image as written; %s: why (the trigger's refusal without
 * its prefix) */
#define REFUSAL_ECI_BUILD_BASE                                                \
  REFUSAL_PREFIX "the base image \"%s\" has an ONBUILD trigger the build "    \
                 "would run: %s"
#define REFUSAL_ECI_BUILD_PULL                                                \
  REFUSAL_PREFIX "docker build --pull would fetch base images whose "         \
                 "ONBUILD triggers can't be checked first; pull them "        \
                 "(docker pull IMAGE), then build without --pull"
/* %s: the build's networkmode as given */
#define REFUSAL_ECI_BUILD_NETWORK                                             \
  REFUSAL_PREFIX "docker build --network \"%.128s\" is refused for users "    \
                 "other than root: the engine creates build steps itself, "   \
                 "without the checks of a create, so a step can't join a "    \
                 "container's namespaces or a user network; build with the "  \
                 "default network or --network none"
/* %s: the FROM image as written */
#define REFUSAL_ECI_BUILD_BASE_ABSENT                                         \
  REFUSAL_PREFIX "the base image \"%s\" is not in the engine, and its "       \
                 "ONBUILD triggers must be checked before a build runs "      \
                 "them; pull it first (docker pull IMAGE), then build"
/* %s: the FROM image as written */
#define REFUSAL_ECI_BUILD_BASE_VAR                                            \
  REFUSAL_PREFIX "the base image \"%s\" is not a plain image reference "      \
                 "(a variable?), so its ONBUILD triggers can't be checked; "  \
                 "write the base image out"
/* %s: why (unsupported compression, malformed tar, ...) */
#define REFUSAL_ECI_BUILD_CONTEXT                                             \
  REFUSAL_PREFIX "the build context can't be checked for ADD of a URL: %s"
#define REFUSAL_ECI_BUILDKIT                                                  \
  REFUSAL_PREFIX                                                              \
  "BuildKit builds bypass the container runtime and are "                     \
  "blocked; build with the classic builder: DOCKER_BUILDKIT=0 "               \
  "docker build ..."

/* Not refusals (no contract prefix): the request could not be checked.
 * REFUSAL_NO_SUCH_CONTAINER is the engine's own wording, so that a client
 * sees what the engine would have said. */
#define REFUSAL_NO_SUCH_CONTAINER "No such container: %s"
#define REFUSAL_ERR_OOM "moat: out of memory"
#define REFUSAL_ERR_BODY_SIZE "moat: request body larger than %d bytes"
#define REFUSAL_ERR_JSON "moat: invalid JSON body: %s"
#define REFUSAL_ERR_JSON_OBJECT "moat: JSON body is not an object"
#define REFUSAL_ERR_INSPECT_VOLUMES_FROM                                      \
  "moat: cannot inspect container \"%s\" to check the volumes it would share"
#define REFUSAL_ERR_INSPECT_ANSWER                                            \
  "moat: bad inspect answer for container \"%s\""

/* ---- archive (docker cp) ---- */

/* %s: the container as named; then what it mounts, one of the
 * REFUSAL_ARCHIVE_WHAT_* below. */
#define REFUSAL_ARCHIVE_BLOCKED                                               \
  REFUSAL_PREFIX "docker cp to or from container \"%s\" is blocked: it "      \
                 "mounts %s, which the engine would read and write as host "  \
                 "root; copy into the shared directory on the host instead"
/* root's docker cp on a container whose binds moat stood in for */
#define REFUSAL_ARCHIVE_STANDIN                                               \
  REFUSAL_PREFIX "docker cp to or from container \"%s\" is blocked: its "     \
                 "bind mount at \"%s\" is its creator's, reached with their " \
                 "rights, and the engine would copy into moat's stand-in; "   \
                 "copy into the shared directory on the host instead"
#define REFUSAL_ARCHIVE_WHAT_VOLUME "volume \"%s\" with a host device"
#define REFUSAL_ARCHIVE_WHAT_BIND "the host path \"%s\""
/* type, then ` "name"` when the mount has a name */
#define REFUSAL_ARCHIVE_WHAT_MOUNT "a %s mount%s%s%s"
#define REFUSAL_ARCHIVE_WHAT_UNKNOWN "a host path"
#define REFUSAL_ARCHIVE_UNCHECKED                                             \
  REFUSAL_PREFIX "docker cp cannot be checked here and is blocked"
/* %s: the container as requested */
#define REFUSAL_OWNER_OTHER                                                   \
  REFUSAL_PREFIX "container \"%s\" was created by another user; only the "    \
                 "user who created it (or root) may use it"
/* %s: the query parameter given twice with different values */
#define REFUSAL_OWNER_TWO_NAMES                                               \
  REFUSAL_PREFIX "%s= given twice with different values"
/* %s: the image as named, %u the uid that named it, %s its image id */
#define REFUSAL_IMAGE_OTHER                                                   \
  REFUSAL_PREFIX "image \"%s\" was given that name by another user (uid "     \
                 "%u); run it by its id (%s) if you trust it, or pull it "    \
                 "again"
/* a start or restart (eci.image-owner): %s the container's name, %s its
 * Config.Image, %s the image id it runs, %u the uid that gave the name,
 * %u the container's creator */
#define REFUSAL_IMAGE_START                                                   \
  REFUSAL_PREFIX "container \"%s\" can't start: its image \"%s\" (%s) was "   \
                 "given that name by another user (uid %u), not by the "      \
                 "container's creator (uid %u); create it from the image's "  \
                 "id if you trust it, or pull the image again"
/* a binding of the name by another user whose answer was never seen
 * (engine/imgpend.h): %s the image as named, %u that uid, %s its id now */
#define REFUSAL_IMAGE_UNCONFIRMED                                             \
  REFUSAL_PREFIX "image \"%s\" is being given that name by another user "     \
                 "(uid %u) whose request moat has not seen answered; run it " \
                 "by its id (%s) if you trust it"
/* the same at start: %s the container's name, %s its Config.Image, %s the
 * image id it runs, %u the uid binding the name, %u the creator */
#define REFUSAL_IMAGE_START_UNCONFIRMED                                       \
  REFUSAL_PREFIX "container \"%s\" can't start: its image \"%s\" (%s) is "    \
                 "being given that name by another user (uid %u) whose "      \
                 "request moat has not seen answered, not by the "            \
                 "container's creator (uid %u); create it from the image's "  \
                 "id if you trust it"
/* not a refusal: the record could not be read */
#define REFUSAL_ERR_IMAGE_NAMER "moat: cannot tell who named image \"%s\""
/* not a refusal: image name records of answers given were not written
 * in time */
#define REFUSAL_ERR_IMAGE_RECORDS                                             \
  "moat: image name records are behind; try again"
/* GET/POST/DELETE /containers/{name}/checkpoints[/{id}], non-root */
#define REFUSAL_ENGINE_CHECKPOINT                                             \
  REFUSAL_PREFIX "docker checkpoint is blocked for users other than root: "   \
                 "the engine dumps and restores a container's memory as "     \
                 "host root"
#define REFUSAL_OWNER_UNCHECKED                                               \
  REFUSAL_PREFIX "whose container this is cannot be checked here; exec and "  \
                 "attach are blocked"
/* the engine's own wording, %s: the exec id as requested */
#define REFUSAL_NO_SUCH_EXEC "No such exec instance: %s"
/* not a refusal: the engine could not be asked */
#define REFUSAL_ERR_INSPECT_EXEC                                              \
  "moat: cannot inspect exec \"%s\" to check whose container it is in"
/* not a refusal: the engine could not be asked */
#define REFUSAL_ERR_INSPECT_OWNER                                             \
  "moat: cannot inspect container \"%s\" to check whose it is"
/* not a refusal: the engine could not be asked */
#define REFUSAL_ERR_INSPECT_ARCHIVE                                           \
  "moat: cannot inspect container \"%s\" to check docker cp"

/* ---- other users' volumes, networks and prunes (engine/xuser.h) ---- */

#define REFUSAL_PRUNE_IMAGES                                                  \
  REFUSAL_PREFIX "docker image prune (and docker system prune) is blocked "   \
                 "for users other than root: images are shared by every "     \
                 "user and have no owner; remove your own with docker rmi"
#define REFUSAL_PRUNE_BUILD                                                   \
  REFUSAL_PREFIX "docker builder prune (and docker system prune) is blocked " \
                 "for users other than root: the build cache is shared by "   \
                 "every user and has no owner"
/* %s: "volume" or "network", %s: its name as requested */
#define REFUSAL_OWNER_OTHER_OBJ                                               \
  REFUSAL_PREFIX "%s \"%s\" was created by another user; only the user who "  \
                 "created it (or root) may use it"
/* %s: "volume" or "network" */
#define REFUSAL_OBJ_UNCHECKED                                                 \
  REFUSAL_PREFIX "whose %s this is cannot be checked here"
/* the engine's own wording, %s: the name as requested */
#define REFUSAL_NO_SUCH_VOLUME "get %s: no such volume"
#define REFUSAL_NO_SUCH_NETWORK "network %s not found"
/* not a refusal: the engine could not be asked.  %s: "volume" or
 * "network", %s: its name */
#define REFUSAL_ERR_INSPECT_OBJ                                               \
  "moat: cannot inspect %s \"%s\" to check whose it is"
/* not a refusal: the engine would not make the caller's new volume */
#define REFUSAL_ERR_MAKE_VOLUME                                               \
  "moat: cannot make volume \"%s\" for its caller"

/* ---- docker socket exceptions ---- */

/* ---- moat-runc bind policy ---- */

/* moat-runc's bind policy refuses with the guard's contract texts:
 * REFUSAL_ECI_BIND (outside the shared directories), REFUSAL_ECI_SOCKET_MOUNT
 * (an engine socket for an image not allowed), and its spec check with
 * REFUSAL_ECI_NAMESPACE.  It has no texts of its own. */

/* ---- sign-in gate (engine/gate.c) ---- */

/* Not REFUSAL_PREFIX: the contract's texts start "sign-in required: ".
 * %s: the allowed organisations joined by ", " (then the user first). */
#define REFUSAL_SIGNIN_REQUIRED                                               \
  "sign-in required: your administrator requires you to sign in to an "       \
  "account in one of these organizations: %s; run \"moat login\""
#define REFUSAL_SIGNIN_NOT_MEMBER                                             \
  "sign-in required: user \"%s\" is not a member of any of these "            \
  "organizations: %s"

/* ---- extensions (src/ext) ---- */

/* %s: the image as the user wrote it (contract text) */
#define REFUSAL_EXTENSION_FMT                                                 \
  "extensions: \"%s\" is not an allowed extension; ask your administrator "   \
  "to add it to the private marketplace"
#define REFUSAL_EXTENSION_ROOT_ONLY                                           \
  "extensions: only root may install, update or remove extensions (moatd "    \
  "runs an extension's backend as itself)"
#define REFUSAL_EXTENSION_DISABLED                                            \
  "extensions: extensions are disabled by your administrator "                \
  "(extensionsEnabled)"

#endif
