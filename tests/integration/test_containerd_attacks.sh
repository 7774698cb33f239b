#!/usr/bin/env bash
# Attacks on moat-runc as a containerd runtime handler (docs/kubernetes.md)
# with what a pod's spec can ask for: a private containerd started here
# (own root, state, sockets, runc root, in the harness's netns), `ctr run`
# through containerd's runc shim with dist/k8s/moat-runc-containerd.
# Payloads are harmless: a file capability (cap_setuid) on a file the test
# made, never executed.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/containerd.sh"
cd "$HARNESS_TOP"
harness_init
R=$HARNESS_DIR
NS=$HARNESS_NETNS
WRAP=$HARNESS_TOP/dist/k8s/moat-runc-containerd
export MOAT_RUNC=$MOAT_BUILD/moat-runc
export MOAT_KUBELET_ROOT=$R/kubelet
PROBE=$MOAT_BUILD/tests/fcap-probe

for b in containerd ctr containerd-shim-runc-v2 getcap; do
  command -v "$b" >/dev/null || harness_bail "$b installed" "$b missing"
done
[ -x "$MOAT_RUNC" ] || harness_bail "moat-runc built" "$MOAT_RUNC missing"
[ -x "$PROBE" ] || harness_bail "fcap-probe built" "$PROBE missing (make tests)"
[ -d /run/containerd ] || HARNESS_EXTRA_CLEANUP="rmdir /run/containerd/s /run/containerd 2>/dev/null"

# ECI on, one shared directory (a pod's hostPath volume inside it).
S=$R/shared
mkdir -p "$S"
chmod 0755 "$S"
cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "filesharingDirectories": {"locked": true, "value": ["$S"]}}
EOJ

d=$R/a
ctd_config "$d"
harness_spawn_netns a containerd --config "$d/config.toml" >/dev/null
ctd_wait "$d" "$R/a.log" "containerd starts"

# busybox as an OCI archive (one uncompressed layer), imported.
harness_busybox_tar
ctd_oci_image docker.io/library/busybox:latest '["/bin/sh"]' "$R/busybox-oci.tar"
ctr -a "$d/c.sock" -n k8s.io images import "$R/busybox-oci.tar" >"$R/import.log" 2>&1 ||
  harness_bail "import busybox" "$(cat "$R/import.log")"

IMG=docker.io/library/busybox:latest
# run ID [ctr run options...] -- CMD...: a CRI pod sandbox (annotation),
# through the handler, in the test's cgroup parent
run() {
  local id=$1 opts=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  timeout 60 ctr -a "$d/c.sock" -n k8s.io run --runc-binary "$WRAP" \
    --runc-root "$d/runc" --fifo-dir "$d/fifo" --cgroup "/moat-$NS/$id" \
    --annotation io.kubernetes.cri.container-type=sandbox "${opts[@]}" \
    "$IMG" "$id" "$@"
}

# 1. A file capability planted through a hostPath volume.  The pod's root
#    writes the shared directory as host root (no caller under containerd:
#    the bind is id-mapped through the pod's own range), so the set-id
#    guard is on and CAP_SETFCAP is dropped.  A nested user namespace
#    regains CAP_SETFCAP (a new user namespace starts with a full bounding
#    set); a v3 security.capability written from there names that
#    namespace's root as its rootid, which the bind's id mapping turns into
#    host uid 0: a capability every host user gets by running the file.
#    Kubernetes pods run seccomp Unconfined unless they ask otherwise.
cp "$PROBE" "$S/probe" && chmod 0755 "$S/probe"
touch "$S/fc" "$S/fc2"
o1=$(run fc1 --rm --mount "type=bind,src=$S,dst=/h,options=rbind:rw" -- /h/probe /h/fc 2>&1)
c1=$(getcap "$S/fc" 2>&1)
check "a pod cannot set a file capability on a shared file directly ($o1; getcap: $c1)" test -z "$c1"
o2=$(run fc2 --rm --mount "type=bind,src=$S,dst=/h,options=rbind:rw" -- /h/probe --nested /h/fc2 2>&1)
c2=$(getcap "$S/fc2" 2>&1)
check "a pod cannot set a file capability on a shared file from a nested user namespace ($o2; getcap: $c2)" \
  test -z "$c2"
o3=$(run fc3 --rm --privileged --mount "type=bind,src=$S,dst=/h,options=rbind:rw" -- /h/probe --nested /h/fc2 2>&1)
c3=$(getcap "$S/fc2" 2>&1)
check "nor a privileged pod ($o3; getcap: $c3)" test -z "$c3"

# 2. The same through exec.  What is exec'd into a running container
#    (the kubelet's exec probes, `kubectl exec`: ExecSync) gets a process
#    file from containerd built from the container's original
#    capabilities, CAP_SETFCAP among them: it would undo the guard with no
#    nested namespace at all.  moat-runc guards the exec'd process too.
touch "$S/fc4" "$S/fc5"
run ex1 -d --mount "type=bind,src=$S,dst=/h,options=rbind:rw" -- sleep 600 >/dev/null
for _ in $(seq 50); do
  [ -n "$(ctr -a "$d/c.sock" -n k8s.io task ls 2>/dev/null | awk '$1=="ex1" && $3=="RUNNING"')" ] && break
  sleep 0.1
done
o4=$(timeout 60 ctr -a "$d/c.sock" -n k8s.io task exec --fifo-dir "$d/fifo" --exec-id x1 ex1 \
  sh -c 'grep CapEff /proc/self/status; /h/probe /h/fc4' 2>&1)
c4=$(getcap "$S/fc4" 2>&1)
check "an exec'd process cannot set a file capability on a shared file (${o4//$'\n'/ }; getcap: $c4)" \
  test -z "$c4"
# runc's own --cap, as a caller could pass it
o5=$("$MOAT_RUNC" --moat-root "$MOAT_ROOT" --moat-containerd --root "$d/runc/k8s.io" \
  exec --cap CAP_SETFCAP ex1 /h/probe /h/fc5 2>&1)
c5=$(getcap "$S/fc5" 2>&1)
check "nor one exec'd with --cap CAP_SETFCAP (${o5//$'\n'/ }; getcap: $c5)" test -z "$c5"
o6=$(timeout 60 ctr -a "$d/c.sock" -n k8s.io task exec --fifo-dir "$d/fifo" --exec-id x2 ex1 \
  sh -c 'echo ok-exec' 2>&1)
check_output "exec into the guarded container still works" ok-exec echo "$o6"
ctr -a "$d/c.sock" -n k8s.io task kill -s KILL ex1 >/dev/null 2>&1
for _ in $(seq 50); do
  ctr -a "$d/c.sock" -n k8s.io task rm ex1 >/dev/null 2>&1 && break
  sleep 0.1
done
ctr -a "$d/c.sock" -n k8s.io container rm ex1 >/dev/null 2>&1

# 3. A pod's containers share its sandbox's user namespace.  A sibling
#    without a writable host bind keeps CAP_SETFCAP, so it may make a
#    nested user namespace that maps uid 0; the guarded container, whose
#    root owns that namespace, could join it (setns needs no capability of
#    the owner) and regain CAP_SETFCAP there.
cpod() { # ID SANDBOX [ctr run options...] -- CMD...: a container of the pod
  local id=$1 sb=$2 opts=()
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  timeout 60 ctr -a "$d/c.sock" -n k8s.io run --runc-binary "$WRAP" \
    --runc-root "$d/runc" --fifo-dir "$d/fifo" --cgroup "/moat-$NS/$id" \
    --annotation io.kubernetes.cri.container-type=container \
    --annotation "io.kubernetes.cri.sandbox-id=$sb" "${opts[@]}" \
    "$IMG" "$id" "$@"
}
pid_of() { ctr -a "$d/c.sock" -n k8s.io task ls 2>/dev/null | awk -v id="$1" '$1==id && $3=="RUNNING"{print $2}'; }
stop() {
  ctr -a "$d/c.sock" -n k8s.io task kill -s KILL "$1" >/dev/null 2>&1
  for _ in $(seq 50); do
    ctr -a "$d/c.sock" -n k8s.io task rm "$1" >/dev/null 2>&1 && break
    sleep 0.1
  done
  ctr -a "$d/c.sock" -n k8s.io container rm "$1" >/dev/null 2>&1
}
touch "$S/fc6"
run pod1 -d -- sleep 600 >/dev/null
for _ in $(seq 50); do spid=$(pid_of pod1); [ -n "$spid" ] && break; sleep 0.1; done
cpod sib pod1 -d --with-ns "pid:/proc/$spid/ns/pid" -- unshare -U -r sleep 600 >/dev/null
cpod gua pod1 -d --with-ns "pid:/proc/$spid/ns/pid" \
  --mount "type=bind,src=$S,dst=/h,options=rbind:rw" -- sleep 600 >/dev/null
for _ in $(seq 50); do [ -n "$(pid_of gua)" ] && [ -n "$(pid_of sib)" ] && break; sleep 0.1; done
o7=$(timeout 60 ctr -a "$d/c.sock" -n k8s.io task exec --fifo-dir "$d/fifo" --exec-id x3 gua \
  sh -c 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = sleep ] || continue; [ "$(readlink $p/ns/user)" = "$(readlink /proc/self/ns/user)" ] && continue; /h/probe --join $p/ns/user /h/fc6 && break; done' 2>&1)
c7=$(getcap "$S/fc6" 2>&1)
check "a guarded container cannot set a file capability from a sibling's nested user namespace (${o7//$'\n'/ }; getcap: $c7)" \
  test -z "$c7"
stop gua
stop sib
# The sibling needs no nested namespace: the guarded container's file,
# reached through /proc/PID/fd (a shared pid namespace; or an fd passed
# over a socket in an emptyDir), is on the guarded container's id-mapped
# bind, and the sibling's root owns it there.
touch "$S/fc7" "$S/su7"
chmod 0755 "$S/su7"
cpod gua2 pod1 -d --with-ns "pid:/proc/$spid/ns/pid" \
  --mount "type=bind,src=$S,dst=/h,options=rbind:rw" -- sh -c 'exec 3<>/h/fc7 4<>/h/su7; exec sleep 600' >/dev/null
cpod sib2 pod1 -d --with-ns "pid:/proc/$spid/ns/pid" -- sleep 600 >/dev/null
for _ in $(seq 50); do [ -n "$(pid_of gua2)" ] && [ -n "$(pid_of sib2)" ] && break; sleep 0.1; done
o8=$(timeout 60 ctr -a "$d/c.sock" -n k8s.io task exec --fifo-dir "$d/fifo" --exec-id x4 sib2 \
  sh -c 'for p in /proc/[0-9]*; do [ -e $p/fd/4 ] || continue; chmod 4755 $p/fd/4; $p/root/h/probe $p/fd/3; done' 2>&1)
c8=$(getcap "$S/fc7" 2>&1)
check "a sibling cannot set a file capability on a guarded container's shared file (${o8//$'\n'/ }; getcap: $c8)" \
  test -z "$c8"
check "nor make a set-uid file of it ($(stat -c %A "$S/su7"))" test "$(find "$S/su7" -perm /6000)" = ""
stop gua2
stop sib2
stop pod1

# 4. An image's VOLUME: containerd's CRI plugin makes a directory of the
#    container's own under <root>/io.containerd.grpc.v1.cri/containers/
#    <id>/volumes/ (image content copied in) and binds it.  The container
#    may have its own; another container's stays refused, like the rest of
#    containerd's root.
CV=$d/root/io.containerd.grpc.v1.cri/containers
mkdir -p "$CV/volx/volumes/v1" "$CV/voly/volumes/v1"
echo own-volume >"$CV/volx/volumes/v1/f"
echo other-volume >"$CV/voly/volumes/v1/f"
check_output "a CRI container may bind its own image volume" own-volume \
  run volx --rm --mount "type=bind,src=$CV/volx/volumes/v1,dst=/v,options=rbind:rw" -- cat /v/f
check_refused "but not another container's" \
  "enhanced container isolation: bind mount of \"$CV/voly/volumes/v1\" denied; it is outside the shared directories" \
  run volz --rm --mount "type=bind,src=$CV/voly/volumes/v1,dst=/v,options=rbind:rw" -- cat /v/f
check_refused "nor a container's whole CRI directory" \
  "enhanced container isolation: bind mount of \"$CV/volx\" denied; it is outside the shared directories" \
  run volx --rm --mount "type=bind,src=$CV/volx,dst=/v,options=rbind:rw" -- ls /v

harness_done
