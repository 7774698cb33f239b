#!/usr/bin/env bash
# Red-team pass, round 3 (session 8): what the engine does as host root
# on a path, a device or a URL a request names, reached through the
# guarded socket by a real non-root user of the docker group, through a
# real `moat up` stack.  Each probe is either a hole this test proves
# closed, or a path checked to be refused (or harmless) for the right
# reason.  Payloads are harmless: directories and files the test made,
# an HTTP server the test started on the engine's own loopback (the
# engine runs in a private netns with only lo, so nothing leaves it).
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_eci_stack
harness_docker_user moatr
R=$HARNESS_DIR

W=$(mktemp -d /tmp/moat-engroot-XXXXXX)
HARNESS_EXTRA_CLEANUP="$HARNESS_EXTRA_CLEANUP; rm -rf '$W'"
chmod 0755 "$W"

# uapi METHOD PATH [BODY [CONTENT-TYPE]]: curl as the test user on the
# guarded socket; prints the body, then the status on a line of its own.
uapi() {
  as_user curl -s --unix-socket "$gsock" -X "$1" \
    -H "Content-Type: ${4:-application/json}" ${3+--data-binary "$3"} \
    -w '\n%{http_code}\n' "http://moat$2"
}

# An HTTP server on the engine's loopback: what the engine would reach if
# it fetched a URL itself.  It logs every request line.
mkdir -p "$R/www" && echo payload >"$R/www/x"
NP=$(nsenter --net="/run/netns/$HARNESS_NETNS" python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
harness_spawn_netns www python3 -u -m http.server --bind 127.0.0.1 --directory "$R/www" "$NP" >/dev/null
for _ in $(seq 50); do
  nsenter --net="/run/netns/$HARNESS_NETNS" curl -sf "http://127.0.0.1:$NP/x" >/dev/null && break
  sleep 0.1
done
U=http://127.0.0.1:$NP
seen() { grep -c '"GET /t-' "$R/www.log" 2>/dev/null; }

# ---- hole: query parameters sent as a form body -----------------------------
# The engine's handlers read their parameters with Go's Request.ParseForm
# / FormValue, which merge a POST or PUT body of type
# application/x-www-form-urlencoded (and, for FormValue, multipart/form-data)
# into the query, the body's values first.  The guard checked the URL's
# query only: `?fromSrc=-` in the URL and `fromSrc=URL` in a form body made
# the engine download the URL itself, as host root, from the host's
# network (here: a server on the engine's own loopback).
before=$(seen)
for ct in application/x-www-form-urlencoded 'Application/X-WWW-Form-Urlencoded; charset=utf-8'; do
  out=$(uapi POST '/v1.41/images/create?fromSrc=-&repo=formimp' "fromSrc=$U/t-form.tar" "$ct")
  case "$out" in
    *"${E}a request body of type "*" can't be sent to the engine"*415) ok "import with fromSrc=URL in a form body ($ct) is refused" ;;
    *) not_ok "import with fromSrc=URL in a form body ($ct) is refused" "$out" ;;
  esac
done
# multipart: a build context that is a valid tar (the Dockerfile scan
# passes) and also, past its first header, a multipart form with
# remote=URL; the engine's FormValue would take the form and fetch the
# context from the URL, never scanned.
python3 - "$R/mp.tar" "$U/t-mp.tar" <<'PY'
import io, sys, tarfile
part = ('\r\n--B\r\nContent-Disposition: form-data; name="remote"\r\n\r\n'
        + sys.argv[2] + '\r\n--B--\r\n').encode()
with tarfile.open(sys.argv[1], 'w', format=tarfile.USTAR_FORMAT) as t:
    for name, data in (('Dockerfile', b'FROM busybox\n'), ('form.txt', part)):
        i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644
        t.addfile(i, io.BytesIO(data))
PY
chmod 0644 "$R/mp.tar"
out=$(as_user curl -s --unix-socket "$gsock" -X POST -H 'Content-Type: multipart/form-data; boundary=B' \
  --data-binary @"$R/mp.tar" -w '\n%{http_code}\n' "http://moat/v1.41/build?t=mp")
case "$out" in
  *"${E}a request body of type "*"multipart/form-data; boundary=B"*" can't be sent to the engine"*415) ok "build with remote=URL in a multipart form body is refused" ;;
  *) not_ok "build with remote=URL in a multipart form body is refused" "$out" ;;
esac
[ "$(seen)" = "$before" ] && ok "the engine fetched nothing from the test's server" ||
  not_ok "the engine fetched nothing from the test's server" "$(grep '"GET /t-' "$R/www.log")"
# what stays: an import from the body, and a form type with no body
printf 'imported\n' >"$R/imp" && tar -C "$R" -cf "$R/imp.tar" imp && chmod 0644 "$R/imp.tar"
out=$(as_user docker import - bodyimp:1 <"$R/imp.tar" 2>&1) &&
  ok "docker import - still works" || not_ok "docker import - still works" "$out"
out=$(uapi POST /v1.41/containers/ckx/stop '' application/x-www-form-urlencoded)
case "$out" in *"No such container"*404) ok "a form type without a body is forwarded" ;;
  *) not_ok "a form type without a body is forwarded" "$out" ;; esac

# ---- hole: docker top's ps arguments -----------------------------------------
# GET /containers/{id}/top?ps_args= runs ps(1) as host root with the
# caller's arguments over every host process, and keeps the lines whose
# PID column is one of the container's processes.  A format with a
# multi-word column before PID (args, with BSD `e` its environment)
# shifts that column, and the engine's error quotes the word it read as
# a pid: any host process's command line and environment, word by word.
# (The engine refuses `x=PID` renames, but only after white space.)
env -i TOPSECRET=root-secret-top sleep 600 &
hostpid=$!
harness_track topsecret "$hostpid"
as_user docker run -d --name topc busybox sleep 600 >/dev/null
for a in "-o args,tty,pid ww e -p $hostpid" "-oetimes=PID,args e -e"; do
  q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$a")
  out=$(uapi GET "/v1.41/containers/topc/top?ps_args=$q")
  case "$out" in
    *TOPSECRET*) not_ok "docker top -- $a: another process's environment is not shown" "$out" ;;
    *"${E}docker top's ps options "*403) ok "docker top -- $a: refused" ;;
    *) not_ok "docker top -- $a: refused" "$out" ;;
  esac
done
# what stays: the usual forms
for a in "" "-ef" "aux" "-o pid,args" "-eo pid,user,args"; do
  q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$a")
  out=$(uapi GET "/v1.41/containers/topc/top?ps_args=$q")
  case "$out" in *'"Processes":[['*"sleep 600"*200) ok "docker top -- '$a' works" ;;
    *) not_ok "docker top -- '$a' works" "$out" ;; esac
done

# ---- hole: block I/O limits name a host path ---------------------------------
# --device-read-bps and the other Blkio*Device fields carry a path the
# engine stat()s as host root at start ("no such device" for a file that
# exists, "no such file or directory" for one that does not): whether a
# file exists in a directory the user cannot search.  The CLI checks the
# form, the API does not.
mkdir -p "$W/v" && chmod 0700 "$W/v" && echo x >"$W/v/exists"
for p in "$W/v/exists" "$W/v/nonexist" /dev/shm/x /dev/fd/3/x; do
  out=$(uapi POST "/v1.41/containers/create" "{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"HostConfig\":{\"BlkioDeviceReadBps\":[{\"Path\":\"$p\",\"Rate\":1024}]}}")
  case "$out" in
    *"${E}block I/O limit device "*"$p"*"denied; it must be a device path under /dev"*403) ok "BlkioDeviceReadBps $p: refused" ;;
    *) not_ok "BlkioDeviceReadBps $p: refused" "$out" ;;
  esac
done
out=$(uapi POST "/v1.41/containers/create" '{"Image":"busybox","Cmd":["true"],"HostConfig":{"BlkioWeightDevice":[{"Path":"/dev/null","Weight":100}]}}')
case "$out" in *'"Id":'*201) ok "BlkioWeightDevice /dev/null passes the guard" ;;
  *) not_ok "BlkioWeightDevice /dev/null passes the guard" "$out" ;; esac

# ---- checked, not a hole: checkpoints name a host directory ----------------
# docker checkpoint create/ls/rm take a host directory (CheckpointDir,
# ?dir=) the engine would mkdir, list and `rm -rf` as root; and start
# ?checkpoint= a path under the container's checkpoint directory.  The
# engine serves them only in experimental mode, which moat's engine
# never runs in (and moat-runc refuses `restore`); a non-root caller is
# refused before that (eci.checkpoint).
mkdir -p "$W/victim/ck" && chmod 0700 "$W/victim"
as_user docker run -d --name ckc busybox sleep 600 >/dev/null
as_user docker create --name ckd busybox true >/dev/null
for req in "DELETE /v1.41/containers/ckc/checkpoints/ck?dir=$W/victim" \
  "GET /v1.41/containers/ckc/checkpoints?dir=$W/newdir" \
  "POST /v1.41/containers/ckc/checkpoints {\"CheckpointID\":\"ck2\",\"CheckpointDir\":\"$W/victim\"}"; do
  set -- $req
  out=$(uapi "$@")
  # a non-root caller meets eci.checkpoint first; the engine would refuse
  # next, as it is not experimental
  case "$out" in *"${E}docker checkpoint is blocked for users other than root"*403) ok "checkpoints: $1 refused (eci.checkpoint)" ;;
    *) not_ok "checkpoints: $1 refused (eci.checkpoint)" "$out" ;; esac
done
[ -d "$W/victim/ck" ] && [ ! -e "$W/newdir" ] && [ ! -e "$W/victim/ck2" ] &&
  ok "checkpoints: no host directory made or removed" ||
  not_ok "checkpoints: no host directory made or removed" "$(ls -la "$W" "$W/victim")"
out=$(uapi POST "/v1.41/containers/ckd/start?checkpoint=../../../../../../../..$W/victim/ck")
case "$out" in *"${E}docker checkpoint is blocked for users other than root"*403) ok "start ?checkpoint= refused (eci.checkpoint)" ;;
  *) not_ok "start ?checkpoint= refused (eci.checkpoint)" "$out" ;; esac

# ---- checked, not a hole: connecting a container to the host network ------
as_user docker create --name hn busybox true >/dev/null
for c in hn ckc; do
  out=$(uapi POST /v1.41/networks/host/connect "{\"Container\":\"$c\"}")
  case "$out" in *"cannot be disconnected from host network or connected to host network"*400)
    ok "network connect host $c: refused by the engine" ;;
    *) not_ok "network connect host $c: refused by the engine" "$out" ;; esac
done

harness_done
