#!/usr/bin/env bash
# Other users' volumes, networks and prunes (docs/engine-eci-checks.md,
# "Other users' volumes and networks"): under ECI a docker-group user that
# is not root may prune, inspect, remove, mount or join only the volumes
# and networks it created; the default networks stay open; its prunes
# reach only its own objects; image and build-cache prunes are root's.
# Two real non-root users of the docker group on a real `moat up` stack;
# user B tries each on user A's objects, A's own calls (and compose, as
# A) still work.  Payloads: a marker file the test wrote in A's volume.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_eci_stack
harness_two_users moatxa moatxb
# bapi METHOD PATH [JSON]: curl as user B; the body, then the status
bapi() {
  TUID=$BUID TGID=$BGID as_user curl -s --max-time 20 --unix-socket "$gsock" \
    -X "$1" -H 'Content-Type: application/json' ${3+--data-binary "$3"} \
    -w '\n%{http_code}\n' "http://moat$2" | tr -d '\0'
}
# expect NAME PATTERN OUT
expect() {
  # shellcheck disable=SC2254
  case "$3" in $2) ok "$1" ;; *) not_ok "$1" "$3" ;; esac
}
vtheirs() { expect "$1" "*${E}volume *\" was created by another user; only the user who created it (or root) may use it*" "$2"; }
ntheirs() { expect "$1" "*${E}network *\" was created by another user; only the user who created it (or root) may use it*" "$2"; }
exists() { # NAME KIND OBJ: the object is still there (asked as root)
  local out
  out=$(docker "$2" inspect "$3" 2>&1) && ok "$1" || not_ok "$1" "$out"
}
label_of() { docker "$1" inspect -f '{{index .Labels "com.moat.caller.uid"}}' "$2" 2>&1; }

# ---- user A's objects ----
as_a docker volume create avol >/dev/null 2>&1 || not_ok "setup: A's volume"
out=$(as_a docker run --rm -v avol:/d busybox sh -c 'echo a-vol-secret >/d/s' 2>&1) ||
  not_ok "setup: A writes into its volume" "$out"
as_a docker network create anet >/dev/null 2>&1 || not_ok "setup: A's network"
as_a docker create --name astopped busybox true >/dev/null 2>&1 || not_ok "setup: A's stopped container"
out=$(label_of volume avol)
[ "$out" = "$AUID" ] && ok "A's volume carries A's uid label" || not_ok "A's volume carries A's uid label" "$out"
out=$(label_of network anet)
[ "$out" = "$AUID" ] && ok "A's network carries A's uid label" || not_ok "A's network carries A's uid label" "$out"

# ---- prune ----
as_b docker create --name bstopped busybox true >/dev/null 2>&1 || not_ok "setup: B's stopped container"
as_b docker volume create bvol >/dev/null 2>&1 || not_ok "setup: B's volume"
as_b docker network create bnet >/dev/null 2>&1 || not_ok "setup: B's network"
out=$(as_b docker container prune -f 2>&1) || not_ok "B: container prune runs" "$out"
exists "B's container prune left A's stopped container" container astopped
out=$(docker container inspect bstopped 2>&1) && not_ok "B's container prune removed B's own" "$out" ||
  ok "B's container prune removed B's own"
out=$(as_b docker volume prune -f 2>&1) || not_ok "B: volume prune runs" "$out"
exists "B's volume prune left A's volume" volume avol
out=$(docker volume inspect bvol 2>&1) && not_ok "B's volume prune removed B's own" "$out" ||
  ok "B's volume prune removed B's own"
out=$(as_b docker network prune -f 2>&1) || not_ok "B: network prune runs" "$out"
exists "B's network prune left A's network" network anet
out=$(docker network inspect bnet 2>&1) && not_ok "B's network prune removed B's own" "$out" ||
  ok "B's network prune removed B's own"
# the filter as B gives it: B's own label wins, another uid's is ANDed
out=$(bapi POST "/v1.41/volumes/prune?filters=%7B%22label%22%3A%7B%22com.moat.caller.uid%3D$AUID%22%3Atrue%7D%7D")
exists "B's volume prune naming A's uid left A's volume" volume avol
out=$(bapi POST '/v1.41/containers/prune?filters=%7B%22label%22%3A%5B%22x%3Dy%22%5D%7D')
expect "B: legacy array filters pass" '*200' "$out"
exists "... and leave A's stopped container" container astopped
out=$(bapi POST '/v1.41/networks/prune?filters=notjson')
expect "B: invalid prune filters refused" "*${E}invalid filters*400" "$out"
out=$(as_b docker image prune -af 2>&1)
expect "B: image prune refused" "*${E}docker image prune (and docker system prune) is blocked for users other than root*" "$out"
out=$(bapi POST /v1.41/build/prune)
expect "B: builder prune refused" "*${E}docker builder prune (and docker system prune) is blocked for users other than root*403" "$out"
out=$(as_b docker system prune -af --volumes 2>&1)
expect "B: system prune stops at images" "*${E}docker image prune*" "$out"
exists "B's system prune left A's stopped container" container astopped
exists "B's system prune left A's volume" volume avol
exists "B's system prune left A's network" network anet
docker image inspect busybox >/dev/null 2>&1 && ok "B's system prune left the images" ||
  not_ok "B's system prune left the images"

# ---- volumes ----
vtheirs "B: docker volume inspect A's volume" "$(as_b docker volume inspect avol 2>&1)"
vtheirs "B: docker volume rm A's volume" "$(as_b docker volume rm -f avol 2>&1)"
vtheirs "B: docker volume create A's volume's name" "$(as_b docker volume create avol 2>&1)"
vtheirs "B: docker run -v A's volume" "$(as_b docker run --rm -v avol:/x busybox cat /x/s 2>&1)"
vtheirs "B: docker run -v A's volume, read-only" "$(as_b docker run --rm -v avol:/x:ro busybox cat /x/s 2>&1)"
vtheirs "B: docker run --mount type=volume,src=A's" \
  "$(as_b docker run --rm --mount type=volume,src=avol,dst=/x busybox cat /x/s 2>&1)"
vtheirs "B: mount key and type spelled otherwise" \
  "$(bapi POST /v1.41/containers/create '{"Image":"busybox","Cmd":["true"],"hostconfig":{"mounts":[{"type":"Volume","source":"avol","target":"/x"}]}}')"
vtheirs "B: binds key spelled otherwise" \
  "$(bapi POST /v1.41/containers/create '{"Image":"busybox","Cmd":["true"],"hostconfig":{"binds":["avol:/x"]}}')"
vtheirs "B: volume inspect by a %-encoded name" "$(bapi GET /v1.41/volumes/av%6fl)"
vtheirs "B: volume rm with force" "$(bapi DELETE '/v1.41/volumes/avol?force=1')"
vtheirs "B: --mount with a volume driver and options" \
  "$(bapi POST /v1.41/containers/create '{"Image":"busybox","Cmd":["true"],"HostConfig":{"Mounts":[{"Type":"volume","Source":"avol","Target":"/x","VolumeOptions":{"DriverConfig":{"Name":"local"}}}]}}')"
out=$(bapi POST '/v1.41/volumes/prune?x=1;filters=%7B%7D')
exists "B's volume prune with a ';' query left A's volume" volume avol
docker -H "$MOAT_ENGINE_HOST" volume create rvol >/dev/null 2>&1 || not_ok "setup: root's volume on the engine socket"
vtheirs "B: docker run -v root's unlabelled volume" "$(as_b docker run --rm -v rvol:/x busybox true 2>&1)"
out=$(as_b docker run --rm -v bnew:/x busybox sh -c 'echo b >/x/f' 2>&1) &&
  ok "B: docker run -v a new volume" || not_ok "B: docker run -v a new volume" "$out"
out=$(label_of volume bnew)
[ "$out" = "$BUID" ] && ok "the new volume is B's (made by the guard)" || not_ok "the new volume is B's (made by the guard)" "$out"
out=$(as_b docker run --rm --mount type=volume,src=bnew2,dst=/x busybox true 2>&1) &&
  out=$(label_of volume bnew2) && [ "$out" = "$BUID" ] &&
  ok "B: --mount of a new volume makes it B's" || not_ok "B: --mount of a new volume makes it B's" "$out"
vtheirs "A: docker run -v B's new volume" "$(as_a docker run --rm -v bnew:/x busybox true 2>&1)"
# the guard makes it as POST /volumes/create would: not an extension's
out=$(as_b docker run --rm -v moat-ext-xvol_data:/x busybox true 2>&1)
expect "B: docker run -v moat-ext-*: refused" "*${E}*moat-ext-*" "$out"
out=$(docker volume inspect moat-ext-xvol_data 2>&1) &&
  not_ok "no moat-ext-* volume was made" "$out" || ok "no moat-ext-* volume was made"
out=$(as_b docker run --rm -v /anon busybox true 2>&1) &&
  ok "B: an anonymous volume" || not_ok "B: an anonymous volume" "$out"
out=$(as_b docker volume create --label com.moat.caller.uid="$AUID" bforged 2>&1) &&
  out=$(label_of volume bforged) && [ "$out" = "$BUID" ] &&
  ok "B: a forged owner label is replaced" || not_ok "B: a forged owner label is replaced" "$out"
out=$(as_a docker run --rm -v avol:/x busybox cat /x/s 2>&1)
[ "$out" = a-vol-secret ] && ok "A: its own volume, data intact" || not_ok "A: its own volume, data intact" "$out"
out=$(as_a docker volume inspect -f '{{.Name}}' avol 2>&1)
[ "$out" = avol ] && ok "A: docker volume inspect its own" || not_ok "A: docker volume inspect its own" "$out"
out=$(as_b docker volume ls -q 2>&1)
expect "B: docker volume ls lists every volume" "*avol*" "$out"
out=$(docker run --rm -v avol:/x busybox cat /x/s 2>&1)
[ "$out" = a-vol-secret ] && ok "root: A's volume" || not_ok "root: A's volume" "$out"

# ---- networks ----
ntheirs "B: docker network inspect A's network" "$(as_b docker network inspect anet 2>&1)"
ntheirs "B: docker network rm A's network" "$(as_b docker network rm anet 2>&1)"
as_b docker run -d --name bctr busybox sleep 600 >/dev/null 2>&1 || not_ok "setup: B's container"
ntheirs "B: network connect its own container to A's network" "$(as_b docker network connect anet bctr 2>&1)"
ntheirs "B: network disconnect from A's network" "$(as_b docker network disconnect anet bctr 2>&1)"
ntheirs "B: docker run --network A's network" "$(as_b docker run --rm --network anet busybox true 2>&1)"
anetid=$(docker network inspect -f '{{.Id}}' anet)
ntheirs "B: docker run --network A's network by id" "$(as_b docker run --rm --network "${anetid:0:12}" busybox true 2>&1)"
ntheirs "B: EndpointsConfig naming A's network" \
  "$(bapi POST /v1.41/containers/create '{"Image":"busybox","Cmd":["true"],"networkingconfig":{"endpointsconfig":{"anet":{}}}}')"
ntheirs "B: network connect by the API, A's network by id" \
  "$(bapi POST "/v1.41/networks/$anetid/connect" '{"Container":"bctr"}')"
ntheirs "B: network inspect by a %-encoded name" "$(bapi GET /v1.41/networks/an%65t)"
# the engine joins an endpoint's NetworkID instead of the network its key
# or a connect's path names (daemon getNetworkID)
as_b docker network create bnetx >/dev/null 2>&1 || not_ok "setup: B's network bnetx"
ntheirs "B: create on its own network with A's as NetworkID" \
  "$(bapi POST /v1.41/containers/create '{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"bnetx"},"NetworkingConfig":{"EndpointsConfig":{"bnetx":{"NetworkID":"'"$anetid"'"}}}}')"
ntheirs "B: connect to its own network with A's as NetworkID" \
  "$(bapi POST /v1.41/networks/bnetx/connect '{"Container":"bctr","EndpointConfig":{"NetworkID":"'"$anetid"'"}}')"
out=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' bctr 2>&1)
case "$out" in *anet*) not_ok "B's container is not on A's network" "$out" ;;
  *) ok "B's container is not on A's network" ;; esac
out=$(as_b docker run --rm --network bridge busybox true 2>&1) &&
  ok "B: the default bridge stays open" || not_ok "B: the default bridge stays open" "$out"
out=$(as_b docker network inspect bridge -f '{{.Name}}' 2>&1)
[ "$out" = bridge ] && ok "B: docker network inspect bridge" || not_ok "B: docker network inspect bridge" "$out"
out=$(as_b docker run --rm --network none busybox true 2>&1) &&
  ok "B: --network none" || not_ok "B: --network none" "$out"
out=$(as_b docker network create bnet2 2>&1) && out=$(label_of network bnet2) && [ "$out" = "$BUID" ] &&
  out=$(as_b docker network connect bnet2 bctr 2>&1) && out=$(as_b docker network disconnect bnet2 bctr 2>&1) &&
  out=$(as_b docker network rm bnet2 2>&1) &&
  ok "B: its own network: create, connect, disconnect, rm" ||
  not_ok "B: its own network: create, connect, disconnect, rm" "$out"
out=$(as_a docker run --rm --network anet busybox true 2>&1) &&
  ok "A: docker run --network its own network" || not_ok "A: docker run --network its own network" "$out"
out=$(as_a docker network inspect -f '{{.Name}}' anet 2>&1)
[ "$out" = anet ] && ok "A: docker network inspect its own" || not_ok "A: docker network inspect its own" "$out"
out=$(as_b docker network ls -q 2>&1) && ok "B: docker network ls" || not_ok "B: docker network ls" "$out"
out=$(docker network connect anet bctr 2>&1) && out=$(docker network disconnect anet bctr 2>&1) &&
  ok "root: connect B's container to A's network" || not_ok "root: connect B's container to A's network" "$out"

# ---- compose as a non-root user: its own volumes and networks ----
mkdir -p "$AHOME/proj"
cat >"$AHOME/proj/docker-compose.yml" <<'EOF'
version: "3"
services:
  app:
    image: busybox
    command: sh -c 'echo compose-data >/data/f; sleep 600'
    volumes: ["data:/data"]
    networks: [back]
volumes:
  data: {}
networks:
  back: {}
EOF
chown -R "$AUID:$AGID" "$AHOME/proj"
acompose() { (cd "$AHOME/proj" && as_a timeout 120 docker-compose -p xuser "$@"); }
out=$(acompose up -d 2>&1) && ok "A: compose up with a volume and a network" ||
  not_ok "A: compose up with a volume and a network" "$out"
out=$(label_of volume xuser_data)
[ "$out" = "$AUID" ] && ok "compose's volume is A's" || not_ok "compose's volume is A's" "$out"
out=$(acompose down -v --timeout 1 2>&1) && ok "A: compose down -v" || not_ok "A: compose down -v" "$out"
out=$(docker volume inspect xuser_data 2>&1) && not_ok "compose down -v removed its volume" "$out" ||
  ok "compose down -v removed its volume"

# ---- A removes its own; root its own ----
out=$(as_a docker rm astopped 2>&1) && out=$(as_a docker volume rm avol 2>&1) &&
  out=$(as_a docker network rm anet 2>&1) && ok "A: rm its container, volume, network" ||
  not_ok "A: rm its container, volume, network" "$out"
docker rm -f bctr >/dev/null 2>&1
docker volume rm bnew bnew2 bforged rvol >/dev/null 2>&1
docker network rm bnetx >/dev/null 2>&1
harness_done
