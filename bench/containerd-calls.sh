#!/usr/bin/env bash
# Where moat-runc's time goes under containerd (issue 16, "Performance"):
# the per-call profile behind bench/containerd-start.sh.  One private
# containerd; `ctr run --rm busybox true` through its runc shim with each
# runtime in turn (runc, then each moat-runc given), interleaved round by
# round so drift hits all alike.  Every runc call the shim makes is
# wrapped in /usr/bin/time: per verb, the mean wall time and the CPU time
# (user + system, the call and the children it waited for) are printed.
# CPU time is the number to compare on a loaded machine.
#
# Usage: bench/containerd-calls.sh [ROUNDS] [MOAT_RUNC...]
#   ROUNDS      default 10
#   MOAT_RUNC   moat-runc binaries to compare (default build/moat-runc),
#               each run through dist/k8s/moat-runc-containerd, or
#               "self:PATH" for a link to PATH as the shim's binary,
#               its options in LINK.conf beside it (docs/kubernetes.md,
#               "Without the wrapper")
# TRACE_DIR=DIR: strace -f -ttt the calls of TRACE_VERBS (default
# "start|delete"; runc create does not run under strace -f) into
# DIR/NAME.VERB.PID instead of timing them.
# Needs root.
set -u
cd "$(dirname "$0")/.."
top=$PWD
export MOAT_BUILD=${MOAT_BUILD:-$top/build}
ROUNDS=${1:-10}
shift || true
[ $# -gt 0 ] || set -- "$MOAT_BUILD/moat-runc"
. tests/lib/harness.sh
harness_init
R=$HARNESS_DIR
D=$R/ctd
. tests/lib/containerd.sh
ctd_config "$D"
[ -d /run/containerd ] || HARNESS_EXTRA_CLEANUP="rmdir /run/containerd/s /run/containerd 2>/dev/null"
harness_spawn_netns containerd containerd --config "$D/config.toml" >"$R/ctd.log" 2>&1
ctd_wait "$D" "$R/ctd.log" "containerd up"
harness_busybox_tar
ctd_oci_image docker.io/library/busybox:latest '["true"]' "$R/busybox-oci.tar"
ctr -a "$D/c.sock" images import "$R/busybox-oci.tar" >/dev/null ||
  harness_bail "import busybox"

# wrap NAME CMD...: $R/wrap-NAME, logging "verb wall user sys" per call
# to $R/NAME.log
wrap() {
  local n=$1
  shift
  {
    echo '#!/bin/sh'
    echo 'v=; for a; do case $a in create|start|delete|kill|state|features|ps|exec|pause|resume|update|events) v=$a; break;; esac; done'
    [ -z "${TRACE_DIR:-}" ] || printf 'case $v in %s) exec strace -f -ttt -o %q/%s.$v.$$ %s "$@" ;; esac\n' "${TRACE_VERBS:-start|delete}" "$TRACE_DIR" "$n" "$*"
    printf 'exec /usr/bin/time -a -o %q -f "$v %%e %%U %%S" %s "$@"\n' "$R/$n.log" "$*"
  } >"$R/wrap-$n"
  chmod 755 "$R/wrap-$n"
  : >"$R/$n.log"
}
names=(runc)
wrap runc /usr/sbin/runc
i=0
for b in "$@"; do
  i=$((i + 1))
  case $b in
  self:*)
    mkdir -p "$R/bin"
    ln -s "${b#self:}" "$R/bin/moat$i-runc"
    printf -- '--moat-root %s\n--moat-containerd\n' "$MOAT_ROOT" >"$R/bin/moat$i-runc.conf"
    chmod 644 "$R/bin/moat$i-runc.conf"
    wrap "moat$i" "$R/bin/moat$i-runc"
    ;;
  *) wrap "moat$i" env MOAT_RUNC="$b" "$top/dist/k8s/moat-runc-containerd" ;;
  esac
  names+=("moat$i")
  echo "moat$i = $b"
done

one() { # NAME ID
  timeout 60 ctr -a "$D/c.sock" run --rm --runc-binary "$R/wrap-$1" \
    --runc-root "$D/runc" --fifo-dir "$D/fifo" --cgroup "/moat-$HARNESS_NETNS/$2" \
    docker.io/library/busybox:latest "$2" true >/dev/null 2>"$R/run.err"
}
for n in "${names[@]}"; do
  one "$n" "warm-$n" || harness_bail "$n starts a container" "$(cat "$R/run.err")"
  : >"$R/$n.log"
done
for r in $(seq "$ROUNDS"); do
  for n in "${names[@]}"; do
    one "$n" "$n-$r" || harness_bail "$n round $r" "$(cat "$R/run.err")"
  done
done
echo "per call, mean over $ROUNDS rounds (wall ms / cpu ms = user + sys):"
for n in "${names[@]}"; do
  awk -v n="$n" '$1 != "" && NF == 4 { c[$1]++; w[$1] += $2; u[$1] += $3 + $4; tw += $2; tu += $3 + $4 }
    END { printf "  %-6s", n; for (v in c) printf "  %s x%.1f %.1f/%.1f", v, c[v] / R, 1000 * w[v] / c[v], 1000 * u[v] / c[v]
          printf "  | total per run %.1f/%.1f\n", 1000 * tw / R, 1000 * tu / R }' R="$ROUNDS" "$R/$n.log"
done
uptime
harness_done
