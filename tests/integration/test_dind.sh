#!/usr/bin/env bash
# Docker-in-Docker under moat's defaults (issue 13): a dind image built from
# Debian's packages (tests/tools/dind-image.sh) runs --privileged on the
# real stack; its inner engine comes up on overlay2 and runs containers in
# cgroups delegated to the outer container, which cannot raise its own
# limits nor write anything outside its cgroup.  The inner runc's procfs
# and sysfs come from the outer container's mount supervisor (masks locked
# on them): inner run, privileged run, -p, build, id ranges seen from the
# host, and every "must stay true" line of issue 13 plus the escape
# suite's mount attempts from an inner privileged container.
. "$(dirname "$0")/../lib/harness.sh"
harness_setup

if [ -d /sys/fs/cgroup/unified ] || [ -d /sys/fs/cgroup/cpuset ]; then
  harness_diag "cgroup hierarchy: hybrid (v1 controllers$([ -d /sys/fs/cgroup/unified ] && echo ' + v2 at /sys/fs/cgroup/unified'))"
else
  harness_diag "cgroup hierarchy: v2 only ($(stat -fc %T /sys/fs/cgroup))"
fi

check "dind image builds and imports" "$HARNESS_TOP/tests/tools/dind-image.sh" "$MOAT_ENGINE_HOST"

check "dind container starts --privileged" \
  docker run -d --privileged --pids-limit 4096 --name dind moat-dind:test
ic() { docker exec dind "$@"; }

# The inner engine: up within 60 s, on overlay2.
i=0
until ic docker info >/dev/null 2>&1 || [ $i -ge 60 ] ||
  [ "$(docker inspect -f '{{.State.Running}}' dind 2>/dev/null)" != true ]; do
  sleep 1
  i=$((i + 1))
done
harness_diag "inner dockerd answered after ${i} s"
[ "$(docker inspect -f '{{.State.Running}}' dind 2>/dev/null)" = true ] ||
  harness_diag "$(docker logs dind 2>&1 | tail -20)"
# The mount supervisor (docs/moat-runc.md): one per container that keeps
# CAP_SYS_ADMIN, none for an ordinary container.
did=$(docker inspect -f '{{.Id}}' dind)
supf=$(find "$MOAT_ROOT" -path "*/runc/$did/mountsup.pid" 2>/dev/null | head -1)
sup=$(cat "$supf" 2>/dev/null)
check "the dind container has a mount supervisor (pid ${sup:-none})" \
  test "$(cat "/proc/${sup:-0}/comm" 2>/dev/null)" = moat-mountsup
check "it holds the container's seccomp listener" \
  sh -c "ls -l /proc/${sup:-0}/fd | grep -q 'seccomp notify'"
docker run -d --name plain busybox sleep 600 >/dev/null
plid=$(docker inspect -f '{{.Id}}' plain)
plpid=$(docker inspect -f '{{.State.Pid}}' plain)
check "an ordinary container has none" \
  sh -c "! find '$MOAT_ROOT' -path '*/runc/$plid/mountsup.pid' | grep -q ."
check "an ordinary container carries only Docker's seccomp filter ($(awk '/^Seccomp_filters/{print $2}' "/proc/$plpid/status"))" \
  test "$(awk '/^Seccomp_filters/{print $2}' "/proc/$plpid/status")" = 1
docker rm -f plain >/dev/null

drv=$(ic docker info --format '{{.Driver}}' 2>&1)
check "inner docker info shows overlay2 ($drv)" test "$drv" = overlay2

vol=$(ic stat -c '%u:%g' /var/lib/docker)
check "the /var/lib/docker volume is owned by the container's root ($vol)" test "$vol" = 0:0

check "inner engine imports busybox" \
  ic sh -c 'docker import -c "ENV PATH=/bin" /busybox.tar busybox:latest'
out=$(ic docker run --rm busybox echo inner-ok 2>&1)
harness_diag "inner docker run: $out"
check "inner docker run gets past cgroup configuration" \
  sh -c "! printf '%s' \"\$1\" | grep -q 'cgroup'" _ "$out"
# The inner runc's procfs and sysfs come from the mount supervisor
# (docs/moat-runc.md, "Nested runtimes: procfs and sysfs").
check "inner docker run works ($out)" test "$out" = inner-ok
# Docker 20.10 gives an inner --privileged container every capability up
# to cap_last_cap, not only those of its own bounding set: on a host whose
# bounding set lacks one (this test machine's lacks CAP_SYS_RESOURCE) the
# outer container lacks it too and the inner runc's capset fails.  Then the
# inner "privileged" container below gets every capability the outer one
# has, unconfined seccomp, AppArmor and system paths instead.
capnames="CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE
SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
WAKE_ALARM BLOCK_SUSPEND AUDIT_READ"  # the ones inner Docker 20.10 knows
last=$(cat /proc/sys/kernel/cap_last_cap)
bnd=$((0x$(awk '/^CapBnd:/{print $2}' /proc/self/status)))
IPRIV=--privileged
missing=
n=0
for c in $capnames; do
  [ $n -le "$last" ] || break
  if [ $(((bnd >> n) & 1)) = 1 ]; then IPRIV="$IPRIV --cap-add $c"; else missing="$missing CAP_$c"; fi
  n=$((n + 1))
done
if [ -z "$missing" ]; then
  IPRIV=--privileged
  check_output "inner --privileged docker run works" priv-ok \
    ic docker run --rm --privileged busybox sh -c 'mount -t tmpfs t /tmp && echo priv-ok'
else
  IPRIV="${IPRIV#--privileged } --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined"
  skip "inner --privileged docker run works" "this host's bounding set lacks$missing (inner Docker 20.10 asks for it)"
  check_output "inner docker run with every capability the outer one has works" priv-ok \
    ic docker run --rm $IPRIV busybox sh -c 'mount -t tmpfs t /tmp && echo priv-ok'
fi

# -p: docker-proxy and the inner engine's NAT inside the outer netns.
ic docker run -d --name web -p 8080:80 busybox \
  sh -c 'mkdir -p /www && echo hello-inner >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
oip=$(ic sh -c "ip -4 -o addr show eth0 | awk '{print \$4}' | cut -d/ -f1")
i=0
# nc, not wget: static busybox's wget crashes in getaddrinfo
get() { ic sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 $1 8080"; }
until get 127.0.0.1 2>/dev/null | grep -q hello-inner || [ $i -ge 20 ]; do
  sleep 0.5
  i=$((i + 1))
done
check_output "inner -p 8080:80 answers on the outer container's loopback" hello-inner \
  get 127.0.0.1
check_output "inner -p 8080:80 answers on the outer container's address ($oip)" hello-inner \
  get "$oip"

# docker build (the classic builder: RUN is an inner container too).
ic sh -c 'mkdir -p /tmp/b && printf "FROM busybox:latest\nRUN echo built-inside >/built\n" >/tmp/b/Dockerfile'
out=$(ic sh -c 'DOCKER_BUILDKIT=0 docker build -q -t inner-built /tmp/b' 2>&1)
check "inner docker build works" ic docker image inspect inner-built
[ $? = 0 ] || harness_diag "inner build: $out"
check_output "the built image holds what RUN wrote" built-inside ic docker run --rm inner-built cat /built

# Id ranges: an inner container's processes are inside the outer range.
pid=$(docker inspect -f '{{.State.Pid}}' dind)
base=$(awk '{print $2}' "/proc/$pid/uid_map")
ic docker run -d --name sleeper busybox sleep 31337 >/dev/null
ic docker run -d --name psleeper $IPRIV busybox sleep 31338 >/dev/null
sleep 1
for arg in 31337 31338; do
  ip_=
  for p in /proc/[0-9]*; do
    [ "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" = "sleep $arg " ] && ip_=${p#/proc/} && break
  done
  ids=$(awk '/^(Uid|Gid):/{print $2, $3, $4, $5}' "/proc/${ip_:-0}/status" 2>/dev/null | tr '\n' ' ')
  bad=$(for v in $ids; do [ "$v" -ge "$base" ] && [ "$v" -lt $((base + 65536)) ] || echo "$v"; done)
  check "inner container ($arg) runs inside the outer range from the host (pid ${ip_:-?}: $ids)" \
    test -n "$ip_" -a -n "$ids" -a -z "$bad"
done

# --- cgroup delegation: what the container may and may not write ---
pid=$(docker inspect -f '{{.State.Pid}}' dind)
base=$(awk '{print $2}' "/proc/$pid/uid_map")
harness_diag "outer pid $pid, range base $base"

# Own cgroup as the root of the container's cgroup namespace.
check "cgroup namespace: the container sees its cgroup as /" \
  sh -c "docker exec dind cat /proc/self/cgroup | grep -vq ':/.\+'"

# Inner runc (via the inner engine above) made a child; also by hand.
mem=$(ic sh -c 'ls -d /sys/fs/cgroup/memory 2>/dev/null || echo /sys/fs/cgroup')
check "the container can make a child cgroup ($mem)" \
  ic sh -c "mkdir $mem/moat-child && rmdir $mem/moat-child"

lim=$(ic sh -c "if [ -f $mem/memory.limit_in_bytes ]; then echo $mem/memory.limit_in_bytes; else echo $mem/memory.max; fi")
check_fails "the container cannot raise its own memory limit ($lim)" \
  ic sh -c "echo 9223372036854771712 > $lim"
pids=$(ic sh -c 'ls -d /sys/fs/cgroup/pids 2>/dev/null || echo /sys/fs/cgroup')
check_fails "the container cannot raise its own pids limit" \
  ic sh -c "echo max > $pids/pids.max"

# Nothing above the container's own cgroup became writable from inside:
# on the host, every path of the container's cgroups and each of their
# parents is still owned by host root, except the container's own
# directories and the delegation files in them.
bad=
while IFS=: read -r _ ctrls path; do
  for c in $(echo "${ctrls:-unified}" | tr , ' '); do
    case $c in name=*) c=${c#name=} ;; esac
    d=/sys/fs/cgroup/$c$path
    [ -d "$d" ] || d=/sys/fs/cgroup$path
    [ -d "$d" ] || continue
    p=$(dirname "$d")
    while [ "$p" != /sys/fs/cgroup ] && [ "$p" != / ]; do
      [ "$(stat -c %u "$p")" = 0 ] || bad="$bad $p"
      p=$(dirname "$p")
    done
    for f in "$d"/*; do
      [ -d "$f" ] && continue
      case ${f##*/} in
        cgroup.procs | cgroup.threads | cgroup.subtree_control | tasks | \
          cgroup.clone_children | notify_on_release) ;;
        *) [ "$(stat -c %u "$f")" = 0 ] || bad="$bad $f" ;;
      esac
    done
  done
done <"/proc/$pid/cgroup"
check "nothing outside the delegated files is the container's (${bad:-none})" test -z "$bad"

# --- a fresh procfs/sysfs with the masks re-applied and locked (procfs.h, the
#     building block of the mount supervisor: docs/moat-runc.md) ---
ic mkdir -p /tmp/np
check "moat-runc moat-fresh-mount attaches a fresh procfs in the container" \
  "$MOAT_BUILD/moat-runc" moat-fresh-mount "$pid" proc /tmp/np
check "it shows the container's own pid namespace" ic test -d /tmp/np/1 -a -f /tmp/np/meminfo
check "its masked files read empty" \
  sh -c "test -z \"\$(docker exec dind cat /tmp/np/keys /tmp/np/timer_list)\""
check_fails "its masks are locked: umount keys" ic umount /tmp/np/keys
check_fails "its masks are locked: umount -l timer_list" ic umount -l /tmp/np/timer_list
check_fails "its read-only paths stay read-only" ic mount -o remount,rw,bind /tmp/np/bus
# the whole tree, masks with it (lazily: the masks are mounts below it)
check "the container may unmount the whole new procfs" \
  ic sh -c 'umount -l /tmp/np && ! grep -q " /tmp/np" /proc/self/mountinfo'
ic mkdir -p /tmp/ns
check "moat-runc moat-fresh-mount attaches a fresh sysfs in the container" \
  "$MOAT_BUILD/moat-runc" moat-fresh-mount "$pid" sysfs /tmp/ns
check "it shows the container's own network namespace" \
  sh -c "docker exec dind ls /tmp/ns/class/net | grep -qx eth0"
check_fails "its /sys/firmware mask is locked" ic umount /tmp/ns/firmware
check_fails "its /sys/firmware mask is read-only and empty" ic touch /tmp/ns/firmware/x
check "the container may unmount the whole new sysfs" ic umount -l /tmp/ns
check_fails "moat-fresh-mount makes only proc and sysfs" \
  "$MOAT_BUILD/moat-runc" moat-fresh-mount "$pid" tmpfs /tmp/ns

# --- what stays forbidden from the privileged dind container ---
# docker exec'd processes carry no supervisor filter: the kernel's answer
check_fails "no fresh procfs from an exec'd process (not supervised)" \
  ic sh -c 'mkdir -p /tmp/fp && mount -t proc proc /tmp/fp'
check_fails "no fresh procfs with subset=pid either" \
  ic sh -c 'mkdir -p /tmp/fp && mount -t proc -o subset=pid proc /tmp/fp'
check_fails "masks stay: umount /proc/keys" ic umount /proc/keys
check_fails "no host-wide knob: core_pattern" \
  ic sh -c 'echo "|/tmp/x" > /proc/sys/kernel/core_pattern'
check_fails "no host-wide knob: drop_caches" \
  ic sh -c 'echo 3 > /proc/sys/vm/drop_caches'
# A fresh v1 hierarchy mount in the container's cgroup namespace is rooted
# at its own cgroup: no release_agent to write (CVE-2022-0492's path).
check_fails "no release_agent through a fresh cgroup mount" \
  ic sh -c 'mkdir -p /tmp/cg && mount -t cgroup -o memory cgroup /tmp/cg 2>/dev/null;
            echo /tmp/x > /tmp/cg/release_agent'

# --- the same from an inner --privileged container (its processes are
#     under the mount supervisor: its /proc is a fresh procfs it made) ---
inner() { ic docker run --rm $IPRIV busybox sh -c "$1"; }
check "inner privileged container: /proc is a fresh procfs of its own pid namespace" \
  inner 'test "$(readlink /proc/self)" -lt 100 && test -d /proc/1'
check "inner privileged container: masked files read empty" \
  sh -c "test -z \"\$(docker exec dind docker run --rm $IPRIV busybox cat /proc/keys /proc/timer_list)\""
check_fails "inner privileged container: umount /proc/keys (a mask of the supervisor's procfs)" \
  inner 'umount /proc/keys'
check_fails "inner privileged container: umount -l /proc/timer_list" inner 'umount -l /proc/timer_list'
check_output "inner privileged container: a fresh procfs of its own gets the masks" masked \
  inner 'mkdir -p /x && mount -t proc proc /x && test -d /x/1 && test -z "$(cat /x/keys)" &&
         grep -q " /x/keys " /proc/self/mountinfo && echo masked'
check_fails "inner privileged container: ... which stay locked (umount /x/keys)" \
  inner 'mkdir -p /x && mount -t proc proc /x && umount /x/keys'
check_fails "inner privileged container: no write to core_pattern" \
  inner 'v=$(cat /proc/sys/kernel/core_pattern) && printf "%s\n" "$v" >/proc/sys/kernel/core_pattern'
check_fails "inner privileged container: no write to drop_caches" inner 'echo 3 >/proc/sys/vm/drop_caches'
if [ -e /proc/sysrq-trigger ]; then
  check_fails "inner privileged container: no sysrq" inner 'echo h >/proc/sysrq-trigger'
else
  skip "inner privileged container: no sysrq" "this kernel has no /proc/sysrq-trigger"
fi
# busybox date exits 0 even when it could not set the clock; the clock is
# set to now (harmless if it worked)
check_fails "inner privileged container: cannot set the clock" \
  inner 'out=$(date -s "@$(date +%s)" 2>&1); ! echo "$out" | grep -q "can.t set"'
if [ -e /proc/modules ]; then
  check_output "inner privileged container: cannot load a module" "Operation not permitted" \
    inner 'insmod /bin/busybox 2>&1; true'
else
  skip "inner privileged container: cannot load a module" "this kernel has no module support"
fi
rootdev=$(awk '$5 == "/" {print $3; exit}' /proc/self/mountinfo)
check_fails "inner privileged container: cannot mount the host's block device ($rootdev)" \
  inner "mknod /tmp/blk b ${rootdev%%:*} ${rootdev##*:} 2>/dev/null
         for d in /tmp/blk /dev/vda /dev/sda /dev/nvme0n1; do
           [ -b \$d ] && mkdir -p /mnt/h && mount -o ro \$d /mnt/h && exit 0
         done; exit 1"
# Limits: the outer container runs with --pids-limit 4096; an inner
# privileged container writes max to every pids.max it can reach.
pmax=
while IFS=: read -r _ ctrls path; do
  case ",$ctrls," in *,pids,*) pmax=/sys/fs/cgroup/pids$path/pids.max ;; ,,) [ -f "/sys/fs/cgroup$path/pids.max" ] && pmax=/sys/fs/cgroup$path/pids.max ;; esac
done <"/proc/$pid/cgroup"
inner 'for f in $(find /sys/fs/cgroup -name pids.max 2>/dev/null); do echo max >"$f" 2>/dev/null; done; true'
check "inner privileged container cannot raise the outer pids limit ($pmax: $(cat "$pmax" 2>&1))" \
  test "$(cat "$pmax" 2>/dev/null)" = 4096

# --- the escape suite's mount attempts (tests/escape/attempts.sh) from an
#     inner privileged container, as from the outer one in test_escape ---
B=$MOAT_BUILD
. "$HARNESS_TOP/tests/escape/attempts.sh"
probe=$HARNESS_DIR/mount-probe
cp "$B/tests/mount-probe" "$probe" && chmod 0755 "$probe"
ic mkdir -p "$HARNESS_DIR"
# written by the outer container's root (docker cp would leave it owned
# by an id the container does not map)
docker exec -i dind sh -c "cat >'$probe' && chmod 0755 '$probe'" <"$probe"
# the inner engine's own policy (socket mounts, systempaths) is its
# business; what the kernel and the supervisor enforce is the same
innerp() { ic docker run --rm $IPRIV -v "$probe:/probe:ro" busybox "$@"; }
check_masks "inner privileged container has masked and read-only /proc paths" innerp
NO_WHOLE_TREE=1 lock_attempts " (inner privileged container)" innerp
# ... and from `docker exec --privileged` into the supervised dind
# container: an exec'd process carries no supervisor filter, the kernel
# answers it (docs/moat-runc.md, "Limits").
docker exec -i dind sh -c "cat >/probe && chmod 0755 /probe" <"$probe"
check_masks "exec --privileged into dind sees the masks" docker exec --privileged dind
lock_attempts " (exec --privileged into dind)" docker exec --privileged dind
check "after the exec'd attempts dind's own /proc still has its masks" \
  sh -c "docker exec dind grep -q ' /proc/keys ' /proc/1/mountinfo"

# The supervisor ends with its container.
docker rm -f dind >/dev/null
i=0
while [ "$(cat "/proc/${sup:-0}/comm" 2>/dev/null)" = moat-mountsup ] && [ $i -lt 20 ]; do
  sleep 0.5
  i=$((i + 1))
done
check "the mount supervisor is gone with its container" \
  test "$(cat "/proc/${sup:-0}/comm" 2>/dev/null)" != moat-mountsup

harness_done
