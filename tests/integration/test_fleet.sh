#!/usr/bin/env bash
# Signed fleet policy (docs/fleet.md): moatd without an engine fetches the
# admin settings and their Ed25519 signature from an HTTP server this test
# starts on 127.0.0.1, applies a verified copy in place of the local
# admin-settings.json, keeps the last good copy for every bad answer
# (tampered, wrong signature length, signed but invalid, older serial,
# redirect, HTML page, server down, bytes dripping), uses it after a
# restart with the server down, and ignores a fleet.json others can write.
# Network: only the python server below, on 127.0.0.1.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
B=$MOAT_BUILD
root=$MOAT_ROOT
www=$HARNESS_DIR/www
keys=$HARNESS_DIR/keys
mkdir -p "$www" "$keys"
moatd_pid=
n=0

for t in openssl python3 jq socat; do
  command -v $t >/dev/null || { skip "fleet" "$t is not installed"; harness_done; }
done

# ---- the server: files from $www; $www/.mode changes how it answers ----
cat >"$HARNESS_DIR/server.py" <<'PY'
import hashlib, http.server, os, sys, time
www, port_file = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        code = a[2] if len(a) > 2 and a[0].startswith('"') else "-"
        sys.stderr.write("%s inm=%s ims=%s code=%s\n" % (self.path, self.headers.get("If-None-Match"),
                                                           self.headers.get("If-Modified-Since"), code))
        sys.stderr.flush()
    def do_GET(self):
        try:
            mode = open(os.path.join(www, ".mode")).read().strip()
        except OSError:
            mode = "normal"
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.2:9/admin-settings.json")
            self.end_headers()
            return
        if mode == "html":
            body = b"<html><body>502 Bad Gateway</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if mode == "big":
            body = b" " * (2 * 1024 * 1024)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass
            return
        if mode == "drip":
            self.send_response(200)
            self.send_header("Content-Length", "4096")
            self.end_headers()
            for _ in range(60):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(1)
            return
        name = os.path.basename(self.path)
        try:
            body = open(os.path.join(www, name), "rb").read()
        except OSError:
            self.send_error(404)
            return
        if mode == "ims":
            # No ETag; 304 only to If-Modified-Since naming this copy's date.
            lm = "Sun, 06 Dec 2026 %02d:00:00 GMT" % (int(hashlib.sha256(body).hexdigest()[:4], 16) % 24)
            if self.headers.get("If-Modified-Since") == lm:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Last-Modified", lm)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[3]) if len(sys.argv) > 3 else 0), H)
s.daemon_threads = True
open(port_file + ".tmp", "w").write(str(s.server_address[1]))
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
PY
port=
start_server() {
  rm -f "$HARNESS_DIR/port"
  harness_spawn fleetsrv python3 "$HARNESS_DIR/server.py" "$www" "$HARNESS_DIR/port" $port >/dev/null
  for _ in $(seq 50); do [ -s "$HARNESS_DIR/port" ] && break; sleep 0.1; done
  port=$(cat "$HARNESS_DIR/port" 2>/dev/null)
  [ -n "$port" ]
}
start_server || harness_bail "the test's HTTP server starts" "$(cat "$HARNESS_DIR/fleetsrv.log")"
srvlog=$HARNESS_DIR/fleetsrv.log

# ---- keys and signing, as an admin would with the openssl CLI ----
openssl genpkey -algorithm ed25519 -out "$keys/fleet.pem" 2>/dev/null
openssl pkey -in "$keys/fleet.pem" -pubout -out "$keys/fleet.pub" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$keys/other.pem" 2>/dev/null
sign() { # FILE [KEY]: FILE.sig, the raw 64-byte signature
  openssl pkeyutl -sign -inkey "${2:-$keys/fleet.pem}" -rawin -in "$1" -out "$1.sig"
}
# publish SERIAL EXCLUDE: a signed copy with that serial.
publish() {
  cat >"$www/admin-settings.json.new" <<J
{"configurationFileVersion": 2, "fleetSerial": $1,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "exclude": ["$2"], "transparentPorts": "80,443"},
 "filesharingDirectories": {"locked": true, "value": ["/home"]}}
J
  sign "$www/admin-settings.json.new"
  mv "$www/admin-settings.json.new.sig" "$www/admin-settings.json.sig"
  mv "$www/admin-settings.json.new" "$www/admin-settings.json"
}
mode() { echo "$1" >"$www/.mode"; }

# ---- moatd ----
ctl() { printf '%s\n' "$1" | timeout 5 socat -t 5 - UNIX-CONNECT:"$root/run/moat/moatd.sock"; }
status() { ctl '{"cmd":"status"}'; }
fleet() { status | jq -r ".fleet.$1"; }
start_moatd() {
  n=$((n + 1))
  "$B/moatd" >"$root/moatd.$n.log" 2>&1 &
  moatd_pid=$!
  harness_track "moatd$n" "$moatd_pid"
  for _ in $(seq 100); do
    "$B/moat" audit -n 1 >/dev/null 2>&1 && return 0
    kill -0 "$moatd_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
stop_moatd() {
  [ -n "$moatd_pid" ] || return 0
  kill -TERM "$moatd_pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$moatd_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$moatd_pid" 2>/dev/null; then
    kill -KILL "$moatd_pid"; not_ok "moatd run $n stops on SIGTERM within 10 s"
  fi
  wait "$moatd_pid" 2>/dev/null
  rc=$?
  if [ $rc -ne 0 ] || grep -qE 'Sanitizer|runtime error' "$root/moatd.$n.log"; then
    not_ok "moatd run $n stopped cleanly" "rc=$rc" "$(tail -30 "$root/moatd.$n.log")"
  else
    ok "moatd run $n stopped cleanly"
  fi
  moatd_pid=
}
# fetch_now: make moatd fetch now (SIGHUP) and wait until it has handled
# the result (the fetch counter moves).
fetch_now() {
  local before after
  before=$(fleet fetches)
  kill -HUP "$moatd_pid"
  for _ in $(seq 150); do
    after=$(fleet fetches)
    [ -n "$after" ] && [ "$after" != null ] && [ "$after" -gt "$before" ] && return 0
    sleep 0.2
  done
  return 1
}
setting() { "$B/moat" settings show --json | jq -r ".[] | select(.key==\"$1\") | \"\(.value | tostring) \(.source) \(.locked)\""; }
fleet_audits() { "$B/moat" audit --json -n 1000 | jq -s "[.[] | select(.rule==\"fleet\" and .outcome==\"$1\")] | length"; }

adm=$root/etc/moat/admin-settings.json
cat >"$adm" <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": false, "value": false}}
J
chmod 0644 "$adm"
pub=$(jq -Rs . <"$keys/fleet.pub")
fj=$root/etc/moat/fleet.json
printf '{"url": "http://127.0.0.1:%s/admin-settings.json", "publicKey": %s, "refreshSeconds": 3600}\n' \
  "$port" "$pub" >"$fj"
chmod 0644 "$fj"
publish 1 "one.example"

# 1. The first fetch applies the signed copy in place of the local file.
start_moatd || harness_bail "moatd starts with fleet.json" "$(cat "$root/moatd.$n.log")"
for _ in $(seq 50); do [ "$(fleet in_force)" = fleet ] && break; sleep 0.2; done
st=$(status)
if [ "$(echo "$st" | jq -r .fleet.in_force)" = fleet ] \
   && [ "$(echo "$st" | jq -r .policy.source)" = fleet ] \
   && [ "$(echo "$st" | jq -r .fleet.fleet_serial)" = 1 ]; then
  ok "the signed fleet copy is in force (status: source fleet, serial 1)"
else not_ok "the signed fleet copy is in force" "$st" "$(tail -20 "$root/moatd.$n.log")"; fi
check_output "settings show names the fleet as the source" "true fleet true" \
  setting enhancedContainerIsolation
check_refused "a setting the fleet locks cannot be changed" "locked by the administrator" \
  "$B/moat" settings set enhancedContainerIsolation false
[ "$(fleet_audits applied)" = 1 ] && ok "the audit records the fleet copy applied" \
  || not_ok "the audit records the fleet copy applied" "$("$B/moat" audit 2>&1 | tail)"
store=$root/var/lib/moat/fleet
if [ "$(stat -c '%u %a' "$store")" = "0 700" ] \
   && [ "$(stat -c '%u %a' "$store/admin-settings.json")" = "0 600" ] \
   && cmp -s "$store/admin-settings.json" "$www/admin-settings.json"; then
  ok "the last good copy is kept root-only (0700 dir, 0600 file)"
else not_ok "the last good copy is kept root-only" "$(ls -la "$store" 2>&1)"; fi
"$B/moat" status >"$HARNESS_DIR/status.txt" 2>&1
grep -q 'in force   fleet copy, fleetSerial 1, since' "$HARNESS_DIR/status.txt" && ok "moat status (human) shows the fleet" \
  || not_ok "moat status (human) shows the fleet" "$(cat "$HARNESS_DIR/status.txt")"

# 2. A refresh of an unchanged copy asks with If-None-Match and gets 304.
fetch_now || not_ok "a refresh happens on SIGHUP"
if grep -q '^/admin-settings.json inm="' "$srvlog" && [ "$(fleet last_fetch)" = unchanged ]; then
  ok "a refresh sends If-None-Match and the copy stays (unchanged)"
else not_ok "a refresh sends If-None-Match" "$(cat "$srvlog")" "$(status | jq .fleet)"; fi

# kept CASE MESSAGE: after a fetch, the copy in force is still serial
# $want and the failure is reported in status.
want=1
kept() {
  local st
  if ! fetch_now; then not_ok "$1: moatd fetched" "$(status | jq .fleet)"; return; fi
  st=$(status)
  if [ "$(echo "$st" | jq -r .fleet.last_fetch)" = failed ] \
     && echo "$st" | jq -r .fleet.last_error | grep -qF "$2" \
     && echo "$st" | jq -r '.errors[] | select(.component=="fleet") | .message' | grep -qF "$2" \
     && [ "$(echo "$st" | jq -r .fleet.in_force)" = fleet ] \
     && [ "$(echo "$st" | jq -r .fleet.fleet_serial)" = "$want" ] \
     && [ "$(echo "$st" | jq -r .policy.source)" = fleet ]; then
    ok "$1: the last good copy stays, status says why"
  else not_ok "$1: the last good copy stays, status says why" "want: $2" "$(echo "$st" | jq '.fleet, .errors')"; fi
}

# 3. Tampered: the file changed after signing.
cp "$www/admin-settings.json" "$HARNESS_DIR/good1.json"
cp "$www/admin-settings.json.sig" "$HARNESS_DIR/good1.json.sig"
sed -i 's/one.example/evil.example/' "$www/admin-settings.json"
kept "tampered file" "signature does not verify"
ex=$(setting containersProxy.exclude)
[ "$ex" = '["one.example"] fleet true' ] && ok "tampered file: the policy is unchanged" \
  || not_ok "tampered file: the policy is unchanged" "$ex"
# Rate-limited audit: the same failure again adds no record.
a1=$(fleet_audits rejected)
fetch_now; fetch_now
a2=$(fleet_audits rejected)
[ "$a1" = 1 ] && [ "$a2" = 1 ] && ok "the audit records a failure once, not once per refresh" \
  || not_ok "the audit records a failure once" "before=$a1 after=$a2"

# 4. Signed by another key.
sign "$www/admin-settings.json" "$keys/other.pem"
kept "signed by another key" "signature does not verify"
# 5. A signature of the wrong length.
head -c 10 /dev/urandom >"$www/admin-settings.json.sig"
kept "signature of the wrong length" "the signature is 10 bytes"
# 6. Signed, valid JSON, invalid settings.
cat >"$www/admin-settings.json" <<'J'
{"configurationFileVersion": 2, "fleetSerial": 5,
 "enhancedContainerIsolation": {"locked": true, "value": "yes"}}
J
sign "$www/admin-settings.json"
kept "signed but invalid settings" "signed, but invalid"
# 7. Signed without a serial.
printf '{"configurationFileVersion": 2}\n' >"$www/admin-settings.json"
sign "$www/admin-settings.json"
kept "signed without fleetSerial" "fleetSerial: missing"
# 8. An HTML error page with 200.
mode html
kept "an HTML page answered with 200" "the signature is"
# 9. A redirect to another host is not followed.
mode redirect
kept "a redirect to another host" "redirects"
mode big
kept "an answer over 1 MiB" "larger than 1048576 bytes"
mode normal

# 10. A newer copy is applied; then the older one is a rollback.
publish 2 "two.example"
fetch_now
ex=$(setting containersProxy.exclude)
[ "$ex" = '["two.example"] fleet true' ] && [ "$(fleet fleet_serial)" = 2 ] \
  && ok "a newer signed copy (serial 2) is applied" \
  || not_ok "a newer signed copy is applied" "$ex" "$(status | jq .fleet)"
want=2
cp "$HARNESS_DIR/good1.json" "$www/admin-settings.json"
cp "$HARNESS_DIR/good1.json.sig" "$www/admin-settings.json.sig"
kept "an older signed copy (replay)" "rollback refused"
publish 2 "other.example"
kept "another copy under the same serial" "rollback refused"
publish 3 "three.example"
fetch_now
want=3
[ "$(setting containersProxy.exclude)" = '["three.example"] fleet true' ] \
  && ok "serial 3 applied after the refused ones" || not_ok "serial 3 applied" "$(status | jq .fleet)"
# 10b. A copy signed (same key, higher serial) for another fleet URL: a
# server, or whoever sits in between, answering with another fleet's policy.
cp "$www/admin-settings.json" "$HARNESS_DIR/good3.json"
cp "$www/admin-settings.json.sig" "$HARNESS_DIR/good3.json.sig"
cat >"$www/admin-settings.json" <<J
{"configurationFileVersion": 2, "fleetSerial": 10,
 "fleetUrl": "http://127.0.0.1:$port/ci/admin-settings.json",
 "enhancedContainerIsolation": {"locked": true, "value": false}}
J
sign "$www/admin-settings.json"
kept "a copy signed for another fleet URL" "fleetUrl: the copy is for"
cp "$HARNESS_DIR/good3.json" "$www/admin-settings.json"
cp "$HARNESS_DIR/good3.json.sig" "$www/admin-settings.json.sig"

# 11. Server down: kept; then a restart with the server still down uses the
# last good copy from disk.
harness_kill fleetsrv
kept "server down" "fetch failed"
stop_moatd
start_moatd || harness_bail "moatd restarts with the server down" "$(cat "$root/moatd.$n.log")"
sleep 1
st=$(status)
if [ "$(echo "$st" | jq -r .fleet.in_force)" = fleet ] && [ "$(echo "$st" | jq -r .fleet.fleet_serial)" = 3 ] \
   && [ "$(setting containersProxy.exclude)" = '["three.example"] fleet true' ]; then
  ok "restart with the server down: the last good copy is in force"
else not_ok "restart with the server down: the last good copy is in force" "$(echo "$st" | jq .fleet)"; fi
check_refused "restart with the server down: fleet locks still enforced" "locked by the administrator" \
  "$B/moat" settings set enhancedContainerIsolation false
# A local admin-settings.json change does not displace the fleet copy.
cat >"$adm" <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": false, "value": false}}
J
sleep 2.5
check_output "a local admin-settings.json change does not replace the fleet copy" "true fleet true" \
  setting enhancedContainerIsolation

# 12. The server comes back: the copy is unchanged, the audit says so.
start_server || not_ok "the test's server restarts"
fetch_now
[ "$(fleet last_fetch)" = unchanged ] && [ "$(fleet failing_since)" = 0 ] \
  && [ "$(fleet_audits recovered)" -ge 1 ] \
  && ok "the server back: fetch ok, failure cleared, audit says recovered" \
  || not_ok "the server back" "$(status | jq .fleet)"

# 13. A server that drips bytes is cut off; moatd keeps answering meanwhile.
mode drip
before=$(fleet fetches)
kill -HUP "$moatd_pid"
t0=$(date +%s%N)
"$B/moat" settings show --json >/dev/null 2>&1 && ok "moatd answers while a fetch drips" \
  || not_ok "moatd answers while a fetch drips"
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -lt 2000 ] || not_ok "moatd answers promptly while a fetch drips" "$(( (t1 - t0) / 1000000 )) ms"
for _ in $(seq 150); do [ "$(fleet fetches)" -gt "$before" ] && break; sleep 0.2; done
st=$(status)
echo "$st" | jq -r .fleet.last_error | grep -q "no complete answer within" \
  && [ "$(echo "$st" | jq -r .fleet.fleet_serial)" = 3 ] \
  && ok "a dripping server is cut off at the deadline; the last good copy stays" \
  || not_ok "a dripping server is cut off" "$(echo "$st" | jq .fleet)"

# 13b. A server without ETags: moatd sends If-Modified-Since with the
# Last-Modified of the copy in force, and takes the 304.
mode ims
publish 4 "four.example"
fetch_now
[ "$(fleet fleet_serial)" = 4 ] && ok "ims: a copy served with Last-Modified and no ETag is applied" \
  || not_ok "ims: the copy is applied" "$(status | jq .fleet)"
: >"$srvlog.mark"; lines=$(wc -l <"$srvlog")
fetch_now
tail -n +$((lines + 1)) "$srvlog" >"$srvlog.mark"
if grep -q '^/admin-settings.json inm=None ims=Sun, 06 Dec 2026 [0-9][0-9]:00:00 GMT code=304' "$srvlog.mark" \
   && [ "$(fleet last_fetch)" = unchanged ] && [ "$(fleet fleet_serial)" = 4 ]; then
  ok "ims: a refresh sends If-Modified-Since (the copy's Last-Modified), gets 304, the copy stays"
else not_ok "ims: a refresh sends If-Modified-Since and gets 304" "$(cat "$srvlog.mark")" "$(status | jq .fleet)"; fi
mode normal
stop_moatd

# 14. A fleet.json others can write is ignored, loudly; the local file rules.
chmod 0666 "$fj"
start_moatd || harness_bail "moatd starts with a world-writable fleet.json" "$(cat "$root/moatd.$n.log")"
st=$(status)
if echo "$st" | jq -r .fleet.config_error | grep -q 'writable' \
   && [ "$(echo "$st" | jq -r .policy.source)" = "$adm" ] \
   && echo "$st" | jq -r '.errors[] | select(.component=="fleet") | .message' | grep -q writable \
   && grep -q 'fleet.json` is ignored' "$root/moatd.$n.log"; then
  ok "a world-writable fleet.json is ignored loudly; the local admin settings rule"
else not_ok "a world-writable fleet.json is ignored loudly" "$(echo "$st" | jq '.fleet, .policy.source, .errors')"; fi
check_output "with fleet.json ignored, settings show the local file" "false admin false" \
  setting enhancedContainerIsolation
stop_moatd

# 15. A fleet.json with a key that is not Ed25519 is refused by name.
chmod 0644 "$fj"
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$keys/rsa.pem" 2>/dev/null
openssl pkey -in "$keys/rsa.pem" -pubout -out "$keys/rsa.pub" 2>/dev/null
printf '{"url": "http://127.0.0.1:%s/admin-settings.json", "publicKey": %s}\n' \
  "$port" "$(jq -Rs . <"$keys/rsa.pub")" >"$fj"
start_moatd || harness_bail "moatd starts with an RSA fleet key" "$(cat "$root/moatd.$n.log")"
status | jq -r .fleet.config_error | grep -q 'publicKey: the key is rsaEncryption, not Ed25519' \
  && ok "a non-Ed25519 fleet key is refused by name" \
  || not_ok "a non-Ed25519 fleet key is refused by name" "$(status | jq .fleet)"
stop_moatd

harness_done
