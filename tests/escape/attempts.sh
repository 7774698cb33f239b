# Escape attempts against moat-runc, each from a --privileged container,
# each required to fail.  Payloads are harmless if isolation ever fails:
# values are written back unchanged, sysrq `h` only prints help, the clock
# is set to now, a module load uses a file that is not a module, a block
# device is mounted read-only.
#
# Source after lib_dockerd.sh with dockerd running; needs ok/fail, $R and
# ENGINE_SOCK (the engine socket path).  escape_all runs every attempt.

priv() { d run --rm --privileged "$@"; }

# known_gap NAME CMD...: like attempt, for a route that is not closed yet:
# reported as a "# known gap" comment unless MOAT_ESCAPE_STRICT=1, so that
# the suite stays green while the gap is tracked on the issue.
known_gap() {
  local name=$1; shift
  if [ "${MOAT_ESCAPE_STRICT:-0}" = 1 ]; then attempt "$name" "$@"; return; fi
  if "$@" >/dev/null 2>&1; then
    echo "# known gap: $name (attempt succeeded)"
  else
    ok "escape blocked: $name"
  fi
}

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

  # runc creates masks inside the container's user namespace: not locked.
  known_gap "unmount a masked path" priv busybox sh -c '
    for p in /proc/keys /proc/timer_list /proc/sched_debug /proc/kcore /proc/acpi /proc/scsi /sys/firmware; do
      grep -q " $p " /proc/self/mountinfo && umount "$p" && exit 0
    done; exit 1'
  known_gap "unmount a read-only path (/proc/sysrq-trigger)" priv busybox sh -c \
    'umount /proc/sysrq-trigger'
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
