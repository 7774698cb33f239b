#!/usr/bin/env bash
# `moat directory` (the local organization directory): root only, the
# database's permissions, passwords only from a terminal or stdin and only
# as Argon2id hashes, and the refusals a sign-in gets (unknown user and
# wrong password alike, bad directory.json).  Sign-ins go through
# build/tests/directory-auth, which calls the same library moatd does.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
auth=$MOAT_BUILD/tests/directory-auth
[ -x "$auth" ] || harness_bail "directory-auth" "$auth is missing; run make tests"
db=$MOAT_ROOT/var/lib/moat/directory.db
conf=$MOAT_ROOT/etc/moat/directory.json

# expect NAME RC PATTERN CMD...: CMD exits RC and prints PATTERN (fixed).
expect() {
  local name=$1 rc=$2 pattern=$3 out got
  shift 3
  out=$("$@" 2>&1)
  got=$?
  if [ "$got" -ne "$rc" ]; then
    not_ok "$name (exit $got, want $rc)" "$out"
  elif [ -n "$pattern" ] && ! grep -qF -- "$pattern" <<<"$out"; then
    not_ok "$name (no \"$pattern\")" "$out"
  else
    ok "$name"
  fi
}
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

expect "non-root is refused" 1 "root only" nobody "$MOAT" directory ls
expect "ls of no directory" 0 "users: none" "$MOAT" directory ls
expect "probe of no directory" 0 "ok:" "$auth" probe -
[ ! -e "$db" ] && ok "ls creates nothing" || not_ok "ls creates nothing"

expect "user add (stdin)" 0 "added user alice" \
  sh -c "printf 'correct horse\n' | '$MOAT' directory user add alice --password-stdin"
expect "database is 0600" 0 "600 root" stat -c '%a %U' "$db"
expect "its directory is 0700" 0 "700 root" stat -c '%a %U' "$(dirname "$db")"
printf 'b0b-pass' | "$MOAT" directory user add bob --password-stdin >/dev/null
if sqlite3 "$db" "select hash from users where name='alice'" | grep -q '^\$argon2id\$v=19\$m=19456,t=2,p=1\$' &&
  ! grep -qa "correct horse" "$db"* 2>/dev/null; then
  ok "only an Argon2id hash is stored"
else
  not_ok "only an Argon2id hash is stored" "$(sqlite3 "$db" 'select name, hash from users')"
fi
expect "password is not taken from argv" 1 "one NAME at a time" \
  "$MOAT" directory user add carol hunter2
expect "no terminal, no --password-stdin" 1 "--password-stdin" \
  setsid -w "$MOAT" directory user add carol </dev/null
expect "empty password refused" 1 "empty password" \
  sh -c "printf '\n' | '$MOAT' directory user add carol --password-stdin"
expect "duplicate user refused" 1 "user \`alice\` exists" \
  sh -c "printf 'x\n' | '$MOAT' directory user add alice --password-stdin"
expect "bad user name refused" 1 "invalid user name \`Carol\`" \
  sh -c "printf 'x\n' | '$MOAT' directory user add Carol --password-stdin"
expect "org add" 0 "added organization acme" "$MOAT" directory org add acme
"$MOAT" directory org add beta >/dev/null
expect "bad org name refused" 1 "invalid organization name" "$MOAT" directory org add "a,b"
expect "member add" 0 "alice is now a member of acme" "$MOAT" directory member add acme alice
expect "member of unknown org" 1 "no organization \`nope\`" "$MOAT" directory member add nope alice
expect "member: unknown user" 1 "no user \`zed\`" "$MOAT" directory member add acme zed
expect "ls" 0 "alice: acme" "$MOAT" directory ls
expect "ls --json" 0 '["acme"]' sh -c "'$MOAT' directory ls --json | jq -c '.users[] | select(.name==\"alice\") | .orgs'"
expect "ls --json has no hash" 1 "" sh -c "'$MOAT' directory ls --json | grep -q argon2"

expect "sign-in" 0 "ok: acme" sh -c "printf 'correct horse\n' | '$auth' auth alice"
expect "member of nothing" 0 "ok:" sh -c "printf 'b0b-pass' | '$auth' auth bob"
wrong=$(printf 'wrong\n' | "$auth" auth alice)
unknown=$(printf 'correct horse\n' | "$auth" auth mallory)
if [ "$wrong" = "badcred: unknown user or wrong password" ] && [ "$wrong" = "$unknown" ]; then
  ok "wrong password and unknown user get one message"
else
  not_ok "wrong password and unknown user get one message" "wrong: $wrong" "unknown: $unknown"
fi
expect "empty password refused at sign-in" 1 "badcred" sh -c "printf '\n' | '$auth' auth alice"

expect "user passwd" 0 "updated user alice" \
  sh -c "printf 'new pass\n' | '$MOAT' directory user passwd alice --password-stdin"
expect "old password no longer works" 1 "badcred" sh -c "printf 'correct horse\n' | '$auth' auth alice"
expect "member rm" 0 "no longer a member" "$MOAT" directory member rm acme alice
expect "left the organization" 0 "ok:" "$auth" orgs alice
"$MOAT" directory member add beta alice >/dev/null
expect "org rm" 0 "removed organization beta" "$MOAT" directory org rm beta
expect "org rm drops memberships" 0 "ok:" "$auth" orgs alice
expect "user rm" 0 "removed user alice" "$MOAT" directory user rm alice
expect "removed user cannot sign in" 1 "badcred" sh -c "printf 'new pass\n' | '$auth' auth alice"
expect "rm of a missing user" 1 "no user \`alice\`" "$MOAT" directory user rm alice

# directory.json
printf '{"type": "local"' >"$conf"
expect "directory.json that does not parse" 2 "directory.json: does not parse" "$auth" auth bob
expect "moat directory names the bad file" 0 "directory.json: does not parse" "$MOAT" directory ls
printf '{"type": "ldap", "url": "ldap://ldap.example.org", "baseDn": "dc=x", "groupBaseDn": "dc=x"}' >"$conf"
expect "clear-text LDAP off loopback refused" 2 "in clear" "$auth" auth bob
printf '{"type": "local"}' >"$conf"
chmod 0666 "$conf"
expect "world-writable directory.json refused" 2 "directory.json" "$auth" orgs bob
chmod 0644 "$conf"
expect "local directory.json" 0 "ok:" "$auth" orgs bob

# The database must stay private.
chmod 0644 "$db"
expect "readable database refused" 2 "mode 0600" "$auth" orgs bob
expect "readable database refused by the CLI" 1 "mode 0600" "$MOAT" directory ls
chmod 0600 "$db"
harness_done
