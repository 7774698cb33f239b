#!/usr/bin/env bash
# Socket exceptions against a registry that wants tokens, as Docker Hub
# does: Debian's docker-registry with `auth: token`, and a token server
# this test runs (tests/integration/registry/token_server.py, JWTs signed
# by a key the test makes).  moatd must follow the 401's Bearer challenge
# to an anonymous token to validate an allowed image's digest; a realm
# that refuses tokens or answers nonsense is a failed lookup: refused,
# saying why (fail closed).
. "$(dirname "$0")/../lib/harness.sh"
harness_init
E=$MOAT_ENGINE_HOST
T=$HARNESS_DIR/token
mkdir -p "$T"

freeport() {
  nsenter --net="/run/netns/$HARNESS_NETNS" /usr/bin/python3 -c \
    'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
in_ns() { nsenter --net="/run/netns/$HARNESS_NETNS" "$@"; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
  -days 1 -subj /CN=moat-test-token >/dev/null 2>&1 || harness_bail "token key" "openssl failed"
TPORT=$(freeport)
RPORT=$(freeport)
[ -n "$TPORT" ] && [ -n "$RPORT" ] && [ "$TPORT" != "$RPORT" ] || harness_bail "ports" "no free ports"
harness_spawn_netns tokensrv /usr/bin/python3 "$(dirname "$0")/registry/token_server.py" \
  "$TPORT" "$T/key.pem" "$T/cert.pem" moat-test-issuer "$T/mode" "$T/requests.log" >/dev/null
cat >"$T/registry.yml" <<EOC
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $T/data
http:
  addr: 127.0.0.1:$RPORT
auth:
  token:
    realm: http://127.0.0.1:$TPORT/token
    service: moat-test-registry
    issuer: moat-test-issuer
    rootcertbundle: $T/cert.pem
EOC
harness_spawn_netns tokenreg /usr/bin/docker-registry serve "$T/registry.yml" >/dev/null
up=0
for _ in $(seq 100); do
  code=$(in_ns curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RPORT/v2/" 2>/dev/null)
  tok=$(in_ns curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TPORT/token" 2>/dev/null)
  [ "$code" = 401 ] && [ "$tok" = 200 ] && { up=1; break; }
  sleep 0.1
done
[ $up = 1 ] || harness_bail "token registry" "registry=$code token=$tok: $(tail -5 "$HARNESS_DIR/tokenreg.log" "$HARNESS_DIR/tokensrv.log")"
REG=127.0.0.1:$RPORT
APP=$REG/tokapp

cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true,
   "dockerSocketMount": {"imageList": {"images": ["$APP:*"]}}},
 "filesharingDirectories": {"locked": true, "value": ["/tmp"]}}
EOJ
harness_up
harness_busybox
GSOCK=$MOAT_ROOT/run/moat/docker.sock
V="$GSOCK:/var/run/docker.sock"

# Three tags of one image (each tag is looked up, and cached, on its own),
# pushed by dockerd, which goes through the token flow itself.
docker -H "$E" create --name mk busybox true >/dev/null &&
  docker -H "$E" cp /etc/hostname mk:/tokapp &&
  docker -H "$E" commit mk "$APP:1" >/dev/null &&
  docker -H "$E" rm mk >/dev/null || harness_bail "build $APP:1"
for t in 1 2 3 4; do
  docker -H "$E" tag "$APP:1" "$APP:$t" &&
    docker -H "$E" push "$APP:$t" >/dev/null 2>"$T/push.err" ||
    harness_bail "push $APP:$t" "$(cat "$T/push.err")"
done
check_fails "the registry refuses a manifest request without a token" \
  in_ns curl -sf -I "http://$REG/v2/tokapp/manifests/1"

: >"$T/requests.log"
check "an allowed image's digest is validated through the token flow" \
  docker run --rm -v "$V" "$APP:1" true
if grep -q 'service=moat-test-registry' "$T/requests.log" &&
  grep -q 'scope=repository%3Atokapp%3Apull\|scope=repository%3atokapp%3apull\|scope=repository:tokapp:pull' "$T/requests.log"; then
  ok "moatd asked the realm for a pull token with the challenge's service and scope"
else not_ok "moatd asked the realm for a pull token" "$(cat "$T/requests.log")"; fi

echo deny >"$T/mode"
check_refused "a realm that refuses anonymous tokens: refused, saying so" \
  "does not give anonymous tokens" docker run --rm -v "$V" "$APP:2" true
echo garbage >"$T/mode"
check_refused "a realm answering nonsense: refused" \
  "cannot be reached to validate the image digest (token answer" \
  docker run --rm -v "$V" "$APP:3" true
echo inject >"$T/mode"
check_refused "a token that would inject a header: refused" \
  "cannot go in a header" docker run --rm -v "$V" "$APP:4" true
: >"$T/mode"
check "the realm answers again: allowed" docker run --rm -v "$V" "$APP:2" true

# The token flow does not weaken the digest check: a re-tag is refused.
docker -H "$E" tag busybox "$APP:3"
check_refused "re-tagged impostor refused behind a token registry" \
  "image is not in the allowed list" docker run --rm -v "$V" "$APP:3" true
harness_done
