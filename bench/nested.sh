#!/usr/bin/env bash
# Nested runtimes under moat-runc (issue 13), in one run on one private
# dockerd whose default runtime is moat-runc:
#   - outer dind start to a ready inner daemon: `docker run -d --privileged`
#     of the dind image (tests/tools/dind-image.sh) until the inner
#     `docker info` answers, OUTER rounds;
#   - inner container start: `docker exec dind docker run --rm busybox
#     true` against an ordinary moat container start on the outer engine
#     (`docker run --rm busybox true`) and a privileged one (moat-lock and
#     the mount supervisor), interleaved, ROUNDS rounds after a warm-up;
#   - Debian's runc alone (`docker run --rm --runtime=runc busybox true`)
#     in the same rounds: the ordinary moat start against it (goal <= 1.1x),
#     the inner start against the ordinary moat one (goal <= 1.5x).
#     `docker exec dind true` is timed too: the inner figure includes one
#     exec into the outer container, which an inner workload does not pay.
#
# Usage: bench/nested.sh [ROUNDS] [OUTER]   (defaults 10, 3)
# Needs root; uses build/moat-runc (MOAT_BUILD to override).
set -u
cd "$(dirname "$0")/.."
top=$PWD
export MOAT_BUILD=${MOAT_BUILD:-$top/build}
B=$MOAT_BUILD
ROUNDS=${1:-10}
OUTER=${2:-3}
. tests/lib/harness.sh
harness_init
R=$HARNESS_DIR
MR=$R/moat
mkdir -p "$MR"
harness_engine "{\"runtimes\": {\"moat-runc\": {\"path\": \"$B/moat-runc\",
  \"runtimeArgs\": [\"--moat-root\", \"$MR\"]}}, \"default-runtime\": \"moat-runc\"}"
harness_busybox
"$top/tests/tools/dind-image.sh" "$MOAT_ENGINE_HOST" >/dev/null || {
  echo "dind image failed" >&2
  exit 1
}

now() { date +%s%N; }
# stats NAME FILE: median mean min max of the ms values in FILE
stats() {
  sort -n "$2" | awk -v n="$1" '{v[NR]=$1; s+=$1}
    END {printf "| %s | %d ms | %d ms | %d ms | %d ms |\n", n,
      (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2), s/NR, v[1], v[NR]}'
}
echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# rounds=$ROUNDS outer=$OUTER runc $(runc --version | head -1 | awk '{print $3}'), docker $(d version -f '{{.Server.Version}}')"

for i in $(seq 1 "$OUTER"); do
  t0=$(now)
  d run -d --privileged --name "dind$i" moat-dind:test >/dev/null
  until d exec "dind$i" docker info >/dev/null 2>&1; do
    [ "$(d inspect -f '{{.State.Running}}' "dind$i")" = true ] || break
    sleep 0.05
  done
  echo $((($(now) - t0) / 1000000)) >>"$R/outer"
  [ "$i" = "$OUTER" ] || d rm -f "dind$i" >/dev/null
done
dind=dind$OUTER
d exec "$dind" sh -c 'docker import -c "ENV PATH=/bin" /busybox.tar busybox:latest' >/dev/null
d exec "$dind" docker run --rm busybox true # warm-up
d run --rm busybox true
d run --rm --privileged busybox true
d run --rm --runtime=runc busybox true
for i in $(seq 1 "$ROUNDS"); do
  tr=$(now)
  d run --rm --runtime=runc busybox true
  t0=$(now)
  d run --rm busybox true
  t1=$(now)
  d run --rm --privileged busybox true
  t2=$(now)
  d exec "$dind" docker run --rm busybox true
  t3=$(now)
  d exec "$dind" true
  t4=$(now)
  echo $(((t0 - tr) / 1000000)) >>"$R/runc"
  echo $(((t1 - t0) / 1000000)) >>"$R/plain"
  echo $(((t2 - t1) / 1000000)) >>"$R/priv"
  echo $(((t3 - t2) / 1000000)) >>"$R/inner"
  echo $(((t4 - t3) / 1000000)) >>"$R/xexec"
done
echo "| what | median | mean | min | max |"
echo "| --- | ---: | ---: | ---: | ---: |"
stats "outer dind start to a ready inner daemon" "$R/outer"
stats "Debian's runc alone (docker run --rm --runtime=runc busybox true)" "$R/runc"
stats "ordinary moat container (docker run --rm busybox true)" "$R/plain"
stats "privileged moat container (moat-lock + mount supervisor)" "$R/priv"
stats "inner container (docker exec dind docker run --rm busybox true)" "$R/inner"
stats "docker exec dind true (included in the line above)" "$R/xexec"
med() { sort -n "$1" | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
awk -v r="$(med "$R/runc")" -v p="$(med "$R/plain")" -v i="$(med "$R/inner")" -v x="$(med "$R/xexec")" 'BEGIN {
  printf "ordinary moat / runc: %.2fx (goal <= 1.1x)\n", p / r
  printf "inner / ordinary moat: %.2fx, %.2fx without the docker exec (goal <= 1.5x)\n", i / p, (i - x) / p }'
harness_done
