#!/usr/bin/env bash
# Engine guard end to end: a private dockerd in its own network namespace,
# the guard (build/tests/guard-run) in front of it, and the real docker CLI
# driven through the guard's socket.  Prints "ok - NAME" / "not ok - NAME".
. "$(dirname "$0")/../lib/harness.sh"
top=$HARNESS_TOP
build=$MOAT_BUILD
guard_bin=$build/tests/guard-run
[ -x "$guard_bin" ] || guard_bin=$top/build/tests/guard-run

harness_init
R=$HARNESS_DIR
engine=${MOAT_ENGINE_HOST#unix://}
share=$R/share
gsock=$R/run/moat/docker.sock

mkdir -p "$share"
harness_engine '{"runtimes": {"moat-runc": {"path": "runc"}}}'
harness_busybox
mkdir -p "$(dirname "$gsock")"

ulimit -n "$(ulimit -Hn)" 2>/dev/null
fsock=$R/run/moat/filtered.sock
"$guard_bin" --listen "$gsock" --engine "$engine" --share "$share" --share /tmp/moat-guard-none \
  --deny push --deny 'network*' --filtered "$fsock" \
  --protect "$R/data" --protect "$R/exec" --protect "$(dirname "$engine")" \
  --audit "$R/audit.jsonl" --head-timeout 2000 2>"$R/guard.log" &
guard_pid=$!
harness_track guard "$guard_pid"
for _ in $(seq 1 50); do [ -S "$gsock" ] && break; sleep 0.1; done
export DOCKER_HOST=unix://$gsock
export DOCKER_BUILDKIT=0

# ---- real docker CLI through the guard -------------------------------------
check "ps" docker ps
out=$(docker run --rm busybox echo hello 2>&1)
[ "$out" = hello ] && ok "run" || not_ok "run" "$out"
out=$(printf 'line1\nline2\n' | docker run --rm -i busybox sh -c 'cat; echo eof-seen' 2>&1)
[ "$out" = "$(printf 'line1\nline2\neof-seen')" ] && ok "run -i with piped stdin (half-close)" \
  || not_ok "run -i with piped stdin (half-close)" "$out"

head -c 50000000 /dev/urandom >"$R/big.bin"
want=$(md5sum <"$R/big.bin" | cut -d' ' -f1)
out=$(docker run --rm -i busybox md5sum <"$R/big.bin" 2>&1 | cut -d' ' -f1)
[ "$out" = "$want" ] && ok "run -i: 50 MB of stdin intact (spliced hijack)" || not_ok "run -i: 50 MB of stdin intact (spliced hijack)" "$out"
out=$(docker run --rm busybox sh -c 'head -c 50000000 /dev/zero' | wc -c)
[ "$out" = 50000000 ] && ok "run: 50 MB of stdout intact" || not_ok "run: 50 MB of stdout intact" "$out"
rm -f "$R/big.bin"

docker run -d --name ticker busybox sh -c 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done' >/dev/null
out=$(docker exec ticker echo exec-ok 2>&1)
[ "$out" = exec-ok ] && ok "exec" || not_ok "exec" "$out"
out=$(echo piped | docker exec -i ticker sh -c 'cat; echo done' 2>&1)
[ "$out" = "$(printf 'piped\ndone')" ] && ok "exec -i" || not_ok "exec -i" "$out"
out=$(timeout 10 docker logs -f ticker 2>&1 | head -3 | tr '\n' ' ')
[ "$out" = "tick0 tick1 tick2 " ] && ok "logs -f" || not_ok "logs -f" "$out"
out=$(timeout 10 docker attach --no-stdin ticker 2>&1 | head -2 | grep -c '^tick')
[ "$out" = 2 ] && ok "attach" || not_ok "attach" "$out"
out=$(script -qec "docker exec -it ticker sh -c 'tty; echo tty-ok'" /dev/null </dev/null 2>&1 | tr -d '\r')
case "$out" in *tty-ok*) ok "exec -it" ;; *) not_ok "exec -it" "$out" ;; esac

check "stats --no-stream" docker stats --no-stream ticker
check "top" docker top ticker
check "pause / unpause" sh -c 'docker pause ticker && docker unpause ticker'
check "info / system df / version" sh -c 'docker info >/dev/null && docker system df >/dev/null && docker version >/dev/null'
check "network create / ls / inspect / rm" sh -c 'docker network create gnet >/dev/null && docker network ls >/dev/null && docker network inspect gnet >/dev/null && docker network rm gnet >/dev/null'
check "volume create / ls / rm (named)" sh -c 'docker volume create gvol >/dev/null && docker volume ls >/dev/null && docker volume rm gvol >/dev/null'
check "image tag / ls / history / rmi" sh -c 'docker tag busybox gbb:1 && docker images >/dev/null && docker history gbb:1 >/dev/null && docker rmi gbb:1 >/dev/null'
check "rename / restart / wait" sh -c 'docker run -d --name w1 busybox sleep 1 >/dev/null && docker rename w1 w2 && docker restart -t 1 w2 >/dev/null && docker wait w2 >/dev/null && docker rm w2 >/dev/null'

echo "copy me" >"$share/in.txt"
if docker cp "$share/in.txt" ticker:/tmp/in.txt && docker cp ticker:/tmp/in.txt "$share/out.txt" \
   && cmp -s "$share/in.txt" "$share/out.txt"; then ok "cp both ways"; else not_ok "cp both ways"; fi

mkdir -p "$R/ctx"
printf 'FROM busybox\nCOPY blob /blob\nRUN echo built >/built\nCMD cat /built\n' >"$R/ctx/Dockerfile"
head -c 30000000 /dev/urandom >"$R/ctx/blob"
if out=$(docker build -q -t built:1 "$R/ctx" 2>&1) && [ "$(docker run --rm built:1)" = built ]; then
  ok "build (classic builder, 30 MB context)"
else not_ok "build (classic builder, 30 MB context)" "$out"; fi
for u in "/v1.41/build?version=2" /v1.41/session /grpc "/build?networkmode=host" /v1.41/swarm/init /plugins/pull; do
  out=$(timeout 20 python3 "$top/tests/integration/lib/rawhttp.py" "$gsock" "expect403:$u" 2>&1)
  case "$out" in PASS*) ok "refused under ECI: POST $u" ;; *) not_ok "refused under ECI: POST $u" "$out" ;; esac
done

if docker save built:1 -o "$R/built.tar" && docker rmi built:1 >/dev/null \
   && docker load -i "$R/built.tar" >/dev/null && [ "$(docker run --rm built:1)" = built ]; then
  ok "save / load"
else not_ok "save / load"; fi

timeout 6 docker events --filter type=container >"$R/events.txt" 2>&1 &
ev=$!
sleep 1; docker run --rm busybox true; wait "$ev"
grep -q ' start ' "$R/events.txt" && ok "events" || not_ok "events" "$(cat "$R/events.txt")"

out=$(docker inspect --format '{{.HostConfig.Runtime}}' ticker)
[ "$out" = moat-runc ] && ok "runtime forced to moat-runc" || not_ok "runtime forced to moat-runc" "$out"
docker create --name rt --runtime=runc busybox true >/dev/null
out=$(docker inspect --format '{{.HostConfig.Runtime}}' rt)
[ "$out" = moat-runc ] && ok "--runtime=runc rewritten" || not_ok "--runtime=runc rewritten" "$out"
grep -q '"rule":"eci.runtime","outcome":"rewritten"' "$R/audit.jsonl" && ok "rewrite audited" \
  || not_ok "rewrite audited" "$(tail -3 "$R/audit.jsonl")"

refused() { # name, expected message, docker args...
  local name=$1 want="Error response from daemon: $2"; shift 2
  local out
  if out=$(docker "$@" 2>&1); then not_ok "$name" "command succeeded: $out"; return; fi
  if printf '%s\n' "$out" | grep -qxF "docker: $want" || printf '%s\n' "$out" | grep -qxF "$want"; then
    ok "$name"
  else not_ok "$name" "$out"; fi
}
ns_msg() { echo "enhanced container isolation: containers can't share the $1 namespace with the host"; }
sock_msg='enhanced container isolation: docker socket mount denied for container with image "busybox"; image is not in the allowed list; if you wish to allow it, configure the docker socket image list in the moat admin settings.'
bind_msg() { echo "enhanced container isolation: bind mount of \"$1\" denied; it is outside the shared directories"; }
refused "--pid=host refused" "$(ns_msg pid)" run --rm --pid=host busybox true
refused "--network=host refused" "$(ns_msg network)" run --rm --network=host busybox true
refused "--ipc=host refused" "$(ns_msg ipc)" run --rm --ipc=host busybox true
refused "--uts=host refused" "$(ns_msg uts)" run --rm --uts=host busybox true
refused "--userns=host refused" "$(ns_msg user)" run --rm --userns=host busybox true
refused "--cgroupns=host refused" "$(ns_msg cgroup)" run --rm --cgroupns=host busybox true
refused "-v /:/host refused" "$sock_msg" run --rm -v /:/host busybox true
refused "-v /run:/x refused" "$sock_msg" run --rm -v /run:/x busybox true
refused "-v /var/run:/x refused" "$sock_msg" run --rm -v /var/run:/x busybox true
refused "engine socket bind refused" "$sock_msg" run --rm -v "$engine:/s" busybox true
refused "--mount type=bind /etc refused" "$(bind_msg /etc)" run --rm --mount type=bind,src=/etc,dst=/x busybox true
refused "data root never mountable" "$(bind_msg "$R/data")" run --rm -v "$R/data:/x" busybox true
ln -s /etc "$share/etc-link"
refused "symlink out of the share refused" "$(bind_msg "$share/etc-link")" run --rm -v "$share/etc-link:/x" busybox true
refused "dotdot out of the share refused" "$(bind_msg "$share/../data")" run --rm -v "$share/../data:/x" busybox true
refused "bind-style volume refused" "$(bind_msg /etc)" volume create -o type=none -o o=bind -o device=/etc v1
out=$(docker run --rm -v "$share:/x" busybox cat /x/in.txt 2>&1)
[ "$out" = "copy me" ] && ok "bind inside the share allowed" || not_ok "bind inside the share allowed" "$out"
grep -q '"rule":"eci.namespace","outcome":"refused"' "$R/audit.jsonl" && ok "refusal audited" \
  || not_ok "refusal audited" "$(tail -3 "$R/audit.jsonl")"

# ---- raw protocol probes ---------------------------------------------------
for c in ping-head keepalive malformed bigheader h2 slowloris bigbody chunked-create fold-key pct-path; do
  out=$(timeout 30 python3 "$top/tests/integration/lib/rawhttp.py" "$gsock" "$c" 2>&1)
  case "$out" in PASS*) ok "raw: $c" ;; *) not_ok "raw: $c" "$out" ;; esac
done

for c in raw200-exec upgrade-exec; do
  out=$(timeout 30 python3 "$top/tests/integration/lib/rawhttp.py" "$gsock" "$c:ticker" 2>&1)
  case "$out" in PASS*) ok "raw: $c (stdin with the request, half-close, output to EOF)" ;;
    *) not_ok "raw: $c" "$out" ;; esac
done
out=$(timeout 60 python3 "$top/tests/integration/lib/dockerpy_check.py" "$gsock" 2>&1)
case "$out" in PASS*) ok "docker-py: run, refusal message, attach socket with half-close" ;;
  *) not_ok "docker-py: run, refusal message, attach socket with half-close" "$out" ;; esac
rss0=$(awk '/VmRSS/ {print $2}' /proc/$guard_pid/status)
out=$(timeout 120 python3 "$top/tests/integration/lib/rawhttp.py" "$gsock" stress:ticker 2>&1)
rss1=$(awk '/VmRSS/ {print $2}' /proc/$guard_pid/status)
case "$out" in PASS*) ok "1000 idle connections + 100 logs -f streams ($out; guard RSS ${rss0} -> ${rss1} kB)" ;;
  *) not_ok "1000 idle connections + 100 logs -f streams" "$out" ;; esac

# ---- command list on a filtered socket --------------------------------------
# (the guard serves $fsock from the same loop, with the command list)
DOCKER_HOST=unix://$fsock docker ps >/dev/null 2>&1 && ok "filtered socket: ps allowed" || not_ok "filtered socket: ps allowed"
out=$(DOCKER_HOST=unix://$fsock docker push busybox 2>&1)
want='Error response from daemon: enhanced container isolation: docker command "/v1.41/images/docker.io/library/busybox/push?tag=latest" is blocked; if you wish to allow it, configure the docker socket command list in the moat admin settings.'
printf '%s\n' "$out" | grep -qxF "$want" && ok "filtered socket: push blocked with the exact message" \
  || not_ok "filtered socket: push blocked with the exact message" "$out"
out=$(DOCKER_HOST=unix://$fsock docker network ls 2>&1)
case "$out" in *'docker command "/v1.41/networks'*'is blocked'*) ok "filtered socket: network* group blocked" ;;
  *) not_ok "filtered socket: network* group blocked" "$out" ;; esac
out=$(timeout 20 python3 "$top/tests/integration/lib/rawhttp.py" "$fsock" "blocked:/v1.41/images/a%20b/push?tag=x&y=%22" 2>&1)
case "$out" in PASS*) ok "raw: blocked message quotes the URI as received, keep-alive survives" ;;
  *) not_ok "raw: blocked message quotes the URI as received, keep-alive survives" "$out" ;; esac
DOCKER_HOST=unix://$gsock docker network ls >/dev/null 2>&1 && ok "main socket: no command list" \
  || not_ok "main socket: no command list"

docker rm -f ticker rt >/dev/null 2>&1
# the guard must exit cleanly on SIGTERM (sanitizer builds report leaks here)
kill "$guard_pid"; wait "$guard_pid"; rc=$?; guard_pid=
[ "$rc" = 0 ] && ok "guard stops on SIGTERM" || not_ok "guard stops on SIGTERM" "rc=$rc" "$(tail -20 "$R/guard.log")"
harness_done
