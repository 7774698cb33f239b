#!/usr/bin/env bash
# Host block devices stay out of unprivileged containers (issue 10, hole 2):
# a loop device the test made over its own file must not be readable
#   - through a device node an image put under a VOLUME path (dockerd copies
#     it into the anonymous volume): every bind and volume is nodev;
#   - through --device-cgroup-rule plus mknod, or --device: the device cgroup
#     allows exactly the devices moat keeps.
. "$(dirname "$0")/../lib/harness.sh"
cd "$HARNESS_TOP"
top=$PWD
B=$MOAT_BUILD
harness_init
R=$HARNESS_DIR
LOOP=""
HARNESS_EXTRA_CLEANUP='[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null'

# blocked NAME WANT CMD...: the command must not print the disk's marker,
# and must fail for the reason WANT (an extended regex: the errno text of
# nodev or the device cgroup, or moat's refusal), not because the
# container or a command in it did not run.
blocked() {
  local name=$1 want=$2 out
  shift 2
  out=$("$@" 2>&1)
  if echo "$out" | grep -q moat-loop-marker; then
    not_ok "$name" "read the device" "$out"
  elif ! echo "$out" | grep -qE -- "$want"; then
    not_ok "$name" "not refused for the expected reason (/$want/)" "$out"
  elif echo "$out" | grep -vE -- "$want" | grep -qE ': not found|Unable to find image|Error response from daemon|syntax error'; then
    not_ok "$name" "the attempt did not run as written" "$out"
  else
    ok "$name"
  fi
}
NODEV="/disk: Permission denied"      # open of a node on a nodev mount: EACCES
NOMKNOD="mknod: /tmp/d: Operation not permitted"

MR=$R/moat
mkdir -p "$MR"
harness_engine "{\"runtimes\": {\"moat-runc\": {\"path\": \"$B/moat-runc\",
  \"runtimeArgs\": [\"--moat-root\", \"$MR\"]}}, \"default-runtime\": \"moat-runc\"}"
harness_busybox

img=$R/disk.img
head -c 1048576 /dev/zero >"$img"
printf 'moat-loop-marker' | dd of="$img" conv=notrunc status=none
LOOP=$(losetup -f --show "$img") || harness_bail "losetup"
maj=$((0x$(stat -c %t "$LOOP"))); min=$((0x$(stat -c %T "$LOOP")))
check "the host can read its loop device" sh -c "head -c 16 $LOOP | grep -q moat-loop-marker"

# An image with the node under a VOLUME path.
dv=$R/devimg
cp -a "$R/busybox-rootfs" "$dv"
mkdir -p "$dv/data"
mknod "$dv/data/disk" b "$maj" "$min"; chmod 0666 "$dv/data/disk"
tar -C "$dv" -c . | d import --change 'VOLUME /data' - devimg >/dev/null
rm -rf "$dv"

blocked "image device node in an anonymous volume" "$NODEV" \
  d run --rm devimg head -c 16 /data/disk
blocked "... with --device-cgroup-rule 'b $maj:* rwm'" "$NODEV" \
  d run --rm --device-cgroup-rule "b $maj:* rwm" devimg head -c 16 /data/disk
blocked "... with --device-cgroup-rule 'a *:* rwm'" "$NODEV" \
  d run --rm --device-cgroup-rule "a *:* rwm" devimg head -c 16 /data/disk
d volume create vdev >/dev/null
d run --rm -v vdev:/data devimg true >/dev/null 2>&1
blocked "image device node copied into a named volume" "$NODEV" \
  d run --rm --device-cgroup-rule "b $maj:* rwm" -v vdev:/data busybox head -c 16 /data/disk
mkdir -p "$R/nd"
mi=$(d run --rm -v vdev:/data -v "$R/nd:/r" busybox cat /proc/self/mountinfo)
check "volumes and binds are nodev" sh -c "echo '$mi' | awk '\$5==\"/data\"||\$5==\"/r\" {n++; if (\$6 ~ /nodev/) k++} END {exit !(n==2 && k==2)}'"
mkdir -p "$R/shared"; mknod "$R/shared/disk" b "$maj" "$min"; chmod 0666 "$R/shared/disk"
blocked "device node in a shared directory" "$NODEV" \
  d run --rm --device-cgroup-rule "b $maj:* rwm" -v "$R/shared:/s" busybox head -c 16 /s/disk
blocked "--device-cgroup-rule and mknod" "$NOMKNOD" \
  d run --rm --device-cgroup-rule "b $maj:* rwm" busybox sh -c "mknod /tmp/d b $maj $min; head -c 16 /tmp/d"
# moat-runc leaves a host block device out of the container.
blocked "--device of the loop device" "head: /dev/xdisk: No such file or directory" \
  d run --rm --device "$LOOP:/dev/xdisk" busybox sh -c 'head -c 16 /dev/xdisk'
blocked "--privileged: the image's node" "$NODEV" \
  d run --rm --privileged devimg sh -c "head -c 16 /data/disk"
blocked "--privileged: mknod" "$NOMKNOD" \
  d run --rm --privileged devimg sh -c "mknod /tmp/d b $maj $min && head -c 16 /tmp/d"
check "the devices every container has still work" \
  d run --rm -t busybox sh -c 'head -c1 /dev/zero >/dev/null && echo x >/dev/null && head -c1 /dev/urandom >/dev/null && tty >/dev/null'
check "--device /dev/fuse is kept" d run --rm --device /dev/fuse busybox test -c /dev/fuse
d run --rm --device /dev/fuse busybox sh -c 'exec 3<>/dev/fuse' 2>/dev/null
check "... and its cgroup rule too (open is not EPERM)" \
  sh -c "! d run --rm --device /dev/fuse busybox sh -c 'exec 3<>/dev/fuse' 2>&1 | grep -q 'not permitted'"

# --network container:<id> (issue 11, item 14): runc cannot mount a sysfs
# for a network namespace another user namespace owns; moat-runc gives the
# joining container a read-only clone of the other container's /sys.
d run -d --name netowner busybox sleep 600 >/dev/null
d run -d --name netpriv --privileged busybox sleep 600 >/dev/null
out=$(d run --rm --network container:netowner busybox sh -c \
  'ls /sys/class/net | tr "\n" " "; awk "{print \$2}" /proc/self/uid_map; grep " /sys " /proc/self/mountinfo' 2>&1)
check "--network container:<id> runs and sees its interfaces ($(echo "$out" | head -1))" \
  sh -c "echo '$out' | head -1 | grep -q 'eth0 lo'"
obase=$(d exec netowner awk '{print $2}' /proc/self/uid_map)
check "... in a range of its own" sh -c "echo '$out' | sed -n 2p | grep -qv '^$obase\$'"
check "... with /sys read-only" sh -c "echo '$out' | grep ' /sys ' | grep -q ' ro,'"
check "... and /sys/firmware masked" \
  d run --rm --network container:netowner busybox sh -c 'test -z "$(ls /sys/firmware)"'
check "--network container:<privileged container> runs" \
  d run --rm --network container:netpriv busybox ls /sys/class/net/eth0
d rm -f netowner netpriv >/dev/null

harness_done
