#!/usr/bin/env bash
# Differential test of the PAC helpers: moat (real sandbox, via `moat pac
# eval`) against pacparser (python3-pacparser, in process) on generated
# inputs, in two time zones (UTC, and India's +05:30 so that local time and
# GMT differ by a non-whole hour).  Documented exceptions: docs/pac.md.
set -u
cd "$(dirname "$0")/../.."
B=${MOAT_BUILD:-build}
if ! /usr/bin/python3 -c 'import pacparser' 2>/dev/null; then
  echo "not ok - python3-pacparser is not installed (scripts/install-deps)"
  exit 0
fi
for tz in UTC IST-5:30; do
  echo "# TZ=$tz"
  TZ=$tz /usr/bin/python3 tests/integration/pac_diff.py "$B/moat"
done
