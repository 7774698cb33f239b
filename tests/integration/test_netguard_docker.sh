#!/usr/bin/env bash
# The net guard in front of real containers: a private dockerd in a network
# namespace H (as the helper brief describes), its default bridge
# intercepted by tests/tools/netguard-runner, servers in a namespace S
# behind H.  Checks the block-all and exclude examples from a busybox
# container.  Everything is this test's own: namespaces, dockerd (data and
# exec roots under a temp dir, its own socket), processes ended by PID.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${MOAT_BUILD:-$top/build}
runner=$build/tests/netguard-runner
[ -x "$runner" ] || runner=$top/build/tests/netguard-runner
fails=0
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
if [ "$(id -u)" -ne 0 ] || ! command -v dockerd >/dev/null || ! [ -x /bin/busybox ]; then
  echo "ok - netguard-docker # SKIP needs root, dockerd and busybox-static"; exit 0
fi

tag=mnd$$; H=$tag-h; S=$tag-s
R=$(mktemp -d /tmp/moat-net-docker.XXXXXX)
pids=(); guard_pid=; dockerd_pid=
cleanup() {
  set +e
  ip route del blackhole 10.78.0.0/24 metric $$ 2>/dev/null
  [ -n "$guard_pid" ] && kill "$guard_pid" && wait "$guard_pid" 2>/dev/null
  if [ -n "$dockerd_pid" ]; then
    docker -H "unix://$R/engine.sock" rm -f $(docker -H "unix://$R/engine.sock" ps -aq) >/dev/null 2>&1
    kill "$dockerd_pid"
    for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for n in "$H" "$S"; do ip netns del "$n" 2>/dev/null; done
  umount -R "$R/exec" 2>/dev/null; umount -R "$R/data" 2>/dev/null
  # dockerd's cgroups under /moat-<tag> (empty once its containers are gone)
  for d in /sys/fs/cgroup/*/moat-"$tag" /sys/fs/cgroup/moat-"$tag"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$R"
}
trap cleanup EXIT
# Safety net: in the machine's own namespace the test networks are a
# blackhole (a route of this run's own, metric = pid), so a connection made
# from the wrong namespace fails here instead of leaving the machine.
ip route add blackhole 10.78.0.0/24 metric $$ || { echo "not ok - blackhole route"; exit 1; }
D() { docker -H "unix://$R/engine.sock" "$@"; }

ip netns add "$H"; ip netns add "$S"
ip -n "$H" link set lo up; ip -n "$S" link set lo up
ip link add "${tag}s" netns "$S" type veth peer name hs0 netns "$H"
ip -n "$S" link set "${tag}s" name s0
ip -n "$H" addr add 10.78.0.1/24 dev hs0
ip -n "$S" addr add 10.78.0.2/24 dev s0; ip -n "$S" addr add 10.78.0.5/24 dev s0
ip -n "$H" link set hs0 up; ip -n "$S" link set s0 up
ip -n "$S" route add default via 10.78.0.1
ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1

mkdir -p "$R/www" "$R/img/bin"
echo "hello from S" > "$R/www/index.html"
cat > "$R/httpd.py" <<'PYS'
import functools, http.server, socketserver, sys
class S(http.server.ThreadingHTTPServer):
    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "s", self.server_address[1]
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
S(("0.0.0.0", int(sys.argv[1])), h).serve_forever()
PYS
ip netns exec "$S" /usr/bin/python3 -u "$R/httpd.py" 80 "$R/www" >"$R/http.log" 2>&1 &
pids+=($!)

echo '{"bridge": "mnd0", "iptables": true}' > "$R/daemon.json"
ip -n "$H" link add mnd0 type bridge
ip -n "$H" addr add 172.31.77.1/24 dev mnd0
ip -n "$H" link set mnd0 up
nsenter --net=/run/netns/"$H" dockerd --data-root "$R/data" --exec-root "$R/exec" \
  --pidfile "$R/dockerd.pid" -H "unix://$R/engine.sock" --config-file "$R/daemon.json" \
  --cgroup-parent "/moat-$tag" >"$R/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 150); do D info >/dev/null 2>&1 && break; sleep 0.2; done
if ! D info >/dev/null 2>&1; then echo "not ok - private dockerd did not start"; tail -20 "$R/dockerd.log" | sed 's/^/# /'; exit 1; fi
cp /bin/busybox "$R/img/bin/"
for a in sh wget nc sleep cat echo; do ln -s busybox "$R/img/bin/$a"; done
tar -C "$R/img" -c . | D import - busybox:moatnet >/dev/null || { echo "not ok - image import"; exit 1; }

# leak catcher: TCP from the containers forwarded is dropped and counted
ip netns exec "$H" nft -f - <<'NFT'
table inet moattest {
  counter leaks {}
  chain forward {
    type filter hook forward priority filter + 10; policy accept;
    iifname "mnd0" meta l4proto tcp counter name leaks drop
  }
}
NFT

start_guard() {
  : > "$R/audit.jsonl"
  ip netns exec "$H" "$runner" --port 15001 --iface mnd0 --src 172.31.77.0/24 \
    --audit "$R/audit.jsonl" "$@" >>"$R/guard.log" 2>&1 &
  guard_pid=$!
  for _ in $(seq 50); do grep -q listening "$R/guard.log" && return 0; sleep 0.1; done
  return 1
}
stop_guard() { kill "$guard_pid"; wait "$guard_pid"; guard_pid=; : > "$R/guard.log"; }
run() { D run --rm busybox:moatnet "$@" 2>&1; }
# busybox wget segfaults when static (NSS); nc with a hand-made request.
fetch() { run sh -c "printf 'GET / HTTP/1.0\\r\\nHost: $1\\r\\n\\r\\n' | nc -w 5 $1 80"; }

start_guard --ports '*' || { echo "not ok - guard"; exit 1; }
# Timed inside the container against nc's own 30 s idle timeout: a hung
# connection takes 30 s, a reset one returns at once, whatever the load.
out=$(run sh -c "s=\$(date +%s); printf 'GET / HTTP/1.0\\r\\nHost: 10.78.0.2\\r\\n\\r\\n' | nc -w 30 10.78.0.2 80; echo elapsed=\$(( \$(date +%s) - s ))")
secs=$(echo "$out" | sed -n 's/^elapsed=//p')
check "docker block-all: container's HTTP refused" bash -c "! echo '$out' | grep -q 'hello from S'"
check "docker block-all: refused at once, not timed out (${secs}s in the container; nc -w 30)" test -n "$secs" -a "${secs:-99}" -lt 15
check "docker block-all: refusal audited with the container's address" \
  jq -e -s 'map(select(.decision == "refused" and (.src | startswith("172.31.77.")) and .dst == "10.78.0.2")) | length > 0' "$R/audit.jsonl"
stop_guard
start_guard --ports 80,443 --exclude 10.78.0.2 || { echo "not ok - guard"; exit 1; }
out=$(fetch 10.78.0.2)
check "docker exclude: container reaches the excluded server" bash -c "echo '$out' | grep -q 'hello from S'"
check "docker exclude: audited as direct from the container" \
  jq -e -s 'map(select(.decision == "direct" and (.src | startswith("172.31.77.")) and .dst == "10.78.0.2")) | length > 0' "$R/audit.jsonl"
out=$(fetch 10.78.0.5)
check "docker exclude: other destination refused" bash -c "! echo '$out' | grep -q 'hello from S'"
stop_guard
leaks=$(ip netns exec "$H" nft list counter inet moattest leaks | sed -n 's/.*packets \([0-9]*\).*/\1/p')
check "docker: nothing forwarded past interception (leaks=$leaks)" test "$leaks" = 0
[ "$fails" -eq 0 ]
