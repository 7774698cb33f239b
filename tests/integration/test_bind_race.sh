#!/usr/bin/env bash
# Bind mounts are judged on the tree that is mounted (moat-runc,
# src/runtime/bindpol.c): a symlink swapped in after the engine guard's
# check, or a bind asked for through the raw engine socket (guard
# bypassed), never gets a forbidden directory or the engine socket into a
# container.  The refusals carry the contract messages and are audited.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
S=$HARNESS_DIR/share   # the only shared directory
F=$HARNESS_DIR/forbidden
mkdir -p "$S/real/sub" "$F/sub"
echo ok-shared >"$S/real/sub/marker"
echo FORBIDDEN >"$F/sub/marker"
ln -s real "$S/sw"
cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "filesharingDirectories": {"locked": true, "value": ["$S"]}}
EOJ
harness_up
harness_busybox
E=$MOAT_ENGINE_HOST
bindmsg() { echo "enhanced container isolation: bind mount of \"$1\" denied; it is outside the shared directories"; }
sockmsg() { echo "enhanced container isolation: docker socket mount denied for container with image \"$1\"; image is not in the allowed list; if you wish to allow it, configure the docker socket image list in the moat admin settings."; }

# Without a race: what the guard would refuse, moat-runc refuses too when
# the guard is bypassed, with the same messages.
check_output "a shared directory is mounted (raw engine)" ok-shared \
  docker -H "$E" run --rm -v "$S/sw/sub:/x" busybox cat /x/marker
check_refused "raw engine: bind outside the shared directories refused by moat-runc" \
  "$(bindmsg "$F/sub")" docker -H "$E" run --rm -v "$F/sub:/x" busybox cat /x/marker
ln -s "$F" "$S/out"
check_refused "raw engine: symlink out of the share refused by moat-runc" \
  "$(bindmsg "$S/out/sub")" docker -H "$E" run --rm -v "$S/out/sub:/x" busybox true
check_refused "raw engine: engine socket mount refused by moat-runc, naming the image" \
  "$(sockmsg busybox:latest)" \
  docker -H "$E" run --rm -v "$MOAT_ROOT/run/moat/engine.sock:/var/run/docker.sock" busybox:latest true
check_refused "raw engine: the engine's data root refused" \
  "$(bindmsg "$MOAT_ROOT/var/lib/moat/engine")" \
  docker -H "$E" run --rm -v "$MOAT_ROOT/var/lib/moat/engine:/x" busybox true
# A local volume with a host device is the driver's bind of that path: it
# is judged as that path when a container mounts it.
docker -H "$E" volume create -o type=none -o o=bind -o device="$S/real/sub" vgood >/dev/null
docker -H "$E" volume create -o type=none -o o=bind -o device="$F/sub" vbad >/dev/null
check_output "a device volume inside the shared directory is mounted" ok-shared \
  docker -H "$E" run --rm -v vgood:/x busybox cat /x/marker
check_refused "raw engine: a device volume outside the shared directories refused by moat-runc" \
  "$(bindmsg "$F/sub")" docker -H "$E" run --rm -v vbad:/x busybox cat /x/marker
# through the guard: checked at volume create, swapped before first use
ln -s real "$S/sw2"
docker volume create -o type=none -o o=bind -o device="$S/sw2/sub" vswap >/dev/null
ln -sfn "$F" "$S/sw2"
check_refused "guard: a device volume whose path was swapped after its check refused at mount" \
  "$(bindmsg "$F/sub")" docker run --rm -v vswap:/x busybox cat /x/marker
check_output "a plain named volume still works" vol-ok \
  docker run --rm -v plainvol:/x busybox sh -c 'echo vol-ok >/x/f && cat /x/f'
a=$("$MOAT" audit --json 2>&1)
if grep -q '"component":"runtime"' <<<"$a" && grep -qF "$F/sub" <<<"$a"; then
  ok "moat-runc's refusals are in moat audit"
else not_ok "moat-runc's refusals are in moat audit" "$(tail -3 <<<"$a")"; fi

# The race: $S/sw flips between "real" (inside the share) and $F as fast
# as rename(2) goes, while containers ask for $S/sw/sub, through the guard
# and through the raw engine.  A container may run (it then saw the shared
# marker) or be refused; it must never see the forbidden one.
harness_spawn swapper python3 -c '
import os, sys
d, forb = sys.argv[1], sys.argv[2]
tmp, sw = os.path.join(d, "sw.tmp"), os.path.join(d, "sw")
while True:
    for t in ("real", forb):
        try: os.unlink(tmp)
        except FileNotFoundError: pass
        os.symlink(t, tmp)
        os.rename(tmp, sw)
' "$S" "$F" >/dev/null
race() { # host label -> counts in $HARNESS_DIR/race-$label
  local host=$1 label=$2 i out ran=0 guard=0 runtime=0 other=0 leak=0
  for i in $(seq "${RACE_RUNS:-30}"); do
    out=$(docker -H "$host" run --rm -v "$S/sw/sub:/x" busybox cat /x/marker 2>&1)
    case $out in
      *FORBIDDEN*) leak=$((leak + 1)) ;;
      ok-shared) ran=$((ran + 1)) ;;
      *"OCI runtime"*"outside the shared directories"*) runtime=$((runtime + 1)) ;;
      *"outside the shared directories"*) guard=$((guard + 1)) ;;
      *) other=$((other + 1)); echo "$out" >>"$HARNESS_DIR/race-$label.other" ;;
    esac
  done
  echo "$ran $guard $runtime $other $leak"
}
read -r g_ran g_guard g_rt g_other g_leak < <(race "$MOAT_GUARD_HOST" guard)
read -r e_ran e_guard e_rt e_other e_leak < <(race "$E" engine)
harness_kill swapper
harness_diag "through the guard: ran $g_ran, refused by the guard $g_guard, by moat-runc $g_rt, other $g_other"
harness_diag "raw engine: ran $e_ran, refused by moat-runc $e_rt, other $e_other"
[ -s "$HARNESS_DIR/race-guard.other" ] && harness_diag "other (guard): $(sort -u "$HARNESS_DIR/race-guard.other" | head -3)"
[ -s "$HARNESS_DIR/race-engine.other" ] && harness_diag "other (engine): $(sort -u "$HARNESS_DIR/race-engine.other" | head -3)"
if [ "$g_leak" = 0 ] && [ "$e_leak" = 0 ]; then
  ok "symlink swap race: no container ever saw the forbidden directory"
else not_ok "symlink swap race: no container ever saw the forbidden directory" "guard $g_leak, engine $e_leak"; fi
# The race must have been run for real: both outcomes seen at mount time.
if [ $((g_ran + e_ran)) -gt 0 ] && [ "$e_rt" -gt 0 ]; then
  ok "the race was real: some mounts passed, moat-runc refused others"
else not_ok "the race was real: some mounts passed, moat-runc refused others" "ran $((g_ran + e_ran)), moat-runc refused $e_rt"; fi
if [ "$((g_other + e_other))" -eq 0 ]; then ok "every failure was a contract refusal"
else not_ok "every failure was a contract refusal" "$(sort -u "$HARNESS_DIR"/race-*.other | head -5)"; fi
harness_done
