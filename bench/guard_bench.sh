#!/usr/bin/env bash
# Engine guard benchmark: direct engine socket vs the guard, in one run, on a
# private dockerd (harness_engine of tests/lib/harness.sh).
#   bench/guard_bench.sh [IMAGE_MB]      (default 300; 0: no streaming)
# Prints: llhttp vs nothing (per request head, per chunked body), GET /_ping
# and GET /containers/json p50/p99 (kept-alive and new connection; ROUNDS
# rounds, default 5, of N_KEEP=1000 / N_NEW=500 requests, the targets in
# turn, medians), the proxies' CPU time, context switches and system calls
# per request, the guard's added latency as a share of HAProxy's, docker
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

# GUARD_BEFORE=path/to/guard-run: another build of the guard (say, main's)
# measured beside this one, as the target "guard-before"
before_pid=
if [ -n "${GUARD_BEFORE:-}" ]; then
  bsock=$R/run/moat/before.sock
  "$GUARD_BEFORE" --listen "$bsock" --engine "$engine" --share "$R" \
    --audit /dev/null 2>"$R/before.log" &
  before_pid=$!
  harness_track guard-before "$before_pid"
  for _ in $(seq 1 50); do [ -S "$bsock" ] && break; sleep 0.1; done
fi

# HAProxy configured as Tecnativa's docker-socket-proxy does: path ACLs on
# the url-decoded path with an optional /vX.Y prefix, http-server-close.
hsock=$R/run/moat/haproxy.sock
targets="direct:$engine guard:$gsock guard-nopool:$npsock"
[ -n "$before_pid" ] && targets="$targets guard-before:$bsock"
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
# CPU time (ns) and context switches of a process, all its threads
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }
cswitch() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { printf "%.0f", s }'; }
declare -A proxy_pid=([direct]="" [guard]=$guard_pid [guard-nopool]=$nopool_pid [guard-before]=$before_pid [haproxy]=${haproxy_pid:-})
engine_pid=$(cat "$R/dockerd.pid")
kinds="ping-keep ping-new json-keep json-new"
kind_args() {
  case $1 in
    ping-keep) echo "$n_keep keep /_ping" ;;
    ping-new) echo "$n_new new /_ping" ;;
    json-keep) echo "$n_keep keep /v1.41/containers/json" ;;
    json-new) echo "$n_new new /v1.41/containers/json" ;;
  esac
}
kind_name() {
  case $1 in
    ping-keep) echo "GET /_ping keep-alive" ;;
    ping-new) echo "GET /_ping new connection" ;;
    json-keep) echo "GET /containers/json keep-alive" ;;
    json-new) echo "GET /containers/json new connection" ;;
  esac
}
# one series: appends "p50 p99 proxy-cpu-us/req proxy-cs/req engine-cpu-us/req"
measure() { # name sock kind
  local name=$1 sock=$2 kind=$3 pp=${proxy_pid[$1]} n c0 s0 e0 c1 s1 e1 out
  # shellcheck disable=SC2046
  set -- $(kind_args "$kind")
  n=$1
  c0=0 s0=0; [ -n "$pp" ] && { c0=$(cpu_ns "$pp"); s0=$(cswitch "$pp"); }
  e0=$(cpu_ns "$engine_pid")
  out=$(lat "$sock" "$@")
  c1=0 s1=0; [ -n "$pp" ] && { c1=$(cpu_ns "$pp"); s1=$(cswitch "$pp"); }
  e1=$(cpu_ns "$engine_pid")
  set -- $out # p50 X us p99 Y us
  awk -v a="$2" -v b="$5" -v c0="$c0" -v c1="$c1" -v s0="$s0" -v s1="$s1" \
    -v e0="$e0" -v e1="$e1" -v n="$n" -v p="$pp" 'BEGIN {
      if (p == "") printf "%s %s - - %.1f\n", a, b, (e1 - e0) / n / 1000
      else printf "%s %s %.1f %.2f %.1f\n", a, b, (c1 - c0) / n / 1000, (s1 - s0) / n, (e1 - e0) / n / 1000 }' \
    >>"$R/lat/$name.$kind"
}
median() { # file column
  awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (v[1] == "-") print "-"; else print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
rounds=${ROUNDS:-5}
n_keep=${N_KEEP:-1000}
n_new=${N_NEW:-500}
mkdir -p "$R/lat"
echo "== latency: $rounds rounds of $n_keep kept-alive and $n_new new-connection requests per target, targets in turn (order rotated each round)"
for target in $targets; do
  lat "${target#*:}" 200 keep >/dev/null # warm up
done
set -- $targets
for r in $(seq 1 "$rounds"); do
  for kind in $kinds; do
    for target in "$@"; do
      measure "${target%%:*}" "${target#*:}" "$kind"
    done
  done
  # rotate the order of the targets for the next round
  first=$1; shift; set -- "$@" "$first"
done
echo "p50 and p99 in us, median over the rounds; cpu: the proxy's CPU time per request (all threads, us) and context switches; engine: dockerd's CPU per request"
for kind in $kinds; do
  for target in $targets; do
    name=${target%%:*} f=$R/lat/${target%%:*}.$kind
    printf '%-13s %-36s p50 %5s us  p99 %6s us  cpu %6s us/req  cs %5s/req  engine %6s us/req\n' \
      "$name" "$(kind_name "$kind"):" "$(median "$f" 1)" "$(median "$f" 2)" \
      "$(median "$f" 3)" "$(median "$f" 4)" "$(median "$f" 5)"
  done
done
if [ -n "${haproxy_pid:-}" ]; then
  echo "== added p50 latency over direct (median of the rounds), guard as a share of HAProxy (goals: kept-alive <= 33 %, new connection <= 50 %)"
  for kind in $kinds; do
    d=$(median "$R/lat/direct.$kind" 1)
    h=$(median "$R/lat/haproxy.$kind" 1)
    g=$(median "$R/lat/guard.$kind" 1)
    np=$(median "$R/lat/guard-nopool.$kind" 1)
    if [ -n "$before_pid" ]; then
      awk -v k="$(kind_name "$kind")" -v d="$d" -v h="$h" -v b="$(median "$R/lat/guard-before.$kind" 1)" 'BEGIN {
        printf "%-36s guard-before %+5.0f us: %s\n", k ":", b - d, (h - d > 0 ? sprintf("%.0f %%", 100 * (b - d) / (h - d)) : "n/a") }'
    fi
    awk -v k="$(kind_name "$kind")" -v d="$d" -v h="$h" -v g="$g" -v np="$np" 'BEGIN {
      ha = h - d; ga = g - d; na = np - d
      printf "%-36s guard %+5.0f us  haproxy %+5.0f us  guard/haproxy %s  (guard-nopool %+5.0f us: %s)\n", k ":", ga, ha,
        (ha > 0 ? sprintf("%.0f %%", 100 * ga / ha) : "n/a"), na, (ha > 0 ? sprintf("%.0f %%", 100 * na / ha) : "n/a") }'
  done
fi
if command -v perf >/dev/null && perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
  echo "== system calls per request (perf stat -e raw_syscalls:sys_enter on the proxy; a separate pass: tracing slows the traced process)"
  for target in $targets; do
    name=${target%%:*} pp=${proxy_pid[${target%%:*}]}
    [ -n "$pp" ] || continue
    for kind in $kinds; do
      # shellcheck disable=SC2046
      set -- $(kind_args "$kind")
      perf stat -x, -e raw_syscalls:sys_enter -p "$pp" -o "$R/perf.out" -- \
        "$top/build/bench/ping_lat" "${target#*:}" "$@" >/dev/null 2>&1 || true
      printf '%-13s %-36s %s syscalls/req\n' "$name" "$(kind_name "$kind"):" \
        "$(awk -F, -v n="$1" '/raw_syscalls/ { printf "%.1f", $1 / n }' "$R/perf.out")"
    done
  done
fi

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
