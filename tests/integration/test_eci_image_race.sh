#!/usr/bin/env bash
# The image-name race (docs/engine-eci-checks.md, "Image names of other
# users"): a non-root create of image NAME is checked, then sent to the
# engine by name, so user B re-tagging NAME to B's image between the check
# and the engine's lookup gave user A a container of B's image, with A's
# binds and rights.  The guard re-checks at start: a container whose
# creator (com.moat.caller.uid) is not root, whose Config.Image names an
# image id another non-root user bound to that name, does not start - for
# any caller.  The race is simulated deterministically: root creates, on
# the engine's raw socket, the container the race would leave (Config.Image
# NAME, image B's, labelled as A's).  Two real non-root users of the
# docker group on a real `moat up` stack.  Payload: a marker file in B's
# image, read back with cat.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_eci_stack
harness_two_users moatra moatrb
esock=${MOAT_ENGINE_HOST#unix://}
# raw_create NAME IMAGE OWNER_UID OWNER_GID: what a create A sent through
# the guard leaves when the engine resolved IMAGE after B's re-tag
raw_create() {
  curl -s --max-time 30 --unix-socket "$esock" -X POST \
    -H 'Content-Type: application/json' \
    --data-binary "{\"Image\":\"$2\",\"Cmd\":[\"cat\",\"/marker\"],
      \"Labels\":{\"com.moat.caller.uid\":\"$3\",\"com.moat.caller.gid\":\"$4\"},
      \"HostConfig\":{\"Runtime\":\"moat-runc\",\"Binds\":[\"$W:/shared\"]}}" \
    "http://moat/v1.41/containers/create?name=$1"
}
started() { docker -H "$MOAT_ENGINE_HOST" inspect -f '{{.State.StartedAt}}' "$1" 2>&1; }
never_ran() { # NAME CONTAINER OUT: refused, and the container never ran
  local want="${E}container \"$2\" can't start: its image \"racy:1\" ($bid) was given that name by another user (uid $BUID), not by the container's creator (uid $AUID); create it from the image's id if you trust it, or pull the image again"
  case "$3" in
    *b-code*) not_ok "$1" "ran B's code: $3" ;;
    *"$want"*)
      case "$(started "$2")" in
        0001-01-01T00:00:00Z) ok "$1" ;;
        *) not_ok "$1" "refused, but the container started: $(started "$2")" ;;
      esac ;;
    *) not_ok "$1" "$3" ;;
  esac
}
W=$(mktemp -d /tmp/moat-imgrace-XXXXXX)
HARNESS_EXTRA_CLEANUP="$HARNESS_EXTRA_CLEANUP; rm -rf '$W'"
chown "$AUID:$AGID" "$W" && chmod 0700 "$W" && echo a-secret >"$W/a-file"

rootid=$(docker image inspect -f '{{.Id}}' busybox)
# NAME first points at root's image (A's create is checked and passes)...
docker -H "$MOAT_ENGINE_HOST" tag "$rootid" racy:1 || not_ok "setup: root's racy:1"
out=$(as_a docker create --name acheck racy:1 true 2>&1) &&
  ok "A: create of racy:1 (root's image) passes the create check" ||
  not_ok "A: create of racy:1 (root's image)" "$out"
# ...then B re-tags NAME to B's image, through the guard (recorded)
out=$(as_b docker run --name bsrc busybox sh -c 'echo b-code >/marker' 2>&1) ||
  not_ok "setup: B's container" "$out"
out=$(as_b docker commit bsrc bimg:1 2>&1) || not_ok "setup: B commits" "$out"
bid=$(docker image inspect -f '{{.Id}}' bimg:1)
out=$(as_b docker tag bimg:1 racy:1 2>&1) || not_ok "setup: B re-tags racy:1" "$out"
# ...and the engine resolves NAME for A's create only now
out=$(raw_create araced racy:1 "$AUID" "$AGID")
case "$out" in *'"Id"'*) ;; *) not_ok "setup: the raced container" "$out" ;; esac
img=$(docker -H "$MOAT_ENGINE_HOST" inspect -f '{{.Config.Image}} {{.Image}}' araced 2>&1)
[ "$img" = "racy:1 $bid" ] || not_ok "setup: araced is racy:1 of B's image" "$img"

never_ran "A: docker start of the raced container refused" araced \
  "$(as_a docker start -a araced 2>&1)"
never_ran "A: docker restart of it refused" araced \
  "$(as_a docker restart araced 2>&1)"
# (start is open to every user; -a would attach, which is A's only)
never_ran "B: docker start of A's raced container refused" araced \
  "$(as_b docker start araced 2>&1)"
never_ran "root: docker start of A's raced container refused (A's binds)" araced \
  "$(docker start -a araced 2>&1)"
never_ran "root: docker restart of it refused" araced \
  "$(docker restart araced 2>&1)"
short=$(docker -H "$MOAT_ENGINE_HOST" inspect -f '{{.Id}}' araced | cut -c1-12)
never_ran "A: by a short id, API path /v1.41/.../start" araced \
  "$(as_a curl -s --max-time 30 --unix-socket "${MOAT_GUARD_HOST#unix://}" \
    -X POST "http://moat/v1.41/containers/$short/start" | sed 's/\\"/"/g')"
out=$(as_a docker exec araced cat /marker 2>&1)
case "$out" in
  *"is not running"*) ok "A: docker exec in the never-started container: the engine refuses" ;;
  *) not_ok "A: docker exec in the never-started container" "$out" ;;
esac
out=$(as_b docker commit araced bsnap 2>&1)
case "$out" in
  *"${E}container \"araced\" was created by another user"*) ok "B: docker commit of A's raced container refused" ;;
  *) not_ok "B: docker commit of A's raced container refused" "$out" ;;
esac

# ---- what still starts ----
out=$(as_a docker start -a acheck 2>&1) && ok "A: start of its container of racy:1 made before the re-tag" ||
  not_ok "A: start of its container of racy:1 made before the re-tag" "$out"
out=$(as_a docker create --name aown busybox cat /etc/hostname 2>&1) &&
  out=$(as_a docker start -a aown 2>&1) && ok "A: start of its own busybox container" ||
  not_ok "A: start of its own busybox container" "$out"
out=$(as_a docker tag busybox amine:1 2>&1) && out=$(as_a docker create --name amine amine:1 true 2>&1) &&
  out=$(as_a docker start -a amine 2>&1) && out=$(as_a docker restart amine 2>&1) &&
  ok "A: start and restart of a container of a name A gave" ||
  not_ok "A: start and restart of a container of a name A gave" "$out"
out=$(raw_create abyid "$bid" "$AUID" "$AGID")
out=$(as_a docker start -a abyid 2>&1)
[ "$out" = b-code ] && ok "A: a container of B's image by its id starts (A's explicit choice)" ||
  not_ok "A: a container of B's image by its id starts" "$out"
out=$(raw_create bown racy:1 "$BUID" "$BGID")
out=$(as_b docker start -a bown 2>&1)
[ "$out" = b-code ] && ok "B: its own container of racy:1 (B's name) starts" ||
  not_ok "B: its own container of racy:1 starts" "$out"
out=$(docker create --name rootc racy:1 cat /marker 2>&1) && out=$(docker start -a rootc 2>&1)
[ "$out" = b-code ] && ok "root: its own container of racy:1 starts (root's choice)" ||
  not_ok "root: its own container of racy:1 starts" "$out"
out=$(as_a docker start nosuchctr 2>&1)
case "$out" in
  *"No such container: nosuchctr"*) ok "A: start of no such container: 404, as the engine says it" ;;
  *) not_ok "A: start of no such container" "$out" ;;
esac

# ---- a start's body (API < 1.24: a HostConfig) is still checked, after
# the image ----
aapi() { # PATH BODY [CURL ARGS]: as A; the answer, then the status
  local p=$1 b=$2
  shift 2
  as_a curl -s --max-time 30 --unix-socket "${MOAT_GUARD_HOST#unix://}" \
    -X POST -H 'Content-Type: application/json' "$@" --data-binary "$b" \
    -w '\n%{http_code}\n' "http://moat$p" | sed 's/\\"/"/g'
}
hc="${E}a HostConfig at container start is not accepted; set it at create"
out=$(as_a docker create --name abody busybox true 2>&1) || not_ok "setup: abody" "$out"
out=$(aapi /v1.23/containers/abody/start '{"Binds":["/:/host"]}')
case "$out" in
  *"$hc"*400) ok "A: start with a HostConfig body refused (its image passed)" ;;
  *) not_ok "A: start with a HostConfig body refused" "$out" ;;
esac
out=$(aapi /v1.23/containers/abody/start '{"Binds":["/:/host"]}' -H 'Transfer-Encoding: chunked')
case "$out" in
  *"$hc"*400) ok "A: ... chunked" ;;
  *) not_ok "A: start with a chunked HostConfig body refused" "$out" ;;
esac
[ "$(started abody)" = 0001-01-01T00:00:00Z ] && ok "abody never started" ||
  not_ok "abody never started" "$(started abody)"
out=$(aapi /v1.41/containers/abody/start '{}')
case "$out" in
  *204) ok "A: start with an empty object body passes" ;;
  *) not_ok "A: start with an empty object body passes" "$out" ;;
esac
never_ran "A: the raced container with a body: its image refused first" araced \
  "$(aapi /v1.41/containers/araced/start '{}')"
harness_done
