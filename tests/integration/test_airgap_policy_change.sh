#!/usr/bin/env bash
# A policy change reaches connections that are already open.  A container
# keeps two connections relayed by the net guard (DIRECT under port-scoped
# exclusions, which the guard decides, not nft) sending a line every
# 200 ms to sinks in a namespace of the test's own (S).  The admin then
# removes one exclusion: that connection must stop delivering bytes
# (the guard resets it), the other, still allowed, must keep going.
# Before the fix the guard kept relaying every connection it had decided
# under the old policy, for as long as the container held it open.
# Then the same with a PAC, once its decisions left the PAC's decision
# cache (30 s): the guard's workers decide the open connections again; and
# a PAC whose script changes under the same URL.
. "$(dirname "$0")/../lib/harness.sh"
harness_init

harness_peer_netns 10.81.0 2 5
S=$HARNESS_PEER_NETNS
H=$HARNESS_NETNS
adm=$MOAT_ROOT/etc/moat/admin-settings.json
mkdir -p "$MOAT_ROOT/etc/moat"
write_admin() { # EXCLUDE-JSON-LIST [PAC-URL]
  local pac=
  [ -n "${2:-}" ] && pac="\"pac\": \"$2\","
  cat >"$adm.tmp" <<J
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     $pac
                     "exclude": $1, "transparentPorts": "*"}}
J
  chmod 0644 "$adm.tmp" && mv "$adm.tmp" "$adm"
}
write_admin '["10.81.0.2:8080", "10.81.0.5:8080"]'


# The sinks: every byte received on ADDR:8080 is appended to sink.ADDR.
cat >"$HARNESS_DIR/sink.py" <<'PY'
import socket, sys, threading
def serve(c, path):
    with open(path, "ab", buffering=0) as f:
        while True:
            b = c.recv(4096)
            if not b:
                return
            f.write(b)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(16)
while True:
    c, _ = s.accept()
    path = "%s/sink.%s" % (sys.argv[1], c.getsockname()[0])
    threading.Thread(target=serve, args=(c, path), daemon=True).start()
PY
harness_spawn sink ip netns exec "$S" /usr/bin/python3 "$HARNESS_DIR/sink.py" "$HARNESS_DIR" >/dev/null

harness_up
harness_busybox

size() { stat -c %s "$HARNESS_DIR/sink.$1" 2>/dev/null || echo 0; }
for a in 10.81.0.2 10.81.0.5; do
  docker run -d --name "keep-${a##*.}" busybox sh -c \
    "while :; do echo x; sleep 0.2; done | nc $a 8080" >/dev/null ||
    not_ok "start the container talking to $a" "docker run failed"
done
for _ in $(seq 100); do
  [ "$(size 10.81.0.2)" -gt 10 ] && [ "$(size 10.81.0.5)" -gt 10 ] && break
  sleep 0.2
done
[ "$(size 10.81.0.5)" -gt 10 ] && [ "$(size 10.81.0.2)" -gt 10 ] \
  && ok "both connections relayed DIRECT under the first policy" \
  || not_ok "both connections relayed DIRECT under the first policy" \
       "sink.2=$(size 10.81.0.2) sink.5=$(size 10.81.0.5)" "$("$MOAT" audit -n 10)"

# The admin takes 10.81.0.5 out of the exclude list.
write_admin '["10.81.0.2:8080"]'
applied=no
for _ in $(seq 100); do
  v=$("$MOAT" settings show --json | jq -r '.[] | select(.key=="containersProxy.exclude") | .value | tostring')
  case $v in *10.81.0.5*) sleep 0.1 ;; *) applied=yes; break ;; esac
done
[ $applied = yes ] && ok "the new policy is in force" || not_ok "the new policy is in force" "exclude: $v"
# moatd hands the policy to the guard right after publishing it.
sleep 2
s5=$(size 10.81.0.5); s2=$(size 10.81.0.2)
sleep 3
[ "$(size 10.81.0.5)" = "$s5" ] && ok "the connection the new policy refuses stops at the change" \
  || not_ok "the connection the new policy refuses stops at the change" \
       "sink.5 grew $s5 -> $(size 10.81.0.5) after the policy refused it" "$("$MOAT" audit -n 10)"
[ "$(size 10.81.0.2)" -gt "$s2" ] && ok "the connection the new policy still allows keeps going" \
  || not_ok "the connection the new policy still allows keeps going" \
       "sink.2 stayed at $s2" "$("$MOAT" audit -n 10)"
"$MOAT" audit --json -n 50 | jq -e -s 'map(select(.component=="net" and (.endpoint|startswith("10.81.0.5")) and (tostring|test("policy changed")))) | length > 0' >/dev/null \
  && ok "the cut connection is audited with the policy change as its reason" \
  || not_ok "the cut connection is audited with the policy change as its reason" "$("$MOAT" audit --json -n 10)"
# A new connection to the refused address is refused as usual.
docker run --rm busybox sh -c 'echo y | nc -w 2 10.81.0.5 8080' >/dev/null 2>&1
s5b=$(size 10.81.0.5)
[ "$s5b" = "$(size 10.81.0.5)" ] && [ "$s5b" = "$s5" ] && ok "a new connection to it is refused" \
  || not_ok "a new connection to it is refused" "sink.5 $s5 -> $s5b"
docker rm -f keep-2 keep-5 >/dev/null 2>&1

# With a PAC: it routes 10.81.0.2 DIRECT and rejects the rest; exclude
# lets 10.81.0.5 through, until the admin takes it out.
cat >"$MOAT_ROOT/etc/moat/t.pac" <<'PAC'
function FindProxyForURL(url, host) {
  return host == "10.81.0.2" ? "DIRECT" : "PROXY reject.docker.internal:1";
}
PAC
# Served over HTTP on this machine's loopback (moatd fetches from its own
# namespace), from the file, after 4 s while $HARNESS_DIR/slow exists.
cat >"$HARNESS_DIR/pacd.py" <<'PY'
import http.server, os, sys, time
d, pac = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if os.path.exists(d + "/slow"):
            time.sleep(4)
        body = open(pac, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ns-proxy-autoconfig")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *a):
        sys.stderr.write("%s\n" % (fmt % a)); sys.stderr.flush()
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(d + "/pacd.port", "w").write("%d\n" % s.server_address[1])
s.serve_forever()
PY
harness_spawn pacd /usr/bin/python3 -u "$HARNESS_DIR/pacd.py" "$HARNESS_DIR" "$MOAT_ROOT/etc/moat/t.pac" >/dev/null
for _ in $(seq 50); do [ -s "$HARNESS_DIR/pacd.port" ] && break; sleep 0.1; done
pac=http://127.0.0.1:$(head -1 "$HARNESS_DIR/pacd.port")/t.pac
write_admin '["10.81.0.5:8080"]' "$pac"
for _ in $(seq 100); do
  "$MOAT" settings show --json | jq -e '.[] | select(.key=="containersProxy.pac") | .value | tostring | test("t.pac")' >/dev/null && break
  sleep 0.1
done
sleep 1
rm -f "$HARNESS_DIR/sink.10.81.0.2" "$HARNESS_DIR/sink.10.81.0.5"
for a in 10.81.0.2 10.81.0.5; do
  docker run -d --name "pac-${a##*.}" busybox sh -c \
    "while :; do echo x; sleep 0.2; done | nc $a 8080" >/dev/null ||
    not_ok "PAC: start the container talking to $a" "docker run failed"
done
for _ in $(seq 100); do
  [ "$(size 10.81.0.2)" -gt 10 ] && [ "$(size 10.81.0.5)" -gt 10 ] && break
  sleep 0.2
done
[ "$(size 10.81.0.5)" -gt 10 ] && [ "$(size 10.81.0.2)" -gt 10 ] \
  && ok "PAC: both connections relayed (PAC DIRECT, exclude)" \
  || not_ok "PAC: both connections relayed (PAC DIRECT, exclude)" \
       "sink.2=$(size 10.81.0.2) sink.5=$(size 10.81.0.5)" "$("$MOAT" audit -n 10)"
# Past the PAC decision cache's 30 s: a re-decision needs a worker.
sleep 32
write_admin '[]' "$pac"
for _ in $(seq 100); do
  v=$("$MOAT" settings show --json | jq -r '.[] | select(.key=="containersProxy.exclude") | .value | tostring')
  case $v in *10.81.0.5*) sleep 0.1 ;; *) break ;; esac
done
sleep 3
s5=$(size 10.81.0.5); s2=$(size 10.81.0.2)
sleep 3
[ "$(size 10.81.0.5)" = "$s5" ] && ok "PAC: the connection the PAC rejects stops once exclude no longer names it" \
  || not_ok "PAC: the connection the PAC rejects stops once exclude no longer names it" \
       "sink.5 grew $s5 -> $(size 10.81.0.5)" "$("$MOAT" audit -n 10)"
[ "$(size 10.81.0.2)" -gt "$s2" ] && ok "PAC: the connection the PAC still routes DIRECT keeps going" \
  || not_ok "PAC: the connection the PAC still routes DIRECT keeps going" \
       "sink.2 stayed at $s2" "$("$MOAT" audit -n 10)"

# The PAC's content changes under the same URL: it now rejects 10.81.0.2
# too.  A settings change makes moatd fetch it again (as its 5-minute
# refresh does), and the server takes 4 s: when the settings change
# reaches the guard the PAC's cache still holds the old answer (DIRECT).
# The open connection must stop once the new script is loaded.
touch "$HARNESS_DIR/slow"
cat >"$MOAT_ROOT/etc/moat/t.pac.new" <<'PAC'
function FindProxyForURL(url, host) { return "PROXY reject.docker.internal:1"; }
PAC
mv "$MOAT_ROOT/etc/moat/t.pac.new" "$MOAT_ROOT/etc/moat/t.pac"
write_admin '["192.0.2.1"]' "$pac"
for _ in $(seq 100); do
  "$MOAT" settings show --json | jq -e '.[] | select(.key=="containersProxy.exclude") | .value | tostring | test("192.0.2.1")' >/dev/null && break
  sleep 0.1
done
sleep 7
s2=$(size 10.81.0.2)
sleep 3
[ "$(size 10.81.0.2)" = "$s2" ] && ok "PAC: a new script under the same URL stops the connection it now rejects" \
  || not_ok "PAC: a new script under the same URL stops the connection it now rejects" \
       "sink.2 grew $s2 -> $(size 10.81.0.2)" "$("$MOAT" audit -n 10)"
docker rm -f pac-2 pac-5 >/dev/null 2>&1
harness_done
