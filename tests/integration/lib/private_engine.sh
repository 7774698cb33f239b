# Private dockerd for tests and benchmarks: its own network namespace,
# data/exec roots and socket under $R, a moat-runc runtime that is plain runc
# for now, and a busybox:latest image imported from busybox-static.
# Source it, call engine_start, and call engine_stop from an EXIT trap.
# Needs: R (scratch dir), NS (netns name).  Sets: engine (socket path).

engine_start() {
  mkdir -p "$R/data" "$R/exec" "$R/run/moat"
  engine=$R/run/moat/engine.sock
  ip netns add "$NS" && ip -n "$NS" link set lo up || return 1
  cat >"$R/daemon.json" <<JSON
{"runtimes": {"moat-runc": {"path": "runc"}}}
JSON
  nsenter --net=/run/netns/$NS dockerd --data-root "$R/data" --exec-root "$R/exec" \
    --pidfile "$R/dockerd.pid" -H "unix://$engine" --config-file "$R/daemon.json" \
    --cgroup-parent "/moat-$NS" >"$R/dockerd.log" 2>&1 &
  for _ in $(seq 1 200); do
    DOCKER_HOST=unix://$engine docker version >/dev/null 2>&1 && break; sleep 0.1
  done
  DOCKER_HOST=unix://$engine docker version >/dev/null 2>&1 || return 1
  mkdir -p "$R/bb/bin" "$R/bb/tmp" "$R/bb/etc"
  cp /bin/busybox "$R/bb/bin/"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bb/bin/$a"; done
  tar -C "$R/bb" -c . | DOCKER_HOST=unix://$engine docker import - busybox:latest >/dev/null
}

engine_stop() {
  if [ -f "$R/dockerd.pid" ]; then
    local dp
    dp=$(cat "$R/dockerd.pid")
    kill "$dp" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$dp" 2>/dev/null || break; sleep 0.1; done
  fi
  ip netns del "$NS" 2>/dev/null
  # dockerd's cgroups under /moat-<netns> (empty once its containers are gone)
  for d in /sys/fs/cgroup/*/moat-"$NS" /sys/fs/cgroup/moat-"$NS"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  # dockerd leaves mounts under its roots
  grep -o " $R[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
}
