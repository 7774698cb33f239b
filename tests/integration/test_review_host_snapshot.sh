#!/usr/bin/env bash
# Review reproducer (host protection, src/net/guard.c host_addresses):
# the net guard's list of the host's own addresses is taken when moatd
# loads the policy (net_guard_set_policy), never again.  Every network the
# engine creates afterwards adds a host address (its bridge's gateway),
# which the guard then does not know as the host: with `exclude: ["*"]`
# (docs/net-guard.md: "Even 0.0.0.0/0 leaves them refused") a container
# on the new network reaches a host service on its gateway, DIRECT.
# Expected to FAIL today on the new network's gateway.
#
# All in the harness's private namespace: the "host service" is a Python
# HTTP server listening there on 0.0.0.0:8099, the containers connect to
# their own bridge's gateway.
. "$(dirname "$0")/../lib/harness.sh"
harness_init

PROBE=$MOAT_BUILD/tests/net-probe
[ -x "$PROBE" ] || PROBE=$HARNESS_TOP/build/tests/net-probe
[ -x "$PROBE" ] || harness_bail "net-probe" "build it with make tests"
H=$HARNESS_NETNS
adm=$MOAT_ROOT/etc/moat/admin-settings.json
mkdir -p "$MOAT_ROOT/etc/moat"
cat >"$adm" <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "exclude": ["*"], "transparentPorts": "*"}}
J
chmod 0644 "$adm"

harness_up
harness_busybox
cp "$HARNESS_TOP/build/cache/busybox-rootfs.tar" "$HARNESS_DIR/probe.tar"
mkdir -p "$HARNESS_DIR/pr/bin" && cp "$PROBE" "$HARNESS_DIR/pr/bin/net-probe"
tar -C "$HARNESS_DIR/pr" -rf "$HARNESS_DIR/probe.tar" ./bin/net-probe
docker -H "$MOAT_ENGINE_HOST" import -c 'ENV PATH=/bin' "$HARNESS_DIR/probe.tar" probe:latest >/dev/null ||
  harness_bail "import the probe image" "docker import failed"

mkdir -p "$HARNESS_DIR/www" && echo host-service >"$HARNESS_DIR/www/index.html"
harness_spawn hostsvc ip netns exec "$H" /usr/bin/python3 -m http.server \
  --bind 0.0.0.0 --directory "$HARNESS_DIR/www" 8099 >/dev/null
sleep 1

probe() { # NAME NETWORK
  local gw out
  gw=$(docker -H "$MOAT_ENGINE_HOST" network inspect "$2" -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
  out=$(docker run --rm --network "$2" probe net-probe tcp "$gw" 8099 2>&1)
  if echo "$out" | grep -q 'reply: HTTP/'; then
    not_ok "$1: a host service on the gateway $gw is refused with exclude [\"*\"]" "$out" \
      "$("$MOAT" audit -n 3 2>&1)"
  else
    ok "$1: a host service on the gateway $gw is refused with exclude [\"*\"]"; echo "# $out" | head -2
  fi
}
# control: the default network's gateway existed when moatd loaded the policy
probe "default network" bridge
# a network made after: its gateway is a host address the guard never listed
docker -H "$MOAT_ENGINE_HOST" network create --subnet 192.168.217.0/24 --gateway 192.168.217.1 moatlate >/dev/null ||
  harness_bail "create a network" "docker network create failed"
probe "network created after the policy" moatlate
harness_done
