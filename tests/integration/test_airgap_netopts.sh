#!/usr/bin/env bash
# User networks with the options a user may give them, made through the
# guarded socket (ECI applies): --internal, no IP masquerading, no ICC, an
# MTU.  Each is an engine bridge (br-<id>) whatever its options, so from a
# container with CAP_NET_RAW nothing (TCP, UDP, ping, protocol 132) reaches
# a refused host in a namespace of the test's own (S counts every packet
# for it).  Networks that would not be an engine bridge are refused:
# com.docker.network.bridge.name, macvlan, ipvlan.
. "$(dirname "$0")/../lib/harness.sh"
harness_init

harness_peer_netns 10.83.0 5
S=$HARNESS_PEER_NETNS
H=$HARNESS_NETNS
harness_airgap_settings

ip netns exec "$S" nft -f - <<'NFT' || harness_bail "counters in S" "nft failed"
table inet moattest {
  counter any {}
  chain input {
    type filter hook prerouting priority raw; policy accept;
    iifname "s0" ip daddr 10.83.0.5 counter name any
  }
}
NFT
cnt() { ip netns exec "$S" nft list counter inet moattest "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

harness_up
harness_busybox
harness_probe_image
for spec in "internal:--internal" "nomasq:-o com.docker.network.bridge.enable_ip_masquerade=false" "noicc:-o com.docker.network.bridge.enable_icc=false" "mtu:-o com.docker.network.driver.mtu=1400"; do
  n=${spec%%:*}; o=${spec#*:}
  out=$(docker network create $o "moatopt$n" 2>&1) || { not_ok "create $n" "$out"; continue; }
  a0=$(cnt any)
  out=$(docker run --rm --cap-add NET_RAW --network "moatopt$n" probe sh -c 'net-probe tcp 10.83.0.5 80; net-probe udp 10.83.0.5 9999; net-probe ping 10.83.0.5; net-probe raw 10.83.0.5 132' 2>&1)
  sleep 1
  [ "$(cnt any)" = "$a0" ] && ok "$n network: nothing reaches the refused host" || not_ok "$n network: nothing reaches the refused host" "any $a0 -> $(cnt any)" "$out"
done
out=$(docker network create -o com.docker.network.bridge.name=moatoptbr moatoptnamed 2>&1)
echo "$out" | grep -q "enhanced container isolation" && ok "a network named after a host bridge (bridge.name) is refused" || not_ok "a network named after a host bridge (bridge.name) is refused" "$out"
out=$(docker network create -d macvlan -o parent=hs0 moatoptmv 2>&1)
echo "$out" | grep -q "enhanced container isolation" && ok "a macvlan network is refused" || not_ok "a macvlan network is refused" "$out"
out=$(docker network create -d ipvlan -o parent=hs0 moatoptiv 2>&1)
echo "$out" | grep -q "enhanced container isolation" && ok "an ipvlan network is refused" || not_ok "an ipvlan network is refused" "$out"
# Control: the counter does see a packet that leaves the engine's namespace.
a0=$(cnt any)
ip netns exec "$H" busybox ping -c 1 -W 1 10.83.0.5 >/dev/null 2>&1
[ "$(cnt any)" -gt "$a0" ] && ok "control: a packet from the engine's namespace is counted" \
  || not_ok "control: a packet from the engine's namespace is counted" "any=$(cnt any)"
harness_done
