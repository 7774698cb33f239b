#!/usr/bin/env bash
# `moat pac eval`: the real CLI and the real moat-sandbox next to it.
# Network: only a python http.server this test starts on 127.0.0.1; DNS is
# answered by --resolve/--no-dns, so no query leaves the machine.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
tmp=$HARNESS_DIR
expect() { # NAME WANT CMD...: ok when CMD prints exactly WANT
  local name=$1 want=$2 got; shift 2
  got=$("$@" 2>"$tmp/err")
  if [ "$got" = "$want" ]; then ok "$name"; else
    not_ok "$name" "$(printf 'want: %s\ngot:  %s\n' "$want" "$got"; cat "$tmp/err")"; fi
}
fails_with() { # NAME PATTERN CMD...: ok when CMD fails saying PATTERN (BRE)
  local name=$1 pat=$2 rc; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ "$rc" -ne 0 ] && grep -q -- "$pat" "$tmp/err"; then ok "$name"; else
    not_ok "$name" "rc=$rc" "$(cat "$tmp/out" "$tmp/err")"; fi
}

cat > "$tmp/corp.pac" <<'PAC'
function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || dnsDomainIs(host, ".company.local"))
    return "DIRECT";
  if (isInNet(host, "10.0.0.0", "255.0.0.0")) return "DIRECT";
  if (shExpMatch(host, "*.blocked.example")) return "PROXY reject.docker.internal:9";
  if (url.substring(0, 6) == "https:") return "PROXY proxy.corp:3128; DIRECT";
  return "SOCKS5 socks.corp:1080";
}
PAC

"$MOAT" pac eval --help | grep -q 'Usage: moat pac eval --pac FILE URL \[HOST\]' \
  && ok "help" || not_ok "help"
expect "plain host direct" "DIRECT" "$MOAT" pac eval --no-dns --pac "$tmp/corp.pac" http://intranet/
expect "domain direct" "DIRECT" "$MOAT" pac eval --no-dns --pac "$tmp/corp.pac" https://git.company.local:443
expect "https via proxy" "PROXY proxy.corp:3128; DIRECT" \
  "$MOAT" pac eval --no-dns --pac "$tmp/corp.pac" https://www.example.org:443
expect "http via socks" "SOCKS5 socks.corp:1080" \
  "$MOAT" pac eval --no-dns --pac "$tmp/corp.pac" http://www.example.org:80
expect "reject" "PROXY reject.docker.internal:9" \
  "$MOAT" pac eval --no-dns --pac "$tmp/corp.pac" http://x.blocked.example/
expect "dns via --resolve" "DIRECT" \
  "$MOAT" pac eval --resolve db.example=10.3.3.3 --pac "$tmp/corp.pac" http://db.example/
expect "explicit HOST" "DIRECT" \
  "$MOAT" pac eval --no-dns --pac "$tmp/corp.pac" http://www.example.org/ intranet
expect "ipv6 url host" "SOCKS5 socks.corp:1080" \
  "$MOAT" pac eval --no-dns --pac "$tmp/corp.pac" 'http://[2001:db8::1]:80/'

cat > "$tmp/ex.pac" <<'PAC'
function FindProxyForURL(url, host) { return "PROXY old:1"; }
function FindProxyForURLEx(url, host) {
  return "PROXY " + sortIpAddressList("10.0.0.2;::1") .split(";")[1] + ":2; DIRECT";
}
PAC
expect "FindProxyForURLEx preferred" "PROXY 10.0.0.2:2; DIRECT" \
  "$MOAT" pac eval --no-dns --pac "$tmp/ex.pac" http://a.example/

cat > "$tmp/me.pac" <<'PAC'
function FindProxyForURL(url, host) { return "PROXY " + myIpAddress() + ":1"; }
PAC
expect "myIpAddress" "PROXY 172.17.0.9:1" \
  "$MOAT" pac eval --no-dns --my-ip 172.17.0.9 --pac "$tmp/me.pac" http://a.example/

echo 'function FindProxyForURL(url, host) { return "DIRECT" ' > "$tmp/syntax.pac"
fails_with "syntax error reported" "SyntaxError" \
  "$MOAT" pac eval --no-dns --pac "$tmp/syntax.pac" http://a.example/

echo 'function FindProxyForURL(url, host) { for (;;) {} }' > "$tmp/loop.pac"
start=$(date +%s%N)
fails_with "infinite loop bounded" "timeout" \
  "$MOAT" pac eval --no-dns --timeout 300 --pac "$tmp/loop.pac" http://a.example/
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 5000 ] && ok "infinite loop ends in ${ms} ms" || not_ok "infinite loop took ${ms} ms"

echo 'function FindProxyForURL(url, host) { return /^(a+)+$/.test(new Array(40).join("a") + "b") ? "DIRECT" : "x"; }' > "$tmp/regex.pac"
fails_with "catastrophic regex bounded" "deadline\|timeout" \
  "$MOAT" pac eval --no-dns --timeout 300 --pac "$tmp/regex.pac" http://a.example/

echo 'while (true) {}' > "$tmp/top.pac"
fails_with "looping top level refused" "timeout" \
  "$MOAT" pac eval --no-dns --pac "$tmp/top.pac" http://a.example/

fails_with "missing file" "No such file" \
  "$MOAT" pac eval --no-dns --pac "$tmp/none.pac" http://a.example/

MOAT_SANDBOX=/bin/false fails_with "needs the real sandbox" "start sandbox" \
  "$MOAT" pac eval --no-dns --pac "$tmp/corp.pac" http://a.example/

# PAC over http from a server of our own on loopback, and file:// URLs.
mkdir -p "$tmp/www"
cp "$tmp/corp.pac" "$tmp/www/proxy.pac"
head -c 1100000 /dev/zero | tr '\0' ' ' > "$tmp/www/big.pac"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
harness_spawn http python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$port" >/dev/null
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break
  sleep 0.1
done
expect "fetch over http" "DIRECT" \
  "$MOAT" pac eval --no-dns --pac "http://127.0.0.1:$port/proxy.pac" http://intranet/
fails_with "http 404 is an error" "HTTP status 404" \
  "$MOAT" pac eval --no-dns --pac "http://127.0.0.1:$port/missing.pac" http://intranet/
fails_with "over 1 MB refused" "larger than" \
  "$MOAT" pac eval --no-dns --pac "http://127.0.0.1:$port/big.pac" http://intranet/
expect "file url" "DIRECT" \
  "$MOAT" pac eval --no-dns --pac "file://$tmp/corp.pac" http://intranet/
fails_with "unsupported scheme" "only http" \
  "$MOAT" pac eval --no-dns --pac "gopher://127.0.0.1:$port/proxy.pac" http://intranet/
harness_done
