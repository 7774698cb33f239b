#!/usr/bin/env bash
# The escape suite (tests/escape/attempts.sh) against moat-runc on a private
# dockerd: every attempt from a --privileged container must fail, and fail
# for the reason it is supposed to (the kernel's or moat's refusal).
. "$(dirname "$0")/../lib/harness.sh"
B=$MOAT_BUILD
harness_init
R=$HARNESS_DIR
. "$HARNESS_TOP/tests/escape/attempts.sh"

MR=$R/moat
mkdir -p "$MR"
ENGINE_SOCK=${MOAT_ENGINE_HOST#unix://}
harness_engine "{\"runtimes\": {\"moat-runc\": {\"path\": \"$B/moat-runc\",
  \"runtimeArgs\": [\"--moat-root\", \"$MR\", \"--moat-protect\", \"$ENGINE_SOCK\"]}},
  \"default-runtime\": \"moat-runc\"}"
harness_busybox
# The probe is bind-mounted into containers: moat-runc shares only the
# default directories (/home, /tmp) here, so it goes below $R (in /tmp).
cp "$B/tests/mount-probe" "$R/mount-probe" && chmod 0755 "$R/mount-probe"
export MOUNT_PROBE=$R/mount-probe
check "privileged container runs" d run --rm --privileged busybox true
# The verdict itself: an attempt that fails for another reason than the
# one it must fail for is a failure, not a blocked escape.
verdict() { (ok() { echo pass; }; not_ok() { echo fail; }; attempt "$@"); }
check "verdict: an attempt refused for the expected reason is blocked" \
  test "$(verdict v "$EPERM" sh -c 'echo "mknod: /x: Operation not permitted"; exit 1')" = pass
check "verdict: an attempt that fails for another reason is a failure" \
  test "$(verdict v "$EPERM" sh -c 'echo "sh: can not create /x: No such file or directory"; exit 1')" = fail
check "verdict: a missing command is a failure, whatever else it prints" \
  test "$(verdict v "$EPERM" sh -c 'echo "mknod: /x: Operation not permitted"; no-such-cmd-moat; exit 1')" = fail
check "verdict: a container that did not start is a failure" \
  test "$(verdict v "$EPERM" d run --rm --privileged no-such-image-moat:1 mknod /x c 1 1)" = fail
check "verdict: an attempt that worked is a failure" \
  test "$(verdict v "$EPERM" true)" = fail
escape_all
harness_done
