#!/usr/bin/env bash
# Differential test of the PAC helpers: moat (real sandbox, via `moat pac
# eval`) against pacparser (python3-pacparser, in process) on generated
# inputs, in two time zones (UTC, and India's +05:30 so that local time and
# GMT differ by a non-whole hour).  Documented exceptions: docs/pac.md.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
if ! /usr/bin/python3 -c 'import pacparser' 2>/dev/null; then
  harness_bail "python3-pacparser is installed (scripts/install-deps)"
fi
# pac_diff.py prints TAP lines of its own; each is reported through the
# harness so its counts (and harness_done's verdict) include them.
for tz in UTC IST-5:30; do
  harness_diag "TZ=$tz"
  TZ=$tz /usr/bin/python3 "$HARNESS_TOP/tests/integration/pac_diff.py" "$MOAT" \
    >"$HARNESS_DIR/pac_diff.out" 2>&1
  rc=$?
  before=$HARNESS_FAILED
  while IFS= read -r line; do
    case $line in
      "ok - "*) ok "${line#ok - }" ;;
      "not ok - "*) not_ok "${line#not ok - }" ;;
      *) echo "$line" ;;
    esac
  done <"$HARNESS_DIR/pac_diff.out"
  [ "$rc" -eq 0 ] || [ "$HARNESS_FAILED" -gt "$before" ] ||
    not_ok "pac_diff.py (TZ=$tz) exits 0" "exit $rc"
done
harness_done
