#!/usr/bin/env bash
# Lever: IP-literal exclusions decided in nft.  One stream's throughput,
# connection setup and 1,000 concurrent connections, container -> excluded
# server, in one run, three ways:
#   direct           no interception at all (no moat table)
#   nft exclusion    the net guard runs with --exclude 10.78.0.0/24: the
#                    exclude4 set accepts the flow before the redirect
#   guard, DIRECT    the same guard and ruleset with the exclude4 set
#                    emptied (nft flush set): every flow is redirected and
#                    the guard decides DIRECT by its exclude list (what
#                    happened before the lever)
# Topology as bench/net/run.sh (netns C -> H -> S, H forwards), built
# and ended by this script; processes are ended by PID.
# Usage: bench/net/nft_exclude.sh [BYTES] [SETUP_N] [CONC_N]  (as root)
# Env: ROUNDS (default 3): each round measures every path in turn;
# figures are median (min-max) over rounds.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bytes=${1:-2000000000}; setup_n=${2:-2000}; conc_n=${3:-1000}
runner=$top/build/tests/netguard-runner
nb=$top/build/netbench
mkdir -p "$top/build"
gcc -O2 -D_GNU_SOURCE -o "$nb" "$top/bench/net/netbench.c"
[ -x "$runner" ] || make -C "$top" -j2 tests >/dev/null

. "$top/bench/net/lib.sh"
bench_netns mnx$$ nft-bench
ip netns exec "$S" "$nb" serve 5001 >/dev/null 2>&1 & pids+=($!)
: >"$work/audit"
sleep 0.5

start_guard() {
  ip netns exec "$H" "$runner" --port 15001 --iface h0 --src 10.77.0.0/24 \
    --ports 5001 --workers 2 --audit "$work/audit" --exclude 10.78.0.0/24 --nft-exclude \
    >"$work/guard.log" 2>&1 &
  guard=$!
  for _ in $(seq 50); do grep -q listening "$work/guard.log" && return; sleep 0.1; done
  cat "$work/guard.log"; exit 1
}
stop_guard() {
  [ -n "$guard" ] && { kill "$guard"; wait "$guard" || true; }; guard=
  ip netns exec "$H" nft delete table inet moat 2>/dev/null || true
}
cpu_ms() { [ -n "${1:-}" ] && awk '{print ($14 + $15) * 10}' "/proc/$1/stat" || echo 0; }
med() { sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.0f (%.0f–%.0f)", m, v[1], v[NR]}'; }

paths=("direct (no interception)|none"
       "nft exclusion (never redirected)|nft"
       "net guard, DIRECT by exclude (set emptied)|guard")
measure() { # index
  local label how pid t line c c0 c1 c2 n0 n1
  IFS='|' read -r label how <<<"${paths[$1]}"
  pid=
  case "$how" in
    nft) start_guard; pid=$guard ;;
    guard) start_guard; pid=$guard
           ip netns exec "$H" nft flush set inet moat exclude4 ;;
  esac
  n0=$(wc -l <"$work/audit" 2>/dev/null || echo 0)
  c0=$(cpu_ms "$pid")
  t=$(ip netns exec "$C" "$nb" tput 10.78.0.5 5001 "$bytes" | awk '{print $1}')
  c1=$(cpu_ms "$pid")
  line=$(ip netns exec "$C" "$nb" setup 10.78.0.5 5001 "$setup_n")
  c2=$(cpu_ms "$pid")
  c=$(ip netns exec "$C" "$nb" conc 10.78.0.5 5001 "$conc_n" || true)
  case "$c" in *" $conc_n echoed, 0 failed"*) ;; *) echo "$label: $c" >>"$work/conc-fail" ;; esac
  c=$(echo "$c" | sed 's/.*, \([0-9.]*\) ms$/\1/')
  [ -n "$guard" ] && stop_guard
  n1=$(wc -l <"$work/audit" 2>/dev/null || echo 0)
  echo "$t $(echo "$line" | sed -n 's/.*mean \([0-9]*\) us, p50 \([0-9]*\) us, p99 \([0-9]*\) us.*/\2 \1 \3/p') $c $((c1 - c0)) $((c2 - c1)) $((n1 - n0))" >>"$work/path$1"
  sleep 0.5
}

echo "bytes=$bytes setup_n=$setup_n conc_n=$conc_n rounds=${ROUNDS:-3} commit=$(git -C "$top" rev-parse --short HEAD) load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "${ROUNDS:-3}"); do
  for i in "${!paths[@]}"; do measure "$i"; done
  echo "round $r done, load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo
echo "| path | MB/s (1 stream) | setup p50 µs | setup mean µs | setup p99 µs | $conc_n concurrent, ms | guard CPU, relay | guard CPU, setup | audit records / round |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for i in "${!paths[@]}"; do
  IFS='|' read -r label how <<<"${paths[$i]}"
  f=$work/path$i
  col() { awk -v k="$1" '{print $k}' "$f" | med; }
  if [ "$how" = none ]; then tc=-; sc=-; else
    tc="$(awk -v b="$bytes" '{print $6 / (b / 1e9)}' "$f" | med) ms/GB"
    sc="$(awk -v n="$setup_n" '{print $7 * 1000 / n}' "$f" | med) µs/conn"
  fi
  echo "| $label | $(col 1) | $(col 2) | $(col 3) | $(col 4) | $(col 5) | $tc | $sc | $(col 8) |"
done
echo
[ -f "$work/conc-fail" ] && { echo "concurrent connections that failed:"; cat "$work/conc-fail"; }
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
