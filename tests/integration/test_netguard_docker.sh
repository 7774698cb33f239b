#!/usr/bin/env bash
# The net guard in front of real containers: the harness's private dockerd
# (harness_engine) in its network namespace H, its bridge intercepted by
# tests/tools/netguard-runner, servers in a namespace S behind H.  Checks
# the block-all and exclude examples from a busybox container.
# Everything is this test's own: namespaces, dockerd (data and exec roots
# under MOAT_ROOT, its own socket), processes ended by PID.
. "$(dirname "$0")/../lib/harness.sh"
top=$HARNESS_TOP
build=$MOAT_BUILD
runner=$build/tests/netguard-runner
[ -x "$runner" ] || runner=$top/build/tests/netguard-runner
harness_init
R=$HARNESS_DIR
H=$HARNESS_NETNS
harness_peer_netns 10.78.0 2 5
S=$HARNESS_PEER_NETNS

mkdir -p "$R/www"
echo "hello from S" > "$R/www/index.html"
harness_spawn httpd ip netns exec "$S" /usr/bin/python3 -m http.server \
  --bind 0.0.0.0 --directory "$R/www" 80 >/dev/null

ip -n "$H" link add mnd0 type bridge
ip -n "$H" addr add 172.31.77.1/24 dev mnd0
ip -n "$H" link set mnd0 up
harness_engine '{"bridge": "mnd0", "iptables": true}'
harness_busybox

# leak catcher: TCP from the containers forwarded is dropped and counted
ip netns exec "$H" nft -f - <<'NFT'
table inet moattest {
  counter leaks {}
  chain forward {
    type filter hook forward priority filter + 10; policy accept;
    iifname "mnd0" meta l4proto tcp counter name leaks drop
  }
}
NFT

start_guard() {
  : > "$R/audit.jsonl"
  ip netns exec "$H" "$runner" --port 15001 --iface mnd0 --src 172.31.77.0/24 \
    --audit "$R/audit.jsonl" "$@" >>"$R/guard.log" 2>&1 &
  guard_pid=$!
  harness_track guard "$guard_pid"
  for _ in $(seq 50); do grep -q listening "$R/guard.log" && return 0; sleep 0.1; done
  return 1
}
stop_guard() { kill "$guard_pid"; wait "$guard_pid"; guard_pid=; : > "$R/guard.log"; }
run() { d run --rm busybox "$@" 2>&1; }
# busybox wget segfaults when static (NSS); nc with a hand-made request,
# then nc's own exit status ("nc-exit=N": the container ran, nc ran).
fetch() { run sh -c "printf 'GET / HTTP/1.0\\r\\nHost: $1\\r\\n\\r\\n' | nc -w 5 $1 80; echo nc-exit=\$?"; }
# refusals DST: refusals of DST from the containers' bridge in the audit.
refusals() {
  jq -s --arg d "$1" 'map(select(.decision == "refused" and (.src | startswith("172.31.77.")) and .dst == $d)) | length' "$R/audit.jsonl"
}

start_guard --ports '*' || harness_bail "net guard starts" "$(tail -5 "$R/guard.log")"
# Timed inside the container against nc's own 30 s idle timeout: a hung
# connection takes 30 s, a reset one returns at once, whatever the load.
out=$(run sh -c "s=\$(date +%s); printf 'GET / HTTP/1.0\\r\\nHost: 10.78.0.2\\r\\n\\r\\n' | nc -w 30 10.78.0.2 80; echo nc-exit=\$?; echo elapsed=\$(( \$(date +%s) - s ))")
secs=$(echo "$out" | sed -n 's/^elapsed=//p')
check_guard_refused "docker block-all: container's HTTP refused by the net guard" 10.78.0.2 \
  "$(grep -v '^elapsed=' <<<"$out")" 0
check "docker block-all: refused at once, not timed out (${secs}s in the container; nc -w 30)" test -n "$secs" -a "${secs:-99}" -lt 15
check "docker block-all: refusal audited with the container's address" \
  jq -e -s 'map(select(.decision == "refused" and (.src | startswith("172.31.77.")) and .dst == "10.78.0.2")) | length > 0' "$R/audit.jsonl"
stop_guard
start_guard --ports 80,443 --exclude 10.78.0.2 || harness_bail "net guard starts" "$(tail -5 "$R/guard.log")"
out=$(fetch 10.78.0.2)
check "docker exclude: container reaches the excluded server" bash -c "echo '$out' | grep -q 'hello from S'"
check "docker exclude: audited as direct from the container" \
  jq -e -s 'map(select(.decision == "direct" and (.src | startswith("172.31.77.")) and .dst == "10.78.0.2")) | length > 0' "$R/audit.jsonl"
before=$(refusals 10.78.0.5)
out=$(fetch 10.78.0.5)
check_guard_refused "docker exclude: other destination refused" 10.78.0.5 "$out" "$before"
# The verdict itself: a container that never ran, or an nc that is not
# there, is not a refusal (the old "no hello in the output" check passed
# both).
verdict() { (ok() { echo pass; }; not_ok() { echo fail; }; check_guard_refused "$@"); }
before=$(refusals 10.78.0.5)
check "verdict: a container that did not start is not a refusal" \
  test "$(verdict v 10.78.0.5 "$(d run --rm no-such-image-moat:1 true 2>&1)" "$before")" = fail
check "verdict: a missing nc is not a refusal" \
  test "$(verdict v 10.78.0.5 "$(run sh -c 'no-such-nc-moat 10.78.0.5 80; echo nc-exit=$?')" "$before")" = fail
stop_guard
leaks=$(ip netns exec "$H" nft list counter inet moattest leaks | sed -n 's/.*packets \([0-9]*\).*/\1/p')
check "docker: nothing forwarded past interception (leaks=$leaks)" test "$leaks" = 0
harness_done
