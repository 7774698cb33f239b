#!/usr/bin/env bash
# systemd as PID 1 under moat's defaults (issue 13): a Debian 12 image with
# systemd made by debootstrap (tests/tools/systemd-image.sh, cached) boots
# --privileged to `systemctl is-system-running` = running (debugfs and
# tracefs: the mount supervisor's inert tmpfs), restarts
# journald, and every one of its processes runs inside the container's
# 65536-id range (checked from the host).  Without --privileged, what
# happens is checked too (docs/moat-runc.md, "systemd as PID 1").
. "$(dirname "$0")/../lib/harness.sh"
harness_setup

if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  harness_diag "cgroup hierarchy: v2 only (cgroup2 at /sys/fs/cgroup)"
else
  harness_diag "cgroup hierarchy: hybrid (v1 controllers$(
    [ -d /sys/fs/cgroup/systemd ] && echo ', name=systemd')$(
    [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] &&
      echo ' + v2 at /sys/fs/cgroup/unified'))"
fi

if ! command -v debootstrap >/dev/null; then
  skip "systemd image builds" "debootstrap is not installed (scripts/install-deps)"
  harness_done
  exit
fi
check "systemd image builds (debootstrap, cached) and imports" \
  "$HARNESS_TOP/tests/tools/systemd-image.sh" "$MOAT_ENGINE_HOST" ||
  harness_bail "systemd image" "no image to run"

# state NAME: `systemctl is-system-running` once it has left
# initializing/starting (at most 90 s).
state() {
  local s i=0
  while :; do
    s=$(docker exec "$1" systemctl is-system-running 2>/dev/null)
    case $s in running | degraded | maintenance | stopping | offline) break ;; esac
    [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ] || break
    [ $i -ge 90 ] && break
    sleep 1
    i=$((i + 1))
  done
  harness_diag "$1: '$s' after ${i} s" >&2
  printf '%s' "$s"
}

# in_range NAME: every process of container NAME, i.e. every pid in its
# cgroup (all hierarchies, recursively) and in its pid namespace, has all
# its uids and gids in [BASE, BASE+65536).  Prints the offenders.
in_range() {
  local pid base gbase bad="" p n=0
  pid=$(docker inspect -f '{{.State.Pid}}' "$1" 2>/dev/null)
  case $pid in '' | 0) echo "no-running-container" && return ;; esac
  base=$(awk '{print $2}' "/proc/$pid/uid_map")
  gbase=$(awk '{print $2}' "/proc/$pid/gid_map")
  local pids
  pids=$(
    while IFS=: read -r _ ctrls path; do
      c=${ctrls#name=}
      [ -n "$c" ] || c=unified
      d=/sys/fs/cgroup/$c$path
      [ -d "$d" ] || d=/sys/fs/cgroup$path
      d=${d%/init.scope}
      [ -d "$d" ] && [ "$path" != / ] && find "$d" -name cgroup.procs -exec cat {} +
    done <"/proc/$pid/cgroup"
    for p in /proc/[0-9]*; do
      [ "$p/ns/pid" -ef "/proc/$pid/ns/pid" ] && echo "${p#/proc/}"
    done
  )
  for p in $(printf '%s\n' $pids | sort -un); do
    [ -r "/proc/$p/status" ] || continue
    n=$((n + 1))
    awk -v b="$base" -v g="$gbase" -v p="$p" '
      /^Uid:/ { for (i = 2; i <= 5; i++) if ($i < b || $i >= b + 65536) bad = 1 }
      /^Gid:/ { for (i = 2; i <= 5; i++) if ($i < g || $i >= g + 65536) bad = 1 }
      END { if (bad) print p }' "/proc/$p/status"
  done
  harness_diag "$1: $n processes checked against range $base/$gbase+65536" >&2
}

# --- --privileged ---
check "systemd container starts --privileged" \
  docker run -d --privileged --stop-signal SIGRTMIN+3 --name sd moat-systemd:test
s=$(state sd)
failed=$(docker exec sd systemctl --failed --no-legend --plain 2>&1 | awk '{print $1}' | sort | tr '\n' ' ')
if [ "$s" != running ]; then
  harness_diag "failed units: $failed"
  harness_diag "$(docker exec sd journalctl -q -b -u sys-kernel-debug.mount 2>&1 | tail -5)"
  harness_diag "$(grep -rh 'mount supervisor' "$MOAT_ROOT" --include='*.log' --include='log.json' 2>/dev/null | tail -5)"
  harness_diag "$(docker logs sd 2>&1 | tail -30)"
fi
# debugfs and tracefs: systemd mounts them because the bounding set holds
# CAP_SYS_RAWIO, the kernel refuses both in a user namespace, and the mount
# supervisor answers with an empty read-only tmpfs (docs/moat-runc.md,
# "systemd as PID 1"): nothing may fail.
if [ "$s" = running ]; then
  ok "systemd boots to running"
else
  not_ok "systemd boots to running" "state '$s', failed units: $failed"
fi
for u in sys-kernel-debug.mount sys-kernel-tracing.mount; do
  check "$u is active" docker exec sd systemctl is-active -q "$u"
done
# fsof NAME DIR: "FSTYPE OPTS" of the mount at DIR in container NAME
fsof() {
  docker exec "$1" cat /proc/self/mountinfo |
    awk -v m="$2" '$5 == m { for (i = 7; $i != "-"; i++) ; t = $(i + 1); o = $6 } END { print t, o }'
}
for m in /sys/kernel/debug /sys/kernel/tracing; do
  f=$(fsof sd $m)
  check "$m is an empty read-only tmpfs, not the host's ($f)" \
    sh -c "case '$f' in 'tmpfs ro,'*) ;; *) exit 1 ;; esac"
  check "$m shows nothing" sh -c "test -z \"\$(docker exec sd ls -A $m)\""
  check_fails "$m takes no file" docker exec sd touch "$m/x"
  check_fails "$m cannot be remounted rw" docker exec sd mount -o remount,rw "$m"
  check_fails "$m cannot be remounted rw (bind)" docker exec sd mount -o remount,bind,rw "$m"
done
# A service (under the supervisor, like the mount units) asking for debugfs
# and tracefs again gets the same inert tmpfs; options are refused.
# svc NAME SCRIPT: run SCRIPT (sh) as a oneshot service of the systemd
# container (DOCKER_HOST may be overridden by the caller).
svc() {
  printf '%s\n' "$2" | docker exec -i sd sh -c "cat >/run/$1.sh &&
    printf '[Service]\nType=oneshot\nExecStart=/bin/sh /run/$1.sh\n' >/run/systemd/system/$1.service &&
    systemctl daemon-reload && systemctl start $1.service"
}
svc moat-dbg 'mkdir -p /run/dbg /run/trc && mount -t debugfs debugfs /run/dbg && mount -t tracefs tracefs /run/trc'
f=$(fsof sd /run/dbg)
check "a service's debugfs mount is the inert tmpfs ($f)" sh -c "case '$f' in 'tmpfs ro,'*) ;; *) exit 1 ;; esac"
f=$(fsof sd /run/trc)
check "a service's tracefs mount is the inert tmpfs ($f)" sh -c "case '$f' in 'tmpfs ro,'*) ;; *) exit 1 ;; esac"
check_fails "a service's debugfs mount with options is refused" \
  svc moat-dbo 'mkdir -p /run/dbo && mount -t debugfs -o mode=0777 debugfs /run/dbo'
f=$(fsof sd /run/dbo)
check "... and nothing is mounted there ($f)" test "$f" = " "
# Path tricks: a symlink to a host path and a /proc/self/fd target are
# resolved inside the container's root (the host's directory gets nothing).
ht=$HARNESS_DIR/host-target
mkdir -p "$ht"
svc moat-dbs "ln -sfn '$ht' /run/esc-link && mount -t debugfs debugfs /run/esc-link" >/dev/null 2>&1
check "a debugfs mount through a symlink to a host path mounts nothing on the host" \
  sh -c "! grep -q ' $ht ' /proc/self/mountinfo && ! grep -qs ' $ht ' /proc/*/mountinfo"
check_fails "a debugfs mount on a file (a masked /proc file) is refused" \
  svc moat-dbf 'mount -t debugfs debugfs /proc/keys'
svc moat-dbd 'mkdir -p /run/dbd && exec 7</run/dbd && mount -t debugfs debugfs /proc/self/fd/7' >/dev/null 2>&1
f=$(fsof sd /run/dbd)
check "a /proc/self/fd/N target is the caller's own directory ($f)" sh -c "case '$f' in 'tmpfs ro,'*) ;; *) exit 1 ;; esac"
docker exec sd systemctl reset-failed >/dev/null 2>&1
check_fails "an exec'd process (no supervisor) gets the kernel's refusal for debugfs" \
  docker exec sd sh -c 'mkdir -p /run/dbx && mount -t debugfs debugfs /run/dbx'
check "PID 1 is systemd" sh -c "docker exec sd cat /proc/1/comm | grep -qx systemd"
old=$(docker exec sd systemctl show -p MainPID --value systemd-journald)
check "systemctl restart systemd-journald" docker exec sd systemctl restart systemd-journald
new=$(docker exec sd systemctl show -p MainPID --value systemd-journald)
check "journald runs again with a new pid ($old -> $new)" \
  sh -c "[ '$new' != 0 ] && [ '$new' != '$old' ] && docker exec sd systemctl is-active -q systemd-journald"
check "journald takes a message after the restart" \
  sh -c 'docker exec sd systemd-cat -t moat-probe echo hello-journal &&
         sleep 1 && docker exec sd journalctl -q -t moat-probe | grep -q hello-journal'
# systemd's own cgroups below the container's: system.slice and init.scope.
check "systemd made its cgroups in the delegated subtree" \
  sh -c "docker exec sd cat /proc/1/cgroup | grep -q '/init.scope'"
check "a oneshot service runs in its own cgroup (systemd-tmpfiles-clean)" \
  sh -c "docker exec sd systemctl start systemd-tmpfiles-clean.service &&
         docker exec sd systemctl show -p Result --value systemd-tmpfiles-clean.service | grep -qx success"
check "systemd's services have cgroups of their own (system.slice)" \
  sh -c "docker exec sd cat /proc/\$(docker exec sd systemctl show -p MainPID --value systemd-journald)/cgroup |
         grep -q 'system.slice/systemd-journald.service'"

# --- moatd restarts while the supervisor runs (docs/moat-runc.md: the
#     supervisor is not moatd's and does not depend on it) ---
# A fresh procfs for a new pid and mount namespace of a service: the
# container's own, with the masks (proc/keys a locked mount, empty).
NEWPROC='unshare -pfm --mount-proc sh -c '"'"'test -d /proc/1 && test ! -d /proc/2 &&
  grep -q " /proc/keys " /proc/self/mountinfo && test -z "$(cat /proc/keys)" &&
  ! umount /proc/keys'"'"
check "a service gets a fresh masked procfs (unshare --mount-proc)" svc moat-np0 "$NEWPROC"
sid=$(docker inspect -f '{{.Id}}' sd)
supf=$(find "$MOAT_ROOT/run/moat" -path "*/runc/$sid/mountsup.pid" 2>/dev/null | head -1)
sup=$(cat "$supf" 2>/dev/null)
check "the systemd container has a mount supervisor (pid ${sup:-none})" \
  test "$(cat "/proc/${sup:-0}/comm" 2>/dev/null)" = moat-mountsup
mpid() { jq -r '.processes.moatd.pid // empty' "$MOAT_ROOT/run/moat/stack.json" 2>/dev/null; }
m1=$(mpid)
if [ -n "$m1" ] && [ "$(cat "/proc/$m1/comm" 2>/dev/null)" = moatd ]; then
  kill -KILL "$m1"
  for _ in $(seq 50); do kill -0 "$m1" 2>/dev/null || break; sleep 0.1; done
  check "moatd is gone (SIGKILL)" sh -c "! kill -0 $m1 2>/dev/null"
  check "the supervisor survives moatd's death (pid $sup)" \
    test "$(cat "/proc/${sup:-0}/comm" 2>/dev/null)" = moat-mountsup
  # moatd serves the guard socket: straight to the engine while it is down
  eng() { DOCKER_HOST=$MOAT_ENGINE_HOST "$@"; }
  check "with moatd down a service still gets a fresh masked procfs" eng svc moat-np1 "$NEWPROC"
  out=$(MOAT_ENGINE_NETNS=$HARNESS_NETNS "$MOAT" up -d --dashboard-port 0 2>&1)
  m2=$(mpid)
  if [ -n "$m2" ] && [ "$m2" != "$m1" ] && kill -0 "$m2" 2>/dev/null; then
    ok "moat up restarts moatd ($m1 -> $m2)"
  else
    not_ok "moat up restarts moatd ($m1 -> $m2)" "$out"
  fi
  for _ in $(seq 100); do docker exec sd true 2>/dev/null && break; sleep 0.2; done
  check "the same supervisor still serves the container (pid $sup)" \
    sh -c "test \"\$(cat /proc/${sup:-0}/comm)\" = moat-mountsup && ls -l /proc/${sup:-0}/fd | grep -q 'seccomp notify'"
  check_fails "after the restart the masks stay: umount /proc/keys" docker exec sd umount /proc/keys
  check_fails "after the restart the masks stay: umount -l /proc/timer_list" docker exec sd umount -l /proc/timer_list
  check "after the restart a service gets a fresh masked procfs" svc moat-np2 "$NEWPROC"
  svc moat-dbg2 'mkdir -p /run/dbg2 && mount -t debugfs debugfs /run/dbg2' >/dev/null 2>&1
  f=$(fsof sd /run/dbg2)
  check "after the restart debugfs is still the inert tmpfs ($f)" sh -c "case '$f' in 'tmpfs ro,'*) ;; *) exit 1 ;; esac"
  check "after the restart systemd is still running" \
    sh -c "test \"\$(docker exec sd systemctl is-system-running)\" = running"
else
  not_ok "moatd restart while a supervisor runs" "no moatd pid in stack.json ('$m1')"
fi
bad=$(in_range sd)
check "every process of the systemd container is in its range (${bad:-none outside})" test -z "$bad"
check "the container stops on SIGRTMIN+3 (docker stop)" docker stop -t 30 sd
# A second boot: create delegates the new cgroups again.
check "docker start boots it again" docker start sd
s=$(state sd)
check "second boot reaches running too ($s)" test "$s" = running
bad=$(in_range sd)
check "after the second boot every process is in its range (${bad:-none outside})" test -z "$bad"
docker rm -f sd >/dev/null 2>&1

# --- without --privileged ---
# Docker's usual recipe for systemd: tmpfs on /run and /run/lock.  moat
# delegates cgroups only to privileged containers, and Docker mounts
# /sys/fs/cgroup read-only for the others: systemd cannot make its
# init.scope and exits; if it runs, it stays in its range.
docker run -d -t --name sdu --stop-signal SIGRTMIN+3 --tmpfs /run --tmpfs /run/lock \
  moat-systemd:test >/dev/null 2>&1
su=$(state sdu)
harness_diag "unprivileged: $(docker inspect -f '{{.State.Status}} exit {{.State.ExitCode}}' sdu) state '$su'"
harness_diag "$(docker logs sdu 2>&1 | tail -8)"
# Documented (docs/moat-runc.md): the read-only /sys/fs/cgroup stops it.
check_output "unprivileged: systemd stops at its cgroup (not delegated)" \
  "Failed to create /init.scope control group: Read-only file system" docker logs sdu
if [ "$(docker inspect -f '{{.State.Running}}' sdu)" = true ]; then
  bad=$(in_range sdu)
  check "an unprivileged systemd container stays in its range (${bad:-none outside})" test -z "$bad"
fi
docker rm -f sdu >/dev/null 2>&1

harness_done
