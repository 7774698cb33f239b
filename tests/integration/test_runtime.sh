#!/usr/bin/env bash
# moat-runc end to end: a private dockerd (in its own netns) whose default
# runtime is the build's moat-runc; real containers from a busybox image.
. "$(dirname "$0")/../lib/harness.sh"
cd "$HARNESS_TOP"
top=$PWD
B=$MOAT_BUILD
harness_init
R=$HARNESS_DIR

MR=$R/moat
mkdir -p "$MR"
DB=$MR/var/lib/moat/state.db
cat >"$R/daemon.json.in" <<JSON
{"runtimes": {"moat-runc": {"path": "$B/moat-runc",
                            "runtimeArgs": ["--moat-root", "$MR"]}},
 "default-runtime": "moat-runc"}
JSON
harness_engine "$(cat "$R/daemon.json.in")"
harness_busybox

ranges() { sqlite3 "$DB" 'SELECT count(*) FROM runtime_id_ranges' 2>/dev/null || echo 0; }

# 1. A private, exclusive range.
map=$(d run --rm busybox cat /proc/self/uid_map)
read -r c0 base size <<<"$map"
check "uid_map is 0 BASE 65536 with BASE != 0 ($map)" \
  test "$c0" = 0 -a "$size" = 65536 -a "${base:-0}" -gt 0
gmap=$(d run --rm busybox cat /proc/self/gid_map)
read -r _ gbase gsize <<<"$gmap"
check "gid_map is private too ($gmap)" test "${gbase:-0}" -gt 0 -a "$gsize" = 65536
check "subuid entry created" grep -q '^moat:[1-9][0-9]*:[0-9]*$' "$MR/etc/subuid"

# 2. Concurrent containers: different, non-overlapping ranges.
d run -d --name c1 busybox sleep 600 >/dev/null
d run -d --name c2 busybox sleep 600 >/dev/null
b1=$(d exec c1 cat /proc/self/uid_map | awk '{print $2}')
b2=$(d exec c2 cat /proc/self/uid_map | awk '{print $2}')
check "two containers get disjoint ranges ($b1, $b2)" \
  test -n "$b1" -a -n "$b2" -a $(( b1 > b2 ? b1 - b2 : b2 - b1 )) -ge 65536
check "state db records both" test "$(ranges)" = 2

# 3. Ownership without copying: root owns its rootfs, files it writes are
#    the mapped range on the host side of the mount and container-relative
#    on disk (what docker commit/cp/export read).
check "container root can write /" d exec c1 sh -c 'echo x > /rootfile && mkdir -p /home/bob && chown 1000:1000 /home/bob && su -s /bin/sh nobody -c true 2>/dev/null; touch /home/bob/f && chown 1000:1000 /home/bob/f'
pid1=$(d inspect -f '{{.State.Pid}}' c1)
own=$(stat -c '%u:%g' "/proc/$pid1/root/rootfile")
check "file from the container is the mapped range on the host ($own)" test "$own" = "$b1:$b1"
own=$(stat -c '%u' "/proc/$pid1/root/home/bob/f")
check "uid 1000 in the container is BASE+1000 on the host ($own)" test "$own" = $(( b1 + 1000 ))
up=$(d inspect -f '{{.GraphDriver.Data.UpperDir}}' c1)
check "on disk the layer keeps container ids" \
  test "$(stat -c '%u' "$up/rootfile")/$(stat -c '%u' "$up/home/bob/f")" = "0/1000"
d commit c1 moat-commit >/dev/null
check "docker commit keeps normal ownership" \
  test "$(d run --rm moat-commit stat -c '%u' /rootfile /home/bob/f | tr '\n' ' ')" = "0 1000 "
check "docker export keeps normal ownership" \
  sh -c "docker -H $MOAT_ENGINE_HOST export c1 | tar -tvf - | grep -q ' root/root .* rootfile\$'"
echo hi >"$R/cpin"
d cp "$R/cpin" c1:/cpin
check "docker cp into the container is owned by its root" \
  test "$(d exec c1 stat -c '%u' /cpin)" = 0
check "image layers are untouched (no chown of lower dirs)" \
  test "$(stat -c '%u' "$R"/data/overlay2/*/diff/bin/busybox | sort -u | head -1)" = 0

# Opaque directories (a directory removed and made again) in both
# directions: made under runc and seen under moat-runc, made under
# moat-runc and committed for runc.
d run --name op0 --runtime=runc busybox sh -c 'mkdir /data && touch /data/a' >/dev/null
d commit op0 moat-op2 >/dev/null
d run --name op1 moat-op2 sh -c 'rm -rf /data && mkdir /data && touch /data/b' >/dev/null
d commit op1 moat-op3 >/dev/null
check "opaque directory made under moat-runc survives commit" \
  test "$(d run --rm --runtime=runc moat-op3 ls /data | tr '\n' ' ')" = "b "
d run --name op2 --runtime=runc moat-op2 sh -c 'rm -rf /data && mkdir /data && touch /data/c' >/dev/null
d commit op2 moat-op4 >/dev/null
check "opaque directory in an image layer is honoured" \
  test "$(d run --rm moat-op4 ls /data | tr '\n' ' ')" = "c "
d rm op0 op1 op2 >/dev/null

rundir=$MR/run/moat/runc/$(d inspect -f '{{.Id}}' c1)
check "other host users cannot enter the container's mount dir" \
  test "$(stat -c '%a %u' "$rundir")" = "710 0" -a "$(stat -c '%g' "$rundir")" = "$b1"

# 4. exec, restart.
check "docker exec runs in the range" test "$(d exec c2 cat /proc/self/uid_map | awk '{print $2}')" = "$b2"
d restart -t 1 c1 >/dev/null
check "docker restart works and keeps files" \
  test "$(d exec c1 cat /rootfile 2>/dev/null)" = x
check "restart keeps one range per container" test "$(ranges)" = 2
# A stopped container's range goes back to the pool; started again it may
# get another one, and its files (stored with container ids) still work.
d stop -t 1 c1 >/dev/null
d run -d --name c3 busybox sleep 600 >/dev/null
d start c1 >/dev/null
nb1=$(d exec c1 cat /proc/self/uid_map | awk '{print $2}')
check "restarted with another range ($b1 -> $nb1), files still owned by its root" \
  test "$nb1" != "$b1" -a "$(d exec c1 stat -c '%u' /rootfile)" = 0 -a "$(d exec c1 sh -c 'echo y >> /rootfile && cat /rootfile' | tail -1)" = y
d rm -f c3 >/dev/null

check "docker pause/unpause pass through" sh -c "docker -H $MOAT_ENGINE_HOST pause c2 >/dev/null && docker -H $MOAT_ENGINE_HOST unpause c2 >/dev/null"
check "docker top passes through (runc ps)" sh -c "docker -H $MOAT_ENGINE_HOST top c2 | grep -q sleep"
check "docker update passes through" d update --memory 100m --memory-swap 200m c2

# A range whose container died without delete (crash) is reconciled.
sqlite3 "$DB" "INSERT INTO runtime_id_ranges VALUES ('stale-crashed', 4000000000, 65536, 0)"
out=$("$B/moat-runc" --moat-root "$MR" --root "$R/exec/runtime-runc/moby" moat-reconcile)
check "moat-reconcile releases only the stale range ($out)" \
  test "$out" = "released 1 stale id range" -a "$(ranges)" = 2

check "docker run -t (console socket) gets a pty" \
  sh -c "docker -H $MOAT_ENGINE_HOST run --rm -t busybox tty | grep -q '^/dev/pts/'"
check "docker run --user 1000 runs as 1000 inside the range" \
  test "$(d run --rm --user 1000:1000 busybox sh -c 'id -u; cat /proc/self/uid_map' | head -1)" = 1000

# 5. Volumes and bind mounts are id-mapped.
mkdir -p "$R/src"; echo v >"$R/src/host"; chmod 0711 "$R/src"
check "bind mount is writable by container root" \
  d run --rm -v "$R/src:/src" busybox sh -c 'cat /src/host && echo c > /src/made'
check "file written to a bind mount is owned like without moat" \
  test "$(stat -c '%u' "$R/src/made")" = 0
d volume create shared >/dev/null
d run --rm -v shared:/data busybox sh -c 'echo one > /data/f'
check "two containers with different ranges share a volume" \
  d run --rm -v shared:/data busybox sh -c 'echo two >> /data/f && test "$(cat /data/f)" = "one
two"'

# 5b. --read-only: the root is read-only (and locked so) before runc
#     runs, so moat-runc makes the mountpoints a spec needs; an image's
#     symlink cannot turn that into a directory on the host.
check "--read-only with a tmpfs the image has no directory for" \
  d run --rm --read-only --tmpfs /run2/sub busybox sh -c 'test -d /run2/sub && ! touch /x 2>/dev/null'
mkdir -p "$R/ro-shared" && touch "$R/ro-shared/f"
check "--read-only with a file bind below a new directory" \
  d run --rm --read-only -v "$R/ro-shared/f:/newdir/f:ro" busybox test -f /newdir/f
out=$(d run --rm --read-only --tmpfs /run3 busybox stat -c '%u' /run3 2>&1)
check "its mountpoint belongs to the container's root ($out)" test "$out" = 0
hostdir=$R/ro-escape-target
mkdir -p "$hostdir"
d run --name linkmk busybox ln -s "$hostdir" /evil >/dev/null &&
  d commit linkmk moat-evil-link >/dev/null && d rm linkmk >/dev/null
check "--read-only --tmpfs below an image's absolute symlink runs" \
  d run --rm --read-only --tmpfs /evil/sub moat-evil-link test -d "$hostdir/sub"
check "that symlink did not lead the mountpoint out of the root" \
  test ! -e "$hostdir/sub"

# 6. Privileged: works, still in a user namespace, devices pruned, caps
#    limited to what the host can grant.
out=$(d run --rm --privileged busybox sh -c 'cat /proc/self/uid_map; ls /dev; grep CapBnd /proc/self/status' 2>&1)
check "--privileged runs" test $? = 0
check "--privileged is still in a private user namespace" \
  sh -c "echo '$out' | head -1 | awk '{exit !(\$1==0 && \$2>0 && \$3==65536)}'"
check "--privileged sees no host disks" sh -c "! echo '$out' | grep -qE '^(sd|vd|nvme|mem|kmsg)'"
bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
cbnd=$(echo "$out" | awk '/^CapBnd/ {print $2}')
check "--privileged gets CAP_SYS_ADMIN and nothing outside the host's bounding set ($cbnd within $bnd)" \
  test -n "$cbnd" -a $(( (0x$cbnd >> 21) & 1 )) = 1 -a $(( 0x$cbnd & ~0x$bnd )) = 0
d run -d --name priv --privileged busybox sleep 600 >/dev/null
if [ "$bnd" != 000001ffffffffff ]; then
  check "moat-runc logged the capabilities it left out" \
    sh -c "grep -hs 'left out' \$(find '$R' -name log.json) | grep -q CAP_"
fi

# What --privileged is used for still works inside the locked mount
# namespace moat-lock gives it (docs/moat-runc.md): new mounts of its own,
# sysctls and hostname of its own namespaces, exec, tty, restart.
P() { d run --rm --privileged "$@"; }
check "--privileged: mount -t tmpfs, bind mount of its own dir, umount both" P busybox sh -c \
  'mkdir -p /t && mount -t tmpfs t /t && mkdir /t/a /t/b && touch /t/a/f && mount --bind /t/a /t/b && test -e /t/b/f && umount /t/b && umount /t'
check "--privileged: overlay mount inside the container" P busybox sh -c \
  'mkdir -p /t && mount -t tmpfs t /t && mkdir /t/l /t/u /t/w /t/m && echo x > /t/l/f &&
   mount -t overlay o -o lowerdir=/t/l,upperdir=/t/u,workdir=/t/w /t/m && echo y >> /t/m/f &&
   test "$(cat /t/u/f | tr "\n" " ")" = "x y " && umount /t/m'
check "--privileged: bind mount of an image dir onto another, then umount" P busybox sh -c \
  'mkdir -p /m && mount --bind /bin /m && test -e /m/sh && umount /m'
# /etc holds runc's locked hosts/hostname/resolv.conf mounts: only a
# recursive bind may copy it (docs/moat-runc.md).
check "--privileged: recursive bind of a dir holding runc's mounts" P busybox sh -c \
  'mkdir -p /m && mount --rbind /etc /m && test -e /m/passwd'
check "--privileged: make / rshared (docker-in-docker does)" P busybox mount --make-rshared /
check "--privileged: hostname" P busybox sh -c 'hostname foo && test "$(hostname)" = foo'
check "--privileged: sysctl of its own network namespace" P busybox sysctl -w net.ipv4.ip_forward=1
check "--privileged: working directory and environment kept" \
  test "$(P -w /etc -e FOO=bar busybox sh -c 'echo $(pwd) $FOO')" = "/etc bar"
P busybox sh -c 'exit 3'
check "--privileged: exit status of the command" test $? = 3
check "--privileged: the command is pid 1" P busybox sh -c 'test "$(cat /proc/1/comm)" = sh'
pmap=$(d exec priv cat /proc/self/uid_map)
check "docker exec into a privileged container: its range ($pmap)" \
  sh -c "echo '$pmap' | awk '{exit !(\$1==0 && \$2>0 && \$3==65536)}'"
check "docker exec into a privileged container: mount and umount" \
  d exec priv sh -c 'mkdir -p /t && mount -t tmpfs t /t && umount /t'
check "docker exec into a privileged container: same mount namespace as pid 1" \
  d exec priv sh -c 'test "$(stat -L -c %i /proc/self/ns/mnt)" = "$(stat -L -c %i /proc/1/ns/mnt)"'
check "docker exec -u 1000 into a privileged container" \
  test "$(d exec -u 1000 priv id -u)" = 1000
if command -v script >/dev/null; then
  check "docker run -it --privileged gets a tty" sh -c \
    "script -qec 'docker -H $MOAT_ENGINE_HOST run --rm -it --privileged busybox tty' /dev/null | grep -q /dev/pts/"
  check "docker exec -it into a privileged container gets a tty" sh -c \
    "script -qec 'docker -H $MOAT_ENGINE_HOST exec -it priv tty' /dev/null | grep -q /dev/pts/"
fi
d exec priv sh -c 'echo kept > /kept'
d restart -t 1 priv >/dev/null
check "docker restart of a privileged container" \
  test "$(d exec priv cat /kept 2>/dev/null)" = kept
check "restarted privileged container is locked again" \
  d exec priv sh -c '! umount /proc/keys 2>/dev/null && ! umount /proc/timer_list 2>/dev/null'
check "docker commit of a privileged container leaves the lock shim out" \
  sh -c "! docker -H $MOAT_ENGINE_HOST diff priv | grep -q moat-lock"
d rm -f priv >/dev/null

# --cap-add SYS_ADMIN goes through moat-lock too: user and capabilities
# exactly as Docker sets them.
dbnd=$(d run --rm busybox awk '/^CapBnd/ {print $2}' /proc/self/status)
# (/proc/PID/status lists CapEff before CapBnd.)
sa=$(d run --rm --cap-add SYS_ADMIN busybox sh -c 'id -u; grep -E "^Cap(Bnd|Eff)" /proc/self/status' | awk 'NR==1 {print} /^Cap/ {print $2}' | tr '\n' ' ')
check "--cap-add SYS_ADMIN: root, default capabilities plus SYS_ADMIN ($sa)" \
  test "$sa" = "0 $(printf '%016x' $(( 0x$dbnd | 1 << 21 ))) $(printf '%016x' $(( 0x$dbnd | 1 << 21 ))) "
sa=$(d run --rm --user 1000 --cap-add SYS_ADMIN busybox sh -c 'id -u; grep -E "^Cap(Bnd|Eff)" /proc/self/status' | awk 'NR==1 {print} /^Cap/ {print $2}' | tr '\n' ' ')
check "--user 1000 --cap-add SYS_ADMIN: uid 1000, no effective capabilities ($sa)" \
  test "$sa" = "1000 0000000000000000 $(printf '%016x' $(( 0x$dbnd | 1 << 21 ))) "
check "a container without CAP_SYS_ADMIN does not go through moat-lock" \
  d run --rm busybox sh -c '! test -e /dev/.moat-lock'

# 7. Host namespaces refused with the contract message.
for nsf in pid network ipc uts; do
  case $nsf in network) flag=--network=host ;; *) flag=--$nsf=host ;; esac
  msg=$(d run --rm $flag busybox true 2>&1)
  if [ $? -ne 0 ] && echo "$msg" | grep -q "enhanced container isolation: containers can't share the $nsf namespace with the host"; then
    ok "$flag refused"
  else
    not_ok "$flag refused (got: $msg)"
  fi
done
check "refused creates leave no range behind" test "$(ranges)" = 2

# 8. rm releases ranges and mounts.
d rm -f c1 c2 >/dev/null
check "ranges released after rm" test "$(ranges)" = 0
check "no moat-runc mounts left" sh -c "! grep -q ' $MR/' /proc/self/mountinfo"
harness_done
