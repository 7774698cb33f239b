#!/usr/bin/env bash
# Audit export (docs/audit-export.md): moatd without an engine sends every
# audit record to syslog collectors this test starts on 127.0.0.1 (UDP, and
# TCP with RFC 6587 octet counting) and to a real systemd-journald that the
# test runs in a private mount namespace with its own /run; every message
# is checked against a strict RFC 5424 parser (tests/tools/rfc5424_check.py);
# hostile values (newline, ], ", \) are escaped; oversized records are cut
# by the RFC's rule; a dead or stalled collector drops records with a
# counter in moat status and never slows moatd's control loop.
# Network: only the test's own receivers, on 127.0.0.1.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
B=$MOAT_BUILD
root=$MOAT_ROOT
T=$(cd "$(dirname "$0")/../tools" && pwd)
moatd_pid=
n=0

for t in python3 jq socat; do
  command -v $t >/dev/null || { skip "audit export" "$t is not installed"; harness_done; }
done

ctl() { printf '%s\n' "$1" | timeout 5 socat -t 5 - UNIX-CONNECT:"$root/run/moat/moatd.sock"; }
status() { ctl '{"cmd":"status"}'; }
xs() { status | jq -r ".audit_export.$1"; }
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
stop_moatd() {
  [ -n "$moatd_pid" ] || return 0
  local t0=$(date +%s%N)
  kill -TERM "$moatd_pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$moatd_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$moatd_pid" 2>/dev/null; then
    kill -KILL "$moatd_pid"; not_ok "moatd run $n stops on SIGTERM within 10 s"
  fi
  wait "$moatd_pid" 2>/dev/null
  rc=$?
  if [ $rc -ne 0 ] || grep -qE 'Sanitizer|runtime error' "$root/moatd.$n.log"; then
    not_ok "moatd run $n stopped cleanly" "rc=$rc" "$(tail -30 "$root/moatd.$n.log")"
  else
    ok "moatd run $n stopped cleanly ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
  fi
  moatd_pid=
}
adm=$root/etc/moat/admin-settings.json
# admin EXPORT_JSON: install admin-settings.json with that auditExport.
admin() {
  printf '{"configurationFileVersion": 2, "auditExport": %s}\n' "$1" >"$adm.new"
  chmod 0644 "$adm.new"
  mv "$adm.new" "$adm"
}
# wait_target WANT: until moatd's export goes to WANT (syslog target).
wait_target() {
  for _ in $(seq 100); do [ "$(xs syslog)" = "$1" ] && return 0; sleep 0.1; done
  return 1
}
# receiver NAME MODE: start syslog_rx.py; sets port.
receiver() {
  rm -f "$HARNESS_DIR/$1.port"
  harness_spawn "$1" python3 "$T/syslog_rx.py" "$2" "$HARNESS_DIR/$1.port" "$HARNESS_DIR/$1.out" >/dev/null
  for _ in $(seq 50); do [ -s "$HARNESS_DIR/$1.port" ] && break; sleep 0.1; done
  port=$(cat "$HARNESS_DIR/$1.port" 2>/dev/null)
  touch "$HARNESS_DIR/$1.out"
  [ -n "$port" ] || harness_bail "receiver $1 starts" "$(cat "$HARNESS_DIR/$1.log")"
}
# wait_msgs NAME N: until NAME's receiver holds at least N records.
wait_msgs() {
  for _ in $(seq 100); do
    [ "$(grep -c . "$HARNESS_DIR/$1.out")" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
# check_rfc NAME MAX: every message NAME received is RFC 5424 (strict);
# the parsed messages go to $HARNESS_DIR/NAME.parsed.
check_rfc() {
  if python3 "$T/rfc5424_check.py" "$2" <"$HARNESS_DIR/$1.out" >"$HARNESS_DIR/$1.parsed" 2>"$HARNESS_DIR/$1.err"; then
    ok "$1: all $(grep -c . "$HARNESS_DIR/$1.parsed") messages are strict RFC 5424 (moat's profile, <= $2 bytes)"
  else
    not_ok "$1: messages are strict RFC 5424" "$(cat "$HARNESS_DIR/$1.err")"
  fi
}
set_ms() { # KEY VALUE: `moat settings set`, its wall time in ms to $HARNESS_DIR/ms
  local t0=$(date +%s%N)
  "$B/moat" settings set "$1" "$2" >/dev/null 2>&1
  echo $(( ($(date +%s%N) - t0) / 1000000 )) >>"$HARNESS_DIR/ms"
}
evil=$'img\n]"\\x [moat@32473 id="1"]'
long=$(printf 'A%.0s' $(seq 3000))

# ---- 0. validation: auditExport is checked like every admin key ----
bad() { # NAME JSON TEXT
  printf '{"configurationFileVersion": 2, "auditExport": %s}\n' "$2" >"$HARNESS_DIR/draft.json"
  check_refused "validate: $1" "$3" "$B/moat" settings validate "$HARNESS_DIR/draft.json"
}
bad "an http URL" '{"syslog": "http://127.0.0.1:514"}' 'is not a syslog destination'
bad "no port" '{"syslog": "udp://127.0.0.1"}' 'give a port'
bad "a path after host:port" '{"syslog": "tcp://127.0.0.1:514/x"}' 'host:port only'
bad "a relative socket" '{"syslog": "unix:dev/log"}' 'is not an absolute path'
bad "a socket path with .." '{"journalSocket": "/run/../tmp/s"}' 'is not a normalised path'
bad "a typo" '{"journld": true}' 'did you mean "journald"'
bad "a facility" '{"facility": "local9"}' 'expected a syslog facility name'
bad "a size" '{"maxMessageBytes": 100}' 'from 480 to 65000'
bad "not an object" '"udp://127.0.0.1:514"' 'expected an object'
printf '{"configurationFileVersion": 2, "auditExport": {"syslog": "udp://127.0.0.1:514", "journald": true, "facility": "local3"}}\n' >"$HARNESS_DIR/draft.json"
check "validate: a good auditExport passes" "$B/moat" settings validate "$HARNESS_DIR/draft.json"

# ---- 1. UDP (RFC 5426), facility local3, 1024-byte messages ----
receiver udp udp
udp_port=$port
admin "{\"syslog\": \"udp://127.0.0.1:$udp_port\", \"facility\": \"local3\", \"maxMessageBytes\": 1024}"
start_moatd || harness_bail "moatd starts with auditExport" "$(cat "$root/moatd.$n.log")"
[ "$(xs syslog)" = "udp://127.0.0.1:$udp_port" ] && ok "status names the syslog target" \
  || not_ok "status names the syslog target" "$(status | jq .audit_export)"
check_refused "a user cannot override auditExport" "unknown setting" \
  "$B/moat" settings set auditExport.syslog ""
"$B/moat" settings set containersProxy.transparentPorts 80 >/dev/null
"$B/moat" settings set "$evil" 1 >/dev/null 2>&1
"$B/moat" settings set "$long" 1 >/dev/null 2>&1
want=$("$B/moat" audit --json -n 1000 | jq -s length)
wait_msgs udp "$want" || not_ok "udp: every record arrives" "want $want, got $(grep -c . "$HARNESS_DIR/udp.out")"
check_rfc udp 1024
P=$HARNESS_DIR/udp.parsed
ids_sent=$("$B/moat" audit --json -n 1000 | jq -s -c '[.[].id] | sort')
ids_got=$(jq -s -c '[.[].sd["moat@32473"].id | tonumber] | sort' "$P")
[ "$ids_sent" = "$ids_got" ] && ok "udp: every audit record was exported once ($ids_got)" \
  || not_ok "udp: every audit record was exported once" "audit $ids_sent" "syslog $ids_got"
r=$(jq -c 'select(.json.outcome=="applied")' "$P" | head -1)
[ "$(echo "$r" | jq -r '.pri')" = $((19 * 8 + 5)) ] && [ "$(echo "$r" | jq -r .msgid)" = policy ] \
  && [ "$(echo "$r" | jq -r '.sd["moat@32473"].rule')" = settings.set ] \
  && ok "udp: PRI local3.notice for applied, MSGID = component, SD rule" \
  || not_ok "udp: PRI, MSGID, SD" "$r"
r=$(jq -c --arg e "$evil" 'select(.json.endpoint==$e)' "$P" | head -1)
want_sd=${evil//$'\n'/\\n}
if [ -n "$r" ] && [ "$(echo "$r" | jq -r '.pri')" = $((19 * 8 + 4)) ] \
   && [ "$(echo "$r" | jq -r '.sd["moat@32473"].endpoint')" = "$want_sd" ] \
   && [ "$(echo "$r" | jq -r '.sd | keys | length')" = 1 ]; then
  ok "udp: a hostile value (newline, ], \", \\, a forged SD) is escaped: one SD element, the value intact, MSG exact"
else not_ok "udp: hostile value escaped" "$r" "$(grep -c . "$P")"; fi
r=$(jq -c 'select(.sd["moat@32473"].truncated != null)' "$P" | head -1)
if [ -n "$r" ] && [ "$(echo "$r" | jq -r .bytes)" -le 1024 ] \
   && [ "$(echo "$r" | jq -r '.sd["moat@32473"].truncated')" -gt 3000 ] \
   && [ "$(echo "$r" | jq -r '.sd["moat@32473"].endpoint | length')" -lt 300 ] \
   && echo "$r" | jq -r .msg | grep -q '^{"caller_pid"'; then
  ok "udp: an oversized record is cut at its end to 1024 bytes, truncated=\"N\" says so"
else not_ok "udp: an oversized record is cut" "$r"; fi

# ---- 2. TCP, octet-counted framing (RFC 6587) ----
receiver tcp tcp
tcp_port=$port
admin "{\"syslog\": \"tcp://127.0.0.1:$tcp_port\"}"
wait_target "tcp://127.0.0.1:$tcp_port" || not_ok "tcp: moatd takes the new target" "$(status | jq .audit_export)"
"$B/moat" settings set "$evil" 1 >/dev/null 2>&1
"$B/moat" settings set "$long" 1 >/dev/null 2>&1
for i in $(seq 20); do "$B/moat" settings set containersProxy.transparentPorts "80,$((8000 + i))" >/dev/null; done
wait_msgs tcp 22 || not_ok "tcp: the records arrive" "$(cat "$HARNESS_DIR/tcp.out" | head -3)"
check_rfc tcp 8192
P=$HARNESS_DIR/tcp.parsed
r=$(jq -c --arg e "$evil" 'select(.json.endpoint==$e)' "$P" | head -1)
[ -n "$r" ] && [ "$(echo "$r" | jq -r '.sd["moat@32473"].endpoint')" = "$want_sd" ] \
  && ok "tcp: the hostile value is escaped" || not_ok "tcp: the hostile value is escaped" "$r"
r=$(jq -c --arg e "$long" 'select(.json.endpoint==$e)' "$P" | head -1)
[ -n "$r" ] && [ "$(echo "$r" | jq -r '.sd["moat@32473"].truncated')" = null ] \
  && ok "tcp: a 3000-byte value fits 8192 bytes whole (MSG exact JSON)" || not_ok "tcp: 3000-byte value whole" "$r"

# ---- 3. A dead collector: nothing listens ----
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
admin "{\"syslog\": \"tcp://127.0.0.1:$dead\"}"
wait_target "tcp://127.0.0.1:$dead" || not_ok "dead: moatd takes the new target"
d0=$(xs dropped)
: >"$HARNESS_DIR/ms"
for i in $(seq 20); do set_ms containersProxy.transparentPorts "80,$((9000 + i))"; done
sleep 0.5
st=$(status)
max=$(sort -n "$HARNESS_DIR/ms" | tail -1)
if [ "$(echo "$st" | jq -r .audit_export.dropped)" -gt "$d0" ] \
   && [ "$(echo "$st" | jq -r .audit_export.failing)" = true ] \
   && echo "$st" | jq -r '.errors[] | select(.component=="audit-export") | .message' | grep -q 'records are dropped'; then
  ok "dead collector: records dropped with a counter ($(echo "$st" | jq -r .audit_export.dropped)), status errors[] says why"
else not_ok "dead collector: dropped with a counter" "$(echo "$st" | jq '.audit_export, .errors')"; fi
[ "$max" -lt 2000 ] && ok "dead collector: moatd answers at once (slowest settings.set ${max} ms)" \
  || not_ok "dead collector: moatd answers at once" "slowest ${max} ms"

# ---- 4. A collector that accepts and never reads ----
receiver stall tcp-stall
admin "{\"syslog\": \"tcp://127.0.0.1:$port\"}"
wait_target "tcp://127.0.0.1:$port" || not_ok "stall: moatd takes the new target"
d0=$(xs dropped)
: >"$HARNESS_DIR/ms"
huge=$(printf 'C%.0s' $(seq 8000))
for i in $(seq 100); do set_ms "$huge$i" 1; done
for _ in $(seq 50); do [ "$(xs dropped)" -gt "$d0" ] && break; sleep 0.2; done
st=$(status)
max=$(sort -n "$HARNESS_DIR/ms" | tail -1)
med=$(sort -n "$HARNESS_DIR/ms" | sed -n 50p)
[ "$(echo "$st" | jq -r .audit_export.dropped)" -gt "$d0" ] \
  && ok "stalled collector: records dropped with a counter ($(echo "$st" | jq -r .audit_export.last_error))" \
  || not_ok "stalled collector: records dropped" "$(echo "$st" | jq .audit_export)"
# Waiting for the collector would cost the 2 s send timeout per record once
# the socket buffer is full; a loaded machine's noise stays well below.
[ "$med" -lt 1000 ] && [ "$max" -lt 2000 ] \
  && ok "stalled collector: moatd never waits for it (100 settings.set of 8 KB: median ${med} ms, slowest ${max} ms)" \
  || not_ok "stalled collector: moatd never waits for it" "median ${med} ms, slowest ${max} ms"

# ---- 5. Back to a live collector: delivery resumes ----
admin "{\"syslog\": \"udp://127.0.0.1:$udp_port\"}"
wait_target "udp://127.0.0.1:$udp_port" || not_ok "recover: moatd takes the new target"
before=$(grep -c . "$HARNESS_DIR/udp.out")
"$B/moat" settings set containersProxy.transparentPorts 443 >/dev/null
wait_msgs udp $((before + 1)) && [ "$(xs failing)" = false ] \
  && ok "a live collector again: delivery resumes, failing is false" \
  || not_ok "delivery resumes" "$(status | jq .audit_export)"
stop_moatd

# ---- 6. The real systemd-journald, in a private mount namespace ----
JD=/lib/systemd/systemd-journald
J=$HARNESS_DIR/journal
if [ ! -x "$JD" ] || ! command -v journalctl >/dev/null || ! command -v unshare >/dev/null; then
  skip "journald" "systemd-journald, journalctl or unshare is not installed"
else
  mkdir -p "$J/run/systemd/journal" "$J/run/log/journal" "$J/varlog"
  # Volatile only, nothing forwarded (no wall, console, kmsg or syslog),
  # no kernel or audit input: it only reads what this test sends.
  cat >"$J/journald.conf" <<'C'
[Journal]
Storage=volatile
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
ReadKMsg=no
Audit=no
C
  # The private namespace sees the test's directories at /run and at the
  # journald.conf path; mounts never propagate back to the host.
  cat >"$J/run.sh" <<'S'
set -e
J=$1
mount --make-rprivate /
mount --bind "$J/run" /run
[ -d /var/log/journal ] && mount --bind "$J/varlog" /var/log/journal
mount --bind "$J/journald.conf" /etc/systemd/journald.conf
exec /lib/systemd/systemd-journald
S
  harness_spawn journald unshare -m --propagation private sh "$J/run.sh" "$J" >/dev/null
  for _ in $(seq 50); do [ -S "$J/run/systemd/journal/socket" ] && break; sleep 0.1; done
  if [ ! -S "$J/run/systemd/journal/socket" ]; then
    not_ok "journald starts in a private mount namespace" "$(cat "$HARNESS_DIR/journald.log")"
  else
    ok "the real systemd-journald runs in a private mount namespace"
    admin "{\"journald\": true, \"journalSocket\": \"$J/run/systemd/journal/socket\"}"
    start_moatd || harness_bail "moatd starts with journald export" "$(cat "$root/moatd.$n.log")"
    "$B/moat" settings set "$evil" 1 >/dev/null 2>&1
    "$B/moat" settings set containersProxy.transparentPorts 80 >/dev/null
    big=$(printf 'B%.0s' $(seq 10000))
    "$B/moat" settings set "$big" 1 >/dev/null 2>&1
    jdir=$(ls -d "$J"/run/log/journal/*/ 2>/dev/null | head -1)
    jq_all() { journalctl --directory="$jdir" -o json --no-pager SYSLOG_IDENTIFIER=moatd 2>/dev/null; }
    for _ in $(seq 50); do [ "$(jq_all | grep -c .)" -ge 3 ] && break; sleep 0.2; done
    jq_all >"$HARNESS_DIR/journal.json"
    e=$(jq -c --arg e "$evil" 'select(.MOAT_ENDPOINT==$e)' "$HARNESS_DIR/journal.json" | head -1)
    if [ -n "$e" ] && [ "$(echo "$e" | jq -r .PRIORITY)" = 4 ] \
       && [ "$(echo "$e" | jq -r '.MESSAGE | fromjson | .endpoint')" = "$evil" ] \
       && [ "$(echo "$e" | jq -r '.MESSAGE | fromjson | .id | tostring')" = "$(echo "$e" | jq -r .MOAT_ID)" ] \
       && [ "$(echo "$e" | jq -r .MOAT_OUTCOME)" = refused ] \
       && [ "$(echo "$e" | jq -r .SYSLOG_FACILITY)" = 4 ]; then
      ok "journald: MESSAGE = the record's JSON, PRIORITY 4, MOAT_* fields; a value with a newline is intact"
    else not_ok "journald: the record is in the journal" "$e" "$(head -c 2000 "$HARNESS_DIR/journal.json")"; fi
    e=$(jq -c 'select(.MOAT_OUTCOME=="applied")' "$HARNESS_DIR/journal.json" | head -1)
    [ "$(echo "$e" | jq -r .PRIORITY)" = 5 ] && ok "journald: applied is PRIORITY 5 (notice)" \
      || not_ok "journald: applied is PRIORITY 5" "$e"
    e=$(jq -c 'select(.MOAT_TRUNCATED != null)' "$HARNESS_DIR/journal.json" | head -1)
    [ -n "$e" ] && [ "$(echo "$e" | jq -r '.MESSAGE | length')" -le 8192 ] \
      && ok "journald: an oversized record's MESSAGE is cut to 8192 bytes, MOAT_TRUNCATED says so" \
      || not_ok "journald: oversized record cut" "$e"
    [ "$(xs dropped)" = 0 ] && [ "$(xs sent)" -ge 3 ] && ok "journald: status counts sent, none dropped" \
      || not_ok "journald: status counts" "$(status | jq .audit_export)"
    harness_kill journald
    "$B/moat" settings set containersProxy.transparentPorts 81 >/dev/null
    for _ in $(seq 20); do [ "$(xs dropped)" -gt 0 ] && break; sleep 0.1; done
    [ "$(xs dropped)" -gt 0 ] && ok "journald gone: dropped with a counter ($(xs last_error))" \
      || not_ok "journald gone: dropped" "$(status | jq .audit_export)"
    stop_moatd
  fi
fi
harness_done
