#!/usr/bin/env bash
# Docker socket exceptions end to end: an image pushed to the harness
# registry and allowed by reference may mount the guarded socket and gets a
# filtered socket of its own (command list applied); a re-tagged impostor,
# an image whose registry is unreachable and a derived image (unless
# allowDerivedImages) are refused; the filtered socket goes with its
# container.  Users mount the guarded socket they know (DOCKER_HOST's
# path); any path reaching an engine socket is treated the same.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_registry
E=$MOAT_ENGINE_HOST
APP=$REGISTRY/sockapp:1
GONE=127.0.0.1:1/gone:1 # nothing listens there: an unreachable registry
notlisted() { echo "enhanced container isolation: docker socket mount denied for container with image \"$1\"; image is not in the allowed list; if you wish to allow it, configure the docker socket image list in the moat admin settings."; }

# wait_derived true|false: until moatd has loaded the new settings.
wait_derived() {
  local _
  for _ in $(seq 50); do
    [ "$("$MOAT" settings show --json 2>/dev/null |
      jq -r '.. | objects | select(.key? // "" | endswith("allowDerivedImages")) | .value' 2>/dev/null)" = "$1" ] && return 0
    sleep 0.2
  done
  not_ok "moatd reloads allowDerivedImages=$1"
}
# A registry that takes 2.5 s to answer a manifest lookup (in the netns,
# where the guard's lookups go), for the "slow registry does not stall the
# guard" check.
harness_spawn_netns slowreg python3 -c '
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        time.sleep(2.5)
        self.send_response(200)
        self.send_header("Docker-Content-Digest", "sha256:" + "5" * 64)
        self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
' "$HARNESS_DIR/slowreg.port" >/dev/null
for _ in $(seq 50); do [ -s "$HARNESS_DIR/slowreg.port" ] && break; sleep 0.1; done
SLOW=127.0.0.1:$(cat "$HARNESS_DIR/slowreg.port")/slow:1

write_settings() { # $1 = allowDerivedImages
  cat >"$MOAT_ROOT/etc/moat/admin-settings.json.tmp" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true,
   "dockerSocketMount": {
     "imageList": {"images": ["$APP", "$GONE", "$SLOW"], "allowDerivedImages": $1},
     "commandList": {"type": "deny", "commands": ["push"]}}},
 "filesharingDirectories": {"locked": true, "value": ["/tmp"]}}
EOJ
  mv "$MOAT_ROOT/etc/moat/admin-settings.json.tmp" "$MOAT_ROOT/etc/moat/admin-settings.json"
}
write_settings false
harness_up
harness_busybox
GSOCK=$MOAT_ROOT/run/moat/docker.sock

# The allowed image: busybox plus the (static) docker CLI, pushed so that
# it has a RepoDigest the registry vouches for.
docker -H "$E" create --name mk busybox true >/dev/null &&
  docker -H "$E" cp /usr/local/bin/docker mk:/bin/docker &&
  docker -H "$E" commit mk "$APP" >/dev/null &&
  docker -H "$E" rm mk >/dev/null &&
  docker -H "$E" push "$APP" >/dev/null 2>"$HARNESS_DIR/push.err" ||
  harness_bail "build and push $APP" "$(cat "$HARNESS_DIR/push.err")"
# A local-only image derived from it.
docker -H "$E" create --name mk2 "$APP" true >/dev/null &&
  docker -H "$E" cp /etc/hostname mk2:/derived &&
  docker -H "$E" commit mk2 sockderived:1 >/dev/null &&
  docker -H "$E" rm mk2 >/dev/null || harness_bail "derived image"
docker -H "$E" tag busybox "$GONE"
docker -H "$E" tag busybox "$SLOW"

V="$GSOCK:/var/run/docker.sock"
check_output "allowed image runs docker ps over its filtered socket" "CONTAINER ID" \
  docker run --rm -v "$V" "$APP" docker ps
want="Error response from daemon: enhanced container isolation: docker command \"/v1.41/images/$REGISTRY/sockapp/push?tag=1\" is blocked; if you wish to allow it, configure the docker socket command list in the moat admin settings."
check_refused "docker push inside is blocked with the contract message" "$want" \
  docker run --rm -v "$V" "$APP" docker push "$APP"
check_refused "ECI applies on the filtered socket too" \
  "containers can't share the pid namespace with the host" \
  docker run --rm -v "$V" "$APP" docker run --rm --pid=host busybox true

# A registry lookup runs on a worker thread: while one create waits 2.5 s
# for the slow registry, the guard keeps answering everyone else.
ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms)
docker run --rm -v "$V" "$SLOW" true >"$HARNESS_DIR/slow.out" 2>&1 &
slow_pid=$!
sleep 0.5
t1=$(ms)
ping=$(curl -s --max-time 10 --unix-socket "$GSOCK" http://moat/_ping)
t2=$(ms)
docker ps >/dev/null 2>&1
t3=$(ms)
wait "$slow_pid"
t4=$(ms)
harness_diag "slow registry: create answered after $((t4 - t0)) ms; meanwhile _ping took $((t2 - t1)) ms, docker ps $((t3 - t2)) ms"
if [ "$ping" = OK ] && [ $((t2 - t1)) -lt 1000 ] && [ $((t3 - t2)) -lt 1500 ] && [ $((t4 - t0)) -ge 2000 ] &&
  grep -qF "$(notlisted "$SLOW")" "$HARNESS_DIR/slow.out"; then
  ok "a slow registry lookup does not stall other requests (refused after it, fail closed)"
else not_ok "a slow registry lookup does not stall other requests" "ping=$ping $((t2 - t1)) ms, ps $((t3 - t2)) ms, create $((t4 - t0)) ms" "$(cat "$HARNESS_DIR/slow.out")"; fi

# The filtered socket replaces the bind and goes with the container.
cid=$(docker create -v "$V" "$APP" true 2>&1)
fs=$(docker inspect --format '{{index .Config.Labels "com.moat.filtered-socket"}}' "$cid" 2>&1)
src=$(docker inspect --format '{{range .Mounts}}{{.Source}}{{end}}' "$cid" 2>&1)
if [ -S "$fs" ] && [ "$src" = "$fs" ] && case $fs in "$MOAT_ROOT"/run/moat/sockets/*.sock) true ;; *) false ;; esac; then
  ok "create gets a filtered socket of its own ($fs)"
else not_ok "create gets a filtered socket of its own" "cid=$cid label=$fs source=$src"; fi
# ... and runs exactly the image that was checked: Image is pinned to its id.
app_id=$(docker -H "$E" image inspect --format '{{.Id}}' "$APP")
got=$(docker inspect --format '{{.Image}} {{.Config.Image}} {{index .Config.Labels "com.moat.image"}}' "$cid" 2>&1)
if [ "$got" = "$app_id $app_id $APP" ]; then
  ok "the create is pinned to the checked image id"
else not_ok "the create is pinned to the checked image id" "want: $app_id $app_id $APP" "got:  $got"; fi
# moat verify probes every filtered socket being served as a host user.
vout=$("$MOAT" verify 2>&1)
if grep -q '^PASS  filtered sockets answer only their container  *1 socket' <<<"$vout"; then
  ok "moat verify probes the filtered socket and finds it closed to host users"
else not_ok "moat verify probes the filtered socket" "$(grep 'filtered sockets' <<<"$vout")"; fi
ps_img=$(docker ps -a --filter "id=$cid" --format '{{.Image}}')
harness_diag "docker ps shows a pinned container's image as: $ps_img"
docker rm "$cid" >/dev/null
for _ in $(seq 50); do [ -e "$fs" ] || break; sleep 0.2; done
[ -n "$fs" ] && [ ! -e "$fs" ] && ok "the filtered socket is gone after docker rm" \
  || not_ok "the filtered socket is gone after docker rm" "$fs still there"

a=$("$MOAT" audit --json 2>&1)
if grep -q '"eci.socket-mount"' <<<"$a" && grep -q 'filtered socket' <<<"$a"; then
  ok "moat audit records the socket rewrite"
else not_ok "moat audit records the socket rewrite" "$(tail -5 <<<"$a")"; fi

# --volumes-from: the source container's binds are checked as binds of
# the new container.  Sources made through the raw engine (no guard).
bindmsg() { echo "enhanced container isolation: bind mount of \"$1\" denied; it is outside the shared directories"; }
mkdir -p "$HARNESS_DIR/share" && echo shared-ok >"$HARNESS_DIR/share/f"
docker -H "$E" create --name vf-share -v "$HARNESS_DIR/share:/data" busybox true >/dev/null
docker -H "$E" create --name vf-etc -v /etc:/x busybox true >/dev/null
docker -H "$E" create --name vf-raw -v "$MOAT_ROOT/run/moat/engine.sock:/var/run/docker.sock" busybox true >/dev/null
docker create --name vf-sock -v "$V" "$APP" true >/dev/null
check_output "volumes-from a container with a shared-directory bind" "shared-ok" \
  docker run --rm --volumes-from vf-share:ro busybox cat /data/f
check_refused "volumes-from a bind outside the shared directories refused" "$(bindmsg /etc)" \
  docker run --rm --volumes-from vf-etc busybox true
check_refused "volumes-from an allowed container's socket, other image: refused" "$(notlisted busybox)" \
  docker run --rm --volumes-from vf-sock busybox true
check_output "volumes-from an allowed container's filtered socket, allowed image" "CONTAINER ID" \
  docker run --rm --volumes-from vf-sock "$APP" docker ps
check_refused "volumes-from the raw engine socket refused even for an allowed image" \
  "only a filtered docker socket can be shared through volumes-from" \
  docker run --rm --volumes-from vf-raw "$APP" true
a=$("$MOAT" audit --json 2>&1)
if grep -q '"eci.bind"' <<<"$a" && grep -qF '/etc' <<<"$a"; then
  ok "moat audit records the volumes-from refusal"
else not_ok "moat audit records the volumes-from refusal" "$(tail -3 <<<"$a")"; fi
docker -H "$E" rm vf-share vf-etc vf-raw vf-sock >/dev/null

# moatd restarts: the filtered sockets of existing containers come back.
docker create --name keep -v "$V" "$APP" docker ps >/dev/null 2>&1
"$MOAT" down >/dev/null 2>&1
harness_up
check_output "a filtered socket is served again after moat down / up" "CONTAINER ID" \
  docker start -a keep
docker rm keep >/dev/null 2>&1
# A running container keeps its filtered socket across a moatd restart
# (moatd stopped by its pid file, dockerd and the container go on): moatd
# re-creates the socket and mounts it anew over the container's bind.
docker run -d --name keeprun -v "$V" "$APP" sleep 300 >/dev/null 2>&1
mpid=$(cat "$MOAT_ROOT/run/moat/moatd.pid" 2>/dev/null)
if [ -n "$mpid" ] && kill -TERM "$mpid" 2>/dev/null; then
  for _ in $(seq 100); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
fi
harness_up
check_output "a running container's filtered socket is served again after moatd restarts" \
  "Server:" docker exec keeprun docker version
docker rm -f keeprun >/dev/null 2>&1

check_refused "an image not in the list is refused" "$(notlisted busybox)" \
  docker run --rm -v "$V" busybox true
check_refused "unreachable registry: unpinned reference refused, saying so" \
  "the registry of \"$GONE\" cannot be reached to validate the image digest" \
  docker run --rm -v "$V" "$GONE" true
check_refused "derived image refused while allowDerivedImages is false" \
  "$(notlisted sockderived:1)" docker run --rm -v "$V" sockderived:1 true

write_settings true
wait_derived true
t0=$(date +%s%N)
check "derived image allowed with allowDerivedImages true" \
  docker create --name der -v "$V" sockderived:1 true
t1=$(date +%s%N)
docker create --name plain busybox true >/dev/null
t2=$(date +%s%N)
harness_diag "create with derived-image validation: $(( (t1 - t0) / 1000000 )) ms; plain create: $(( (t2 - t1) / 1000000 )) ms"
docker rm der plain >/dev/null 2>&1

# A re-tagged impostor: same name and tag, other content.  (Derived images
# off again: otherwise the busybox-based impostor is judged as derived from
# $GONE, whose registry is unreachable, and refused for that reason.)
write_settings false
wait_derived false
docker -H "$E" tag busybox "$APP"
check_refused "re-tagged impostor (docker tag busybox $APP) refused" "$(notlisted "$APP")" \
  docker run --rm -v "$V" "$APP" true

# Check-to-create race: the name flips between the allowed image and an
# impostor while creates go through.  Whatever the name says when the
# engine reads the create, every container that got the socket runs the
# image that was checked.
docker -H "$E" tag "$app_id" "$APP"
busy_id=$(docker -H "$E" image inspect --format '{{.Id}}' busybox)
harness_spawn retag bash -c "while :; do docker -H '$E' tag '$busy_id' '$APP'; docker -H '$E' tag '$app_id' '$APP'; done" >/dev/null
made=() bad=()
for i in $(seq 30); do
  if c=$(docker create --label race=1 -v "$V" "$APP" true 2>/dev/null); then
    made+=("$c")
    img=$(docker inspect --format '{{.Image}}' "$c")
    [ "$img" = "$app_id" ] || bad+=("$c:$img")
  fi
done
harness_kill retag
docker -H "$E" tag "$app_id" "$APP"
if [ ${#made[@]} -gt 0 ] && [ ${#bad[@]} -eq 0 ]; then
  ok "re-tag race: all ${#made[@]} created containers run the checked image"
else not_ok "re-tag race: created containers run the checked image" "made ${#made[@]}; wrong image: ${bad[*]}"; fi
[ ${#made[@]} -gt 0 ] && docker rm "${made[@]}" >/dev/null 2>&1
a=$("$MOAT" audit --json 2>&1)
if grep -qF "Image \\\"$APP\\\" -> \\\"$app_id" <<<"$a"; then
  ok "moat audit records the Image pin"
else not_ok "moat audit records the Image pin" "$(grep -F -- '-> ' <<<"$a" | tail -3)"; fi
harness_diag "$(grep -hE 'socket mount for a container|socket .* restored' "$MOAT_ROOT"/var/log/moat/*.log 2>/dev/null | sed 's/.*socket mount/socket mount/')"
harness_done
