#!/usr/bin/env bash
# The air gap holds across the stack's life: `moat down`, `moat up`, moatd
# dying and being restarted alone (`moat up` repairs a half-running stack;
# a foreground `moat up` restarts it by itself).  A `--restart always`
# container loops connections (TCP and UDP) to a host that must be refused
# (10.78.0.5 in a namespace of its own, S) the whole time; S counts every
# packet that arrives for it, and a drop rule in the engine's namespace
# counts anything forwarded towards S.  Both must stay 0.  `moat down`
# leaves no bridge of the engine and no iptables rule for them behind.
. "$(dirname "$0")/../lib/harness.sh"
harness_init

harness_peer_netns 10.78.0 2 5
S=$HARNESS_PEER_NETNS
H=$HARNESS_NETNS
harness_airgap_settings '["10.78.0.2"]'

mkdir -p "$HARNESS_DIR/www"
echo "hello from S" >"$HARNESS_DIR/www/index.html"
harness_spawn httpd ip netns exec "$S" /usr/bin/python3 -m http.server \
  --bind 0.0.0.0 --directory "$HARNESS_DIR/www" 80 >/dev/null
ip netns exec "$S" nft -f - <<'NFT' || harness_bail "counters in S" "nft failed"
table inet moattest {
  counter refused {}
  chain input {
    type filter hook prerouting priority raw; policy accept;
    iifname "s0" ip daddr 10.78.0.5 counter name refused
  }
}
NFT
# In the engine's namespace, for the whole test (moat's own table comes
# and goes; this one stays): anything forwarded towards S but TCP to the
# excluded host's port 80 from a source that belongs on its interface
# (IP-literal exclusions are forwarded by nft: docs/net-guard.md).
ip netns exec "$H" nft -f - <<'NFT' || harness_bail "leak catcher" "nft failed"
table inet moattest {
  counter leaks {}
  chain forward {
    type filter hook forward priority filter + 10; policy accept;
    oifname "hs0" ip daddr 10.78.0.2 tcp dport 80 fib saddr . iif oif exists counter accept
    oifname "hs0" iifname "moat0" counter
    oifname "hs0" iifname "br-*" counter
    oifname "hs0" iifname "veth*" counter
    oifname "hs0" meta nfproto ipv6 counter
    oifname "hs0" counter name leaks drop
  }
}
NFT
cnt() { ip netns exec "$1" nft list counter inet moattest "$2" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }
stack_pid() { jq -r ".processes.$1.pid // empty" "$MOAT_ROOT/run/moat/stack.json" 2>/dev/null; }
alive() { [ -n "$1" ] && harness_start_time "$1" >/dev/null; }
nothing_out() { # NAME
  local l r
  l=$(cnt "$H" leaks); r=$(cnt "$S" refused)
  [ "$l" = 0 ] && [ "$r" = 0 ] && ok "$1: nothing got out" \
    || not_ok "$1: nothing got out" "forwarded=$l arrived=$r" "$(docker logs --tail 5 loop 2>&1)" \
         "$(ip netns exec "$H" nft list chain inet moattest forward)" "$(ip -n "$H" -o link show | cut -d: -f2 | tr '\n' ' ')"
}
up() { MOAT_ENGINE_NETNS=$H "$MOAT" up -d 2>&1; }

harness_up
harness_busybox
harness_probe_image

# A user-defined network, so that `moat down` has a bridge of dockerd's to
# remove; the looping container sits on the default one.
docker -H "$MOAT_ENGINE_HOST" network create --subnet 192.168.213.0/24 moatn4 >/dev/null
docker run -d --network moatn4 --name parked probe sleep 100000 >/dev/null
docker run -d --restart always --name loop probe sh -c \
  'while :; do net-probe tcp 10.78.0.5 80; net-probe udp 10.78.0.5 9; net-probe tcp 10.78.0.5 443; done' >/dev/null ||
  not_ok "start the looping container"
sleep 3
nothing_out "running"
[ "$(docker logs loop 2>&1 | grep -c connected)" -gt 0 ] && ok "the loop runs" \
  || not_ok "the loop runs" "$(docker logs --tail 5 loop 2>&1)"

# moat down: the rules stay until dockerd (and the loop) has stopped.
brs=$(ip -n "$H" -o link show type bridge | awk -F': ' '{print $2}' | grep '^br-' | tr '\n' ' ')
[ -n "$brs" ] && ok "the user network has a bridge ($brs)" || not_ok "the user network has a bridge"
"$MOAT" down >/dev/null 2>&1 || not_ok "moat down" "$(harness_logs)"
nothing_out "moat down"
check_refused "moat down removes the interception rules" "No such file or directory" \
  ip netns exec "$H" nft list table inet moat
left=$(ip -n "$H" -o link show type bridge | awk -F': ' '{print $2}' | tr '\n' ' ')
[ -z "$left" ] && ok "moat down leaves no bridge of the engine" \
  || not_ok "moat down leaves no bridge of the engine" "left: $left"
rules=$(ip netns exec "$H" iptables-save 2>/dev/null | grep -E -- '(-i|-o) (moat0|br-)|192\.168\.213\.|10\.213\.0\.' )
[ -z "$rules" ] && ok "moat down leaves no iptables rule for the engine's bridges" \
  || not_ok "moat down leaves no iptables rule for the engine's bridges" "$rules"

# moat up: the loop restarts with dockerd, the rules are there first.
out=$(up) || not_ok "moat up again" "$out"
for _ in $(seq 50); do docker inspect -f '{{.State.Running}}' loop 2>/dev/null | grep -q true && break; sleep 0.2; done
sleep 4
nothing_out "moat up"

# moatd dies: the rules stay (connections refused), `moat up` restarts it
# alone and keeps the engine.
dockerd=$(stack_pid dockerd); moatd=$(stack_pid moatd)
kill -KILL "$moatd"
sleep 3
ip netns exec "$H" nft list table inet moat >/dev/null 2>&1 && ok "moatd killed: the rules stay" \
  || not_ok "moatd killed: the rules stay"
# The excluded host is decided by the rules moatd left (the admin's DIRECT
# list, docs/net-guard.md "Exclusions decided in nft"); everything else
# needs the guard and is refused.
out=$(docker -H "$MOAT_ENGINE_HOST" run --rm probe net-probe tcp 10.78.0.2 80 2>&1)
echo "$out" | grep -q 'reply: HTTP/' && ok "moatd killed: the excluded host is still reached (decided in nft)" \
  || not_ok "moatd killed: the excluded host is still reached (decided in nft)" "$out"
out=$(docker -H "$MOAT_ENGINE_HOST" run --rm probe net-probe tcp 10.78.0.5 80 2>&1)
# Refused by the rules (a redirect to the guard's port, nobody listening),
# not any failure: net-probe ran and its connect got ECONNREFUSED.
! echo "$out" | grep -q 'reply: HTTP/' && echo "$out" | grep -q 'net-probe: connect: Connection refused' \
  && ok "moatd killed: another host is refused" \
  || not_ok "moatd killed: another host is refused" "$out"
nothing_out "moatd dead"
out=$(up); rc=$?
[ $rc = 0 ] && ok "moat up repairs a stack whose moatd died" || not_ok "moat up repairs a stack whose moatd died" "$out"
moatd2=$(stack_pid moatd)
[ "$(stack_pid dockerd)" = "$dockerd" ] && alive "$dockerd" && alive "$moatd2" && [ "$moatd2" != "$moatd" ] \
  && ok "only moatd was restarted" || not_ok "only moatd was restarted" "dockerd $dockerd -> $(stack_pid dockerd), moatd $moatd -> $moatd2"
check "the repaired stack is healthy" "$MOAT" status
out=$(docker run --rm probe net-probe tcp 10.78.0.2 80 2>&1)
echo "$out" | grep -q 'reply: HTTP/' && ok "after the repair the excluded host is reached" \
  || not_ok "after the repair the excluded host is reached" "$out"
nothing_out "moatd restarted"

# Foreground moat up (the systemd unit): moatd is restarted by itself.
"$MOAT" down >/dev/null 2>&1
fg=$(harness_spawn moat-fg env MOAT_ENGINE_NETNS="$H" "$MOAT" up)
for _ in $(seq 150); do "$MOAT" status >/dev/null 2>&1 && break; sleep 0.2; done
dockerd=$(stack_pid dockerd); moatd=$(stack_pid moatd)
kill -KILL "$moatd"
for _ in $(seq 100); do m=$(stack_pid moatd); [ -n "$m" ] && [ "$m" != "$moatd" ] && alive "$m" && break; sleep 0.2; done
for _ in $(seq 100); do "$MOAT" status >/dev/null 2>&1 && break; sleep 0.2; done
[ "$(stack_pid dockerd)" = "$dockerd" ] && alive "$dockerd" && alive "$(stack_pid moatd)" && [ "$(stack_pid moatd)" != "$moatd" ] && alive "$fg" \
  && ok "foreground moat up restarts a dead moatd alone" \
  || not_ok "foreground moat up restarts a dead moatd alone" "$(grep -v "^ *0x\|^=*[0-9]*=*  *0x\| redzone\|Shadow" "$HARNESS_DIR/moat-fg.log" | tail -30)"
sleep 2
nothing_out "foreground restart"
"$MOAT" down >/dev/null 2>&1
nothing_out "moat down of a foreground moat up"

# moat down with moatd dead: the rules are still removed (by moat itself,
# once dockerd has exited).
out=$(up) || not_ok "moat up once more" "$out"
kill -KILL "$(stack_pid moatd)"
sleep 1
out=$("$MOAT" down 2>&1) && ok "moat down with moatd dead" || not_ok "moat down with moatd dead" "$out"
check_refused "moat down with moatd dead removes the interception rules" "No such file or directory" \
  ip netns exec "$H" nft list table inet moat
nothing_out "moat down with moatd dead"

# dockerd killed: its containers keep running (their shims survive), so
# `moat down` keeps the rules and says why; once they are gone it removes
# them.
out=$(up) || not_ok "moat up after moatd dead" "$out"
for _ in $(seq 50); do docker inspect -f '{{.State.Running}}' loop 2>/dev/null | grep -q true && break; sleep 0.2; done
sleep 1
kill -KILL "$(stack_pid dockerd)"
sleep 2
out=$("$MOAT" down 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q 'containers of its engine still run' \
  && ok "moat down with containers left by a killed dockerd keeps the rules and says why" \
  || not_ok "moat down with containers left by a killed dockerd keeps the rules and says why" "rc=$rc" "$out"
ip netns exec "$H" nft list table inet moat >/dev/null 2>&1 && ok "those containers stay behind the rules" \
  || not_ok "those containers stay behind the rules"
sleep 2
nothing_out "containers left by a killed dockerd"
# End them (the test's own containers: processes in the engine's cgroup).
for f in $(find /sys/fs/cgroup/pids/moat-"$H" /sys/fs/cgroup/moat-"$H" -name cgroup.procs 2>/dev/null); do
  for p in $(cat "$f"); do kill -KILL "$p" 2>/dev/null; done
done
for _ in $(seq 50); do
  [ -z "$(find /sys/fs/cgroup/pids/moat-"$H" /sys/fs/cgroup/moat-"$H" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && break
  sleep 0.2
done
out=$("$MOAT" down 2>&1) && ok "moat down once they are gone" || not_ok "moat down once they are gone" "$out"
check_refused "then the rules are removed" "No such file or directory" \
  ip netns exec "$H" nft list table inet moat
nothing_out "final moat down"
harness_done
