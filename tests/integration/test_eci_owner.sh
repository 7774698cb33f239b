#!/usr/bin/env bash
# Other users' containers (docs/engine-eci-checks.md, "Other users'
# containers"): under ECI a docker-group user that is not root may reach
# only the containers it created, by any endpoint that reads one's data,
# acts on it or joins its namespaces - not only exec and attach.  Two
# real non-root users of the docker group on a real `moat up` stack: user
# B tries every such endpoint on user A's container; A's own and root's
# calls still pass.  Payloads: a marker file the test wrote in A's
# container.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_eci_stack
harness_two_users moatoa moatob
# bapi METHOD PATH [JSON]: curl as user B; the body, then the status
bapi() {
  TUID=$BUID TGID=$BGID as_user curl -s --max-time 10 --unix-socket "$gsock" \
    -X "$1" -H 'Content-Type: application/json' ${3+--data-binary "$3"} \
    -w '\n%{http_code}\n' "http://moat$2" | tr -d '\0'
}
# (the CLI asks some by the full id it inspected; a JSON answer escapes
# the quotes)
theirs() { # NAME OUT: refused as another user's container
  case "$2" in
    *"${E}container "*" was created by another user; only the user who created it (or root) may use it"*)
      ok "$1" ;;
    *) not_ok "$1" "$2" ;;
  esac
}

acid=$(as_a docker run -d --name actr busybox sh -c \
  'echo a-secret-owner >/a-secret; echo a-log-line; exec sleep 600' 2>&1) ||
  not_ok "setup: user A's container" "$acid"
as_a docker network create anet >/dev/null 2>&1 || not_ok "setup: user A's network"
sleep 1

# ---- reading A's data ----
theirs "B: docker logs on A's container" "$(as_b docker logs actr 2>&1)"
theirs "B: docker top" "$(as_b docker top actr 2>&1)"
theirs "B: docker inspect (A's environment)" \
  "$(as_b docker inspect -f '{{json .Config.Env}}' actr 2>&1)"
theirs "B: docker port" "$(as_b docker port actr 2>&1)"
theirs "B: docker diff" "$(as_b docker diff actr 2>&1)"
theirs "B: docker export" "$(as_b docker export actr 2>&1 | head -c 2000 | tr -d '\0')"
theirs "B: docker cp out of A's container (no host mounts)" \
  "$(as_b docker cp actr:/a-secret - 2>&1 | tr -d '\0')"
theirs "B: docker commit" "$(as_b docker commit actr bsnap 2>&1)"
out=$(as_b docker images -q bsnap 2>&1)
[ -z "$out" ] && ok "no image was committed from A's container" ||
  not_ok "no image was committed from A's container" "$out"
# ---- acting on A's container ----
for verb in pause unpause stop kill restart; do
  theirs "B: docker $verb" "$(as_b docker "$verb" actr 2>&1)"
done
theirs "B: docker update" "$(as_b docker update --memory 8m actr 2>&1)"
theirs "B: docker rename" "$(as_b docker rename actr bctr 2>&1)"
theirs "B: docker rm -f" "$(as_b docker rm -f actr 2>&1)"
theirs "B: resize A's TTY" "$(bapi POST '/v1.41/containers/actr/resize?h=5&w=5')"
theirs "B: by a short id" "$(as_b docker stop "${acid:0:12}" 2>&1)"
theirs "B: network connect A's container" \
  "$(as_b docker network connect anet actr 2>&1)"
theirs "B: network disconnect A's container" \
  "$(as_b docker network disconnect bridge actr 2>&1)"
out=$(bapi POST /v1.41/networks/anet/connect '{"container":"actr"}')
theirs "B: network connect, key spelled otherwise" "$out"
# ---- joining or borrowing A's container ----
for opt in --pid --ipc --network; do
  theirs "B: docker run $opt container:actr" \
    "$(as_b docker run --rm "$opt" container:actr busybox cat /proc/1/cmdline 2>&1)"
done
theirs "B: docker run --volumes-from actr" \
  "$(as_b docker run --rm --volumes-from actr busybox true 2>&1)"
theirs "B: docker run --link actr" \
  "$(as_b docker run --rm --link actr:a busybox true 2>&1)"
out=$(bapi POST /v1.41/containers/actr/checkpoints '{"CheckpointID":"c1"}')
case "$out" in
  *"${E}docker checkpoint is blocked for users other than root"*403) ok "B: docker checkpoint refused" ;;
  *) not_ok "B: docker checkpoint refused" "$out" ;;
esac
# Go's ParseForm reads a form body ahead of the query
out=$(TUID=$BUID TGID=$BGID as_user curl -s --unix-socket "$gsock" -X POST \
  -H 'Content-Type: application/x-www-form-urlencoded' --data-binary 'container=actr' \
  -w '\n%{http_code}\n' "http://moat/v1.41/commit?container=$(as_b docker create busybox true)")
case "$out" in
  *"${E}a request body of type "*"application/x-www-form-urlencoded"*" can't be sent to the engine"*415)
    ok "B: commit with container= in a form body refused" ;;
  *) not_ok "B: commit with container= in a form body refused" "$out" ;;
esac
out=$(docker inspect -f '{{.State.Running}} {{.Name}}' actr 2>&1)
[ "$out" = "true /actr" ] && ok "A's container still runs, unrenamed" ||
  not_ok "A's container still runs, unrenamed" "$out"

# ---- A's own and root's ----
out=$(as_a docker inspect -f '{{.Name}}' actr 2>&1)
[ "$out" = /actr ] && ok "A: docker inspect on A's own container" || not_ok "A: docker inspect" "$out"
out=$(as_a docker logs actr 2>&1)
[ "$out" = a-log-line ] && ok "A: docker logs on A's own container" || not_ok "A: docker logs" "$out"
out=$(as_a docker top actr 2>&1) && ok "A: docker top" || not_ok "A: docker top" "$out"
out=$(as_a docker cp actr:/a-secret - 2>&1 | tr -d '\0')
case "$out" in *a-secret-owner*) ok "A: docker cp out of A's container" ;;
  *) not_ok "A: docker cp out of A's container" "$out" ;; esac
out=$(as_a docker network connect anet actr 2>&1) &&
  out=$(as_a docker network disconnect anet actr 2>&1) &&
  ok "A: network connect and disconnect" || not_ok "A: network connect and disconnect" "$out"
out=$(as_a docker run --rm --network container:actr busybox true 2>&1) &&
  ok "A: run --network container:actr" || not_ok "A: run --network container:actr" "$out"
out=$(as_a docker run --rm --volumes-from actr --link actr:a busybox true 2>&1) &&
  ok "A: --volumes-from and --link A's container" || not_ok "A: --volumes-from and --link" "$out"
out=$(as_a docker commit actr asnap 2>&1) && ok "A: docker commit" || not_ok "A: docker commit" "$out"
out=$(docker inspect -f '{{.Name}}' actr 2>&1)
[ "$out" = /actr ] && ok "root: docker inspect on A's container" || not_ok "root: docker inspect" "$out"
out=$(docker logs actr 2>&1)
[ "$out" = a-log-line ] && ok "root: docker logs on A's container" || not_ok "root: docker logs" "$out"
out=$(as_a docker pause actr 2>&1) && out=$(as_a docker unpause actr 2>&1) &&
  out=$(as_a docker rename actr actr2 2>&1) && out=$(as_a docker stop -t 1 actr2 2>&1) &&
  out=$(as_a docker rm actr2 2>&1) && ok "A: pause, unpause, rename, stop, rm" ||
  not_ok "A: pause, unpause, rename, stop, rm" "$out"

# ---- a container without a caller label (root's, on the engine socket) ----
docker -H "$MOAT_ENGINE_HOST" run -d --name rctr busybox sleep 600 >/dev/null 2>&1 ||
  not_ok "setup: root's container on the engine socket"
theirs "B: docker stop on root's unlabelled container" "$(as_b docker stop rctr 2>&1)"
out=$(docker rm -f rctr 2>&1) && ok "root: rm -f its own container" || not_ok "root: rm -f" "$out"
docker rmi asnap >/dev/null 2>&1
harness_done
