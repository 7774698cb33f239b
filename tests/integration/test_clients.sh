#!/usr/bin/env bash
# Real clients through the whole stack (issue 4, point 4): moat up (private
# dockerd with moat-runc), moatd's guarded socket as DOCKER_HOST, and the
# real docker CLI, Debian's docker-compose 1.29 and docker-py driving it.
# Prints "ok - NAME" / "not ok - NAME" lines.
. "$(dirname "$0")/../lib/harness.sh"

clients=$HARNESS_TOP/tests/integration/clients
harness_setup
harness_registry
export DOCKER_BUILDKIT=0
W=$HARNESS_DIR/clients
mkdir -p "$W"

case "$DOCKER_HOST" in
  "$MOAT_GUARD_HOST") ;;
  *) not_ok "clients talk to the guarded socket" "DOCKER_HOST=$DOCKER_HOST"; harness_done ;;
esac

# uid_map_private FILE: the first line of a uid_map maps container root to a
# host id other than 0, over 65536 ids (moat-runc's exclusive range).
uid_map_private() {
  awk 'NR == 1 { exit !($1 == 0 && $2 != 0 && $3 == 65536) }' "$1"
}

# ---- docker CLI: streams and TTYs ------------------------------------------

head -c 3000000 /dev/urandom >"$W/stdin.bin"
printf '\0\r\n\377\033[A' >>"$W/stdin.bin"
docker run --rm -i busybox cat <"$W/stdin.bin" >"$W/stdout.bin" 2>"$W/run-i.err"
if cmp -s "$W/stdin.bin" "$W/stdout.bin"; then ok "run -i: piped stdin comes back byte for byte"
else not_ok "run -i: piped stdin comes back byte for byte" "$(cat "$W/run-i.err")" \
  "sent $(wc -c <"$W/stdin.bin") bytes, got $(wc -c <"$W/stdout.bin")"; fi

out=$(script -qec "docker run -it --rm busybox sh -c 'tty; echo tty-ok'" /dev/null </dev/null 2>&1 | tr -d '\r')
case "$out" in
  */dev/pts/*tty-ok*) ok "run -it: the container gets a TTY" ;;
  *) not_ok "run -it: the container gets a TTY" "$out" ;;
esac

# Keystrokes through the TTY: script's stdin goes to the terminal docker -it reads.
out=$( (sleep 2; printf 'typed-in\r'; sleep 1) | script -qec "docker run -it --rm busybox sh -c 'read l; echo got:\$l'" /dev/null 2>&1 | tr -d '\r')
case "$out" in
  *got:typed-in*) ok "run -it: typed input reaches the container through the TTY" ;;
  *) not_ok "run -it: typed input reaches the container through the TTY" "$out" ;;
esac

docker run -d --name ticker busybox sh -c \
  'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done' >/dev/null
out=$(script -qec "docker exec -it ticker sh -c 'tty; echo exec-tty-ok'" /dev/null </dev/null 2>&1 | tr -d '\r')
case "$out" in
  */dev/pts/*exec-tty-ok*) ok "exec -it: the exec gets a TTY" ;;
  *) not_ok "exec -it: the exec gets a TTY" "$out" ;;
esac

docker run -di --name reader busybox sh -c 'read l; echo "got:$l"' >/dev/null
# stdin stays open until the answer is back: dockerd ends a non-StdinOnce
# attach's output as soon as its stdin ends (the raw engine does the same).
out=$( (printf 'hello-attach\n'; sleep 2) | timeout 20 docker attach reader 2>&1)
[ "$out" = got:hello-attach ] && ok "attach: piped stdin in, output back, ends with the container" \
  || not_ok "attach: piped stdin in, output back, ends with the container" "$out"
out=$(timeout 10 docker attach --no-stdin ticker 2>&1 | head -3 | grep -c '^tick')
[ "$out" = 3 ] && ok "attach: live output of a running container" || not_ok "attach: live output of a running container" "$out"

check_output "stats --no-stream" ticker docker stats --no-stream --format '{{.Name}} {{.CPUPerc}}' ticker

check_output "run: the runtime is moat-runc" moat-runc docker inspect -f '{{.HostConfig.Runtime}}' ticker
docker exec ticker cat /proc/self/uid_map >"$W/exec-uid_map" 2>&1
uid_map_private "$W/exec-uid_map" && ok "run: the container has a private uid range" \
  || not_ok "run: the container has a private uid range" "$(cat "$W/exec-uid_map")"

# logs -f: the first line arrives while the container still runs, the rest
# when it is written, and the stream ends when the container exits.
docker run -d --name slowlog busybox sh -c 'echo first; sleep 5; echo second' >/dev/null
docker logs -f slowlog >"$W/logs-f.out" 2>&1 &
logs_pid=$!
for _ in $(seq 30); do [ -s "$W/logs-f.out" ] && break; sleep 0.1; done
sleep 0.2
running=$(docker inspect -f '{{.State.Running}}' slowlog 2>&1)
early=$(cat "$W/logs-f.out")
if [ "$running" = true ] && [ "$early" = first ]; then
  ok "logs -f: output streams while the container runs"
else
  not_ok "logs -f: output streams while the container runs" "running=$running" "so far: $early"
fi
for _ in $(seq 100); do kill -0 "$logs_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$logs_pid" 2>/dev/null; then
  kill "$logs_pid"; wait "$logs_pid" 2>/dev/null
  not_ok "logs -f: stream ends with the container" "still following after 10 s"
else
  wait "$logs_pid" 2>/dev/null
  [ "$(cat "$W/logs-f.out")" = "$(printf 'first\nsecond')" ] && ok "logs -f: stream ends with the container" \
    || not_ok "logs -f: stream ends with the container" "$(cat "$W/logs-f.out")"
fi

# ---- cp both ways -----------------------------------------------------------

mkdir -p "$W/cpdir/sub"
head -c 200000 /dev/urandom >"$W/cpdir/sub/blob"
echo hello >"$W/cpdir/note"
if docker cp "$W/cpdir" ticker:/tmp/in >"$W/cp.err" 2>&1 \
   && [ "$(docker exec ticker md5sum /tmp/in/sub/blob | cut -d' ' -f1)" = "$(md5sum <"$W/cpdir/sub/blob" | cut -d' ' -f1)" ]; then
  ok "cp host -> container (a directory, contents intact)"
else
  not_ok "cp host -> container (a directory, contents intact)" "$(cat "$W/cp.err")"
fi
docker exec ticker sh -c 'head -c 100000 /dev/urandom >/tmp/out.bin' >/dev/null 2>&1
want=$(docker exec ticker md5sum /tmp/out.bin | cut -d' ' -f1)
if docker cp ticker:/tmp/out.bin "$W/out.bin" >"$W/cp.err" 2>&1 \
   && [ "$(md5sum <"$W/out.bin" | cut -d' ' -f1)" = "$want" ]; then
  ok "cp container -> host (contents intact)"
else
  not_ok "cp container -> host (contents intact)" "$(cat "$W/cp.err")"
fi
docker rm -f ticker slowlog reader >/dev/null 2>&1

# ---- classic build: RUN steps go through moat-runc -------------------------

mkdir -p "$W/ctx"
echo payload >"$W/ctx/payload.txt"
cat >"$W/ctx/Dockerfile" <<'EOF'
FROM busybox:latest
COPY payload.txt /payload.txt
RUN cat /proc/self/uid_map >/build-uid_map && cat /payload.txt
EOF
if docker build -q -t clients/built:1 "$W/ctx" >"$W/build.out" 2>&1; then
  ok "build (classic builder, DOCKER_BUILDKIT=0)"
  docker run --rm clients/built:1 cat /build-uid_map >"$W/build-uid_map" 2>&1
  if uid_map_private "$W/build-uid_map"; then
    ok "build: RUN steps run in a private user namespace (moat-runc)"
  else
    not_ok "build: RUN steps run in a private user namespace (moat-runc)" "$(cat "$W/build-uid_map")"
  fi
else
  not_ok "build (classic builder, DOCKER_BUILDKIT=0)" "$(tail -15 "$W/build.out")"
  not_ok "build: RUN steps run in a private user namespace (moat-runc)" "no image"
fi

# ---- push / pull against the harness registry ------------------------------

ref=$REGISTRY/clients/busybox:1
check "tag for the local registry" docker tag busybox:latest "$ref"
check "push to the local docker-registry" docker push "$ref"
check "rmi the pushed tag" docker rmi "$ref"
check "pull from the local docker-registry" docker pull "$ref"
check_output "the pulled image runs" pulled-ok docker run --rm "$ref" echo pulled-ok

# ---- save / load ------------------------------------------------------------

docker tag busybox:latest clients/saved:1 >/dev/null 2>&1
check "save to a file" docker save -o "$W/saved.tar" clients/saved:1
check "rmi the saved image" docker rmi clients/saved:1
check "load from a file" docker load -i "$W/saved.tar"
check_output "the loaded image runs" loaded-ok docker run --rm clients/saved:1 echo loaded-ok
docker tag busybox:latest clients/piped:1 >/dev/null 2>&1
# Both streams at once through the guard: save's output is load's input.
check_output "save | load through a pipe" "Loaded image: clients/piped:1" \
  sh -c 'docker save clients/piped:1 | docker load'

# ---- events -----------------------------------------------------------------

# --since: a create that lands before the subscription is still reported.
docker events --since "$(date +%s)" --filter type=container --filter event=create \
  --format '{{.Actor.Attributes.name}}' >"$W/events.out" 2>&1 &
events_pid=$!
sleep 1
docker create --name clients-evt busybox true >/dev/null 2>&1
for _ in $(seq 50); do grep -qx clients-evt "$W/events.out" && break; sleep 0.1; done
kill "$events_pid" 2>/dev/null; wait "$events_pid" 2>/dev/null
grep -qx clients-evt "$W/events.out" && ok "events: a create shows up in the stream" \
  || not_ok "events: a create shows up in the stream" "$(cat "$W/events.out")"
docker rm clients-evt >/dev/null 2>&1

# ---- host namespaces refused, messages byte for byte -----------------------

# refusal_line CMD...: the message after "Error response from daemon: ".
refusal_line() {
  "$@" 2>&1 | sed -n 's/.*Error response from daemon: //p' | head -1
}
for pair in pid:pid network:network ipc:ipc uts:uts userns:user cgroupns:cgroup; do
  flag=${pair%%:*} ns=${pair#*:}
  want="enhanced container isolation: containers can't share the $ns namespace with the host"
  got=$(refusal_line docker run --rm "--$flag=host" busybox true)
  [ "$got" = "$want" ] && ok "--$flag=host refused with the contract message" \
    || not_ok "--$flag=host refused with the contract message" "got:  $got" "want: $want"
done
# The raw API response too: status 403, JSON body, the message exactly.
body=$(curl -s --unix-socket "$MOAT_ROOT/run/moat/docker.sock" -o - -w '\n%{http_code} %{content_type}' \
  -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"PidMode":"host"}}' \
  http://docker/containers/create 2>&1)
want='{"message":"enhanced container isolation: containers can'"'"'t share the pid namespace with the host"}'
got_msg=$(head -1 <<<"$body")
case "$(tail -1 <<<"$body")" in
  "403 application/json"*) [ "$got_msg" = "$want" ] && ok "API: PidMode=host gets 403 + JSON contract message" \
    || not_ok "API: PidMode=host gets 403 + JSON contract message" "$body" ;;
  *) not_ok "API: PidMode=host gets 403 + JSON contract message" "$body" ;;
esac

n=$("$MOAT" audit --json -n 1000 2>/dev/null | jq -s 'map(select(.rule == "eci.namespace" and .outcome == "refused")) | length' 2>&1)
[ "$n" -ge 7 ] 2>/dev/null && ok "audit: every namespace refusal recorded" \
  || not_ok "audit: every namespace refusal recorded" "$n records" "$("$MOAT" audit -n 10 2>&1)"

# ---- docker-compose (Debian's 1.29) -----------------------------------------

mkdir -p "$W/compose" "$W/compose-bad"
cat >"$W/compose/docker-compose.yml" <<'EOF'
version: "2.4"
services:
  web:
    image: busybox:latest
    pull_policy: never
    command: ["sh", "-c", "echo web-up; httpd -f -p 8080"]
  worker:
    image: busybox:latest
    pull_policy: never
    command: ["sh", "-c", "echo worker-up; cat /proc/self/uid_map; exec sleep 300"]
    depends_on: [web]
EOF
cat >"$W/compose-bad/docker-compose.yml" <<'EOF'
version: "2.4"
services:
  sneaky:
    image: busybox:latest
    pull_policy: never
    pid: host
    command: ["true"]
EOF
compose() { (cd "$W/compose" && timeout 120 docker-compose -p clients "$@"); }
check "compose up -d (two services)" compose up -d
out=$(compose ps 2>&1)
if grep -q 'clients_web_1.*Up' <<<"$out" && grep -q 'clients_worker_1.*Up' <<<"$out"; then
  ok "compose ps: both services up"
else
  not_ok "compose ps: both services up" "$out"
fi
for _ in $(seq 30); do compose logs --no-color 2>/dev/null | grep -q worker-up && break; sleep 0.2; done
out=$(compose logs --no-color 2>&1)
if grep -q 'web-up' <<<"$out" && grep -q 'worker-up' <<<"$out"; then
  ok "compose logs: both services' output"
else
  not_ok "compose logs: both services' output" "$out"
fi
compose logs --no-color worker 2>/dev/null | sed -n 's/^[^|]*| *//p' | grep -E '^ *0 ' | head -1 >"$W/compose-uid_map"
uid_map_private "$W/compose-uid_map" && ok "compose: services run in a private user namespace" \
  || not_ok "compose: services run in a private user namespace" "$(cat "$W/compose-uid_map")"
out=$(docker inspect -f '{{.HostConfig.Runtime}}' clients_web_1 clients_worker_1 2>&1 | sort -u)
[ "$out" = moat-runc ] && ok "compose: services run with moat-runc" || not_ok "compose: services run with moat-runc" "$out"
check "compose down" compose down --timeout 1
out=$(docker ps -a --filter label=com.docker.compose.project=clients -q 2>&1)
[ -z "$out" ] && ok "compose down: no container left" || not_ok "compose down: no container left" "$out"
out=$(cd "$W/compose-bad" && timeout 120 docker-compose -p clientsbad up -d 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -qF "enhanced container isolation: containers can't share the pid namespace with the host" <<<"$out"; then
  ok "compose: pid: host refused with the contract message"
else
  not_ok "compose: pid: host refused with the contract message" "exit $rc" "$out"
fi
(cd "$W/compose-bad" && timeout 60 docker-compose -p clientsbad down >/dev/null 2>&1)

# ---- docker-py (python3-docker) ---------------------------------------------

out=$(timeout 120 /usr/bin/python3 "$clients/dockerpy.py" busybox:latest 2>&1)
rc=$?
n=0
while IFS= read -r line; do
  case "$line" in
    "ok - "*) ok "${line#ok - }"; n=$((n + 1)) ;;
    "not ok - "*) not_ok "${line#not ok - }"; n=$((n + 1)) ;;
    *) echo "# $line" ;;
  esac
done <<<"$out"
[ $rc -eq 0 ] && [ $n -eq 6 ] || not_ok "docker-py script ran all its cases" "exit $rc, $n cases"

harness_done
