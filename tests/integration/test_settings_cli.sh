#!/usr/bin/env bash
# `moat settings validate` and `moat signin policy` on good and bad files:
# exit codes and the exact messages an administrator sees.  No daemon.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${MOAT_BUILD:-$top/build/san}
moat=$build/moat
fixtures=$top/tests/fixtures/settings
root=$(mktemp -d /tmp/moat-settings-cli-XXXXXX)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
mkdir -p "$root/etc/moat" "$root/usr/share/docker-desktop/registry"
export MOAT_ROOT=$root
fails=0

ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; fails=$((fails + 1)); }

# expect NAME RC PATTERN CMD...: CMD exits RC and its output has PATTERN
# (a fixed string).
expect() {
  local name=$1 rc=$2 pattern=$3 out got
  shift 3
  out=$("$@" 2>&1)
  got=$?
  if [ "$got" -ne "$rc" ]; then
    not_ok "$name (exit $got, want $rc)"
    echo "$out" | sed 's/^/# /'
  elif [ -n "$pattern" ] && ! grep -qF -- "$pattern" <<<"$out"; then
    not_ok "$name (no \"$pattern\")"
    echo "$out" | sed 's/^/# /'
  else
    ok "$name"
  fi
}

install_admin() { cp "$1" "$root/etc/moat/admin-settings.json"; chmod 0644 "$root/etc/moat/admin-settings.json"; }

expect "design example validates" 0 "design-example.json: valid (0 warnings)" \
  "$moat" settings validate "$fixtures/design-example.json"
expect "Docker Desktop file validates with warnings" 0 \
  "warning: kubernetes: Docker Desktop setting that moat does not apply; ignored" \
  "$moat" settings validate "$fixtures/docker-desktop.json"
expect "bad file exits 1" 1 "bad-many.json: invalid (21 errors)" \
  "$moat" settings validate "$fixtures/bad-many.json"
expect "bad CIDR named by path" 1 \
  'error: containersProxy.exclude[1]: "10.0.0.0/33" is not a valid IP address, CIDR or host name' \
  "$moat" settings validate "$fixtures/bad-many.json"
expect "did you mean for a key" 1 \
  'error: enhancedContainerIsolation.lockd: unknown key "lockd"; did you mean "locked"?' \
  "$moat" settings validate "$fixtures/bad-many.json"
expect "did you mean for a command" 1 \
  'commandList.commands[0]: unknown docker command "pussh"; did you mean "push"?' \
  "$moat" settings validate "$fixtures/bad-many.json"
expect "unsupported version" 1 \
  'error: configurationFileVersion: unsupported version 1; moat reads version 2' \
  "$moat" settings validate "$fixtures/bad-many.json"
expect "validate --json" 1 '"path": "containersProxy.transparentPorts"' \
  "$moat" settings validate --json "$fixtures/bad-many.json"

printf '\xef\xbb\xbf{"configurationFileVersion": 2}' > "$root/bom.json"
expect "BOM named" 1 "error: the file starts with a UTF-8 byte order mark (BOM)" \
  "$moat" settings validate "$root/bom.json"
printf '{"configurationFileVersion": 2, "x": "caf\xe9"}' > "$root/latin1.json"
expect "non-UTF-8 named" 1 "error: the file is not valid UTF-8 (byte 0xe9 at line 1, column 42)" \
  "$moat" settings validate "$root/latin1.json"
head -c 1048577 /dev/zero | tr '\0' ' ' > "$root/big.json"
expect "oversized file" 1 "error: the file is larger than 1048576 bytes" \
  "$moat" settings validate "$root/big.json"
expect "missing file" 1 "No such file or directory" \
  "$moat" settings validate "$root/nope.json"

install_admin "$fixtures/design-example.json"
expect "installed file validates by default" 0 "admin-settings.json: valid" \
  "$moat" settings validate
chmod 0666 "$root/etc/moat/admin-settings.json"
expect "installed file writable by others is an error" 1 \
  "is writable by all users" "$moat" settings validate
cp "$fixtures/design-example.json" "$root/draft.json"; chmod 0666 "$root/draft.json"
expect "a draft writable by others only warns" 0 \
  "warning: moat would ignore this file if installed as is" \
  "$moat" settings validate "$root/draft.json"

expect "settings --help documents keys" 0 "containersProxy.transparentPorts" \
  "$moat" settings --help
expect "settings validate --help" 0 "Exit 0 when valid" \
  "$moat" settings validate --help
expect "settings set --help" 0 "locked by the administrator" \
  "$moat" settings set --help
# Without moatd, show computes the settings from the files (the admin file
# and the state database) and says on stderr that moatd is down.
expect "settings show without moatd: an invalid admin file is named" 1 \
  "is writable by all users" "$moat" settings show
chmod 0644 "$root/etc/moat/admin-settings.json"
out=$("$moat" settings show 2>"$root/show.err"); rc=$?
if [ $rc -eq 0 ] && grep -qE '^enhancedContainerIsolation +true +admin +yes$' <<<"$out" \
   && grep -qE '^KEY +VALUE +SOURCE +LOCKED$' <<<"$out" \
   && grep -qF "moatd is not running" "$root/show.err"; then
  ok "settings show without moatd: computed from the admin file, moatd down on stderr"
else
  not_ok "settings show without moatd: computed from the admin file, moatd down on stderr"
  { echo "exit $rc"; echo "$out"; cat "$root/show.err"; } | sed 's/^/# /'
fi
j=$("$moat" settings show --json 2>/dev/null)
if jq -e 'any(.[]; .key == "containersProxy.exclude" and .source == "admin" and .locked == true
               and .value == ["internal.company.com", "10.0.0.0/8"])' <<<"$j" >/dev/null; then
  ok "settings show --json without moatd: stdout is the array"
else
  not_ok "settings show --json without moatd: stdout is the array"; echo "$j" | sed 's/^/# /'
fi
# A user override kept in the state database (as moatd writes it), under
# the defaults (nothing locked).
mv "$root/etc/moat/admin-settings.json" "$root/admin.saved"
mkdir -p "$root/var/lib/moat"
python3 - "$root/var/lib/moat/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE settings_override (key TEXT PRIMARY KEY NOT NULL,
  value_json TEXT NOT NULL, set_by_uid INTEGER NOT NULL,
  set_at_ms INTEGER NOT NULL);
INSERT INTO settings_override VALUES ('containersProxy.http', '"http://u:3128"', 0, 0);
PRAGMA user_version = 1;
""")
db.commit()
PY
before=$(sha256sum "$root/var/lib/moat/state.db")
out=$("$moat" settings show 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -qE '^containersProxy.http +"http://u:3128" +user +no$' <<<"$out" \
   && grep -qE '^enhancedContainerIsolation +true +default +no$' <<<"$out"; then
  ok "settings show without moatd: user overrides from the state database"
else
  not_ok "settings show without moatd: user overrides from the state database"; echo "$out" | sed 's/^/# /'
fi
[ "$(sha256sum "$root/var/lib/moat/state.db")" = "$before" ] && [ ! -e "$root/var/lib/moat/state.db-wal" ] \
  && ok "settings show leaves the state database as it was (not migrated)" \
  || not_ok "settings show leaves the state database as it was (not migrated)"
python3 -c 'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute("PRAGMA user_version = 99"); db.commit()' \
  "$root/var/lib/moat/state.db"
expect "settings show without moatd: a newer state database is refused" 1 \
  "schema version 99" "$moat" settings show
rm -rf "$root/var/lib/moat"
out=$("$moat" settings show 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -qE '^containersProxy.http +"" +default +no$' <<<"$out" \
   && [ ! -e "$root/var/lib/moat/state.db" ]; then
  ok "settings show without moatd and without a state database: defaults, nothing created"
else
  not_ok "settings show without moatd and without a state database: defaults, nothing created"; echo "$out" | sed 's/^/# /'
fi
mv "$root/admin.saved" "$root/etc/moat/admin-settings.json"

# show/set against a stand-in moatd that records the requests (moatd's own
# handling is tested with moatd).
mkdir -p "$root/run/moat"
cat > "$root/fake_moatd.py" <<'PY'
import json, os, socket, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(4)
open(path + ".ready", "w").close()
while True:
    c, _ = s.accept()
    req = json.loads(c.makefile().readline())
    open(log, "a").write(json.dumps(req, sort_keys=True) + "\n")
    if req["cmd"] == "settings.show":
        resp = {"ok": True, "settings": [
            {"key": "containersProxy.http", "value": "http://p:3128",
             "source": "user", "locked": False},
            {"key": "enhancedContainerIsolation", "value": True,
             "source": "admin", "locked": True}]}
    elif req["key"] == "enhancedContainerIsolation":
        resp = {"ok": False, "error": '"enhancedContainerIsolation" is locked by the administrator (enhancedContainerIsolation.locked is true in admin-settings.json)'}
    else:
        resp = {"ok": True}
    c.sendall((json.dumps(resp) + "\n").encode()); c.close()
PY
python3 "$root/fake_moatd.py" "$root/run/moat/moatd.sock" "$root/requests.log" &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; rm -rf "$root"' EXIT
for _ in $(seq 50); do [ -e "$root/run/moat/moatd.sock.ready" ] && break; sleep 0.1; done
expect "settings show prints a table" 0 "enhancedContainerIsolation" "$moat" settings show
out=$("$moat" settings show 2>&1)
if grep -qE '^containersProxy.http +"http://p:3128" +user +no$' <<<"$out" \
   && grep -qE '^KEY +VALUE +SOURCE +LOCKED$' <<<"$out"; then
  ok "settings show columns"
else
  not_ok "settings show columns"; echo "$out" | sed 's/^/# /'
fi
expect "settings show --json prints the array" 0 '"source": "admin"' \
  "$moat" settings show --json
expect "settings set sends key and text" 0 "containersProxy.http set" \
  "$moat" settings set containersProxy.http http://q:8080
if grep -qF '{"cmd": "settings.set", "key": "containersProxy.http", "value": "http://q:8080"}' \
     "$root/requests.log"; then
  ok "settings.set request format"
else
  not_ok "settings.set request format"; sed 's/^/# /' "$root/requests.log"
fi
expect "a locked setting is refused with moatd's message" 1 \
  "locked by the administrator" "$moat" settings set enhancedContainerIsolation false
kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null
rm -f "$root/run/moat/moatd.sock"

# Sign-in policy.
expect "no registry file: not enforced" 0 "allowedOrgs: none (sign-in is not enforced)" \
  "$moat" signin policy
echo '{"allowedOrgs": ["ddorg"]}' > "$root/usr/share/docker-desktop/registry/registry.json"
chmod 0644 "$root/usr/share/docker-desktop/registry/registry.json"
expect "Docker Desktop file used alone" 0 \
  "source: $root/usr/share/docker-desktop/registry/registry.json" "$moat" signin policy
echo '{"allowedOrgs": ["org1", "org2"]}' > "$root/etc/moat/registry.json"
chmod 0644 "$root/etc/moat/registry.json"
expect "moat's file wins" 0 "allowedOrgs: org1, org2" "$moat" signin policy
expect "the other file is named as ignored" 0 \
  "ignored: $root/usr/share/docker-desktop/registry/registry.json" "$moat" signin policy
expect "signin --json" 0 "\"source\": \"$root/etc/moat/registry.json\"" \
  "$moat" signin policy --json
echo '{"allowedOrgs": ["Org1", "a b", "x,y"]}' > "$root/etc/moat/registry.json"
expect "uppercase org refused" 1 \
  'allowedOrgs[0]: "Org1" has uppercase letters; organisation names are lowercase ("org1")' \
  "$moat" signin policy
expect "space refused" 1 'allowedOrgs[1]: "a b" contains a space' "$moat" signin policy
expect "comma refused" 1 \
  'allowedOrgs[2]: "x,y" contains a comma; list each organisation as a separate array entry' \
  "$moat" signin policy
printf '\xef\xbb\xbf{"allowedOrgs": ["a"]}' > "$root/etc/moat/registry.json"
expect "registry BOM refused" 1 "the file starts with a UTF-8 byte order mark (BOM)" \
  "$moat" signin policy
echo '{"allowedOrgs": ["org1"]}' > "$root/etc/moat/registry.json"
chmod 0666 "$root/etc/moat/registry.json"
expect "registry writable by others refused" 1 "is writable by all users" \
  "$moat" signin policy
expect "signin --help" 0 "first found wins" "$moat" signin policy --help

# A file:// PAC a non-root user owns or could replace (issue 10 hole 10):
# validate names it; root's own file passes.
mkdir -p "$root/pac"
printf 'function FindProxyForURL(u, h) { return "DIRECT"; }\n' >"$root/pac/p.pac"
chmod 0644 "$root/pac/p.pac"
cat >"$root/pac.json" <<J
{"configurationFileVersion": 2,
 "containersProxy": {"locked": true, "mode": "manual", "pac": "file://$root/pac/p.pac"}}
J
expect "root-owned file:// PAC validates" 0 "pac.json: valid" \
  "$moat" settings validate "$root/pac.json"
chown 65534:65534 "$root/pac/p.pac"
expect "user-owned file:// PAC is an error" 1 \
  "error: containersProxy.pac: moat ignores this PAC file: \`$root/pac/p.pac\` is owned by uid 65534, not root" \
  "$moat" settings validate "$root/pac.json"
chown 0:0 "$root/pac/p.pac"; chown 65534:65534 "$root/pac"
expect "file:// PAC in a user's directory is an error" 1 \
  "\`$root/pac\` is owned by uid 65534, not root" \
  "$moat" settings validate "$root/pac.json"
chown 0:0 "$root/pac"
ln -s p.pac "$root/pac/link.pac"
sed -i 's#p.pac"#link.pac"#' "$root/pac.json"
expect "symlinked file:// PAC is an error" 1 "link.pac\` is a symbolic link" \
  "$moat" settings validate "$root/pac.json"

[ "$fails" -eq 0 ]
