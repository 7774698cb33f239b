#!/usr/bin/env bash
# Kubernetes-in-Docker on paper (issue 13, docs/kind.md): no kind node
# image can be had here, so each thing a kind node needs beyond
# docker-in-docker and systemd is checked on its own, in a --privileged
# container under moat's defaults: allowed where moat allows it, refused
# (and for the right reason) where moat refuses it.
. "$(dirname "$0")/../lib/harness.sh"
harness_setup

if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  V2=1
  harness_diag "cgroup hierarchy: v2 only (cgroup2 at /sys/fs/cgroup)"
else
  V2=0
  harness_diag "cgroup hierarchy: hybrid (v1 controllers + v2 at /sys/fs/cgroup/unified)"
fi
EACCES='Permission denied'
EROFS='Read-only file system'
EPERM='Operation not permitted'
# refused NAME ERE CMD...: CMD fails (or prints no WRITTEN) and its output
# matches ERE, the reason the kernel gives.
refused() {
  local name=$1 re=$2 out
  shift 2
  out=$("$@" 2>&1)
  if ! grep -q WRITTEN <<<"$out" && grep -qE -- "$re" <<<"$out"; then ok "$name"; return 0; fi
  not_ok "$name" "expected a refusal matching: $re" "$(printf '%s' "$out" | tail -5)"
}

# A kind node's shape: privileged, seccomp unconfined, tmpfs /tmp and
# /run, a volume for /var (containerd's and kubelet's state), limits the
# node's cgroups must keep.
check "a kind-like node container starts" \
  docker run -d --privileged --name node --security-opt seccomp=unconfined \
  --tmpfs /tmp --tmpfs /run -v nodevar:/var --memory 256m --pids-limit 64 \
  busybox sleep 3600
n() { docker exec node "$@"; }
pid=$(docker inspect -f '{{.State.Pid}}' node)

# --- /dev/kmsg: refused (the host's kernel log) ---
check_fails "/dev/kmsg is not in the container" n test -e /dev/kmsg
refused "mknod of /dev/kmsg is refused" "mknod: /tmp/kmsg: $EPERM" \
  n sh -c 'mknod /tmp/kmsg c 1 11 && head -c 200 /tmp/kmsg && echo WRITTEN'
refused "dmesg (syslog(2)) is refused" "$EPERM" n sh -c 'dmesg >/dev/null && echo WRITTEN'
check_refused "--device /dev/kmsg is refused" \
  'enhanced container isolation: host device "/dev/kmsg" can'"'"'t be given to a container' \
  docker run --rm --privileged --device /dev/kmsg busybox true
check "kind's workaround (/dev/kmsg -> /dev/console) can be made" \
  n sh -c 'ln -s /dev/console /dev/kmsg && test -L /dev/kmsg && rm /dev/kmsg'

# --- sysctls: the container's own namespaces' are writable ---
for s in net/ipv4/ip_forward net/ipv4/conf/all/route_localnet net/core/somaxconn \
  kernel/shmmax kernel/msgmax net/netfilter/nf_conntrack_tcp_timeout_established \
  net/netfilter/nf_conntrack_tcp_timeout_close_wait net/bridge/bridge-nf-call-iptables; do
  if ! n test -e "/proc/sys/$s"; then
    skip "namespaced sysctl $s is writable" "not on this kernel (module not loaded)"
    continue
  fi
  check "namespaced sysctl $s is writable" \
    n sh -c "v=\$(cat /proc/sys/$s) && echo \$v > /proc/sys/$s"
done
check "net.ipv4.conf.all.route_localnet=1 takes (kube-proxy)" \
  n sh -c 'echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet &&
           test "$(cat /proc/sys/net/ipv4/conf/all/route_localnet)" = 1'
check "the host's route_localnet is unchanged" \
  test "$(cat /proc/sys/net/ipv4/conf/all/route_localnet)" = 0

# --- host-wide sysctls a kubelet / kube-proxy writes: refused.  Each
#     attempt writes the value it read back (harmless if it worked). ---
for s in vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops \
  kernel/keys/root_maxkeys kernel/keys/root_maxbytes net/netfilter/nf_conntrack_max \
  vm/max_map_count vm/drop_caches kernel/core_pattern kernel/sysrq; do
  if ! n test -e "/proc/sys/$s"; then
    skip "host-wide sysctl $s is refused" "not on this kernel"
    continue
  fi
  hv=$(cat "/proc/sys/$s" 2>/dev/null)
  refused "host-wide sysctl $s is refused" "$EACCES|$EROFS" \
    n sh -c "v=\$(cat /proc/sys/$s 2>/dev/null || echo 0) && echo \"\$v\" > /proc/sys/$s && echo WRITTEN"
  check "host's $s is unchanged" test "$(cat "/proc/sys/$s" 2>/dev/null)" = "$hv"
done
if [ -e /sys/module/nf_conntrack/parameters/hashsize ]; then
  refused "nf_conntrack hashsize (kube-proxy) is refused" "$EACCES|$EROFS" \
    n sh -c 'v=$(cat /sys/module/nf_conntrack/parameters/hashsize) &&
             echo $v > /sys/module/nf_conntrack/parameters/hashsize && echo WRITTEN'
else
  skip "nf_conntrack hashsize (kube-proxy) is refused" "nf_conntrack is not loaded"
fi
# kubelet sets its own oom_score_adj to -999: lowering needs
# CAP_SYS_RESOURCE towards the host.
refused "lowering oom_score_adj is refused" "$EACCES" \
  n sh -c 'echo -999 > /proc/self/oom_score_adj && echo WRITTEN'
check "raising oom_score_adj works" n sh -c 'echo 500 > /proc/self/oom_score_adj'

# --- delegated controllers: visible, child cgroups work, own limits not
#     raisable, and the node's limits hold for what runs below them ---
if [ "$V2" = 1 ]; then
  check_output "v2: cpu, memory and pids are available to the node" "memory" \
    n cat /sys/fs/cgroup/cgroup.controllers
  # kubelet/systemd move init to a leaf before enabling controllers.
  check "v2: init moved to a leaf, controllers enabled for children" \
    n sh -c 'mkdir -p /sys/fs/cgroup/init && for p in $(cat /sys/fs/cgroup/cgroup.procs); do
               echo $p > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null; done
             echo "+memory +pids" > /sys/fs/cgroup/cgroup.subtree_control'
  MEM=/sys/fs/cgroup PIDS=/sys/fs/cgroup MEMLIM=memory.max
else
  for c in cpu cpuacct cpuset memory pids blkio freezer systemd; do
    check "v1: $c is mounted and the node's cgroup is its root" \
      n sh -c "test -w /sys/fs/cgroup/$c/cgroup.procs && test -z \"\$(ls -d /sys/fs/cgroup/$c/docker 2>/dev/null)\""
  done
  MEM=/sys/fs/cgroup/memory PIDS=/sys/fs/cgroup/pids MEMLIM=memory.limit_in_bytes
fi
check "kubelet-like child cgroups (kubepods) can be made" \
  n sh -c "mkdir $MEM/kubepods && mkdir -p $PIDS/kubepods"
check "a child's limit can be set (pod limits)" \
  n sh -c "echo 67108864 > $MEM/kubepods/$MEMLIM && echo 32 > $PIDS/kubepods/pids.max"
refused "the node cannot raise its own memory limit" "$EACCES|$EPERM" \
  n sh -c "echo 1073741824 > $MEM/$MEMLIM && echo WRITTEN"
refused "the node cannot raise its own pids limit" "$EACCES|$EPERM" \
  n sh -c "echo max > $PIDS/pids.max && echo WRITTEN"
if [ "$V2" = 0 ]; then
  refused "the node cannot widen its own cpu quota" "$EACCES|$EPERM" \
    n sh -c 'echo -1 > /sys/fs/cgroup/cpu/cpu.cfs_quota_us && echo WRITTEN'
  refused "the node cannot change its own cpuset" "$EACCES|$EPERM" \
    n sh -c 'v=$(cat /sys/fs/cgroup/cpuset/cpuset.cpus) && echo $v > /sys/fs/cgroup/cpuset/cpuset.cpus && echo WRITTEN'
fi
# Limits hold below a cgroup whatever its children say: kubepods (the
# node's own child) gets pids.max=6, a pod below it max; the pod still
# cannot pass 6 (the same kernel rule keeps the node under its own 64).
# One exec forks in a subshell (which exits when fork is refused) and
# reads the count; the sleeps end in 5 s.
n sh -c "echo 6 > $PIDS/kubepods/pids.max && mkdir $PIDS/kubepods/pod && echo max > $PIDS/kubepods/pod/pids.max"
got=$(n sh -c "echo \$\$ > $PIDS/kubepods/pod/cgroup.procs || exit 1
  (i=0; while [ \$i -lt 20 ]; do sleep 5 & i=\$((i+1)); done) 2>/dev/null
  read c < $PIDS/kubepods/pod/pids.current; echo \$c" 2>/dev/null | head -1)
check "a pod cgroup set to pids.max=max stays under its parent's 6 ($got)" \
  sh -c "[ -n '$got' ] && [ '$got' -le 6 ] && [ '$got' -ge 3 ]"
sleep 6

# --- kubelet and containerd state directories ---
check "the /var volume is the node root's" \
  sh -c "[ \"\$(docker exec node stat -c %u:%g /var)\" = 0:0 ]"
check "containerd's overlayfs snapshotter can mount on the /var volume" \
  n sh -c 'd=/var/lib/containerd/snap && mkdir -p $d/l $d/u $d/w $d/m &&
           echo lower > $d/l/f &&
           mount -t overlay overlay -o lowerdir=$d/l,upperdir=$d/u,workdir=$d/w $d/m &&
           echo upper > $d/m/g && cat $d/m/f && umount $d/m && test -f $d/u/g'
check "kubelet can mount a tmpfs for a pod volume" \
  n sh -c 'mkdir -p /var/lib/kubelet/pods/p/volumes/s && mount -t tmpfs -o size=1m tmpfs /var/lib/kubelet/pods/p/volumes/s && umount /var/lib/kubelet/pods/p/volumes/s'

# --- /lib/modules: kind bind-mounts the host's, read-only ---
check_refused "-v /lib/modules:/lib/modules:ro is refused (outside the shared directories)" \
  'bind mount of "/lib/modules" denied' \
  docker run --rm --privileged -v /lib/modules:/lib/modules:ro busybox true

# --- mount propagation: kind makes / rshared; kubelet's mounts must
#     reach bind copies of its directories ---
check "mount --make-rshared / (kind's entrypoint)" n mount --make-rshared /
check "a mount below a shared bind shows in its copy (kubelet -> pod)" \
  n sh -c 'mkdir -p /var/k /var/p && mount --bind /var/k /var/k && mount --make-shared /var/k &&
           mount --bind /var/k /var/p && mkdir -p /var/k/x &&
           mount -t tmpfs t /var/k/x && grep -q " /var/p/x " /proc/self/mountinfo &&
           umount /var/k/x && umount /var/p && umount /var/k'
check "the masks hold after make-rshared" \
  sh -c "docker exec node umount /proc/keys 2>&1 | grep -q 'Invalid argument'"

# --- every process of the node stays in its range (from the host) ---
base=$(awk '{print $2}' "/proc/$pid/uid_map")
bad=
for p in /proc/[0-9]*; do
  [ "$p/ns/pid" -ef "/proc/$pid/ns/pid" ] || continue
  u=$(awk '/^Uid:/{print $2}' "$p/status" 2>/dev/null)
  [ -z "$u" ] || { [ "$u" -ge "$base" ] && [ "$u" -lt $((base + 65536)) ]; } || bad="$bad ${p#/proc/}"
done
check "every process of the node is in its range (${bad:-none outside})" test -z "$bad"

docker rm -f node >/dev/null 2>&1
docker volume rm nodevar >/dev/null 2>&1
harness_done
