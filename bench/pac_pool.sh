#!/usr/bin/env bash
# PAC pool benchmark (issue 11, item 9): one container floods the net guard
# with connections that each need a PAC evaluation, while another container
# opens a connection now and then.  Reports the PAC decisions per second
# under that load and how long each of the other container's connections
# waited (its worst wait is the figure that matters).
#
# Usage (as root, from the repository, after `make tests`):
#   bench/pac_pool.sh [POOL...]
#     POOL: sandbox pool sizes to measure (--pac-sandboxes), default "1 2 4";
#           "-" runs the runner without the option (a runner from before the
#           pool, which has one sandbox).
#   RUNNER=path  netguard-runner to use (default build/tests/netguard-runner)
#   LABEL=text   first column (default "after")
#   FLOOD=400 PAC_MS=150 VICTIMS=5 GAP=2 (victims start GAP s apart, the
#   first 1 s after the flood)
#   PAC_ITER=N   instead of waiting PAC_MS of wall time (like a PAC that
#                waits on DNS), do N loop iterations (CPU-bound work: the
#                pool cannot go faster than the cores)
#
# Topology (namespaces this script makes, removed on exit):
#   C 10.77.0.2 (flooder), 10.77.0.3 (victim) -- H guard -- S 10.78.0.2:8000
# The PAC busy-loops PAC_MS per call and answers DIRECT; the flood's ports
# have no listener, so each flood connection ends (and is audited) as soon
# as it is decided; the victim's are relayed to an HTTP server.  No decision
# cache (every connection is a fresh evaluation).
set -u
cd "$(dirname "$0")/.."
top=$PWD
RUNNER=${RUNNER:-$top/build/tests/netguard-runner}
SANDBOX=${SANDBOX:-$top/build/moat-sandbox}
LABEL=${LABEL:-after}
FLOOD=${FLOOD:-400}
PAC_MS=${PAC_MS:-150}
PAC_ITER=${PAC_ITER:-}
VICTIMS=${VICTIMS:-5}
GAP=${GAP:-2}
pools=("$@")
[ ${#pools[@]} -gt 0 ] || pools=(1 2 4)
py=/usr/bin/python3
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }

tag=mpb$$
C=$tag-c; H=$tag-h; S=$tag-s
work=$(mktemp -d /tmp/moat-pacpool-bench.XXXXXX)
chmod 0755 "$work"
pids=()
guard_pid=
cleanup() {
  set +e
  ip route del blackhole 10.77.0.0/24 metric $$ 2>/dev/null
  ip route del blackhole 10.78.0.0/24 metric $$ 2>/dev/null
  [ -n "$guard_pid" ] && kill "$guard_pid" 2>/dev/null && wait "$guard_pid" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  for n in "$C" "$H" "$S"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
ip route add blackhole 10.77.0.0/24 metric $$ || exit 1
ip route add blackhole 10.78.0.0/24 metric $$ || exit 1
ip netns add "$C" && ip netns add "$H" && ip netns add "$S" || exit 1
for n in "$C" "$H" "$S"; do ip -n "$n" link set lo up; done
ip link add "${tag}c" netns "$C" type veth peer name h0 netns "$H"
ip link add "${tag}s" netns "$S" type veth peer name hs0 netns "$H"
ip -n "$C" link set "${tag}c" name c0
ip -n "$S" link set "${tag}s" name s0
ip -n "$C" addr add 10.77.0.2/24 dev c0
ip -n "$C" addr add 10.77.0.3/24 dev c0
ip -n "$H" addr add 10.77.0.1/24 dev h0
ip -n "$H" addr add 10.78.0.1/24 dev hs0
ip -n "$S" addr add 10.78.0.2/24 dev s0
for l in "$C:c0" "$H:h0" "$H:hs0" "$S:s0"; do ip -n "${l%%:*}" link set "${l#*:}" up; done
ip -n "$C" route add default via 10.77.0.1
ip -n "$S" route add default via 10.78.0.1
ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1
# Anything not intercepted is dropped in H.
ip netns exec "$H" nft -f - <<'NFT' || exit 1
table inet moatbench {
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "h0" drop
  }
}
NFT
mkdir -p "$work/www"; echo "hello from S" > "$work/www/index.html"
ip netns exec "$S" "$py" -m http.server --bind 10.78.0.2 --directory "$work/www" 8000 \
  >/dev/null 2>&1 &
pids+=("$!")
for _ in $(seq 100); do ip netns exec "$S" ss -ltnH | grep -q ':8000 ' && break; sleep 0.1; done

if [ -n "$PAC_ITER" ]; then
  cat > "$work/slow.pac" <<PAC
function FindProxyForURL(url, host) {
  var x = 0;
  for (var i = 0; i < $PAC_ITER; i++) { x += i; }
  return "DIRECT";
}
PAC
  kind="cpu ${PAC_ITER} iterations"
else
  cat > "$work/slow.pac" <<PAC
function FindProxyForURL(url, host) {
  var t = Date.now();
  while (Date.now() - t < $PAC_MS) {}
  return "DIRECT";
}
PAC
  kind="wall ${PAC_MS}ms"
fi
cat > "$work/flood.py" <<PYS
import socket, time
socks = []
for i in range($FLOOD):
    s = socket.socket()
    s.bind(("10.77.0.2", 0))
    s.setblocking(False)
    try:
        s.connect(("10.78.0.2", 20000 + i))
    except BlockingIOError:
        pass
    socks.append(s)
print("flooding", flush=True)
time.sleep(600)
PYS

now_ms() { date +%s%3N; }
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); flood=$FLOOD pac=$kind victims=$VICTIMS gap=${GAP}s"
echo "# label pool decisions/s drain_s timeouts victim_waits_ms(max,median: each)"
run=0
for pool in "${pools[@]}"; do
  run=$((run + 1))
  audit=$work/audit-$run.jsonl; : > "$audit"
  opt=(); [ "$pool" != "-" ] && opt=(--pac-sandboxes "$pool")
  ip netns exec "$H" "$RUNNER" --port 15001 --iface h0 --src 10.77.0.0/24 --ports '*' \
    --audit "$audit" --sandbox "$SANDBOX" --pac "file://$work/slow.pac" "${opt[@]}" \
    >"$work/guard-$run.log" 2>&1 &
  guard_pid=$!
  for _ in $(seq 100); do grep -q listening "$work/guard-$run.log" && break; sleep 0.1; done
  t0=$(now_ms)
  ip netns exec "$C" "$py" -u "$work/flood.py" >"$work/flood-$run.log" 2>&1 &
  flood_pid=$!
  vp=()
  for v in $(seq "$VICTIMS"); do
    if [ "$v" -eq 1 ]; then sleep 1; else sleep "$GAP"; fi
    ip netns exec "$C" curl -s -o /dev/null --max-time 600 --interface 10.77.0.3 \
      -w '%{time_total}\n' http://10.78.0.2:8000/ >"$work/victim-$run-$v.txt" 2>&1 &
    vp+=("$!")
  done
  # Until every flood connection is decided (audited).
  t1=
  for _ in $(seq 6000); do
    n=$(grep -c '"src":"10.77.0.2"' "$audit")
    [ "$n" -ge "$FLOOD" ] && { t1=$(now_ms); break; }
    sleep 0.1
  done
  for p in "${vp[@]}"; do wait "$p"; done
  kill "$flood_pid" 2>/dev/null; wait "$flood_pid" 2>/dev/null
  kill "$guard_pid"; wait "$guard_pid" 2>/dev/null; guard_pid=
  waits=$(cat "$work"/victim-$run-*.txt | awk '{printf "%d ", $1 * 1000}')
  stats=$(echo "$waits" | tr ' ' '\n' | grep . | sort -n |
    awk '{a[NR]=$1} END {printf "%d,%d", a[NR], (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
  if [ -n "$t1" ]; then
    drain=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1000}')
    rate=$(awk -v n=$((FLOOD + VICTIMS)) -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", n * 1000 / (b - a)}')
  else
    drain=timeout; rate=-
  fi
  # Evaluations past the deadline (refused, fail closed).
  tmo=$(grep -c 'pac-timeout\|timed out\|timeout' "$audit")
  echo "$LABEL $pool $rate $drain $tmo $stats: $waits"
done
