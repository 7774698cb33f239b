#!/usr/bin/env bash
# Air-gapped containers through the whole stack: moat up's engine, moatd's
# net guard in the engine's network namespace, admin-settings.json
# containersProxy applied live.  A server lives in a namespace of its own
# (S) routed through the engine's namespace; a drop rule in the engine's
# forward path counts anything that leaves un-intercepted (must stay 0).
. "$(dirname "$0")/../lib/harness.sh"
harness_init

harness_peer_netns 10.78.0 2 5
S=$HARNESS_PEER_NETNS
H=$HARNESS_NETNS
adm=$MOAT_ROOT/etc/moat/admin-settings.json
mkdir -p "$MOAT_ROOT/etc/moat"
write_admin() { cat >"$adm.new"; chmod 0644 "$adm.new"; mv "$adm.new" "$adm"; }
harness_airgap_settings

mkdir -p "$HARNESS_DIR/www"
echo "hello from S" >"$HARNESS_DIR/www/index.html"
harness_spawn httpd ip netns exec "$S" /usr/bin/python3 -m http.server \
  --bind 0.0.0.0 --directory "$HARNESS_DIR/www" 80 >/dev/null
# The corporate proxy: tinyproxy in S, with Basic auth.  Like many
# corporate proxies it refuses CONNECT to port 80 (ConnectPort 443 only):
# plain HTTP must reach it in forward mode (absolute-form requests).
cat >"$HARNESS_DIR/tinyproxy.conf" <<CONF
Port 8888
Listen 10.78.0.2
Timeout 30
LogFile "$HARNESS_DIR/tinyproxy.log"
LogLevel Connect
MaxClients 20
Allow 10.78.0.0/24
BasicAuth alice s3cret
ConnectPort 443
CONF
harness_spawn tinyproxy ip netns exec "$S" tinyproxy -d -c "$HARNESS_DIR/tinyproxy.conf" >/dev/null
# The same proxy behind TLS (haproxy, https://10.78.0.2:8443), with a
# certificate from a CA the test makes; moatd trusts that CA through
# /etc/moat/proxy-ca.pem (root-owned), read when it starts.
( cd "$HARNESS_DIR" && ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=moat-test-ca
  openssl req $ec -keyout p.key -out p.csr -subj /CN=10.78.0.2
  printf 'subjectAltName=IP:10.78.0.2\n' > san.ext
  openssl x509 -req -in p.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out p.crt -days 2 -extfile san.ext
  cat p.crt p.key > proxy.pem ) >"$HARNESS_DIR/openssl.log" 2>&1
install -m 0644 "$HARNESS_DIR/ca.pem" "$MOAT_ROOT/etc/moat/proxy-ca.pem"
cat >"$HARNESS_DIR/haproxy.cfg" <<CONF
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend tls
  bind 10.78.0.2:8443 ssl crt $HARNESS_DIR/proxy.pem
  default_backend tiny
backend tiny
  server t 10.78.0.2:8888
CONF
harness_spawn haproxy ip netns exec "$S" haproxy -db -f "$HARNESS_DIR/haproxy.cfg" >/dev/null

# For mode "system": moatd takes the host's proxy settings from the
# environment it starts with (no proxy here, one exclusion).
export NO_PROXY=10.78.0.2
harness_up
harness_busybox

# Leak catcher: TCP from the containers that is forwarded (not redirected
# to the net guard) is dropped and counted — but the excluded host's port
# 80 from a source that belongs on moat0 (IP-literal exclusions are
# forwarded by nft: docs/net-guard.md).
ip netns exec "$H" nft -f - <<'NFT'
table inet moattest {
  counter leaks {}
  chain forward {
    type filter hook forward priority filter + 10; policy accept;
    iifname "moat0" ip daddr 10.78.0.2 tcp dport 80 fib saddr . iif oif exists accept
    iifname "moat0" meta l4proto tcp counter name leaks drop
  }
}
NFT

# fetch DST: one HTTP GET from a container with nc (busybox wget crashes
# when static); prints the reply, if any, then nc's own exit status as
# "nc-exit=N" (proof that the container started and nc ran).
fetch() {
  docker run --rm busybox sh -c \
    "printf 'GET / HTTP/1.0\r\nHost: $1\r\n\r\n' | nc -w 5 $1 80; echo nc-exit=\$?" 2>&1
}
# refusals DST: how many refusals of DST:80 moat audit holds.
refusals() {
  "$MOAT" audit --json -n 1000 2>/dev/null | jq -s --arg e "$1:80" \
    'map(select(.component=="net" and .outcome=="refused" and (.endpoint|startswith($e)))) | length'
}
# tinyproxy tears a tunnel down when the client half-closes, so keep the
# request side open until the answer is in.
fetch_held() {
  docker run --rm busybox sh -c \
    "(printf 'GET / HTTP/1.0\r\nHost: $1\r\n\r\n'; sleep 2) | nc -w 5 $1 80" 2>&1
}
wait_setting() { # KEY VALUE: until moat settings show has it
  for _ in $(seq 60); do
    [ "$("$MOAT" settings show --json | jq -r --arg k "$1" '.[] | select(.key==$k) | .value | tostring')" = "$2" ] && return 0
    sleep 0.2
  done
  return 1
}

# 1. Block all external access.  "At once" is timed inside the container,
# against nc's own 30 s idle timeout: a connection left hanging takes 30 s,
# a reset one returns at once, however loaded the machine is.
before=$(refusals 10.78.0.2)
out=$(docker run --rm busybox sh -c \
  "s=\$(date +%s); printf 'GET / HTTP/1.0\r\nHost: 10.78.0.2\r\n\r\n' | nc -w 30 10.78.0.2 80; echo nc-exit=\$?; echo elapsed=\$(( \$(date +%s) - s ))" 2>&1)
secs=$(echo "$out" | sed -n 's/^elapsed=//p')
check_guard_refused "block-all: the container's connection is refused by the net guard" 10.78.0.2 \
  "$(grep -v '^elapsed=' <<<"$out")" "$before"
[ -n "$secs" ] && [ "$secs" -lt 15 ] && ok "block-all: refused at once (${secs}s in the container)" \
  || not_ok "block-all: refused at once" "$out"
"$MOAT" audit --json -n 200 | jq -e -s 'map(select(.component=="net" and .outcome=="refused" and (.endpoint|startswith("10.78.0.2:80")))) | length > 0' >/dev/null \
  && ok "block-all: refusal in moat audit" || not_ok "block-all: refusal in moat audit" "$("$MOAT" audit -n 20)"

# 2. Allow an internal service (applied live, without a restart).
write_admin <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "exclude": ["10.78.0.2"], "transparentPorts": "80,443"}}
J
wait_setting containersProxy.transparentPorts "80,443" || not_ok "policy change applied"
out=$(fetch 10.78.0.2)
echo "$out" | grep -q 'hello from S' && ok "exclude: the container reaches the excluded server" \
  || not_ok "exclude: the container reaches the excluded server" "$out"
before=$(refusals 10.78.0.5)
out=$(fetch 10.78.0.5)
check_guard_refused "exclude: another destination is refused" 10.78.0.5 "$out" "$before"
# An IP-literal exclusion is decided in nft (docs/net-guard.md): forwarded,
# counted by moat's rule, never seen (nor audited) by the net guard.
n=$(ip netns exec "$H" nft list chain inet moat forward | grep '@exclude4' | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
[ "${n:-0}" -gt 0 ] && ok "exclude: the excluded connection was decided in nft" \
  || not_ok "exclude: the excluded connection was decided in nft" "$(ip netns exec "$H" nft list table inet moat)"
! "$MOAT" audit --json -n 200 | jq -e -s 'map(select(.component=="net" and (.endpoint|startswith("10.78.0.2:80")) and .outcome=="direct")) | length > 0' >/dev/null \
  && ok "exclude: the net guard never saw it" || not_ok "exclude: the net guard never saw it" "$("$MOAT" audit -n 5)"

# 3. A PAC file: DIRECT for one address, reject for the rest.
cat >"$MOAT_ROOT/etc/moat/proxy.pac" <<'PAC'
function FindProxyForURL(url, host) {
  if (isInNet(host, "10.78.0.2", "255.255.255.255")) return "DIRECT";
  return "PROXY reject.docker.internal:1";
}
PAC
write_admin <<J
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "pac": "file://$MOAT_ROOT/etc/moat/proxy.pac", "transparentPorts": "80"}}
J
wait_setting containersProxy.transparentPorts "80" || not_ok "PAC policy applied"
out=$(fetch 10.78.0.2)
echo "$out" | grep -q 'hello from S' && ok "PAC: DIRECT reaches the server" \
  || not_ok "PAC: DIRECT reaches the server" "$out" "$("$MOAT" audit -n 5)"
before=$(refusals 10.78.0.5)
out=$(fetch 10.78.0.5)
check_guard_refused "PAC: reject.docker.internal refuses" 10.78.0.5 "$out" "$before"

# 4. A PAC that cannot be fetched: every connection refused, status says why.
write_admin <<J
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "pac": "file://$MOAT_ROOT/etc/moat/missing.pac", "transparentPorts": "80"}}
J
wait_setting containersProxy.pac "file://$MOAT_ROOT/etc/moat/missing.pac" || not_ok "missing PAC policy applied"
before=$(refusals 10.78.0.2)
out=$(fetch 10.78.0.2)
check_guard_refused "PAC download failure: connections refused" 10.78.0.2 "$out" "$before"
"$MOAT" status --json | jq -e '[.errors[]? | select(.component=="pac")] | length > 0' >/dev/null \
  && ok "PAC download failure: moat status says why" || not_ok "PAC download failure: moat status says why" "$("$MOAT" status --json)"

# 5. Everything through the corporate proxy, with exclusions.
write_admin <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual",
                     "http": "http://alice:s3cret@10.78.0.2:8888",
                     "https": "http://alice:s3cret@10.78.0.2:8888",
                     "exclude": ["localhost", "*.company.local", "10.78.0.9"],
                     "transparentPorts": "80,443"}}
J
wait_setting containersProxy.http "http://alice:s3cret@10.78.0.2:8888" || not_ok "proxy policy applied"
sleep 0.5
out=$(fetch_held 10.78.0.5)
echo "$out" | grep -q 'hello from S' && ok "corporate proxy: the container reaches the server through it" \
  || not_ok "corporate proxy: the container reaches the server through it" "$out" "$(tail -8 "$HARNESS_DIR/tinyproxy.log")"
grep -q 'GET http://10.78.0.5/ HTTP/1.0' "$HARNESS_DIR/tinyproxy.log" && ok "corporate proxy: tinyproxy got an absolute-form request (no CONNECT to port 80)" \
  || not_ok "corporate proxy: tinyproxy got an absolute-form request" "$(tail -5 "$HARNESS_DIR/tinyproxy.log")"
"$MOAT" audit --json -n 50 | jq -e -s 'map(select(.component=="net" and .outcome=="http-forward")) | length > 0' >/dev/null \
  && ok "corporate proxy: audited as http-forward" || not_ok "corporate proxy: audited as http-forward" "$("$MOAT" audit -n 5)"
# Two requests on one connection (HTTP/1.1 keep-alive from the
# container's side; tinyproxy answers the first and closes, so the second
# request must have been rewritten too for tinyproxy to have parsed it
# before closing: check the first, and that nothing unrewritten reached it).
docker run --rm busybox sh -c \
  "(printf 'GET / HTTP/1.1\r\nHost: 10.78.0.5\r\n\r\nGET /index.html HTTP/1.1\r\nHost: 10.78.0.5\r\nConnection: close\r\n\r\n'; sleep 2) | nc -w 5 10.78.0.5 80" >/dev/null 2>&1
! grep -qE '(GET|POST) /' "$HARNESS_DIR/tinyproxy.log" && ok "corporate proxy: no origin-form request ever reached the proxy" \
  || not_ok "corporate proxy: no origin-form request ever reached the proxy" "$(grep -E '(GET|POST) /' "$HARNESS_DIR/tinyproxy.log" | head -3)"
# The same through TLS to the proxy (https://, verified with the CA file).
write_admin <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual",
                     "http": "https://alice:s3cret@10.78.0.2:8443",
                     "https": "https://alice:s3cret@10.78.0.2:8443",
                     "exclude": [], "transparentPorts": "80,443"}}
J
wait_setting containersProxy.http "https://alice:s3cret@10.78.0.2:8443" || not_ok "https proxy policy applied"
sleep 0.5
out=$(fetch_held 10.78.0.5)
echo "$out" | grep -q 'hello from S' && ok "https proxy: the container reaches the server through TLS to the proxy" \
  || not_ok "https proxy: the container reaches the server through TLS to the proxy" "$out" "$("$MOAT" audit -n 3)"
"$MOAT" audit --json -n 50 | jq -e -s 'map(select(.component=="net" and .outcome=="https-forward")) | length > 0' >/dev/null \
  && ok "https proxy: audited as https-forward" || not_ok "https proxy: audited as https-forward" "$("$MOAT" audit -n 5)"

# 6. mode "system": the host's settings (no proxy; NO_PROXY=10.78.0.2).
write_admin <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "system", "transparentPorts": "80"}}
J
wait_setting containersProxy.mode "system" || not_ok "system mode applied"
sleep 0.5
out=$(fetch 10.78.0.2)
echo "$out" | grep -q 'hello from S' && ok "system mode: the host's no_proxy entry goes direct" \
  || not_ok "system mode: the host's no_proxy entry goes direct" "$out" "$("$MOAT" audit -n 3)"
before=$(refusals 10.78.0.5)
out=$(fetch 10.78.0.5)
check_guard_refused "system mode: without a host proxy the rest is refused" 10.78.0.5 "$out" "$before"

leaks=$(ip netns exec "$H" nft list counter inet moattest leaks | sed -n 's/.*packets \([0-9]*\).*/\1/p')
[ "$leaks" = 0 ] && ok "nothing forwarded past interception" || not_ok "nothing forwarded past interception" "leaks=$leaks"

# moat down removes the interception table.
"$MOAT" down >/dev/null 2>&1
# nft's own answer for a table that is not there (not any failure).
check_refused "moat down removes the interception rules" "No such file or directory" \
  ip netns exec "$H" nft list table inet moat
harness_done
