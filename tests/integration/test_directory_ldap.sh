#!/usr/bin/env bash
# The LDAP directory against a real slapd that this test starts inside its
# own network namespace, with its own config file, database and pid file
# under HARNESS_DIR (never /etc/ldap or a system slapd).  Sign-ins go
# through build/tests/directory-auth (the library moatd uses).
. "$(dirname "$0")/../lib/harness.sh"
harness_init
auth=$MOAT_BUILD/tests/directory-auth
[ -x "$auth" ] || harness_bail "directory-auth" "$auth is missing; run make tests"
if [ ! -x /usr/sbin/slapd ] || [ ! -x /usr/sbin/slapadd ]; then
  skip "LDAP directory" "slapd is not installed (scripts/install-deps)"
  harness_done
fi
fixtures=$HARNESS_TOP/tests/integration/ldap
L=$HARNESS_DIR/ldap
conf=$MOAT_ROOT/etc/moat/directory.json
mkdir -p "$L/db"
sed "s#@DIR@#$L#g" "$fixtures/slapd.conf.in" >"$L/slapd.conf"
slapadd -f "$L/slapd.conf" -l "$fixtures/data.ldif" >"$HARNESS_DIR/slapadd.log" 2>&1 ||
  harness_bail "slapadd" "$(tail -5 "$HARNESS_DIR/slapadd.log")"
innet() { nsenter --net="/run/netns/$HARNESS_NETNS" "$@"; }
port=$(innet /usr/bin/python3 -c \
  'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=ldap://127.0.0.1:$port
harness_spawn_netns slapd /usr/sbin/slapd -d 0 -f "$L/slapd.conf" -h "$url/" >/dev/null
for _ in $(seq 100); do
  innet ldapsearch -x -H "$url" -D cn=admin,dc=example,dc=org -w admin-secret \
    -b dc=example,dc=org -s base dn >/dev/null 2>&1 && break
  sleep 0.1
done
innet ldapsearch -x -H "$url" -D cn=admin,dc=example,dc=org -w admin-secret \
  -b dc=example,dc=org -s base dn >/dev/null 2>&1 ||
  harness_bail "slapd starts" "$(tail -5 "$HARNESS_DIR/slapd.log")"
ok "slapd answers on $url"

people=ou=people,dc=example,dc=org
groups=ou=groups,dc=example,dc=org
write_conf() { printf '%s' "$1" >"$conf"; chmod 0644 "$conf"; }
# expect NAME RC PATTERN CMD...: CMD (in the netns) exits RC, prints PATTERN.
expect() {
  local name=$1 rc=$2 pattern=$3 out got
  shift 3
  out=$(innet "$@" 2>&1)
  got=$?
  if [ "$got" -ne "$rc" ]; then
    not_ok "$name (exit $got, want $rc)" "$out"
  elif [ -n "$pattern" ] && ! grep -qF -- "$pattern" <<<"$out"; then
    not_ok "$name (no \"$pattern\")" "$out"
  else
    ok "$name"
  fi
}
signin() { printf '%s\n' "$2" | innet "$auth" auth "$1"; }

# 1. DN template, groupOfNames member.
write_conf "{\"type\": \"ldap\", \"url\": \"$url\", \"userDnTemplate\": \"uid=%s,$people\", \"groupBaseDn\": \"$groups\"}"
expect "bind as the user; groups are organizations (lower case)" 0 "ok: acme,beta-org" \
  sh -c "printf 'alice-pw\n' | '$auth' auth alice"
expect "bob's organizations" 0 "ok: beta-org" sh -c "printf 'bob-pw\n' | '$auth' auth bob"
wrong=$(signin alice nope)
unknown=$(signin mallory alice-pw)
if [ "$wrong" = "badcred: unknown user or wrong password" ] && [ "$wrong" = "$unknown" ]; then
  ok "wrong password and unknown user get one message"
else
  not_ok "wrong password and unknown user get one message" "wrong: $wrong" "unknown: $unknown"
fi
# RFC 4513: an empty simple-bind password is an anonymous bind that
# succeeds; it must never count as a sign-in.
expect "empty password is not an anonymous sign-in" 1 "badcred" \
  sh -c "printf '\n' | '$auth' auth alice"
expect "filter characters in a name are refused" 1 "badcred" \
  sh -c "printf 'alice-pw\n' | '$auth' auth 'alice)(uid=*'"
expect "DN characters in a name are refused" 1 "badcred" \
  sh -c "printf 'alice-pw\n' | '$auth' auth 'alice,ou=people'"
expect "lookups without an account fail closed" 3 "fails closed" "$auth" orgs alice
expect "probe without an account fails" 3 "read of groupBaseDn" "$auth" probe -

# 2. baseDn search with a service account; posixGroup memberUid.
printf 'reader-pw\n' >"$MOAT_ROOT/etc/moat/ldap-reader.pw"
chmod 0600 "$MOAT_ROOT/etc/moat/ldap-reader.pw"
svc="\"bindDn\": \"cn=reader,dc=example,dc=org\", \"bindPasswordFile\": \"/etc/moat/ldap-reader.pw\""
write_conf "{\"type\": \"ldap\", \"url\": \"$url\", \"baseDn\": \"$people\", \"groupBaseDn\": \"$groups\", $svc}"
expect "probe: reachable with the service account" 0 "ok:" "$auth" probe -
expect "user found by search, then bound" 0 "ok: acme,beta-org" \
  sh -c "printf 'alice-pw\n' | '$auth' auth alice"
expect "wrong password (search mode)" 1 "badcred" sh -c "printf 'x\n' | '$auth' auth alice"
expect "unknown user (search mode)" 1 "badcred" sh -c "printf 'x\n' | '$auth' auth mallory"
expect "organizations without a password" 0 "ok: acme,beta-org" "$auth" orgs alice
expect "an unknown user is in no organization" 0 "ok:" "$auth" orgs mallory
write_conf "{\"type\": \"ldap\", \"url\": \"$url\", \"userDnTemplate\": \"uid=%s,$people\", \"groupBaseDn\": \"$groups\", \"groupMemberAttr\": \"memberUid\"}"
expect "posixGroup memberUid" 0 "ok: devs" sh -c "printf 'alice-pw\n' | '$auth' auth alice"

# 3. Leaving a group shows at the next check.
write_conf "{\"type\": \"ldap\", \"url\": \"$url\", \"baseDn\": \"$people\", \"groupBaseDn\": \"$groups\", $svc}"
innet ldapmodify -x -H "$url" -D cn=admin,dc=example,dc=org -w admin-secret >/dev/null 2>&1 <<EOL
dn: cn=acme,$groups
changetype: modify
replace: member
member: uid=bob,$people
EOL
expect "leaving a group is seen by the next check" 0 "ok: beta-org" "$auth" orgs alice
expect "joining one too" 0 "ok: acme,beta-org" "$auth" orgs bob

# 4. Failures: a wrong service password, then the server down.
printf 'not-it\n' >"$MOAT_ROOT/etc/moat/ldap-reader.pw"
expect "wrong service account password fails closed" 3 "refused bindDn" "$auth" orgs alice
printf 'reader-pw\n' >"$MOAT_ROOT/etc/moat/ldap-reader.pw"
harness_kill slapd
expect "server down: sign-in fails closed" 3 "directory unavailable (sign-in fails closed)" \
  sh -c "printf 'alice-pw\n' | '$auth' auth alice"
expect "server down: lookups fail closed" 3 "Can't contact LDAP server" "$auth" orgs alice
expect "server down: probe says so" 3 "Can't contact LDAP server" "$auth" probe -
harness_done
