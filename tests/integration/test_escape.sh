#!/usr/bin/env bash
# The escape suite (tests/escape/attempts.sh) against moat-runc on a private
# dockerd: every attempt from a --privileged container must fail.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
B=${MOAT_BUILD:-$top/build}
. tests/integration/lib_dockerd.sh
. tests/escape/attempts.sh
trap dockerd_stop EXIT
ok() { echo "ok - $1"; }
fail() { echo "not ok - $1"; }

MR=$R/moat
mkdir -p "$MR"
ENGINE_SOCK=$R/engine.sock
dockerd_start "moat-esc-$$" "{\"runtimes\": {\"moat-runc\": {\"path\": \"$B/moat-runc\",
  \"runtimeArgs\": [\"--moat-root\", \"$MR\", \"--moat-protect\", \"$ENGINE_SOCK\"]}},
  \"default-runtime\": \"moat-runc\"}" || { fail "dockerd starts"; exit 1; }
import_busybox || { fail "import busybox"; exit 1; }
# The probe is bind-mounted into containers: moat-runc shares only the
# default directories (/home, /tmp) here, so it goes below $R (in /tmp).
cp "$B/tests/mount-probe" "$R/mount-probe" && chmod 0755 "$R/mount-probe"
export MOUNT_PROBE=$R/mount-probe
if d run --rm --privileged busybox true; then ok "privileged container runs"; else fail "privileged container runs"; fi
escape_all
exit 0
