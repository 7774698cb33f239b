#!/usr/bin/env bash
# A container allowed to use the Docker socket (dockerSocketMount) must not
# make the engine reach, from the host's side, a registry its own egress
# policy refuses (docs/net-guard.md, "Registry traffic of a container's
# socket"): pull, push, search and login on its filtered socket are
# decided by the net guard's decision function for the registry's
# host:port, and only DIRECT passes (rule airgap.registry).  The harness
# registry on the engine namespace's 127.0.0.1 is the host's loopback:
# refused.  A registry the exclude list names (10.79.0.9, a dummy address
# in the engine's namespace) is still reached: a listener there sees the
# engine's connection.  Every address is inside the test's namespace.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_registry
E=$MOAT_ENGINE_HOST
H=$HARNESS_NETNS
APP=$REGISTRY/regapp:1
OKREG=10.79.0.9
msg() { echo "enhanced container isolation: registry \"$1\" is refused by the container proxy policy (rule: "; }

ip -n "$H" link add mreg0 type veth peer name mreg1 &&
  ip -n "$H" link set mreg1 up &&
  ip -n "$H" addr add "$OKREG/32" dev mreg0 &&
  ip -n "$H" link set mreg0 up || harness_bail "dummy address" "ip failed"
# The allowed registry's address: a listener that notes every connection
# (the engine speaks TLS to it and gives up: reaching it is the point).
harness_spawn_netns okreg python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 443)); s.listen(16)
while True:
    c, a = s.accept()
    open(sys.argv[2], "a").write("conn\n")
    c.close()
' "$OKREG" "$HARNESS_DIR/okreg.log" >/dev/null

mkdir -p "$MOAT_ROOT/etc/moat"
cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true,
   "dockerSocketMount": {"imageList": {"images": ["$APP"]}}},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "exclude": ["$OKREG/32", "localhost"], "transparentPorts": "*"},
 "filesharingDirectories": {"locked": true, "value": ["/tmp"]}}
EOJ
chmod 0644 "$MOAT_ROOT/etc/moat/admin-settings.json"
harness_up
harness_busybox
GSOCK=$MOAT_ROOT/run/moat/docker.sock
V="$GSOCK:/var/run/docker.sock"

# The allowed image (busybox + the docker CLI) and a victim image, pushed
# by the engine directly (the host's own traffic, not a container's).
docker -H "$E" create --name mk busybox true >/dev/null &&
  docker -H "$E" cp /usr/local/bin/docker mk:/bin/docker &&
  docker -H "$E" commit mk "$APP" >/dev/null &&
  docker -H "$E" rm mk >/dev/null &&
  docker -H "$E" push "$APP" >/dev/null 2>"$HARNESS_DIR/push.err" &&
  docker -H "$E" tag busybox "$REGISTRY/victim:1" &&
  docker -H "$E" push "$REGISTRY/victim:1" >/dev/null 2>>"$HARNESS_DIR/push.err" &&
  docker -H "$E" rmi "$REGISTRY/victim:1" >/dev/null ||
  harness_bail "build and push" "$(cat "$HARNESS_DIR/push.err")"
docker -H "$E" image inspect "$REGISTRY/victim:1" >/dev/null 2>&1 &&
  harness_bail "victim image" "still present"

check_output "the socket container runs docker ps over its filtered socket" "CONTAINER ID" \
  docker run --rm -v "$V" "$APP" docker ps

# 1. A pull from the registry on the engine's loopback.
check_refused "pull from a loopback registry on a container's socket: refused" \
  "$(msg 127.0.0.1)loopback" \
  docker run --rm -v "$V" "$APP" docker pull "$REGISTRY/victim:1"
check_fails "... and the engine did not pull it" \
  docker -H "$E" image inspect "$REGISTRY/victim:1"
# the same registry by a name that exclude names but that resolves to
# loopback: its addresses are decided too
check_refused "pull from localhost:PORT (excluded by name): refused by its address" \
  "$(msg localhost)loopback, unspecified or multicast destination (address 127.0.0.1)" \
  docker run --rm -v "$V" "$APP" docker pull "localhost:${REGISTRY#*:}/victim:1"
# 2. push, search, login
check_refused "push to a loopback registry: refused" "$(msg 127.0.0.1)" \
  docker run --rm -v "$V" "$APP" docker push "$APP"
check_refused "search of a loopback registry: refused" "$(msg 127.0.0.1)" \
  docker run --rm -v "$V" "$APP" docker search "$REGISTRY/victim"
check_refused "login on a container's socket: refused" "$(msg "docker login")" \
  docker run --rm -v "$V" "$APP" docker login -u a -p b "$REGISTRY"
# 3. Docker Hub with no proxy configured: refused by name, never resolved
check_refused "pull from Docker Hub with no https proxy: refused" \
  "$(msg registry-1.docker.io)no https proxy configured" \
  docker run --rm -v "$V" "$APP" docker pull busybox:latest
# 4. The host's own guarded socket is not a container's: root still pulls.
check "root pulls from the loopback registry on the guarded socket" \
  docker pull "$REGISTRY/victim:1"
# 5. An allowed registry (exclude names its address) is still reached.
out=$(docker run --rm -v "$V" "$APP" docker pull "$OKREG/allowed:1" 2>&1)
if grep -qF "is refused by the container proxy policy" <<<"$out"; then
  not_ok "pull from an excluded registry reaches it" "$out"
elif [ -s "$HARNESS_DIR/okreg.log" ]; then
  ok "pull from an excluded registry reaches it"
else
  not_ok "pull from an excluded registry reaches it" "no connection: $out"
fi
# 6. The refusals are audited under airgap.registry.
check_output "refusals audited as airgap.registry" "airgap.registry" \
  "$MOAT" audit -n 200
# 8. Form values in a body win over the query's in the engine: an import
# (fromSrc=- in the query, checked) whose body says fromSrc=<URL> would
# make the engine fetch the URL.  Refused under ECI, on every socket.
out=$(curl -s --max-time 20 --unix-socket "$GSOCK" -X POST \
  -H 'Content-Type: application/x-www-form-urlencoded' \
  --data 'fromSrc=http://10.80.0.1/x.tar' \
  'http://moat/images/create?fromSrc=-&repo=formx' 2>&1)
if grep -qF "can't be sent to the engine: it would read the body's form fields as query parameters" <<<"$out"; then
  ok "a form body (fromSrc=URL over the query's fromSrc=-): refused"
else
  not_ok "a form body (fromSrc=URL over the query's fromSrc=-): refused" "$out"
fi
# 7. A PAC decides as well: PROXY is refused (the engine does not go
# through the containers' proxy), a PAC that cannot be loaded refuses
# (fail closed).  10.80.0.1 is no address of the namespace and has no
# route there.
wait_setting() { # KEY VALUE: until moat settings show has it
  for _ in $(seq 60); do
    [ "$("$MOAT" settings show --json | jq -r --arg k "$1" '.[] | select(.key==$k) | .value | tostring')" = "$2" ] && return 0
    sleep 0.2
  done
  return 1
}
pac_settings() { # PAC URL
  cat >"$MOAT_ROOT/etc/moat/admin-settings.json.new" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true,
   "dockerSocketMount": {"imageList": {"images": ["$APP"]}}},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "pac": "$1", "transparentPorts": "*"},
 "filesharingDirectories": {"locked": true, "value": ["/tmp"]}}
EOJ
  chmod 0644 "$MOAT_ROOT/etc/moat/admin-settings.json.new"
  mv "$MOAT_ROOT/etc/moat/admin-settings.json.new" "$MOAT_ROOT/etc/moat/admin-settings.json"
  wait_setting containersProxy.pac "$1" || not_ok "PAC policy $1 applied"
}
cat >"$MOAT_ROOT/etc/moat/proxy.pac" <<'PAC'
function FindProxyForURL(url, host) { return "PROXY 10.79.0.9:3128"; }
PAC
chmod 0644 "$MOAT_ROOT/etc/moat/proxy.pac"
pac_settings "file://$MOAT_ROOT/etc/moat/proxy.pac"
sleep 0.5
check_refused "PAC says PROXY: refused (the engine would go direct)" \
  "the engine's own connections do not go through the containers' proxy" \
  docker run --rm -v "$V" "$APP" docker pull 10.80.0.1/x:1
pac_settings "file://$MOAT_ROOT/etc/moat/missing.pac"
sleep 0.5
check_refused "PAC that cannot be loaded: refused" "$(msg 10.80.0.1)pac-" \
  docker run --rm -v "$V" "$APP" docker pull 10.80.0.1/x:1
harness_done
