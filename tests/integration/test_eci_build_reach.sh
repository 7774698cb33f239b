#!/usr/bin/env bash
# Red-team pass (session 9): what a classic build reaches that a create
# would not.  The engine creates a build's step containers itself, with
# none of the create checks, and reads images a Dockerfile names beyond
# its FROM lines.  Two real non-root users of the docker group on a real
# `moat up` stack; user B attacks user A.  Payloads: a web page A's
# container serves on its own loopback and on A's network, a marker file
# in an image B built.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_eci_stack
harness_two_users moatba moatbb
# classic builds from a Dockerfile on stdin (no context)
build_a() { (cd / && as_a env DOCKER_BUILDKIT=0 docker build --no-cache "$@" 2>&1); }
build_b() { (cd / && as_b env DOCKER_BUILDKIT=0 docker build --no-cache "$@" 2>&1); }
bnet() { # NAME MODE OUT: B's build with --network MODE refused
  case "$3" in
    *a-secret*) not_ok "$1" "A's page was read: $3" ;;
    *"${E}docker build --network \"$2\" is refused for users other than root: the engine creates build steps itself"*) ok "$1" ;;
    *) not_ok "$1" "$3" ;;
  esac
}

# ---- hole: a build's network mode joins another user's container ---------
# docker build --network container:<name> makes the engine create every
# RUN step's container in that container's network namespace: B's build
# read a page A's container serves on its own 127.0.0.1.  A name joins
# that network (A's containers on it).  A create checks both (host
# namespaces, the owner rule on container:<name>); the engine's own
# creates for a build are not seen by the guard.
out=$(as_a docker run -d --name actr busybox sh -c \
  'mkdir /www && echo a-secret-lo >/www/s && exec httpd -f -p 127.0.0.1:8080 -h /www' 2>&1) ||
  not_ok "setup: A's loopback server" "$out"
as_a docker network create anet >/dev/null 2>&1 || not_ok "setup: A's network"
out=$(as_a docker run -d --name actr2 --network anet busybox sh -c \
  'mkdir /www && echo a-secret-net >/www/s && exec httpd -f -p 8080 -h /www' 2>&1) ||
  not_ok "setup: A's server on A's network" "$out"
acid=$(as_a docker inspect -f '{{.Id}}' actr 2>&1)
sleep 1
df_lo='FROM busybox
RUN wget -qO- http://127.0.0.1:8080/s'
df_net='FROM busybox
RUN wget -qO- http://actr2:8080/s'
bnet "B: docker build --network container:actr is refused" container:actr \
  "$(build_b --network container:actr - <<<"$df_lo")"
bnet "B: docker build --network container:<A's full id> is refused" "container:$acid" \
  "$(build_b --network "container:$acid" - <<<"$df_lo")"
bnet "B: docker build --network anet (A's network) is refused" anet \
  "$(build_b --network anet - <<<"$df_net")"
# the raw API: every occurrence, not only the first
out=$(as_b curl -s --unix-socket "$MOAT_ROOT/run/moat/docker.sock" -X POST \
  -H 'Content-Type: application/x-tar' --data-binary @/dev/null -w '\n%{http_code}\n' \
  "http://moat/v1.41/build?networkmode=default&networkmode=container%3Aactr")
case "$out" in *"${E}docker build --network \\\"container:actr\\\" is refused"*403) ok "B: a second networkmode= is checked too" ;;
  *) not_ok "B: a second networkmode= is checked too" "$out" ;; esac
# a user's own container and network are refused too (no owner check for
# a build); root keeps every mode but host
bnet "A: docker build --network container:actr (its own) is refused" container:actr \
  "$(build_a --network container:actr - <<<"$df_lo")"
out=$(cd / && DOCKER_BUILDKIT=0 docker build --no-cache --network container:actr - <<<"$df_lo" 2>&1)
case "$out" in *a-secret-lo*"Successfully built"*) ok "root: docker build --network container:actr works" ;;
  *) not_ok "root: docker build --network container:actr works" "$out" ;; esac
# what stays for users: the default network, bridge, none
for m in default bridge none; do
  out=$(build_b --network "$m" - <<<'FROM busybox
RUN echo built-ok')
  case "$out" in *built-ok*"Successfully built"*) ok "B: docker build --network $m works" ;;
    *) not_ok "B: docker build --network $m works" "$out" ;; esac
done

# ---- hole: COPY --from=<image> reads an image another user named -------
# A build's FROM images are checked against the names other users bound
# (eci.image-owner); a COPY --from=<image> reads an image just the same
# (the classic builder looks it up by name, pulling it if absent), so B
# could tag its own image as the name A copies tools from, and A's image
# would carry B's files under A's name.
out=$(build_b -t tools:1 - <<<'FROM busybox
RUN echo b-was-here >/bmark') || not_ok "setup: B's image named tools:1" "$out"
bid=$(as_b docker inspect -f '{{.Id}}' tools:1 2>&1)
for df in 'FROM busybox
COPY --from=tools:1 /bmark /bmark' 'FROM busybox AS base
FROM base
COPY --chown=0:0 --from="tools:1" /bmark /bmark'; do
  out=$(build_a -t acopy - <<<"$df")
  case "$out" in
    *"${E}image \"tools:1\" was given that name by another user (uid $BUID)"*) ok "A: COPY --from=tools:1 (B's name) is refused: ${df##*$'\n'}" ;;
    *) not_ok "A: COPY --from=tools:1 (B's name) is refused: ${df##*$'\n'}" "$out" ;;
  esac
done
out=$(as_a docker run --rm --entrypoint cat acopy /bmark 2>&1)
case "$out" in *b-was-here*) not_ok "A's image carries nothing of B's" "$out" ;;
  *) ok "A's image carries nothing of B's" ;; esac
# what stays: by id, the build's own stages, B's own name for B
out=$(build_a -t acopy2 - <<<"FROM busybox
COPY --from=$bid /bmark /bmark")
case "$out" in *"Successfully tagged acopy2"*) ok "A: COPY --from=<B's image id> works" ;;
  *) not_ok "A: COPY --from=<B's image id> works" "$out" ;; esac
out=$(build_a -t acopy3 - <<<'FROM busybox AS st
RUN echo staged >/st
FROM busybox
COPY --from=st /st /st
COPY --from=0 /st /st0')
case "$out" in *"Successfully tagged acopy3"*) ok "A: COPY --from=<stage> works" ;;
  *) not_ok "A: COPY --from=<stage> works" "$out" ;; esac
out=$(build_b -t bcopy - <<<'FROM busybox
COPY --from=tools:1 /bmark /bmark')
case "$out" in *"Successfully tagged bcopy"*) ok "B: COPY --from=tools:1 (its own name) works" ;;
  *) not_ok "B: COPY --from=tools:1 (its own name) works" "$out" ;; esac

# ---- hole: --cache-from=<image> takes another user's layers ---------------
# The classic builder reuses a --cache-from image's layer for a step whose
# command equals the image's history entry (CreatedBy), after the same
# parents.  B made a container whose command is the RUN line A builds,
# copied a file of B's into it and committed it under a name A caches
# from: A's build took B's layer ("Using cache") and A's image carried
# B's file.
printf 'b-trojan\n' >"$HARNESS_DIR/out" && chmod 0644 "$HARNESS_DIR/out"
as_b docker create --name tcache busybox /bin/sh -c 'echo a-legit >/out' >/dev/null 2>&1 &&
  as_b docker cp "$HARNESS_DIR/out" tcache:/out >/dev/null 2>&1 &&
  as_b docker commit tcache cachebase:1 >/dev/null 2>&1 ||
  not_ok "setup: B's cache image cachebase:1"
df_cache='FROM busybox
RUN echo a-legit >/out'
out=$( (cd / && as_a env DOCKER_BUILDKIT=0 docker build --cache-from cachebase:1 -t acache - <<<"$df_cache" 2>&1))
case "$out" in
  *"${E}image \"cachebase:1\" was given that name by another user (uid $BUID)"*) ok "A: --cache-from cachebase:1 (B's name) is refused" ;;
  *) not_ok "A: --cache-from cachebase:1 (B's name) is refused" "$out" ;;
esac
out=$(as_a docker run --rm --entrypoint cat acache /out 2>&1)
case "$out" in *b-trojan*) not_ok "A's cached image carries nothing of B's" "$out" ;;
  *) ok "A's cached image carries nothing of B's" ;; esac
mkdir -p "$HARNESS_DIR/ctx" && printf 'FROM busybox\n' >"$HARNESS_DIR/ctx/Dockerfile" &&
  tar -C "$HARNESS_DIR/ctx" -cf "$HARNESS_DIR/ctx.tar" Dockerfile && chmod 0644 "$HARNESS_DIR/ctx.tar"
out=$(as_b curl -s --unix-socket "$MOAT_ROOT/run/moat/docker.sock" -X POST \
  -H 'Content-Type: application/x-tar' --data-binary @"$HARNESS_DIR/ctx.tar" -w '\n%{http_code}\n' \
  "http://moat/v1.41/build?cachefrom=%5B%5D&cache%66rom=%5B%22acopy3%22%5D")
case "$out" in *"${E}image \\\"acopy3\\\" was given that name by another user (uid $AUID)"*403) ok "B: a second (encoded) cachefrom= is checked too" ;;
  *) not_ok "B: a second (encoded) cachefrom= is checked too" "$out" ;; esac
# what stays: a cache image of one's own, by id, or one that is absent
out=$( (cd / && as_b env DOCKER_BUILDKIT=0 docker build --cache-from cachebase:1 --cache-from nosuch:1 -t bcache - <<<"$df_cache" 2>&1))
case "$out" in *"Using cache"*"Successfully tagged bcache"*) ok "B: --cache-from its own image (and an absent one) works" ;;
  *) not_ok "B: --cache-from its own image (and an absent one) works" "$out" ;; esac
cid=$(as_b docker inspect -f '{{.Id}}' cachebase:1 2>&1)
out=$( (cd / && as_a env DOCKER_BUILDKIT=0 docker build --cache-from "$cid" -t acache2 - <<<"$df_cache" 2>&1))
case "$out" in *"Successfully tagged acache2"*) ok "A: --cache-from <image id> works" ;;
  *) not_ok "A: --cache-from <image id> works" "$out" ;; esac

# ---- hole: a build's steps kept CAP_NET_RAW -------------------------------
# The guard drops NET_RAW from every create that does not ask for it
# (docs/engine-eci-checks.md, "CAP_NET_RAW"), but a classic build's RUN
# steps are the engine's own creates: they kept it (busybox's ping, a raw
# socket, worked), beside other users' containers on the default bridge.
# moat-runc now applies the same default from the engine's hostconfig.
capnr() { # CapEff line on stdin: 1 when CAP_NET_RAW (bit 13) is in it
  local v
  v=$(awk '/^CapEff/ {print $2; exit}')
  [ -n "$v" ] && echo $(((0x$v >> 13) & 1))
}
out=$(build_b - <<<'FROM busybox
RUN grep CapEff /proc/self/status; ping -c 1 -W 2 127.0.0.1 >/dev/null 2>&1; echo "ping-exit-$?"')
case "$(echo "$out" | capnr) $out" in
  "0 "*ping-exit-[1-9]*"Successfully built"*) ok "B: a build step has no CAP_NET_RAW (busybox's raw ping refused)" ;;
  *) not_ok "B: a build step has no CAP_NET_RAW" "$out" ;;
esac
# root's containers on the engine's own socket: the same default
[ "$(d run --rm busybox cat /proc/self/status | capnr)" = 0 ] &&
  ok "root, engine socket: CAP_NET_RAW dropped by default" ||
  not_ok "root, engine socket: CAP_NET_RAW dropped by default"
for f in "--cap-add NET_RAW" "--cap-add cap_net_raw" "--cap-add ALL" --privileged; do
  [ "$(d run --rm $f busybox cat /proc/self/status | capnr)" = 1 ] &&
    ok "root, engine socket: $f keeps CAP_NET_RAW" ||
    not_ok "root, engine socket: $f keeps CAP_NET_RAW"
done

harness_done
