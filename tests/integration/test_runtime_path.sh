#!/usr/bin/env bash
# --runtime=runc must still end in moat-runc: the private engine finds
# moat-runc as `runc` first in its PATH, and moat-runc takes MOAT_ROOT from
# the environment dockerd passes down (no runtimeArgs for the builtin runc).
set -u
cd "$(dirname "$0")/../.."
top=$PWD
B=${MOAT_BUILD:-$top/build}
. tests/integration/lib_dockerd.sh
trap dockerd_stop EXIT
ok() { echo "ok - $1"; }
fail() { echo "not ok - $1"; }

mkdir -p "$R/moat" "$R/bin"
ln -s "$B/moat-runc" "$R/bin/runc"
export MOAT_ROOT=$R/moat
PATH=$R/bin:$PATH dockerd_start "moat-path-$$" '{}' || { fail "dockerd starts"; exit 1; }
import_busybox || { fail "import busybox"; exit 1; }
for rt in "" "--runtime=runc"; do
  map=$(d run --rm $rt busybox cat /proc/self/uid_map)
  read -r _ base size <<<"$map"
  if [ "${base:-0}" -gt 0 ] && [ "$size" = 65536 ]; then
    ok "docker run ${rt:-(default runtime)} gets a private range ($base)"
  else
    fail "docker run ${rt:-(default runtime)} gets a private range (got: $map)"
  fi
done
if d run --rm --runtime=runc --pid=host busybox true 2>/dev/null; then
  fail "--runtime=runc --pid=host refused"
else
  ok "--runtime=runc --pid=host refused"
fi
n=$(sqlite3 "$R/moat/var/lib/moat/state.db" 'SELECT count(*) FROM runtime_id_ranges')
if [ "$n" = 0 ]; then ok "ranges released"; else fail "ranges released ($n left)"; fi
# run and restore would make a container without create's isolation.
for verb in run restore; do
  out=$(MOAT_ROOT=$R/moat "$B/moat-runc" --root "$R/runc-root" $verb --bundle "$R" moat-bypass 2>&1)
  if [ $? -ne 0 ] && grep -q "\`$verb\` is not supported" <<<"$out"; then
    ok "moat-runc $verb is refused"
  else
    fail "moat-runc $verb is refused (got: $out)"
  fi
done
exit 0
