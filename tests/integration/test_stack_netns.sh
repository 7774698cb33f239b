#!/usr/bin/env bash
# Two moat stacks in one network namespace (docs/net-guard.md, "One stack
# a network namespace").  The interception rules are one nftables table,
# `inet moat`, that names the stack it belongs to (its comment, "moat stack
# at ROOT"); a second `moat up` (another MOAT_ROOT, its own bridge and
# address pool) in a namespace whose table belongs to a recorded stack is
# refused, naming that stack, and changes nothing: before the fix it
# replaced the first stack's rules with its own.  A table whose stack is
# gone (no record at its root) is taken over; one that names no stack (an
# older moat's) is refused unless this root's own previous (crashed) stack
# left it.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
# The first stack intercepts port 80 (a table with chains to protect).
cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<'J'
{"configurationFileVersion": 2,
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "exclude": [], "transparentPorts": "80"}}
J
chmod 0644 "$MOAT_ROOT/etc/moat/admin-settings.json"
harness_up
harness_busybox
A=$MOAT_ROOT
H=$HARNESS_NETNS
B=$HARNESS_DIR/rootb # below A's root: teardown unmounts and removes it
mkdir -p "$B"
chmod 0755 "$HARNESS_DIR" "$B"
table() { ip netns exec "$H" nft list table inet moat 2>&1; }
comment() { table | sed -n 's/^[[:space:]]*comment "\(.*\)"$/\1/p'; }

for _ in $(seq 50); do table | grep -q 'dport 80 redirect' && break; sleep 0.2; done
check "the table names its stack" test "$(comment)" = "moat stack at $A"
check "the first stack intercepts port 80" sh -c "ip netns exec $H nft list table inet moat | grep -q 'dport 80 redirect'"
before=$(table)

out=$(MOAT_ROOT=$B MOAT_ENGINE_NETNS=$H "$MOAT" up -d --bridge moatb0 \
  --bridge-ip 10.215.0.1/24 --address-pool 10.216.0.0/16 --dashboard-port 0 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -qF "the moat stack at $A" <<<"$out"; then
  ok "a second stack in the namespace is refused, naming the first"
else
  not_ok "a second stack in the namespace is refused, naming the first" "exit $rc" "$out"
fi
# Whatever happened, B must not outlive the test.
[ -f "$B/run/moat/stack.json" ] && MOAT_ROOT=$B "$MOAT" down >/dev/null 2>&1
check "the first stack's rules are unchanged" test "$(table)" = "$before"
check "the refused stack made no bridge" sh -c "! ip -n $H link show moatb0 >/dev/null 2>&1"
check "the first stack still runs containers" docker run --rm busybox true

# A table of a stack that is gone (its root has no record): taken over.
"$MOAT" down >/dev/null 2>&1 || not_ok "moat down" "failed"
check "moat down removes the table" sh -c "! ip netns exec $H nft list table inet moat >/dev/null 2>&1"
ip netns exec "$H" nft add table inet moat "{ comment \"moat stack at $B\"; }"
harness_up
check "a gone stack's table is taken over" test "$(comment)" = "moat stack at $A"

# A table that names no stack (an older moat's), and no record of this
# root's own: refused; the administrator removes it.
"$MOAT" down >/dev/null 2>&1 || not_ok "moat down" "failed"
ip netns exec "$H" nft add table inet moat
out=$(MOAT_ENGINE_NETNS=$H "$MOAT" up -d --dashboard-port 0 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -qF "nft delete table inet moat" <<<"$out"; then
  ok "a table that names no stack is refused"
else
  not_ok "a table that names no stack is refused" "exit $rc" "$out"
fi
check "the refused start left that table alone" test -z "$(comment)" -a -n "$(table | grep -F 'table inet moat')"
ip netns exec "$H" nft delete table inet moat
[ -f "$A/run/moat/stack.json" ] && "$MOAT" down >/dev/null 2>&1
harness_up
check "with the table gone, moat up starts" test "$(comment)" = "moat stack at $A"

# This root's own stack crashed, and was an older moat's (its table names
# no stack): the next `moat up` cleans up after it and takes the table.
stack_pid() { jq -r ".processes.$1.pid // empty" "$A/run/moat/stack.json" 2>/dev/null; }
for p in moatd dockerd; do
  pid=$(stack_pid $p)
  [ -n "$pid" ] && kill -KILL "$pid"
  for _ in $(seq 50); do harness_start_time "$pid" >/dev/null || break; sleep 0.2; done
done
ip netns exec "$H" nft -f - <<'NFT'
table inet moat {}
delete table inet moat
table inet moat {
  chain forward { type filter hook forward priority filter; policy accept; }
}
NFT
check "the crashed stack's table names no stack" test -z "$(comment)"
harness_up
check "this root's own crashed stack's table is taken over" test "$(comment)" = "moat stack at $A"
harness_done
