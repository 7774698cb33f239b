#!/usr/bin/env bash
# Sandboxed extension JavaScript through the real CLI, moatd, moat-sandbox
# and dockerd (docs/extensions.md "Sandboxed backend code"): routes, the
# granted scopes (an administrator pins them in admin-settings.json), the
# exact refusal outside them, request's URL globs and the containers'
# egress policy, storage and its cap, and hostile scripts (infinite loop,
# memory bomb, deep recursion, huge strings, a sleep past the time limit):
# each ends that sandbox only; moatd stays up (same pid, answers) after
# every one, restarts the sandbox after a backoff and quarantines it after
# repeated failures.  Test servers live on addresses of the private netns
# only (the engine's, where sandbox requests leave from).
. "$(dirname "$0")/../lib/harness.sh"
harness_init

H=$HARNESS_NETNS
EXT=$MOAT_ROOT/var/lib/moat/extensions
adm=$MOAT_ROOT/etc/moat/admin-settings.json
# Containers are air-gapped (no proxy); only 10.79.0.1 is excluded (direct).
# The administrator grants sbx everything it asks but docker.
cat >"$adm" <<'J'
{"configurationFileVersion": 2,
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "exclude": ["10.79.0.1"], "transparentPorts": "*"},
 "extensionSandboxGrants": {"locked": true, "value": {
   "sbx": {"log": {}, "sleep": {}, "storage": {},
           "request": {"urls": ["http://10.79.0.1:8099/pub/*",
                                "http://10.79.0.2:8099/pub/*",
                                "http://127.0.0.1:*"],
                       "methods": ["GET", "POST"]}}}}}
J
chmod 0644 "$adm"
harness_up
harness_busybox

# Two web servers in the private netns: .1 may be reached, .2 is refused by
# the egress policy; each logs what it serves (.2 must log nothing).
ip -n "$H" addr add 10.79.0.1/32 dev lo
ip -n "$H" addr add 10.79.0.2/32 dev lo
mkdir -p "$HARNESS_DIR/www/pub"
echo "public" >"$HARNESS_DIR/www/pub/hello.txt"
echo "secret" >"$HARNESS_DIR/www/secret.txt"
# One byte over the 1 MiB a response may have.
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 'b' >"$HARNESS_DIR/www/pub/big.txt"
for a in 1 2; do
  harness_spawn_netns "www$a" /usr/bin/python3 -m http.server --bind "10.79.0.$a" \
    --directory "$HARNESS_DIR/www" 8099 >/dev/null
done

ctx=$HARNESS_DIR/ctx/sbx
mkdir -p "$ctx"
echo "<svg/>" >"$ctx/icon.svg"
cat >"$ctx/metadata.json" <<'J'
{"icon": "icon.svg",
 "moat": {"sandbox": {"script": "/backend.js",
   "requestedScopes": {"log": {}, "sleep": {}, "storage": {},
     "request": {"urls": ["http://10.79.0.1:8099/pub/*",
                          "http://10.79.0.2:8099/pub/*",
                          "http://127.0.0.1:*"],
                 "methods": ["GET", "POST"]},
     "docker": {"commands": ["ps"]}}}}}
J
cat >"$ctx/backend.js" <<'JS'
function guard (f) {
  try { return { status: 200, body: JSON.stringify (f ()) }; }
  catch (e) { return { status: 403, body: String (e.message) }; }
}
moat.route ("GET", "/hello", function (req) { return "hello " + req.query; });
moat.route ("POST", "/echo", function (req) { return { status: 201, body: req.body }; });
moat.route ("GET", "/log", function () { moat.log ("sbx says hi"); return "logged"; });
moat.route ("GET", "/docker", function () { return guard (function () { return moat.docker ("ps"); }); });
moat.route ("GET", "/fetch", function (req) {
  return guard (function () { return moat.request (req.query); });
});
moat.route ("GET", "/put", function (req) {
  var kv = req.query.split ("=");
  return guard (function () { moat.storage.set (kv[0], { v: kv[1] }); return moat.storage.get (kv[0]); });
});
moat.route ("GET", "/get", function (req) {
  return guard (function () { return moat.storage.get (req.query); });
});
moat.route ("GET", "/fill", function (req) {
  var s = "x";
  for (var i = 0; i < 18; i++) s = s + s;   /* 256 KiB */
  return guard (function () { moat.storage.set ("big" + req.query, s); return "stored"; });
});
moat.route ("GET", "/loop", function () { while (true) {} });
moat.route ("GET", "/membomb", function () {
  var keep = [], n = 1 << 20;
  while (true) { keep.push (new Uint8Array (n)); n *= 2; }
});
moat.route ("GET", "/bigalloc", function () { return new Uint8Array (1 << 30).length; });
moat.route ("GET", "/recurse", function () {
  function f (n) { return f (n + 1) + 1; }
  return String (f (0));
});
moat.route ("GET", "/hugestring", function () {
  var s = "z";
  while (true) s = s + s;
});
moat.route ("GET", "/sleep", function () { moat.sleep (5000); return "woke"; });
moat.route ("GET", "/escape", function () {
  return guard (function () { return __moat_host ("exec", "/bin/sh"); });
});
JS
cat >"$ctx/Dockerfile" <<'D'
FROM busybox:latest
LABEL org.opencontainers.image.title="sbx" \
      org.opencontainers.image.description="sandboxed test extension" \
      org.opencontainers.image.vendor="moat tests" \
      com.docker.desktop.extension.api.version=">= 0.3.0" \
      com.docker.desktop.extension.icon="icon.svg"
COPY metadata.json icon.svg backend.js /
D
DOCKER_BUILDKIT=0 docker -H "$MOAT_ENGINE_HOST" build -q -t acme/sbx:1 "$ctx" >"$HARNESS_DIR/build.log" 2>&1 ||
  harness_bail "build acme/sbx:1" "$(tail -5 "$HARNESS_DIR/build.log")"

moatd_pid=$(cat "$MOAT_ROOT/run/moat/moatd.pid")
# healthy WHAT: moatd is the same process and still answers.
healthy() {
  if [ "$(cat "$MOAT_ROOT/run/moat/moatd.pid" 2>/dev/null)" = "$moatd_pid" ] &&
    kill -0 "$moatd_pid" 2>/dev/null && "$MOAT" extension ls --json >/dev/null 2>&1; then
    ok "moatd healthy after $1"
  else
    not_ok "moatd healthy after $1" "pid was $moatd_pid"
    harness_logs 40
  fi
}
sbx() { "$MOAT" extension call sbx "$@" 2>&1; }
state() { "$MOAT" extension ls --json | jq -r '.[] | select(.name == "sbx") | .sandbox.state'; }
# wait_ready: past the backoff of the last failure (state no longer backoff).
wait_ready() {
  local i
  for i in $(seq 100); do
    [ "$(state)" != backoff ] && return 0
    sleep 0.1
  done
}

# The interactive prompt (a terminal through script(1)) shows the scopes
# requested and those the administrator's pin leaves; "n" installs nothing.
out=$(printf 'n\n' | script -qec "$MOAT extension install acme/sbx:1" /dev/null 2>&1)
case $out in
  *'requests the scopes'*'"docker"'*'would be granted'*'"log"'*'not confirmed'*) ok "prompt shows requested and granted scopes" ;;
  *) not_ok "prompt shows requested and granted scopes" "$out" ;;
esac
check_fails "declined: not installed" test -d "$EXT/sbx"
out=$("$MOAT" extension install -f acme/sbx:1 2>&1)
check "install" test $? -eq 0
case $out in
  *'sandbox scopes granted:'*'"log"'*) ok "install shows the granted scopes" ;;
  *) not_ok "install shows the granted scopes" "$out" ;;
esac
g=$(jq -c '.sandbox.grants | keys' "$EXT/sbx/extension.json")
[ "$g" = '["log","request","sleep","storage"]' ] && ok "docker is not granted (admin pin)" ||
  not_ok "docker is not granted (admin pin)" "$g"
check "script installed" test -f "$EXT/sbx/sandbox.js"

# ---- routes and scopes ----
check_output "route" "hello world" "$MOAT" extension call sbx GET '/sandbox/hello?world'
out=$(sbx POST /echo --data '{"a":1}')
[ "$out" = '{"a":1}' ] && ok "POST body round trip" || not_ok "POST body round trip" "$out"
out=$(sbx GET /nope)
case $out in *"no route GET /nope"*"status 404"*) ok "unknown route: 404" ;; *) not_ok "unknown route: 404" "$out" ;; esac
check_output "log scope" "logged" "$MOAT" extension call sbx GET /log
out=$(sbx GET /docker)
case $out in
  'no permission to access "docker"'*"status 403"*) ok "docker outside the grants: exact message" ;;
  *) not_ok "docker outside the grants: exact message" "$out" ;;
esac
out=$(sbx GET /escape)
case $out in *'no host function `exec`'*) ok "unknown host function refused" ;; *) not_ok "unknown host function refused" "$out" ;; esac

# ---- request: globs, egress policy ----
out=$(sbx GET '/fetch?http://10.79.0.1:8099/pub/hello.txt')
case $out in *'"status":200'*'public'*) ok "request in the globs, direct by policy" ;; *) not_ok "request in the globs, direct by policy" "$out" ;; esac
out=$(sbx GET '/fetch?http://10.79.0.1:8099/pub/big.txt')
case $out in *"response over 1 MiB"*) ok "a response one byte over 1 MiB is refused" ;; *) not_ok "a response one byte over 1 MiB is refused" "$(head -c 300 <<<"$out")" ;; esac
out=$(sbx GET '/fetch?http://10.79.0.1:8099/secret.txt')
case $out in
  'no permission to access "request"'*) ok "request outside the globs refused" ;;
  *) not_ok "request outside the globs refused" "$out" ;;
esac
# Tricks that match a glob as text but name another path or host.
for u in 'http://10.79.0.1:8099/pub/../secret.txt' 'http://10.79.0.1:8099/pub/%2e%2e/secret.txt' \
  'http://10.79.0.1:8099/pub/..%2fsecret.txt' 'http://10.79.0.1:8099@10.79.0.2:8099/pub/hello.txt' \
  'http://10.79.0.2:8099/pub/@10.79.0.1:8099/pub/hello.txt'; do
  out=$(sbx GET "/fetch?$u")
  case $out in
    'no permission to access "request"'* | *"without a user part"* | *'enhanced container isolation: '*) ok "path/host trick refused: $u" ;;
    *) not_ok "path/host trick refused: $u" "$out" ;;
  esac
done
out=$(sbx GET '/fetch?http://10.79.0.2:8099/pub/hello.txt')
case $out in
  *'enhanced container isolation: '*'egress policy'*) ok "request the egress policy refuses: refused" ;;
  *) not_ok "request the egress policy refuses: refused" "$out" ;;
esac
out=$(sbx GET '/fetch?http://127.0.0.1:7979/')
case $out in
  *'enhanced container isolation: '*'loopback'*) ok "request to loopback refused" ;;
  *) not_ok "request to loopback refused" "$out" ;;
esac
if grep -q "GET" "$HARNESS_DIR/www2.log" 2>/dev/null; then
  not_ok "the refused server saw nothing" "$(cat "$HARNESS_DIR/www2.log")"
else
  ok "the refused server saw nothing"
fi
if grep -q "secret" "$HARNESS_DIR/www1.log" 2>/dev/null; then
  not_ok "the URL outside the globs was never fetched"
else
  ok "the URL outside the globs was never fetched"
fi

# ---- storage ----
check_output "storage set/get" '{"v":"1"}' "$MOAT" extension call sbx GET '/put?k=1'
# 256 KiB a call (one call stays well inside the time limit under ASan):
# the fourth value takes the extension past 1 MiB.
for i in 1 2 3; do sbx GET "/fill?$i" >/dev/null; done
out=$(sbx GET /fill?4)
case $out in *"over the cap"*"status 403"*) ok "storage over the cap refused" ;; *) not_ok "storage over the cap refused" "$out" ;; esac
check_output "storage kept after the refusal" '{"v":"1"}' "$MOAT" extension call sbx GET '/get?k'
check "storage file in the extension's data dir" test -f "$EXT/sbx/data/sandbox.sqlite"

# ---- hostile scripts ----
t0=$(date +%s%N)
out=$(sbx GET /loop)
t1=$(date +%s%N)
case $out in *"timed out"*"status 504"*) ok "infinite loop: 504" ;; *) not_ok "infinite loop: 504" "$out" ;; esac
[ $(((t1 - t0) / 1000000)) -lt 5000 ] && ok "infinite loop ended within the time limit" ||
  not_ok "infinite loop ended within the time limit" "$(((t1 - t0) / 1000000)) ms"
out=$(sbx GET '/hello?x')
t2=$(date +%s%N)
case $out in
  *"restarting"*"status 503"*) ok "backoff right after a failure: 503" ;;
  *)
    # The backoff is 1 s: an ASan CLI on a loaded machine can take longer
    # than that to make the next call (the last one's exit, with its leak
    # check, comes after the failure too, so time up to this call's end).
    if [ $(((t2 - t1) / 1000000)) -ge 900 ]; then
      skip "backoff right after a failure: 503" "the next call ended $(((t2 - t1) / 1000000)) ms later (machine too slow)"
    else
      not_ok "backoff right after a failure: 503" "$out"
    fi ;;
esac
healthy "infinite loop"
wait_ready
check_output "restarted after the backoff" "hello again" "$MOAT" extension call sbx GET '/hello?again'
check_output "storage survives a restart" '{"v":"1"}' "$MOAT" extension call sbx GET '/get?k'

out=$(sbx GET /bigalloc)
case $out in *"out of memory"*"status 502"*) ok "1 GiB at once: 502 out of memory" ;; *) not_ok "1 GiB at once: 502 out of memory" "$out" ;; esac
healthy "1 GiB allocation"
wait_ready
# Filling 100 MB page by page can take longer than the 1 s limit on a slow
# machine: out of memory or timed out, the sandbox ends either way.
out=$(sbx GET /membomb)
case $out in *"out of memory"*"status 502"* | *"timed out"*"status 504"*) ok "memory bomb: ends that sandbox" ;; *) not_ok "memory bomb: ends that sandbox" "$out" ;; esac
healthy "memory bomb"
wait_ready

out=$(sbx GET /recurse)
case $out in *RangeError*"status 500"*) ok "deep recursion: RangeError" ;; *) not_ok "deep recursion: RangeError" "$out" ;; esac
healthy "deep recursion"
wait_ready

out=$(sbx GET /hugestring)
case $out in *"status 50"[024]*) ok "huge strings: the call fails" ;; *) not_ok "huge strings: the call fails" "$out" ;; esac
healthy "huge strings"
wait_ready

out=$(sbx GET /sleep)
case $out in *"status 504"*) ok "sleep past the time limit: 504" ;; *) not_ok "sleep past the time limit: 504" "$out" ;; esac
healthy "sleep past the limit"
wait_ready
check_output "works after the hostile calls" "hello still" "$MOAT" extension call sbx GET '/hello?still'

# ---- quarantine ----
for i in 1 2 3 4 5; do
  wait_ready
  sbx GET /loop >/dev/null
done
check_output "quarantined after 5 failures in a row (ls --json)" quarantined state
out=$(sbx GET '/hello?x')
case $out in *"quarantined"*"status 503"*) ok "a quarantined sandbox is not called" ;; *) not_ok "a quarantined sandbox is not called" "$out" ;; esac
check_output "ls says so" "quarantined" "$MOAT" extension ls
healthy "quarantine"

# ---- callers ----
harness_docker_user sbx
out=$(as_user "$MOAT" extension call sbx GET /hello 2>&1)
case $out in *"only root"*) ok "a non-root caller is refused" ;; *) not_ok "a non-root caller is refused" "$out" ;; esac
out=$("$MOAT" extension call nosuch GET /hello 2>&1)
case $out in *"no extension \`nosuch\` installed"*) ok "unknown extension" ;; *) not_ok "unknown extension" "$out" ;; esac

# ---- rm and reinstall: quarantine lifted, storage gone ----
check "rm" "$MOAT" extension rm sbx
check "reinstall" "$MOAT" extension install -f acme/sbx:1
check_output "reinstalled sandbox runs" "hello back" "$MOAT" extension call sbx GET '/hello?back'
check_output "storage gone after rm" "null" "$MOAT" extension call sbx GET '/get?k'
audit=$("$MOAT" audit --json 2>/dev/null | grep -c 'extension.call' || true)
[ "${audit:-0}" -gt 0 ] && ok "calls are audited" || not_ok "calls are audited" "$audit"

harness_done
