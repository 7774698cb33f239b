#!/usr/bin/env bash
# moatd without an engine: fail-closed start, settings show/set through the
# daemon, live reload of admin-settings.json (valid applied, invalid
# refused loudly with the last valid policy kept), audit records.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
B=$MOAT_BUILD
root=$MOAT_ROOT
moatd_pid=
n=0

stop_moatd() {
  if [ -n "$moatd_pid" ] && kill -0 "$moatd_pid" 2>/dev/null; then
    kill -TERM "$moatd_pid"
    for _ in $(seq 50); do kill -0 "$moatd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$moatd_pid" 2>/dev/null && kill -KILL "$moatd_pid"
    wait "$moatd_pid" 2>/dev/null
    rc=$?
    # A clean SIGTERM stop exits 0; sanitizer reports land in the log.
    if [ $rc -ne 0 ] || grep -qE 'Sanitizer|runtime error' "$root/moatd.$n.log"; then
      not_ok "moatd run $n stopped cleanly" "rc=$rc" "$(tail -30 "$root/moatd.$n.log")"
    else
      ok "moatd run $n stopped cleanly"
    fi
  fi
  moatd_pid=
}

# One control request straight to moatd's socket.
ctl() { printf '%s\n' "$1" | timeout 5 socat -t 5 - UNIX-CONNECT:"$root/run/moat/moatd.sock"; }

start_moatd() {
  n=$((n + 1))
  "$B/moatd" >"$root/moatd.$n.log" 2>&1 &
  moatd_pid=$!
  harness_track "moatd$n" "$moatd_pid"
  for _ in $(seq 100); do
    "$B/moat" audit -n 1 >/dev/null 2>&1 && return 0
    kill -0 "$moatd_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

adm=$root/etc/moat/admin-settings.json
write_admin() { cat >"$adm.new"; chmod 0644 "$adm.new"; mv "$adm.new" "$adm"; }

# 1. An invalid admin file: moatd refuses to start and says why.
write_admin <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "transparentPort": "80"}}
J
"$B/moatd" >"$root/bad.log" 2>&1 &
bad=$!
harness_track moatd-bad "$bad"
for _ in $(seq 100); do kill -0 $bad 2>/dev/null || break; sleep 0.1; done
if kill -0 $bad 2>/dev/null; then
  kill $bad; not_ok "moatd refuses to start with an invalid admin file"
else
  wait $bad; rc=$?
  if [ $rc -ne 0 ] && grep -q 'refusing to start' "$root/bad.log" \
     && grep -q 'containersProxy.transparentPort' "$root/bad.log"; then
    ok "moatd refuses to start with an invalid admin file, naming the path"
  else
    not_ok "moatd refuses to start with an invalid admin file" "rc=$rc" "$(cat "$root/bad.log")"
  fi
fi

# 2. A valid file: moatd starts; settings show tells source and lock.
write_admin <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": false, "mode": "manual", "http": "", "https": "",
                     "exclude": ["internal.company.com"], "transparentPorts": "80,443"},
 "filesharingDirectories": {"locked": true, "value": ["/home", "/tmp"]}}
J
if start_moatd; then ok "moatd starts with a valid admin file"; else
  harness_bail "moatd starts with a valid admin file" "$(cat "$root/moatd.$n.log")"; fi

show=$("$B/moat" settings show --json 2>&1)
src=$(echo "$show" | jq -r '.[] | select(.key=="enhancedContainerIsolation") | "\(.value) \(.source) \(.locked)"')
[ "$src" = "true admin true" ] && ok "settings show: ECI true from admin, locked" \
  || not_ok "settings show: ECI true from admin, locked" "got: $src" "$show"

# 3. A locked setting cannot be changed; an unlocked one can, and persists.
out=$("$B/moat" settings set enhancedContainerIsolation false 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q 'locked by the administrator'; then
  ok "settings set refuses a locked setting"
else not_ok "settings set refuses a locked setting" "rc=$rc $out"; fi
check "settings set changes an unlocked setting" \
  "$B/moat" settings set containersProxy.http http://proxy.internal:3128
val=$("$B/moat" settings show --json | jq -r '.[] | select(.key=="containersProxy.http") | "\(.value) \(.source)"')
[ "$val" = "http://proxy.internal:3128 user" ] && ok "user value shown with source user" \
  || not_ok "user value shown with source user" "got: $val"
stop_moatd
start_moatd || not_ok "moatd restarts"
val=$("$B/moat" settings show --json | jq -r '.[] | select(.key=="containersProxy.http") | .value')
[ "$val" = "http://proxy.internal:3128" ] && ok "user value survives a restart" \
  || not_ok "user value survives a restart" "got: $val"

# 4. A valid live change is applied without a restart.
pid_before=$moatd_pid
write_admin <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "exclude": [], "transparentPorts": "*"},
 "filesharingDirectories": {"locked": true, "value": ["/home"]}}
J
applied=no
for _ in $(seq 50); do
  v=$("$B/moat" settings show --json 2>/dev/null | jq -r '.[] | select(.key=="containersProxy.transparentPorts") | .value')
  [ "$v" = "*" ] && { applied=yes; break; }
  sleep 0.1
done
[ $applied = yes ] && [ "$moatd_pid" = "$pid_before" ] && ok "valid change applied live" \
  || not_ok "valid change applied live" "transparentPorts=$v"
v=$("$B/moat" settings show --json | jq -r '.[] | select(.key=="containersProxy.http") | "\(.value) \(.source) \(.locked)"')
[ "$v" = " admin true" ] && ok "admin locking a setting overrides the user's value" \
  || not_ok "admin locking a setting overrides the user's value" "got: $v"

# 5. An invalid live change is refused loudly; the last valid policy stays.
write_admin <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": flase}}
J
refused=no
for _ in $(seq 50); do
  ctl '{"cmd":"status"}' | jq -e '.errors | length > 0' >/dev/null 2>&1 && { refused=yes; break; }
  sleep 0.1
done
[ $refused = yes ] && ok "invalid change shows in moat status" || not_ok "invalid change shows in moat status" "$(ctl '{"cmd":"status"}' 2>&1)"
v=$("$B/moat" settings show --json | jq -r '.[] | select(.key=="containersProxy.transparentPorts") | .value')
[ "$v" = "*" ] && ok "last valid policy stays in force after an invalid change" \
  || not_ok "last valid policy stays in force after an invalid change" "got $v"
"$B/moat" audit --json | jq -e 'select(.component=="policy" and .outcome=="rejected")' >/dev/null \
  && ok "rejected change is in the audit log" || not_ok "rejected change is in the audit log" "$("$B/moat" audit 2>&1)"
grep -q 'change refused' "$root/moatd.$n.log" && ok "rejected change is logged" \
  || not_ok "rejected change is logged"

# 6. A file made writable by others is refused the same way.
write_admin <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "exclude": ["10.0.0.0/8"], "transparentPorts": "80"}}
J
sleep 0.5
chmod 0666 "$adm"; touch "$adm"
sleep 2.5
v=$("$B/moat" settings show --json | jq -r '.[] | select(.key=="containersProxy.exclude") | .value | join(",")')
msg=$(ctl '{"cmd":"status"}' | jq -r '.errors[]?.message')
if echo "$msg" | grep -q 'writable by all users'; then ok "world-writable admin file refused"; else
  not_ok "world-writable admin file refused" "exclude=$v" "errors=$msg"; fi

# 7. Removing the file keeps the last valid policy.
chmod 0644 "$adm"; touch "$adm"; sleep 2.5
rm -f "$adm"; sleep 2.5
v=$("$B/moat" settings show --json | jq -r '.[] | select(.key=="enhancedContainerIsolation") | "\(.value) \(.source)"')
[ "$v" = "true admin" ] && ok "removing the admin file does not drop the policy" \
  || not_ok "removing the admin file does not drop the policy" "got $v"

# 7b. A FIFO at admin-settings.json is refused at once (issue 11 item 8):
# moatd's main thread never blocks on it, `moat status` answers and says
# why.  A symlink is refused the same way (issue 10 hole 9).
write_admin <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true}}
J
sleep 2.5
rm -f "$adm"; mkfifo -m 0644 "$adm"
msg=
for _ in $(seq 50); do
  msg=$(ctl '{"cmd":"status"}' | jq -r '.errors[]?.message' 2>/dev/null)
  echo "$msg" | grep -q 'not a regular file (it is a FIFO)' && break
  sleep 0.1
done
echo "$msg" | grep -q 'not a regular file (it is a FIFO)' \
  && ok "FIFO admin file refused, reported in status" \
  || not_ok "FIFO admin file refused, reported in status" "errors=$msg"
t0=$(date +%s%N)
st=$(timeout 5 "$B/moat" status --json 2>&1)
t1=$(date +%s%N)
if echo "$st" | grep -q 'it is a FIFO' && [ $(( (t1 - t0) / 1000000 )) -lt 5000 ]; then
  ok "moat status answers with a FIFO in place ($(( (t1 - t0) / 1000000 )) ms)"
else not_ok "moat status answers with a FIFO in place" "$st"; fi
"$B/moat" settings validate >"$root/validate.out" 2>&1; rc=$?
[ $rc -ne 0 ] && grep -q 'it is a FIFO' "$root/validate.out" \
  && ok "settings validate refuses a FIFO without blocking" \
  || not_ok "settings validate refuses a FIFO without blocking" "rc=$rc" "$(cat "$root/validate.out")"
rm -f "$adm"
printf '{"configurationFileVersion": 2}\n' >"$root/elsewhere.json"
chmod 0644 "$root/elsewhere.json"
ln -s "$root/elsewhere.json" "$adm"
msg=
for _ in $(seq 50); do
  msg=$(ctl '{"cmd":"status"}' | jq -r '.errors[]?.message' 2>/dev/null)
  echo "$msg" | grep -q 'is a symbolic link' && break
  sleep 0.1
done
echo "$msg" | grep -q 'admin-settings.json` is a symbolic link' \
  && ok "symlinked admin file refused" || not_ok "symlinked admin file refused" "errors=$msg"
rm -f "$adm"
write_admin <<'J'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "exclude": ["10.0.0.0/8"], "transparentPorts": "80"}}
J
sleep 2.5

# 8. Control socket: malformed and oversized requests get an error, moatd lives.
out=$(printf 'not json\n' | timeout 5 socat -t 5 - UNIX-CONNECT:"$root/run/moat/moatd.sock" 2>&1)
echo "$out" | grep -q 'malformed request' && ok "malformed control request answered" \
  || not_ok "malformed control request answered" "$out"
head -c 3000000 /dev/zero | tr '\0' 'a' | timeout 10 socat - UNIX-CONNECT:"$root/run/moat/moatd.sock" >/dev/null 2>&1
check "moatd alive after an oversized request" "$B/moat" audit -n 1
stat -c %a "$root/run/moat/moatd.sock" | grep -qx 660 && ok "control socket mode 0660" \
  || not_ok "control socket mode 0660"

# 9. Sign-in policy: applied live, an invalid change keeps the last list.
reg=$root/etc/moat/registry.json
printf '{"allowedOrgs": ["acme", "acme-labs"]}\n' >"$reg.new"; mv "$reg.new" "$reg"
v=
for _ in $(seq 50); do
  v=$(ctl '{"cmd":"signin.policy"}' | jq -r '.signin.allowedOrgs | join(",")')
  [ "$v" = "acme,acme-labs" ] && break; sleep 0.1
done
[ "$v" = "acme,acme-labs" ] && ok "sign-in policy applied live" || not_ok "sign-in policy applied live" "got $v"
printf '{"allowedOrgs": ["Acme"]}\n' >"$reg.new"; mv "$reg.new" "$reg"
m=
for _ in $(seq 50); do
  m=$(ctl '{"cmd":"status"}' | jq -r '.errors[]? | select(.component=="signin") | .message')
  [ -n "$m" ] && break; sleep 0.1
done
v=$(ctl '{"cmd":"signin.policy"}' | jq -r '.signin.allowedOrgs | join(",")')
if echo "$m" | grep -q 'allowedOrgs\[0\]' && [ "$v" = "acme,acme-labs" ]; then
  ok "invalid sign-in change refused, last list kept"
else not_ok "invalid sign-in change refused, last list kept" "msg=$m" "orgs=$v"; fi
stop_moatd
n=$((n + 1))
timeout 20 "$B/moatd" >"$root/moatd.$n.log" 2>&1; rc=$?
[ $rc -ne 0 ] && grep -q 'sign-in policy is invalid' "$root/moatd.$n.log" \
  && ok "moatd refuses to start with an invalid registry.json" \
  || not_ok "moatd refuses to start with an invalid registry.json" "rc=$rc" "$(cat "$root/moatd.$n.log")"

# 10. A FIFO at admin-settings.json when moatd starts: refused at once.
rm -f "$reg" "$adm"; mkfifo -m 0644 "$adm"
n=$((n + 1))
timeout 20 "$B/moatd" >"$root/moatd.$n.log" 2>&1; rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'it is a FIFO' "$root/moatd.$n.log" \
  && ok "moatd refuses to start with a FIFO admin file, without hanging" \
  || not_ok "moatd refuses to start with a FIFO admin file" "rc=$rc" "$(cat "$root/moatd.$n.log")"
rm -f "$adm"
stop_moatd
harness_done
