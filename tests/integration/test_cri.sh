#!/usr/bin/env bash
# The CRI path without a kubelet (docs/kubernetes.md, "CRI clients"): a
# private containerd with the CRI plugin and dist/k8s's `moat` handler,
# driven by our own minimal CRI client (tests/tools/cri/: a .proto subset
# of runtime.v1 written here, Debian's protoc and python3-grpcio).
# RunPodSandbox (CNI bridge from Debian's containernetworking-plugins, in
# the harness's netns, its config and IPAM state in the test's own
# directories), CreateContainer, StartContainer, ExecSync; the sandbox and
# its container share one private id range.
# Network: nothing but the test's own bridge inside the harness's netns.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/containerd.sh"
cd "$HARNESS_TOP"
harness_init
R=$HARNESS_DIR
NS=$HARNESS_NETNS
WRAP=$HARNESS_TOP/dist/k8s/moat-runc-containerd
export MOAT_RUNC=$MOAT_BUILD/moat-runc
export MOAT_KUBELET_ROOT=$R/kubelet
PY=/usr/bin/python3
CRI="$PY $HARNESS_TOP/tests/tools/cri/cri_client.py $R/cri/c.sock $R/pb"

for b in containerd ctr containerd-shim-runc-v2 protoc; do
  command -v "$b" >/dev/null || { skip "cri" "$b is not installed"; harness_done; }
done
$PY -c 'import grpc, google.protobuf' 2>/dev/null \
  || { skip "cri" "python3-grpcio / python3-protobuf are not installed"; harness_done; }
[ -x /usr/lib/cni/bridge ] || { skip "cri" "containernetworking-plugins is not installed"; harness_done; }
[ -d /run/containerd ] || HARNESS_EXTRA_CLEANUP="rmdir /run/containerd/s /run/containerd 2>/dev/null"

S=$R/shared
mkdir -p "$S" "$R/pb" "$R/cri/cni-bin" "$R/cri/cni-conf" "$R/cri/ipam" "$R/cri/logs" "$R/kubelet"
cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "filesharingDirectories": {"locked": true, "value": ["$S"]}}
EOJ
protoc --python_out="$R/pb" -I tests/tools/cri tests/tools/cri/cri_subset.proto \
  || harness_bail "protoc compiles the CRI subset"

# Images as OCI archives (one layer: the harness's busybox rootfs).
harness_busybox_tar
ctd_oci_image docker.io/library/busybox:latest '["/bin/sh"]' "$R/busybox.tar"
ctd_oci_image moat.test/pause:1 '["/bin/sleep","100000"]' "$R/pause.tar"
# an image with a VOLUME: CRI binds a directory of the container's own
ctd_oci_image moat.test/vol:1 '["/bin/sh"]' "$R/vol.tar" ',"Volumes":{"/data":{}}'

# CNI: a bridge in the harness's netns; addresses from the test's range.
for p in bridge host-local loopback; do ln -s /usr/lib/cni/$p "$R/cri/cni-bin/$p"; done
cat >"$R/cri/cni-conf/10-moat-test.conflist" <<EOC
{"cniVersion": "0.4.0", "name": "moat-test",
 "plugins": [{"type": "bridge", "bridge": "crit0", "isGateway": true, "ipMasq": false,
              "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.214.0.0/24"}]],
                       "dataDir": "$R/cri/ipam"}}]}
EOC

cat >"$R/runc-debug" <<EOW
#!/bin/sh
# runc, keeping its log (the shim removes the bundle's log.json)
echo "\$*" >>$R/runc-args.log
runc "\$@"; rc=\$?
prev=
for a in "\$@"; do [ "\$prev" = --log ] && cat "\$a" >>$R/runc-log.json 2>/dev/null; prev=\$a; done
exit \$rc
EOW
chmod 0755 "$R/runc-debug"
sed -e "s|/usr/local/sbin/moat-runc-containerd|$WRAP|" -e "s|/run/containerd/moat-runc|$R/cri/runc|" \
  dist/k8s/containerd-moat.toml | grep -v '^version' >"$R/moat.toml"
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
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  BinaryName = "$R/runc-debug"
  Root = "$R/cri/runc-plain"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  sandbox_image = "moat.test/pause:1"
  disable_apparmor = true
  # the test runs where lowering oom_score_adj is not permitted
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$R/cri/cni-bin"
    conf_dir = "$R/cri/cni-conf"
EOT
cat "$R/moat.toml" >>"$R/cri/config.toml"
harness_spawn_netns cri containerd --config "$R/cri/config.toml" >/dev/null
for _ in $(seq 100); do ctr -a "$R/cri/c.sock" version >/dev/null 2>&1 && break; sleep 0.1; done
for t in busybox pause vol; do
  ctr -a "$R/cri/c.sock" -n k8s.io images import "$R/$t.tar" >"$R/import.log" 2>&1 \
    || harness_bail "import $t" "$(cat "$R/import.log")"
done

for _ in $(seq 100); do
  ctr -a "$R/cri/c.sock" plugins ls 2>/dev/null | grep -qE '^io.containerd.grpc.v1 +cri +.* ok *$' && break
  sleep 0.2
done
ctr -a "$R/cri/c.sock" plugins ls 2>/dev/null | grep -qE '^io.containerd.grpc.v1 +cri +.* ok *$' \
  || harness_bail "the CRI plugin loads" "$(ctr -a "$R/cri/c.sock" plugins ls -d id==cri 2>&1)" "$(grep -i 'cri\|error' "$R/cri.log" | tail -20)"
v=$($CRI version)
check_output "CRI Version through our client" '"runtime_name": "containerd"' echo "$v"

CG=/moat-$NS
# The plain runc handler first: the same pod without moat (a difference
# below is moat's).
p0=$($CRI runp pod0 uid-pod0 runc "$CG/pod0" "$R/cri/logs")
p0id=$(echo "$p0" | jq -r .id)
if [ -n "$p0id" ] && [ "$p0id" != null ]; then
  ok "RunPodSandbox with the plain runc handler"
  $CRI stopp "$p0id" >/dev/null; $CRI rmp "$p0id" >/dev/null
else not_ok "RunPodSandbox with the plain runc handler" "$p0" "$(tail -5 $R/runc-args.log)" "$(tail -c 3000 $R/runc-log.json)" "$(grep -h nsexec $R/cri.log | tail -10 | cut -c1-400)"; fi
pod=$($CRI runp pod1 uid-pod1 moat "$CG/pod1" "$R/cri/logs" | jq -r .id)
if [ -z "$pod" ] || [ "$pod" = null ]; then
  harness_bail "RunPodSandbox with the moat handler" "$($CRI runp pod1b uid-pod1b moat "$CG/pod1b" "$R/cri/logs"; grep -i 'level=error\|warn\|moat' "$R/cri.log" | tail -20 | cut -c1-600)"
fi
ok "RunPodSandbox with runtime_handler moat ($pod)"
ctr_id=$($CRI create "$pod" pod1 uid-pod1 app docker.io/library/busybox:latest "$CG/pod1" "$R/cri/logs" sleep 600 | jq -r .id)
[ -n "$ctr_id" ] && [ "$ctr_id" != null ] && ok "CreateContainer in the pod" \
  || harness_bail "CreateContainer" "$(tail -30 "$R/cri.log")"
if st=$($CRI start "$ctr_id"); then ok "StartContainer"; started=1
else
  not_ok "StartContainer" "$st" "spec /dev/shm: $(ctr -a "$R/cri/c.sock" -n k8s.io containers info "$ctr_id" | jq -c '.Spec.mounts[] | select(.destination=="/dev/shm")')" \
    "sandbox spec /dev/shm: $(ctr -a "$R/cri/c.sock" -n k8s.io containers info "$pod" | jq -c '.Spec.mounts[] | select(.destination=="/dev/shm")')" \
    "$(ip netns exec "$NS" grep -h shm /proc/self/mountinfo | cut -c1-300)"
  started=0
fi

pid_of() { ctr -a "$R/cri/c.sock" -n k8s.io task ls | awk -v id="$1" '$1==id {print $2}'; }
spid=$(pid_of "$pod")
smap=$(cat /proc/$spid/uid_map 2>/dev/null)
read -r s0 sb ss <<<"$smap"
check "the sandbox runs in a private range (uid_map $smap)" test "$s0" = 0 -a "${sb:-0}" -gt 0 -a "$ss" = 65536
netns=$(readlink /proc/$spid/ns/net)
check "the pod's network namespace is not the harness's" test -n "$netns" -a "$netns" != "$(ip netns exec "$NS" readlink /proc/self/ns/net)"
check_output "the pod has its CNI address" "10.214.0." nsenter -t "$spid" -n ip -4 addr show eth0
# What needs the container running (nothing to add to a failed start).
if [ "$started" = 1 ]; then
  cpid=$(pid_of "$ctr_id")
  cmap=$(cat /proc/$cpid/uid_map 2>/dev/null)
  read -r c0 cb cs <<<"$cmap"
  check "the container shares its pod's range (uid_map $cmap)" test "$cb" = "$sb" -a "$c0" = 0
  check "the container is in its sandbox's network namespace ($netns)" test "$netns" = "$(readlink /proc/$cpid/ns/net)"
  # one user namespace for the pod (so its IPC namespace is the container's
  # own to mount mqueue for), not the host's
  check "the container is in its sandbox's user namespace" \
    test "$(readlink /proc/$spid/ns/user)" = "$(readlink /proc/$cpid/ns/user)" -a "$(readlink /proc/$cpid/ns/user)" != "$(readlink /proc/self/ns/user)"
  check "the container is in its sandbox's IPC namespace" \
    test "$(readlink /proc/$spid/ns/ipc)" = "$(readlink /proc/$cpid/ns/ipc)"
  check_output "the container has its mqueue" " /dev/mqueue mqueue " cat /proc/$cpid/mounts
  x=$($CRI exec "$ctr_id" cat /proc/self/uid_map)
  if [ "$(echo "$x" | jq -r .exit_code)" = 0 ]; then
    read -r e0 eb es <<<"$(echo "$x" | jq -r .stdout)"
    check "ExecSync runs in the pod's range" test "$eb" = "$sb" -a "$e0" = 0 -a "$es" = 65536
  else
    not_ok "ExecSync" "$x"
  fi
  x=$($CRI exec "$ctr_id" readlink /proc/self/ns/net)
  check "ExecSync runs in the pod's network namespace ($(echo "$x" | jq -c .))" \
    test "$(echo "$x" | jq -r .stdout | tr -d '\n')" = "$netns"
  x=$($CRI exec "$ctr_id" cat /sys/class/net/eth0/address)
  check "ExecSync sees the pod's own interface in /sys ($(echo "$x" | jq -c .))" \
    test "$(echo "$x" | jq -r .exit_code)" = 0
  # one set-id guard for the pod (docs/kubernetes.md): what CRI execs
  # comes without CAP_SETFCAP, though CRI's process file asks for it
  x=$($CRI exec "$ctr_id" grep CapEff /proc/self/status)
  eff=$(echo "$x" | jq -r .stdout | awk '{print $2}')
  check "ExecSync's process lacks CAP_SETFCAP (CapEff $eff)" \
    test -n "$eff" -a "$(( 0x${eff:-0} & 0x80000000 ))" = 0
  check "StopContainer" $CRI stop "$ctr_id"
fi
vid=$($CRI create "$pod" pod1 uid-pod1 vol moat.test/vol:1 "$CG/pod1" "$R/cri/logs" sleep 600 | jq -r .id)
if st=$($CRI start "$vid" 2>&1); then
  ok "a container whose image has a VOLUME starts"
  x=$($CRI exec "$vid" sh -c 'touch /data/x && echo vol-ok')
  check_output "... with its volume writable" vol-ok echo "$x"
  $CRI stop "$vid" >/dev/null
else
  not_ok "a container whose image has a VOLUME starts" "$st"
fi
$CRI rm "$vid" >/dev/null
check "RemoveContainer" $CRI rm "$ctr_id"
check "StopPodSandbox" $CRI stopp "$pod"
check "RemovePodSandbox" $CRI rmp "$pod"
harness_done
