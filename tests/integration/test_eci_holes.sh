#!/usr/bin/env bash
# Issue 10 holes 1-3 and issue 11 item 1 through the real guard
# (build/tests/guard-run) in front of a private dockerd, driven by the real
# docker CLI and curl: local volume options that name host paths or
# devices, driver and plugin names that walk out of the engine's plugin
# directory, host devices, cgroup placement, masks, and user networks.
# Every reproducer must be refused with an "enhanced container isolation:"
# message before the engine acts on it.  Payloads are harmless: the only
# "plugin" is a listener in a directory this test made, which records
# whether anything connected.  Prints "ok - NAME" / "not ok - NAME".
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

mkdir -p "$share/data" "$share/ok" "$R/plug"
echo marker-from-share >"$share/ok/marker"
harness_engine '{"runtimes": {"moat-runc": {"path": "runc"}}}'
harness_busybox
mkdir -p "$(dirname "$gsock")"

"$guard_bin" --listen "$gsock" --engine "$engine" --share "$share" \
  --protect "$R/data" --protect "$R/exec" --protect "$(dirname "$engine")" \
  --container-cidr 10.213.0.1/24 --container-cidr 10.214.0.0/16 \
  --audit "$R/audit.jsonl" 2>"$R/guard.log" &
guard_pid=$!
harness_track guard "$guard_pid"
for _ in $(seq 1 50); do [ -S "$gsock" ] && break; sleep 0.1; done
export DOCKER_HOST=unix://$gsock
export DOCKER_BUILDKIT=0
raw() { DOCKER_HOST=unix://$engine "$@"; }

# A fake legacy plugin in a directory this test made: it only records a
# connection.  The engine would reach it as /run/docker/plugins/<name>.sock
# with <name> = ../../..$R/plug/evil.
python3 - "$R/plug/evil.sock" "$R/plug/contacted" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
while True:
    c, _ = s.accept()
    open(sys.argv[2], "a").write("contacted\n")
    c.close()
PY
plug_pid=$!
harness_track plugin "$plug_pid"
for _ in $(seq 1 50); do [ -S "$R/plug/evil.sock" ] && break; sleep 0.1; done
evil=../../..$R/plug/evil

# refused NAME WANT CMD...: the command fails and its output has WANT
refused() {
  local name=$1 want=$2 out
  shift 2
  if out=$("$@" 2>&1); then
    not_ok "$name" "accepted: $out"
  else
    case "$out" in
      *"$want"*) ok "$name" ;;
      *) not_ok "$name" "$out" ;;
    esac
  fi
}
api() { # METHOD PATH JSON
  curl -s --unix-socket "$gsock" -X "$1" -H 'Content-Type: application/json' \
    --data-binary "$3" "http://moat/v1.41$2"
}
E='enhanced container isolation: '

# ---- hole 1: local volume options -------------------------------------------
out=$(api POST /volumes/create '{"Name":"h1","DriverOpts":{"type":"none","o":"bind","device":"../.."}}')
case "$out" in
  *"${E}volume device \\\"../..\\\" denied; a bind volume's device must be an absolute, clean host path"*)
    ok "volume create: relative device refused (API reproducer)" ;;
  *) not_ok "volume create: relative device refused (API reproducer)" "$out" ;;
esac
raw docker volume inspect h1 >/dev/null 2>&1 && not_ok "the engine never made volume h1" \
  || ok "the engine never made volume h1"
refused "docker volume create: relative device" "${E}volume device" \
  docker volume create -o type=none -o o=bind -o device=../.. h1b
refused "docker run --mount volume-opt: relative device" "${E}volume device" \
  docker run --rm --mount 'type=volume,dst=/h,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=../..' busybox true
refused "docker volume create: bind device outside the shares" "outside the shared directories" \
  docker volume create -o type=none -o o=bind -o device=/etc h1c
refused "docker volume create: unclean device" "${E}volume device" \
  docker volume create -o type=none -o o=bind -o device="$share/ok/../../.." h1d
mkdir -p "$share/ov/l" "$share/ov/u" "$share/ov/w"
refused "docker volume create: overlay naming host directories" "${E}volume type \"overlay\" denied" \
  docker volume create -o type=overlay -o device=overlay \
  -o o="lowerdir=$share/ov/l:/etc,upperdir=$share/ov/u,workdir=$share/ov/w" h1e
refused "docker run --mount volume-opt: overlay" "${E}volume type \"overlay\" denied" \
  docker run --rm --mount "type=volume,dst=/h,volume-opt=type=overlay,volume-opt=device=overlay,\"volume-opt=o=lowerdir=$share/ov/l:/etc,upperdir=$share/ov/u,workdir=$share/ov/w\"" busybox true
refused "docker volume create: host block device" "${E}volume type \"ext4\" denied" \
  docker volume create -o type=ext4 -o device=/dev/loop0 h1f
refused "docker volume create: remount option" "${E}volume option \"remount\" denied" \
  docker volume create -o type=none -o o=bind,remount -o device="$share/ok" h1g
# what stays possible
if docker volume create -o type=none -o o=bind -o device="$share/ok" okv >/dev/null 2>&1 \
  && out=$(docker run --rm -v okv:/h busybox cat /h/marker 2>&1) && [ "$out" = marker-from-share ]; then
  ok "bind volume of a shared directory works"
else
  not_ok "bind volume of a shared directory works" "$out"
fi
docker volume create -o type=tmpfs -o device=tmpfs -o o=size=1m tmpv >/dev/null 2>&1 \
  && ok "tmpfs volume works" || not_ok "tmpfs volume works"
docker volume rm okv tmpv >/dev/null 2>&1

# ---- hole 3: driver and plugin names ------------------------------------------
refused "volume create -d <path to a plugin socket>" "${E}volume driver \"$evil\" denied; it is not a plugin name" \
  docker volume create -d "$evil" h3a
refused "run --volume-driver <path>" "${E}volume driver" \
  docker run --rm --volume-driver "$evil" -v h3b:/h busybox true
refused "run --mount volume-driver=<path>" "${E}volume driver" \
  docker run --rm --mount "type=volume,src=h3c,dst=/h,volume-driver=$evil" busybox true
refused "network create -d <path>" "${E}network driver" \
  docker network create -d "$evil" h3d
refused "network create --ipam-driver <path>" "${E}IPAM driver" \
  docker network create --ipam-driver "$evil" h3e
refused "run --log-driver <path>" "${E}log driver" \
  docker run --rm --log-driver "$evil" busybox true
[ -e "$R/plug/contacted" ] && not_ok "the fake plugin was never contacted" "$(cat "$R/plug/contacted")" \
  || ok "the fake plugin was never contacted"
refused "volume create -d <plugin not allowed>" "not in the allowed list; if you wish to allow it, add it to enhancedContainerIsolation.allowedDrivers" \
  docker volume create -d someplugin h3f
refused "run --log-driver syslog (host service, outside the net guard)" "${E}log driver \"syslog\" denied" \
  docker run --rm --log-driver syslog busybox true
out=$(docker run --rm --log-driver json-file --log-opt max-size=1m busybox echo logged 2>&1)
[ "$out" = logged ] && ok "run --log-driver json-file works" || not_ok "run --log-driver json-file works" "$out"

# ---- hole 2 and the HostConfig pass -------------------------------------------
refused "run --device host block device" "${E}host device \"/dev/loop0\" can't be given to a container" \
  docker run --rm --device /dev/loop0 busybox true
refused "run --device-cgroup-rule" "${E}device cgroup rules can't be set" \
  docker run --rm --device-cgroup-rule 'b 7:* rwm' busybox true
refused "run --gpus" "${E}device requests (--gpus) can't be set" \
  docker run --rm --gpus all busybox true
if [ -c /dev/fuse ]; then
  out=$(docker run --rm --device /dev/fuse busybox ls /dev/fuse 2>&1)
  [ "$out" = /dev/fuse ] && ok "run --device /dev/fuse works" || not_ok "run --device /dev/fuse works" "$out"
fi
refused "run --cgroup-parent" "${E}a cgroup parent can't be set" \
  docker run --rm --cgroup-parent /elsewhere busybox true
# (the CLI sends it as MaskedPaths/ReadonlyPaths [], older ones as SecurityOpt)
refused "run --security-opt systempaths=unconfined" "systempaths=unconfined); /proc and /sys stay masked" \
  docker run --rm --security-opt systempaths=unconfined busybox true
out=$(api POST /containers/create '{"Image":"busybox","HostConfig":{"MaskedPaths":[],"ReadonlyPaths":[]}}')
case "$out" in *"${E}HostConfig.MaskedPaths can't be set"*) ok "create with MaskedPaths [] refused" ;;
  *) not_ok "create with MaskedPaths [] refused" "$out" ;; esac
out=$(api POST /containers/create '{"Image":"busybox","HostConfig":{"SecurityOpt":["systempaths=unconfined"]}}')
case "$out" in *'security option \"systempaths=unconfined\" denied; /proc and /sys stay masked'*)
  ok "create with SecurityOpt systempaths=unconfined refused" ;;
  *) not_ok "create with SecurityOpt systempaths=unconfined refused" "$out" ;; esac
mkdir -p "$R/ctx"
printf 'FROM busybox\nRUN true\n' >"$R/ctx/Dockerfile"
refused "build --cgroup-parent" "${E}a cgroup parent can't be set" \
  docker build -q --cgroup-parent /elsewhere "$R/ctx"

refused "run --oom-score-adj -500" "${E}a negative OOM score adjustment can't be set" \
  docker run --rm --oom-score-adj -500 busybox true
# URLs the engine would fetch as host root (127.0.0.1:9 in the engine's own
# network namespace: nothing listens, nothing leaves)
refused "import from a URL" "${E}the engine would fetch \"http://127.0.0.1:9/x.tar\" itself" \
  docker import http://127.0.0.1:9/x.tar evil:1
out=$(curl -s --unix-socket "$gsock" -X POST "http://moat/v1.41/build?remote=http%3A%2F%2F127.0.0.1%3A9%2Fctx.tar&t=x")
case "$out" in *"${E}the engine would fetch"*) ok "build with a remote context refused" ;;
  *) not_ok "build with a remote context refused" "$out" ;; esac
echo hi >"$R/ctx/f"
out=$(tar -C "$R/ctx" -c f | docker import - imported:1 2>&1) && ok "import from stdin works" \
  || not_ok "import from stdin works" "$out"

# ---- issue 11 item 1: user networks ------------------------------------------
refused "network create -d macvlan" "${E}network driver \"macvlan\" denied" \
  docker network create -d macvlan -o parent=lo n1
refused "network create -d ipvlan" "${E}network driver \"ipvlan\" denied" \
  docker network create -d ipvlan -o parent=lo n2
refused "network create: subnet outside the pool" "${E}subnet \"192.168.213.0/24\" denied; user networks must lie inside moat's address pool" \
  docker network create --subnet 192.168.213.0/24 n3
refused "network create: host bridge name" "${E}network option \"com.docker.network.bridge.name\" denied" \
  docker network create -o com.docker.network.bridge.name=lo n4
refused "network create --ipv6 outside the pool" "${E}subnet \"fd00:213::/64\" denied" \
  docker network create --ipv6 --subnet fd00:213::/64 n5
if out=$(docker network create --subnet 10.214.77.0/24 n6 2>&1); then
  ok "network create: subnet inside the pool works"
  docker network rm n6 >/dev/null 2>&1
else
  not_ok "network create: subnet inside the pool works" "$out"
fi
if out=$(docker network create n7 2>&1); then
  ok "network create: default bridge network works"
  docker network rm n7 >/dev/null 2>&1
else
  not_ok "network create: default bridge network works" "$out"
fi
made=
for n in n1 n2 n3 n4 n5; do
  raw docker network inspect $n >/dev/null 2>&1 && made="$made $n"
done
[ -z "$made" ] && ok "the engine made no refused network" || not_ok "the engine made no refused network" "$made"
# everyday flags that must keep working
out=$(docker run --rm --privileged busybox true 2>&1)
# (plain runc in this private engine may fail it for its own reasons)
case "$out" in *"$E"*) not_ok "run --privileged passes the guard" "$out" ;;
  *) ok "run --privileged passes the guard" ;; esac
for args in "--cap-add SYS_ADMIN" "--security-opt no-new-privileges" \
  "--tmpfs /t:size=1m" "--sysctl net.ipv4.ip_forward=1" "--add-host h:10.0.0.1" "--shm-size 8m" \
  "--ulimit nofile=1024:1024" "--read-only"; do
  # shellcheck disable=SC2086
  out=$(docker run --rm $args busybox echo fine 2>&1)
  [ "$out" = fine ] && ok "run $args works" || not_ok "run $args works" "$out"
done
grep -q '"rule":"eci.driver","outcome":"refused"' "$R/audit.jsonl" \
  && ok "refusals are audited (eci.driver)" || not_ok "refusals are audited (eci.driver)" "$(tail -3 "$R/audit.jsonl")"

kill "$guard_pid"; wait "$guard_pid"; rc=$?; guard_pid=
[ "$rc" = 0 ] && ok "guard stops on SIGTERM" || not_ok "guard stops on SIGTERM" "rc=$rc" "$(tail -20 "$R/guard.log")"
harness_done
