#!/usr/bin/env bash
# The sign-in gate end to end (issue 14, "Sign-in and the gate"): while
# allowedOrgs is set, the guarded socket serves a uid only with the session
# of a member of an allowed organization, root included; /_ping and
# /version answer.  The docker CLI as root and as a real non-root user of
# the docker group (setpriv), the local directory made with `moat
# directory`, sessions made with `moat login`, revocation driven with
# policy.reload.  Passwords are test strings and must appear in no log and
# no audit record.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_registry
E=$MOAT_ENGINE_HOST
APP=$REGISTRY/sockapp:1
REQUIRED='sign-in required: your administrator requires you to sign in to an account in one of these organizations: acme, beta; run "moat login"'
notmember() { echo "sign-in required: user \"$1\" is not a member of any of these organizations: acme, beta"; }
PW_A=alice-pw-7d1f3c
PW_B=bob-pw-92e4aa
printf '{"allowedOrgs": ["acme", "beta"]}\n' >"$MOAT_ROOT/etc/moat/registry.json"
chmod 0644 "$MOAT_ROOT/etc/moat/registry.json"
# A socket exception for $APP, whose filtered sockets must be gated too.
cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true,
   "dockerSocketMount": {"imageList": {"images": ["$APP"]}}},
 "filesharingDirectories": {"locked": true, "value": ["/tmp"]}}
EOJ
harness_up
harness_busybox
# busybox plus the docker CLI, pushed so that the registry vouches for it
docker -H "$E" create --name mk busybox true >/dev/null &&
  docker -H "$E" cp /usr/local/bin/docker mk:/bin/docker &&
  docker -H "$E" commit mk "$APP" >/dev/null &&
  docker -H "$E" rm mk >/dev/null &&
  docker -H "$E" push "$APP" >/dev/null 2>"$HARNESS_DIR/push.err" ||
  harness_bail "build and push $APP" "$(cat "$HARNESS_DIR/push.err")"
harness_docker_user moatg
CTL=$MOAT_ROOT/run/moat/moatd.sock
GSOCK=$MOAT_ROOT/run/moat/docker.sock
ctl() { printf '%s\n' "$1" | timeout 30 socat -t 30 - UNIX-CONNECT:"$CTL"; }

printf '%s\n' "$PW_A" | "$MOAT" directory user add alice --password-stdin >/dev/null &&
  printf '%s\n' "$PW_B" | "$MOAT" directory user add bob --password-stdin >/dev/null &&
  "$MOAT" directory org add acme >/dev/null && "$MOAT" directory org add zeta >/dev/null &&
  "$MOAT" directory member add acme alice >/dev/null &&
  "$MOAT" directory member add zeta bob >/dev/null ||
  harness_bail "make the local directory" "$("$MOAT" directory ls 2>&1)"

# Before any sign-in: refused with the contract text, root included.
check_refused "root without a session is refused with the sign-in message" \
  "Error response from daemon: $REQUIRED" docker ps
check_refused "a docker-group user without a session is refused" \
  "Error response from daemon: $REQUIRED" as_user docker ps
check_refused "a create is refused before anything is checked" \
  "$REQUIRED" as_user docker run --rm busybox true
out=$(curl -s --unix-socket "$GSOCK" http://d/_ping 2>&1)
[ "$out" = OK ] && ok "/_ping answers without a session" || not_ok "/_ping answers without a session" "$out"
check_output "/version answers without a session (docker version shows the server)" \
  "Server:" as_user docker version
out=$(curl -s -i --unix-socket "$GSOCK" http://d/v1.41/info 2>&1)
grep -q '^HTTP/1.1 403' <<<"$out" && grep -qi '^content-type: application/json' <<<"$out" &&
  ok "the refusal is HTTP 403 with a JSON body" || not_ok "the refusal is HTTP 403 with a JSON body" "$out"
check_fails "the raw engine socket stays closed to a non-root user" \
  setpriv --reuid="$TUID" --regid="$TGID" --init-groups docker -H "$MOAT_ENGINE_HOST" ps
m=$(stat -c '%u %a' "${MOAT_ENGINE_HOST#unix://}")
case $m in "0 "[67]00) ok "the raw engine socket is root's only (mode $m)" ;;
  *) not_ok "the raw engine socket is root's only" "$m" ;; esac

# Bad credentials: the same message for a wrong password and an unknown
# user; nothing changes.
check_refused "a wrong password is refused" "unknown user or wrong password" \
  as_user sh -c "printf 'nope\n' | '$MOAT' login --user alice --password-stdin"
check_refused "a second attempt within a second is refused (no password guessing at hash speed)" \
  "too many attempts" \
  as_user sh -c "printf '%s\n' '$PW_A' | '$MOAT' login --user alice --password-stdin"
check "another uid is not held back by it" sh -c "printf 'nope\n' | '$MOAT' login --user alice --password-stdin 2>&1 | grep -q 'wrong password'"
sleep 1.1
check_refused "an unknown user gets the same message" "unknown user or wrong password" \
  as_user sh -c "printf '%s\n' '$PW_A' | '$MOAT' login --user mallory --password-stdin"
sleep 1.1
check_refused "still refused after failed sign-ins" "$REQUIRED" as_user docker ps
check_fails "whoami without a session exits non-zero" as_user "$MOAT" whoami

# A member signs in: served; root (another uid) still is not.
check_output "the user signs in as a member" "signed in as alice" \
  as_user sh -c "printf '%s\n' '$PW_A' | '$MOAT' login --user alice --password-stdin"
check "a signed-in member is served" as_user docker ps
check_output "a signed-in member runs a container" hello as_user docker run --rm busybox echo hello
check_refused "the session is the uid's: root is still refused" "$REQUIRED" docker ps
out=$(as_user "$MOAT" whoami --json 2>&1)
[ "$(jq -r '.user, .satisfied, (.orgs|join(","))' <<<"$out" 2>/dev/null | paste -sd' ')" = "alice true acme" ] &&
  ok "whoami --json: user, orgs, satisfied" || not_ok "whoami --json: user, orgs, satisfied" "$out"

# Signing out ends the user's open streams, not only their new requests:
# a hijacked attach and a streamed answer (docker events) are closed.
U=(setpriv --reuid="$TUID" --regid="$TGID" --init-groups env HOME="$UHOME" DOCKER_HOST="$MOAT_GUARD_HOST")
check "the member starts a container to attach to" as_user docker run -d --name hj busybox sleep 600
apid=$(harness_spawn hj-attach "${U[@]}" docker attach hj)
epid=$(harness_spawn hj-events "${U[@]}" docker events)
sleep 1.5
if kill -0 "$apid" 2>/dev/null && kill -0 "$epid" 2>/dev/null; then
  ok "attach and events stay open while signed in"
else
  not_ok "attach and events stay open while signed in" "$(cat "$HARNESS_DIR/hj-attach.log" "$HARNESS_DIR/hj-events.log")"
fi
check_output "the member signs out" "signed out" as_user "$MOAT" logout
for _ in $(seq 50); do
  kill -0 "$apid" 2>/dev/null || kill -0 "$epid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$apid" 2>/dev/null && not_ok "sign-out ends the user's hijacked attach stream" ||
  ok "sign-out ends the user's hijacked attach stream"
kill -0 "$epid" 2>/dev/null && not_ok "sign-out ends the user's streamed docker events" ||
  ok "sign-out ends the user's streamed docker events"
harness_kill hj-attach
harness_kill hj-events
"$MOAT" audit --json --limit 200 2>/dev/null | grep -q "open stream was closed" &&
  ok "audit: the closed streams" || not_ok "audit: the closed streams"
docker -H "$E" rm -f hj >/dev/null 2>&1
sleep 1.1
check_output "the member signs in again" "signed in as alice" \
  as_user sh -c "printf '%s\n' '$PW_A' | '$MOAT' login --user alice --password-stdin"

# Signed in, not a member.
sleep 1.1
out=$(printf '%s\n' "$PW_B" | "$MOAT" login --user bob --password-stdin 2>&1)
grep -q "signed in as bob" <<<"$out" && grep -q "not a member" <<<"$out" &&
  ok "root signs in as a non-member (with a warning)" || not_ok "root signs in as a non-member" "$out"
check_refused "a signed-in non-member gets the not-a-member message" \
  "Error response from daemon: $(notmember bob)" docker ps
check_fails "whoami says the session does not satisfy allowedOrgs" "$MOAT" whoami
check_output "logout" "signed out" "$MOAT" logout
check_refused "after logout: the sign-in message again" "$REQUIRED" docker ps

# A restart of moatd keeps the sessions (they live in the state database).
pid=$(cat "$MOAT_ROOT/run/moat/moatd.pid" 2>/dev/null)
pid=${pid%% *}
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  # moat up restarts a moatd that is gone; the session must survive
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  out=$(MOAT_ENGINE_NETNS=$HARNESS_NETNS "$MOAT" up -d 2>&1) || harness_diag "moat up again: $out"
  for _ in $(seq 100); do ctl '{"cmd":"ping"}' 2>/dev/null | grep -q '"ok": *true' && break; sleep 0.1; done
  npid=$(cat "$MOAT_ROOT/run/moat/moatd.pid" 2>/dev/null)
  npid=${npid%% *}
  if [ -n "$npid" ] && [ "$npid" != "$pid" ]; then
    check "a moatd restart keeps the member's session (moatd $pid -> $npid)" as_user docker ps
  else
    not_ok "moatd restarted" "pid $pid -> ${npid:-none}: $out"
  fi
else
  skip "a moatd restart keeps the member's session" "no moatd pid file"
fi

# A filtered socket counts as the uid that created its container: the
# member's container may call docker through it, whoever the process
# inside is (exec'd here through the raw engine socket).
check "the member starts a container with a filtered socket" \
  as_user docker run -d --name fs1 -v "$GSOCK:/var/run/docker.sock" "$APP" sleep 600
check_output "its filtered socket serves the member's container" "CONTAINER ID" \
  docker -H "$E" exec fs1 docker ps

# Revocation: alice leaves acme; the check at the next policy reload signs
# her out.
"$MOAT" directory member rm acme alice >/dev/null
check "still served until the next check" as_user docker ps
out=$(ctl '{"cmd":"policy.reload"}')
grep -q '"ok": *true' <<<"$out" || harness_diag "policy.reload: $out"
check_refused "revoked at the policy reload: the sign-in message" "$REQUIRED" as_user docker ps
check_fails "whoami: signed out" as_user "$MOAT" whoami
check_refused "the revoked user's filtered socket is gated too" "$REQUIRED" \
  docker -H "$E" exec fs1 docker ps
docker -H "$E" rm -f fs1 >/dev/null 2>&1

# Audit: every sign-in, sign-out, revocation and gate refusal; never a
# password.
A=$("$MOAT" audit --json --limit 1000 2>&1)
has() { jq -s -e --arg r "$1" --arg o "$2" '[.. | objects | select(.rule? == $r and .outcome? == $o)] | length > 0' <<<"$A" >/dev/null 2>&1; }
has signin.login allowed && ok "audit: sign-in" || not_ok "audit: sign-in" "$(tail -c 2000 <<<"$A")"
has signin.login refused && ok "audit: refused sign-in" || not_ok "audit: refused sign-in"
has signin.logout applied && ok "audit: sign-out" || not_ok "audit: sign-out"
has signin.revoke revoked && ok "audit: revocation" || not_ok "audit: revocation"
has signin refused && ok "audit: gate refusal" || not_ok "audit: gate refusal"
if grep -rqF -e "$PW_A" -e "$PW_B" "$MOAT_ROOT/var/log" 2>/dev/null || grep -qF -e "$PW_A" -e "$PW_B" <<<"$A"; then
  not_ok "no password in the logs or the audit"
else
  ok "no password in the logs or the audit"
fi

# Without allowedOrgs, nothing is enforced.
rm -f "$MOAT_ROOT/etc/moat/registry.json"
printf '{"allowedOrgs": ["zeta"]}\n' >"$MOAT_ROOT/etc/moat/registry.json"
ctl '{"cmd":"policy.reload"}' >/dev/null
check_refused "a new allowedOrgs is in force at once" \
  "organizations: zeta; run" docker ps
out=$(printf '%s\n' "$PW_B" | "$MOAT" login --user bob --password-stdin 2>&1)
check "bob, member of zeta, is served under the new list" docker ps

# A directory that cannot be read confirms nobody: the check fails closed,
# signs the session out, and moat status says why.
printf '{"type": \n' >"$MOAT_ROOT/etc/moat/directory.json"
ctl '{"cmd":"policy.reload"}' >/dev/null
check_refused "directory unavailable at the check: signed out (fail closed)" \
  "organizations: zeta; run" docker ps
out=$("$MOAT" status --json 2>&1)
jq -e '[.errors[]? | select(.component == "signin.directory")] | length == 1' <<<"$out" >/dev/null 2>&1 &&
  ok "moat status names the directory problem" ||
  not_ok "moat status names the directory problem" "$(jq -c .errors <<<"$out" 2>&1)"
sleep 1.1
check_refused "and sign-in fails while it lasts" "sign-in failed" \
  sh -c "printf '%s\n' '$PW_B' | '$MOAT' login --user bob --password-stdin"
rm -f "$MOAT_ROOT/etc/moat/directory.json"
ctl '{"cmd":"policy.reload"}' >/dev/null
out=$("$MOAT" status --json 2>&1)
jq -e '[.errors[]? | select(.component == "signin.directory")] | length == 0' <<<"$out" >/dev/null 2>&1 &&
  ok "the problem clears at the next check" || not_ok "the problem clears at the next check" "$(jq -c .errors <<<"$out" 2>&1)"

# An LDAP server that is down shows in moat status even before anyone
# signs in (a probe at the check when there is no session to re-check).
"$MOAT" logout >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '{"type": "ldap", "url": "ldap://127.0.0.1:%s", "userDnTemplate": "uid=%%s,ou=people,dc=t", "groupBaseDn": "ou=groups,dc=t", "timeoutSeconds": 2}\n' "$port" \
  >"$MOAT_ROOT/etc/moat/directory.json"
ctl '{"cmd":"policy.reload"}' >/dev/null
out=$("$MOAT" status --json 2>&1)
jq -e '[.errors[]? | select(.component == "signin.directory")] | length == 1' <<<"$out" >/dev/null 2>&1 &&
  ok "an LDAP server that is down shows in moat status with nobody signed in" ||
  not_ok "an LDAP server that is down shows in moat status with nobody signed in" "$(jq -c .errors <<<"$out" 2>&1)"

# A silent LDAP server (accepts, never answers): a sign-in waits for the
# directory's timeout, but on a worker thread: moatd's control loop keeps
# answering everyone else meanwhile, and the sign-in still fails closed.
sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
harness_spawn silent-ldap python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$sport" >/dev/null
for i in $(seq 50); do
  python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1).close()' "$sport" 2>/dev/null && break
  sleep 0.1
done
printf '{"type": "ldap", "url": "ldap://127.0.0.1:%s", "userDnTemplate": "uid=%%s,ou=people,dc=t", "groupBaseDn": "ou=groups,dc=t", "timeoutSeconds": 8}\n' "$sport" \
  >"$MOAT_ROOT/etc/moat/directory.json"
sleep 1.1 # past the sign-in attempt gap
t0=$(date +%s%N)
(printf '%s\n' "$PW_B" | timeout 30 "$MOAT" login --user bob --password-stdin >"$HARNESS_DIR/slow-login.out" 2>&1; echo $? >"$HARNESS_DIR/slow-login.rc") &
lpid=$!
sleep 0.5
t1=$(date +%s%N)
out=$(timeout 10 "$MOAT" status --json 2>&1)
t2=$(date +%s%N)
ms=$(((t2 - t1) / 1000000))
if jq -e 'type == "object"' <<<"$out" >/dev/null 2>&1 && [ "$ms" -lt 3000 ] && [ ! -e "$HARNESS_DIR/slow-login.rc" ]; then
  ok "a sign-in waiting on a silent LDAP server does not hold the control loop (status in $ms ms)"
else
  not_ok "a sign-in waiting on a silent LDAP server does not hold the control loop" "status took $ms ms: $(head -c 300 <<<"$out")"
fi
out=$(timeout 10 "$MOAT" whoami --json 2>&1)
t3=$(date +%s%N)
ms=$(((t3 - t2) / 1000000))
[ "$ms" -lt 3000 ] && ok "whoami answers meanwhile too ($ms ms)" ||
  not_ok "whoami answers meanwhile too" "$ms ms: $out"
wait "$lpid"
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$(cat "$HARNESS_DIR/slow-login.rc" 2>/dev/null)" != 0 ] && grep -q "sign-in failed" "$HARNESS_DIR/slow-login.out"; then
  ok "the sign-in itself fails closed after the directory timeout ($ms ms)"
else
  not_ok "the sign-in itself fails closed after the directory timeout" "$(cat "$HARNESS_DIR/slow-login.out")"
fi
# The same for the check a reload makes: the reload is answered when the
# check is done, everyone else meanwhile.
(timeout 30 socat -t 30 - UNIX-CONNECT:"$CTL" <<<'{"cmd":"policy.reload"}' >"$HARNESS_DIR/slow-reload.out" 2>&1) &
rpid=$!
sleep 0.5
t1=$(date +%s%N)
out=$(timeout 10 "$MOAT" status --json 2>&1)
ms=$((($(date +%s%N) - t1) / 1000000))
[ "$ms" -lt 3000 ] && jq -e 'type == "object"' <<<"$out" >/dev/null 2>&1 &&
  ok "a reload's directory check does not hold the control loop ($ms ms)" ||
  not_ok "a reload's directory check does not hold the control loop" "$ms ms: $(head -c 300 <<<"$out")"
wait "$rpid"
grep -q '"ok": *true' "$HARNESS_DIR/slow-reload.out" &&
  ok "the reload is answered once its check is done" ||
  not_ok "the reload is answered once its check is done" "$(cat "$HARNESS_DIR/slow-reload.out")"
out=$("$MOAT" status --json 2>&1)
jq -e '[.errors[]? | select(.component == "signin.directory")] | length == 1' <<<"$out" >/dev/null 2>&1 &&
  ok "the silent LDAP server shows in moat status after the check" ||
  not_ok "the silent LDAP server shows in moat status after the check" "$(jq -c .errors <<<"$out" 2>&1)"
harness_kill silent-ldap
rm -f "$MOAT_ROOT/etc/moat/directory.json"
harness_done
