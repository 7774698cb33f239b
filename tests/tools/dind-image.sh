#!/usr/bin/env bash
# dind-image.sh ENGINE_HOST [TAG]: a docker:dind-like image assembled from
# this host's Debian packages (docker.io's dockerd, containerd, the runc
# shim, runc, docker-proxy, docker-init; the docker CLI; busybox-static;
# iptables with its xtables modules) and the shared libraries they load
# (ldd), with VOLUME /var/lib/docker, imported into the engine at
# ENGINE_HOST as TAG (default moat-dind:test).  No network.
#
# The rootfs tarball is cached in build/cache/dind-rootfs.tar and made
# again when a source binary is newer.  The image also carries
# /busybox.tar (a busybox rootfs) so an inner engine can `docker import`
# an image without a registry.
#
# Entry point: /usr/local/bin/dind-entry [dockerd options]: execs dockerd
# on unix:///var/run/docker.sock with overlay2.
set -eu
engine=${1:?usage: dind-image.sh ENGINE_HOST [TAG]}
tag=${2:-moat-dind:test}
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$top/build/cache/dind-rootfs.tar

bins="/usr/sbin/dockerd /usr/bin/containerd /usr/bin/containerd-shim-runc-v2
/usr/sbin/runc /usr/sbin/docker-proxy /usr/bin/docker-init
/usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi"
cli=/usr/local/bin/docker
[ -x "$cli" ] || cli=/usr/bin/docker
xt=/usr/lib/x86_64-linux-gnu/xtables

stale=0
[ -s "$cache" ] || stale=1
for b in $bins $cli /bin/busybox "$0"; do
  [ "$stale" = 1 ] || [ ! "$b" -nt "$cache" ] || stale=1
done

if [ "$stale" = 1 ]; then
  mkdir -p "$(dirname "$cache")"
  dir=$(mktemp -d /tmp/moat-dind-rootfs.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
  mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,tmp,proc,sys,dev,run,root} \
    "$dir"/var/lib/docker "$dir$xt"
  chmod 1777 "$dir/tmp"
  ln -s ../run "$dir/var/run"
  cp /bin/busybox "$dir/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -s busybox "$dir/bin/$a"
  done
  for b in $bins; do cp "$b" "$dir$b"; done
  cp "$cli" "$dir/usr/local/bin/docker"
  cp -a "$xt"/. "$dir$xt"/
  for n in iptables iptables-save iptables-restore ip6tables ip6tables-save \
    ip6tables-restore; do
    ln -s xtables-nft-multi "$dir/usr/sbin/$n"
    ln -s xtables-legacy-multi "$dir/usr/sbin/$n-legacy"
  done
  # Debian's /lib, /lib64 (and /bin, /sbin when merged) are symlinks
  # into /usr: the same layout inside, made before libraries are copied.
  for l in /lib /lib64; do
    if [ -L "$l" ]; then
      mkdir -p "$dir/usr$l"
      ln -s "$(readlink "$l")" "$dir$l"
    fi
  done
  # Every library the binaries and the xtables modules load.
  for f in $bins "$xt"/*.so; do ldd "$f" 2>/dev/null || true; done |
    awk '/=> \//{print $3} /^[ \t]*\/[^ ]*ld-linux/{print $1}' | sort -u |
    while read -r lib; do
      mkdir -p "$dir$(dirname "$lib")"
      cp -L "$lib" "$dir$lib"
    done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$dir/etc/passwd"
  printf 'root:x:0:\ndocker:x:999:\n' >"$dir/etc/group"
  cat >"$dir/usr/local/bin/dind-entry" <<'EOF'
#!/bin/sh
# Start the inner engine (see tests/tools/dind-image.sh).
set -e
mkdir -p /var/lib/docker /run/docker
exec dockerd --host unix:///var/run/docker.sock --storage-driver overlay2 "$@"
EOF
  chmod 0755 "$dir/usr/local/bin/dind-entry"
  # A busybox rootfs for inner `docker import`.
  bb=$(mktemp -d /tmp/moat-dind-bb.XXXXXX)
  mkdir -p "$bb/bin" "$bb/etc" "$bb/tmp" "$bb/proc" "$bb/sys" "$bb/dev"
  cp /bin/busybox "$bb/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -s busybox "$bb/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$bb/etc/passwd"
  printf 'root:x:0:\n' >"$bb/etc/group"
  tar -C "$bb" -cf "$dir/busybox.tar" .
  rm -rf "$bb"
  tar -C "$dir" -cf "$cache.tmp.$$" . && mv "$cache.tmp.$$" "$cache"
fi

docker -H "$engine" import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'VOLUME /var/lib/docker' \
  -c 'ENTRYPOINT ["/usr/local/bin/dind-entry"]' \
  "$cache" "$tag" >/dev/null
