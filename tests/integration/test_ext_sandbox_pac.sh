#!/usr/bin/env bash
# Sandboxed extension requests under a PAC policy (docs/extensions.md,
# "Egress"): the PAC is evaluated by the net guard's own PAC engine, as for
# a container's connection.  DIRECT goes direct; PROXY goes through the
# proxy the PAC names (the origin server sees nothing); the PAC's own
# refusal (reject.docker.internal) refuses; a PAC that cannot be fetched
# refuses everything but the exclude list (fail closed).  Every server is
# on an address of the private netns (the engine's, where sandbox
# requests leave from).
. "$(dirname "$0")/../lib/harness.sh"
harness_init

H=$HARNESS_NETNS
adm=$MOAT_ROOT/etc/moat/admin-settings.json
mkdir -p "$MOAT_ROOT/etc/moat"
write_admin() { cat >"$adm.new"; chmod 0644 "$adm.new"; mv "$adm.new" "$adm"; }
# pac_policy FILE: the containers' policy is the PAC FILE (it may not exist)
pac_policy() {
  write_admin <<J
{"configurationFileVersion": 2,
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "exclude": ["10.79.0.5", "host.docker.internal"],
                     "pac": "file://$MOAT_ROOT/etc/moat/$1", "transparentPorts": "*"},
 "extensionSandboxGrants": {"locked": true, "value": {
   "sbxpac": {"request": {"urls": ["http://10.79.0.*:8099/*"]}}}}}
J
}
cat >"$MOAT_ROOT/etc/moat/t.pac" <<'PAC'
function FindProxyForURL(url, host) {
  if (host == "10.79.0.1") return "DIRECT";
  if (host == "10.79.0.2") return "PROXY 10.79.0.3:8099";
  return "PROXY reject.docker.internal:1";
}
PAC
pac_policy t.pac
harness_up
harness_busybox

# Servers: .1 and .2 and .4 origins, .3 the proxy (python's http.server
# maps the absolute URI a proxy gets to the path http:/HOST:PORT/... of
# its directory: that file says "proxy"), .5 excluded.
for a in 1 2 3 4 5; do
  ip -n "$H" addr add "10.79.0.$a/32" dev lo
  mkdir -p "$HARNESS_DIR/www$a/pub"
  echo "origin $a" >"$HARNESS_DIR/www$a/pub/hello.txt"
done
mkdir -p "$HARNESS_DIR/www3/http:/10.79.0.2:8099/pub"
echo "proxy" >"$HARNESS_DIR/www3/http:/10.79.0.2:8099/pub/hello.txt"
for a in 1 2 3 4 5; do
  harness_spawn_netns "www$a" /usr/bin/python3 -m http.server --bind "10.79.0.$a" \
    --directory "$HARNESS_DIR/www$a" 8099 >/dev/null
done

ctx=$HARNESS_DIR/ctx/sbxpac
mkdir -p "$ctx"
echo "<svg/>" >"$ctx/icon.svg"
cat >"$ctx/metadata.json" <<'J'
{"icon": "icon.svg",
 "moat": {"sandbox": {"script": "/backend.js",
   "requestedScopes": {"request": {"urls": ["http://10.79.0.*:8099/*"]}}}}}
J
cat >"$ctx/backend.js" <<'JS'
moat.route ("GET", "/fetch", function (req) {
  try { return { status: 200, body: JSON.stringify (moat.request (req.query)) }; }
  catch (e) { return { status: 403, body: String (e.message) }; }
});
JS
cat >"$ctx/Dockerfile" <<'D'
FROM busybox:latest
LABEL org.opencontainers.image.title="sbxpac" \
      org.opencontainers.image.description="sandboxed test extension" \
      org.opencontainers.image.vendor="moat tests" \
      com.docker.desktop.extension.api.version=">= 0.3.0" \
      com.docker.desktop.extension.icon="icon.svg"
COPY metadata.json icon.svg backend.js /
D
DOCKER_BUILDKIT=0 docker -H "$MOAT_ENGINE_HOST" build -q -t acme/sbxpac:1 "$ctx" >"$HARNESS_DIR/build.log" 2>&1 ||
  harness_bail "build acme/sbxpac:1" "$(tail -5 "$HARNESS_DIR/build.log")"
check "install" "$MOAT" extension install -f acme/sbxpac:1

fetch() { "$MOAT" extension call sbxpac GET "/fetch?http://10.79.0.$1:8099/pub/hello.txt" 2>&1; }
served() { grep -c 'GET' "$HARNESS_DIR/www$1.log" 2>/dev/null || true; }
# The PAC loads in the background: wait until DIRECT works (or give up).
for _ in $(seq 50); do
  case $(fetch 1) in *'"status":200'*) break ;; esac
  sleep 0.2
done

out=$(fetch 1)
case $out in *'"status":200'*'origin 1'*) ok "PAC DIRECT: fetched directly" ;; *) not_ok "PAC DIRECT: fetched directly" "$out" ;; esac
out=$(fetch 2)
case $out in *'"status":200'*'proxy'*) ok "PAC PROXY: fetched through the PAC's proxy" ;; *) not_ok "PAC PROXY: fetched through the PAC's proxy" "$out" ;; esac
[ "$(served 2)" = 0 ] && ok "PAC PROXY: the origin saw nothing (only the proxy did)" ||
  not_ok "PAC PROXY: the origin saw nothing (only the proxy did)" "$(cat "$HARNESS_DIR/www2.log")"
grep -q 'GET http://10.79.0.2:8099/pub/hello.txt' "$HARNESS_DIR/www3.log" &&
  ok "PAC PROXY: the proxy got the absolute URI" || not_ok "PAC PROXY: the proxy got the absolute URI" "$(cat "$HARNESS_DIR/www3.log")"
out=$(fetch 4)
case $out in
  *'enhanced container isolation: request to 10.79.0.4'*'egress policy: PAC'*) ok "PAC refusal (reject.docker.internal): refused" ;;
  *) not_ok "PAC refusal (reject.docker.internal): refused" "$out" ;;
esac
[ "$(served 4)" = 0 ] && ok "PAC refusal: the server saw nothing" || not_ok "PAC refusal: the server saw nothing" "$(cat "$HARNESS_DIR/www4.log")"

# A PAC that cannot be fetched: everything refused (fail closed) but the
# exclude list.
pac_policy missing.pac
for _ in $(seq 50); do
  case $(fetch 1) in *'refused'*) break ;; esac
  sleep 0.2
done
n1=$(served 1)
out=$(fetch 1)
case $out in
  *'enhanced container isolation: request to 10.79.0.1'*'egress policy: pac-failed'*) ok "PAC not fetchable: DIRECT host refused (pac-failed)" ;;
  *) not_ok "PAC not fetchable: DIRECT host refused (pac-failed)" "$out" ;;
esac
[ "$(served 1)" = "$n1" ] && ok "PAC not fetchable: the server saw nothing" || not_ok "PAC not fetchable: the server saw nothing" "$(tail -2 "$HARNESS_DIR/www1.log")"
out=$(fetch 2)
case $out in *'egress policy: pac-failed'*) ok "PAC not fetchable: PROXY host refused" ;; *) not_ok "PAC not fetchable: PROXY host refused" "$out" ;; esac
out=$(fetch 5)
case $out in *'"status":200'*'origin 5'*) ok "PAC not fetchable: the exclude list still goes direct" ;; *) not_ok "PAC not fetchable: the exclude list still goes direct" "$out" ;; esac

harness_done
