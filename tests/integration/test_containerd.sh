#!/usr/bin/env bash
# moat-runc as a containerd runtime handler (docs/kubernetes.md): private
# containerd instances started here (own root, state, sockets, runc root,
# in the harness's netns), `ctr run` through containerd's runc shim with
# dist/k8s/moat-runc-containerd as the runc binary, overlay and native
# snapshots, a busybox image imported from an OCI archive built here.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/containerd.sh"
cd "$HARNESS_TOP"
harness_init
R=$HARNESS_DIR
NS=$HARNESS_NETNS
WRAP=$HARNESS_TOP/dist/k8s/moat-runc-containerd
export MOAT_RUNC=$MOAT_BUILD/moat-runc
# read by the wrapper, which the shims of the containerd started below
# inherit
export MOAT_KUBELET_ROOT=$R/kubelet
# node policy: CRI pods that ask for the host's network may have it
export MOAT_ALLOW_HOST_NS=network
DB=$MOAT_ROOT/var/lib/moat/state.db

for b in containerd ctr containerd-shim-runc-v2; do
  command -v "$b" >/dev/null || harness_bail "$b installed" "docker.io/containerd missing"
done
[ -x "$MOAT_RUNC" ] || harness_bail "moat-runc built" "$MOAT_RUNC missing"

# The runc shim of containerd 1.6 puts its sockets in /run/containerd/s
# whatever containerd's state dir (a fixed path in the shim): remove the
# directories this test made there, if it made them and they are empty.
[ -d /run/containerd ] || HARNESS_EXTRA_CLEANUP="rmdir /run/containerd/s /run/containerd 2>/dev/null"

# Bind mounts: enhanced container isolation on, one shared directory.
S=$R/shared
mkdir -p "$S" "$R/private"
echo shared-data >"$S/f"
echo secret >"$R/private/f"
cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "filesharingDirectories": {"locked": true, "value": ["$S"]}}
EOJ

# ---- a private containerd: ctd_start NAME [EXTRA_TOML] ----
ctd_start() {
  ctd_config "$R/$1" "${2:-}"
  harness_spawn_netns "$1" containerd --config "$R/$1/config.toml" >/dev/null
  ctd_wait "$R/$1" "$R/$1.log" "containerd $1 starts"
}

# busybox as an OCI archive (one uncompressed layer: the harness's rootfs
# tarball), imported into namespace NS of containerd NAME.
import_busybox() { # NAME NS
  ctr -a "$R/$1/c.sock" -n "$2" images import "$R/busybox-oci.tar" >"$R/import.log" 2>&1 ||
    harness_bail "import busybox into $1/$2" "$(cat "$R/import.log")"
}

IMG=docker.io/library/busybox:latest
# c NAME [ctr args...]: ctr against containerd NAME
c() { local n=$1; shift; timeout 60 ctr -a "$R/$n/c.sock" "$@"; }
# run NAME NS ID [ctr run options...] -- CMD...: through the handler, in
# the test's cgroup parent (teardown reaps it), runc root of NAME
run() {
  local n=$1 ns=$2 id=$3 opts=()
  shift 3
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  c "$n" -n "$ns" run --runc-binary "$WRAP" --runc-root "$R/$n/runc" \
    --fifo-dir "$R/$n/fifo" --cgroup "/moat-$NS/$n-$ns-$id" "${opts[@]}" \
    "$IMG" "$id" "$@"
}
xc() { # NAME NS ID CMD...: exec in a running container
  local n=$1 ns=$2 id=$3
  shift 3
  c "$n" -n "$ns" task exec --fifo-dir "$R/$n/fifo" --exec-id "x$RANDOM" "$id" "$@"
}
stop() { # NAME NS ID
  c "$1" -n "$2" task kill -s KILL "$3" >/dev/null 2>&1
  for _ in $(seq 50); do
    c "$1" -n "$2" task rm "$3" >/dev/null 2>&1 && break
    sleep 0.1
  done
  c "$1" -n "$2" container rm "$3" >/dev/null 2>&1
}
ranges() { sqlite3 "$DB" 'SELECT count(*) FROM runtime_id_ranges' 2>/dev/null || echo 0; }
base_of() { awk 'NR==1{print $2}' <<<"$1"; }
disjoint() { [ -n "$1" ] && [ -n "$2" ] && [ $(($1 > $2 ? $1 - $2 : $2 - $1)) -ge 65536 ]; }

harness_busybox_tar
ctd_oci_image docker.io/library/busybox:latest '["/bin/sh"]' "$R/busybox-oci.tar"
ctd_start a
import_busybox a default

# 1. Isolated: a private range, on both snapshotters.
map=$(run a default iso1 --rm -- cat /proc/self/uid_map)
read -r c0 b0 s0 <<<"$map"
check "overlay snapshot: uid_map is 0 BASE 65536, BASE != 0 ($map)" \
  test "$c0" = 0 -a "$s0" = 65536 -a "${b0:-0}" -gt 0
map=$(run a default iso2 --rm --snapshotter native -- cat /proc/self/uid_map)
read -r c0 b1 s0 <<<"$map"
check "native snapshot: uid_map is 0 BASE 65536, BASE != 0 ($map)" \
  test "$c0" = 0 -a "$s0" = 65536 -a "${b1:-0}" -gt 0

# 1b. BinaryName moat-runc itself: a link to it, its options in
#     LINK.conf beside it (docs/kubernetes.md, "Without the wrapper").
L=$R/bin/moat-runc-ctd
mkdir -p "$R/bin"
ln -s "$MOAT_RUNC" "$L"
cat >"$L.conf" <<EOC
# the moat handler's options
--moat-root $MOAT_ROOT
--moat-containerd
--moat-kubelet-root $MOAT_KUBELET_ROOT
--moat-allow-host-ns network
EOC
chmod 644 "$L.conf"
map=$(WRAP=$L run a default cf1 --rm -- cat /proc/self/uid_map)
read -r c0 bc s0 <<<"$map"
check "link + .conf: uid_map is 0 BASE 65536, BASE != 0 ($map)" \
  test "$c0" = 0 -a "$s0" = 65536 -a "${bc:-0}" -gt 0
WRAP=$L run a default cf0 -d -- sleep 60 >/dev/null
check_output "link + .conf: handler mode, the range keyed by runc's root and the id" \
  "$R/a/runc/default/cf0" sqlite3 "$DB" "SELECT container_id FROM runtime_id_ranges WHERE container_id LIKE '%cf0'"
stop a default cf0
# create syncs none of its run-directory notes (the overlay's upper dir,
# the set-id and netns records) with fsync(2); sqlite's fdatasync(2) is
# not traced (since 901141b it syncs only at a checkpoint).  strace
# follows moat-runc alone, not runc (-f breaks runc init).
if command -v strace >/dev/null; then
  T=$R/bin/traced
  cat >"$T" <<EOS
#!/bin/sh
case " \$* " in
*" create "*) exec strace -qq -e trace=fsync -o "$R/create-fsync.\$\$" "$L" "\$@" ;;
esac
exec "$L" "\$@"
EOS
  chmod 755 "$T"
  WRAP=$T run a default cf5 --rm -- true
  check "create (through the link, under strace) ran" \
    sh -c "ls '$R'/create-fsync.* >/dev/null"
  check "create calls no fsync(2)" sh -c "! grep -h 'fsync(' '$R'/create-fsync.*"
else
  skip "create calls no fsync(2)" "strace not installed"
fi
WRAP=$L check_refused "link + .conf: host network refused" \
  "enhanced container isolation: containers can't share the network namespace with the host" \
  run a default cf2 --rm --net-host -- true
c a container rm cf2 >/dev/null 2>&1
chmod 666 "$L.conf"
WRAP=$L check_refused "link + .conf: a .conf others may write is refused" \
  "is writable by" run a default cf3 --rm -- true
c a container rm cf3 >/dev/null 2>&1
chmod 644 "$L.conf"
echo "--root /elsewhere" >>"$L.conf"
WRAP=$L check_refused "link + .conf: only --moat- options" \
  "is not a --moat- option" run a default cf4 --rm -- true
c a container rm cf4 >/dev/null 2>&1

# Ownership: the container's root owns its root file system; what it
# writes is container-relative on disk (the snapshot) and BASE+n on the
# host side of the container's mounts.
for snap in overlayfs native; do
  run a default own-$snap -d --snapshotter "$snap" -- sh -c \
    'echo x >/rootfile && mkdir /home && chown 1000:1000 /home && sleep 600' >/dev/null
  sleep 0.5
  pid=$(c a task ls | awk -v id="own-$snap" '$1==id{print $2}')
  mb=$(base_of "$(cat "/proc/$pid/uid_map" 2>/dev/null)")
  check "$snap: a file the container's root wrote is BASE on the host ($mb)" \
    test "$(stat -c %u "/proc/$pid/root/rootfile" 2>/dev/null)" = "$mb" -a -n "$mb"
  check "$snap: uid 1000 in the container is BASE+1000 on the host" \
    test "$(stat -c %u "/proc/$pid/root/home" 2>/dev/null)" = "$((mb + 1000))"
  on_disk=$(find "$R/a/root/io.containerd.snapshotter.v1.$snap/snapshots" \
    -maxdepth 3 -name rootfile -exec stat -c %u {} \; 2>/dev/null | head -1)
  check "$snap: on disk the snapshot keeps container ids ($on_disk)" test "$on_disk" = 0
  check "$snap: image files stay root-owned on disk" \
    test "$(find "$R/a/root/io.containerd.snapshotter.v1.$snap/snapshots" -maxdepth 4 -path '*/bin/busybox' -exec stat -c %u {} \; | sort -u)" = 0
  stop a default "own-$snap"
done

# 2. Concurrent containers: disjoint ranges; the same id in two
#    containerd namespaces: disjoint too (keyed by runc root and id).
run a default d1 -d -- sleep 600 >/dev/null
run a default d2 -d -- sleep 600 >/dev/null
import_busybox a other
run a other d1 -d -- sleep 600 >/dev/null
b1=$(base_of "$(xc a default d1 cat /proc/self/uid_map)")
b2=$(base_of "$(xc a default d2 cat /proc/self/uid_map)")
b3=$(base_of "$(xc a other d1 cat /proc/self/uid_map)")
check "two containers get disjoint ranges ($b1, $b2)" disjoint "$b1" "$b2"
check "the same id in another namespace gets its own range ($b1, $b3)" \
  sh -c "$(declare -f disjoint); disjoint '$b1' '$b3' && disjoint '$b2' '$b3'"
check "state db holds the three ranges" test "$(ranges)" = 3

# A second containerd instance on the same host, sharing moat's state
# (the handler's --moat-root): the same namespace and id as in `a` still
# get a range of their own.
ctd_start b
import_busybox b default
run b default d1 -d -- sleep 600 >/dev/null
b4=$(base_of "$(xc b default d1 cat /proc/self/uid_map)")
check "a second containerd with the same id gets a disjoint range ($b4)" \
  sh -c "$(declare -f disjoint); disjoint '$b1' '$b4' && disjoint '$b2' '$b4' && disjoint '$b3' '$b4'"
stop b default d1
check "deleting b's d1 leaves a's d1 running" \
  test "$(base_of "$(xc a default d1 cat /proc/self/uid_map)")" = "$b1"
out=$("$MOAT_RUNC" --moat-root "$MOAT_ROOT" --root "$R/a/runc/default" moat-reconcile 2>&1)
check "dockerd-mode reconcile leaves the handler's ranges alone ($out)" test "$(ranges)" = 3
out=$("$MOAT_RUNC" --moat-root "$MOAT_ROOT" --moat-containerd --root "$R/a/runc/default" moat-reconcile 2>&1)
check "handler-mode reconcile keeps live containers ($out)" test "$(ranges)" = 3

# 3. Host namespaces refused, with the contract message.
check_refused "host network refused" \
  "enhanced container isolation: containers can't share the network namespace with the host" \
  run a default hn --rm --net-host -- true
check_refused "host pid namespace refused" \
  "enhanced container isolation: containers can't share the pid namespace with the host" \
  run a default hp --rm --with-ns "pid:/proc/$$/ns/pid" -- true
check_refused "joining another user namespace refused" \
  "enhanced container isolation: containers can't share the user namespace with the host" \
  run a default hu --rm --with-ns user:/proc/1/ns/user -- true

# The node policy (MOAT_ALLOW_HOST_NS=network) lets a CRI pod that asks
# for the host's network have it, in its own range; nothing else.
# (the host's network by path: ctr's --net-host also binds the host's
# /etc/hosts and resolv.conf, which the bind rules refuse; CRI binds its
# own copies)
cpid=$(cut -d' ' -f1 "$R/pids/a.pid")
out=$(run a default hnp --rm --with-ns "network:/proc/$cpid/ns/net" \
  --annotation io.kubernetes.cri.container-type=sandbox -- sh -c 'cat /proc/self/uid_map; readlink /proc/self/ns/net; ls /sys/class/net; (echo x >/sys/kernel/uevent_helper) 2>/dev/null && echo WROTE-SYS' 2>&1)
read -r c0 hb _ <<<"$out"
check "policy: a CRI pod with the host network runs in a private range ($c0 $hb)" \
  test "$c0" = 0 -a "${hb:-0}" -gt 0
check_output "policy: it is in the host's network namespace" "$(readlink "/proc/$cpid/ns/net")" echo "$out"
check_fails "policy: its /sys is read-only" grep -q WROTE-SYS <<<"$out"
want=$(ip -n "$NS" -o link | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ')
got=$(grep -vE '^( *0 |net:)' <<<"$out" | sort | tr '\n' ' ')
check "policy: its /sys shows the host network's interfaces ($got)" test "$got" = "$want"
check_refused "policy: a CRI pod asking for the host pid namespace is still refused" \
  "enhanced container isolation: containers can't share the pid namespace with the host" \
  run a default hpp --rm --annotation io.kubernetes.cri.container-type=sandbox \
  --with-ns "pid:/proc/$$/ns/pid" -- true

# 4. Privileged: contained (test_escape style probes).
mkdir -p "$R/marker"
out=$(run a default priv --rm --privileged -- sh -c '
  cat /proc/self/uid_map
  umount /proc/keys 2>/dev/null && echo ESCAPE-umount-keys
  umount -l /proc 2>/dev/null && echo ESCAPE-umount-proc
  mkdir -p /tmp/p && mount -t proc proc /tmp/p 2>/dev/null && echo ESCAPE-fresh-proc
  mount -o remount,rw /proc/sys 2>/dev/null && echo ESCAPE-remount-sys
  ls /dev/vda /dev/sda /dev/mem /dev/kmsg 2>/dev/null | sed "s/^/ESCAPE-dev /"
  echo done' 2>&1)
read -r c0 pb _ <<<"$out"
check "privileged container is in a private range ($c0 $pb)" test "$c0" = 0 -a "${pb:-0}" -gt 0
check "privileged container ran the probes" grep -q '^done$' <<<"$out"
check_fails "privileged container cannot unmount masks, mount a fresh procfs, remount /proc/sys rw or see host disks" \
  grep -q ESCAPE <<<"$out"

# 5. Binds limited to the shared directories.
check_output "bind of a shared directory works" shared-data \
  run a default bs --rm --mount "type=bind,src=$S,dst=/s,options=rbind:ro" -- cat /s/f
check_refused "bind outside the shared directories refused" \
  "enhanced container isolation: bind mount of \"$R/private\" denied; it is outside the shared directories" \
  run a default bp --rm --mount "type=bind,src=$R/private,dst=/p,options=rbind:ro" -- cat /p/f

# 5b. A CRI pod's own files (CRI's sandbox directory, the kubelet's pod
#     directory) may be bound into it; another pod's, or containerd's and
#     the kubelet's other files, may not (ECI on, none of them shared).
PUID=0b9f7a52-5c1e-4b8e-9d0e-1f2a3b4c5d6e
mkdir -p "$R/a/state/io.containerd.grpc.v1.cri/sandboxes/podf" \
  "$MOAT_KUBELET_ROOT/pods/$PUID/volumes/kubernetes.io~empty-dir/cache" \
  "$MOAT_KUBELET_ROOT/pods/other-uid"
echo cri-hosts >"$R/a/state/io.containerd.grpc.v1.cri/sandboxes/podf/hosts"
echo kube-data >"$MOAT_KUBELET_ROOT/pods/$PUID/volumes/kubernetes.io~empty-dir/cache/f"
echo other-pod >"$MOAT_KUBELET_ROOT/pods/other-uid/f"
SB=(--annotation io.kubernetes.cri.container-type=sandbox --annotation "io.kubernetes.cri.sandbox-uid=$PUID")
check_output "a pod sandbox may bind CRI's hosts file of its own sandbox" cri-hosts \
  run a default podf --rm "${SB[@]}" \
  --mount "type=bind,src=$R/a/state/io.containerd.grpc.v1.cri/sandboxes/podf/hosts,dst=/etc/hosts,options=rbind:ro" -- cat /etc/hosts
check_output "a pod may bind its own kubelet volume" kube-data \
  run a default podv --rm "${SB[@]}" \
  --mount "type=bind,src=$MOAT_KUBELET_ROOT/pods/$PUID/volumes/kubernetes.io~empty-dir/cache,dst=/cache,options=rbind" -- cat /cache/f
check_refused "a pod may not bind another pod's kubelet directory" \
  "enhanced container isolation: bind mount of \"$MOAT_KUBELET_ROOT/pods/other-uid\" denied; it is outside the shared directories" \
  run a default podo --rm "${SB[@]}" \
  --mount "type=bind,src=$MOAT_KUBELET_ROOT/pods/other-uid,dst=/o,options=rbind:ro" -- cat /o/f
SBD=$R/a/state/io.containerd.grpc.v1.cri/sandboxes/podf
touch "$SBD/resolv.conf"
mount --bind "$R/private/f" "$SBD/resolv.conf"
check_refused "a host file mounted over a pod file is judged as the host file" \
  "enhanced container isolation: bind mount of \"$R/private/f\" denied; it is outside the shared directories" \
  run a default podf --rm "${SB[@]}" \
  --mount "type=bind,src=$SBD/resolv.conf,dst=/etc/resolv.conf,options=rbind:ro" -- cat /etc/resolv.conf
umount "$SBD/resolv.conf"
check_refused "a pod may not bind another sandbox's CRI files" \
  "enhanced container isolation: bind mount of" \
  run a default podx --rm "${SB[@]}" \
  --mount "type=bind,src=$R/a/state/io.containerd.grpc.v1.cri/sandboxes/podf/hosts,dst=/etc/hosts,options=rbind:ro" -- cat /etc/hosts
check_refused "a container without CRI annotations may not bind CRI's files" \
  "enhanced container isolation: bind mount of" \
  run a default podn --rm \
  --mount "type=bind,src=$R/a/state/io.containerd.grpc.v1.cri/sandboxes/podf/hosts,dst=/etc/hosts,options=rbind:ro" -- cat /etc/hosts

# 6. A Kubernetes pod: sandbox + container (CRI annotations) share one
#    range and the sandbox's user and network namespaces; exec works.
run a default pod1 -d --annotation io.kubernetes.cri.container-type=sandbox \
  -- sleep 600 >/dev/null
spid=$(c a task ls | awk '$1=="pod1"{print $2}')
run a default app1 -d --annotation io.kubernetes.cri.container-type=container \
  --annotation io.kubernetes.cri.sandbox-id=pod1 \
  --with-ns "network:/proc/$spid/ns/net" --with-ns "ipc:/proc/$spid/ns/ipc" \
  -- sleep 600 >/dev/null
pb=$(base_of "$(cat "/proc/$spid/uid_map")")
ab=$(base_of "$(xc a default app1 cat /proc/self/uid_map)")
check "a pod's container has its sandbox's range ($pb, $ab)" test -n "$pb" -a "$pb" = "$ab"
check "a pod's container joins its sandbox's user namespace" \
  test "$(xc a default app1 readlink /proc/self/ns/user)" = "$(readlink "/proc/$spid/ns/user")"
check "the pod's range is disjoint from other containers'" \
  sh -c "$(declare -f disjoint); disjoint '$pb' '$b1' && disjoint '$pb' '$b2'"
check_refused "a container naming an unknown sandbox is refused" \
  "pod sandbox \`nopod\` is not a container of this runtime" \
  run a default app2 --rm --annotation io.kubernetes.cri.container-type=container \
  --annotation io.kubernetes.cri.sandbox-id=nopod -- true
# A pod in a network namespace CRI made (CNI's /var/run/netns/cni-...,
# owned by the host's user namespace): runc cannot mount its sysfs from
# the container's user namespace, so moat-runc makes it; sandbox and
# container see that namespace's interfaces.
CNI=moat-cni-${MOAT_ROOT##*-}
HARNESS_EXTRA_NETNS="${HARNESS_EXTRA_NETNS:-} $CNI"
ip netns add "$CNI" && ip -n "$CNI" link add moatd0 type veth peer name moatd1
run a default pod2 -d --annotation io.kubernetes.cri.container-type=sandbox \
  --with-ns "network:/run/netns/$CNI" -- sleep 600 >/dev/null
p2=$(c a task ls | awk '$1=="pod2"{print $2}')
check_output "a CRI sandbox in a CNI network namespace sees its interfaces in /sys" moatd0 \
  ls "/proc/$p2/root/sys/class/net"
out=$(run a default app3 --rm --annotation io.kubernetes.cri.container-type=container \
  --annotation io.kubernetes.cri.sandbox-id=pod2 --with-ns "network:/run/netns/$CNI" \
  -- sh -c 'cat /proc/self/uid_map; ls /sys/class/net; (echo x >/sys/kernel/uevent_helper) 2>/dev/null && echo WROTE-SYS' 2>&1)
check_output "a container of that pod sees them too" moatd1 echo "$out"
check "... in the pod's range ($(base_of "$out"))" test "$(base_of "$out")" = "$(base_of "$(cat "/proc/$p2/uid_map")")"
check_fails "... and its /sys is read-only" grep -q WROTE-SYS <<<"$out"
# It shares the sandbox's user namespace (and so can use the sandbox's IPC
# namespace): moat-runc joins the CNI namespace itself, for exec too.
run a default app3b -d --annotation io.kubernetes.cri.container-type=container \
  --annotation io.kubernetes.cri.sandbox-id=pod2 --with-ns "network:/run/netns/$CNI" \
  --with-ns "ipc:/proc/$p2/ns/ipc" -- sleep 600 >/dev/null
a3=$(c a task ls | awk '$1=="app3b"{print $2}')
check "... in the sandbox's user namespace" \
  test -n "$a3" -a "$(readlink "/proc/$a3/ns/user")" = "$(readlink "/proc/$p2/ns/user")"
check_output "... and in its IPC namespace, with its mqueue" " /dev/mqueue mqueue " \
  cat "/proc/$a3/mounts"
check_output "exec into it runs in the pod's network namespace" \
  "$(readlink "/proc/$p2/ns/net")" xc a default app3b readlink /proc/self/ns/net
check_output "... and the pod's user namespace" \
  "$(readlink "/proc/$p2/ns/user")" xc a default app3b readlink /proc/self/ns/user
stop a default app3b
# Attacks: a pod's container joining another pod's namespaces.
check_refused "a pod's container may not join another pod's CNI network namespace" \
  "enhanced container isolation: a container of pod sandbox \`pod1\` can only join its pod's namespaces, not the network namespace" \
  run a default app4 --rm --annotation io.kubernetes.cri.container-type=container \
  --annotation io.kubernetes.cri.sandbox-id=pod1 --with-ns "network:/run/netns/$CNI" -- true
check_refused "a pod's container may not join another pod's IPC namespace" \
  "enhanced container isolation: a container of pod sandbox \`pod2\` can only join its pod's namespaces, not the ipc namespace" \
  run a default app5 --rm --annotation io.kubernetes.cri.container-type=container \
  --annotation io.kubernetes.cri.sandbox-id=pod2 --with-ns "network:/run/netns/$CNI" \
  --with-ns "ipc:/proc/$spid/ns/ipc" -- true
stop a default pod2

n=$(ranges)
stop a default app1
check "deleting a pod's container keeps the pod's range" test "$(ranges)" = "$n"
check "the sandbox still runs in its range" test "$(base_of "$(cat "/proc/$spid/uid_map")")" = "$pb"
stop a default pod1
check "deleting the sandbox releases the pod's range" test "$(ranges)" = $((n - 1))

# 7. Cleanup: every range released, no mount left under moat's run dir.
stop a default d1
stop a default d2
stop a other d1
check "every range released" test "$(ranges)" = 0
check "no mount left under moat's run dir" \
  sh -c "! findmnt -rn -o TARGET | grep -qF '$MOAT_ROOT/run/moat/runc/'"

# 7b. The runc shim deletes twice: once the first has released the range,
#     a delete opens no pool.  With the state db moved aside, a pool
#     opened would make a new one.
check "no held marker left (run/moat/runc/ctd-*/.held)" \
  test -z "$(find "$MOAT_ROOT/run/moat/runc" -path '*/.held/*' 2>/dev/null)"
mkdir -p "$R/db-aside"
mv "$DB"* "$R/db-aside/"
check "a repeated delete of a released container succeeds" \
  "$MOAT_RUNC" --moat-root "$MOAT_ROOT" --moat-containerd --root "$R/a/runc/default" \
  delete --force iso1
check "... and opens no pool (no state db made)" test ! -e "$DB"
rm -f "$DB"*
mv "$R/db-aside/"* "$(dirname "$DB")/"

# 8. The dist snippet: containerd with the CRI plugin loads it, and the
#    merged configuration has the `moat` handler with its binary and root.
sed "s|/usr/local/sbin/moat-runc-containerd|$WRAP|" dist/k8s/containerd-moat.toml |
  grep -v '^version' >"$R/moat.toml"
mkdir -p "$R/cri"
cat >"$R/cri/config.toml" <<EOT
version = 2
root = "$R/cri/root"
state = "$R/cri/state"
[grpc]
  address = "$R/cri/c.sock"
[ttrpc]
  address = "$R/cri/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$R/cri/cni-bin"
    conf_dir = "$R/cri/cni-conf"
EOT
# appended, not imported: containerd 1.6 merges an imported file's plugin
# section over the main file's whole (docs/kubernetes.md)
cat "$R/moat.toml" >>"$R/cri/config.toml"
dump=$(containerd --config "$R/cri/config.toml" config dump 2>&1)
check "config dump: runtimes.moat uses the runc shim" \
  grep -qF 'runtime_type = "io.containerd.runc.v2"' <<<"$(sed -n '/runtimes.moat\]/,/^ *\[/p' <<<"$dump")"
check_output "config dump: the moat handler's BinaryName" "BinaryName = \"$WRAP\"" \
  sed -n '/runtimes.moat.options\]/,/^$/p' <<<"$dump"
check_output "config dump: the moat handler's runc root" 'Root = "/run/containerd/moat-runc"' \
  sed -n '/runtimes.moat.options\]/,/^$/p' <<<"$dump"
harness_spawn_netns cri containerd --config "$R/cri/config.toml" >/dev/null
for i in $(seq 100); do
  ctr -a "$R/cri/c.sock" version >/dev/null 2>&1 && break
  sleep 0.1
done
check "the CRI plugin loads with the snippet" \
  sh -c "timeout 30 ctr -a '$R/cri/c.sock' plugins ls | grep -E '^io.containerd.grpc.v1 +cri +.* ok *\$'"

harness_done
