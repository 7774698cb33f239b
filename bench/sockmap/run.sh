#!/usr/bin/env bash
# Lever: an in-kernel relay once DIRECT is decided (sockmap + sk_skb
# stream verdict through libbpf), as a measured prototype.  One stream's
# throughput, connection setup and 1,000 concurrent connections, container
# -> server, in one run:
#   direct    forwarded by H, no relay
#   splice    relay.c splice: what the net guard does for DIRECT today
#   sockmap   relay.c sockmap: the same relay, segments redirected in the
#             kernel (relay.bpf.c)
# Topology as bench/net/run.sh (netns C -> H -> S); the relays listen on
# 10.77.0.1:6000 in H (no interception: the lever is the relay, not the
# redirect).  Built here: clang -target bpf, libbpf-dev (scripts/install-deps
# does not install them: a prototype).  Processes are ended by PID.
# Usage: bench/sockmap/run.sh [BYTES] [SETUP_N] [CONC_N]  (as root)
# Env: ROUNDS (default 3), figures are median (min-max).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/bench/sockmap
bytes=${1:-2000000000}; setup_n=${2:-2000}; conc_n=${3:-1000}
out=$top/build/sockmap
mkdir -p "$out"
nb=$top/build/netbench
gcc -O2 -D_GNU_SOURCE -o "$nb" "$top/bench/net/netbench.c"
clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "$here/relay.bpf.c" -o "$out/relay.bpf.o"
gcc -O2 -Wall -Wextra -D_GNU_SOURCE -o "$out/relay" "$here/relay.c" -lbpf

. "$top/bench/net/lib.sh"
bench_netns mns$$ sockmap-bench
ip netns exec "$S" "$nb" serve 5001 >/dev/null 2>&1 & pids+=($!)
sleep 0.5

start_relay() { # mode
  ip netns exec "$H" "$out/relay" "$1" 10.77.0.1 6000 10.78.0.5 5001 "$out/relay.bpf.o" >"$work/relay.log" 2>&1 &
  relay=$!
  for _ in $(seq 50); do grep -q ready "$work/relay.log" && return; sleep 0.1; done
  cat "$work/relay.log"; exit 1
}
stop_relay() { [ -n "$relay" ] && { kill "$relay"; wait "$relay" || true; }; relay=; }
cpu_ms() { [ -n "${1:-}" ] && awk '{print ($14 + $15) * 10}' "/proc/$1/stat" || echo 0; }
med() { sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.0f (%.0f–%.0f)", m, v[1], v[NR]}'; }

paths=("direct (forwarded, no relay)|none|10.78.0.5 5001"
       "relay, splice (the guard's DIRECT today)|splice|10.77.0.1 6000"
       "relay, sockmap (in-kernel redirect)|sockmap|10.77.0.1 6000")
measure() {
  local label how dst pid t line c c0 c1 c2
  IFS='|' read -r label how dst <<<"${paths[$1]}"
  pid=
  [ "$how" != none ] && { start_relay "$how"; pid=$relay; }
  c0=$(cpu_ms "$pid")
  # shellcheck disable=SC2086
  t=$(ip netns exec "$C" "$nb" tput $dst "$bytes" 2>>"$work/errors" | awk '{print $1}') || true
  [ -n "$t" ] || { echo "$label: tput failed" >>"$work/errors"; t=0; }
  c1=$(cpu_ms "$pid")
  # shellcheck disable=SC2086
  line=$(ip netns exec "$C" "$nb" setup $dst "$setup_n" 2>>"$work/errors") || echo "$label: setup failed" >>"$work/errors"
  c2=$(cpu_ms "$pid")
  # shellcheck disable=SC2086
  c=$(ip netns exec "$C" "$nb" conc $dst "$conc_n" || true)
  case "$c" in *" $conc_n echoed, 0 failed"*) ;; *) echo "$label: $c" >>"$work/conc-fail" ;; esac
  c=$(echo "$c" | sed 's/.*, \([0-9.]*\) ms$/\1/')
  echo "${t:-0} $(echo "$line" | sed -n 's/.*mean \([0-9]*\) us, p50 \([0-9]*\) us, p99 \([0-9]*\) us.*/\2 \1 \3/p') $c $((c1 - c0)) $((c2 - c1))" >>"$work/path$1"
  stop_relay
  sleep 0.5
}

echo "bytes=$bytes setup_n=$setup_n conc_n=$conc_n rounds=${ROUNDS:-3} kernel=$(uname -r) load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "${ROUNDS:-3}"); do
  for i in "${!paths[@]}"; do measure "$i"; done
  echo "round $r done, load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo
echo "| path | MB/s (1 stream) | setup p50 µs | setup mean µs | setup p99 µs | $conc_n concurrent, ms | relay CPU, stream | relay CPU, setup |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for i in "${!paths[@]}"; do
  IFS='|' read -r label how dst <<<"${paths[$i]}"
  f=$work/path$i
  col() { awk -v k="$1" '{print $k}' "$f" | med; }
  if [ "$how" = none ]; then tc=-; sc=-; else
    tc="$(awk -v b="$bytes" '{print $6 / (b / 1e9)}' "$f" | med) ms/GB"
    sc="$(awk -v n="$setup_n" '{print $7 * 1000 / n}' "$f" | med) µs/conn"
  fi
  echo "| $label | $(col 1) | $(col 2) | $(col 3) | $(col 4) | $(col 5) | $tc | $sc |"
done
echo
[ -f "$work/conc-fail" ] && { echo "concurrent connections that failed:"; cat "$work/conc-fail"; }
[ -s "$work/errors" ] && { echo "errors:"; cat "$work/errors"; }
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
