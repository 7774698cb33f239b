#!/usr/bin/env bash
# The harness itself: its teardown ends what a test's engine left behind
# in the engine's own cgroups (containers whose dockerd, containerd and
# shims died, a paused one among them) and removes the netns, the cgroups
# and MOAT_ROOT; run.sh counts "# SKIP" apart.
. "$(dirname "$0")/../lib/harness.sh"
harness_init

info=$HARNESS_DIR/leftovers.txt
bash "$HARNESS_TOP/tests/integration/lib/harness_leftovers.sh" "$info" >"$HARNESS_DIR/leftovers.log" 2>&1
check_output "the helper stack ran and tore down" "ok - left processes behind" cat "$HARNESS_DIR/leftovers.log"
root=$(sed -n 's/^root //p' "$info")
ns=$(sed -n 's/^netns //p' "$info")
pids=$(sed -n 's/^pid //p' "$info" | tr '\n' ' ')
check "it started two containers ($pids)" test "$(echo $pids | wc -w)" = 2
# A process that has exited but whose new parent has not reaped it yet is
# a zombie: it runs nothing and holds nothing, so it counts as ended.
alive() { [ -e "/proc/$1" ] && [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
left=
for _ in $(seq 20); do
  left=
  for p in $pids; do
    if alive "$p"; then left="$left $p($(tr '\0' ' ' <"/proc/$p/cmdline"))"; fi
  done
  [ -z "$left" ] && break
  sleep 0.1
done
check "no container process outlives teardown${left:+: $left}" test -z "$left"
check "the engine's cgroups are gone" \
  sh -c "! ls -d /sys/fs/cgroup/*/moat-$ns /sys/fs/cgroup/moat-$ns 2>/dev/null | grep -q ."
check "the netns is gone" sh -c "! ip netns list | grep -qw '$ns'"
check "MOAT_ROOT is gone" test -n "$root" -a ! -e "$root"
# Whatever was left, it is ours: end it here so nothing lingers (thawed
# first, or SIGKILL waits), and remove the cgroups.
for f in $(find /sys/fs/cgroup/freezer/moat-"$ns" -name freezer.state 2>/dev/null); do echo THAWED >"$f"; done
for p in $pids; do [ -e "/proc/$p" ] && kill -KILL "$p" 2>/dev/null; done
sleep 0.5
for dir in /sys/fs/cgroup/*/moat-"$ns" /sys/fs/cgroup/moat-"$ns"; do
  [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
done

# run.sh's counting: a skip is neither a pass nor a failure.
mkdir -p "$HARNESS_DIR/fake/tests/integration"
cp "$HARNESS_TOP/tests/run.sh" "$HARNESS_DIR/fake/tests/run.sh"
printf '%s\n' 'echo "ok - a"' 'echo "ok - b # SKIP no such feature"' 'echo "ok - c"' \
  >"$HARNESS_DIR/fake/tests/integration/test_fake.sh"
out=$(cd "$HARNESS_DIR/fake" && bash tests/run.sh fake 2>&1)
check "run.sh: the last line is 'N passed, N failed' without the skip" \
  test "$(printf '%s\n' "$out" | tail -1)" = "2 passed, 0 failed"
check "run.sh: the line before counts the skip" \
  test "$(printf '%s\n' "$out" | tail -2 | head -1)" = "1 skipped"
harness_done
