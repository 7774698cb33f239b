# The network the net benchmarks run in (sourced by bench/net/run.sh,
# bench/net/nft_exclude.sh and bench/sockmap/run.sh): three namespaces of
# this run's own, C (the container, 10.77.0.2) -- H (the host: 10.77.0.1,
# 10.78.0.1, forwarding; the guard or relay runs here) -- S (the servers,
# 10.78.0.4 and 10.78.0.5).  Nothing leaves them.
#
# bench_netns TAG WORKNAME: builds them and sets C H S, a work directory
# $work, and the EXIT trap: the process in $guard or $relay is ended first,
# then every pid in pids, then the namespaces and $work go.

bench_cleanup() {
  set +e
  for p in $guard $relay; do kill "$p" && wait "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do kill "$p"; wait "$p" 2>/dev/null; done
  for n in "$C" "$H" "$S"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$work"
}

bench_netns() {
  local tag=$1 n l
  C=$tag-c; H=$tag-h; S=$tag-s
  work=$(mktemp -d "/tmp/moat-$2.XXXXXX")
  pids=(); guard=; relay=
  trap bench_cleanup EXIT
  ulimit -n 65536 2>/dev/null || true
  ip netns add "$C"; ip netns add "$H"; ip netns add "$S"
  for n in "$C" "$H" "$S"; do ip -n "$n" link set lo up; done
  ip link add "${tag}c" netns "$C" type veth peer name h0 netns "$H"
  ip link add "${tag}s" netns "$S" type veth peer name hs0 netns "$H"
  ip -n "$C" link set "${tag}c" name c0; ip -n "$S" link set "${tag}s" name s0
  ip -n "$C" addr add 10.77.0.2/24 dev c0; ip -n "$H" addr add 10.77.0.1/24 dev h0
  ip -n "$H" addr add 10.78.0.1/24 dev hs0
  ip -n "$S" addr add 10.78.0.4/24 dev s0; ip -n "$S" addr add 10.78.0.5/24 dev s0
  for l in "$C:c0" "$H:h0" "$H:hs0" "$S:s0"; do ip -n "${l%%:*}" link set "${l#*:}" up; done
  ip -n "$C" route add default via 10.77.0.1; ip -n "$S" route add default via 10.78.0.1
  ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1
  for n in "$C" "$H" "$S"; do
    ip netns exec "$n" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
  done
}
