#!/usr/bin/env bash
# A PAC that cannot be used is not hidden (issue 11, item 10), through the
# whole stack (moat up's engine, moatd's net guard, a real container):
#   - a PAC whose FindProxyForURL never returns (killed at its deadline):
#     the container's connection is refused, the audit record's rule is
#     pac-timeout, `moat status` (text and --json) lists a "pac" error, and
#     `moat verify` fails its "PAC usable" check;
#   - a PAC with a syntax error: status says SyntaxError, the audit rule is
#     pac-failed;
#   - a good PAC again: the error is gone and verify's check passes.
# Nothing is ever reached: the destination lies in a blackhole route of
# this run's own, and a drop rule counts TCP forwarded past interception.
. "$(dirname "$0")/../lib/harness.sh"
harness_init

ip route add blackhole 10.78.0.0/24 metric $$ ||
  harness_bail "blackhole route" "cannot add the safety-net route"
export HARNESS_EXTRA_CLEANUP="ip route del blackhole 10.78.0.0/24 metric $$ 2>/dev/null"
H=$HARNESS_NETNS
adm=$MOAT_ROOT/etc/moat/admin-settings.json
mkdir -p "$MOAT_ROOT/etc/moat"
write_admin() { cat >"$adm.new"; chmod 0644 "$adm.new"; mv "$adm.new" "$adm"; }
pac_policy() {
  write_admin <<J
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "pac": "file://$MOAT_ROOT/etc/moat/$1", "transparentPorts": "80"}}
J
}
cat >"$MOAT_ROOT/etc/moat/loop.pac" <<'PAC'
function FindProxyForURL(url, host) { for (;;) {} }
PAC
printf 'function FindProxyForURL(url, host) { return "DIRECT" \n' >"$MOAT_ROOT/etc/moat/syntax.pac"
cat >"$MOAT_ROOT/etc/moat/good.pac" <<'PAC'
function FindProxyForURL(url, host) { return "PROXY reject.docker.internal:1"; }
PAC
pac_policy loop.pac
harness_up
harness_busybox

ip netns exec "$H" nft -f - <<'NFT'
table inet moattest {
  counter leaks {}
  chain forward {
    type filter hook forward priority filter + 10; policy accept;
    iifname "moat0" meta l4proto tcp counter name leaks drop
  }
}
NFT

connect() {
  docker run --rm busybox sh -c \
    "printf 'GET / HTTP/1.0\r\nHost: $1\r\n\r\n' | nc -w 5 $1 80" >/dev/null 2>&1
}
pac_error() { "$MOAT" status --json | jq -r '[.errors[]? | select(.component=="pac") | .message] | join("; ")'; }
wait_pac_error() { # REGEX: until moat status's pac error matches
  for _ in $(seq 50); do pac_error | grep -qE "$1" && return 0; sleep 0.2; done
  return 1
}
audit_rule() { # DEST RULE: a refused net record for DEST:80 with that rule
  "$MOAT" audit --json -n 100 | jq -e -s --arg d "$1:80" --arg r "$2" \
    'map(select(.component=="net" and .outcome=="refused" and .endpoint==$d and .rule==$r)) | length > 0' >/dev/null
}

# Loaded, never evaluated yet: nothing to report.
for _ in $(seq 50); do "$MOAT" audit --json -n 50 | grep -q '"applied"' && break; sleep 0.2; done
m=$(pac_error)
[ -z "$m" ] && ok "loop PAC loaded: no error before any evaluation" \
  || not_ok "loop PAC loaded: no error before any evaluation" "$m"

# 1. Every evaluation runs past its deadline.
connect 10.78.0.9
audit_rule 10.78.0.9 pac-timeout && ok "timeout: the refusal is audited with rule pac-timeout" \
  || not_ok "timeout: the refusal is audited with rule pac-timeout" "$("$MOAT" audit -n 5)"
wait_pac_error "timed out" && ok "timeout: moat status --json lists the pac error ($(pac_error))" \
  || not_ok "timeout: moat status --json lists the pac error" "$("$MOAT" status --json)"
"$MOAT" status 2>&1 | grep -q "timed out" && ok "timeout: moat status (text) shows it" \
  || not_ok "timeout: moat status (text) shows it" "$("$MOAT" status 2>&1)"
out=$("$MOAT" verify 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q '^FAIL  PAC usable'; then ok "timeout: moat verify fails its PAC check"
else not_ok "timeout: moat verify fails its PAC check" "rc=$rc" "$out"; fi
echo "$out" | grep -q '^PASS  host pid namespace refused' && ok "timeout: the other verify checks still pass" \
  || not_ok "timeout: the other verify checks still pass" "$out"

# 2. A syntax error: not loaded.
pac_policy syntax.pac
wait_pac_error "SyntaxError" && ok "syntax error: moat status says SyntaxError ($(pac_error))" \
  || not_ok "syntax error: moat status says SyntaxError" "$("$MOAT" status --json)"
connect 10.78.0.8
audit_rule 10.78.0.8 pac-failed && ok "syntax error: the refusal is audited with rule pac-failed" \
  || not_ok "syntax error: the refusal is audited with rule pac-failed" "$("$MOAT" audit -n 5)"
"$MOAT" audit --json -n 100 | jq -e -s 'map(select(.endpoint=="10.78.0.8:80" and (.detail | test("SyntaxError")))) | length > 0' >/dev/null \
  && ok "syntax error: the audit record says why" || not_ok "syntax error: the audit record says why" "$("$MOAT" audit -n 3)"

# 3. A good PAC: the error goes, verify's check passes.
pac_policy good.pac
for _ in $(seq 50); do [ -z "$(pac_error)" ] && break; sleep 0.2; done
m=$(pac_error)
[ -z "$m" ] && ok "good PAC: no pac error" || not_ok "good PAC: no pac error" "$m"
connect 10.78.0.7
"$MOAT" audit --json -n 100 | jq -e -s 'map(select(.endpoint=="10.78.0.7:80" and .outcome=="refused" and .rule=="PAC")) | length > 0' >/dev/null \
  && ok "good PAC: its refusal is an ordinary PAC decision" || not_ok "good PAC: its refusal is an ordinary PAC decision" "$("$MOAT" audit -n 3)"
m=$(pac_error)
[ -z "$m" ] && ok "good PAC: a decision (a refusal) is not an error" || not_ok "good PAC: a decision (a refusal) is not an error" "$m"
out=$("$MOAT" verify --json 2>&1)
echo "$out" | jq -e '.checks[] | select(.check=="PAC usable") | .passed' >/dev/null \
  && ok "good PAC: moat verify's PAC check passes" || not_ok "good PAC: moat verify's PAC check passes" "$out"

leaks=$(ip netns exec "$H" nft list counter inet moattest leaks | sed -n 's/.*packets \([0-9]*\).*/\1/p')
[ "$leaks" = 0 ] && ok "nothing forwarded past interception" || not_ok "nothing forwarded past interception" "leaks=$leaks"
harness_done
