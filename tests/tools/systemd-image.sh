#!/usr/bin/env bash
# systemd-image.sh ENGINE_HOST [TAG]: a Debian 12 image with systemd as
# /sbin/init, made by `debootstrap --variant=minbase bookworm` from the
# Debian mirror this host's apt uses, plus the packages in $pkgs, imported
# into the engine at ENGINE_HOST as TAG (default moat-systemd:test).
#
# The rootfs tarball is cached as
# ${MOAT_TEST_CACHE:-build/cache}/systemd-rootfs-<key>.tar, key = a hash of
# the suite, mirror, package list and $recipe (bump it when the rootfs
# steps below change): the first run pays the download and install (1 to 8
# minutes on the 2-core VMs), later runs and later tests reuse it.  Set
# MOAT_SYSTEMD_MIRROR to use another mirror.  `docker import` takes no
# STOPSIGNAL: run it with --stop-signal SIGRTMIN+3 (systemd's halt).
set -eu
engine=${1:?usage: systemd-image.sh ENGINE_HOST [TAG]}
tag=${2:-moat-systemd:test}
top=$(cd "$(dirname "$0")/../.." && pwd)
suite=bookworm
pkgs=systemd,systemd-sysv
recipe=1

# The mirror apt uses here (deb822 URIs: or a one-line `deb URL bookworm`).
mirror=${MOAT_SYSTEMD_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
    /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk -v s="$suite" '
      /^URIs:/ { u = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s && u != "") { print u; exit } }
      /^deb / { for (i = 2; i <= NF; i++) if ($i == s) { print $(i - 1); exit } }')
  mirror=${mirror:-http://deb.debian.org/debian}
fi

cache_dir=${MOAT_TEST_CACHE:-$top/build/cache}
key=$(printf '%s\n' "$suite" "$mirror" "$pkgs" "$recipe" | sha256sum | cut -c1-16)
cache=$cache_dir/systemd-rootfs-$key.tar

if [ ! -s "$cache" ]; then
  command -v debootstrap >/dev/null ||
    { echo "systemd-image.sh: debootstrap is not installed (scripts/install-deps)" >&2; exit 1; }
  mkdir -p "$cache_dir"
  dir=$(mktemp -d /tmp/moat-systemd-rootfs.XXXXXX)
  # debootstrap mounts proc/sys in the target while it runs: unmount
  # whatever is left below $dir (deepest first) before removing it.
  cleanup() {
    awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
      sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$dir"
  }
  trap cleanup EXIT
  if ! debootstrap --variant=minbase --include="$pkgs" "$suite" "$dir/root" \
    "$mirror" >"$dir/debootstrap.log" 2>&1; then
    tail -20 "$dir/debootstrap.log" >&2
    [ -f "$dir/root/debootstrap/debootstrap.log" ] &&
      tail -20 "$dir/root/debootstrap/debootstrap.log" >&2
    exit 1
  fi
  r=$dir/root
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*
  # An empty machine-id: systemd makes a fresh one at each boot.
  : >"$r/etc/machine-id"
  # No getty on a container without a tty; no udev trigger loops.
  for u in getty@tty1.service console-getty.service; do
    ln -sf /dev/null "$r/etc/systemd/system/$u"
  done
  echo moat-systemd >"$r/etc/hostname"
  tar --numeric-owner --xattrs -C "$r" -cf "$cache.tmp.$$" . &&
    mv "$cache.tmp.$$" "$cache"
fi

docker -H "$engine" import \
  -c 'ENV container=docker' \
  -c 'CMD ["/sbin/init"]' \
  "$cache" "$tag" >/dev/null
