#!/usr/bin/env bash
# Air-gapped containers on every kind of network the engine makes: the
# default bridge, a user-defined network with a subnet outside the address
# pool, and an IPv6 network.  From each: TCP, UDP, a raw protocol (132),
# ping, packets with forged IPv4 sources, and (default network) an IPv6
# frame written through AF_PACKET to the bridge's MAC.  Test hosts live in
# a namespace of their own (S): 10.78.0.2 / fd78::2 excluded (DIRECT),
# 10.78.0.5 / fd78::5 not (must be refused).  Two drop rules count what got
# past moat: one in the engine's forward path (anything from the engine's
# interfaces that moat let through), one in S (anything that arrived for a
# refused address, or with a source that is not the engine's own).  Both
# must stay 0.  DNS over TCP to the engine's resolver passes (and TCP to
# any other port of it does not).
. "$(dirname "$0")/../lib/harness.sh"
harness_init

harness_peer_netns 10.78.0 2 5 -6 fd78 2 5
S=$HARNESS_PEER_NETNS
H=$HARNESS_NETNS
harness_airgap_settings '["10.78.0.2", "fd78::2"]'

# The engine's resolver (the host's first IPv4 nameserver, which moatd reads
# and dockerd hands to containers) is played by S: only inside the engine's
# namespace is it routed there.
R=$(sed -n 's/^nameserver[ \t]\+\([0-9.]\+\)[ \t]*$/\1/p' /etc/resolv.conf | head -1)
case $R in 127.*) R= ;; esac
if [ -n "$R" ]; then
  ip -n "$S" addr add "$R/32" dev s0
  ip -n "$H" route add "$R/32" via 10.78.0.2
fi
mkdir -p "$HARNESS_DIR/www"
echo "hello from S" >"$HARNESS_DIR/www/index.html"
harness_spawn httpd ip netns exec "$S" /usr/bin/python3 -m http.server \
  --bind :: --directory "$HARNESS_DIR/www" 80 >/dev/null
cat >"$HARNESS_DIR/tcp53.py" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 53)); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"dns-over-tcp-ok\n"); c.close()
PY
[ -n "$R" ] && harness_spawn tcp53 ip netns exec "$S" /usr/bin/python3 "$HARNESS_DIR/tcp53.py" "$R" >/dev/null
# S counts what arrives for the refused addresses, and anything whose
# source is neither H (the guard's own connections, masquerading) nor S.
ip netns exec "$S" nft -f - <<NFT || harness_bail "counters in S" "nft failed"
table inet moattest {
  counter refused {}
  counter foreign {}
  counter resolver {}
  chain input {
    type filter hook prerouting priority raw; policy accept;
    iifname "s0" ip daddr 10.78.0.5 counter name refused
    iifname "s0" ip6 daddr fd78::5 counter name refused
    iifname "s0" meta nfproto ipv4 ip saddr != 10.78.0.0/24 counter name foreign
    iifname "s0" meta nfproto ipv6 ip6 saddr != { fd78::/64, fe80::/10 } counter name foreign
    ${R:+iifname "s0" ip daddr $R tcp dport != 53 counter name resolver}
  }
}
NFT

harness_up
harness_busybox
# The probe image: busybox plus net-probe.
harness_probe_image

# Leak catcher in the engine's namespace, after moat's rules: anything from
# the engine's interfaces forwarded towards S (the only way out of the
# engine's namespace), except DNS to the resolver and TCP to the excluded
# hosts' port 80 from a source that belongs on its interface (IP-literal
# exclusions are forwarded by nft, docs/net-guard.md; forged sources still
# count).
dns_ok=
[ -n "$R" ] && dns_ok="iifname { \"moat0\", \"br-*\" } ip daddr $R th dport 53 accept"
ip netns exec "$H" nft -f - <<NFT || harness_bail "leak catcher" "nft failed"
table inet moattest {
  counter leaks {}
  chain forward {
    type filter hook forward priority filter + 10; policy accept;
    $dns_ok
    iifname { "moat0", "br-*" } oifname "hs0" ip daddr 10.78.0.2 tcp dport 80 fib saddr . iif oif exists counter accept
    iifname { "moat0", "br-*" } oifname "hs0" ip6 daddr fd78::2 tcp dport 80 fib saddr . iif oif exists counter accept
    iifname { "moat0", "br-*" } oifname "hs0" meta nfproto ipv4 meta l4proto tcp counter
    iifname { "moat0", "br-*" } oifname "hs0" meta nfproto ipv4 meta l4proto != tcp counter
    iifname { "moat0", "br-*" } oifname "hs0" meta nfproto ipv6 meta l4proto tcp counter
    iifname { "moat0", "br-*" } oifname "hs0" meta nfproto ipv6 meta l4proto != tcp counter
    iifname { "moat0", "br-*" } oifname "hs0" counter name leaks drop
  }
}
NFT
cnt() { ip netns exec "$1" nft list counter inet moattest "$2" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

# Networks: one with a subnet outside the address pool, one with IPv6.
# Made through the raw engine: whatever the guard allows, moat's rules must
# hold for every network the engine has.
docker -H "$MOAT_ENGINE_HOST" network create --subnet 192.168.213.0/24 moatn4 >/dev/null ||
  not_ok "create a user network" "docker network create failed"
docker -H "$MOAT_ENGINE_HOST" network create --ipv6 --subnet fd79::/64 --subnet 192.168.214.0/24 moatn6 >/dev/null ||
  not_ok "create an IPv6 network" "docker network create failed"

# Every attempt at once inside one container (net-probe sends; the
# counters judge).
probes4='
net-probe tcp 10.78.0.5 80; echo "tcp5=$?"
net-probe tcp 10.78.0.5 22
net-probe udp 10.78.0.5 9999
net-probe raw 10.78.0.5 132
net-probe ping 10.78.0.5
net-probe spoof 10.99.0.1 10.78.0.5 udp 9999
net-probe spoof 10.215.0.9 10.78.0.2 tcp 80
net-probe spoof 172.30.0.1 10.78.0.2 icmp 0
net-probe spoof 10.99.0.1 10.78.0.2 udp 9999
'
probes6='
net-probe tcp fd78::5 80
net-probe udp fd78::5 9999
net-probe raw fd78::5 132
net-probe ping fd78::5
'
# The probes hold CAP_NET_RAW (moat drops it by default): the rules must
# hold against a container that has it.
run_probes() { # NAME NETWORK SCRIPT
  local name=$1 net=$2 script=$3 l0 r0 f0 out
  l0=$(cnt "$H" leaks); r0=$(cnt "$S" refused); f0=$(cnt "$S" foreign)
  out=$(docker run --rm --cap-add NET_RAW --network "$net" probe sh -c "$script" 2>&1)
  sleep 1
  [ "$(cnt "$H" leaks)" = "$l0" ] && ok "$name: nothing forwarded past moat's rules" \
    || not_ok "$name: nothing forwarded past moat's rules" "leaks $l0 -> $(cnt "$H" leaks)" "$out" \
         "$(ip netns exec "$H" nft list chain inet moattest forward)"
  [ "$(cnt "$S" refused)" = "$r0" ] && ok "$name: nothing reached the refused host" \
    || not_ok "$name: nothing reached the refused host" "refused $r0 -> $(cnt "$S" refused)" "$out"
  [ "$(cnt "$S" foreign)" = "$f0" ] && ok "$name: no forged source reached the test host" \
    || not_ok "$name: no forged source reached the test host" "foreign $f0 -> $(cnt "$S" foreign)" "$out"
}
direct() { # NAME NETWORK ADDR
  local out
  out=$(docker run --rm --network "$2" probe net-probe tcp "$3" 80 2>&1)
  echo "$out" | grep -q 'reply: HTTP/' && ok "$1: the excluded host is reached (DIRECT)" \
    || not_ok "$1: the excluded host is reached (DIRECT)" "$out" "$("$MOAT" audit -n 5)"
}

direct "default network" bridge 10.78.0.2
run_probes "default network" bridge "$probes4"
# An IPv6 frame straight to the bridge's MAC, on a network without IPv6.
gw=$(docker -H "$MOAT_ENGINE_HOST" network inspect bridge -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
[ -n "$gw" ] || gw=$(ip -n "$H" -4 -o addr show moat0 | awk '{print $4}' | cut -d/ -f1)
run_probes "default network, IPv6 frame via AF_PACKET" bridge \
  "net-probe frame6 eth0 $gw fd99::9 fd78::5 9999; net-probe frame6 eth0 $gw fd78::9 fd78::5 9999"
direct "user network 192.168.213.0/24" moatn4 10.78.0.2
run_probes "user network 192.168.213.0/24" moatn4 "$probes4"
direct "IPv6 network (IPv4)" moatn6 10.78.0.2
direct "IPv6 network (IPv6)" moatn6 fd78::2
run_probes "IPv6 network" moatn6 "$probes4$probes6"
"$MOAT" audit --json -n 300 | jq -e -s 'map(select(.component=="net" and .outcome=="refused" and (.endpoint|startswith("fd78::5")))) | length > 0' >/dev/null \
  && ok "IPv6 network: the refused IPv6 connection is audited" \
  || not_ok "IPv6 network: the refused IPv6 connection is audited" "$("$MOAT" audit -n 10)"

# DNS over TCP to the resolver: allowed on port 53 only.
if [ -n "$R" ]; then
  out=$(docker run --rm probe net-probe tcp "$R" 53 2>&1)
  echo "$out" | grep -q 'dns-over-tcp-ok' && ok "DNS over TCP to the resolver passes" \
    || not_ok "DNS over TCP to the resolver passes" "$out"
  docker run --rm probe net-probe tcp "$R" 54 >/dev/null 2>&1
  [ "$(cnt "$S" resolver)" = 0 ] && ok "TCP to another port of the resolver does not pass" \
    || not_ok "TCP to another port of the resolver does not pass" "resolver=$(cnt "$S" resolver)"
else
  skip "DNS over TCP" "no usable IPv4 nameserver in /etc/resolv.conf"
fi

[ "$(cnt "$H" leaks)" = 0 ] && ok "total: nothing forwarded past moat's rules" \
  || not_ok "total: nothing forwarded past moat's rules" "leaks=$(cnt "$H" leaks)"
harness_done
