#!/usr/bin/env bash
# Helper of test_harness.sh: a harness_engine stack that leaves processes
# behind on purpose (a running and a paused container, dockerd and its
# containerd killed with SIGKILL so nothing stops them), then exits: the
# harness's teardown must end them.  Writes what it made to the file $1
# (lines "pid PID", "root DIR", "netns NAME").
. "$(dirname "$0")/../../lib/harness.sh"
out=$1
harness_init
harness_engine '{}'
harness_busybox
{ echo "root $MOAT_ROOT"; echo "netns $HARNESS_NETNS"; } >"$out"
d run -d --name run1 busybox sleep 600 >/dev/null || harness_bail "run1"
d run -d --name paused1 busybox sleep 600 >/dev/null || harness_bail "paused1"
d pause paused1 >/dev/null || harness_bail "pause"
for c in run1 paused1; do echo "pid $(d inspect -f '{{.State.Pid}}' $c)" >>"$out"; done
# dockerd and everything in its netns (containerd, the shims) die at once:
# nobody is left to stop the containers.
# shellcheck disable=SC2046
kill -KILL $(ip netns pids "$HARNESS_NETNS")
sleep 1
# Teardown must not count on dockerd's own pid file either.
rm -f "$HARNESS_DIR/pids/dockerd.pid"
ok "left processes behind"
harness_done
