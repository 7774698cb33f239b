#!/usr/bin/env bash
# Issue 12 §6, measured: the engine's answers redirected in the kernel
# (AF_UNIX sockhash + sk_skb stream verdict, bench/uxmap/ux.bpf.c) against
# the shipped guard and HAProxy (docker-socket-proxy configuration), on a
# private dockerd, kept-alive GET /_ping and /containers/json only.
# Interleaved: ROUNDS rounds (default 20) of N (default 300) requests per
# target and kind, targets in turn, order rotated each round; prints per
# round the guards' added p50 as a share of HAProxy's, then medians, with
# each proxy's CPU and context switches per request; then, in a separate
# pass (perf stat -a), the workqueue items run per request (a redirected
# answer is sent by the psock backlog worker, a kworker).
#   bench/uxmap/run.sh            (as root; clang -target bpf, libbpf-dev)
# The redirecting guard is guard-run built with src/engine/guard.c patched
# (guard-hook.patch) and ux.c; moat's own build is not touched.
# Env: ROUNDS, N, GUARD_A (default build/tests/guard-run: the shipped guard).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
make -C "$top" -s -j2 tests >/dev/null
out=$top/build/uxmap
mkdir -p "$out" "$top/build/bench"
P="jansson sqlite3 libcurl libseccomp openssl zlib"
clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "$top/bench/uxmap/ux.bpf.c" -o "$out/ux.bpf.o"
# the scratch guard: guard.c with a hook (guard-hook.patch), linked ahead of
# libmoat.a's guard.o; nothing in moat's own build changes
cp "$top/src/engine/guard.c" "$out/guard.c"
patch -s "$out/guard.c" "$top/bench/uxmap/guard-hook.patch"
# shellcheck disable=SC2046,SC2086
cc -O2 -D_GNU_SOURCE -std=c11 -I"$top/src" -I"$top/src/engine" $(pkg-config --cflags $P) \
  -I/usr/share/include/llhttp -o "$out/guard-run-ux" "$top/tests/tools/guard_run.c" \
  "$out/guard.c" "$top/bench/uxmap/ux.c" "$top/build/libmoat.a" $(pkg-config --libs $P) -lbpf -lpthread -lm
cc -O2 -D_GNU_SOURCE -o "$top/build/bench/ping_lat" "$top/bench/ping_lat.c"
guard_a=${GUARD_A:-$top/build/tests/guard-run}

. "$top/tests/lib/harness.sh"
harness_init
R=$HARNESS_DIR
engine=${MOAT_ENGINE_HOST#unix://}
harness_engine '{"runtimes": {"moat-runc": {"path": "runc"}}}'
mkdir -p "$R/run/moat"
start() { # name sock cmd...
  local name=$1 sock=$2; shift 2
  "$@" --listen "$sock" --engine "$engine" --share "$R" --audit /dev/null 2>"$R/$name.log" &
  pid[$name]=$!
  harness_track "$name" "${pid[$name]}"
  for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
}
declare -A pid=([direct]="")
start shipped "$R/run/moat/a.sock" "$guard_a"
MOAT_UXMAP_OBJ=$out/ux.bpf.o start redirect "$R/run/moat/ux.sock" "$out/guard-run-ux"
hsock=$R/run/moat/haproxy.sock
cat >"$R/haproxy.cfg" <<CFG
global
  maxconn 4000
defaults
  mode http
  timeout connect 10s
  timeout client 10m
  timeout server 10m
  option http-server-close
frontend dockerfrontend
  bind unix@$hsock mode 660
  http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/_ping }
  http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/containers }
  http-request deny
  default_backend dockerbackend
backend dockerbackend
  server dockersocket unix@$engine
CFG
haproxy -db -f "$R/haproxy.cfg" >"$R/haproxy.log" 2>&1 &
pid[haproxy]=$!
harness_track haproxy "${pid[haproxy]}"
for _ in $(seq 1 50); do [ -S "$hsock" ] && break; sleep 0.1; done

cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }
cswitch() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { printf "%.0f", s }'; }
n=${N:-300}
rounds=${ROUNDS:-20}
mkdir -p "$R/lat"
set -- "direct:$engine" "shipped:$R/run/moat/a.sock" "redirect:$R/run/moat/ux.sock" "haproxy:$hsock"
for t in "$@"; do "$top/build/bench/ping_lat" "${t#*:}" 200 keep >/dev/null; done
for r in $(seq 1 "$rounds"); do
  for kind in /_ping /v1.41/containers/json; do
    k=${kind##*/}
    for t in "$@"; do
      name=${t%%:*} p=${pid[${t%%:*}]} c0=0 s0=0 c1=0 s1=0
      [ -n "$p" ] && { c0=$(cpu_ns "$p"); s0=$(cswitch "$p"); }
      o=$("$top/build/bench/ping_lat" "${t#*:}" "$n" keep "$kind")
      [ -n "$p" ] && { c1=$(cpu_ns "$p"); s1=$(cswitch "$p"); }
      set -- $o "$@"
      echo "$r $2 $(( (c1 - c0) / n )) $(( (s1 - s0) * 100 / n ))" >>"$R/lat/$name.$k"
      shift 6
    done
  done
  first=$1; shift; set -- "$@" "$first"
done
med() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
for k in _ping json; do
  echo "== kept-alive $k: $rounds rounds of $n requests; per round p50 (us) and the added p50 as a share of HAProxy's"
  paste "$R/lat/direct.$k" "$R/lat/shipped.$k" "$R/lat/redirect.$k" "$R/lat/haproxy.$k" |
    awk '{ d = $2; a = $6 - d; b = $10 - d; h = $14 - d
           printf "round %2d  direct %4d  shipped %+4d  redirect %+4d  haproxy %+4d  shipped/haproxy %4.0f %%  redirect/haproxy %4.0f %%\n", $1, d, a, b, h,
             (h > 0 ? 100 * a / h : 999), (h > 0 ? 100 * b / h : 999) }' |
    tee "$R/lat/rounds.$k"
  printf 'median: direct p50 %s us; added: shipped %s, redirect %s, haproxy %s us; per-round share: shipped/haproxy %s %%, redirect/haproxy %s %%\n' \
    "$(awk '{print $4}' "$R/lat/rounds.$k" | med)" "$(awk '{print $6}' "$R/lat/rounds.$k" | med)" \
    "$(awk '{print $8}' "$R/lat/rounds.$k" | med)" "$(awk '{print $10}' "$R/lat/rounds.$k" | med)" \
    "$(awk '{print $12}' "$R/lat/rounds.$k" | med)" "$(awk '{print $15}' "$R/lat/rounds.$k" | med)"
  for name in shipped redirect haproxy; do
    printf '%-9s cpu %s us/req  cs %s/req\n' "$name" \
      "$(awk '{print $3 / 1000}' "$R/lat/$name.$k" | med)" "$(awk '{print $4 / 100}' "$R/lat/$name.$k" | med)"
  done
done
# where the redirect's sends run: psock backlog work items per request
# (system-wide workqueue events, this series minus nothing: other work
# counts too), a separate pass
if command -v perf >/dev/null && perf stat -a -e workqueue:workqueue_execute_start true >/dev/null 2>&1; then
  echo "== workqueue items run per request, whole machine (perf stat -a), 2000 kept-alive /_ping"
  for t in "$@"; do
    perf stat -a -x, -e workqueue:workqueue_execute_start,sched:sched_switch -o "$R/wq.out" -- \
      "$top/build/bench/ping_lat" "${t#*:}" 2000 keep >/dev/null 2>&1 || true
    printf '%-9s %s\n' "${t%%:*}" "$(awk -F, '/workqueue/ { w = $1 } /sched_switch/ { s = $1 } END { printf "%.2f work items/req, %.2f context switches/req", w / 2000, s / 2000 }' "$R/wq.out")"
  done
fi
