#!/usr/bin/env bash
# moat-runc's held marker across an upgrade (docs/moat-runc.md, "Delete and
# the held marker").  A container an older moat-runc created with
# --moat-no-idmap-rootfs has a range in the pool but neither a held marker
# (`.held/<id>`, made by create since the marker exists) nor a run
# directory (no id-mapped rootfs).  Its delete must still give the range
# back, as it does for a container with the marker; before the fix the
# range stayed until reconciliation.  The older version's state is made
# by removing the marker of a running container.  A private dockerd whose
# default runtime is the build's moat-runc, real busybox containers.
. "$(dirname "$0")/../lib/harness.sh"
B=$MOAT_BUILD
harness_init
MR=$HARNESS_DIR/moat
mkdir -p "$MR"
DB=$MR/var/lib/moat/state.db
HELD=$MR/run/moat/runc/.held
harness_engine "{\"runtimes\": {\"moat-runc\": {\"path\": \"$B/moat-runc\",
  \"runtimeArgs\": [\"--moat-root\", \"$MR\", \"--moat-no-idmap-rootfs\"]}},
 \"default-runtime\": \"moat-runc\"}"
harness_busybox

row() { # ID: how many pool rows container ID has (0 or 1)
  sqlite3 "$DB" "SELECT COUNT(*) FROM runtime_id_ranges WHERE container_id = '$1'" 2>/dev/null
}
# Without id-mapping the container's root reaches its rootfs through the
# engine's data root as "others": runc mounts it from inside the user
# namespace.  dockerd makes those directories 0710; this test's own engine's
# get o+x (search only) before a container starts.
start() { # NAME CMD...: create, open the way to its layers, start
  local n=$1
  shift
  d create --name "$n" busybox "$@" >/dev/null &&
    chmod o+x "$HARNESS_DIR/data" "$HARNESS_DIR/data/overlay2" "$HARNESS_DIR"/data/overlay2/*/ &&
    d start "$n" >/dev/null
}
released() { # ID: its row is gone (the shim deletes once the task has exited)
  for _ in $(seq 50); do [ "$(row "$1")" = 0 ] && return 0; sleep 0.2; done
  return 1
}

# A container of today's moat-runc: marker, row, released on delete.
start now sleep 600 || harness_bail "run now" "docker run failed"
id=$(d inspect -f '{{.Id}}' now)
check "create marks the range held" test -e "$HELD/$id"
check "the pool has the container's row" test "$(row "$id")" = 1
check "--moat-no-idmap-rootfs makes no run directory" test ! -e "$MR/run/moat/runc/$id"
d rm -f now >/dev/null
check "delete with the marker: the range is released" released "$id"
check "delete with the marker: the marker is gone" test ! -e "$HELD/$id"

# The same container as an older moat-runc left it: no marker.
start old sleep 600 || harness_bail "run old" "docker run failed"
id=$(d inspect -f '{{.Id}}' old)
rm -f "$HELD/$id"
check "the older version's state: a row, no marker, no run directory" \
  test "$(row "$id")" = 1 -a ! -e "$HELD/$id" -a ! -e "$MR/run/moat/runc/$id"
d rm -f old >/dev/null
check "delete without the marker: the range is released" released "$id"
# The shim's second delete of it (runc has forgotten it): no pool opened,
# so no state db made where it was moved aside.
mkdir -p "$HARNESS_DIR/db-aside" && mv "$DB"* "$HARNESS_DIR/db-aside/"
check "a repeated delete of the released container succeeds" \
  "$B/moat-runc" --moat-root "$MR" --root "$HARNESS_DIR/exec/runtime-runc/moby" \
  delete --force "$id"
check "... and opens no pool (no state db made)" test ! -e "$DB"
rm -f "$DB"*
mv "$HARNESS_DIR/db-aside/"* "$(dirname "$DB")/"

# One that exits by itself: the shim's delete after the exit, no marker.
start old2 sleep 4 || harness_bail "run old2" "docker run failed"
id=$(d inspect -f '{{.Id}}' old2)
rm -f "$HELD/$id"
check "old2 runs with a row and no marker" test "$(row "$id")" = 1 -a ! -e "$HELD/$id"
d wait old2 >/dev/null
check "exit without the marker: the range is released" released "$id"
check "no held marker left" test -z "$(ls -A "$HELD" 2>/dev/null)"
harness_done
