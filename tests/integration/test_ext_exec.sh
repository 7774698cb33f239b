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

harness_free_port
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
# one whose output is not UTF-8, cut in the middle of a sequence
printf '#!/bin/sh\nprintf "a\\377b\\342\\202"; sleep 0.3; printf "\\254c\\n"\n' >"$dir/hostbin/bytes"
chmod 755 "$dir/hostbin/envs" "$dir/hostbin/ticks" "$dir/hostbin/bytes"
cat >"$dir/metadata.json" <<'EOM'
{"icon": "icon.svg",
 "ui": {"dashboard-tab": {"title": "Ext ex", "root": "/ui", "src": "index.html",
                          "backend": {"socket": "backend.sock"}}},
 "vm": {"image": "${DESKTOP_PLUGIN_IMAGE}", "exposes": {"socket": "backend.sock"}},
 "host": {"binaries": [{"linux": [{"path": "/hostbin/envs"}, {"path": "/hostbin/ticks"},
                                  {"path": "/hostbin/bytes"}]}]}}
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

# ---- options: cwd and env ----
home=$MOAT_ROOT/var/lib/moat-extension-home/ex/0
jcall "host.cli.exec without options: its home" '{"call":"host.cli.exec","command":"envs"}' \
  "(.stdout | test(\"pwd $home\\n\")) and .code == 0"
mkdir -p "$home/sub" "$home/sub2"
ln -s /etc "$home/etclink"
jcall "host.cli.exec options.cwd (relative to its home) and options.env (allowed names kept)" \
  '{"call":"host.cli.exec","command":"envs","options":{"cwd":"sub","env":{"LANG":"C.UTF-8","TZ":"UTC"}}}' \
  "(.stdout | test(\"pwd $home/sub\\n\")) and (.stdout | test(\"\\nLANG=C.UTF-8\\n\")) and (.stdout | test(\"\\nTZ=UTC\\n\"))"
jcall "  an absolute cwd inside its home" \
  "{\"call\":\"host.cli.exec\",\"command\":\"envs\",\"options\":{\"cwd\":\"$home/sub2\"}}" \
  "(.stdout | test(\"pwd $home/sub2\\n\"))"
jcall "  a hostile env (LD_PRELOAD, PATH, LD_LIBRARY_PATH, DOCKER_HOST) is dropped" \
  '{"call":"host.cli.exec","command":"envs","options":{"env":{"LD_PRELOAD":"/tmp/evil.so","PATH":"/tmp/evil","LD_LIBRARY_PATH":"/tmp","DOCKER_HOST":"tcp://1.2.3.4:2375","LANG":"C"}}}' \
  '(.stdout | test("LD_PRELOAD|LD_LIBRARY_PATH|DOCKER_HOST|evil") | not) and (.stdout | test("\nPATH=/usr/local/bin:/usr/bin:/bin\n")) and (.stdout | test("\nLANG=C\n"))'
for c in '../..' '/etc' 'etclink' 'sub/../../..' 'nosuch'; do
  got=$(call "{\"call\":\"host.cli.exec\",\"command\":\"envs\",\"options\":{\"cwd\":\"$c\"}}")
  case $got in 4??) ok "  cwd $c refused ($got)" ;; *) not_ok "  cwd $c refused" "HTTP $got $(head -c 300 "$HARNESS_DIR/body")" ;; esac
done
got=$(call '{"call":"host.cli.exec","command":"envs","options":{"env":{"A=B":"x"}}}')
[ "$got" = 400 ] && ok "  an env name with = refused" || not_ok "  an env name with = refused" "HTTP $got"
got=$(call '{"call":"host.cli.exec","command":"envs","options":{"user":"root"}}')
[ "$got" = 400 ] && ok "  an unknown option refused" || not_ok "  an unknown option refused" "HTTP $got"
got=$(call '{"call":"docker.cli.exec","command":"version","options":{"cwd":"/root"}}')
case $got in 4??) ok "docker.cli.exec cwd outside its home refused" ;; *) not_ok "docker.cli.exec cwd outside its home refused" "HTTP $got" ;; esac
jcall "vm.cli.exec options.cwd (WorkingDir) and allowed env only" \
  '{"call":"vm.cli.exec","command":"sh","args":["-c","pwd; env"],"options":{"cwd":"/tmp","env":{"LANG":"C","LD_PRELOAD":"/x.so","PATH":"/evil"}}}' \
  '(.stdout | startswith("/tmp\n")) and (.stdout | test("\nLANG=C\n")) and (.stdout | test("LD_PRELOAD|/evil") | not)'
got=$(call '{"call":"vm.cli.exec","command":"pwd","options":{"cwd":"tmp"}}')
[ "$got" = 400 ] && ok "  a relative cwd refused" || not_ok "  a relative cwd refused" "HTTP $got"

# ---- streamed ----
# stream BODY: the frames of a streamed call (curl ends with the run)
stream() {
  curl -s -N -m 60 -X POST -H "Host: $A" -H "X-Moat-Token: $tok" -H "Origin: http://$A" \
    -H 'Content-Type: application/json' -d "$1" "$base/.moat/call"
}
out=$(stream '{"call":"vm.cli.exec","command":"sh","args":["-c","echo a; sleep 1; echo b >&2; exit 5"],"stream":true}')
jq -e -s '.[0] == {"stdout":"a\n"} and .[1] == {"stderr":"b\n"} and .[2].exit.code == 5 and length == 3' <<<"$out" >/dev/null &&
  ok "vm.cli.exec streamed: stdout, stderr, then the exit code" || not_ok "vm.cli.exec streamed" "$out"
out=$(stream '{"call":"host.cli.exec","command":"envs","args":["x"],"stream":true,"options":{"env":{"LANG":"C","LD_PRELOAD":"/x"}}}')
jq -e -s '(map(.stdout // "") | add | test("pwd ") and (test("LD_PRELOAD") | not) and test("\nLANG=C\n")) and .[-1].exit.code == 0' <<<"$out" >/dev/null &&
  ok "host.cli.exec streamed, with options" || { not_ok "host.cli.exec streamed" "$out"; harness_logs 60; }
out=$(stream '{"call":"docker.cli.exec","command":"version","args":["--format","{{.Client.Os}}"],"stream":true}')
jq -e -s '(map(.stdout // "") | add) == "linux\n" and .[-1].exit.code == 0' <<<"$out" >/dev/null &&
  ok "docker.cli.exec streamed" || not_ok "docker.cli.exec streamed" "$out"
out=$(stream '{"call":"host.cli.exec","command":"bytes","stream":true}')
jq -e -s '(map(.stdout // "") | add) == "a\ufffdb\u20acc\n"' <<<"$out" >/dev/null &&
  ok "streamed output not UTF-8: replaced, a sequence cut between chunks kept whole" || not_ok "streamed bytes" "$out"
out=$(stream '{"call":"host.cli.exec","command":"sh","stream":true}')
jq -e -s '.[0].error.statusCode == 403 and (.[0].error.message | test("lists no host binary"))' <<<"$out" >/dev/null &&
  ok "streamed host.cli.exec of an unlisted binary: an error frame (403)" || not_ok "streamed unlisted" "$out"
got=$(call '{"call":"docker.listImages","stream":true}')
[ "$got" = 400 ] && ok "only the exec calls are streamed" || not_ok "only the exec calls are streamed" "HTTP $got"

# A stream left open, then closed by the page (the connection goes): the
# run is killed, its whole group.
hostrun() { pgrep -f -- "$1" | wc -l; }
close_after() { # close_after N BODY: read N frames, then close the connection
  python3 - "$port" "$A" "$tok" "$1" "$2" <<'PY'
import socket, sys
port, host, tok, n, body = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5].encode()
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall(b"POST /.moat/call HTTP/1.1\r\nHost: %s\r\nX-Moat-Token: %s\r\nOrigin: http://%s\r\n"
          b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
          % (host.encode(), tok.encode(), host.encode(), len(body), body))
buf = b""
while buf.count(b"\n{") < n:
    d = s.recv(4096)
    if not d:
        break
    buf += d
s.close()
print(buf.decode(errors="replace").split("\r\n\r\n", 1)[-1])
PY
}
out=$(close_after 2 '{"call":"host.cli.exec","command":"ticks","args":["mark-ticks-1"],"stream":true}')
case $out in *'"stdout":"tick 0\n"'*'"stdout":"tick 1\n"'*) ok "a host stream left open streams (a line a second)" ;; *) not_ok "a host stream left open streams" "$out" ;; esac
for _ in $(seq 50); do [ "$(hostrun mark-ticks-1)" = 0 ] && break; sleep 0.2; done
[ "$(hostrun mark-ticks-1)" = 0 ] && ok "  closed by the page: the host process group is killed" ||
  not_ok "  closed by the page: the host process group is killed" "$(pgrep -af mark-ticks-1)"
out=$(close_after 2 '{"call":"vm.cli.exec","command":"sh","args":["-c","while :; do echo t; sleep 1; done; : mark-vm-1"],"stream":true}')
for _ in $(seq 50); do [ "$(in_backend mark-vm-1)" = 0 ] && break; sleep 0.2; done
[ "$(in_backend mark-vm-1)" = 0 ] && ok "  a vm.cli.exec stream closed by the page: killed in the backend" ||
  not_ok "  a vm.cli.exec stream closed by the page: killed in the backend" "$(docker -H "$MOAT_ENGINE_HOST" top "$cid" 2>&1)"

# 1000 streams at once: at most 16 run, the rest 429 (or closed at the
# dashboard's connection limit: 64 of one uid, so about 64 - 16 are
# answered 429 and the others closed); all closed: nothing left
# running, and moatd answers.
moatd_pid=$(cat "$MOAT_ROOT/run/moat/moatd.pid")
res=$(python3 - "$port" "$A" "$tok" <<'PY'
import socket, sys, time
port, host, tok = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = b'{"call":"host.cli.exec","command":"ticks","args":["mark-ticks-many"],"stream":true}'
req = (b"POST /.moat/call HTTP/1.1\r\nHost: %s\r\nX-Moat-Token: %s\r\nOrigin: http://%s\r\n"
       b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
       % (host.encode(), tok.encode(), host.encode(), len(body), body))
socks, st = [], {}
for i in range(1000):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        s.sendall(req)
        socks.append(s)
    except OSError:
        st["connect-failed"] = st.get("connect-failed", 0) + 1
for s in socks:
    try:
        head = s.recv(64).split(b"\r\n")[0].decode()
        code = head.split(" ")[1] if head else "closed"
    except OSError:
        code = "closed"
    st[code] = st.get(code, 0) + 1
running = st.get("200", 0)
time.sleep(1)
for s in socks:
    s.close()
print(running, st.get("429", 0), " ".join("%s=%d" % kv for kv in sorted(st.items())))
PY
)
set -- $res
[ "${1:-0}" -ge 1 ] && [ "${1:-99}" -le 16 ] && [ "${2:-0}" -ge 40 ] &&
  ok "1000 streams: at most 16 run, the rest refused ($res)" || not_ok "1000 streams: at most 16 run, the rest refused" "$res"
for _ in $(seq 100); do [ "$(hostrun mark-ticks-many)" = 0 ] && break; sleep 0.2; done
[ "$(hostrun mark-ticks-many)" = 0 ] && ok "  all closed: none left running" || not_ok "  all closed: none left running" "$(hostrun mark-ticks-many) left"

# A close racing the process's exit, 50 times (the run ends as the
# connection goes).
python3 - "$port" "$A" "$tok" <<'PY'
import socket, sys, time
port, host, tok = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = b'{"call":"host.cli.exec","command":"envs","stream":true}'
req = (b"POST /.moat/call HTTP/1.1\r\nHost: %s\r\nX-Moat-Token: %s\r\nOrigin: http://%s\r\n"
       b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
       % (host.encode(), tok.encode(), host.encode(), len(body), body))
for i in range(50):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(req)
    if i % 2:
        s.recv(16)
    time.sleep(0.002 * (i % 10))
    s.close()
PY
sleep 2
[ "$(cat "$MOAT_ROOT/run/moat/moatd.pid" 2>/dev/null)" = "$moatd_pid" ] && kill -0 "$moatd_pid" 2>/dev/null &&
  ok "moatd is the same process after 1000 streams and 50 racing closes" || not_ok "moatd survived the streams" "pid was $moatd_pid"
# every slot came back: 16 streams run at once again
res=$(python3 - "$port" "$A" "$tok" <<'PY'
import socket, sys
port, host, tok = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = b'{"call":"host.cli.exec","command":"ticks","args":["mark-ticks-16"],"stream":true}'
req = (b"POST /.moat/call HTTP/1.1\r\nHost: %s\r\nX-Moat-Token: %s\r\nOrigin: http://%s\r\n"
       b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
       % (host.encode(), tok.encode(), host.encode(), len(body), body))
socks = []
for i in range(17):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(req)
    socks.append(s)
codes = []
for s in socks:
    head = s.recv(64).split(b"\r\n")[0].decode()
    codes.append(head.split(" ")[1] if head else "closed")
for s in socks:
    s.close()
print(codes.count("200"), codes.count("429"))
PY
)
[ "$res" = "16 1" ] && ok "  every slot came back: 16 streams run, the 17th is refused" || not_ok "  every slot came back" "$res"
for _ in $(seq 100); do [ "$(hostrun mark-ticks-16)" = 0 ] && break; sleep 0.2; done
[ "$(hostrun mark-ticks-16)" = 0 ] && ok "  and all are killed when closed" || not_ok "  and all are killed when closed" "$(hostrun mark-ticks-16) left"
# The limit is per signed-in user: root holding all of its 16, another
# user's page still streams (the moatd-wide ceiling, EXT_STREAMS_MAX in
# ext_ui_slots.h, is test_ext_ui_slots's).
harness_docker_user extexec
uurl=$(as_user "$MOAT" dashboard --print-url 2>&1)
as_user curl -s -o /dev/null -c "$UHOME/jar" "$uurl"
ucookie=$(awk '$6 == "moat_session" {print $7}' "$UHOME/jar" 2>/dev/null)
ut=$(as_user curl -s -X POST -H "Cookie: moat_session=$ucookie" -H "Origin: $base" -H 'Content-Type: application/json' \
  -d '{}' "$base/api/extensions/ex/ticket" | jq -r .ticket)
utok=$(as_user curl -s -X POST -H "Host: $A" -H "Origin: http://$A" -H 'Content-Type: application/json' \
  -d "{\"ticket\":\"$ut\"}" "$base/.moat/session" | jq -r .token)
[ ${#utok} = 64 ] && ok "a token for ex as $TUSER" || not_ok "a token for ex as $TUSER" "$utok"
# (a page's connection must come from its own user: the dashboard checks
# the peer's uid, so the user's stream is opened by a child as that user)
res=$(python3 - "$port" "$A" "$tok" "$utok" "$TUID" "$TGID" <<'PY'
import socket, subprocess, sys
port, host, tok, utok, uid, gid = sys.argv[1:7]
port = int(port)
def req(t, mark):
    body = b'{"call":"host.cli.exec","command":"ticks","args":["%s"],"stream":true}' % mark
    return (b"POST /.moat/call HTTP/1.1\r\nHost: %s\r\nX-Moat-Token: %s\r\nOrigin: http://%s\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (host.encode(), t.encode(), host.encode(), len(body), body))
# the user's side: the status of its stream and whether its first line came
USER = r"""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(sys.stdin.buffer.read())
buf = b""
try:
    while b"tick 0" not in buf and not (buf and not buf.startswith(b"HTTP/1.1 200 ")):
        d = s.recv(4096)
        if not d:
            break
        buf += d
except OSError:
    pass
code = buf.split(b"\r\n")[0].decode().split(" ")[1] if buf.startswith(b"HTTP/") else "closed"
print(code, b"tick 0" in buf)
"""
socks = []
root = []
for i in range(17):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(req(tok, b"mark-ticks-root"))
    socks.append(s)
    head = s.recv(64).split(b"\r\n")[0].decode()
    root.append(head.split(" ")[1] if head else "closed")
u = subprocess.run(["setpriv", "--reuid=" + uid, "--regid=" + gid, "--init-groups",
                    sys.executable, "-c", USER, str(port)],
                   input=req(utok, b"mark-ticks-user"), capture_output=True, timeout=60)
for s in socks:
    s.close()
print(root.count("200"), root.count("429"), u.stdout.decode().strip() or u.stderr.decode()[-200:])
PY
)
[ "$res" = "16 1 200 True" ] && ok "root holds its 16 streams (the 17th refused): $TUSER still streams" ||
  not_ok "root holds its 16 streams (the 17th refused): $TUSER still streams" "$res"
for _ in $(seq 100); do [ "$(hostrun 'mark-ticks-(root|user)')" = 0 ] && break; sleep 0.2; done
[ "$(hostrun 'mark-ticks-(root|user)')" = 0 ] && ok "  and all are killed when closed" || not_ok "  and all are killed when closed" "$(hostrun 'mark-ticks-(root|user)') left"
n=$("$MOAT" audit --json -n 2000 | jq -s '[.[] | select(.rule == "extension.call" and (.detail // "" | test("streamed")))] | length')
[ "${n:-0}" -gt 0 ] && ok "streamed calls are audited" || not_ok "streamed calls are audited" "$n"

# ---- the same through ddClient in a real headless Chromium ----
art=${HARNESS_ARTIFACTS:-$HARNESS_TOP/build/test-artifacts}/test_ext_exec
rm -rf "$art" && mkdir -p "$art"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null ||
  ! /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
  skip "ddClient exec streams in headless Chromium" "chromium, chromium-driver or python3-selenium missing (scripts/install-deps)"
else
  /usr/bin/python3 "$HARNESS_TOP/tests/integration/ext_exec_browser.py" "$MOAT" "$port" "$art" \
    >"$HARNESS_DIR/browser.out" 2>"$HARNESS_DIR/browser.err"
  rc=$?
  while IFS= read -r line; do
    case $line in
      "PASS "*) ok "browser: ${line#PASS }" ;;
      "FAIL "*) not_ok "browser: ${line#FAIL }" ;;
    esac
  done <"$HARNESS_DIR/browser.out"
  grep -q '^PASS screenshot' "$HARNESS_DIR/browser.out" ||
    not_ok "browser ran to the screenshot (exit $rc)" "$(tail -20 "$HARNESS_DIR/browser.err")"
fi

harness_done
