#!/usr/bin/env bash
# The ddClient exec calls' lifetime and options (docs/extensions.md, "The
# UI"), through the SDK endpoint with curl against a real stack (one
# extension: busybox + the static ext-backend):
#   - vm.cli.exec past its 30 s limit: the process and what it started are
#     killed in the backend container, not left running there;
#   - the streamed form (stream: true) and the cwd/env options of
#     host.cli.exec, docker.cli.exec and vm.cli.exec.
. "$(dirname "$0")/../lib/harness.sh"
harness_init

backend_bin=$MOAT_BUILD/tests/ext-backend
[ -x "$backend_bin" ] || backend_bin=$HARNESS_TOP/build/tests/ext-backend
[ -x "$backend_bin" ] || harness_bail "ext-backend" "build it with make tests"

port=
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 20000))
  ss -Htln "sport = :$p" | grep -q . || { port=$p; break; }
done
[ -n "$port" ] || harness_bail "a free port"
base=http://127.0.0.1:$port
HARNESS_DASHBOARD_PORT=$port harness_up
harness_busybox

dir=$HARNESS_DIR/ctx/ex
mkdir -p "$dir/ui" "$dir/hostbin"
cp "$backend_bin" "$dir/ext-backend"
echo '<!doctype html><title>ex</title><p>ex</p>' >"$dir/ui/index.html"
echo "<svg xmlns='http://www.w3.org/2000/svg'/>" >"$dir/icon.svg"
# a host binary that shows its environment and working directory
printf '#!/bin/sh\necho "pwd $(pwd)"\nenv | sort\n' >"$dir/hostbin/envs"
# one that writes a line a second, forever (a stream left open)
printf '#!/bin/sh\ni=0\nwhile :; do echo "tick $i"; i=$((i+1)); sleep 1; done\n' >"$dir/hostbin/ticks"
chmod 755 "$dir/hostbin/envs" "$dir/hostbin/ticks"
cat >"$dir/metadata.json" <<'EOM'
{"icon": "icon.svg",
 "ui": {"dashboard-tab": {"title": "Ext ex", "root": "/ui", "src": "index.html",
                          "backend": {"socket": "backend.sock"}}},
 "vm": {"image": "${DESKTOP_PLUGIN_IMAGE}", "exposes": {"socket": "backend.sock"}},
 "host": {"binaries": [{"linux": [{"path": "/hostbin/envs"}, {"path": "/hostbin/ticks"}]}]}}
EOM
cat >"$dir/Dockerfile" <<'EOD'
FROM busybox:latest
LABEL org.opencontainers.image.title="ex" \
      org.opencontainers.image.description="test extension ex" \
      org.opencontainers.image.vendor="moat tests" \
      com.docker.desktop.extension.api.version=">= 0.3.0" \
      com.docker.desktop.extension.icon="icon.svg"
COPY metadata.json icon.svg /
COPY hostbin /hostbin
COPY ui /ui
COPY ext-backend /ext-backend
ENTRYPOINT ["/ext-backend", "/run/guest-services/backend.sock", "ex"]
EOD
DOCKER_BUILDKIT=0 docker -H "$MOAT_ENGINE_HOST" build -q -t acme/ex:1 "$dir" >"$HARNESS_DIR/build.log" 2>&1 ||
  harness_bail "build acme/ex:1" "$(tail -5 "$HARNESS_DIR/build.log")"
check_output "install ex" "installed extension ex" "$MOAT" extension install -f acme/ex:1

A=ex.ext.localhost:$port
url=$("$MOAT" dashboard --print-url)
curl -s -o /dev/null -c "$HARNESS_DIR/jar" "$url"
cookie=$(awk '$6 == "moat_session" {print $7}' "$HARNESS_DIR/jar")
t=$(curl -s -X POST -H "Cookie: moat_session=$cookie" -H "Origin: $base" -H 'Content-Type: application/json' \
  -d '{}' "$base/api/extensions/ex/ticket" | jq -r .ticket)
tok=$(curl -s -X POST -H "Host: $A" -H "Origin: http://$A" -H 'Content-Type: application/json' \
  -d "{\"ticket\":\"$t\"}" "$base/.moat/session" | jq -r .token)
[ ${#tok} = 64 ] && ok "a token for ex" || harness_bail "token" "$tok"
call() { # call BODY [CURL ARGS]: status; answer in $HARNESS_DIR/body
  local b=$1
  shift
  curl -s -o "$HARNESS_DIR/body" -w '%{http_code}' -X POST -H "Host: $A" -H "X-Moat-Token: $tok" \
    -H "Origin: http://$A" -H 'Content-Type: application/json' -d "$b" "$@" "$base/.moat/call"
}
jcall() { # jcall NAME BODY JQ: 200 and JQ holds
  local got
  got=$(call "$2")
  [ "$got" = 200 ] && jq -e "$3" "$HARNESS_DIR/body" >/dev/null && ok "$1" ||
    not_ok "$1" "HTTP $got $(head -c 800 "$HARNESS_DIR/body")"
}
cid=$("$MOAT" extension ls --json | jq -r '.[] | select(.name == "ex") | .backend.container')
# in_backend PATTERN: how many processes of the backend container run a
# command line matching PATTERN (asked of the raw engine: docker top)
in_backend() {
  docker -H "$MOAT_ENGINE_HOST" top "$cid" -eo pid,args 2>/dev/null | grep -c -- "$1" || true
}

# ---- vm.cli.exec past its time limit ----
got=$(call '{"call":"vm.cli.exec","command":"sh","args":["-c","sleep 3131 & sleep 3132; echo never"]}')
[ "$got" != 200 ] && ok "vm.cli.exec past 30 s: answered with an error (HTTP $got)" ||
  not_ok "vm.cli.exec past 30 s: answered with an error" "$(head -c 300 "$HARNESS_DIR/body")"
for _ in $(seq 50); do [ "$(in_backend 'sleep 313[12]')" = 0 ] && break; sleep 0.2; done
n=$(in_backend 'sleep 313[12]')
[ "$n" = 0 ] && ok "  the exec and the process it started are gone from the backend" ||
  not_ok "  the exec and the process it started are gone from the backend" "$n left: $(docker -H "$MOAT_ENGINE_HOST" top "$cid" 2>&1)"
n=$(in_backend 'ext-backend')
[ "$n" = 1 ] && ok "  the backend itself still runs" || not_ok "  the backend itself still runs" "$(docker -H "$MOAT_ENGINE_HOST" top "$cid" 2>&1)"
jcall "  and answers the next exec" '{"call":"vm.cli.exec","command":"echo","args":["again"]}' '.stdout == "again\n" and .code == 0'

harness_done
