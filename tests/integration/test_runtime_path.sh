#!/usr/bin/env bash
# --runtime=runc must still end in moat-runc: the private engine finds
# moat-runc as `runc` first in its PATH, and moat-runc takes MOAT_ROOT from
# the environment dockerd passes down (no runtimeArgs for the builtin runc).
. "$(dirname "$0")/../lib/harness.sh"
cd "$HARNESS_TOP"
top=$PWD
B=$MOAT_BUILD
harness_init
R=$HARNESS_DIR

mkdir -p "$R/moat" "$R/bin"
ln -s "$B/moat-runc" "$R/bin/runc"
# (the harness's own MOAT_ROOT stays: teardown needs it)
MOAT_ROOT=$R/moat PATH=$R/bin:$PATH harness_engine '{}'
harness_busybox
for rt in "" "--runtime=runc"; do
  map=$(d run --rm $rt busybox cat /proc/self/uid_map)
  read -r _ base size <<<"$map"
  if [ "${base:-0}" -gt 0 ] && [ "$size" = 65536 ]; then
    ok "docker run ${rt:-(default runtime)} gets a private range ($base)"
  else
    not_ok "docker run ${rt:-(default runtime)} gets a private range (got: $map)"
  fi
done
check_refused "--runtime=runc --pid=host refused" \
  "enhanced container isolation: containers can't share the pid namespace with the host" \
  d run --rm --runtime=runc --pid=host busybox true
n=$(sqlite3 "$R/moat/var/lib/moat/state.db" 'SELECT count(*) FROM runtime_id_ranges')
if [ "$n" = 0 ]; then ok "ranges released"; else not_ok "ranges released ($n left)"; fi
# run and restore would make a container without create's isolation.
for verb in run restore; do
  out=$(MOAT_ROOT=$R/moat "$B/moat-runc" --root "$R/runc-root" $verb --bundle "$R" moat-bypass 2>&1)
  if [ $? -ne 0 ] && grep -q "\`$verb\` is not supported" <<<"$out"; then
    ok "moat-runc $verb is refused"
  else
    not_ok "moat-runc $verb is refused (got: $out)"
  fi
done
harness_done
