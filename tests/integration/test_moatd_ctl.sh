#!/usr/bin/env bash
# moatd's control socket under a hostile local user (issue 11 items 6, 7):
# a user in the socket's group holds hundreds of idle connections, or floods
# `{}` lines; root's `moat status` must still answer within seconds, the
# user's connections are capped and closed when idle, and the flood is
# served no faster than the per-uid rate.  No engine.
#
# The user and its group are created here and removed on exit; the group is
# our own (the private socket is chgrp'ed to it), never `docker`.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
B=$MOAT_BUILD
here=$(cd "$(dirname "$0")" && pwd)
root=$MOAT_ROOT
sock=$root/run/moat/moatd.sock
user=moatctl$$
moatd_pid=
hostile_pid=
export HARNESS_EXTRA_CLEANUP="userdel $user >/dev/null 2>&1; groupdel $user >/dev/null 2>&1"

# Root's status, straight to the socket: prints the answer time in ms, or
# fails.
root_status_ms() {
  local t0 t1 out
  t0=$(date +%s%N)
  out=$(printf '{"cmd":"status"}\n' | timeout 5 socat -t 5 - UNIX-CONNECT:"$sock" 2>&1)
  t1=$(date +%s%N)
  echo "$out" | jq -e '.ok == true' >/dev/null 2>&1 || return 1
  echo $(( (t1 - t0) / 1000000 ))
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

printf '{"configurationFileVersion": 2}\n' >"$root/etc/moat/admin-settings.json"
chmod 0644 "$root/etc/moat/admin-settings.json"
"$B/moatd" >"$root/moatd.log" 2>&1 &
moatd_pid=$!
harness_track moatd "$moatd_pid"
for _ in $(seq 100); do
  [ -S "$sock" ] && "$B/moat" audit -n 1 >/dev/null 2>&1 && break
  sleep 0.1
done
"$B/moat" audit -n 1 >/dev/null 2>&1 || harness_bail "moatd starts" "$(cat "$root/moatd.log")"

groupadd "$user" && useradd -M -N -g "$user" -d /nonexistent -s /usr/sbin/nologin "$user" \
  || harness_bail "create test user $user"
chgrp "$user" "$sock"
uid=$(id -u "$user")
run_as() { runuser -u "$user" -- "$@"; }

# 1. Lock-out: the user holds 300 idle connections.
run_as python3 "$here/lib/ctl_hostile.py" hold "$sock" 300 25 >"$root/hold.out" 2>&1 &
hostile_pid=$!
harness_track hostile "$hostile_pid"
for _ in $(seq 100); do [ -s "$root/hold.out" ] && break; sleep 0.1; done
first=$(head -1 "$root/hold.out")
open=$(echo "$first" | jq -r '.open' 2>/dev/null)
msg=$(echo "$first" | jq -r '.msg' 2>/dev/null)
if [ "${open:-999}" -le 16 ] && [ "${open:-0}" -ge 1 ] \
   && echo "$msg" | grep -q "too many control connections from uid $uid"; then
  ok "a uid gets at most 16 control connections ($first)"
else not_ok "a uid gets at most 16 control connections" "$first"; fi
worst=0; bad=0
for _ in 1 2 3 4 5; do
  if ms=$(root_status_ms); then [ "$ms" -gt "$worst" ] && worst=$ms; else bad=$((bad + 1)); fi
done
[ $bad -eq 0 ] && [ "$worst" -lt 3000 ] \
  && ok "root's status answers while the user holds connections (worst ${worst} ms)" \
  || not_ok "root's status answers while the user holds connections" "failed=$bad worst=${worst}ms"
st=$(timeout 10 "$B/moat" status --json 2>&1)
echo "$st" | jq -e '.moatd.reachable == true' >/dev/null 2>&1 \
  && ok "moat status reaches moatd meanwhile" || not_ok "moat status reaches moatd meanwhile" "$st"
# Idle connections are closed after the idle timeout (10 s).
for _ in $(seq 250); do [ "$(wc -l <"$root/hold.out")" -ge 2 ] && break; sleep 0.1; done
second=$(sed -n 2p "$root/hold.out")
closed=$(echo "$second" | jq -r '.closed_by_moatd' 2>/dev/null)
after=$(echo "$second" | jq -r '.after_s' 2>/dev/null)
if [ -n "$closed" ] && [ "$closed" = "$open" ] && [ "$(echo "$second" | jq -r '.still_open')" = 0 ]; then
  ok "idle connections closed by moatd (${after} s)"
else not_ok "idle connections closed by moatd" "$second"; fi
wait "$hostile_pid" 2>/dev/null; hostile_pid=

# 2. CPU hog: the user floods `{}` lines for 5 s.
t0=$(cpu_ticks "$moatd_pid")
run_as python3 "$here/lib/ctl_hostile.py" flood "$sock" 5 >"$root/flood.out" 2>&1 &
hostile_pid=$!
harness_track hostile "$hostile_pid"
sleep 1
worst=0; bad=0
for _ in 1 2 3; do
  if ms=$(root_status_ms); then [ "$ms" -gt "$worst" ] && worst=$ms; else bad=$((bad + 1)); fi
  sleep 0.5
done
[ $bad -eq 0 ] && [ "$worst" -lt 3000 ] \
  && ok "root's status answers during a flood (worst ${worst} ms)" \
  || not_ok "root's status answers during a flood" "failed=$bad worst=${worst}ms"
wait "$hostile_pid" 2>/dev/null; hostile_pid=
t1=$(cpu_ticks "$moatd_pid")
hz=$(getconf CLK_TCK)
flood=$(cat "$root/flood.out")
replies=$(echo "$flood" | jq -r '.replies' 2>/dev/null)
secs=$(echo "$flood" | jq -r '.elapsed_s' 2>/dev/null)
# 100 at once, then 50 a second (docs/settings.md), plus slack for timing.
max=$(awk -v s="${secs:-0}" 'BEGIN { printf "%d", (100 + 50 * s) * 1.2 + 10 }')
if [ -n "$replies" ] && [ "$replies" -gt 0 ] && [ "$replies" -le "$max" ]; then
  ok "flood served at most at the per-uid rate ($replies replies in $secs s, limit $max)"
else not_ok "flood served at most at the per-uid rate" "$flood" "limit $max"; fi
pct=$(( (t1 - t0) * 100 / hz / 6 ))
[ "$pct" -lt 50 ] && ok "moatd CPU during the flood: ${pct}%" \
  || not_ok "moatd CPU during the flood: ${pct}% (>= 50%)"

# 3. moatd is still healthy and the user can still talk to it.
out=$(printf '{"cmd":"ping"}\n' | run_as timeout 5 socat -t 5 - UNIX-CONNECT:"$sock" 2>&1)
echo "$out" | jq -e '.ok == true' >/dev/null 2>&1 && ok "the user is served again after the flood" \
  || not_ok "the user is served again after the flood" "$out"
grep -qE 'Sanitizer|runtime error' "$root/moatd.log" && not_ok "no sanitizer report" "$(grep -A20 -E 'Sanitizer|runtime error' "$root/moatd.log" | head -30)"
harness_done
