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
# Env: ROUNDS (default 3) rounds, reported as median (min-max); every
# round measures every path in turn, so that a neighbour's burst on this
# shared VM hits all paths alike rather than one row.  BASE_RUNNER=path of
# a netguard-runner built from an earlier commit adds its rows ("before").
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bytes=${1:-2000000000}; setup_n=${2:-2000}; conc_n=${3:-1000}
runner=$top/build/tests/netguard-runner
nb=$top/build/netbench
gcc -O2 -D_GNU_SOURCE -o "$nb" "$top/bench/net/netbench.c"
[ -x "$runner" ] || make -C "$top" -j2 tests >/dev/null

. "$top/bench/net/lib.sh"
bench_netns mnb$$ net-bench

ip netns exec "$S" "$nb" serve 5001 5002 5003 >/dev/null 2>&1 & pids+=($!)
server=$!
ip netns exec "$S" microsocks -i 10.78.0.4 -p 1080 >/dev/null 2>&1 & pids+=($!)
msocks=$!
cat > "$work/redsocks.conf" <<CONF
base { log_debug = off; log_info = off; daemon = off; redirector = iptables; }
redsocks { local_ip = 0.0.0.0; local_port = 12345; ip = 10.78.0.4; port = 1080; type = socks5; }
CONF
ip netns exec "$H" redsocks -c "$work/redsocks.conf" >/dev/null 2>&1 & pids+=($!)
redsocks=$!
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
  local r=$runner
  if [ "${1:-}" = --base ]; then r=$BASE_RUNNER; shift; fi
  ip netns exec "$H" "$r" --port 15001 --iface h0 --src 10.77.0.0/24 \
    --ports 5001 --workers 2 --audit /dev/null "$@" >"$work/guard.log" 2>&1 &
  guard=$!
  for _ in $(seq 50); do grep -q listening "$work/guard.log" && return; sleep 0.1; done
  cat "$work/guard.log"; exit 1
}
stop_guard() { [ -n "$guard" ] && { kill "$guard"; wait "$guard" || true; }; guard=; }

rounds=${ROUNDS:-3}
# numbers on stdin -> "median (min-max)"
med() { sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.0f (%.0f–%.0f)", m, v[1], v[NR]}'; }
# CPU time (user+sys, ms) a process has used: the guard's own cost, which
# the neighbours' noise moves much less than wall-clock figures.  It
# includes the kernel TCP work done in the process's context (veth
# transmit runs the receiver's stack).
cpu_ms() { [ -n "${1:-}" ] && awk '{print ($14 + $15) * 10}' "/proc/$1/stat" || echo 0; }
# CPU time (ms) of every party to a path but the client (which reports
# its own): the server, microsocks, the proxy (pid $1, may be empty) and
# the softirq threads.  With the client's, this is what the path costs the
# machine: direct forwarding is done in the client's and server's context;
# the guard adds two TCP endpoints.  When direct's stream already keeps
# every vCPU busy, a path that costs (1 + X) times direct's CPU per GB can
# at best reach 1 / (1 + X) of direct's MB/s.
others_ms() {
  local t=0 p
  for p in $server $msocks ${1:-} $(pgrep -x 'ksoftirqd/[0-9]*'); do
    t=$((t + $(cpu_ms "$p")))
  done
  echo $t
}

# Paths: label | port | how to start its proxy (none, guard ARGS, base ARGS,
# redsocks).
paths=("direct (forwarded, not intercepted)|5002|none"
       "net guard, DIRECT|5001|guard --exclude 10.78.0.0/24")
if [ -n "${BASE_RUNNER:-}" ]; then
  paths+=("net guard, DIRECT (before)|5001|base --exclude 10.78.0.0/24"
          # moatd's decision path before: a decide hook, so every
          # connection went through a decision worker
          "net guard, DIRECT, worker decision (moatd before)|5001|base --exclude 10.78.0.0/24 --route DIRECT")
fi
paths+=("net guard → SOCKS5 (microsocks)|5001|guard --http socks5://10.78.0.4:1080 --https socks5://10.78.0.4:1080")
if [ -n "${BASE_RUNNER:-}" ]; then
  paths+=("net guard → SOCKS5 (before)|5001|base --http socks5://10.78.0.4:1080 --https socks5://10.78.0.4:1080")
fi
paths+=("redsocks → SOCKS5 (microsocks)|5003|redsocks")

# One round of one path: appends "MB/s p50 mean p99 conc_ms cpu_tput_ms
# cpu_setup_ms all_cpu_tput_ms all_cpu_setup_ms" to its file.
measure() { # index
  local label port how pid t line c c0 c1 c2 o0 o1 o2 ct cs
  IFS='|' read -r label port how <<<"${paths[$1]}"
  case "$how" in
    none) pid= ;;
    redsocks) pid=$redsocks ;;
    guard*) start_guard ${how#guard}; pid=$guard ;;
    base*) start_guard --base ${how#base}; pid=$guard ;;
  esac
  c0=$(cpu_ms "$pid"); o0=$(others_ms "$pid")
  t=$(ip netns exec "$C" "$nb" tput 10.78.0.5 "$port" "$bytes")
  c1=$(cpu_ms "$pid"); o1=$(others_ms "$pid")
  ct=$(echo "$t" | sed -n 's/.*, cpu \([0-9]*\) ms$/\1/p')
  t=$(echo "$t" | awk '{print $1}')
  line=$(ip netns exec "$C" "$nb" setup 10.78.0.5 "$port" "$setup_n")
  c2=$(cpu_ms "$pid"); o2=$(others_ms "$pid")
  cs=$(echo "$line" | sed -n 's/.*, cpu \([0-9]*\) ms$/\1/p')
  c=$(ip netns exec "$C" "$nb" conc 10.78.0.5 "$port" "$conc_n" || true)
  case "$c" in *" $conc_n echoed, 0 failed"*) ;; *) echo "$label: $c" >> "$work/conc-fail" ;; esac
  c=$(echo "$c" | sed 's/.*, \([0-9.]*\) ms$/\1/')
  echo "$t $(echo "$line" | sed -n 's/.*mean \([0-9]*\) us, p50 \([0-9]*\) us, p99 \([0-9]*\) us.*/\2 \1 \3/p') $c $((c1 - c0)) $((c2 - c1)) $((o1 - o0 + ct)) $((o2 - o1 + cs))" >> "$work/path$1"
  [ -n "$guard" ] && stop_guard
  sleep 0.5
}

echo "bytes=$bytes setup_n=$setup_n conc_n=$conc_n rounds=$rounds load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for i in "${!paths[@]}"; do measure "$i"; done
  echo "round $r done, load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo
echo "| path | MB/s (1 stream) | setup p50 µs | setup mean µs | setup p99 µs | $conc_n concurrent, ms | proxy CPU, relay | proxy CPU, setup | all CPU, relay | all CPU, setup |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for i in "${!paths[@]}"; do
  IFS='|' read -r label port how <<<"${paths[$i]}"
  f=$work/path$i
  col() { awk -v k="$1" '{print $k}' "$f" | med; }
  if [ "$how" = none ]; then
    tc=-; sc=-
  else
    # ms per GB relayed; µs per connection set up
    tc="$(awk -v b="$bytes" '{print $6 / (b / 1e9)}' "$f" | med) ms/GB"
    sc="$(awk -v n="$setup_n" '{print $7 * 1000 / n}' "$f" | med) µs/conn"
  fi
  # every party's CPU (client, server, microsocks, proxy, softirq threads)
  ac="$(awk -v b="$bytes" '{print $8 / (b / 1e9)}' "$f" | med) ms/GB"
  as="$(awk -v n="$setup_n" '{print $9 * 1000 / n}' "$f" | med) µs/conn"
  echo "| $label | $(col 1) | $(col 2) | $(col 3) | $(col 4) | $(col 5) | $tc | $sc | $ac | $as |"
done
echo
[ -f "$work/conc-fail" ] && { echo "concurrent connections that failed:"; cat "$work/conc-fail"; }
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
