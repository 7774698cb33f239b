#!/usr/bin/env bash
# Red-team pass over the engine API (session 7): endpoints and spellings a
# docker-group user can reach on the guarded socket that make the engine
# act as host root, through a real `moat up` stack, as a real non-root
# user of the docker group.  Each probe is either a hole this test proves
# closed, or a path checked to be refused for the right reason.
# Payloads are harmless: a secret file the test made in a directory it
# made (root's, mode 0600), read back through the engine.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_eci_stack
harness_docker_user moate

W=$(mktemp -d /tmp/moat-endpoints-XXXXXX)
HARNESS_EXTRA_CLEANUP="$HARNESS_EXTRA_CLEANUP; rm -rf '$W'"
chmod 0755 "$W"
echo root-secret-endpoints >"$W/secret" && chmod 0600 "$W/secret"

# uapi METHOD PATH [JSON]: curl as the test user on the guarded socket;
# prints the body, then the status on a line of its own.
uapi() {
  as_user curl -s --unix-socket "$gsock" -X "$1" \
    -H 'Content-Type: application/json' ${3+--data-binary "$3"} \
    -w '\n%{http_code}\n' "http://moat$2"
}

# ---- hole: the pre-1.24 copy endpoint ------------------------------------
# POST /v1.23/containers/{name}/copy is the deprecated `docker cp` out of
# a container (the engine serves it for API versions below 1.24).  It
# reads through the container's mounts as host root, like GET .../archive,
# which ECI checks; moat did not know the route and forwarded it.  A bind
# volume of a shared directory is mounted by the engine itself (no
# stand-in), so through it the user reads root's 0600 file.
out=$(as_user docker volume create -o type=none -o o=bind -o device="$W" redv 2>&1) &&
  out=$(as_user docker create --name redc -v redv:/v busybox true 2>&1) ||
  not_ok "setup: a bind volume of a shared directory and a container" "$out"
out=$(as_user docker cp redc:/v/secret - 2>&1)
case "$out" in
  *"${E}docker cp to or from container"*) ok "docker cp out of the bind volume is refused (eci.archive)" ;;
  *) not_ok "docker cp out of the bind volume is refused (eci.archive)" "$out" ;;
esac
out=$(uapi POST /v1.23/containers/redc/copy '{"Resource":"/v/secret"}' | tr -d '\0')
case "$out" in
  *root-secret-endpoints*) not_ok "POST /v1.23/containers/{name}/copy reads root's file" "$out" ;;
  *"${E}"*"is not one moat checks"*403) ok "POST /v1.23/containers/{name}/copy is refused" ;;
  *) not_ok "POST /v1.23/containers/{name}/copy is refused" "$out" ;;
esac

# The engine's debug routes (/debug/vars, /debug/pprof/...: its command
# line, memory, goroutine stacks, CPU profiles on demand) are served on
# its socket whatever the method; moat forwarded them too.
out=$(uapi GET /debug/vars)
case "$out" in
  *'"cmdline"'*) not_ok "GET /debug/vars is refused" "$(printf '%s' "$out" | head -c 300)" ;;
  *"${E}docker API endpoint "*"GET /debug/vars"*" is not one moat checks"*403) ok "GET /debug/vars is refused" ;;
  *) not_ok "GET /debug/vars is refused" "$out" ;;
esac
# what stays: the engine's other spelling of `docker network ls`
out=$(uapi GET /v1.41/networks/)
case "$out" in *'"Name":"bridge"'*200) ok "GET /networks/ still lists networks" ;;
  *) not_ok "GET /networks/ still lists networks" "$out" ;; esac

# ---- hole: a top-level VolumeDriver in a create ----------------------------
# The engine's create body embeds a deprecated copy of HostConfig at the
# top level; when HostConfig is given too (moat always sends one), the
# engine still takes the top-level VolumeDriver if HostConfig's is empty
# (runconfig getHostConfig).  A driver name that walks out of the plugin
# directory makes the engine, as root, talk to any socket as a volume
# plugin, which then chooses what it mounts.  The "plugin" here is a
# listener in a directory this test made that only records a contact.
mkdir -p "$W/plug"
python3 - "$W/plug/evil.sock" "$W/plug/contacted" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
while True:
    c, _ = s.accept()
    open(sys.argv[2], "a").write("contacted\n")
    c.close()
PY
harness_track plugin $!
for _ in $(seq 1 50); do [ -S "$W/plug/evil.sock" ] && break; sleep 0.1; done
chmod 0666 "$W/plug/evil.sock"
evil=../../..$W/plug/evil
for key in VolumeDriver volumedriver; do
  out=$(uapi POST /v1.41/containers/create "{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"$key\":\"$evil\",\"HostConfig\":{\"Binds\":[\"evilvol:/x\"]}}")
  case "$out" in
    *"${E}deprecated top-level field "*"is not accepted"*400) ok "create with a top-level $key is refused" ;;
    *) not_ok "create with a top-level $key is refused" "$out" ;;
  esac
done
[ ! -e "$W/plug/contacted" ] && ok "the engine never contacted the fake plugin" ||
  not_ok "the engine never contacted the fake plugin" "$(cat "$W/plug/contacted")"

# ---- checked, not a hole: the host network by its id ------------------------
# The guard refuses NetworkMode "host" by name; the engine also finds
# networks by id.  Named by its id, the host network gives the container
# a namespace of its own with only lo (the engine decides "host" by the
# name; moat-runc refuses a spec without a network namespace anyway).
hostnet=$(docker network inspect -f '{{.Id}}' host 2>/dev/null)
enginens=$(ip netns exec "$HARNESS_NETNS" readlink /proc/self/ns/net)
out=$(as_user docker run --rm --network "$hostnet" busybox sh -c \
  'readlink /proc/self/ns/net; sed 1,2d /proc/net/dev | cut -d: -f1 | tr -d " "' 2>&1)
case "$out" in
  *"host type networking"* | *"${E}"*) ok "NetworkMode = the host network's id: refused" ;;
  "net:"*$'\n'lo)
    [ "${out%%$'\n'*}" != "$enginens" ] &&
      ok "NetworkMode = the host network's id: a network namespace of its own, lo only" ||
      not_ok "NetworkMode = the host network's id: not the host's namespace" "$out"
    ;;
  *) not_ok "NetworkMode = the host network's id: not the host's namespace" "$out" "engine: $enginens" ;;
esac

# ---- hole: another user's container ---------------------------------------
# A container reaches its creator's shared directories with its creator's
# rights (moat-runc).  Another docker-group user who could exec into it,
# or attach to it, would read them with those rights: user A's private
# directory, through A's container, by user B.
AUID=$TUID AGID=$TGID AUSER=$TUSER
harness_docker_user moatf
BUID=$TUID BGID=$TGID
as_a() { TUID=$AUID TGID=$AGID as_user "$@"; }
as_b() { TUID=$BUID TGID=$BGID as_user "$@"; }
mkdir "$W/a-private" && echo a-secret-endpoints >"$W/a-private/secret"
chown -R "$AUID:$AGID" "$W/a-private" && chmod 0700 "$W/a-private" &&
  chmod 0600 "$W/a-private/secret"
acid=$(as_a docker run -d --name actr -v "$W/a-private:/p" busybox sleep 600 2>&1) ||
  not_ok "setup: user A's container" "$acid"
out=$(as_a docker exec actr cat /p/secret 2>&1)
[ "$out" = a-secret-endpoints ] && ok "user A execs into A's own container" ||
  not_ok "user A execs into A's own container" "$out"
out=$(as_b cat "$W/a-private/secret" 2>&1)
case "$out" in *a-secret-endpoints*) not_ok "setup: B cannot read A's file on the host" "$out" ;; esac
out=$(as_b docker exec actr cat /p/secret 2>&1)
case "$out" in
  *a-secret-endpoints*) not_ok "user B cannot exec into A's container" "read A's file: $out" ;;
  *"${E}container \"actr\" was created by another user"*) ok "user B cannot exec into A's container" ;;
  *) not_ok "user B cannot exec into A's container" "$out" ;;
esac
out=$(as_b docker exec "${acid:0:12}" cat /p/secret 2>&1)
case "$out" in
  *"${E}container "*" was created by another user"*) ok "nor by a short id" ;;
  *) not_ok "nor by a short id" "$out" ;;
esac
# (the engine would hijack the connection and stream: bounded by --max-time)
out=$(TUID=$BUID TGID=$BGID as_user curl -s --max-time 5 --unix-socket "$gsock" \
  -X POST -w '\n%{http_code}\n' "http://moat/v1.41/containers/actr/attach?stream=1&stdout=1")
case "$out" in
  *"created by another user"*403) ok "user B cannot attach to A's container" ;;
  *) not_ok "user B cannot attach to A's container" "$out" ;;
esac
out=$(docker exec actr cat /p/secret 2>&1)
[ "$out" = a-secret-endpoints ] && ok "root still execs into A's container" ||
  not_ok "root still execs into A's container" "$out"
# ---- hole: another user's exec, created but not yet started ---------------
# An exec's id shows in its container's inspect (ExecIDs).  The exec
# endpoints took only that id: user B could start (and read the output
# of) an exec user A had created in A's container, or resize or inspect
# it.  They are checked like exec itself: the exec's container's creator.
ex=$(TUID=$AUID TGID=$AGID as_user curl -s --unix-socket "$gsock" -X POST \
  -H 'Content-Type: application/json' \
  --data-binary '{"AttachStdout":true,"AttachStderr":true,"Cmd":["cat","/p/secret"]}' \
  http://moat/v1.41/containers/actr/exec | sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p')
[ ${#ex} -eq 64 ] || not_ok "setup: user A creates an exec" "$ex"
bapi() {
  TUID=$BUID TGID=$BGID as_user curl -s --max-time 5 --unix-socket "$gsock" \
    -X "$1" -H 'Content-Type: application/json' ${3+--data-binary "$3"} \
    -w '\n%{http_code}\n' "http://moat$2" | tr -d '\0'
}
out=$(bapi POST "/v1.41/exec/$ex/start" '{"Detach":false,"Tty":false}')
case "$out" in
  *a-secret-endpoints*) not_ok "user B cannot start A's exec" "read A's file: $out" ;;
  *"${E}container "*" was created by another user"*403) ok "user B cannot start A's exec" ;;
  *) not_ok "user B cannot start A's exec" "$out" ;;
esac
for probe in "POST /v1.41/exec/$ex/resize?h=10&w=10" "GET /v1.41/exec/$ex/json" \
  "GET /exec/$ex/json"; do
  out=$(bapi ${probe%% *} "${probe#* }")
  case "$out" in
    *"${E}container "*" was created by another user"*403) ok "user B: $probe refused" ;;
    *) not_ok "user B: $probe refused" "$out" ;;
  esac
done
out=$(bapi GET "/v1.41/exec/nosuchexec/json")
case "$out" in *404) ok "an exec that does not exist: 404" ;;
  *) not_ok "an exec that does not exist: 404" "$out" ;; esac
out=$(TUID=$AUID TGID=$AGID as_user curl -s --max-time 10 --unix-socket "$gsock" \
  -X POST -H 'Content-Type: application/json' --data-binary '{"Detach":false,"Tty":false}' \
  "http://moat/v1.41/exec/$ex/start" | tr -d '\0')
case "$out" in *a-secret-endpoints*) ok "user A starts A's own exec" ;;
  *) not_ok "user A starts A's own exec" "$out" ;; esac
out=$(TUID=$AUID TGID=$AGID as_user curl -s --unix-socket "$gsock" \
  -w '\n%{http_code}\n' "http://moat/v1.41/exec/$ex/json")
case "$out" in *'"ExitCode":0'*200) ok "user A inspects A's own exec" ;;
  *) not_ok "user A inspects A's own exec" "$out" ;; esac
out=$(as_b docker exec -d actr true 2>&1)
case "$out" in *"created by another user"*) ok "user B still cannot docker exec -d" ;;
  *) not_ok "user B still cannot docker exec -d" "$out" ;; esac
as_a docker rm -f actr >/dev/null 2>&1

# ---- hole: standing in for an extension's compose backend ------------------
# moatd brings an extension's backend up as root with docker-compose, as
# project moat-ext-<name>; compose adopts an existing container that
# carries that project's labels, and an existing network or volume of the
# project's names (<project>_default, <project>_<volume>).  A non-root
# user who made them first would stand in for the backend (or feed it a
# volume).  Ordinary compose projects keep working (test_clients).
labels() { printf '"Labels":{"com.docker.compose.project":"%s","com.docker.compose.service":"backend","com.docker.compose.oneoff":"False"}' "$1"; }
for proj in moat-ext-redext MOAT-Ext-redext; do
  out=$(uapi POST /v1.41/containers/create "{\"Image\":\"busybox\",\"Cmd\":[\"true\"],$(labels $proj)}")
  case "$out" in
    *"${E}"*"com.docker.compose.project"*"moat-ext-"*403) ok "container labelled as compose project $proj: refused" ;;
    *) not_ok "container labelled as compose project $proj: refused" "$out" ;;
  esac
  out=$(uapi POST /v1.41/networks/create "{\"Name\":\"n-$proj\",$(labels $proj)}")
  case "$out" in
    *"${E}"*"moat-ext-"*403) ok "network labelled as compose project $proj: refused" ;;
    *) not_ok "network labelled as compose project $proj: refused" "$out" ;;
  esac
  out=$(uapi POST /v1.41/volumes/create "{\"Name\":\"v-$proj\",$(labels $proj)}")
  case "$out" in
    *"${E}"*"moat-ext-"*403) ok "volume labelled as compose project $proj: refused" ;;
    *) not_ok "volume labelled as compose project $proj: refused" "$out" ;;
  esac
done
out=$(as_user docker network create moat-ext-redext_default 2>&1)
case "$out" in *"${E}"*"moat-ext-"*) ok "network named moat-ext-*: refused" ;;
  *) not_ok "network named moat-ext-*: refused" "$out" ;; esac
out=$(as_user docker volume create moat-ext-redext_data 2>&1)
case "$out" in *"${E}"*"moat-ext-"*) ok "volume named moat-ext-*: refused" ;;
  *) not_ok "volume named moat-ext-*: refused" "$out" ;; esac
# compose 1.x also finds a project by its legacy name (without - and _)
out=$(as_user docker network create moatextredext_default 2>&1)
case "$out" in *"${E}"*"moatext"*) ok "network of the legacy name moatext*: refused" ;;
  *) not_ok "network of the legacy name moatext*: refused" "$out" ;; esac
out=$(as_user docker create --label com.docker.compose.project=moatextredext \
  --label com.docker.compose.version=1.20.0 busybox true 2>&1)
case "$out" in *"${E}"*"moatext"*) ok "container of the legacy project moatext*: refused" ;;
  *) not_ok "container of the legacy project moatext*: refused" "$out" ;; esac
# a container inherits its image's labels: an image committed with the
# project's labels stands in just as well
out=$(as_user docker create --name redbase busybox true 2>&1) &&
  out=$(as_user docker commit --change 'LABEL com.docker.compose.project=moat-ext-redext' \
    --change 'LABEL com.docker.compose.service=backend' \
    --change 'LABEL com.docker.compose.oneoff=False' redbase redext-img 2>&1) ||
  not_ok "setup: an image labelled as project moat-ext-redext" "$out"
HARNESS_EXTRA_CLEANUP="$HARNESS_EXTRA_CLEANUP; docker rmi -f redext-img >/dev/null 2>&1"
out=$(as_user docker create redext-img true 2>&1)
case "$out" in
  *"${E}image \"redext-img\" is labelled com.docker.compose.project=\"moat-ext-redext\""*)
    ok "container of an image labelled as compose project moat-ext-*: refused" ;;
  *) not_ok "container of an image labelled as compose project moat-ext-*: refused" "$out" ;;
esac
as_user docker rm -f redbase >/dev/null 2>&1
out=$(as_user docker ps -a --filter label=com.docker.compose.project=moat-ext-redext -q 2>&1)
[ -z "$out" ] && ok "no container of project moat-ext-redext was made" ||
  not_ok "no container of project moat-ext-redext was made" "$out"
out=$(as_user docker create --label com.docker.compose.project=myproj busybox true 2>&1) &&
  ok "an ordinary compose project label still passes" ||
  not_ok "an ordinary compose project label still passes" "$out"
as_user docker rm -f "$out" >/dev/null 2>&1
out=$(docker create --label com.docker.compose.project=moat-ext-redext busybox true 2>&1) &&
  ok "root (moatd) may label a container moat-ext-*" ||
  not_ok "root (moatd) may label a container moat-ext-*" "$out"
docker rm -f "$out" >/dev/null 2>&1

harness_done
