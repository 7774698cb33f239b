#!/usr/bin/env bash
# moatd fetches the PAC off its main thread: a PAC server that stalls 8 s
# must not delay the control socket (ping, moat status) meanwhile; while the
# fetch runs, connections fail closed and `moat status` says the PAC is
# being fetched; once it arrives it is applied and audited; a newer policy
# wins over a fetch still in progress; moatd stops promptly mid-fetch.
# The PAC server is the test's own, on 127.0.0.1; moatd's net guard runs in
# a network namespace the test creates (its nft rules land there).
. "$(dirname "$0")/../lib/harness.sh"
harness_init
B=$MOAT_BUILD
root=$MOAT_ROOT
ns=$HARNESS_NETNS
moatd_pid=

# PAC server: /slow.pac answers after 8 s, /slow2.pac after 8 s too,
# /good.pac at once.
cat >"$root/pacd.py" <<'PY'
import http.server, sys, time
PAC = b'function FindProxyForURL(u, h) { return "DIRECT"; }\n'
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/slow"):
            time.sleep(8)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ns-proxy-autoconfig")
        self.send_header("Content-Length", str(len(PAC)))
        self.end_headers()
        self.wfile.write(PAC)
    def log_message(self, fmt, *a):
        sys.stderr.write("%s\n" % (fmt % a)); sys.stderr.flush()
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 -u "$root/pacd.py" >"$root/pacd.port" 2>"$root/pacd.log" &
harness_track pacd $!
for _ in $(seq 50); do [ -s "$root/pacd.port" ] && break; sleep 0.1; done
port=$(head -1 "$root/pacd.port")
[ -n "$port" ] || harness_bail "PAC server started" "$(cat "$root/pacd.log")"

adm=$root/etc/moat/admin-settings.json
write_admin() { cat >"$adm.new"; chmod 0644 "$adm.new"; mv "$adm.new" "$adm"; }
pac_policy() {
  write_admin <<J
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "pac": "http://127.0.0.1:$port/$1", "transparentPorts": "80,443"}}
J
}
ctl() { printf '%s\n' "$1" | timeout 10 socat -t 10 - UNIX-CONNECT:"$root/run/moat/moatd.sock"; }
ms_now() { date +%s%3N; }
pac_error() { "$B/moat" status --json | jq -r '[.errors[]? | select(.component=="pac") | .message] | join("; ")'; }

pac_policy slow.pac
t0=$(ms_now)
"$B/moatd" --container-cidrs 10.99.0.0/24 --engine-netns "$ns" --net-port 15991 \
  >"$root/moatd.log" 2>&1 &
moatd_pid=$!
harness_track moatd "$moatd_pid"
up=
for _ in $(seq 100); do
  if ctl '{"cmd":"ping"}' 2>/dev/null | grep -q '"ok": *true'; then up=1; break; fi
  kill -0 "$moatd_pid" 2>/dev/null || break
  sleep 0.05
done
t_up=$(( $(ms_now) - t0 ))
[ -n "$up" ] && ok "moatd answers while its first PAC fetch stalls (${t_up} ms after start)" \
  || harness_bail "moatd answers while its first PAC fetch stalls" "$(tail -20 "$root/moatd.log")"
[ "$t_up" -lt 5000 ] && ok "startup not held by the PAC fetch (${t_up} ms < 5000)" \
  || not_ok "startup not held by the PAC fetch (${t_up} ms)"

# Ping and status, repeatedly, during the stall.
worst=0
for _ in 1 2 3 4 5; do
  a=$(ms_now); ctl '{"cmd":"ping"}' >/dev/null; "$B/moat" status --json >/dev/null; b=$(ms_now)
  [ $((b - a)) -gt "$worst" ] && worst=$((b - a))
  sleep 0.5
done
[ "$worst" -lt 2000 ] && ok "ping + status during the stall: worst ${worst} ms (< 2000)" \
  || not_ok "ping + status during the stall: worst ${worst} ms (< 2000)"
msg=$(pac_error)
echo "$msg" | grep -q "fetching PAC" && ok "status: the PAC is being fetched (fail closed meanwhile)" \
  || not_ok "status: the PAC is being fetched" "errors: $msg"

# The slow answer arrives: applied, audited.
loaded=
for _ in $(seq 120); do [ -z "$(pac_error)" ] && { loaded=1; break; }; sleep 0.1; done
[ -n "$loaded" ] && ok "the stalled PAC is applied when it arrives ($(( $(ms_now) - t0 )) ms after start)" \
  || not_ok "the stalled PAC is applied when it arrives" "errors: $(pac_error)"
sleep 0.3
"$B/moat" audit --json -n 50 | jq -e -s 'map(select(.rule=="containersProxy.pac" and .outcome=="applied")) | length > 0' >/dev/null \
  && ok "audit: PAC applied" || not_ok "audit: PAC applied" "$("$B/moat" audit -n 10)"

# A newer policy wins over a fetch in progress: slow2 is requested, then
# good.pac right away; good.pac is applied and slow2's late answer changes
# nothing (the status stays clean after it would have arrived).
pac_policy slow2.pac
for _ in $(seq 50); do pac_error | grep -q slow2 && break; sleep 0.1; done
pac_policy good.pac
ok_good=
for _ in $(seq 50); do
  [ "$("$B/moat" settings show --json | jq -r '.[] | select(.key=="containersProxy.pac") | .value')" = "http://127.0.0.1:$port/good.pac" ] \
    && [ -z "$(pac_error)" ] && { ok_good=1; break; }
  sleep 0.1
done
[ -n "$ok_good" ] && ok "a newer PAC URL is applied while an older fetch stalls" \
  || not_ok "a newer PAC URL is applied while an older fetch stalls" "errors: $(pac_error)"

# Stop mid-fetch: request slow.pac again, then SIGTERM.
pac_policy slow.pac
for _ in $(seq 50); do pac_error | grep -q "fetching" && break; sleep 0.1; done
a=$(ms_now)
kill -TERM "$moatd_pid"; wait "$moatd_pid"; rc=$?
b=$(ms_now)
moatd_pid=
[ "$rc" -eq 0 ] && [ $((b - a)) -lt 4000 ] && ok "moatd stops promptly during a fetch ($((b - a)) ms, rc=$rc)" \
  || not_ok "moatd stops promptly during a fetch ($((b - a)) ms, rc=$rc)" "$(tail -20 "$root/moatd.log")"
grep -qE 'Sanitizer|runtime error' "$root/moatd.log" \
  && not_ok "moatd ran clean (no sanitizer report)" "$(grep -A20 -E 'Sanitizer|runtime error' "$root/moatd.log" | head -40)" \
  || ok "moatd ran clean (no sanitizer report)"
harness_done
