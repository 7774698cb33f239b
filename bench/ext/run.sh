#!/usr/bin/env bash
# Extension benchmark (issue 15, performance): a real stack (moat up, as
# the tests make it), a small extension built here (busybox + the static
# ext-backend, a one-page UI), then
#  - the time of `moat extension install -f` (and of rm), R rounds;
#  - bench/ext/roundtrip.py: N ddClient.extension.vm.service.get calls in
#    headless Chromium (browser -> moatd -> backend socket -> back), one at
#    a time, against N requests on the backend's socket directly (root,
#    resolved in the container's root as moatd does).
# Figures go to BENCHMARKS.md ("Extensions"); never a test assertion.
#   bench/ext/run.sh [R=5] [N=300]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-5}
n=${2:-300}
make -C "$top" -s -j2 >/dev/null
make -C "$top" -s -j2 tests >/dev/null
. "$top/tests/lib/harness.sh"
harness_init
port=$((20000 + RANDOM % 20000))
HARNESS_DASHBOARD_PORT=$port harness_up
harness_busybox
ctx=$HARNESS_DIR/ctx
mkdir -p "$ctx/ui"
cp "$top/build/tests/ext-backend" "$ctx/"
cat >"$ctx/ui/index.html" <<'EOH'
<!doctype html>
<html><head><meta charset="utf-8"><title>bench</title></head><body>bench</body></html>
EOH
echo "<svg xmlns='http://www.w3.org/2000/svg'/>" >"$ctx/icon.svg"
cat >"$ctx/metadata.json" <<'EOM'
{"icon": "icon.svg",
 "ui": {"dashboard-tab": {"title": "bench", "root": "/ui", "src": "index.html"}},
 "vm": {"image": "${DESKTOP_PLUGIN_IMAGE}", "exposes": {"socket": "backend.sock"}}}
EOM
cat >"$ctx/Dockerfile" <<'EOD'
FROM busybox:latest
LABEL org.opencontainers.image.title="bench" \
      org.opencontainers.image.description="bench extension" \
      org.opencontainers.image.vendor="moat bench" \
      com.docker.desktop.extension.api.version=">= 0.3.0" \
      com.docker.desktop.extension.icon="icon.svg"
COPY metadata.json icon.svg /
COPY ui /ui
COPY ext-backend /ext-backend
ENTRYPOINT ["/ext-backend", "/run/guest-services/backend.sock", "bench"]
EOD
DOCKER_BUILDKIT=0 docker -H "$MOAT_ENGINE_HOST" build -q -t bench/bx:1 "$ctx" >/dev/null
for i in $(seq "$rounds"); do
  t0=$(date +%s%N)
  "$MOAT" extension install -f bench/bx:1 >/dev/null
  t1=$(date +%s%N)
  if [ "$i" -lt "$rounds" ]; then "$MOAT" extension rm bx >/dev/null; fi
  t2=$(date +%s%N)
  harness_diag "install $(((t1 - t0) / 1000000)) ms, rm $(((t2 - t1) / 1000000)) ms"
done
id=$("$MOAT" extension ls --json | jq -r '.[] | select(.name == "bx") | .backend.container')
pid=$(docker -H "$MOAT_ENGINE_HOST" inspect -f '{{.State.Pid}}' "$id")
/usr/bin/python3 "$top/bench/ext/roundtrip.py" "$MOAT" "$port" "$n" "$pid" "$HARNESS_DIR" |
  sed 's/^/# /'
harness_diag "load $(cut -d' ' -f1-3 /proc/loadavg)"
harness_done
