#!/usr/bin/env bash
# Who asks for a container, end to end, with a real non-root user of the
# docker group (made here, removed at teardown):
#  - every create carries com.moat.caller.uid/gid, whatever the client or
#    the image's LABELs say, and the audit says who;
#  - through a container's filtered socket the caller is the one who
#    created that container; nobody else on the host can use that socket
#    (hole 7), the container itself still can;
#  - `docker system prune` is refused there when "system*" is denied
#    (hole 11);
#  - a non-root caller's docker cp into or out of a container with a bind
#    mount is refused (hole 4); without binds it works; root keeps it.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_registry
E=$MOAT_ENGINE_HOST
APP=$REGISTRY/callerapp:1
BLOCKED='is blocked; if you wish to allow it, configure the docker socket command list in the moat admin settings.'
cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true,
   "dockerSocketMount": {
     "imageList": {"images": ["$APP"]},
     "commandList": {"type": "deny", "commands": ["push", "system*"]}}},
 "filesharingDirectories": {"locked": true, "value": ["/tmp"]}}
EOJ
harness_up
harness_busybox
GSOCK=$MOAT_ROOT/run/moat/docker.sock
V="$GSOCK:/var/run/docker.sock"

harness_docker_user moatc
label() { docker inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>&1; }

check "the test user reaches the guarded socket" as_user docker version

# ---- caller labels ----------------------------------------------------
as_user docker create --name c-plain busybox true >/dev/null 2>"$HARNESS_DIR/c.err"
got="$(label c-plain com.moat.caller.uid) $(label c-plain com.moat.caller.gid)"
[ "$got" = "$TUID $TGID" ] && ok "a docker-group user's create is labelled with its uid and gid" ||
  not_ok "a docker-group user's create is labelled with its uid and gid" "want: $TUID $TGID" "got: $got" "$(cat "$HARNESS_DIR/c.err")"
docker create --name c-root busybox true >/dev/null
got="$(label c-root com.moat.caller.uid) $(label c-root com.moat.caller.gid)"
[ "$got" = "0 0" ] && ok "root's create is labelled 0 0" || not_ok "root's create is labelled 0 0" "got: $got"

as_user docker create --name c-forged --label com.moat.caller.uid=0 \
  --label com.moat.caller.gid=0 --label com.moat.image=docker:cli \
  --label com.moat.filtered-socket=/x.sock --label keep=me busybox true >/dev/null
got="$(label c-forged com.moat.caller.uid)|$(label c-forged com.moat.caller.gid)|$(label c-forged com.moat.image)|$(label c-forged com.moat.filtered-socket)|$(label c-forged keep)"
[ "$got" = "$TUID|$TGID|||me" ] && ok "client-supplied com.moat.* labels are overwritten" ||
  not_ok "client-supplied com.moat.* labels are overwritten" "want: $TUID|$TGID|||me" "got: $got"

docker -H "$E" create --name mk-evil busybox true >/dev/null &&
  docker -H "$E" commit --change 'LABEL com.moat.caller.uid=0 com.moat.caller.gid=0 com.moat.image=docker:cli' \
    mk-evil evil-labels:1 >/dev/null && docker -H "$E" rm mk-evil >/dev/null
as_user docker create --name c-evil evil-labels:1 true >/dev/null
got="$(label c-evil com.moat.caller.uid)|$(label c-evil com.moat.caller.gid)|$(label c-evil com.moat.image)"
[ "$got" = "$TUID|$TGID|" ] && ok "an image's LABEL com.moat.caller.uid=0 is overridden" ||
  not_ok "an image's LABEL com.moat.caller.uid=0 is overridden" "want: $TUID|$TGID|" "got: $got"

a=$("$MOAT" audit --json 2>&1)
if jq -e --argjson u "$TUID" '[.. | objects | select(.rule? == "caller" and .caller_uid? == $u and (.detail? // "" | contains("com.moat.caller.uid=\"\($u)\"")))] | length > 0' <<<"$a" >/dev/null 2>&1; then
  ok "the audit records the caller of a create"
else not_ok "the audit records the caller of a create" "$(tail -c 600 <<<"$a")"; fi
docker rm c-plain c-root c-forged c-evil >/dev/null 2>&1

# ---- filtered sockets -------------------------------------------------
docker -H "$E" create --name mk busybox true >/dev/null &&
  docker -H "$E" cp /usr/local/bin/docker mk:/bin/docker &&
  docker -H "$E" commit mk "$APP" >/dev/null &&
  docker -H "$E" rm mk >/dev/null &&
  docker -H "$E" push "$APP" >/dev/null 2>"$HARNESS_DIR/push.err" ||
  harness_bail "build and push $APP" "$(cat "$HARNESS_DIR/push.err")"

check_output "the allowed image still runs docker ps over its filtered socket" "CONTAINER ID" \
  as_user docker run --rm -v "$V" "$APP" docker ps
check_refused "docker push inside is still blocked" "$BLOCKED" \
  as_user docker run --rm -v "$V" "$APP" docker push "$APP"

# the caller through a filtered socket is who created its container
as_user docker run --rm -v "$V" "$APP" docker create --name c-inner busybox true >/dev/null 2>"$HARNESS_DIR/inner.err"
got="$(label c-inner com.moat.caller.uid) $(label c-inner com.moat.caller.gid)"
[ "$got" = "$TUID $TGID" ] && ok "a create through a filtered socket is labelled with its container's creator" ||
  not_ok "a create through a filtered socket is labelled with its container's creator" "want: $TUID $TGID" "got: $got" "$(cat "$HARNESS_DIR/inner.err")"
docker rm c-inner >/dev/null 2>&1
docker run --rm -v "$V" "$APP" docker create --name c-inner-root busybox true >/dev/null 2>&1
got=$(label c-inner-root com.moat.caller.uid)
[ "$got" = 0 ] && ok "... and root's container creates as root" || not_ok "... and root's container creates as root" "got: $got"
docker rm c-inner-root >/dev/null 2>&1

# hole 11: "system*" covers docker system prune (and df), not docker ps
check_refused "docker system prune -f is refused when system* is denied" "containers/prune" \
  docker run --rm -v "$V" "$APP" docker system prune -f
check_refused "... with the contract message" "$BLOCKED" \
  docker run --rm -v "$V" "$APP" docker system prune -f
check_refused "docker system df is refused when system* is denied" "$BLOCKED" \
  docker run --rm -v "$V" "$APP" docker system df
check_refused "docker container prune is refused when system* is denied" "containers/prune" \
  docker run --rm -v "$V" "$APP" docker container prune -f

# hole 7: the socket's path is no secret (/proc/<pid>/mountinfo); only
# the container may use it.
cid=$(as_user docker run -d -v "$V" "$APP" sleep 300 2>&1)
fs=$(label "$cid" com.moat.filtered-socket)
pid=$(docker inspect --format '{{.State.Pid}}' "$cid" 2>/dev/null)
if [ -S "$fs" ] && setpriv --reuid=65534 --regid=65534 --clear-groups grep -qF "$fs" "/proc/$pid/mountinfo" 2>/dev/null; then
  harness_diag "nobody reads the filtered socket's path in /proc/$pid/mountinfo: $fs"
fi
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s --max-time 10 --unix-socket "$fs" http://moat/v1.41/containers/json 2>&1)
if grep -qF "only that container's processes may use it" <<<"$out" && ! grep -q '"Id"' <<<"$out"; then
  ok "nobody on the host connecting to a filtered socket gets a refusal only"
else not_ok "nobody on the host connecting to a filtered socket gets a refusal only" "socket=$fs" "$out"; fi
check_fails "nobody's docker CLI on a filtered socket fails" \
  setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp DOCKER_HOST="unix://$fs" docker ps
check_fails "the docker-group user on the host cannot use a container's filtered socket either" \
  as_user env DOCKER_HOST="unix://$fs" docker run --rm -v /tmp:/h busybox true
check_output "the container itself still uses it (docker exec)" "CONTAINER ID" \
  docker exec "$cid" docker ps
check_output "host root may still use it" "OK" \
  curl -s --max-time 10 --unix-socket "$fs" http://moat/_ping
a=$("$MOAT" audit --json 2>&1)
if grep -q '"socket.peer"' <<<"$a"; then ok "the audit records the refused peer"
else not_ok "the audit records the refused peer" "$(tail -c 400 <<<"$a")"; fi
docker rm -f "$cid" >/dev/null 2>&1

# ---- docker cp (hole 4) ----------------------------------------------
SHARE=$(mktemp -d /tmp/moat-caller-share.XXXXXX)
HARNESS_EXTRA_CLEANUP="$HARNESS_EXTRA_CLEANUP; rm -rf '$SHARE'"
chown "$TUSER:$TUSER" "$SHARE"
echo top-secret >"$SHARE/secret" && chmod 0600 "$SHARE/secret" # root's
mkdir -p "$HARNESS_DIR/tar" && cp /bin/true "$HARNESS_DIR/tar/suid" && chmod 4755 "$HARNESS_DIR/tar/suid"
tar -C "$HARNESS_DIR/tar" --owner=0 --group=0 -cf "$HARNESS_DIR/suid.tar" suid
echo hello >"$HARNESS_DIR/hello" && chmod 0644 "$HARNESS_DIR/hello"

as_user docker create --name cp-bind -v "$SHARE:/data" busybox sleep 300 >/dev/null
as_user docker create --name cp-none busybox sleep 300 >/dev/null
CPMSG="docker cp to or from container \"cp-bind\" is blocked: it mounts the host path \"$SHARE\""
# PUT of the tar itself, as the docker CLI sends it
put() { as_user curl -s --max-time 20 --unix-socket "$GSOCK" -X PUT -H 'Content-Type: application/x-tar' \
  --data-binary @"$HARNESS_DIR/suid.tar" "http://moat/v1.41/containers/cp-bind/archive?path=$1" |
  jq -r .message; }
out=$(put /data 2>&1)
if grep -qF "$CPMSG" <<<"$out"; then
  ok "a non-root user's PUT of a setuid-root tar into a container with a bind is refused"
else not_ok "a non-root user's PUT of a setuid-root tar into a container with a bind is refused" "$out"; fi
out=$(put /tmp 2>&1)
if grep -qF "$CPMSG" <<<"$out"; then
  ok "... also to a path outside the bind (the engine resolves symlinks as root)"
else not_ok "... also to a path outside the bind (the engine resolves symlinks as root)" "$out"; fi
# docker cp - (a tar on stdin) stats the destination first (HEAD, refused
# without a body) and stops there
check_fails "docker cp - of the tar fails too" as_user docker cp - cp-bind:/data <"$HARNESS_DIR/suid.tar"
[ ! -e "$SHARE/suid" ] && ok "... and nothing landed on the host" ||
  not_ok "... and nothing landed on the host" "$(ls -l "$SHARE")"
check_refused "docker cp of a file into a container with a bind says why" \
  "$CPMSG" as_user docker cp "$HARNESS_DIR/tar/suid" cp-bind:/data/suid
[ ! -e "$SHARE/suid" ] || not_ok "a setuid file landed on the host" "$(ls -l "$SHARE")"
out=$(as_user docker cp cp-bind:/data/secret - 2>&1)
if grep -qF "$CPMSG" <<<"$out" && ! grep -q top-secret <<<"$out"; then
  ok "a non-root user's docker cp of another user's 0600 file out of a bind is refused"
else not_ok "a non-root user's docker cp of another user's 0600 file out of a bind is refused" "$out"; fi
grep -qF "copy into the shared directory on the host instead" <<<"$out" &&
  ok "the refusal says what to do instead" || not_ok "the refusal says what to do instead" "$out"
check "a non-root user's docker cp into a container without binds works" \
  as_user docker cp "$HARNESS_DIR/hello" cp-none:/tmp/hello
check_output "... and out of it" "hello" as_user sh -c "docker cp cp-none:/tmp/hello - | tar -xO"
docker create --name cp-rootbind -v "$SHARE:/data" busybox sleep 300 >/dev/null
check "root keeps docker cp into a container of its own with a bind" \
  docker cp "$HARNESS_DIR/hello" cp-rootbind:/data/hello-root
[ -f "$SHARE/hello-root" ] && ok "... and the file is there" || not_ok "... and the file is there" "$(ls -l "$SHARE")"
# a user's bind reaches the engine as moat's stand-in (opened with the
# user's rights when the container starts): root's cp would land there
check_refused "root's docker cp into a user's container with a bind is refused" \
  'its bind mount at "/data" is its creator'"'"'s' docker cp "$HARNESS_DIR/hello" cp-bind:/data/hello-root2
[ -z "$(ls -A "$MOAT_ROOT/run/moat/bind-standin")" ] && ok "moat's stand-in stays empty" ||
  not_ok "moat's stand-in stays empty" "$(ls -la "$MOAT_ROOT/run/moat/bind-standin")"
# through a filtered socket, the caller is the container's creator (non-root)
as_user docker run -d --name cp-app -v "$V" "$APP" sleep 300 >/dev/null
check_refused "docker cp through a non-root user's container's filtered socket is refused on a bind" \
  "$CPMSG" docker exec cp-app docker cp cp-bind:/data/secret -
docker rm -f cp-bind cp-none cp-app >/dev/null 2>&1

# ---- hole 8: an unlocked filesharingDirectories never shares moat's own
# directories (the user may widen it to /, which binds then hold to).
jq '.filesharingDirectories.locked = false' "$MOAT_ROOT/etc/moat/admin-settings.json" \
  >"$MOAT_ROOT/etc/moat/admin-settings.json.tmp" &&
  mv "$MOAT_ROOT/etc/moat/admin-settings.json.tmp" "$MOAT_ROOT/etc/moat/admin-settings.json"
for _ in $(seq 50); do
  [ "$("$MOAT" settings show --json 2>/dev/null | jq -r '.[] | select(.key=="filesharingDirectories") | .locked')" = false ] && break
  sleep 0.2
done
check_refused "settings set refuses moat's run directory as a shared directory" \
  "is moat's own directory (/run/moat) or inside it; it can never be shared" \
  as_user "$MOAT" settings set filesharingDirectories "[\"$MOAT_ROOT/run/moat\"]"
check_refused "... and the engine's data root" "is moat's own directory (/var/lib/moat)" \
  as_user "$MOAT" settings set filesharingDirectories "[\"/tmp\", \"$MOAT_ROOT/var/lib/moat/engine\"]"
check "a user may still share /" as_user "$MOAT" settings set filesharingDirectories '["/"]'
for _ in $(seq 50); do
  [ "$("$MOAT" settings show --json 2>/dev/null | jq -c '.[] | select(.key=="filesharingDirectories") | .value')" = '["/"]' ] && break
  sleep 0.2
done
check_refused "with / shared, a bind of moat's state directory is still refused" \
  "denied; it is outside the shared directories" \
  as_user docker run --rm -v "$MOAT_ROOT/var/lib/moat:/x" busybox true
check_refused "... and of moat's run directory" "denied" \
  as_user docker run --rm -v "$MOAT_ROOT/run/moat/sockets:/x" busybox true
harness_done
