#!/usr/bin/env bash
# Throughput of a shared-directory bind under moat-runc against a plain
# bind under runc, in one run on one private dockerd, rounds interleaved
# (plain, caller, root, plain, ...) so drift hits all alike:
#
#   plain   --runtime=runc: a plain bind mount, no user namespace
#   caller  moat-runc, non-root caller (labels com.moat.caller.uid/gid=1000):
#           the bind id-mapped to the caller only
#   root    moat-runc, root caller (no label): the bind id-mapped as the
#           container's own, and the set-id seccomp guard on
#
# Workloads, timed inside the container (/proc/uptime, 10 ms): write a
# 1 GiB file (dd bs=1M, conv=fsync), read it back five times (page cache:
# the mount's own cost, not the disk's), `tar -x` of 20,000 files of 1 KiB
# in 200 directories, then `rm -rf` of them (each followed by a timed
# `sync`: one step's writeback does not land in the next).  Prints every
# round, the median seconds per configuration and the throughput ratio
# plain/moat (1.00 = as fast).
#
# Usage: bench/bind-throughput.sh [ROUNDS]   (default 5)
# Needs root; uses build/moat-runc (MOAT_BUILD to override).
set -u
cd "$(dirname "$0")/.."
top=$PWD
export MOAT_BUILD=${MOAT_BUILD:-$top/build}
B=$MOAT_BUILD
ROUNDS=${1:-5}
. tests/lib/harness.sh
harness_init
R=$HARNESS_DIR
MR=$R/moat
mkdir -p "$MR"
harness_engine "{\"runtimes\": {
  \"moat-runc\": {\"path\": \"$B/moat-runc\", \"runtimeArgs\": [\"--moat-root\", \"$MR\"]}}}"
harness_busybox

W=$R/w
mkdir -p "$W"
# the tarball of 20,000 small files
src=$R/small
mkdir -p "$src/d1"
for f in $(seq 1 100); do head -c 1024 /dev/zero >"$src/d1/f$f"; done
for dd in $(seq 2 200); do cp -a "$src/d1" "$src/d$dd"; done
tar -C "$src" -cf "$R/small.tar" .
rm -rf "$src"
chmod 0644 "$R/small.tar"
chown 1000:1000 "$W"

WORK='t() { cut -d" " -f1 /proc/uptime; }
a=$(t); dd if=/dev/zero of=/w/big bs=1M count=1024 conv=fsync 2>/dev/null; b=$(t)
for i in 1 2 3 4 5; do cat /w/big >/dev/null; done; c=$(t)
mkdir /w/x && tar -C /w/x -xf /t/small.tar; sync; e=$(t)
rm -rf /w/x /w/big; sync; f=$(t)
echo "$a $b $c $e $f"'

run() {
  case $1 in
    plain) d run --rm --runtime=runc -v "$W:/w" -v "$R/small.tar:/t/small.tar:ro" busybox sh -c "$WORK" ;;
    caller) d run --rm --runtime=moat-runc --label com.moat.caller.uid=1000 --label com.moat.caller.gid=1000 \
              -v "$W:/w" -v "$R/small.tar:/t/small.tar:ro" busybox sh -c "$WORK" ;;
    root) d run --rm --runtime=moat-runc -v "$W:/w" -v "$R/small.tar:/t/small.tar:ro" busybox sh -c "$WORK" ;;
  esac
}

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cpus, rounds=$ROUNDS, $(stat -f -c %T "$W") under $R"
cfgs="plain caller root"
# The order turns each round (plain caller root, caller root plain, ...):
# the file system slows as the rounds go on, and a fixed order would charge
# that drift to whichever configuration always runs last.
for r in $(seq 1 "$ROUNDS"); do
  case $(( (r - 1) % 3 )) in
    0) order="plain caller root" ;;
    1) order="caller root plain" ;;
    *) order="root plain caller" ;;
  esac
  for c in $order; do
    sync
    out=$(run $c) || { echo "# $c failed: $out"; exit 1; }
    echo "$c $out" | awk '{printf "%s %.2f %.2f %.2f %.2f\n", $1, $3-$2, $4-$3, $5-$4, $6-$5}' >>"$R/times"
  done
done
sed 's/^/# round: /' "$R/times"
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
printf '%-8s %10s %10s %10s %10s\n' config "write 1G" "read 5x1G" "tar -x 20k" "rm -rf 20k"
for c in $cfgs; do
  line=$c
  for k in 2 3 4 5; do
    line="$line $(awk -v c=$c -v k=$k '$1==c {print $k}' "$R/times" | median)"
  done
  echo "$line" >>"$R/med"
  printf '%-8s %9.2fs %9.2fs %9.2fs %9.2fs\n' $line
done
echo "# throughput ratio plain/moat (time plain / time moat):"
for c in caller root; do
  paste <(awk '$1=="plain"' "$R/med") <(awk -v c=$c '$1==c' "$R/med") |
    awk '{printf "%-8s %10.2f %10.2f %10.2f %10.2f\n", $6, $2/$7, $3/$8, $4/$9, $5/$10}'
done
