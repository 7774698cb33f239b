#!/usr/bin/env bash
# Start-up cost of moat-runc against plain runc and crun, in one run on one
# private dockerd: wall time of `docker run --rm IMAGE true`, interleaved
# (moat-runc, runc, crun, moat-runc, ...) so drift hits all three alike, on
# busybox and on a 1 GB image (1024 files of 1 MiB over busybox).  Then the
# two steps moat-runc adds, from its own log: range allocation and rootfs
# preparation.  `moat-priv` is moat-runc with --privileged: its containers
# start through moat-lock (docs/moat-runc.md), which plain runc and crun
# cannot run here at all (no CAP_SYS_RESOURCE).  `moat-unconf` is
# moat-runc with --security-opt seccomp=unconfined: locked through
# moat-lock too (an exec --privileged could unmount its masks), against
# `runc-unconf`, the same container under plain runc.
#
# Usage: bench/runtime-start.sh [ROUNDS]      (default 20; BIG=0 skips 1 GB)
# Needs root; uses build/moat-runc (MOAT_BUILD to override).
# A runtime that cannot start a container here is reported and left out:
# crun 1.8 refuses hybrid cgroups with a controller enabled in the v2
# hierarchy ("cgroups in hybrid mode not supported"), whatever its cgroup
# manager, and the test VM enables hugetlb there.
set -u
cd "$(dirname "$0")/.."
top=$PWD
export MOAT_BUILD=${MOAT_BUILD:-$top/build}
B=$MOAT_BUILD
ROUNDS=${1:-20}
BIG=${BIG:-1}
. tests/lib/harness.sh
harness_init
R=$HARNESS_DIR
MR=$R/moat
mkdir -p "$MR"
harness_engine "{\"runtimes\": {
  \"moat-runc\": {\"path\": \"$B/moat-runc\", \"runtimeArgs\": [\"--moat-root\", \"$MR\"]},
  \"crun\": {\"path\": \"/usr/bin/crun\"}}}"
harness_busybox
images=busybox
if [ "$BIG" = 1 ]; then
  big=$R/big-rootfs
  cp -a "$R/busybox-rootfs" "$big"
  mkdir -p "$big/data"
  for i in $(seq 1 1024); do head -c 1048576 /dev/urandom >"$big/data/f$i"; done
  tar -C "$big" -c . | d import - big:latest >/dev/null
  rm -rf "$big"
  images="busybox big"
fi

now() { date +%s%N; }
echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cpus, rounds=$ROUNDS"
echo "# runc $(runc --version | head -1 | awk '{print $3}'), crun $(crun --version | head -1 | awk '{print $3}'), docker $(d version -f '{{.Server.Version}}')"
# rtrun RUNTIME IMAGE CMD...: moat-priv is moat-runc with --privileged.
rtrun() {
  local rt=$1; shift
  case $rt in
    moat-priv) d run --rm --runtime=moat-runc --privileged "$@" ;;
    moat-unconf) d run --rm --runtime=moat-runc --security-opt seccomp=unconfined "$@" ;;
    runc-unconf) d run --rm --runtime=runc --security-opt seccomp=unconfined "$@" ;;
    *) d run --rm --runtime="$rt" "$@" ;;
  esac
}
runtimes=""
for rt in moat-runc moat-priv moat-unconf runc runc-unconf crun; do
  if msg=$(rtrun $rt busybox true 2>&1); then
    runtimes="$runtimes $rt"
  else
    echo "# $rt cannot run containers here: $(echo "$msg" | head -1)"
  fi
done
for img in $images; do
  for rt in $runtimes; do rtrun $rt $img true >/dev/null; done  # warm up
  declare -A t=()
  for _ in $(seq 1 "$ROUNDS"); do
    for rt in $runtimes; do
      s=$(now); rtrun $rt "$img" true >/dev/null || echo "# $rt failed"
      t[$rt]="${t[$rt]:-} $(( ($(now) - s) / 1000000 ))"
    done
  done
  for rt in $runtimes; do
    echo "${t[$rt]}" | tr ' ' '\n' | grep . | sort -n | awk -v rt=$rt -v img=$img '
      { v[NR]=$1; s+=$1 } END { printf "%-6s %-10s median %4d ms  mean %6.1f ms  min %4d  max %4d\n", img, rt, v[int((NR+1)/2)], s/NR, v[1], v[NR] }'
  done
  unset t
done

# moat-runc's own steps, as it logs them on create.
for i in $(seq 1 10); do
  for img in $images; do d run -d --runtime=moat-runc --name "bench-$img-$i" "$img" sleep 60 >/dev/null; done
done
find "$R" -name log.json -exec grep -h 'uid map' {} + 2>/dev/null |
  sed -n 's/.*(range \([0-9.]*\) ms, rootfs \([0-9.]*\) ms, \([0-9]*\) idmapped layers.*/\1 \2 \3/p' |
  awk '{ r+=$1; f+=$2; n++ } END { if (n) printf "moat-runc steps over %d creates: range allocation mean %.1f ms, rootfs preparation mean %.1f ms\n", n, r/n, f/n }'
