#!/usr/bin/env bash
# IP-literal exclusions decided in nft (docs/net-guard.md, "Exclusions
# decided in nft"): a connection to an excluded address or CIDR is never
# redirected to the net guard, it is forwarded as it is; the host's own
# addresses and link-local ones stay with the guard (refused) even when
# everything is excluded.  In network namespaces this test creates:
#
#   C "container" 10.77.0.2 --veth-- H "host" 10.77.0.1 | 10.78.0.1 --veth-- S "servers"
#                                     netguard-runner +     10.78.0.4, .5,
#                                     nft interception,     169.254.169.254
#                                     a "host service"      (socat: says the
#                                     on port 443           peer's address)
#
# H is the harness's private netns; C and S are this test's.  A leak
# catcher in H drops and counts what must never be forwarded, and H has no
# other link: nothing leaves the namespaces.  Payloads only echo the peer's
# address.
. "$(dirname "$0")/../lib/harness.sh"
runner=$MOAT_BUILD/tests/netguard-runner
for b in socat nft jq "$runner"; do
  command -v "$b" >/dev/null || { echo "not ok - missing $b"; exit 1; }
done

harness_init
H=$HARNESS_NETNS
C=$H-c
S=$H-s
HARNESS_EXTRA_NETNS="$C $S"
work=$HARNESS_DIR
# The test networks are a blackhole in the machine's own namespace (routes
# of this run's own, metric = pid): a connection made from the wrong
# namespace fails instead of leaving the machine.
for n in 10.77.0.0/24 10.78.0.0/24 169.254.169.254/32; do
  ip route add blackhole "$n" metric $$ || harness_bail "blackhole route"
  HARNESS_EXTRA_CLEANUP="${HARNESS_EXTRA_CLEANUP:-} ip route del blackhole $n metric $$;"
done

inC() { ip netns exec "$C" "$@"; }
inH() { ip netns exec "$H" "$@"; }

ip netns add "$C" && ip netns add "$S" || harness_bail "netns"
for n in "$C" "$S"; do ip -n "$n" link set lo up; done
ip link add "${C: -10}c" netns "$C" type veth peer name h0 netns "$H"
ip link add "${S: -10}s" netns "$S" type veth peer name hs0 netns "$H"
ip -n "$C" link set "${C: -10}c" name c0
ip -n "$S" link set "${S: -10}s" name s0
ip -n "$C" addr add 10.77.0.2/24 dev c0
ip -n "$H" addr add 10.77.0.1/24 dev h0
ip -n "$H" addr add 10.78.0.1/24 dev hs0
for a in 4 5; do ip -n "$S" addr add 10.78.0.$a/24 dev s0; done
ip -n "$S" addr add 169.254.169.254/32 dev s0
ip -n "$C" addr add fd77::2/64 dev c0 nodad
ip -n "$H" addr add fd77::1/64 dev h0 nodad
ip -n "$H" addr add fd78::1/64 dev hs0 nodad
ip -n "$S" addr add fd78::4/64 dev s0 nodad
for l in "$C:c0" "$H:h0" "$H:hs0" "$S:s0"; do ip -n "${l%%:*}" link set "${l#*:}" up; done
ip -n "$C" route add default via 10.77.0.1
ip -n "$C" -6 route add default via fd77::1
ip -n "$S" route add default via 10.78.0.1
ip -n "$S" -6 route add default via fd78::1
ip -n "$H" route add 169.254.169.254/32 dev hs0
inH sysctl -qw net.ipv4.ip_forward=1
inH sysctl -qw net.ipv6.conf.all.forwarding=1

# The leak catcher (after moat's forward chain): the link-local address is
# never forwarded, nor 10.78.0.5 while only 10.78.0.4 is excluded.
inH nft -f - <<'NFT' || harness_bail "leak catcher"
table inet moattest {
  counter leaks {}
  set never { type ipv4_addr; elements = { 169.254.169.254 } }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "h0" ip daddr @never counter name leaks drop
    iifname "h0" oifname != "hs0" drop
  }
}
NFT
leaks() { inH nft list counter inet moattest leaks | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

# Servers: each answers with the address it sees the client at (H's, through
# the guard or forwarded and masqueraded).
# The "host service" in H answers `host-service`: reaching it means a host
# address was let through.
peer_says='echo peer=$SOCAT_PEERADDR'
harness_spawn s4 ip netns exec "$S" socat TCP4-LISTEN:443,fork,reuseaddr \
  SYSTEM:"$peer_says" >/dev/null
harness_spawn s6 ip netns exec "$S" socat TCP6-LISTEN:443,ipv6only=1,fork,reuseaddr \
  SYSTEM:"$peer_says" >/dev/null
harness_spawn hostsvc ip netns exec "$H" socat TCP4-LISTEN:443,fork,reuseaddr \
  SYSTEM:'echo host-service' >/dev/null
for _ in $(seq 50); do
  [ "$(ip netns exec "$S" ss -ltnH | grep -c ':443 ')" -ge 2 ] \
    && [ "$(inH ss -ltnH | grep -c ':443 ')" -ge 1 ] && break
  sleep 0.1
done

scn=0
start_guard() {
  scn=$((scn + 1))
  audit=$work/audit-$scn.jsonl
  : >"$audit"
  harness_kill guard
  harness_spawn guard ip netns exec "$H" "$runner" --port 15001 --iface h0 \
    --src 10.77.0.0/24 --src fd77::/64 --ports 80,443 --nft-exclude --audit "$audit" "$@" >/dev/null
  for _ in $(seq 50); do grep -q listening "$work/guard.log" && return 0; sleep 0.1; done
  harness_bail "guard did not start" "$(cat "$work/guard.log")"
}
# What a client in C gets from ADDR port 443 (empty on a reset).  It sends
# a line first, so that the guard has something to decide on (not TLS:
# decided on the address).
get() { (echo hello; sleep 2) | inC socat -t 3 -T 3 - "TCP:$1:443" 2>/dev/null; }
get6() { (echo hello; sleep 2) | inC socat -t 3 -T 3 - "TCP6:[$1]:443" 2>/dev/null; }
audit_count() { sleep 0.3; jq -s "map(select($1)) | length" "$audit"; }
# The packets counted by the exclusion rules of one chain.
excl_packets() {
  inH nft list chain inet moat "$1" | grep '@exclude' \
    | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}'
}

# ---- 1. exclude one address per family ----
start_guard --exclude 10.78.0.4 --exclude fd78::4/128 --exclude internal.company.com
# Forwarded, the flow leaves with H's address (moat masquerades it, as the
# guard's own connection would have had it).
out=$(get 10.78.0.4)
check "excluded address reached ($out)" test "$out" = "peer=10.78.0.1"
out=$(get6 fd78::4)
# socat writes the peer's address in full: [fd78:0000:…:0001]
check "excluded IPv6 address reached, masqueraded ($out)" \
  test "$out" = "peer=[fd78:0000:0000:0000:0000:0000:0000:0001]"
check "the guard never saw the excluded connections" \
  test "$(audit_count '.dst == "10.78.0.4" or .dst == "fd78::4"')" -eq 0
check "nft counted them (prerouting)" test "$(excl_packets prerouting)" -ge 2
check "nft counted them (forward)" test "$(excl_packets forward)" -ge 2
out=$(get 10.78.0.5)
check "a destination not excluded still goes to the guard: refused ($out)" test -z "$out"
check "... and audited as refused" \
  test "$(audit_count '.dst == "10.78.0.5" and .decision == "refused"')" -ge 1
check "no set holds a name" sh -c "! ip netns exec $H nft list table inet moat | grep -q company"

# ---- 2. everything excluded: host and link-local stay refused ----
start_guard --exclude 0.0.0.0/0 --exclude ::/0
out=$(get 10.78.0.5)
check "0.0.0.0/0 excluded: any outside address reached ($out)" test "$out" = "peer=10.78.0.1"
check "... and the guard never saw it" \
  test "$(audit_count '.dst == "10.78.0.5"')" -eq 0
for a in 10.77.0.1 10.78.0.1; do
  out=$(get $a)
  check "host address $a still refused by the guard ($out)" test -z "$out"
  check "... audited as a host address" \
    test "$(audit_count ".dst == \"$a\" and .decision == \"refused\" and (.rule | test(\"host address\"))")" -ge 1
done
out=$(get 169.254.169.254)
check "link-local address still refused by the guard ($out)" test -z "$out"
check "... audited as link-local" \
  test "$(audit_count '.dst == "169.254.169.254" and .decision == "refused"')" -ge 1
out=$(get6 fd77::1)
check "host IPv6 address still refused ($out)" test -z "$out"
check "nothing leaked past the rules" test "$(leaks)" -eq 0

# ---- 3. policy change: the set follows (exclusion removed) ----
start_guard
out=$(get 10.78.0.4)
check "exclusion removed: the guard decides again (refused, $out)" test -z "$out"
check "... and audits it" \
  test "$(audit_count '.dst == "10.78.0.4" and .decision == "refused"')" -ge 1
check "no exclusion set left" sh -c "! ip netns exec $H nft list table inet moat | grep -q exclude"
harness_kill guard
harness_done
