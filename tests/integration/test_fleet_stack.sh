#!/usr/bin/env bash
# A fleet copy's locks enforced on a real stack (docs/fleet.md): moat up
# with a local admin file that shares all of $HARNESS_DIR, and a fleet.json
# whose signed copy locks file sharing to $HARNESS_DIR/shared.  Once the
# copy is in force, a bind inside the fleet's directory runs and one outside
# it is refused by the engine guard.
# Network: only a python http.server this test starts on 127.0.0.1.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
E='enhanced container isolation: '
for t in openssl python3 jq; do
  command -v $t >/dev/null || { skip "fleet on a stack" "$t is not installed"; harness_done; }
done
www=$HARNESS_DIR/www
mkdir -p "$www" "$HARNESS_DIR/shared" "$HARNESS_DIR/other"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
harness_spawn fleetsrv python3 -m http.server --bind 127.0.0.1 --directory "$www" "$port" >/dev/null
openssl genpkey -algorithm ed25519 -out "$HARNESS_DIR/fleet.pem" 2>/dev/null
openssl pkey -in "$HARNESS_DIR/fleet.pem" -pubout -out "$HARNESS_DIR/fleet.pub" 2>/dev/null
cat >"$www/admin-settings.json" <<J
{"configurationFileVersion": 2, "fleetSerial": 1,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "filesharingDirectories": {"locked": true, "value": ["$HARNESS_DIR/shared"]}}
J
openssl pkeyutl -sign -inkey "$HARNESS_DIR/fleet.pem" -rawin \
  -in "$www/admin-settings.json" -out "$www/admin-settings.json.sig"
cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<J
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "filesharingDirectories": {"locked": true, "value": ["$HARNESS_DIR"]}}
J
printf '{"url": "http://127.0.0.1:%s/admin-settings.json", "publicKey": %s, "refreshSeconds": 600}\n' \
  "$port" "$(jq -Rs . <"$HARNESS_DIR/fleet.pub")" >"$MOAT_ROOT/etc/moat/fleet.json"
chmod 0644 "$MOAT_ROOT/etc/moat/"*.json
harness_up
harness_busybox

for _ in $(seq 100); do
  [ "$("$MOAT" status --json 2>/dev/null | jq -r .fleet.in_force)" = fleet ] && break
  sleep 0.2
done
st=$("$MOAT" status --json 2>/dev/null)
[ "$(echo "$st" | jq -r .fleet.in_force)" = fleet ] && ok "the fleet copy is in force on the stack" \
  || harness_bail "the fleet copy is in force on the stack" "$(echo "$st" | jq '.fleet, .errors')"
check "a bind inside the fleet's shared directory runs" \
  docker run --rm -v "$HARNESS_DIR/shared:/s" busybox true
check_refused "a bind the local file allowed but the fleet does not is refused" "$E" \
  docker run --rm -v "$HARNESS_DIR/other:/o" busybox true
harness_done
