# Escape attempts against moat-runc, each from a --privileged container,
# each required to fail, and to fail for the reason it is supposed to: the
# kernel's refusal (the errno text: "Operation not permitted", "Invalid
# argument" for a locked mount, "Read-only file system", ...) or moat's.
# An attempt that fails for another reason (command or applet not found,
# image missing, a shell syntax error, a container that did not start) is
# a failed test, not a blocked escape.  Payloads are harmless if isolation
# ever fails: values are written back unchanged (drop_caches gets 4, which
# drops nothing), sysrq `h` only prints
# help, the clock is set to now, a module load uses a file that is not a
# module, a block device is mounted read-only.
#
# Source after tests/lib/harness.sh with harness_engine running (d is the
# docker CLI against it; ok/not_ok report); needs $R (scratch directory),
# ENGINE_SOCK (the engine socket path) and $B (the build directory, for
# tests/mount-probe).  escape_all runs every attempt.

priv() { d run --rm --privileged "$@"; }

# Output that means the attempt did not run as written, whatever else it
# says (a container that did not start, a missing tool, a broken snippet).
ATTEMPT_BROKEN=': not found|Cannot connect to the Docker daemon|applet not found|Unable to find image|No such image|No such container|syntax error|unexpected (end|word)|unknown (flag|shorthand)|invalid reference format|Error response from daemon|OCI runtime|exec format error'

# attempt NAME WANT CMD...: CMD exits 0 only if the escape worked.  Passes
# when CMD fails and its output matches the extended regex WANT (the
# reason it must fail), and no other line says that (part of) the attempt
# never ran.
attempt() {
  local name=$1 want=$2 out rc
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then
    not_ok "escape blocked: $name" "the attempt succeeded: $*" "$(printf '%s' "$out" | tail -5)"
  elif ! grep -qE -- "$want" <<<"$out"; then
    not_ok "escape blocked: $name" "exit $rc, but not for the expected reason (/$want/): $*" \
      "$(printf '%s' "$out" | tail -8)"
  elif grep -vE -- "$want" <<<"$out" | grep -qE -- "$ATTEMPT_BROKEN"; then
    not_ok "escape blocked: $name" "exit $rc, (part of) the attempt did not run as written: $*" \
      "$(printf '%s' "$out" | tail -8)"
  else
    ok "escape blocked: $name"
  fi
}

# The errno texts (mount-probe and most applets print strerror; busybox
# mount says "permission denied (are you root?)" for EPERM and EACCES).
EPERM='Operation not permitted'
MOUNT_EPERM='mount: permission denied \(are you root\?\)'
EINVAL='Invalid argument'
EROFS='Read-only file system'
# A mount the kernel locked (MNT_LOCKED) cannot be unmounted, moved or
# bind-copied alone: EINVAL.
LOCKED=$EINVAL

MASKED="/proc/keys /proc/timer_list /proc/sched_debug /proc/kcore /proc/acpi /proc/scsi /proc/latency_stats /proc/timer_stats /proc/asound /sys/firmware"
READONLY="/proc/bus /proc/fs /proc/irq /proc/sysrq-trigger /proc/sys"
# Each snippet exits 0 only if the escape worked; a path that is not a
# mount in this container is skipped (check_masks proves some are), and
# the kernel's answer for the others is printed.
UMOUNT_MASKED="for p in $MASKED; do grep -q \" \$p \" /proc/self/mountinfo && umount \$p && exit 0; done; exit 1"

# check_masks NAME CMD...: CMD (run or exec prefix) shows at least one
# masked and one read-only path as mounts, so the attempts below are not
# passing vacuously.
check_masks() {
  local name=$1
  shift
  local n
  n=$("$@" sh -c "for p in $MASKED; do grep -q \" \$p \" /proc/self/mountinfo && echo m; done
                  for p in $READONLY; do grep -q \" \$p ro,\" /proc/self/mountinfo && echo r; done" 2>&1 | sort -u | tr -d '\n')
  if [ "$n" = mr ]; then ok "$name"; else not_ok "$name" "got '$n'"; fi
}

# fresh_reveals proc|sys: a snippet that mounts a fresh procfs (sysfs) at
# /x and exits 0 if one of the masked paths is not a mount there, or can
# be unmounted.
fresh_reveals() {
  local t=$1 fs=proc
  [ "$t" = sys ] && fs=sysfs
  printf '%s' "mkdir -p /x && mount -t $fs $fs /x || exit 1
    n=0
    for p in $MASKED; do case \$p in /$t/*) ;; *) continue ;; esac
      q=/x/\${p#/$t/}; [ -e \$q ] || continue; n=\$((n + 1))
      grep -q \" \$q \" /proc/self/mountinfo || { echo \"\$q is not masked\"; exit 0; }
      umount \$q && exit 0
    done; [ \$n -gt 0 ] || { echo 'no masked path to check'; exit 0; }; exit 1"
}

# lock_attempts SUFFIX CMD...: the mount escapes, with CMD the prefix that
# runs a command in a privileged container (`docker run` or `docker exec`).
lock_attempts() {
  local sfx=$1
  shift
  attempt "unmount a masked path$sfx" "$LOCKED" "$@" sh -c "$UMOUNT_MASKED"
  attempt "lazily unmount a masked path (umount -l)$sfx" "$LOCKED" "$@" sh -c \
    "for p in $MASKED; do grep -q \" \$p \" /proc/self/mountinfo && umount -l \$p && exit 0; done; exit 1"
  attempt "unmount a read-only /proc path$sfx" "$LOCKED" "$@" sh -c \
    "for p in $READONLY; do grep -q \" \$p \" /proc/self/mountinfo && umount \$p && exit 0; done; exit 1"
  attempt "remount a read-only /proc path rw$sfx" "$MOUNT_EPERM" "$@" sh -c \
    "for p in $READONLY; do grep -q \" \$p ro,\" /proc/self/mountinfo || continue
       mount -o remount,rw,bind \$p && exit 0; mount -o remount,rw \$p && exit 0; done; exit 1"
  # A --privileged container's /proc/sys is no mount of its own: then the
  # write is what is refused (the container's root is not the host's).
  attempt "remount /proc/sys rw, then write it$sfx" "$MOUNT_EPERM|core_pattern: Permission denied" "$@" sh -c \
    'if grep -q " /proc/sys " /proc/self/mountinfo; then mount -o remount,rw /proc/sys || exit 1; fi
     v=$(cat /proc/sys/kernel/core_pattern) && printf "%s\n" "$v" > /proc/sys/kernel/core_pattern'
  attempt "non-recursive bind of /proc reveals masked files$sfx" "$LOCKED" "$@" sh -c \
    'mkdir -p /x && mount --bind /proc /x && ls /x/ >/dev/null'
  attempt "recursive bind of /proc, then unmount a mask in the copy$sfx" "$LOCKED" "$@" sh -c \
    "mkdir -p /x && mount --rbind /proc /x || exit 1
     for p in $MASKED; do case \$p in /proc/*) ;; *) continue ;; esac
       q=/x/\${p#/proc/}; grep -q \" \$q \" /proc/self/mountinfo && umount \$q && exit 0; done; exit 1"
  # A process under the mount supervisor (a container's first process and
  # its descendants) gets a fresh procfs/sysfs with the masks locked on it;
  # an exec'd one is refused as before (docs/moat-runc.md).
  attempt "a fresh procfs (mount -t proc) reveals a masked path$sfx" "$LOCKED|$MOUNT_EPERM" "$@" sh -c \
    "$(fresh_reveals proc)"
  attempt "a fresh sysfs (mount -t sysfs) reveals a masked path$sfx" "$LOCKED|$MOUNT_EPERM" "$@" sh -c \
    "$(fresh_reveals sys)"
  attempt "unmount a masked path in a new mount namespace (unshare -m)$sfx" "$LOCKED" "$@" \
    unshare -m sh -c "$UMOUNT_MASKED"
  attempt "move a masked mount away (mount --move)$sfx" "$LOCKED" "$@" sh -c \
    'mkdir -p /x && mount --move /proc/keys /x || mount --move /sys/firmware /x'
  # The new mount API: the same checks apply (mount-probe exits 0 if the
  # kernel let it through, and prints the kernel's answer).
  attempt "fresh procfs through fsopen/fsmount$sfx" "fsmount proc: $EPERM" "$@" /probe fsmount proc
  attempt "fresh sysfs through fsopen/fsmount$sfx" "fsmount sysfs: $EPERM" "$@" /probe fsmount sysfs
  attempt "non-recursive open_tree clone of /proc$sfx" "open_tree /proc: $LOCKED" "$@" /probe clone /proc
  # Last: in an exec'd container an escape here would hide the rest.
  # NO_WHOLE_TREE=1 (a container nested in a moat container: its /proc and
  # /sys are the mount supervisor's fresh trees, whose top mount it may
  # unmount, revealing the empty directory below, never a mask)
  [ "${NO_WHOLE_TREE:-0}" = 1 ] && return 0
  attempt "lazily unmount /proc (umount -l /proc)$sfx" "$LOCKED" "$@" umount -l /proc
  attempt "unmount /sys$sfx" "$LOCKED" "$@" umount -l /sys
}

escape_all() {
  local rootdev
  rootdev=$(awk '$5 == "/" {print $3; exit}' /proc/self/mountinfo)

  # Permission denied: the container's root is not the host's (its /proc/sys
  # is not read-only under --privileged).
  attempt "write /proc/sys/kernel/core_pattern" "core_pattern: (Permission denied|$EROFS)" priv busybox sh -c \
    'v=$(cat /proc/sys/kernel/core_pattern) && printf "%s\n" "$v" > /proc/sys/kernel/core_pattern'

  # Writing 4 only silences the kernel's drop_caches message: nothing is
  # dropped even if isolation failed.
  attempt "write /proc/sys/vm/drop_caches" "drop_caches: (Permission denied|$EROFS)" priv busybox sh -c \
    'echo 4 > /proc/sys/vm/drop_caches'

  # nsdelegate semantics: a privileged container's cgroups are delegated to
  # its root (child cgroups, cgroup.procs), but its own limits files stay
  # host root's (docs/moat-runc.md, "cgroup delegation").
  attempt "raise its own memory limit" "(memory.limit_in_bytes|memory.max): Permission denied" \
    priv --memory 64m busybox sh -c '
    f=/sys/fs/cgroup/memory/memory.limit_in_bytes; [ -e $f ] || f=/sys/fs/cgroup/memory.max
    echo 1073741824 > $f && [ "$(cat $f)" = 1073741824 ]'
  attempt "raise its own pids limit" "pids.max: Permission denied" \
    priv --pids-limit 100 busybox sh -c '
    f=/sys/fs/cgroup/pids/pids.max; [ -e $f ] || f=/sys/fs/cgroup/pids.max
    echo max > $f && [ "$(cat $f)" = max ]'

  # CVE-2022-0492: a cgroup v1 hierarchy's release_agent runs as host root.
  # Mounting a v1 hierarchy is refused (the controllers are bound on the
  # host: EINVAL; else EPERM), and the container's own /sys/fs/cgroup has
  # no writable release_agent.
  attempt "cgroup v1 release_agent" "mounting cgroup on /tmp/cg failed: ($EINVAL|$EPERM)|$MOUNT_EPERM" \
    priv busybox sh -c '
    mkdir -p /tmp/cg
    for c in rdma memory pids cpu; do mount -t cgroup -o $c cgroup /tmp/cg && break; done
    for f in /tmp/cg/release_agent /sys/fs/cgroup/*/release_agent; do
      [ -e "$f" ] || continue
      v=$(cat "$f") && printf "%s" "$v" > "$f" && exit 0
    done
    exit 1'

  # The device node cannot be made (no CAP_MKNOD towards the host's
  # devices), and the usual disk names do not exist in the container.
  attempt "mount the host's block device ($rootdev)" "mknod: /tmp/blk: $EPERM" priv busybox sh -c "
    mknod /tmp/blk b ${rootdev%%:*} ${rootdev##*:}
    for d in /tmp/blk /dev/vda /dev/sda /dev/nvme0n1; do
      [ -b \$d ] && mkdir -p /mnt/h && mount -o ro \$d /mnt/h && ls /mnt/h/etc >/dev/null && exit 0
    done; exit 1"

  attempt "mknod of a host device (/dev/mem)" "mknod: /tmp/mem: $EPERM" priv busybox sh -c \
    'mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem >/dev/null'

  # Permission is what is tested: a non-module fails with ENOEXEC when
  # loading is allowed, EPERM when it is not (ENOSYS without module
  # support).
  # support).  A kernel without modules (no /proc/modules) cannot say.
  if [ -e /proc/modules ]; then
    attempt "load a kernel module" "insmod: .*$EPERM" priv busybox sh -c \
      'out=$(insmod /bin/busybox 2>&1); echo "$out"; echo "$out" | grep -qiE "format|exec"'
  else
    skip "escape blocked: load a kernel module" "this kernel has no module support"
  fi

  if [ -e /proc/sysrq-trigger ]; then
    attempt "/proc/sysrq-trigger" "sysrq-trigger: ($EROFS|Permission denied)" priv busybox sh -c 'echo h > /proc/sysrq-trigger'
  else
    skip "escape blocked: /proc/sysrq-trigger" "this kernel has no /proc/sysrq-trigger"
  fi

  if [ -e /sys/kernel/uevent_helper ]; then
    attempt "/sys/kernel/uevent_helper" "uevent_helper: ($EROFS|Permission denied)" priv busybox sh -c \
      'v=$(cat /sys/kernel/uevent_helper) && printf "%s" "$v" > /sys/kernel/uevent_helper'
  else
    skip "escape blocked: /sys/kernel/uevent_helper" "this kernel has no uevent helper"
  fi

  # busybox date exits 0 even when it could not set the clock.
  attempt "set the clock" "can.t set date: $EPERM" priv busybox sh -c \
    'out=$(date -s "@$(date +%s)" 2>&1); echo "$out"; ! echo "$out" | grep -q "can.t set"'

  mkdir -p "$R/ro"
  chmod 0755 "$R/ro"
  attempt "remount a read-only bind mount rw" "$MOUNT_EPERM" \
    priv -v "$R/ro:/ro:ro" busybox sh -c 'mount -o remount,rw,bind /ro && touch /ro/escaped'
  rm -f "$R/ro/escaped"

  # Masked and read-only paths: moat-lock moves every container with
  # CAP_SYS_ADMIN into a mount namespace the kernel locks (MNT_LOCKED,
  # MNT_LOCK_READONLY), from `run` and from `exec` alike.
  local probe=${MOUNT_PROBE:-$B/tests/mount-probe}
  if [ -x "$probe" ]; then ok "mount-probe is built"; else not_ok "mount-probe is built" "$probe"; fi
  # The precheck runs with the attempts' own prefix: a container that
  # cannot start must fail the suite, not pass every attempt.
  check_masks "privileged container has masked and read-only /proc paths" \
    priv -v "$probe:/probe:ro" busybox
  lock_attempts "" priv -v "$probe:/probe:ro" busybox
  d run -d --name lockd --privileged -v "$probe:/probe:ro" busybox sleep 600 >/dev/null
  check_masks "exec into a privileged container sees the masks" d exec lockd
  lock_attempts " (docker exec)" d exec lockd
  # An exec'd process does not descend from the container's first process:
  # it carries no mount-supervisor filter, so the kernel answers it (the
  # masks are locked in the mount namespace it joins).  Nothing of the
  # supervisor's is reachable from it either.
  attempt "exec'd process reaches the mount supervisor's listener" "no listener" \
    d exec lockd sh -c 'for f in /proc/[0-9]*/fd/*; do
      [ "$(readlink "$f" 2>/dev/null)" = "anon_inode:seccomp notify" ] && { echo "$f"; exit 0; }
    done; echo "no listener"; exit 1'
  d rm -f lockd >/dev/null
  # --cap-add SYS_ADMIN keeps CAP_SYS_ADMIN in the bounding set, so the
  # first process is under the mount supervisor; `docker exec --privileged`
  # then adds every capability to a process without the filter.
  d run -d --name capsa --cap-add SYS_ADMIN -v "$probe:/probe:ro" busybox sleep 600 >/dev/null
  check_masks "exec --privileged into a supervised --cap-add SYS_ADMIN container sees the masks" \
    d exec --privileged capsa
  lock_attempts " (exec --privileged, --cap-add SYS_ADMIN)" d exec --privileged capsa
  d rm -f capsa >/dev/null
  # --cap-add SYS_ADMIN without --privileged: Docker's own masks and a
  # read-only /proc/sys, locked the same way.
  attempt "remount /proc/sys rw (--cap-add SYS_ADMIN)" "$MOUNT_EPERM" \
    d run --rm --cap-add SYS_ADMIN busybox mount -o remount,rw /proc/sys
  attempt "unmount a masked path (--cap-add SYS_ADMIN)" "$LOCKED" \
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
  attempt "read a masked path (systempaths=unconfined)" "masked: /proc/" \
    d run --rm --security-opt systempaths=unconfined busybox sh -c '
    for p in /proc/keys /proc/timer_list /proc/sched_debug; do
      [ -n "$(cat $p 2>/dev/null)" ] && exit 0
      grep -q " $p " /proc/self/mountinfo && echo "masked: $p"
    done; exit 1'
  attempt "write /proc/sys (systempaths=unconfined)" "core_pattern: $EROFS" \
    d run --rm --security-opt systempaths=unconfined busybox sh -c \
    'v=$(cat /proc/sys/kernel/core_pattern) && printf "%s\n" "$v" > /proc/sys/kernel/core_pattern'
  d run -d --name rofs --read-only --privileged busybox sleep 600 >/dev/null
  attempt "remount a --read-only root file system rw" "$MOUNT_EPERM" \
    d exec rofs sh -c 'mount -o remount,rw / && touch /escaped'
  d rm -f rofs >/dev/null

  # Another container: its files and its processes.  Its pid does not
  # exist in this container's pid namespace.
  d run -d --name victim busybox sh -c 'echo s3cret > /secret; sleep 600' >/dev/null
  sleep 1
  local vpid
  vpid=$(d inspect -f '{{.State.Pid}}' victim)
  attempt "read another container's files via /proc/<pid>/root" \
    "can't open '/proc/$vpid/root/secret': No such file or directory" priv busybox sh -c \
    "cat /proc/$vpid/root/secret | grep s3cret || cat /proc/*/root/secret | grep s3cret"
  attempt "signal another container's process" "can't kill pid $vpid: No such process" \
    priv busybox sh -c "kill -0 $vpid"
  attempt "ptrace another container's process" "head: /proc/$vpid/environ: No such file or directory" \
    priv busybox sh -c "head -c1 /proc/$vpid/environ >/dev/null && test -r /proc/$vpid/mem"
  d rm -f victim >/dev/null

  # The engine socket through a bind mount of the directory above it:
  # moat-runc refuses the container (the contract's socket-mount refusal).
  local sockdir
  sockdir=$(dirname "$ENGINE_SOCK")
  attempt "reach the engine socket through a parent-directory bind mount" \
    "enhanced container isolation: docker socket mount denied" \
    priv -v "$sockdir:/hostrun" busybox sh -c \
    "test -S /hostrun/$(basename "$ENGINE_SOCK") && test -w /hostrun/$(basename "$ENGINE_SOCK")"
}
