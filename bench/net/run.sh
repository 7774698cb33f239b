#!/usr/bin/env bash
# Net guard benchmark: relay throughput, connection setup latency and 1,000
# concurrent connections, container -> server on this machine, in one run:
#   direct        forwarded by the "host", no interception
#   guard         intercepted by the net guard, DIRECT (exclude)
#   guard+socks5  intercepted by the net guard, through microsocks
#   redsocks      intercepted by redsocks, through the same microsocks
# Topology as tests/integration/test_netguard.sh: netns C (client) -> H
# (guard, redsocks, routing) -> S (server, microsocks).  Everything runs in
# namespaces this script creates and is ended by PID.
# Usage: bench/net/run.sh [BYTES] [SETUP_N] [CONC_N]   (as root)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bytes=${1:-2000000000}; setup_n=${2:-2000}; conc_n=${3:-1000}
runner=$top/build/tests/netguard-runner
nb=$top/build/netbench
gcc -O2 -D_GNU_SOURCE -o "$nb" "$top/bench/net/netbench.c"
[ -x "$runner" ] || make -C "$top" -j2 tests >/dev/null

tag=mnb$$; C=$tag-c; H=$tag-h; S=$tag-s
work=$(mktemp -d /tmp/moat-net-bench.XXXXXX)
pids=(); guard=
cleanup() {
  set +e
  [ -n "$guard" ] && kill "$guard" && wait "$guard" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p"; wait "$p" 2>/dev/null; done
  for n in "$C" "$H" "$S"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || true

ip netns add "$C"; ip netns add "$H"; ip netns add "$S"
for n in "$C" "$H" "$S"; do ip -n "$n" link set lo up; done
ip link add "${tag}c" netns "$C" type veth peer name h0 netns "$H"
ip link add "${tag}s" netns "$S" type veth peer name hs0 netns "$H"
ip -n "$C" link set "${tag}c" name c0; ip -n "$S" link set "${tag}s" name s0
ip -n "$C" addr add 10.77.0.2/24 dev c0; ip -n "$H" addr add 10.77.0.1/24 dev h0
ip -n "$H" addr add 10.78.0.1/24 dev hs0
ip -n "$S" addr add 10.78.0.4/24 dev s0; ip -n "$S" addr add 10.78.0.5/24 dev s0
for l in "$C:c0" "$H:h0" "$H:hs0" "$S:s0"; do ip -n "${l%%:*}" link set "${l#*:}" up; done
ip -n "$C" route add default via 10.77.0.1; ip -n "$S" route add default via 10.78.0.1
ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1
for n in "$C" "$H" "$S"; do ip netns exec "$n" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"; done

ip netns exec "$S" "$nb" serve 5001 5002 5003 >/dev/null 2>&1 & pids+=($!)
ip netns exec "$S" microsocks -i 10.78.0.4 -p 1080 >/dev/null 2>&1 & pids+=($!)
cat > "$work/redsocks.conf" <<CONF
base { log_debug = off; log_info = off; daemon = off; redirector = iptables; }
redsocks { local_ip = 0.0.0.0; local_port = 12345; ip = 10.78.0.4; port = 1080; type = socks5; }
CONF
ip netns exec "$H" redsocks -c "$work/redsocks.conf" >/dev/null 2>&1 & pids+=($!)
ip netns exec "$H" nft -f - <<'NFT'
table ip moatbench {
  chain prerouting {
    type nat hook prerouting priority dstnat - 20; policy accept;
    iifname "h0" tcp dport 5003 redirect to :12345
  }
}
NFT
sleep 1

start_guard() {
  ip netns exec "$H" "$runner" --port 15001 --iface h0 --src 10.77.0.0/24 \
    --ports 5001 --workers 2 --audit /dev/null "$@" >"$work/guard.log" 2>&1 &
  guard=$!
  for _ in $(seq 50); do grep -q listening "$work/guard.log" && return; sleep 0.1; done
  cat "$work/guard.log"; exit 1
}
stop_guard() { kill "$guard"; wait "$guard" || true; guard=; }

run() { # label port
  local t s c
  t=$(ip netns exec "$C" "$nb" tput 10.78.0.5 "$2" "$bytes")
  s=$(ip netns exec "$C" "$nb" setup 10.78.0.5 "$2" "$setup_n")
  c=$(ip netns exec "$C" "$nb" conc 10.78.0.5 "$2" "$conc_n")
  printf '| %s | %s | %s | %s |\n' "$1" "$t" "$s" "$c"
  sleep 2   # let TIME_WAIT and the proxies settle between rows
}

echo "| path | throughput (1 stream, $bytes bytes) | setup ($setup_n sequential) | $conc_n concurrent |"
echo "| --- | --- | --- | --- |"
run direct 5002
start_guard --exclude 10.78.0.0/24
run "net guard, DIRECT" 5001
stop_guard
start_guard --http socks5://10.78.0.4:1080 --https socks5://10.78.0.4:1080
run "net guard, SOCKS5 (microsocks)" 5001
stop_guard
run "redsocks, SOCKS5 (microsocks)" 5003
