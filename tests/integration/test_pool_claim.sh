#!/usr/bin/env bash
# Two roots on one host never share ids (docs/moat-runc.md, "Two roots,
# one host"): moat's stack (moat up: dockerd with moat-runc) under one
# MOAT_ROOT and private containerds whose handlers
# (dist/k8s/moat-runc-containerd) have others, all started here.  Every root's state.db is its own; the host-wide claims
# in /var/lib/moat/id-claims.db keep their ranges disjoint, with the
# default pool and with the same explicit pool in two roots.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/containerd.sh"
cd "$HARNESS_TOP"
harness_init
R=$HARNESS_DIR
NS=$HARNESS_NETNS
B=$MOAT_BUILD
WRAP=$HARNESS_TOP/dist/k8s/moat-runc-containerd
export MOAT_RUNC=$B/moat-runc

for b in containerd ctr containerd-shim-runc-v2 dockerd sqlite3; do
  command -v "$b" >/dev/null || harness_bail "$b installed" "$b missing"
done
[ -x "$MOAT_RUNC" ] || harness_bail "moat-runc built" "$MOAT_RUNC missing"
# the runc shim of containerd 1.6 keeps its sockets in /run/containerd/s
[ -d /run/containerd ] || HARNESS_EXTRA_CLEANUP="rmdir /run/containerd/s /run/containerd 2>/dev/null"

# ---- the roots: D ($MOAT_ROOT) for moat's dockerd, A (default pool) for containerd a, P and Q
# (the same explicit pool, 2 ranges) for containerds p and q.  The pool is
# above every default pool (1000000 + k * 65536000 ends at 4260840000), so
# roots of tests running beside this one do not take its slots.
for r in A P Q; do mkdir -p "$R/root$r"; done
DROOT=$MOAT_ROOT
POOL=moat:4261000000:131072
for r in P Q; do
  mkdir -p "$R/root$r/etc"
  echo "$POOL" >"$R/root$r/etc/subuid"
  echo "$POOL" >"$R/root$r/etc/subgid"
done

# ---- moat's stack under root D ----
harness_up
harness_busybox

# ---- private containerds: ctd_start NAME ROOT ----
ctd_start() {
  local n=$1 d=$R/$1
  ctd_config "$d"
  # the wrapper reads MOAT_ROOT; the shims inherit containerd's environment
  harness_spawn_netns "ctd-$n" env MOAT_ROOT="$2" containerd --config "$d/config.toml" >/dev/null
  ctd_wait "$d" "$R/ctd-$n.log" "containerd $n starts"
  timeout 60 ctr -a "$d/c.sock" -n default images import "$R/busybox-oci.tar" >"$R/import-$n.log" 2>&1 ||
    harness_bail "import busybox into $n" "$(cat "$R/import-$n.log")"
}

c() { local n=$1; shift; timeout 60 ctr -a "$R/$n/c.sock" -n default "$@"; }
run() { # NAME ID CMD...: detached, through the handler
  local n=$1 id=$2
  shift 2
  c "$n" run -d --runc-binary "$WRAP" --runc-root "$R/$n/runc" \
    --fifo-dir "$R/$n/fifo" --cgroup "/moat-$NS/$n-$id" \
    docker.io/library/busybox:latest "$id" "$@"
}
xc() { # NAME ID CMD...
  local n=$1 id=$2
  shift 2
  c "$n" task exec --fifo-dir "$R/$n/fifo" --exec-id "x$RANDOM" "$id" "$@"
}
stop() { # NAME ID
  c "$1" task kill -s KILL "$2" >/dev/null 2>&1
  for _ in $(seq 50); do
    c "$1" task rm "$2" >/dev/null 2>&1 && break
    sleep 0.1
  done
  c "$1" container rm "$2" >/dev/null 2>&1
}
# "BASE GBASE" of a container: the second field of its uid_map and gid_map
maps_ctd() { echo "$(xc "$1" "$2" cat /proc/self/uid_map | awk '{print $2}') $(xc "$1" "$2" cat /proc/self/gid_map | awk '{print $2}')"; }
maps_d() { echo "$(d exec "$1" cat /proc/self/uid_map | awk '{print $2}') $(d exec "$1" cat /proc/self/gid_map | awk '{print $2}')"; }
# disjoint "U1 G1" "U2 G2" ...: every pair of uid ranges and of gid ranges
# of 65536 ids is disjoint
disjoint() {
  local i j a b
  local -a u g
  for a in "$@"; do
    read -r i j <<<"$a"
    [ -n "$i" ] && [ -n "$j" ] || return 1
    u+=("$i"); g+=("$j")
  done
  for ((i = 0; i < ${#u[@]}; i++)); do
    for ((j = i + 1; j < ${#u[@]}; j++)); do
      a=$((u[i] - u[j])); b=$((g[i] - g[j]))
      [ ${a#-} -ge 65536 ] && [ ${b#-} -ge 65536 ] || return 1
    done
  done
}

ctd_oci_image docker.io/library/busybox:latest '["/bin/sh"]' "$R/busybox-oci.tar"
ctd_start a "$R/rootA"
ctd_start p "$R/rootP"
ctd_start q "$R/rootQ"

# 1. Default pools: a container under dockerd (root D) and two under
#    containerd a (root A), created concurrently.
d run -d --name d1 busybox sleep 600 >"$R/d1.out" 2>&1 &
j1=$!
run a a1 sleep 600 >"$R/a1.out" 2>&1 &
j2=$!
run a a2 sleep 600 >"$R/a2.out" 2>&1 &
j3=$!
wait $j1 $j2 $j3
md1=$(maps_d d1)
ma1=$(maps_ctd a a1)
ma2=$(maps_ctd a a2)
check "default pools: dockerd's root and a handler's root hold disjoint uid and gid ranges ($md1 / $ma1 / $ma2)" \
  disjoint "$md1" "$ma1" "$ma2"
harness_diag "pools: D $(cat "$DROOT/etc/subuid") A $(cat "$R/rootA/etc/subuid")"
check "the roots' state dbs are their own (one range each in D, two in A)" \
  test "$(sqlite3 "$DROOT/var/lib/moat/state.db" 'SELECT count(*) FROM runtime_id_ranges')/$(sqlite3 "$R/rootA/var/lib/moat/state.db" 'SELECT count(*) FROM runtime_id_ranges')" = 1/2

# 2. The same pool of two ranges in roots P and Q: one container each,
#    concurrently, gets the two ranges; a third finds the pool exhausted.
run p p1 sleep 600 >"$R/p1.out" 2>&1 &
j1=$!
run q q1 sleep 600 >"$R/q1.out" 2>&1 &
j2=$!
wait $j1 $j2
mp=$(maps_ctd p p1)
mq=$(maps_ctd q q1)
check "same pool in two roots: disjoint ranges ($mp / $mq)" disjoint "$mp" "$mq"
check "... both inside the pool" sh -c "echo '$mp $mq' | awk '{for(i=1;i<=NF;i++) if (\$i != 4261000000 && \$i != 4261065536) exit 1}'"
check_refused "a third container finds the pool exhausted (the other root holds the rest)" \
  "id pool exhausted" run q q2 sleep 600
stop q q2
stop p p1
run q q2 sleep 600 >"$R/q2.out" 2>&1
mq2=$(maps_ctd q q2)
check "a range released in one root is free for the other ($mq2)" disjoint "$mq" "$mq2"

# 3. Reporting: moat-runc moat-pool, moat status.
rep=$("$MOAT_RUNC" --moat-root "$R/rootQ" moat-pool 2>&1)
check "moat-pool of Q lists P (same pool, no range since p1 went), no conflict ($rep)" \
  sh -c "jq -e '.peers | length == 1 and .[0].ranges == 0 and .[0].conflicts == 0 and (.[0].state_db | endswith(\"/rootP/var/lib/moat/state.db\"))' >/dev/null <<'EOJ'
$rep
EOJ"
check "moat status is healthy with pool_peers" sh -c "'$MOAT' status --json | jq -e '.healthy == true and (.pool_peers | type == \"array\")' >/dev/null"
# A range root A holds from before the claims existed, overlapping d1's:
# it becomes a claim at A's next reconciliation, and D reports it.
db1=$(awk '{print $1}' <<<"$md1")
sqlite3 "$R/rootA/var/lib/moat/state.db" "INSERT INTO runtime_id_ranges VALUES ('legacy', $db1, 65536, 0)"
"$MOAT_RUNC" --moat-root "$R/rootA" moat-pool >/dev/null 2>&1
st=$("$MOAT" status --json 2>&1)
check "moat status is not healthy when another root holds one of this root's ranges" \
  sh -c "jq -e '.healthy == false and ([.pool_peers[] | select(.conflicts == 1 and (.state_db | endswith(\"/rootA/var/lib/moat/state.db\")))] | length == 1)' >/dev/null <<'EOJ'
$st
EOJ"
out=$("$MOAT" verify 2>&1)
check "moat verify fails \"no id range shared with another root\" and names root A" \
  sh -c "grep -q '^FAIL  no id range shared with another root.*rootA/var/lib/moat/state.db' <<'EOT'
$out
EOT"
sqlite3 "$R/rootA/var/lib/moat/state.db" "DELETE FROM runtime_id_ranges WHERE container_id = 'legacy'"
"$MOAT_RUNC" --moat-root "$R/rootA" moat-pool >/dev/null 2>&1
check "... and healthy again once that range is gone" sh -c "'$MOAT' status --json | jq -e '.healthy == true' >/dev/null"

stop q q1
stop q q2
stop a a1
stop a a2
d rm -f d1 >/dev/null 2>&1
harness_done
