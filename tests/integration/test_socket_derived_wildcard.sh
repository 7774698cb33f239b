#!/usr/bin/env bash
# Derived images of wildcard patterns (Docker Desktop 4.36): with
# "images": ["REGISTRY/tools/cli:*"] and allowDerivedImages, a local image
# built FROM REGISTRY/tools/cli:1 may mount the docker socket; the base may
# be any local image whose tag the pattern matches and that passes the
# digest check, so an image built FROM a re-tagged impostor is refused.
# Real dockerd, the harness registry.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_registry
E=$MOAT_ENGINE_HOST
CLI=$REGISTRY/tools/cli
notlisted() { echo "enhanced container isolation: docker socket mount denied for container with image \"$1\"; image is not in the allowed list; if you wish to allow it, configure the docker socket image list in the moat admin settings."; }
cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true,
   "dockerSocketMount": {
     "imageList": {"images": ["$CLI:*"], "allowDerivedImages": true}}},
 "filesharingDirectories": {"locked": true, "value": ["/tmp"]}}
EOJ
harness_up
harness_busybox
V="$MOAT_ROOT/run/moat/docker.sock:/var/run/docker.sock"

# The base: busybox plus the docker CLI, pushed as cli:1 and cli:3.
docker -H "$E" create --name mk busybox true >/dev/null &&
  docker -H "$E" cp /usr/local/bin/docker mk:/bin/docker &&
  docker -H "$E" commit mk "$CLI:1" >/dev/null &&
  docker -H "$E" rm mk >/dev/null &&
  docker -H "$E" tag "$CLI:1" "$CLI:3" &&
  docker -H "$E" push "$CLI:1" >/dev/null 2>"$HARNESS_DIR/push.err" &&
  docker -H "$E" push "$CLI:3" >/dev/null 2>>"$HARNESS_DIR/push.err" ||
  harness_bail "build and push $CLI" "$(cat "$HARNESS_DIR/push.err")"
# derive NAME BASE: a local image built FROM BASE (one more layer).
derive() {
  docker -H "$E" create --name mkd "$2" true >/dev/null &&
    docker -H "$E" cp /etc/hostname mkd:/derived &&
    docker -H "$E" commit mkd "$1" >/dev/null &&
    docker -H "$E" rm mkd >/dev/null || harness_bail "derive $1 from $2"
}
derive mytool:1 "$CLI:1"
# An impostor re-tagged as cli:3 (the registry's cli:3 is the real one),
# and an image built FROM it.
docker -H "$E" create --name mke busybox true >/dev/null &&
  docker -H "$E" cp /etc/os-release mke:/impostor &&
  docker -H "$E" commit mke evilbase:1 >/dev/null &&
  docker -H "$E" rm mke >/dev/null || harness_bail "impostor"
docker -H "$E" tag evilbase:1 "$CLI:3"
derive eviltool:1 "$CLI:3"

check_output "the pattern's own image may mount the socket" "CONTAINER ID" \
  docker run --rm -v "$V" "$CLI:1" docker ps
check_output "an image built FROM $CLI:1 may mount the socket (wildcard pattern, allowDerivedImages)" \
  "CONTAINER ID" docker run --rm -v "$V" mytool:1 docker ps
cid=$(docker create -v "$V" mytool:1 true 2>&1)
want=$(docker -H "$E" image inspect --format '{{.Id}}' mytool:1)
got=$(docker inspect --format '{{.Image}}' "$cid" 2>&1)
[ "$got" = "$want" ] && ok "the derived container is pinned to its own image id" \
  || not_ok "the derived container is pinned to its own image id" "want $want" "got $got"
docker rm "$cid" >/dev/null 2>&1
check_refused "the re-tagged impostor $CLI:3 is refused" "$(notlisted "$CLI:3")" \
  docker run --rm -v "$V" "$CLI:3" true
check_refused "an image built FROM the re-tagged impostor is refused" "$(notlisted eviltool:1)" \
  docker run --rm -v "$V" eviltool:1 true
check_refused "an image derived from nothing allowed is refused" "$(notlisted busybox)" \
  docker run --rm -v "$V" busybox true
harness_done
