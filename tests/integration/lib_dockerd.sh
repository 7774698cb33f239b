# Private dockerd for integration tests; source it, then call dockerd_start.
#
#   dockerd_start NAME DAEMON_JSON   start dockerd in netns NAME with root $R
#   dockerd_stop                     stop it (also run from the EXIT trap)
#   d ARGS...                        the docker CLI against it
#   import_busybox                   busybox:latest from busybox-static
#
# Everything lives under $R (mktemp); the netns keeps its bridges and
# iptables rules away from the machine's.  Only processes started here are
# ended, by the pid in their pidfile.

R=${R:-$(mktemp -d /tmp/moat-it-XXXXXX)}
# moat-runc mounts container roots below $R: the containers' root users
# (unmapped on the host) must be able to traverse it.
chmod 0711 "$R"
NS=""

d() { docker -H "unix://$R/engine.sock" "$@"; }

dockerd_start() {
  NS=$1
  printf '%s\n' "$2" >"$R/daemon.json"
  mkdir -p "$R/data" "$R/exec"
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  nsenter --net="/run/netns/$NS" dockerd --data-root "$R/data" \
    --exec-root "$R/exec" --pidfile "$R/dockerd.pid" \
    -H "unix://$R/engine.sock" --config-file "$R/daemon.json" \
    --cgroup-parent "/moat-$NS" >"$R/dockerd.log" 2>&1 &
  for _ in $(seq 1 150); do
    d version >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "# dockerd did not start; log:"; sed 's/^/#   /' "$R/dockerd.log" | tail -30
  return 1
}

dockerd_stop() {
  local pid
  if [ -s "$R/dockerd.pid" ]; then
    pid=$(cat "$R/dockerd.pid")
    d ps -aq 2>/dev/null | xargs -r docker -H "unix://$R/engine.sock" rm -f >/dev/null 2>&1
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
  # dockerd's cgroups under /moat-<netns> (empty once its containers are gone)
  for d in /sys/fs/cgroup/*/moat-"$NS" /sys/fs/cgroup/moat-"$NS"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  # Mounts left under the root (dockerd's, moat-runc's) go before the dir.
  grep -o " $R/[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null
  done
  rm -rf "$R" 2>/dev/null || true
}

import_busybox() {
  local dir=$R/busybox-rootfs
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc" "$dir/root"
  cp /bin/busybox "$dir/bin/busybox"
  for a in $("$dir/bin/busybox" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$dir/bin/$a"
  done
  chmod 1777 "$dir/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
  echo 'root:x:0:' >"$dir/etc/group"
  tar -C "$dir" -c . | d import - busybox:latest >/dev/null
}
