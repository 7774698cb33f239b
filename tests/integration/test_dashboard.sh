#!/usr/bin/env bash
# The dashboard (docs/dashboard.md) against a real stack: curl-level checks
# of the Host rule (DNS rebinding), the CSRF rule, the size limits and the
# uid binding of tickets and cookies; then the pages in a real headless
# Chromium (tests/integration/dashboard_browser.py): ticket sign-in, the
# cookie flags, a used and an expired ticket, the locked setting, a
# setting changed from the page, the containers, the live audit log, and
# screenshots kept in $HARNESS_ARTIFACTS/test_dashboard.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
art=${HARNESS_ARTIFACTS:-$HARNESS_TOP/build/test-artifacts}/test_dashboard
rm -rf "$art" && mkdir -p "$art"

# A free loopback port of our own (tests run side by side).
harness_free_port

cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<'JSON'
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true}}
JSON
# Tickets live 3 s here, so that an expired one is quick to make.
export MOAT_DASHBOARD_TICKET_TTL_MS=3000
HARNESS_DASHBOARD_PORT=$port harness_up
harness_busybox
harness_docker_user dash

st=$("$MOAT" status --json 2>&1)
jq -e --argjson p "$port" '.dashboard.running and .dashboard.port == $p' \
  <<<"$st" >/dev/null && ok "moat status names the dashboard's port" \
  || not_ok "moat status names the dashboard's port" "$st"
ss -Htln "sport = :$port" | awk '{print $4}' | grep -qvx "127.0.0.1:$port" \
  && not_ok "listens on loopback only" "$(ss -Htln "sport = :$port")" \
  || ok "listens on loopback only"

check "a container runs" docker run -d --name dash-c1 busybox sleep 600

code() { curl -s -o "$HARNESS_DIR/body" -w '%{http_code}' "$@"; }
expect_code() {
  local name=$1 want=$2 got
  shift 2
  got=$(code "$@")
  [ "$got" = "$want" ] && ok "$name" \
    || not_ok "$name" "HTTP $got, want $want" "$(head -c 300 "$HARNESS_DIR/body")"
}

expect_code "no session: 401 and how to get one" 401 "$base/"
grep -qF "moat dashboard" "$HARNESS_DIR/body" \
  && ok "the sign-in page says: run moat dashboard" \
  || not_ok "the sign-in page says: run moat dashboard" "$(cat "$HARNESS_DIR/body")"
expect_code "a foreign Host is refused (421, DNS rebinding)" 421 \
  -H "Host: rebind.attacker.example:$port" "$base/"
expect_code "a Host with another port is refused" 421 \
  -H "Host: 127.0.0.1:1" "$base/"
big=$(head -c 20000 /dev/zero | tr '\0' a)
expect_code "an oversized header is refused (431)" 431 -H "X-Big: $big" "$base/"
expect_code "a malformed request is refused (400)" 400 \
  --request-target 'no-slash' "$base/"

# A session through curl, as root.
url=$("$MOAT" dashboard --print-url)
case $url in "http://127.0.0.1:$port/login?ticket="*) ok "moat dashboard --print-url gives a ticket URL" ;;
  *) not_ok "moat dashboard --print-url gives a ticket URL" "$url" ;; esac
jar=$HARNESS_DIR/jar
expect_code "the ticket signs in (303)" 303 -c "$jar" "$url"
cookie=$(awk '$6 == "moat_session" {print $7}' "$jar")
[ ${#cookie} -eq 64 ] && ok "a session cookie was set" || not_ok "a session cookie was set" "$(cat "$jar")"
expect_code "a used ticket is refused" 403 "$url"
expect_code "the session reads data" 200 -b "moat_session=$cookie" "$base/api/status"
expect_code "the session cookie with a foreign Host is refused" 421 \
  -b "moat_session=$cookie" -H "Host: evil.example:$port" "$base/api/status"
expect_code "POST without Origin is refused (CSRF)" 403 \
  -b "moat_session=$cookie" -H 'Content-Type: application/json' \
  --data '{"key":"containersProxy.http","value":"http://csrf:1"}' "$base/api/settings"
expect_code "POST with a foreign Origin is refused (CSRF)" 403 \
  -b "moat_session=$cookie" -H 'Content-Type: application/json' \
  -H 'Origin: http://evil.example' \
  --data '{"key":"containersProxy.http","value":"http://csrf:1"}' "$base/api/settings"
"$MOAT" settings show --json | jq -e 'all(.[]; .value != "http://csrf:1")' >/dev/null \
  && ok "the refused POSTs changed nothing" || not_ok "the refused POSTs changed nothing"
expect_code "POST of a locked setting is refused" 403 \
  -b "moat_session=$cookie" -H 'Content-Type: application/json' \
  -H "Origin: $base" \
  --data '{"key":"enhancedContainerIsolation","value":"false"}' "$base/api/settings"
grep -qF "locked" "$HARNESS_DIR/body" && ok "the refusal says it is locked" \
  || not_ok "the refusal says it is locked" "$(cat "$HARNESS_DIR/body")"
expect_code "an oversized body is refused (413)" 413 \
  -b "moat_session=$cookie" -H 'Content-Type: application/json' -H "Origin: $base" \
  --data "{\"key\":\"$big\"}" "$base/api/settings"

# Another uid: root's cookie and root's ticket are no use to it.
out=$(as_user curl -s -o /dev/null -w '%{http_code}' -b "moat_session=$cookie" "$base/api/status")
[ "$out" = 401 ] && ok "root's cookie is refused from another uid" \
  || not_ok "root's cookie is refused from another uid" "HTTP $out"
url2=$("$MOAT" dashboard --print-url)
out=$(as_user curl -s -o /dev/null -w '%{http_code}' "$url2")
[ "$out" = 403 ] && ok "root's ticket is refused from another uid" \
  || not_ok "root's ticket is refused from another uid" "HTTP $out"
uurl=$(as_user "$MOAT" dashboard --print-url 2>&1)
ujar=$HARNESS_DIR/ujar
out=$(as_user curl -s -o /dev/null -w '%{http_code}' -c "$ujar" "$uurl" 2>&1)
[ "$out" = 303 ] && ok "a user's own ticket signs that user in" \
  || not_ok "a user's own ticket signs that user in" "$uurl" "HTTP $out"
ucookie=$(awk '$6 == "moat_session" {print $7}' "$ujar" 2>/dev/null)
out=$(curl -s -o /dev/null -w '%{http_code}' -b "moat_session=$ucookie" "$base/api/status")
[ "$out" = 401 ] && ok "the user's cookie is refused from root" \
  || not_ok "the user's cookie is refused from root" "HTTP $out"
# Cookies ignore ports: a page on another port of 127.0.0.1 can plant a
# moat_session cookie with a longer path (Path=/api), which the browser
# sends before the dashboard's own.  It must not sign the user out, nor
# count: every value is tried, and only a session of the peer's uid counts.
zeros=$(printf '0%.0s' $(seq 64))
out=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: moat_session=$zeros; moat_session=$cookie" "$base/api/status")
[ "$out" = 200 ] && ok "a planted moat_session cookie sent first does not shadow the session" \
  || not_ok "a planted moat_session cookie sent first does not shadow the session" "HTTP $out"
out=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: moat_session=$ucookie; moat_session=$cookie" "$base/api/status")
[ "$out" = 200 ] && ok "  nor another user's real session sent first" \
  || not_ok "another user's session sent first shadows root's" "HTTP $out"
out=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: moat_session=$zeros; moat_session=$ucookie" "$base/api/status")
[ "$out" = 401 ] && ok "  and two cookies of which none is the peer's session: 401" \
  || not_ok "two foreign cookies: 401" "HTTP $out"

# The container list: an idle view does not make moatd fetch the engine's
# whole list again (the engine's container events since the last list say
# nothing changed); a new container shows at the next refresh.
lists() { "$MOAT" status --json 2>/dev/null | jq -r '.dashboard.container_lists // empty'; }
cget() { curl -s -b "moat_session=$cookie" "$base/api/containers"; }
cget >/dev/null; sleep 1.2; cget >/dev/null; sleep 1.2; cget >/dev/null
n0=$(lists)
for _ in 1 2 3; do sleep 1.1; cget >/dev/null; done
n1=$(lists)
[ -n "$n0" ] && [ "$n0" = "$n1" ] && ok "an idle view does not fetch the whole container list again ($n0 lists)" ||
  not_ok "an idle view does not fetch the whole container list again" "$n0 -> $n1"
check "another container runs" docker run -d --name dash-c2 busybox sleep 600
found=
for _ in $(seq 40); do
  cget | jq -e 'any(.[]; .name == "dash-c2")' >/dev/null 2>&1 && { found=1; break; }
  sleep 0.25
done
[ -n "$found" ] && ok "a new container shows at the next refresh" || not_ok "a new container shows at the next refresh" "$(cget | head -c 300)"
n2=$(lists)
[ -n "$n2" ] && [ "$n2" -gt "${n1:-0}" ] && ok "the list is fetched again after a container event ($n1 -> $n2)" ||
  not_ok "the list is fetched again after a container event" "$n1 -> $n2"
docker rm -f dash-c2 >/dev/null 2>&1

# The browser.
if ! [ -x /usr/bin/chromedriver ] || ! [ -x /usr/bin/chromium ] ||
  ! /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
  skip "dashboard in headless Chromium" "chromium, chromium-driver or python3-selenium missing (scripts/install-deps)"
else
  /usr/bin/python3 "$HARNESS_TOP/tests/integration/dashboard_browser.py" \
    "$MOAT" "$port" dash-c1 "$art" "$HARNESS_DIR/browser-cookie" \
    >"$HARNESS_DIR/browser.out" 2>"$HARNESS_DIR/browser.err"
  rc=$?
  while IFS= read -r line; do
    case $line in
      "PASS "*) ok "browser: ${line#PASS }" ;;
      "FAIL "*) not_ok "browser: ${line#FAIL }" ;;
    esac
  done <"$HARNESS_DIR/browser.out"
  grep -q '^PASS screenshot saved' "$HARNESS_DIR/browser.out" ||
    not_ok "browser ran to the end (exit $rc)" "$(tail -20 "$HARNESS_DIR/browser.err")"
  bc=$(cat "$HARNESS_DIR/browser-cookie" 2>/dev/null)
  out=$(curl -s -o /dev/null -w '%{http_code}' -b "moat_session=$bc" \
    -H "Host: localhost.attacker.example:$port" "$base/api/status")
  [ "$out" = 421 ] && ok "the browser's cookie with a foreign Host is refused" \
    || not_ok "the browser's cookie with a foreign Host is refused" "HTTP $out"
  rm -rf "$art"/chromium-*
  harness_diag "screenshots: $art"
fi

# moatd restarted by moat up: the same port, and the sessions are gone
# (kept in memory only: docs/dashboard.md).
moatd=$(jq -r .processes.moatd.pid "$MOAT_ROOT/run/moat/stack.json")
kill -TERM "$moatd"
for _ in $(seq 100); do kill -0 "$moatd" 2>/dev/null || break; sleep 0.1; done
out=$(MOAT_ENGINE_NETNS=$HARNESS_NETNS "$MOAT" up -d 2>&1) || not_ok "moat up restarts moatd" "$out"
st=$("$MOAT" status --json 2>&1)
jq -e --argjson p "$port" '.dashboard.running and .dashboard.port == $p' \
  <<<"$st" >/dev/null && ok "a restarted moatd serves the dashboard on the same port" \
  || not_ok "a restarted moatd serves the dashboard on the same port" "$st"
expect_code "a session from before the restart is gone" 401 \
  -b "moat_session=$cookie" "$base/api/status"
grep -E 'Sanitizer|runtime error' "$MOAT_ROOT"/var/log/moat/moatd.log >/dev/null \
  && not_ok "no sanitizer report in moatd's log" \
  "$(grep -A20 -E 'Sanitizer|runtime error' "$MOAT_ROOT"/var/log/moat/moatd.log | head -30)" \
  || ok "no sanitizer report in moatd's log"
harness_done
