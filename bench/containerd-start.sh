#!/usr/bin/env bash
# Start-up cost of moat-runc as a containerd runtime handler against plain
# runc, side by side under one private containerd (issue 16: "moat-runc
# start under containerd <= 1.2x runc under the same containerd"): wall
# time of `ctr run --rm busybox true` through containerd's runc shim, with
# --runc-binary /usr/sbin/runc and with dist/k8s/moat-runc-containerd,
# interleaved (runc, moat, runc, moat, ...) so drift hits both alike.
#
# Usage: bench/containerd-start.sh [ROUNDS]      (default 20)
# Needs root; uses build/moat-runc (MOAT_BUILD to override).
# HANDLER=link (default): the shim's binary is a link to moat-runc with
# its options in LINK.conf (docs/kubernetes.md, "Without the wrapper");
# HANDLER=wrapper: dist/k8s/moat-runc-containerd (session 7's runs).
set -u
cd "$(dirname "$0")/.."
top=$PWD
export MOAT_BUILD=${MOAT_BUILD:-$top/build}
ROUNDS=${1:-20}
. tests/lib/harness.sh
harness_init
R=$HARNESS_DIR
D=$R/ctd
export MOAT_RUNC=$MOAT_BUILD/moat-runc
WRAP=$top/dist/k8s/moat-runc-containerd
[ -x "$MOAT_RUNC" ] || harness_bail "moat-runc built" "run make"
if [ "${HANDLER:-link}" = link ]; then
  mkdir -p "$R/bin"
  WRAP=$R/bin/moat-runc-containerd
  ln -s "$MOAT_RUNC" "$WRAP"
  printf -- '--moat-root %s\n--moat-containerd\n' "$MOAT_ROOT" >"$WRAP.conf"
  chmod 644 "$WRAP.conf"
fi
echo "moat-runc handler: ${HANDLER:-link} ($WRAP)"

mkdir -p "$D"
cat >"$D/config.toml" <<EOT
version = 2
root = "$D/root"
state = "$D/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$D/c.sock"
[ttrpc]
  address = "$D/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOT
[ -d /run/containerd ] || HARNESS_EXTRA_CLEANUP="rmdir /run/containerd/s /run/containerd 2>/dev/null"
harness_spawn_netns containerd containerd --config "$D/config.toml" >/dev/null
for _ in $(seq 100); do
  ctr -a "$D/c.sock" version >/dev/null 2>&1 && break
  sleep 0.1
done

# busybox as a one-layer OCI archive (the harness's rootfs tarball)
harness_busybox_tar
w=$R/oci rt=$top/build/cache/busybox-rootfs.tar
mkdir -p "$w/blobs/sha256"
ld=$(sha256sum "$rt" | cut -d' ' -f1)
cp "$rt" "$w/blobs/sha256/$ld"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$ld" >"$w/c"
cd_=$(sha256sum "$w/c" | cut -d' ' -f1)
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
  "$cd_" "$(stat -c %s "$w/c")" "$ld" "$(stat -c %s "$rt")" >"$w/m"
mv "$w/c" "$w/blobs/sha256/$cd_"
md=$(sha256sum "$w/m" | cut -d' ' -f1)
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"docker.io/library/busybox:latest"}}]}' \
  "$md" "$(stat -c %s "$w/m")" >"$w/index.json"
mv "$w/m" "$w/blobs/sha256/$md"
echo '{"imageLayoutVersion":"1.0.0"}' >"$w/oci-layout"
tar -C "$w" -cf "$R/busybox-oci.tar" oci-layout index.json blobs
ctr -a "$D/c.sock" images import "$R/busybox-oci.tar" >/dev/null ||
  harness_bail "import busybox"

one() { # BINARY ID: ms for one ctr run --rm
  local t0 t1
  t0=$(date +%s%N)
  timeout 60 ctr -a "$D/c.sock" run --rm --runc-binary "$1" \
    --runc-root "$D/runc" --fifo-dir "$D/fifo" --cgroup "/moat-$HARNESS_NETNS/$2" \
    docker.io/library/busybox:latest "$2" true >/dev/null 2>"$R/run.err" || return 1
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }

# one warm-up each
one /usr/sbin/runc warm-r >/dev/null && one "$WRAP" warm-m >/dev/null ||
  harness_bail "a container starts" "$(cat "$R/run.err")"
: >"$R/runc.ms"
: >"$R/moat.ms"
for i in $(seq "$ROUNDS"); do
  one /usr/sbin/runc "r$i" >>"$R/runc.ms" || harness_bail "runc round $i" "$(cat "$R/run.err")"
  one "$WRAP" "m$i" >>"$R/moat.ms" || harness_bail "moat round $i" "$(cat "$R/run.err")"
done
mr=$(median <"$R/runc.ms")
mm=$(median <"$R/moat.ms")
ratio=$(awk -v a="$mm" -v b="$mr" 'BEGIN {printf "%.2f", a / b}')
echo "ctr run --rm busybox true, $ROUNDS rounds, median ms:"
echo "  runc       $mr"
echo "  moat-runc  $mm   (x$ratio; target <= 1.2)"
check "moat-runc start within 1.2x runc under the same containerd (x$ratio)" \
  awk -v r="$ratio" 'BEGIN {exit !(r <= 1.2)}'
harness_done
