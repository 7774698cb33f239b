#!/usr/bin/env bash
# The sandbox's docker scope acts as the user the call serves
# (docs/extensions.md, "Sandboxed backend code"): an extension granted
# `docker` (inspect) is called from the dashboard by two real non-root
# users through the SDK endpoint (curl, the ticket and token a page gets).
# User B's inspect of user A's container is refused by ECI's owner rule
# (before, moatd made it as root and the script returned A's Config.Env);
# A's inspect of A's own passes; root's (moat extension call) passes.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<'EOJ'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true}}
EOJ

harness_free_port
HARNESS_DASHBOARD_PORT=$port harness_up
harness_busybox
E='enhanced container isolation: '

ctx=$HARNESS_DIR/ctx/sdk
mkdir -p "$ctx/ui"
echo '<!doctype html><title>sdk</title><p>sdk</p>' >"$ctx/ui/index.html"
echo "<svg xmlns='http://www.w3.org/2000/svg'/>" >"$ctx/icon.svg"
cat >"$ctx/metadata.json" <<'J'
{"icon": "icon.svg",
 "ui": {"dashboard-tab": {"title": "sdk", "root": "/ui", "src": "index.html"}},
 "moat": {"sandbox": {"script": "/backend.js",
   "requestedScopes": {"docker": {"commands": ["ps", "inspect"]}}}}}
J
cat >"$ctx/backend.js" <<'JS'
moat.route ("GET", "/inspect", function (req) {
  try { return { status: 200, body: JSON.stringify (moat.docker ("inspect", req.query).Config.Env) }; }
  catch (e) { return { status: 403, body: String (e.message) }; }
});
moat.route ("GET", "/ps", function () {
  try { return { status: 200, body: JSON.stringify (moat.docker ("ps")) }; }
  catch (e) { return { status: 403, body: String (e.message) }; }
});
JS
cat >"$ctx/Dockerfile" <<'D'
FROM busybox:latest
LABEL org.opencontainers.image.title="sdk" \
      org.opencontainers.image.description="sandbox docker scope test" \
      org.opencontainers.image.vendor="moat tests" \
      com.docker.desktop.extension.api.version=">= 0.3.0" \
      com.docker.desktop.extension.icon="icon.svg"
COPY metadata.json icon.svg backend.js /
COPY ui /ui
D
DOCKER_BUILDKIT=0 docker -H "$MOAT_ENGINE_HOST" build -q -t acme/sdk:1 "$ctx" >"$HARNESS_DIR/build.log" 2>&1 ||
  harness_bail "build acme/sdk:1" "$(tail -5 "$HARNESS_DIR/build.log")"
check_output "install sdk (docker scope granted)" "installed extension sdk" "$MOAT" extension install -f acme/sdk:1

harness_docker_user sdka
AUID=$TUID AGID=$TGID AHOME=$UHOME
harness_docker_user sdkb
BUID=$TUID BGID=$TGID BHOME=$UHOME
as_a() { TUID=$AUID TGID=$AGID UHOME=$AHOME as_user "$@"; }
as_b() { TUID=$BUID TGID=$BGID UHOME=$BHOME as_user "$@"; }

secret=moat-sdk-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
as_a docker run -d --name actr -e "A_SECRET=$secret" busybox sleep 600 >/dev/null 2>&1 ||
  harness_bail "user A's container"
as_b docker run -d --name bctr -e "B_OWN=b-own" busybox sleep 600 >/dev/null 2>&1 ||
  harness_bail "user B's container"

H=sdk.ext.localhost:$port
# token AS: the SDK token of the user AS (as_a, as_b) for sdk: the
# dashboard sign-in, a ticket for the extension, the trade on its origin.
token() {
  local url cookie t
  url=$("$1" "$MOAT" dashboard --print-url)
  # (the jar on stdout: the user cannot write in the harness's directory)
  cookie=$("$1" curl -s -o /dev/null -c - "$url" | awk '$6 == "moat_session" {print $7}')
  t=$("$1" curl -s -X POST -H "Cookie: moat_session=$cookie" -H "Origin: $base" \
    -H 'Content-Type: application/json' -d '{}' "$base/api/extensions/sdk/ticket" | jq -r .ticket)
  "$1" curl -s -X POST -H "Host: $H" -H "Origin: http://$H" -H 'Content-Type: application/json' \
    -d "{\"ticket\":\"$t\"}" "$base/.moat/session" | jq -r .token
}
# route AS TOKEN PATH: the route's {status, body} as the SDK answers it
route() {
  "$1" curl -s -X POST -H "Host: $H" -H "X-Moat-Token: $2" -H "Origin: http://$H" \
    -H 'Content-Type: application/json' -d "{\"call\":\"vm.service\",\"method\":\"GET\",\"path\":\"/sandbox$3\"}" \
    "$base/.moat/call"
}
tokA=$(token as_a)
tokB=$(token as_b)
[ ${#tokA} = 64 ] && [ ${#tokB} = 64 ] && ok "SDK tokens for users A and B" ||
  harness_bail "SDK tokens" "A: $tokA B: $tokB; url: $(as_a "$MOAT" dashboard --print-url 2>&1)"

out=$(route as_b "$tokB" "/inspect?actr")
if grep -q "$secret" <<<"$out"; then
  not_ok "B's dashboard: the sandbox's inspect of A's container is refused" "A's Config.Env reached B: $out"
elif jq -e --arg e "$E" '.status == 403 and (.body | contains($e + "container \"actr\" was created by another user"))' \
  <<<"$out" >/dev/null; then
  ok "B's dashboard: the sandbox's inspect of A's container is refused (owner rule)"
else
  not_ok "B's dashboard: the sandbox's inspect of A's container is refused" "$out"
fi
out=$(route as_b "$tokB" "/inspect?bctr")
jq -e '.status == 200 and (.body | contains("B_OWN=b-own"))' <<<"$out" >/dev/null &&
  ok "B's dashboard: inspect of B's own container passes" || not_ok "B's own inspect" "$out"
out=$(route as_a "$tokA" "/inspect?actr")
jq -e --arg s "A_SECRET=$secret" '.status == 200 and (.body | contains($s))' <<<"$out" >/dev/null &&
  ok "A's dashboard: inspect of A's own container passes" || not_ok "A's own inspect" "$out"
out=$(route as_a "$tokA" "/inspect?bctr")
jq -e '.status == 403 and (.body | contains("was created by another user"))' <<<"$out" >/dev/null &&
  ok "A's dashboard: inspect of B's container is refused" || not_ok "A inspects B's" "$out"
out=$(route as_b "$tokB" "/ps")
jq -e '.status == 200 and (.body | contains("actr"))' <<<"$out" >/dev/null &&
  ok "listing stays open to every user, as in Docker (ps)" || not_ok "ps as B" "$out"
out=$("$MOAT" extension call sdk GET "/inspect?actr" 2>&1)
grep -q "$secret" <<<"$out" && ok "root (moat extension call): inspect of A's container passes" ||
  not_ok "root's inspect" "$out"

as_a docker rm -f actr >/dev/null 2>&1
as_b docker rm -f bctr >/dev/null 2>&1
harness_done
