#!/usr/bin/env bash
# Dashboard benchmark (issue 14, performance): a real stack (moat up, as
# the tests make it), N containers created through the raw engine (created,
# not started: the engine lists them like any other), then
# bench/dashboard/load.py: page (HTML, script, style and the data calls)
# latency with the list cached and fetched from the engine, and F audit
# stream followers while R records are written.
#   bench/dashboard/run.sh [N=1000] [F=100] [R=200]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-1000}
f=${2:-100}
r=${3:-200}
make -C "$top" -s -j2 >/dev/null
. "$top/tests/lib/harness.sh"
harness_init
port=$((20000 + RANDOM % 20000))
HARNESS_DASHBOARD_PORT=$port harness_up
harness_busybox
t0=$(date +%s)
seq "$n" | xargs -P 4 -I{} docker -H "$MOAT_ENGINE_HOST" create --name bench-{} \
  busybox true >/dev/null
harness_diag "$n containers created in $(($(date +%s) - t0)) s"
/usr/bin/python3 "$top/bench/dashboard/load.py" "$MOAT" "$port" 300 "$f" "$r"
harness_diag "load $(cut -d' ' -f1-3 /proc/loadavg), moatd rss $(ps -o rss= -p "$(jq -r .processes.moatd.pid "$MOAT_ROOT/run/moat/stack.json")") KB"
harness_done
