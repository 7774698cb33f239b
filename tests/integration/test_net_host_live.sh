#!/usr/bin/env bash
# Host protection is decided on the addresses the host has now, not on a
# list taken when moatd loaded the policy (src/net/decide.c local_now_p):
# every network the engine creates afterwards adds a host address (its
# bridge's gateway).  With `exclude: ["*"]` (docs/net-guard.md: "Even
# 0.0.0.0/0 leaves them refused") a container on a network made later must
# still be refused a host service on its gateway, by the guard's host
# protection (audited), not by any failure.  Found by review; failed
# before local_now_p (the gateway answered, audited `direct exclude "*"`).
#
# All in the harness's private namespace: the "host service" is a Python
# HTTP server listening there on 0.0.0.0:8099, the containers connect to
# their own bridge's gateway.
. "$(dirname "$0")/../lib/harness.sh"
harness_init

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
harness_probe_image

mkdir -p "$HARNESS_DIR/www" && echo host-service >"$HARNESS_DIR/www/index.html"
harness_spawn hostsvc ip netns exec "$H" /usr/bin/python3 -m http.server \
  --bind 0.0.0.0 --directory "$HARNESS_DIR/www" 8099 >/dev/null
sleep 1

host_refusals() { # ENDPOINT: audited host-protection refusals of it
  "$MOAT" audit --json -n 1000 2>/dev/null | jq -s --arg e "$1" \
    'map(select(.component=="net" and .outcome=="refused" and .endpoint==$e and ((.rule // "")|test("host address")))) | length'
}
probe() { # NAME NETWORK
  local gw out before n=0
  gw=$(docker -H "$MOAT_ENGINE_HOST" network inspect "$2" -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
  before=$(host_refusals "$gw:8099")
  out=$(docker run --rm --network "$2" probe net-probe tcp "$gw" 8099 2>&1)
  for _ in $(seq 25); do
    n=$(host_refusals "$gw:8099")
    [ "${n:-0}" -gt "${before:-0}" ] && break
    sleep 0.2
  done
  if echo "$out" | grep -q 'reply: HTTP/'; then
    not_ok "$1: a host service on the gateway $gw is refused with exclude [\"*\"]" "$out" \
      "$("$MOAT" audit -n 3 2>&1)"
  elif ! echo "$out" | grep -qE '^(connected|net-probe: )'; then
    not_ok "$1: a host service on the gateway $gw is refused with exclude [\"*\"]" "the probe did not run" "$out"
  elif [ "${n:-0}" -le "${before:-0}" ]; then
    not_ok "$1: a host service on the gateway $gw is refused with exclude [\"*\"]" "no host-protection refusal audited" \
      "$("$MOAT" audit -n 3 2>&1)"
  else
    ok "$1: a host service on the gateway $gw is refused with exclude [\"*\"]"
  fi
}
# control: the default network's gateway existed when moatd loaded the policy
probe "default network" bridge
# a network made after: its gateway is a host address the guard never listed
docker -H "$MOAT_ENGINE_HOST" network create --subnet 192.168.217.0/24 --gateway 192.168.217.1 moatlate >/dev/null ||
  harness_bail "create a network" "docker network create failed"
probe "network created after the policy" moatlate
harness_done
