#!/usr/bin/env bash
# Lever: io_uring (liburing) to batch the net guard's syscalls.  Builds
# bench/uring/uring_bench.c (needs liburing-dev; scripts/install-deps does
# not install it: a benchmark only), then prints what a syscall and an
# io_uring_enter cost here, and ROUNDS alternating rounds of the guard's
# per-connection sequence, plain syscalls vs io_uring, as medians.
# Usage: bench/uring/run.sh [N_CONNS] [HEAD_BYTES]   (any user; loopback only)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-5000}; head=${2:-200}; rounds=${ROUNDS:-5}
mkdir -p "$top/build"
b=$top/build/uring_bench
gcc -O2 -Wall -Wextra -D_GNU_SOURCE -o "$b" "$top/bench/uring/uring_bench.c" -luring -lpthread
work=$(mktemp -d /tmp/moat-uring-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "kernel $(uname -r), liburing $(dpkg-query -W -f '${Version}' liburing-dev 2>/dev/null), load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$b" syscall
for r in $(seq "$rounds"); do
  for m in plain uring; do "$b" conn "$m" "$n" "$head" | tee -a "$work/$m"; done
done
med() { sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.1f (%.1f–%.1f)", m, v[1], v[NR]}'; }
echo
echo "| $n connections, $head-byte head | relay thread CPU µs/conn | process CPU µs/conn | round trip p50 µs | round trip p99 µs |"
echo "| --- | --- | --- | --- | --- |"
for m in plain uring; do
  f=$work/$m
  col() { sed -n "s/.*$1 \([0-9.]*\) us.*/\1/p" "$f" | med; }
  echo "| $m | $(col 'relay thread CPU') | $(col 'process CPU') | $(col 'p50') | $(col 'p99') |"
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
