#!/usr/bin/env bash
# PAC decision benchmark: moat without and with the decision cache vs
# pacparser in process, same 25-rule PAC (8 shExpMatch) and host mix.
# Usage: bench/pac_bench.sh [N]   (needs `make`; uses build/)
set -eu
cd "$(dirname "$0")/.."
N=${1:-20000}
mkdir -p build/bench
cc -O2 -D_GNU_SOURCE -Isrc -o build/bench/pac_bench bench/pac_bench.c \
  build/libmoat.a $(pkg-config --libs jansson libcurl libseccomp) -lpthread -lm
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus; N=$N"
build/bench/pac_bench build/moat-sandbox bench/pac25.pac "$N" 0 1000
build/bench/pac_bench build/moat-sandbox bench/pac25.pac "$N" 60000 1000
build/bench/pac_bench build/moat-sandbox bench/pac25.pac "$N" 60000 100000
/usr/bin/python3 bench/pac_pacparser.py bench/pac25.pac "$N" 1000
# The floor: a PAC that returns "DIRECT" at once (round trip to the sandbox).
echo 'function FindProxyForURL(u, h) { return "DIRECT"; }' > build/bench/trivial.pac
build/bench/pac_bench build/moat-sandbox build/bench/trivial.pac "$N" 0 1000 | sed 's/^moat /moat-trivial-pac /'
