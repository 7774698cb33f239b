#!/usr/bin/env bash
# Engine guard benchmark: direct engine socket vs the guard, in one run, on a
# private dockerd (harness_engine of tests/lib/harness.sh).
#   bench/guard_bench.sh [IMAGE_MB]      (default 300; 0: no streaming)
# Prints: llhttp vs nothing (per request head, per chunked body), GET /_ping
# and GET /containers/json p50/p99 (kept-alive and new connection), docker
# save/load MB/s of an IMAGE_MB image, `docker run --rm busybox true` time.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
mb=${1:-300}
make -C "$top" -s -j2 tests >/dev/null
mkdir -p "$top/build/bench"
cc -O2 -D_GNU_SOURCE -I/usr/share/include/llhttp -o "$top/build/bench/bench_llhttp" \
  "$top/bench/bench_llhttp.c" "$top"/build/obj/llhttp/*.o
cc -O2 -D_GNU_SOURCE -o "$top/build/bench/ping_lat" "$top/bench/ping_lat.c"

. "$top/tests/lib/harness.sh"
harness_init
R=$HARNESS_DIR
engine=${MOAT_ENGINE_HOST#unix://}
harness_engine '{"runtimes": {"moat-runc": {"path": "runc"}}}'
harness_busybox
mkdir -p "$R/run/moat"
gsock=$R/run/moat/docker.sock
"$top/build/tests/guard-run" --listen "$gsock" --engine "$engine" --share "$R" \
  --audit /dev/null 2>"$R/guard.log" &
guard_pid=$!
harness_track guard "$guard_pid"
for _ in $(seq 1 50); do [ -S "$gsock" ] && break; sleep 0.1; done
# the same guard without pre-connected engine connections (the lever)
npsock=$R/run/moat/nopool.sock
"$top/build/tests/guard-run" --listen "$npsock" --engine "$engine" --share "$R" \
  --audit /dev/null --engine-pool 0 2>"$R/nopool.log" &
nopool_pid=$!
harness_track guard-nopool "$nopool_pid"
for _ in $(seq 1 50); do [ -S "$npsock" ] && break; sleep 0.1; done

# HAProxy configured as Tecnativa's docker-socket-proxy does: path ACLs on
# the url-decoded path with an optional /vX.Y prefix, http-server-close.
hsock=$R/run/moat/haproxy.sock
targets="direct:$engine guard:$gsock guard-nopool:$npsock"
if command -v haproxy >/dev/null; then
  cat >"$R/haproxy.cfg" <<CFG
global
  maxconn 4000
defaults
  mode http
  timeout connect 10s
  timeout client 10m
  timeout server 10m
  timeout tunnel 1h
  option http-server-close
frontend dockerfrontend
  bind unix@$hsock mode 660
  http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/_ping }
  http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/containers }
  http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/images }
  http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/(version|info|events) }
  http-request deny
  default_backend dockerbackend
backend dockerbackend
  server dockersocket unix@$engine
CFG
  haproxy -db -f "$R/haproxy.cfg" >"$R/haproxy.log" 2>&1 &
  haproxy_pid=$!
  harness_track haproxy "$haproxy_pid"
  for _ in $(seq 1 50); do [ -S "$hsock" ] && break; sleep 0.1; done
  targets="$targets haproxy:$hsock"
fi

echo "== llhttp vs nothing"
"$top/build/bench/bench_llhttp"

lat() { "$top/build/bench/ping_lat" "$@"; }
echo "== latency (N=3000 kept-alive, N=1000 new connection)"
for target in $targets; do
  name=${target%%:*}; sock=${target#*:}
  lat "$sock" 200 keep >/dev/null # warm up
  echo "$name  GET /_ping keep-alive:      $(lat "$sock" 3000 keep)"
  echo "$name  GET /_ping new connection:  $(lat "$sock" 1000 new)"
  echo "$name  GET /containers/json keep:  $(lat "$sock" 3000 keep /v1.41/containers/json)"
  echo "$name  GET /containers/json new:   $(lat "$sock" 1000 new /v1.41/containers/json)"
done

timed() { local a b; a=$(date +%s.%N); "$@" >/dev/null; b=$(date +%s.%N); awk -v a="$a" -v b="$b" 'BEGIN { print b - a }'; }
if [ "$mb" -gt 0 ]; then
echo "== streaming ($mb MB image)"
mkdir -p "$R/ctx"
head -c $((mb * 1024 * 1024)) /dev/urandom >"$R/ctx/blob"
printf 'FROM busybox\nCOPY blob /blob\n' >"$R/ctx/Dockerfile"
DOCKER_BUILDKIT=0 DOCKER_HOST=unix://$engine docker build -q -t big:1 "$R/ctx" >/dev/null
rm -f "$R/ctx/blob"
DOCKER_HOST=unix://$engine docker save big:1 -o "$R/big.tar"
size=$(stat -c %s "$R/big.tar")
rate() { # seconds -> MB/s
  awk -v s="$size" -v t="$1" 'BEGIN { printf "%.0f MB/s (%.2f s)", s / t / 1e6, t }'
}
for target in $targets $targets; do
  name=${target%%:*}; export DOCKER_HOST=unix://${target#*:}
  t=$(timed sh -c 'docker save big:1 >/dev/null')
  echo "$name  docker save: $(rate "$t")"
  t=$(timed sh -c "docker load -i '$R/big.tar'")
  echo "$name  docker load: $(rate "$t")"
done
fi

echo "== docker run --rm busybox true (median of 5)"
for target in $targets; do
  name=${target%%:*}; export DOCKER_HOST=unix://${target#*:}
  ts=$(for _ in 1 2 3 4 5; do timed docker run --rm busybox true; done | sort -n | sed -n 3p)
  echo "$name  $ts s"
done
