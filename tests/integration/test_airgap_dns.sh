#!/usr/bin/env bash
# DNS around the air gap.  A container names a DNS server the policy
# refuses (`--dns 10.82.0.5`, a namespace of the test's own, S) on the
# default network (the server is in its resolv.conf) and on a user network
# (dockerd's embedded resolver 127.0.0.11 forwards to it).  dockerd's
# resolver must forward from the container's namespace, where moat's rules
# drop it, not from the engine's own: S counts every packet for port 53
# that arrives, and must count none.  The engine's own resolver stays
# reachable (DNS is the air gap's one exception).
. "$(dirname "$0")/../lib/harness.sh"
harness_init

harness_peer_netns 10.82.0 5
S=$HARNESS_PEER_NETNS
H=$HARNESS_NETNS
harness_airgap_settings

ip netns exec "$S" nft -f - <<'NFT' || harness_bail "counters in S" "nft failed"
table inet moattest {
  counter dns {}
  counter any {}
  chain input {
    type filter hook prerouting priority raw; policy accept;
    iifname "s0" ip daddr 10.82.0.5 th dport 53 counter name dns
    iifname "s0" ip daddr 10.82.0.5 counter name any
  }
}
NFT
cnt() { ip netns exec "$S" nft list counter inet moattest "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

harness_up
harness_busybox
docker network create moatdns >/dev/null || not_ok "create a user network" "docker network create failed"

try() { # NAME DOCKER-RUN-ARGS...
  local name=$1 d0 a0 out
  shift
  d0=$(cnt dns); a0=$(cnt any)
  out=$(docker run --rm "$@" busybox sh -c \
    'cat /etc/resolv.conf; nslookup -timeout=2 leak-a.example; nslookup -type=txt leak-b.example 10.82.0.5; true' 2>&1)
  sleep 1
  [ "$(cnt dns)" = "$d0" ] && [ "$(cnt any)" = "$a0" ] \
    && ok "$name: nothing reaches the refused DNS server" \
    || not_ok "$name: nothing reaches the refused DNS server" \
         "dns $d0 -> $(cnt dns), any $a0 -> $(cnt any)" "$out"
}
try "default network, --dns" --dns 10.82.0.5
try "user network, --dns (embedded resolver)" --network moatdns --dns 10.82.0.5
try "user network, --dns 127.0.0.1 (loopback upstream)" --network moatdns --dns 127.0.0.1
try "user network, --dns-search and --dns-option" --network moatdns --dns 10.82.0.5 --dns-search example --dns-option ndots:5
[ "$(cnt any)" = 0 ] && ok "total: the refused server saw nothing" \
  || not_ok "total: the refused server saw nothing" "any=$(cnt any)"
# The counters do see a query that leaves the engine's namespace itself
# (what a resolver forwarding from dockerd's namespace would send).
ip netns exec "$H" busybox nslookup -timeout=1 control.example 10.82.0.5 >/dev/null 2>&1
[ "$(cnt dns)" -gt 0 ] && ok "control: a query from the engine's namespace is counted" \
  || not_ok "control: a query from the engine's namespace is counted" "dns=$(cnt dns)"
harness_done
