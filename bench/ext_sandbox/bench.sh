#!/usr/bin/env bash
# Extension sandbox benchmark (docs/extensions.md, BENCHMARKS.md): sandbox
# start, a sandboxed route vs the same logic as a native route on a unix
# socket.  Usage: bench/ext_sandbox/bench.sh [N]   (needs `make`; uses build/)
set -eu
cd "$(dirname "$0")/../.."
N=${1:-2000}
mkdir -p build/bench
cc -O2 -D_GNU_SOURCE -Isrc -o build/bench/ext_sandbox bench/ext_sandbox/bench.c \
  build/libmoat.a $(pkg-config --libs jansson libcurl libseccomp sqlite3) -lpthread -lm
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus; load $(cut -d' ' -f1-3 /proc/loadavg)"
build/bench/ext_sandbox "$N" "$PWD/build/moat-sandbox"
