#!/usr/bin/env bash
# `moat settings show` without moatd: the effective settings computed from
# admin-settings.json and the user settings moatd stored in its state
# database, the same rows moatd shows, and a note on stderr that moatd is
# down.  Against a real stack: moatd killed (its database as a crash leaves
# it), then after `moat down`.
. "$(dirname "$0")/../lib/harness.sh"
harness_setup

check_output "settings set through moatd" "containersProxy.http set" \
  "$MOAT" settings set containersProxy.http http://u:3128
live=$("$MOAT" settings show --json 2>/dev/null)
jq -e 'any(.[]; .key == "containersProxy.http" and .value == "http://u:3128" and .source == "user")' \
  <<<"$live" >/dev/null && ok "moatd shows the user setting" || not_ok "moatd shows the user setting" "$live"

# offline_same NAME: show without moatd gives moatd's rows, says moatd is down.
offline_same() {
  local out rc
  out=$("$MOAT" settings show --json 2>"$HARNESS_DIR/show.err")
  rc=$?
  if [ $rc -eq 0 ] && [ "$(jq -S . <<<"$out")" = "$(jq -S . <<<"$live")" ] \
     && grep -qF "moatd is not running" "$HARNESS_DIR/show.err"; then
    ok "$1"
  else
    not_ok "$1" "exit $rc" "$out" "$(cat "$HARNESS_DIR/show.err")"
  fi
}

moatd=$(jq -r .processes.moatd.pid "$MOAT_ROOT/run/moat/stack.json")
kill -KILL "$moatd"
for _ in $(seq 50); do kill -0 "$moatd" 2>/dev/null || break; sleep 0.1; done
offline_same "settings show with moatd killed: the same rows, from the files"
check "moat down" "$MOAT" down
offline_same "settings show after moat down: the same rows, from the files"
out=$("$MOAT" settings show 2>&1)
grep -qE '^containersProxy.http +"http://u:3128" +user +no$' <<<"$out" \
  && ok "settings show table without moatd" || not_ok "settings show table without moatd" "$out"
check_fails "settings set still needs moatd" "$MOAT" settings set containersProxy.http http://v:1
harness_done
