# Escape attempts against moat-runc, each from a --privileged container,
# each required to fail.  Payloads are harmless if isolation ever fails:
# values are written back unchanged, sysrq `h` only prints help, the clock
# is set to now, a module load uses a file that is not a module, a block
# device is mounted read-only.
#
# Source after lib_dockerd.sh with dockerd running; needs ok/fail, $R,
# ENGINE_SOCK (the engine socket path) and $B (the build directory, for
# tests/mount-probe).  escape_all runs every attempt.

priv() { d run --rm --privileged "$@"; }

# attempt NAME CMD...: the command exits 0 only if the escape worked.
attempt() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then
    fail "escape blocked: $name (attempt succeeded: $(echo "$out" | tail -1))"
  else
    ok "escape blocked: $name"
  fi
}

MASKED="/proc/keys /proc/timer_list /proc/sched_debug /proc/kcore /proc/acpi /proc/scsi /proc/latency_stats /proc/timer_stats /proc/asound /sys/firmware"
READONLY="/proc/bus /proc/fs /proc/irq /proc/sysrq-trigger /proc/sys"
# Each snippet exits 0 only if the escape worked; a path that is not a
# mount in this container is skipped (check_masks proves some are).
UMOUNT_MASKED="for p in $MASKED; do grep -q \" \$p \" /proc/self/mountinfo && umount \$p && exit 0; done; exit 1"

# check_masks NAME CMD...: CMD (run or exec prefix) shows at least one
# masked and one read-only path as mounts, so the attempts below are not
# passing vacuously.
check_masks() {
  local name=$1; shift
  local n
  n=$("$@" sh -c "for p in $MASKED; do grep -q \" \$p \" /proc/self/mountinfo && echo m; done
                  for p in $READONLY; do grep -q \" \$p ro,\" /proc/self/mountinfo && echo r; done" 2>/dev/null | sort -u | tr -d '\n')
  if [ "$n" = mr ]; then ok "$name"; else fail "$name (got '$n')"; fi
}

# lock_attempts SUFFIX CMD...: the mount escapes, with CMD the prefix that
# runs a command in a privileged container (`docker run` or `docker exec`).
lock_attempts() {
  local sfx=$1; shift
  attempt "unmount a masked path$sfx" "$@" sh -c "$UMOUNT_MASKED"
  attempt "lazily unmount a masked path (umount -l)$sfx" "$@" sh -c \
    "for p in $MASKED; do grep -q \" \$p \" /proc/self/mountinfo && umount -l \$p && exit 0; done; exit 1"
  attempt "unmount a read-only /proc path$sfx" "$@" sh -c \
    "for p in $READONLY; do grep -q \" \$p \" /proc/self/mountinfo && umount \$p && exit 0; done; exit 1"
  attempt "remount a read-only /proc path rw$sfx" "$@" sh -c \
    "for p in $READONLY; do grep -q \" \$p ro,\" /proc/self/mountinfo || continue
       mount -o remount,rw,bind \$p && exit 0; mount -o remount,rw \$p && exit 0; done; exit 1"
  attempt "remount /proc/sys rw$sfx" "$@" sh -c \
    'mount -o remount,rw /proc/sys && grep -q " /proc/sys rw," /proc/self/mountinfo'
  attempt "non-recursive bind of /proc reveals masked files$sfx" "$@" sh -c \
    'mkdir -p /x && mount --bind /proc /x && ls /x/ >/dev/null'
  attempt "recursive bind of /proc, then unmount a mask in the copy$sfx" "$@" sh -c \
    "mkdir -p /x && mount --rbind /proc /x || exit 1
     for p in $MASKED; do case \$p in /proc/*) ;; *) continue ;; esac
       q=/x/\${p#/proc/}; grep -q \" \$q \" /proc/self/mountinfo && umount \$q && exit 0; done; exit 1"
  attempt "mount a fresh procfs (mount -t proc)$sfx" "$@" sh -c \
    'mkdir -p /x && mount -t proc proc /x'
  attempt "mount a fresh sysfs (mount -t sysfs)$sfx" "$@" sh -c \
    'mkdir -p /x && mount -t sysfs sysfs /x'
  attempt "unmount a masked path in a new mount namespace (unshare -m)$sfx" "$@" \
    unshare -m sh -c "$UMOUNT_MASKED"
  attempt "move a masked mount away (mount --move)$sfx" "$@" sh -c \
    'mkdir -p /x && mount --move /proc/keys /x || mount --move /sys/firmware /x'
  # The new mount API: the same checks apply (mount-probe exits 0 if the
  # kernel let it through).
  attempt "fresh procfs through fsopen/fsmount$sfx" "$@" /probe fsmount proc
  attempt "fresh sysfs through fsopen/fsmount$sfx" "$@" /probe fsmount sysfs
  attempt "non-recursive open_tree clone of /proc$sfx" "$@" /probe clone /proc
  # Last: in an exec'd container an escape here would hide the rest.
  attempt "lazily unmount /proc (umount -l /proc)$sfx" "$@" umount -l /proc
  attempt "unmount /sys$sfx" "$@" umount -l /sys
}

escape_all() {
  local rootdev
  rootdev=$(awk '$5 == "/" {print $3; exit}' /proc/self/mountinfo)

  attempt "write /proc/sys/kernel/core_pattern" priv busybox sh -c \
    'v=$(cat /proc/sys/kernel/core_pattern) && printf "%s\n" "$v" > /proc/sys/kernel/core_pattern'

  # CVE-2022-0492: a cgroup v1 hierarchy's release_agent runs as host root.
  attempt "cgroup v1 release_agent" priv busybox sh -c '
    mkdir -p /tmp/cg
    for c in rdma memory pids cpu; do mount -t cgroup -o $c cgroup /tmp/cg 2>/dev/null && break; done
    for f in /tmp/cg/release_agent /sys/fs/cgroup/*/release_agent; do
      [ -e "$f" ] || continue
      v=$(cat "$f") && printf "%s" "$v" > "$f" && exit 0
    done
    exit 1'

  attempt "mount the host's block device ($rootdev)" priv busybox sh -c "
    mknod /tmp/blk b ${rootdev%%:*} ${rootdev##*:} 2>/dev/null || true
    for d in /tmp/blk /dev/vda /dev/sda /dev/nvme0n1; do
      [ -b \$d ] && mkdir -p /mnt/h && mount -o ro \$d /mnt/h && ls /mnt/h/etc >/dev/null && exit 0
    done; exit 1"

  attempt "mknod of a host device (/dev/mem)" priv busybox sh -c \
    'mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem >/dev/null'

  # Permission is what is tested: a non-module fails with ENOEXEC when
  # loading is allowed, EPERM when it is not (ENOSYS without module
  # support).
  attempt "load a kernel module" priv busybox sh -c \
    'out=$(insmod /bin/busybox 2>&1) && exit 0; echo "$out" | grep -qiE "format|exec"'

  attempt "/proc/sysrq-trigger" priv busybox sh -c 'echo h > /proc/sysrq-trigger'

  attempt "/sys/kernel/uevent_helper" priv busybox sh -c \
    'v=$(cat /sys/kernel/uevent_helper) && printf "%s" "$v" > /sys/kernel/uevent_helper'

  # busybox date exits 0 even when it could not set the clock.
  attempt "set the clock" priv busybox sh -c \
    'out=$(date -s "@$(date +%s)" 2>&1) && ! echo "$out" | grep -q "can.t set"'

  mkdir -p "$R/ro"; chmod 0755 "$R/ro"
  attempt "remount a read-only bind mount rw" priv -v "$R/ro:/ro:ro" busybox sh -c \
    'mount -o remount,rw,bind /ro && touch /ro/escaped'
  rm -f "$R/ro/escaped"

  # Masked and read-only paths: moat-lock moves every container with
  # CAP_SYS_ADMIN into a mount namespace the kernel locks (MNT_LOCKED,
  # MNT_LOCK_READONLY), from `run` and from `exec` alike.
  local probe=${MOUNT_PROBE:-$B/tests/mount-probe}
  if [ -x "$probe" ]; then ok "mount-probe is built"; else fail "mount-probe is built ($probe)"; fi
  # The precheck runs with the attempts' own prefix: a container that
  # cannot start must fail the suite, not pass every attempt.
  check_masks "privileged container has masked and read-only /proc paths" \
    priv -v "$probe:/probe:ro" busybox
  lock_attempts "" priv -v "$probe:/probe:ro" busybox
  d run -d --name lockd --privileged -v "$probe:/probe:ro" busybox sleep 600 >/dev/null
  check_masks "exec into a privileged container sees the masks" d exec lockd
  lock_attempts " (docker exec)" d exec lockd
  d rm -f lockd >/dev/null
  # --cap-add SYS_ADMIN without --privileged: Docker's own masks and a
  # read-only /proc/sys, locked the same way.
  attempt "remount /proc/sys rw (--cap-add SYS_ADMIN)" \
    d run --rm --cap-add SYS_ADMIN busybox mount -o remount,rw /proc/sys
  attempt "unmount a masked path (--cap-add SYS_ADMIN)" \
    d run --rm --cap-add SYS_ADMIN busybox sh -c "$UMOUNT_MASKED"
  # seccomp=unconfined without SYS_ADMIN: `docker exec --privileged` gains
  # CAP_SYS_ADMIN and nothing filters mount calls, so it is locked too.
  d run -d --name unconf --security-opt seccomp=unconfined -v "$probe:/probe:ro" \
    busybox sleep 600 >/dev/null
  check_masks "exec --privileged into a seccomp=unconfined container sees the masks" \
    d exec --privileged unconf
  lock_attempts " (exec --privileged, seccomp=unconfined)" d exec --privileged unconf
  d rm -f unconf >/dev/null
  # systempaths=unconfined: Docker drops its masks; moat keeps them.
  check_masks "--security-opt systempaths=unconfined keeps the masks" \
    d run --rm --security-opt systempaths=unconfined busybox
  attempt "read a masked path (systempaths=unconfined)" \
    d run --rm --security-opt systempaths=unconfined busybox sh -c \
    'grep -q . /proc/keys /proc/timer_list /proc/sched_debug 2>/dev/null'
  attempt "write /proc/sys (systempaths=unconfined)" \
    d run --rm --security-opt systempaths=unconfined busybox sh -c \
    'grep -q " /proc/sys rw," /proc/self/mountinfo || ! grep -q " /proc/sys " /proc/self/mountinfo'
  d run -d --name rofs --read-only --privileged busybox sleep 600 >/dev/null
  attempt "remount a --read-only root file system rw" d exec rofs sh -c \
    'mount -o remount,rw / && touch /escaped'
  d rm -f rofs >/dev/null

  # Another container: its files and its processes.
  d run -d --name victim busybox sh -c 'echo s3cret > /secret; sleep 600' >/dev/null
  sleep 1
  local vpid
  vpid=$(d inspect -f '{{.State.Pid}}' victim)
  attempt "read another container's files via /proc/<pid>/root" priv busybox sh -c \
    "cat /proc/$vpid/root/secret /proc/*/root/secret 2>/dev/null | grep -q s3cret"
  attempt "signal another container's process" priv busybox sh -c "kill -0 $vpid"
  attempt "ptrace another container's process" priv busybox sh -c \
    "test -r /proc/$vpid/mem && head -c1 /proc/$vpid/environ >/dev/null"
  d rm -f victim >/dev/null

  # The engine socket through a bind mount of the directory above it.
  local sockdir
  sockdir=$(dirname "$ENGINE_SOCK")
  attempt "reach the engine socket through a parent-directory bind mount" \
    priv -v "$sockdir:/hostrun" busybox sh -c \
    "test -S /hostrun/$(basename "$ENGINE_SOCK") && test -w /hostrun/$(basename "$ENGINE_SOCK")"
}
