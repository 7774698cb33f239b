#!/usr/bin/env bash
# Where the net guard's time goes (issue 12 §6): what a relayed stream and
# a connection cost every party, direct and through one or more builds of
# the guard, interleaved round by round; then the guard's system calls per
# connection (strace -c) and, if perf is installed, its profile by system
# call for a stream and for sequential connections.
# Topology and server as bench/net/run.sh (bench/net/lib.sh).
# Usage: bench/net/profile.sh [BYTES] [SETUP_N]   (as root, after make tests)
# Env: ROUNDS (default 5); RUNNERS="label=path ..." guard builds to compare
# (default: this tree's build/tests/netguard-runner as "guard"); the first
# one is the one straced and profiled.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bytes=${1:-1000000000}; setup_n=${2:-2000}
nb=$top/build/netbench
gcc -O2 -D_GNU_SOURCE -o "$nb" "$top/bench/net/netbench.c"
read -r -a runners <<<"${RUNNERS:-guard=$top/build/tests/netguard-runner}"

. "$top/bench/net/lib.sh"
bench_netns mnp$$ net-profile
ip netns exec "$S" "$nb" serve 5001 5002 >/dev/null 2>&1 & pids+=($!)
server=$!
sleep 0.5

start_guard() { # path
  ip netns exec "$H" "$1" --port 15001 --iface h0 --src 10.77.0.0/24 \
    --ports 5001 --workers 2 --audit /dev/null --exclude 10.78.0.0/24 \
    >"$work/guard.log" 2>&1 &
  guard=$!
  for _ in $(seq 50); do grep -q listening "$work/guard.log" && return; sleep 0.1; done
  cat "$work/guard.log"; exit 1
}
stop_guard() { [ -n "$guard" ] && { kill "$guard"; wait "$guard" || true; }; guard=; }
cpu_ms() { [ -n "${1:-}" ] && awk '{print ($14 + $15) * 10}' "/proc/$1/stat" || echo 0; }
softirq_ms() {
  local t=0 p
  for p in $(pgrep -x 'ksoftirqd/[0-9]*'); do t=$((t + $(cpu_ms "$p"))); done
  echo $t
}
switches() { [ -n "${1:-}" ] && awk '/ctxt_switches/{s+=$2} END{print s}' "/proc/$1/status" || echo 0; }
med() { sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.0f (%.0f–%.0f)", m, v[1], v[NR]}'; }

# One stream on one path; appends "MB/s client server proxy softirq
# all switches" (CPU in ms per GB, switches of the proxy per GB).
stream() { # label port [runner]
  local f=$work/s-$1 p= t s0 s1 g0 g1 k0 k1 w0 w1 cl
  [ -n "${3:-}" ] && { start_guard "$3"; p=$guard; }
  s0=$(cpu_ms "$server"); g0=$(cpu_ms "$p"); k0=$(softirq_ms); w0=$(switches "$p")
  t=$(ip netns exec "$C" "$nb" tput 10.78.0.5 "$2" "$bytes")
  s1=$(cpu_ms "$server"); g1=$(cpu_ms "$p"); k1=$(softirq_ms); w1=$(switches "$p")
  cl=$(echo "$t" | sed -n 's/.*, cpu \([0-9]*\) ms$/\1/p')
  awk -v t="${t%% *}" -v c="$cl" -v s=$((s1 - s0)) -v g=$((g1 - g0)) \
      -v k=$((k1 - k0)) -v w=$((w1 - w0)) -v gb="$(awk -v b="$bytes" 'BEGIN{print b / 1e9}')" \
      'BEGIN{printf "%s %d %d %d %d %d %d\n", t, c/gb, s/gb, g/gb, k/gb, (c+s+g+k)/gb, w/gb}' >>"$f"
  stop_guard
}

echo "bytes=$bytes setup_n=$setup_n load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "${ROUNDS:-5}"); do
  stream direct 5002
  for x in "${runners[@]}"; do stream "${x%%=*}" 5001 "${x#*=}"; done
  echo "round $r done, load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo
echo "One stream of $bytes bytes; CPU in ms per GB; median (min–max):"
echo
echo "| path | MB/s | client | server | proxy | softirq threads | all | proxy context switches / GB |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for l in direct "${runners[@]%%=*}"; do
  f=$work/s-$l
  row="| $l"
  for k in 1 2 3 4 5 6 7; do row="$row | $(awk -v k=$k '{print $k}' "$f" | med)"; done
  echo "$row |"
done

# System calls per connection and the profile, first runner only.
first=${runners[0]#*=}
start_guard "$first"
ip netns exec "$C" "$nb" setup 10.78.0.5 5001 200 >/dev/null
strace -c -f -o "$work/strace" -p "$guard" 2>/dev/null & st=$!
sleep 0.5
ip netns exec "$C" "$nb" setup 10.78.0.5 5001 "$setup_n" >/dev/null
kill -INT "$st"; wait "$st" || true
echo
echo "System calls of the guard per connection ($setup_n sequential, DIRECT):"
awk -v n="$setup_n" '$4 ~ /^[0-9]+$/ && $NF != "total" {
       printf "  %-14s %.2f\n", $NF, $4 / n; s += $4 }
     END { printf "  %-14s %.2f\n", "in all", s / n }' "$work/strace"
if command -v perf >/dev/null; then
  for what in setup tput; do
    if [ $what = setup ]; then arg=$((setup_n * 10)); else arg=$((bytes * 3)); fi
    ip netns exec "$C" "$nb" $what 10.78.0.5 5001 $arg >/dev/null & cl=$!
    sleep 0.3
    perf record -q -g -o "$work/perf.$what" -p "$guard" -- sleep 3 >/dev/null 2>&1 || true
    wait "$cl" || true
    echo
    echo "The guard's CPU by system call ($what; perf, children, ≥ 1 %):"
    perf report -q -i "$work/perf.$what" --children --sort symbol -g none 2>/dev/null \
      | awk '$1 + 0 >= 1 { for (i = 2; i <= NF; i++) if ($i ~ /^__x64_sys_/) {
               sub(/__x64_sys_/, "", $i); printf "  %-14s %s\n", $i, $1 } }'
    echo "  the guard's own code (its binary's symbols): $(perf report -q -i "$work/perf.$what" \
      --no-children --sort dso -g none 2>/dev/null | awk '$2 == "netguard-runner" {print $1}')"
  done
fi
stop_guard
echo
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
