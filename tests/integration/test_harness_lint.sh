#!/usr/bin/env bash
# scripts/check-test-harness (run by `make lint`): every integration test
# uses the one harness, and each way of not doing so fails it with a
# message naming the script and the rule.  Each case runs on a copy of
# tests/integration in the harness's scratch directory.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
top=$HARNESS_TOP
lint=$top/scripts/check-test-harness

# copy NAME: a fresh copy of tests/integration at $HARNESS_DIR/NAME
copy() {
  mkdir -p "$HARNESS_DIR/$1"
  cp "$top"/tests/integration/test_*.sh "$HARNESS_DIR/$1/"
  echo "$HARNESS_DIR/$1"
}
# add DIR NAME LINE...: a new script DIR/test_NAME.sh of those lines (as
# arguments, so that this file itself holds none of them at a line start)
add() {
  local d=$1 n=$2
  shift 2
  printf '%s\n' '#!/usr/bin/env bash' "$@" >"$d/test_$n.sh"
}
src='. "$(dirname "$0")/../lib/harness.sh"'

check "this tree's tests all use the harness" "$lint"

t=$(copy nosource)
add "$t" own \
  'echo "ok - something"' \
  'harness_done'
check_refused "a script that does not source the harness" \
  'tests/integration/test_own.sh: does not source tests/lib/harness.sh' "$lint" "$t"

t=$(copy ownok)
add "$t" own \
  "$src" \
  'ok() { echo "ok - $1"; }' \
  'nok() { echo "not ok - $1"; }' \
  'harness_done'
check_refused "a script with its own ok()" \
  'tests/integration/test_own.sh:3: defines its own ok()' "$lint" "$t"
check_refused "a script with the old nok()" \
  'tests/integration/test_own.sh:4: defines its own nok()' "$lint" "$t"

t=$(copy owncheck)
add "$t" own \
  "$src" \
  'check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }' \
  'harness_done'
check_refused "a script with its own check()" \
  'tests/integration/test_own.sh:3: defines its own check()' "$lint" "$t"

t=$(copy nodone)
add "$t" own \
  "$src" \
  'check "x" true' \
  '[ "$HARNESS_FAILED" -eq 0 ]'
check_refused "a script that does not end with harness_done" \
  'tests/integration/test_own.sh: does not end with harness_done' "$lint" "$t"

t=$(copy trap)
add "$t" own \
  "$src" \
  'harness_init' \
  'trap '\''rm -rf /tmp/x'\'' EXIT' \
  'harness_done'
check_refused "an EXIT trap that replaces the harness teardown" \
  'tests/integration/test_own.sh:4: sets its own EXIT trap' "$lint" "$t"

t=$(copy helper)
add "$t" own \
  "$src" \
  'harness_setup' \
  'check_guard_refused() { check_refused "$1" "enhanced container isolation: " "${@:2}"; }' \
  'check_guard_refused "host pid refused" docker run --rm --pid=host busybox true' \
  'harness_done'
check "a helper of the test's own built on the harness is fine" "$lint" "$t"

harness_done
