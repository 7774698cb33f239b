#!/usr/bin/env bash
# Extension UIs on their own origins (docs/extensions.md, "The UI"), against
# a real stack: two extensions built here (busybox + the static
# ext-backend on its unix socket, a UI page, metadata; nothing pulled).
# curl checks of the origin (the contract CSP, path tricks, symlinks, the
# dashboard never served there), of the ticket/token rules of the SDK
# calls (another extension's token, another uid, no Origin, a preflight);
# then a real headless Chromium (ext_ui_browser.py): each UI reaches its
# own backend through window.ddClient, has its own localStorage, keeps it
# across update and a moat down/up, loses it after rm and reinstall, an
# external script is blocked by CSP, and one extension's page cannot call
# another's backend nor moatd's dashboard API.  Screenshots in
# $HARNESS_ARTIFACTS/test_ext_ui.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
art=${HARNESS_ARTIFACTS:-$HARNESS_TOP/build/test-artifacts}/test_ext_ui
rm -rf "$art" && mkdir -p "$art"

backend_bin=$MOAT_BUILD/tests/ext-backend
[ -x "$backend_bin" ] || backend_bin=$HARNESS_TOP/build/tests/ext-backend
[ -x "$backend_bin" ] || harness_bail "ext-backend" "build it with make tests"
EXT=$MOAT_ROOT/var/lib/moat/extensions

harness_free_port
HARNESS_DASHBOARD_PORT=$port harness_up
harness_busybox

# mkext NAME: the build context of an extension NAME whose page shows its
# backend's answer and its localStorage (ui/app.js: no inline script, the
# CSP forbids it), and tries an external script.
mkext() {
  local dir=$HARNESS_DIR/ctx/$1 name=$1
  mkdir -p "$dir/ui"
  cp "$backend_bin" "$dir/ext-backend"
  cat >"$dir/ui/index.html" <<EOH
<!doctype html>
<html><head><meta charset="utf-8"><title>$name</title>
<script src="app.js"></script>
</head><body><h1>extension $name</h1>
<p>backend: <span id="backend">waiting</span></p>
<p>stored: <span id="stored"></span></p>
<p>csp: <span id="csp">none</span></p>
<p>ddClient: <span id="dd"></span></p></body></html>
EOH
  cat >"$dir/ui/app.js" <<'EOJ'
"use strict";
window.cspBlocked = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspBlocked.push(e.blockedURI);
  const s = document.getElementById("csp");
  if (s) s.textContent = "blocked " + e.blockedURI;
});
window.addEventListener("DOMContentLoaded", () => {
  // an external script, added once the listener above is there (a tag in
  // the page would be seen first by the preload scanner)
  const ext = document.createElement("script");
  ext.src = "http://203.0.113.7/external.js";
  document.head.append(ext);
  document.getElementById("dd").textContent = typeof window.ddClient;
  document.getElementById("stored").textContent = String(localStorage.getItem("note"));
  window.ddClient.extension.vm.service.get("/hello").then(
    (r) => { document.getElementById("backend").textContent = String(r).trim(); },
    (e) => { document.getElementById("backend").textContent = "error " + e.message; });
});
EOJ
  echo "<svg xmlns='http://www.w3.org/2000/svg'/>" >"$dir/icon.svg"
  # eb also has sandboxed backend code (its /sandbox/ routes)
  local sbx=""
  echo 'moat.route ("GET", "/hello", function (req) { return "sandboxed '"$name"'"; });' >"$dir/backend.js"
  [ "$name" = eb ] && sbx=', "moat": {"sandbox": {"script": "/backend.js", "requestedScopes": {"log": {}}}}'
  # ea also has a host binary (a script: the host's /bin/sh runs it)
  mkdir -p "$dir/hostbin"
  printf '#!/bin/sh\necho "uid $(id -u) groups $(id -G)"\necho "args $*"\necho warn >&2\nexit 4\n' >"$dir/hostbin/ids"
  chmod 755 "$dir/hostbin/ids"
  [ "$name" = ea ] && sbx=', "host": {"binaries": [{"linux": [{"path": "/hostbin/ids"}]}]}'
  cat >"$dir/metadata.json" <<EOM
{
  "icon": "icon.svg",
  "ui": {"dashboard-tab": {"title": "Ext $name", "root": "/ui", "src": "index.html",
                           "backend": {"socket": "backend.sock"}}},
  "vm": {"image": "\${DESKTOP_PLUGIN_IMAGE}", "exposes": {"socket": "backend.sock"}}$sbx
}
EOM
  cat >"$dir/Dockerfile" <<EOD
FROM busybox:latest
LABEL org.opencontainers.image.title="$name" \\
      org.opencontainers.image.description="test extension $name" \\
      org.opencontainers.image.vendor="moat tests" \\
      com.docker.desktop.extension.api.version=">= 0.3.0" \\
      com.docker.desktop.extension.icon="icon.svg"
COPY metadata.json icon.svg backend.js /
COPY hostbin /hostbin
COPY ui /ui
COPY ext-backend /ext-backend
ENTRYPOINT ["/ext-backend", "/run/guest-services/backend.sock", "$name"]
EOD
}
build() {
  DOCKER_BUILDKIT=0 docker -H "$MOAT_ENGINE_HOST" build -q -t "$2" "$HARNESS_DIR/ctx/$1" >"$HARNESS_DIR/build.log" 2>&1 ||
    harness_bail "build $2" "$(tail -5 "$HARNESS_DIR/build.log")"
}
mkext ea
mkext eb
build ea acme/ea:1
build ea acme/ea:2
build eb acme/eb:1
check_output "install ea" "installed extension ea" "$MOAT" extension install -f acme/ea:1
check_output "install eb" "installed extension eb" "$MOAT" extension install -f acme/eb:1

A=ea.ext.localhost:$port
B=eb.ext.localhost:$port
# hget HOST PATH [CURL ARGS]: status code; body in $HARNESS_DIR/body, head in .../head
hget() {
  local host=$1 path=$2
  shift 2
  curl -s -o "$HARNESS_DIR/body" -D "$HARNESS_DIR/head" -w '%{http_code}' \
    -H "Host: $host" "$@" "$base$path"
}
expect() {
  local name=$1 want=$2 got
  shift 2
  got=$(hget "$@")
  [ "$got" = "$want" ] && ok "$name" ||
    not_ok "$name" "HTTP $got, want $want" "$(head -c 300 "$HARNESS_DIR/body")"
}

# ---- the origin ----
expect "ea's origin: / goes to its ui.src" 303 "$A" /
grep -qi "^location: /index.html" "$HARNESS_DIR/head" && ok "  to /index.html" || not_ok "  to /index.html" "$(cat "$HARNESS_DIR/head")"
expect "ea's page is served" 200 "$A" /index.html
csp=$(grep -i '^content-security-policy:' "$HARNESS_DIR/head" | tr -d '\r')
[ "$csp" = "Content-Security-Policy: default-src 'self'; frame-ancestors http://127.0.0.1:$port" ] &&
  ok "the contract's CSP, exactly" || not_ok "the contract's CSP, exactly" "$csp"
grep -qi '^x-frame-options' "$HARNESS_DIR/head" && not_ok "no X-Frame-Options on the extension's origin" ||
  ok "no X-Frame-Options on the extension's origin (the dashboard frames it)"
head -c 200 "$HARNESS_DIR/body" | tr -d '\n' | grep -q '^<!doctype html><script src="/.moat/ddclient.js"></script>' &&
  ok "ddClient is put first, after the doctype" || not_ok "ddClient is put first" "$(head -c 200 "$HARNESS_DIR/body")"
expect "ddclient.js is served on the origin" 200 "$A" /.moat/ddclient.js
grep -q 'window, "ddClient"' "$HARNESS_DIR/body" && ok "  and defines window.ddClient" || not_ok "  defines window.ddClient"
expect "the dashboard's CSP lets it frame the extensions' origins" 401 127.0.0.1:$port /
grep -qi "^content-security-policy:.*frame-src http://\*\.ext\.localhost:$port" "$HARNESS_DIR/head" &&
  ok "  (frame-src http://*.ext.localhost:$port)" || not_ok "  frame-src" "$(grep -i content-security "$HARNESS_DIR/head")"
expect "an extension that is not installed: 404" 404 "nope.ext.localhost:$port" /index.html
for p in "/../extension.json" "/%2e%2e/extension.json" "/..%2fextension.json" "/%2E%2E%2Fextension.json" \
  "/./index.html" "//etc/passwd" "/index.html%00.js" "/ui/../../extension.json"; do
  got=$(hget "$A" "$p" --path-as-is)
  [ "$got" = 404 ] || [ "$got" = 400 ] && ok "path trick $p: $got" || not_ok "path trick $p" "HTTP $got" "$(head -c 200 "$HARNESS_DIR/body")"
done
# A link planted in the installed UI (not by install: it refuses links)
# is not followed, inside or out.
echo secret >"$HARNESS_DIR/secret"
ln -s "$HARNESS_DIR/secret" "$EXT/ea/ui/out"
ln -s ../extension.json "$EXT/ea/ui/up"
ln -s index.html "$EXT/ea/ui/in"
mkdir "$EXT/ea/ui/d" && ln -s /etc "$EXT/ea/ui/d/etc"
for p in /out /up /in /d/etc/passwd; do
  expect "a symbolic link in the UI is not followed ($p)" 404 "$A" "$p"
done
rm -f "$EXT/ea/ui/out" "$EXT/ea/ui/up" "$EXT/ea/ui/in" && rm -rf "$EXT/ea/ui/d"
expect "the extension's origin never serves the dashboard API" 404 "$A" /api/status
expect "  nor its files" 404 "$A" /app.css

# ---- tickets and tokens ----
url=$("$MOAT" dashboard --print-url)
curl -s -o /dev/null -c "$HARNESS_DIR/jar" "$url"
cookie=$(awk '$6 == "moat_session" {print $7}' "$HARNESS_DIR/jar")
[ -n "$cookie" ] && ok "signed in to the dashboard (root)" || not_ok "dashboard sign-in" "$url"
ticket() { # ticket NAME: a ticket from the dashboard API
  curl -s -X POST -H "Cookie: moat_session=$cookie" -H "Origin: $base" -H 'Content-Type: application/json' \
    -d '{}' "$base/api/extensions/$1/ticket" | jq -r .ticket
}
session() { # session HOST TICKET [ORIGIN]: the token
  curl -s -X POST -H "Host: $1" -H "Origin: http://${3:-$1}" -H 'Content-Type: application/json' \
    -d "{\"ticket\":\"$2\"}" "$base/.moat/session"
}
list=$(curl -s -H "Cookie: moat_session=$cookie" "$base/api/extensions")
jq -e --arg o "http://$A" '[.[] | select(.name == "ea" and .origin == $o and .src == "index.html" and .title == "Ext ea")] | length == 1' \
  <<<"$list" >/dev/null && ok "/api/extensions lists ea with its origin" || not_ok "/api/extensions" "$list"
t=$(ticket ea)
[ ${#t} = 64 ] && ok "a ticket for ea" || not_ok "a ticket for ea" "$t"
out=$(session "$B" "$t")
grep -q "issued for another extension" <<<"$out" && ok "ea's ticket is refused on eb's origin" || not_ok "ea's ticket on eb" "$out"
out=$(session "$A" "$t")
grep -q "unknown, expired or used" <<<"$out" && ok "a ticket is single use (even after a refusal)" || not_ok "single use" "$out"
t=$(ticket ea)
out=$(session "$A" "$t" "$B")
grep -q "Origin header of the extension's own origin" <<<"$out" && ok "a trade from another origin is refused" || not_ok "trade Origin" "$out"
harness_docker_user extui
t=$(ticket ea)
out=$(as_user curl -s -X POST -H "Host: $A" -H "Origin: http://$A" -H 'Content-Type: application/json' \
  -d "{\"ticket\":\"$t\"}" "$base/.moat/session")
grep -q "belongs to another user" <<<"$out" && ok "root's ticket traded by another uid: refused" || not_ok "ticket uid" "$out"
t=$(ticket ea)
tokA=$(session "$A" "$t" | jq -r .token)
[ ${#tokA} = 64 ] && ok "ea's ticket traded for a token on ea's origin" || not_ok "token" "$tokA"
t=$(ticket eb)
tokB=$(session "$B" "$t" | jq -r .token)
call() { # call HOST TOKEN BODY [ORIGIN]: status; answer in $HARNESS_DIR/body
  curl -s -o "$HARNESS_DIR/body" -w '%{http_code}' -X POST -H "Host: $1" -H "X-Moat-Token: $2" \
    -H "Origin: http://${4:-$1}" -H 'Content-Type: application/json' -d "$3" "$base/.moat/call"
}
svc='{"call":"vm.service","method":"GET","path":"/hello"}'
got=$(call "$A" "$tokA" "$svc")
[ "$got" = 200 ] && jq -e '.status == 200 and .body == "hello from ea\n"' "$HARNESS_DIR/body" >/dev/null &&
  ok "ea's token reaches ea's backend (vm.service)" || not_ok "ea's backend" "HTTP $got $(cat "$HARNESS_DIR/body")"
got=$(call "$B" "$tokB" "$svc")
jq -e '.body == "hello from eb\n"' "$HARNESS_DIR/body" >/dev/null && ok "eb's token reaches eb's backend" ||
  not_ok "eb's backend" "HTTP $got $(cat "$HARNESS_DIR/body")"
got=$(call "$B" "$tokA" "$svc")
[ "$got" = 403 ] && grep -q "another extension" "$HARNESS_DIR/body" && ok "ea's token on eb's origin: 403" ||
  not_ok "ea's token on eb" "HTTP $got $(cat "$HARNESS_DIR/body")"
got=$(call "$A" "$tokA" "$svc" "$B")
[ "$got" = 403 ] && ok "a call with another origin's Origin: 403" || not_ok "call Origin" "HTTP $got"
got=$(curl -s -o "$HARNESS_DIR/body" -w '%{http_code}' -X POST -H "Host: $A" -H "X-Moat-Token: $tokA" \
  -H 'Content-Type: application/json' -d "$svc" "$base/.moat/call")
[ "$got" = 403 ] && ok "a call without Origin: 403" || not_ok "call without Origin" "HTTP $got"
got=$(call "$A" "" "$svc")
[ "$got" = 401 ] && ok "a call without a token: 401" || not_ok "no token" "HTTP $got"
got=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Host: $A" -H "X-Moat-Token: $tokA" -H "Origin: http://$A" \
  -H "Sec-Fetch-Site: same-site" -H 'Content-Type: application/json' -d "$svc" "$base/.moat/call")
[ "$got" = 403 ] && ok "a same-site (sibling origin) call: 403" || not_ok "same-site call" "HTTP $got"
out=$(as_user curl -s -w ' HTTP %{http_code}' -X POST -H "Host: $A" -H "X-Moat-Token: $tokA" \
  -H "Origin: http://$A" -H 'Content-Type: application/json' -d "$svc" "$base/.moat/call")
grep -q "another user.* HTTP 403" <<<"$out" && ok "root's token replayed by another uid: 403" ||
  not_ok "token uid" "$out"
pre=$(curl -s -D - -o /dev/null -X OPTIONS -H "Host: $B" -H "Origin: http://$A" \
  -H "Access-Control-Request-Method: POST" -H "Access-Control-Request-Headers: x-moat-token" "$base/.moat/call")
grep -q "^HTTP/1.1 405" <<<"$pre" && ! grep -qi "access-control-allow" <<<"$pre" &&
  ok "a CORS preflight is never granted" || not_ok "preflight" "$pre"
got=$(call "$A" "$tokA" '{"call":"vm.service","method":"GET","path":"/sandbox/x"}')
[ "$got" = 404 ] && grep -q "no sandboxed backend code" "$HARNESS_DIR/body" && ok "/sandbox/ of an extension without sandboxed code: 404" ||
  not_ok "/sandbox without code" "HTTP $got $(cat "$HARNESS_DIR/body")"
got=$(call "$B" "$tokB" '{"call":"vm.service","method":"GET","path":"/sandbox/hello"}')
[ "$got" = 200 ] && jq -e '.status == 200 and .body == "sandboxed eb"' "$HARNESS_DIR/body" >/dev/null &&
  ok "eb's /sandbox/hello reaches its sandboxed route" || not_ok "eb's sandbox route" "HTTP $got $(cat "$HARNESS_DIR/body")"
got=$(call "$B" "$tokA" '{"call":"vm.service","method":"GET","path":"/sandbox/hello"}')
[ "$got" = 403 ] && ok "  not with ea's token" || not_ok "eb's sandbox with ea's token" "HTTP $got"
got=$(call "$A" "$tokA" '{"call":"vm.service","method":"GET","path":"/a b"}')
[ "$got" = 502 ] && grep -q "no spaces" "$HARNESS_DIR/body" && ok "a path with a space is refused" ||
  not_ok "path with space" "HTTP $got $(cat "$HARNESS_DIR/body")"
got=$(call "$A" "$tokA" '{"call":"vm.service","method":"CONNECT","path":"/"}')
[ "$got" = 502 ] && ok "a CONNECT is refused" || not_ok "CONNECT" "HTTP $got"
got=$(call "$A" "$tokA" '{"call":"rm.everything"}')
[ "$got" = 400 ] && ok "an unknown call: 400" || not_ok "unknown call" "HTTP $got"
# ---- the calls that run something (as the token's user) ----
# jcall NAME HOST TOKEN BODY JQ: the call answers 200 and JQ holds
jcall() {
  local got
  got=$(call "$2" "$3" "$4")
  [ "$got" = 200 ] && jq -e "$5" "$HARNESS_DIR/body" >/dev/null && ok "$1" ||
    not_ok "$1" "HTTP $got $(head -c 800 "$HARNESS_DIR/body")"
}
# the same, as the test user (its own token)
ucall() {
  rm -f "$UHOME/body"
  as_user curl -s -o "$UHOME/body" -w '%{http_code}' -X POST -H "Host: $1" -H "X-Moat-Token: $2" \
    -H "Origin: http://$1" -H 'Content-Type: application/json' -d "$3" "$base/.moat/call"
  cp "$UHOME/body" "$HARNESS_DIR/body" 2>/dev/null || : >"$HARNESS_DIR/body"
}
ujcall() {
  local got
  got=$(ucall "$2" "$3" "$4")
  [ "$got" = 200 ] && jq -e "$5" "$HARNESS_DIR/body" >/dev/null && ok "$1" ||
    not_ok "$1" "HTTP $got $(head -c 800 "$HARNESS_DIR/body")"
}
jcall "vm.cli.exec runs in ea's backend, stdout and stderr apart, its exit code" "$A" "$tokA" \
  '{"call":"vm.cli.exec","command":"sh","args":["-c","echo out; echo err >&2; exit 3"]}' \
  '.stdout == "out\n" and .stderr == "err\n" and .code == 3'
jcall "  in the backend's user namespace (uid_map not the host's)" "$A" "$tokA" \
  '{"call":"vm.cli.exec","command":"cat","args":["/proc/self/uid_map"]}' \
  '.code == 0 and (.stdout | test("^ *0 +[1-9][0-9]* ")) and (.stdout | test("^ *0 +0 ") | not)'
idA0=$("$MOAT" extension ls --json | jq -r '.[] | select(.name == "ea") | .backend.container')
jcall "  in ea's backend container, not another (its hostname)" "$A" "$tokA" \
  '{"call":"vm.cli.exec","command":"hostname"}' ".stdout == \"${idA0:0:12}\\n\""
got=$(call "$A" "$tokA" '{"call":"vm.cli.exec","command":""}')
[ "$got" = 400 ] && ok "vm.cli.exec without a command: 400" || not_ok "vm.cli.exec empty" "HTTP $got $(cat "$HARNESS_DIR/body")"
got=$(call "$A" "$tokA" '{"call":"vm.cli.exec","command":"id","args":[1]}')
[ "$got" = 400 ] && ok "vm.cli.exec with a non-string argument: 400" || not_ok "vm.cli.exec args" "HTTP $got"
jcall "host.cli.exec runs ea's listed binary (as root here)" "$A" "$tokA" \
  '{"call":"host.cli.exec","command":"ids","args":["a b","$(id)"]}' \
  '.code == 4 and .stdout == "uid 0 groups 0\nargs a b $(id)\n" and .stderr == "warn\n"'
got=$(call "$A" "$tokA" '{"call":"host.cli.exec","command":"sh","args":["-c","id"]}')
[ "$got" = 403 ] && grep -q "lists no host binary" "$HARNESS_DIR/body" && ok "host.cli.exec of a binary ea does not list: 403" ||
  not_ok "unlisted host binary" "HTTP $got $(cat "$HARNESS_DIR/body")"
got=$(call "$A" "$tokA" '{"call":"host.cli.exec","command":"/bin/sh"}')
[ "$got" = 403 ] && ok "  nor a host path" || not_ok "host path" "HTTP $got $(cat "$HARNESS_DIR/body")"
got=$(call "$A" "$tokA" '{"call":"host.cli.exec","command":"../../../../bin/sh"}')
[ "$got" = 403 ] && ok "  nor a path out of host/" || not_ok "host ../ path" "HTTP $got $(cat "$HARNESS_DIR/body")"
many=$(jq -nc '{call: "host.cli.exec", command: "ids", args: [range(300) | "x"]}')
got=$(call "$A" "$tokA" "$many")
[ "$got" = 400 ] && grep -q "too many arguments" "$HARNESS_DIR/body" && ok "host.cli.exec with 300 arguments: 400" ||
  not_ok "too many args" "HTTP $got $(cat "$HARNESS_DIR/body")"
got=$(call "$B" "$tokB" '{"call":"host.cli.exec","command":"ids"}')
[ "$got" = 403 ] && ok "  nor ea's binary through eb" || not_ok "ea's binary through eb" "HTTP $got $(cat "$HARNESS_DIR/body")"
jcall "docker.cli.exec runs the docker CLI on the guarded socket" "$A" "$tokA" \
  '{"call":"docker.cli.exec","command":"version","args":["--format","{{.Server.Version}}"]}' \
  '.code == 0 and (.stdout | test("^[0-9]"))'
jcall "docker.cli.exec of run --privileged -v /:/host: the ECI refusal" "$A" "$tokA" \
  '{"call":"docker.cli.exec","command":"run","args":["--rm","--privileged","-v","/:/host","busybox:latest","true"]}' \
  '.code != 0 and (.stderr | test("enhanced container isolation: "))'
got=$(call "$A" "$tokA" '{"call":"docker.cli.exec","command":"-H","args":["unix:///var/run/docker.sock","ps"]}')
[ "$got" = 400 ] && ok "docker.cli.exec with a global option (-H) for a command: 400" ||
  not_ok "docker -H" "HTTP $got $(cat "$HARNESS_DIR/body")"
jcall "docker.listContainers: the engine's JSON" "$A" "$tokA" \
  '{"call":"docker.listContainers","options":{"all":true}}' 'type == "array" and (.[0] | has("Id") and has("Image"))'
jcall "docker.listImages: the engine's JSON" "$A" "$tokA" \
  '{"call":"docker.listImages","options":{"filters":{"reference":["busybox"]}}}' \
  'type == "array" and length >= 1 and all(.[]; .RepoTags | any(test("^busybox")))'
got=$(call "$A" "$tokA" '{"call":"docker.listImages","options":{"evil":"x"}}')
[ "$got" = 400 ] && ok "docker.listImages with an unknown option: 400" || not_ok "list option" "HTTP $got"
# as the test user (in the socket's group): its own token
utoken() { # the test user's token for ea (signed in to the dashboard as itself)
  local uurl ucookie ut
  uurl=$(as_user "$MOAT" dashboard --print-url 2>&1)
  rm -f "$UHOME/jar"
  as_user curl -s -o /dev/null -c "$UHOME/jar" "$uurl"
  ucookie=$(awk '$6 == "moat_session" {print $7}' "$UHOME/jar" 2>/dev/null)
  ut=$(as_user curl -s -X POST -H "Cookie: moat_session=$ucookie" -H "Origin: $base" -H 'Content-Type: application/json' \
    -d '{}' "$base/api/extensions/ea/ticket" | jq -r .ticket)
  as_user curl -s -X POST -H "Host: $A" -H "Origin: http://$A" -H 'Content-Type: application/json' \
    -d "{\"ticket\":\"$ut\"}" "$base/.moat/session" | jq -r .token
}
utok=$(utoken)
if [ ${#utok} != 64 ]; then
  not_ok "a token for $TUSER" "token $utok"
else
  sock_gid=$(stat -c %g "$MOAT_ROOT/run/moat/docker.sock")
  ujcall "host.cli.exec runs as the signed-in user, with its groups" "$A" "$utok" \
    '{"call":"host.cli.exec","command":"ids"}' \
    ".stdout | test(\"^uid $TUID groups $TGID( [0-9]+)*\\n\") and test(\" $sock_gid( |\\n)\")"
  ujcall "docker.cli.exec as the user: whoami in a container is not moatd's root on the host" "$A" "$utok" \
    '{"call":"docker.cli.exec","command":"info","args":["--format","{{.Name}}"]}' '.code == 0'
  mine=$(as_user docker ps -a --format '{{.ID}}' --no-trunc | sort | tr '\n' ' ')
  ujcall "docker.listContainers as the user lists what the user's docker ps does" "$A" "$utok" \
    '{"call":"docker.listContainers","options":{"all":true}}' "[.[].Id] | sort | join(\" \") + \" \" == \"$mine\""
  # out of the socket's group: the guarded socket's own refusal
  gpasswd -d "$TUSER" "$(stat -c %G "$MOAT_ROOT/run/moat/docker.sock")" >/dev/null 2>&1
  ujcall "docker.cli.exec as a user outside the socket's group: permission denied" "$A" "$utok" \
    '{"call":"docker.cli.exec","command":"ps"}' '.code != 0 and (.stderr | test("permission denied"))'
  got=$(ucall "$A" "$utok" '{"call":"docker.listContainers"}')
  [ "$got" = 403 ] && grep -q "Permission denied" "$HARNESS_DIR/body" && ok "  and docker.listContainers: 403 permission denied" ||
    not_ok "list outside the group" "HTTP $got $(cat "$HARNESS_DIR/body")"
  gpasswd -a "$TUSER" "$(stat -c %G "$MOAT_ROOT/run/moat/docker.sock")" >/dev/null 2>&1
fi
# moatd's loop is not held by calls: 12 at once, and the dashboard answers meanwhile
for i in $(seq 12); do call "$A" "$tokA" "$svc" >/dev/null & done
got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Cookie: moat_session=$cookie" "$base/api/session")
wait
[ "$got" = 200 ] && ok "the dashboard answers while calls run" || not_ok "dashboard during calls" "HTTP $got"
# A backend that accepts and never answers (paused: the kernel still
# queues connections) holds its own call only: moatd's loop, the
# dashboard and the other extension's calls go on.
idA=$("$MOAT" extension ls --json | jq -r '.[] | select(.name == "ea") | .backend.container')
if d pause "$idA" >/dev/null 2>&1; then
  (call "$A" "$tokA" "$svc" >/dev/null) &
  slow=$!
  sleep 1
  t0=$(date +%s%N)
  got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H "Cookie: moat_session=$cookie" "$base/api/session")
  got2=$(curl -s -o "$HARNESS_DIR/body2" -w '%{http_code}' --max-time 3 -X POST -H "Host: $B" -H "X-Moat-Token: $tokB" \
    -H "Origin: http://$B" -H 'Content-Type: application/json' -d "$svc" "$base/.moat/call")
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$got" = 200 ] && [ "$got2" = 200 ] && ok "a silent backend holds nothing else (dashboard and eb answered in $ms ms)" ||
    not_ok "silent backend" "dashboard $got, eb $got2 ($ms ms)"
  st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -X POST -H "Host: $A" -H "Origin: http://$A" \
    -H 'Content-Type: application/json' -d '{}' "$base/.moat/session")
  [ "$st" = 403 ] && ok "  and ea's own origin still answers" || not_ok "ea's origin during a slow call" "$st"
  d unpause "$idA" >/dev/null
  wait "$slow"
else
  skip "a silent backend" "docker pause failed here"
fi
aud=$(curl -s -H "Cookie: moat_session=$cookie" "$base/api/audit?component=extensions&limit=200")
jq -e '[.[] | select(.rule == "extension.call" and .container == "ea" and .outcome == "allowed")] | length > 0' <<<"$aud" >/dev/null &&
  jq -e '[.[] | select(.rule == "extension.call" and .container == "eb" and .outcome == "refused" and (.detail | test("another extension")))] | length > 0' <<<"$aud" >/dev/null &&
  ok "calls are audited (extension, call, verdict)" || not_ok "audit" "$(head -c 600 <<<"$aud")"

# ---- the browser ----
export EXT_UI_ENGINE_HOST=$MOAT_ENGINE_HOST
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null ||
  ! /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
  skip "extension UIs in headless Chromium" "chromium, chromium-driver or python3-selenium missing (scripts/install-deps)"
else
  profile=$art/profile
  browser() { # browser PHASE
    /usr/bin/python3 "$HARNESS_TOP/tests/integration/ext_ui_browser.py" "$MOAT" "$port" "$art" "$profile" "$1" \
      >"$HARNESS_DIR/browser-$1.out" 2>"$HARNESS_DIR/browser-$1.err"
    local rc=$?
    while IFS= read -r line; do
      case $line in
        "PASS "*) ok "browser $1: ${line#PASS }" ;;
        "FAIL "*) not_ok "browser $1: ${line#FAIL }" ;;
      esac
    done <"$HARNESS_DIR/browser-$1.out"
    grep -q '^PASS screenshot' "$HARNESS_DIR/browser-$1.out" ||
      not_ok "browser $1 ran to the end (exit $rc)" "$(tail -20 "$HARNESS_DIR/browser-$1.err")"
  }
  browser first
  check_output "update ea to acme/ea:2" "ea" "$MOAT" extension update acme/ea:2
  check "moat down" "$MOAT" down
  out=$(MOAT_ENGINE_NETNS=$HARNESS_NETNS "$MOAT" up -d --dashboard-port "$port" 2>&1) &&
    ok "moat up again" || not_ok "moat up again" "$out"
  browser kept
  check_output "rm ea" "ea" "$MOAT" extension rm ea
  check_output "install ea again" "installed extension ea" "$MOAT" extension install -f acme/ea:1
  browser gone
fi

# ---- last (the policy stays on): under sign-in (allowedOrgs), without a
# session, the gate judges the user the calls run as ----
utok=$(utoken)
if [ ${#utok} = 64 ]; then
  # under sign-in (allowedOrgs), without a session: the gate judges the user
  reg=$MOAT_ROOT/etc/moat/registry.json
  printf '{"allowedOrgs": ["acme"]}\n' >"$reg" && chmod 0644 "$reg"
  reload() { printf '%s\n' '{"cmd":"policy.reload"}' | timeout 30 socat -t 30 - UNIX-CONNECT:"$MOAT_ROOT/run/moat/moatd.sock"; }
  out=$(reload)
  grep -q '"ok": *true' <<<"$out" || harness_diag "policy.reload: $out"
  ujcall "under sign-in, docker.cli.exec without a session: the gate's message" "$A" "$utok" \
    '{"call":"docker.cli.exec","command":"ps"}' '.code != 0 and (.stderr | test("sign-in required"))'
  got=$(ucall "$A" "$utok" '{"call":"docker.listContainers"}')
  [ "$got" = 403 ] && grep -q "sign-in required" "$HARNESS_DIR/body" && ok "  and docker.listContainers: 403 sign-in required" ||
    not_ok "list under sign-in" "HTTP $got $(cat "$HARNESS_DIR/body")"
fi
harness_done
