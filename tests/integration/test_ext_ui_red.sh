#!/usr/bin/env bash
# Attacks by a hostile extension's UI on its own origin that outlive the
# extension (docs/extensions.md, "The UI"): a service worker registered by
# a page of extension `sw` would keep answering for
# http://sw.ext.localhost:PORT/ after `rm`, for whatever image is installed
# under that name next (its pages, its ddClient token, its calls).  moatd
# refuses the worker's script, so none is ever registered.  curl checks,
# then a real headless Chromium (ext_sw_browser.py): the page's register()
# fails, and after rm and the install of another image named `sw` its frame
# shows that image's page.
. "$(dirname "$0")/../lib/harness.sh"
harness_init

harness_free_port
HARNESS_DASHBOARD_PORT=$port harness_up
harness_busybox

# mkui DIR TAG PAGE_ID: a UI-only extension `sw` whose page holds
# <p id=PAGE_ID>; the evil one also ships sw.js, a worker that answers every
# navigation with a page of its own.
mkui() {
  local dir=$HARNESS_DIR/ctx/$1
  mkdir -p "$dir/ui"
  printf '<!doctype html>\n<html><head><meta charset="utf-8"><title>sw</title></head><body><p id="%s">%s</p></body></html>\n' "$3" "$3" >"$dir/ui/index.html"
  cat >"$dir/ui/sw.js" <<'EOJ'
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (e) => {
  if (e.request.mode === "navigate")
    e.respondWith(new Response('<!doctype html><p id="owned">answered by an earlier install\'s service worker</p>',
                               {headers: {"Content-Type": "text/html"}}));
});
EOJ
  echo "<svg xmlns='http://www.w3.org/2000/svg'/>" >"$dir/icon.svg"
  printf '%s\n' '{"icon": "icon.svg", "ui": {"dashboard-tab": {"title": "SW", "root": "/ui", "src": "index.html"}}}' >"$dir/metadata.json"
  cat >"$dir/Dockerfile" <<EOD
FROM busybox:latest
LABEL org.opencontainers.image.title="sw" \\
      org.opencontainers.image.description="test extension sw" \\
      org.opencontainers.image.vendor="moat tests" \\
      com.docker.desktop.extension.api.version=">= 0.3.0" \\
      com.docker.desktop.extension.icon="icon.svg"
COPY metadata.json icon.svg /
COPY ui /ui
EOD
  DOCKER_BUILDKIT=0 docker -H "$MOAT_ENGINE_HOST" build -q -t "$2" "$dir" >"$HARNESS_DIR/build.log" 2>&1 ||
    harness_bail "build $2" "$(tail -5 "$HARNESS_DIR/build.log")"
}
mkui evil evil/sw:1 evil
mkui legit acme/sw:1 legit
# mkgen DIR TAG JS: a UI-only extension `gen` whose page runs JS (from
# tests/integration/ext_gen/) and shows its result in <p id=out>.
mkgen() {
  local dir=$HARNESS_DIR/ctx/$1
  mkdir -p "$dir/ui"
  printf '<!doctype html>\n<html><head><meta charset="utf-8"><title>gen</title><script src="app.js"></script></head><body><p id="out">waiting</p></body></html>\n' >"$dir/ui/index.html"
  cp "$HARNESS_TOP/tests/integration/ext_gen/$3" "$dir/ui/app.js"
  echo "<svg xmlns='http://www.w3.org/2000/svg'/>" >"$dir/icon.svg"
  printf '%s\n' '{"icon": "icon.svg", "ui": {"dashboard-tab": {"title": "Gen", "root": "/ui", "src": "index.html"}}}' >"$dir/metadata.json"
  cat >"$dir/Dockerfile" <<EOD
FROM busybox:latest
LABEL org.opencontainers.image.title="gen" \\
      org.opencontainers.image.description="test extension gen" \\
      org.opencontainers.image.vendor="moat tests" \\
      com.docker.desktop.extension.api.version=">= 0.3.0" \\
      com.docker.desktop.extension.icon="icon.svg"
COPY metadata.json icon.svg /
COPY ui /ui
EOD
  DOCKER_BUILDKIT=0 docker -H "$MOAT_ENGINE_HOST" build -q -t "$2" "$dir" >"$HARNESS_DIR/build.log" 2>&1 ||
    harness_bail "build $2" "$(tail -5 "$HARNESS_DIR/build.log")"
}
mkgen genw acme/gen:1 write.js
mkgen genr evil/gen:1 read.js
check_output "install the hostile sw" "installed extension sw" "$MOAT" extension install -f evil/sw:1
check_output "install gen" "installed extension gen" "$MOAT" extension install -f acme/gen:1

H=sw.ext.localhost:$port
# A service worker's script is fetched with "Service-Worker: script".
code=$(curl -s -o "$HARNESS_DIR/body" -w '%{http_code}' -H "Host: $H" \
  -H 'Service-Worker: script' -H 'Sec-Fetch-Dest: serviceworker' "http://127.0.0.1:$port/sw.js")
[ "$code" = 404 ] && grep -q 'service workers are not allowed' "$HARNESS_DIR/body" &&
  ok "a service worker's script is refused on an extension's origin (404)" ||
  not_ok "a service worker's script is refused on an extension's origin" "$code $(cat "$HARNESS_DIR/body")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $H" "http://127.0.0.1:$port/sw.js")
[ "$code" = 200 ] && ok "the same file as a plain script is served" || not_ok "plain sw.js" "$code"

if [ -x /usr/bin/chromedriver ] && /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
  profile=$HARNESS_DIR/chromium-profile
  mkdir -p "$profile"
  browser() { # browser PHASE
    /usr/bin/python3 "$HARNESS_TOP/tests/integration/ext_sw_browser.py" "$MOAT" "$port" "$profile" "$1" \
      >"$HARNESS_DIR/browser-$1.out" 2>"$HARNESS_DIR/browser-$1.err"
    local rc=$? line n=0
    while IFS= read -r line; do
      case $line in
        "PASS "*) ok "browser $1: ${line#PASS }"; n=$((n + 1)) ;;
        "FAIL "*) not_ok "browser $1: ${line#FAIL }"; n=$((n + 1)) ;;
      esac
    done <"$HARNESS_DIR/browser-$1.out"
    [ "$n" -gt 0 ] || not_ok "browser $1 ran (exit $rc)" "$(tail -20 "$HARNESS_DIR/browser-$1.err")"
  }
  browser register
  check "rm the hostile sw" "$MOAT" extension rm sw
  check_output "install another image named sw" "installed extension sw" "$MOAT" extension install -f acme/sw:1
  browser after
  # The storage generation: the next install under a name finds nothing
  # the earlier one kept, even when its script looks before any clearing
  # could have finished.
  browser gen-write
  check "rm gen" "$MOAT" extension rm gen
  check_output "install another image named gen" "installed extension gen" "$MOAT" extension install -f evil/gen:1
  browser gen-read
else
  skip "service workers in a browser" "chromium-driver or python3-selenium is not installed"
fi

harness_done
