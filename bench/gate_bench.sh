#!/usr/bin/env bash
# The sign-in gate's per-request cost (engine_gate_check alone, and the
# guard's head path with and without the gate).
# Usage: bench/gate_bench.sh [ROUNDS]   (needs `make`; uses build/)
set -eu
cd "$(dirname "$0")/.."
mkdir -p build/bench
cc -O2 -D_GNU_SOURCE -Isrc -I/usr/share/include/llhttp -o build/bench/gate_bench \
  bench/gate_bench.c build/libmoat.a \
  $(pkg-config --libs jansson sqlite3 libcurl libseccomp openssl) \
  -largon2 -lldap -llber -lplist-2.0 -lpthread -lm
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus; load $(cut -d' ' -f1-3 /proc/loadavg)"
build/bench/gate_bench "${1:-20000}"
