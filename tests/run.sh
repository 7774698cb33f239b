#!/usr/bin/env bash
# Run moat's whole test suite: cmocka unit tests (plain and ASan+UBSan
# builds), then the integration tests in tests/integration/ against the
# sanitizer build.  Prints one line per test, then "N skipped" (checks that
# could not run here: TAP "ok - NAME # SKIP why", counted apart from pass),
# and ends with "N passed, N failed" (CI parses that last line).
# Usage: tests/run.sh [PATTERN]  (filters file names)
set -u
cd "$(dirname "$0")/.."
top=$PWD
pattern=${1:-}
passed=0
failed=0
skipped=0
failures=()
logdir=$top/build/test-logs
mkdir -p "$logdir"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_unit() {
  local bin=$1 name log p f k
  name=${bin#"$top"/}
  log=$logdir/$(echo "$name" | tr / _).log
  "$bin" >"$log" 2>&1
  local rc=$?
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  k=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  p=${p:-0}; f=${f:-0}; k=${k:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + k))
  if [ "$f" -gt 0 ]; then
    failures+=("$name")
    echo "FAIL $name ($p passed, $f failed; log: $log)"
    grep -E '^\[  (FAILED|ERROR) |ERROR: |runtime error' "$log" | head -20 | sed 's/^/    /'
  else
    if [ "$k" -gt 0 ]; then echo "ok   $name ($p tests, $k skipped)"; else echo "ok   $name ($p tests)"; fi
  fi
}

for dir in build/tests build/san/tests; do
  for bin in "$top/$dir"/test_*; do
    [ -x "$bin" ] || continue
    case "$bin" in *"$pattern"*) ;; *) continue ;; esac
    run_unit "$bin"
  done
done

# Integration tests: each script prints "ok - NAME" / "not ok - NAME".
export MOAT_BUILD=${MOAT_BUILD:-$top/build/san}
for t in tests/integration/test_*.sh; do
  [ -f "$t" ] || continue
  case "$t" in *"$pattern"*) ;; *) continue ;; esac
  log=$logdir/$(basename "$t" .sh).log
  start=$(date +%s)
  timeout --kill-after=30 "${MOAT_TEST_TIMEOUT:-900}" bash "$t" >"$log" 2>&1
  rc=$?
  s=$(grep -c '^ok - .*# SKIP' "$log")
  p=$(( $(grep -c '^ok - ' "$log") - s ))
  f=$(grep -c '^not ok - ' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  if [ "$f" -gt 0 ]; then
    failures+=("$t")
    echo "FAIL $t ($p passed, $f failed, $s skipped, rc=$rc, $(( $(date +%s) - start ))s; log: $log)"
    grep -E '^not ok - |^# ' "$log" | head -30 | sed 's/^/    /'
    if [ -n "${CI:-}" ]; then tail -60 "$log" | sed 's/^/    | /'; fi
  else
    echo "ok   $t ($p passed, $s skipped, $(( $(date +%s) - start ))s)"
    grep '^ok - .*# SKIP' "$log" | sed 's/^ok - /    skipped: /'
  fi
done

if [ ${#failures[@]} -gt 0 ]; then
  echo "failed: ${failures[*]}"
fi
echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
