#!/usr/bin/env bash
# `moat signin lint`: the fleet forms of sign-in enforcement from the
# command line (exit codes, the per-platform choice, --json).  No daemon.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
fx=$HARNESS_TOP/tests/fixtures/signin

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

expect "a .reg export" 0 "registry key: allowedOrgs: myorg1, myorg2" \
  "$MOAT" signin lint "$fx/allowed.reg"
expect "a configuration profile" 0 "configuration profile: allowedOrgs: myorg1, myorg2" \
  "$MOAT" signin lint "$fx/docker.mobileconfig"
expect "a binary plist file" 0 "plist file: allowedOrgs: myorg1, other" \
  "$MOAT" signin lint "$fx/binary.plist"
expect "registry.json rules apply to a .reg" 1 'allowedOrgs[1]: "My Org" contains a space' \
  "$MOAT" signin lint "$fx/bad-names.reg"
expect "registry.json rules apply to a profile" 1 'allowedOrgs[2]: empty organisation name' \
  "$MOAT" signin lint "$fx/bad-names.mobileconfig"
expect "allowedOrgs under the wrong key" 1 "reads the value only from that key" \
  "$MOAT" signin lint "$fx/wrong-key.reg"
expect "a missing file" 1 "No such file" "$MOAT" signin lint "$HARNESS_DIR/none.reg"
expect "no file" 1 "at least one FILE" "$MOAT" signin lint
expect "Windows: the registry key wins over registry.json" 0 "Windows  myorg1, myorg2 (registry key" \
  "$MOAT" signin lint "$fx/registry-other.json" "$fx/allowed.reg"
expect "macOS: the profile wins over the plist file" 0 "macOS    myorg1, myorg2 (configuration profile" \
  "$MOAT" signin lint "$fx/binary.plist" "$fx/docker.mobileconfig" "$fx/registry-other.json"
expect "Linux: registry.json" 0 "Linux    myorg1 (registry.json" \
  "$MOAT" signin lint "$fx/binary.plist" "$fx/docker.mobileconfig" "$fx/registry-other.json"
expect "different lists per platform are a warning" 0 "platforms enforce different organisations" \
  "$MOAT" signin lint "$fx/binary.plist" "$fx/registry.json"
expect "--json" 0 '"windows":"registry key","macos":"plist file","linux":"registry.json"' \
  sh -c "'$MOAT' signin lint --json '$fx/registry.json' '$fx/desktop.plist' '$fx/allowed.reg' | jq -c '.platforms | map_values(.method)'"
expect "--json of an invalid file" 1 "false" \
  sh -c "'$MOAT' signin lint --json '$fx/reg-sz.reg' | jq -e .valid"
harness_done
