#!/usr/bin/env bash
# moat verify on a running stack: every isolation check passes through the
# guarded socket, and the same checks fail against the raw engine (so a
# broken guard or runtime would show).
. "$(dirname "$0")/../lib/harness.sh"
harness_setup

out=$("$MOAT" verify 2>&1); rc=$?
if [ $rc -eq 0 ] && ! echo "$out" | grep -q '^FAIL'; then ok "moat verify passes on the guarded socket"
else not_ok "moat verify passes on the guarded socket" "rc=$rc" "$out"; fi
for c in "private uid range" "runtime forced to moat-runc" "privileged container keeps its masks" \
         "nested containers work" \
         "host pid namespace refused" \
         "host network namespace refused" "engine socket mount refused" "engine socket private" \
         "local volume with a relative device refused" "driver name with a path refused" \
         "no set-id file planted in a shared directory" "filtered sockets answer only their container" \
         "no id range shared with another root"; do
  echo "$out" | grep -q "^PASS  $c" && ok "verify: $c" || not_ok "verify: $c" "$out"
done
j=$("$MOAT" verify --json 2>&1)
echo "$j" | jq -e '.passed == true and (.checks | length) >= 6' >/dev/null \
  && ok "moat verify --json" || not_ok "moat verify --json" "$j"

# Against the raw engine nothing is refused: verify must say so.
raw=$("$MOAT" verify --host "$MOAT_ENGINE_HOST" 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$raw" | grep -q '^FAIL  host pid namespace refused'; then
  ok "moat verify fails against an unguarded engine"
else not_ok "moat verify fails against an unguarded engine" "rc=$rc" "$raw"; fi

# Even on the raw engine, bypassing the guard, --runtime=runc ends in
# moat-runc (dockerd finds moat's runc first in its PATH).
m=$(DOCKER_HOST=$MOAT_ENGINE_HOST docker run --rm --runtime=runc busybox cat /proc/self/uid_map 2>&1)
if echo "$m" | awk '$1 == 0 && $2 != 0 && $3 == 65536 {f=1} END {exit !f}'; then
  ok "--runtime=runc on the raw engine still gets a private range"
else not_ok "--runtime=runc on the raw engine still gets a private range" "$m"; fi

# Two containers at once get different, non-overlapping ranges.
docker run -d --name ct-a busybox sleep 30 >/dev/null && docker run -d --name ct-b busybox sleep 30 >/dev/null
ma=$(docker exec ct-a cat /proc/self/uid_map | awk '{print $2}')
mb=$(docker exec ct-b cat /proc/self/uid_map | awk '{print $2}')
if [ -n "$ma" ] && [ -n "$mb" ] && [ "$ma" != "$mb" ] && [ $(( ma > mb ? ma - mb : mb - ma )) -ge 65536 ]; then
  ok "concurrent containers get disjoint ranges ($ma, $mb)"
else not_ok "concurrent containers get disjoint ranges" "a=$ma b=$mb"; fi
n=$("$MOAT" status --json | jq -r '.isolation.containers_with_id_range')
[ "${n:-0}" -ge 2 ] 2>/dev/null && ok "moat status counts containers holding an id range ($n)" \
  || not_ok "moat status counts containers holding an id range" "got $n"
docker rm -f ct-a ct-b >/dev/null 2>&1
harness_done
