# moat integration-test harness.  Source it from tests/integration/test_*.sh:
#
#   . "$(dirname "$0")/../lib/harness.sh"
#   harness_setup                 # private stack + busybox:latest
#   check "runs a container" docker run --rm busybox true
#   check_fails "host pid refused" docker run --rm --pid=host busybox true
#   harness_registry              # optional: $REGISTRY = 127.0.0.1:PORT
#   harness_done                  # summary; exit status 1 on any failure
#
# What harness_setup gives a test (all exported):
#   MOAT_BUILD      build dir with moat, moatd (default: <repo>/build; run.sh
#                   sets build/san)
#   MOAT            $MOAT_BUILD/moat
#   MOAT_ROOT       private root (mktemp under /tmp, root-owned, 0755); every
#                   moat path lives under it
#   HARNESS_NETNS   private network namespace the engine runs in (its bridge,
#                   iptables rules and the registry stay there)
#   MOAT_ENGINE_HOST  unix://$MOAT_ROOT/run/moat/engine.sock (raw engine)
#   MOAT_GUARD_HOST   unix://$MOAT_ROOT/run/moat/docker.sock (guarded API)
#   DOCKER_HOST     what the docker CLI in tests talks to: the guarded socket
#                   when moatd serves it, else the raw engine.  Force with
#                   HARNESS_DOCKER=engine|guard before harness_setup.
#   HARNESS_DIR     $MOAT_ROOT/harness: logs, pid files, scratch space
#
# To write admin settings before moat starts, call harness_init, write
# $MOAT_ROOT/etc/moat/admin-settings.json, then harness_up and
# harness_busybox (harness_setup is exactly those three).
#
# Processes a test starts itself go through harness_spawn / harness_spawn_netns
# so teardown can end them by PID.  Teardown (trap EXIT, idempotent, runs even
# when a test fails or is interrupted): moat down, end every harness PID
# (start time checked), end what is left in the private netns, unmount
# anything under MOAT_ROOT, delete the netns and cgroups, remove MOAT_ROOT.

set -u

HARNESS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export MOAT_BUILD=${MOAT_BUILD:-$HARNESS_TOP/build}
export MOAT=$MOAT_BUILD/moat
HARNESS_PASSED=0
HARNESS_FAILED=0
HARNESS_SKIPPED=0
HARNESS_TORN_DOWN=0
HARNESS_NETNS=
HARNESS_DIR=

# ---- reporting ----

ok() {
  echo "ok - $1"
  HARNESS_PASSED=$((HARNESS_PASSED + 1))
}

# skip NAME REASON: a check that could not run here (TAP "# SKIP"); counted
# apart from pass and fail by harness_done and tests/run.sh.
skip() {
  echo "ok - $1 # SKIP ${2:-}"
  HARNESS_SKIPPED=$((HARNESS_SKIPPED + 1))
}

# not_ok NAME [MSG...]: MSG lines are printed as "# " diagnostics.
not_ok() {
  local name=$1
  shift
  echo "not ok - $name"
  if [ $# -gt 0 ]; then printf '%s\n' "$*" | sed 's/^/# /'; fi
  HARNESS_FAILED=$((HARNESS_FAILED + 1))
}

# check NAME CMD...: ok when CMD exits 0; its output is shown on failure.
check() {
  local name=$1 out rc
  shift
  out=$("$@" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then ok "$name"; else not_ok "$name" "exit $rc: $*" "$(printf '%s' "$out" | tail -15)"; fi
  return $rc
}

# check_fails NAME CMD...: ok when CMD fails (a forbidden thing stays
# forbidden).
check_fails() {
  local name=$1 out rc
  shift
  out=$("$@" 2>&1)
  rc=$?
  if [ $rc -ne 0 ]; then ok "$name"; return 0; fi
  not_ok "$name" "unexpectedly succeeded: $*" "$(printf '%s' "$out" | tail -15)"
  return 1
}

# check_refused NAME TEXT CMD...: ok when CMD fails and its output contains
# TEXT (fixed string), e.g. a contract refusal message.
check_refused() {
  local name=$1 text=$2 out rc
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && grep -qF -- "$text" <<<"$out"; then ok "$name"; return 0; fi
  not_ok "$name" "exit $rc, expected failure saying: $text" "$(printf '%s' "$out" | tail -15)"
  return 1
}

# check_output NAME TEXT CMD...: ok when CMD succeeds and prints TEXT.
check_output() {
  local name=$1 text=$2 out rc
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  if [ $rc -eq 0 ] && grep -qF -- "$text" <<<"$out"; then ok "$name"; return 0; fi
  not_ok "$name" "exit $rc, expected output containing: $text" "$(printf '%s' "$out" | tail -15)"
  return 1
}

harness_diag() { printf '%s\n' "$*" | sed 's/^/# /'; }

harness_done() {
  echo "# $HARNESS_PASSED passed, $HARNESS_FAILED failed, $HARNESS_SKIPPED skipped"
  [ "$HARNESS_FAILED" -eq 0 ] && exit 0
  exit 1
}

# harness_docker_user PREFIX: a real non-root user of the group the guarded
# socket allows, made now and removed at teardown (appended to
# HARNESS_EXTRA_CLEANUP).  Sets TUSER, TUID, TGID and UHOME (its home, in
# HARNESS_DIR); as_user CMD... runs CMD as that user against the guard.
harness_docker_user() {
  local sock_group
  sock_group=$(stat -c %G "$MOAT_ROOT/run/moat/docker.sock")
  TUSER=$1${MOAT_ROOT##*-}
  TUSER=${TUSER,,}
  useradd --no-create-home --shell /usr/sbin/nologin --user-group \
    --groups "$sock_group" "$TUSER" >/dev/null 2>&1 ||
    harness_bail "create test user $TUSER" "useradd failed (group $sock_group)"
  HARNESS_EXTRA_CLEANUP="${HARNESS_EXTRA_CLEANUP:+$HARNESS_EXTRA_CLEANUP; }userdel $TUSER >/dev/null 2>&1; groupdel $TUSER >/dev/null 2>&1"
  TUID=$(id -u "$TUSER")
  TGID=$(id -g "$TUSER")
  UHOME=$HARNESS_DIR/home-$TUSER
  mkdir -p "$UHOME" && chown "$TUSER:$TUSER" "$UHOME"
  harness_diag "test user $TUSER uid=$TUID gid=$TGID, socket group $sock_group"
}
as_user() {
  setpriv --reuid="$TUID" --regid="$TGID" --init-groups \
    env HOME="$UHOME" DOCKER_HOST="$MOAT_GUARD_HOST" "$@"
}

# harness_free_port: a loopback TCP port nothing listens on now (tests run
# side by side), in `port`; `base` is http://127.0.0.1:$port.
harness_free_port() {
  local p
  port=
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    ss -Htln "sport = :$p" | grep -q . || { port=$p; break; }
  done
  [ -n "$port" ] || harness_bail "a free port"
  base=http://127.0.0.1:$port
}

# harness_eci_stack: harness_up with ECI locked on and /tmp the shared
# directory (what most ECI tests start from), busybox loaded; sets E (the
# refusal prefix) and gsock (the guarded socket).
harness_eci_stack() {
  cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "filesharingDirectories": {"locked": true, "value": ["/tmp"]}}
EOJ
  harness_up
  harness_busybox
  gsock=$MOAT_ROOT/run/moat/docker.sock
  E='enhanced container isolation: '
}

# harness_two_users PREFIX_A PREFIX_B: users A and B by harness_docker_user;
# sets AUID AGID AHOME and BUID BGID BHOME; as_a / as_b CMD... run CMD as
# each against the guard.
harness_two_users() {
  harness_docker_user "$1"
  AUID=$TUID AGID=$TGID AHOME=$UHOME
  harness_docker_user "$2"
  BUID=$TUID BGID=$TGID BHOME=$UHOME
}
as_a() { TUID=$AUID TGID=$AGID UHOME=$AHOME as_user "$@"; }
as_b() { TUID=$BUID TGID=$BGID UHOME=$BHOME as_user "$@"; }

# harness_bail NAME [MSG]: report NAME failed and end the test (teardown
# still runs).
harness_bail() {
  not_ok "${1:-harness}" "${2:-}"
  harness_done
}

# ---- processes ----

# Start time of a pid (field 22 of /proc/PID/stat), empty if gone.
harness_start_time() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  [ "$1" = Z ] && return 1
  echo "${20}"
}

# Record a pid started by the harness or a test (teardown ends it).
harness_track() {
  local name=$1 pid=$2 t
  t=$(harness_start_time "$pid") || t=0
  echo "$pid $t" >"$HARNESS_DIR/pids/$name.pid"
}

# harness_spawn NAME CMD...: run CMD in the background, log to
# $HARNESS_DIR/NAME.log, track its pid; prints the pid.
harness_spawn() {
  local name=$1 pid
  shift
  "$@" </dev/null >"$HARNESS_DIR/$name.log" 2>&1 &
  pid=$!
  harness_track "$name" "$pid"
  echo "$pid"
}

# harness_spawn_netns NAME CMD...: the same, inside the private netns
# (nsenter execs CMD, so the pid is CMD's).
harness_spawn_netns() {
  local name=$1
  shift
  harness_spawn "$name" nsenter --net="/run/netns/$HARNESS_NETNS" "$@"
}

# harness_kill NAME: end a tracked process (SIGTERM, then SIGKILL after 5 s)
# if its pid still has the recorded start time.
harness_kill() {
  local f=$HARNESS_DIR/pids/$1.pid pid t now i
  [ -f "$f" ] || return 0
  read -r pid t <"$f"
  now=$(harness_start_time "$pid") || { rm -f "$f"; return 0; }
  if [ "$now" != "$t" ]; then rm -f "$f"; return 0; fi
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 50); do
    harness_start_time "$pid" >/dev/null || break
    sleep 0.1
  done
  if now=$(harness_start_time "$pid") && [ "$now" = "$t" ]; then
    kill -KILL "$pid" 2>/dev/null
    sleep 0.2
  fi
  wait "$pid" 2>/dev/null
  rm -f "$f"
}

# ---- setup ----

harness_init() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "not ok - harness needs root"
    exit 1
  fi
  for b in "$MOAT" "$MOAT_BUILD/moatd"; do
    [ -x "$b" ] || harness_bail "harness: build" "$b is missing; run make"
  done
  trap harness_teardown EXIT
  trap 'exit 130' INT TERM HUP
  MOAT_ROOT=$(mktemp -d /tmp/moat-test-XXXXXX) || harness_bail "harness: mktemp"
  export MOAT_ROOT
  chown root:root "$MOAT_ROOT"
  chmod 0755 "$MOAT_ROOT"
  export HARNESS_DIR=$MOAT_ROOT/harness
  mkdir -p "$HARNESS_DIR/pids" "$MOAT_ROOT/etc/moat"
  HARNESS_NETNS=moat-t-${MOAT_ROOT##*-}
  export HARNESS_NETNS
  echo "$HARNESS_NETNS" >"$HARNESS_DIR/netns"
  ip netns add "$HARNESS_NETNS" || harness_bail "harness: netns" "ip netns add failed"
  ip -n "$HARNESS_NETNS" link set lo up
  export MOAT_ENGINE_HOST=unix://$MOAT_ROOT/run/moat/engine.sock
  export MOAT_GUARD_HOST=unix://$MOAT_ROOT/run/moat/docker.sock
  harness_diag "MOAT_ROOT=$MOAT_ROOT netns=$HARNESS_NETNS build=$MOAT_BUILD"
}

# Print a component's log tail as diagnostics.
harness_logs() {
  local f
  for f in "$MOAT_ROOT"/var/log/moat/*.log; do
    [ -f "$f" ] || continue
    echo "# --- $f"
    tail -"${1:-20}" "$f" | sed 's/^/# /'
  done
}

# harness_up [moat up options]: moat up -d in the private netns.
harness_up() {
  local out
  # The dashboard is off unless a test names a port (tests run side by
  # side; a later --dashboard-port in "$@" wins).
  out=$(MOAT_ENGINE_NETNS=$HARNESS_NETNS "$MOAT" up -d \
    --dashboard-port "${HARNESS_DASHBOARD_PORT:-0}" "$@" 2>&1)
  if [ $? -ne 0 ]; then
    not_ok "harness: moat up" "$out"
    harness_logs
    harness_done
  fi
  case "${HARNESS_DOCKER:-auto}" in
    engine) DOCKER_HOST=$MOAT_ENGINE_HOST ;;
    guard) DOCKER_HOST=$MOAT_GUARD_HOST ;;
    *)
      if [ -S "$MOAT_ROOT/run/moat/docker.sock" ]; then
        DOCKER_HOST=$MOAT_GUARD_HOST
      else
        DOCKER_HOST=$MOAT_ENGINE_HOST
      fi ;;
  esac
  export DOCKER_HOST
}

# harness_engine [DAEMON_JSON]: a plain dockerd, without the rest of moat's
# stack, for tests of one component (moat-runc, the guard, the net guard)
# against a real engine.  It runs in the private netns with data and exec
# roots $HARNESS_DIR/data and $HARNESS_DIR/exec, socket $MOAT_ENGINE_HOST,
# cgroup parent /moat-$HARNESS_NETNS (teardown ends what is left in it),
# config DAEMON_JSON (default {}) in $HARNESS_DIR/daemon.json; its log is
# $HARNESS_DIR/dockerd.log.  dockerd inherits the caller's environment
# (PATH=... harness_engine '{}' puts a runc of the test's first).  Sets
# DOCKER_HOST to the engine; d ARGS... is the docker CLI against it.
harness_engine() {
  local sock=${MOAT_ENGINE_HOST#unix://} i
  printf '%s\n' "${1:-{\}}" >"$HARNESS_DIR/daemon.json"
  mkdir -p "$HARNESS_DIR/data" "$HARNESS_DIR/exec" "$(dirname "$sock")"
  harness_spawn_netns dockerd dockerd --data-root "$HARNESS_DIR/data" \
    --exec-root "$HARNESS_DIR/exec" --pidfile "$HARNESS_DIR/dockerd.pid" \
    -H "$MOAT_ENGINE_HOST" --config-file "$HARNESS_DIR/daemon.json" \
    --cgroup-parent "/moat-$HARNESS_NETNS" >/dev/null
  export DOCKER_HOST=$MOAT_ENGINE_HOST
  for i in $(seq 300); do
    docker -H "$MOAT_ENGINE_HOST" version >/dev/null 2>&1 && return 0
    harness_start_time "$(cut -d' ' -f1 "$HARNESS_DIR/pids/dockerd.pid")" >/dev/null || break
    sleep 0.2
  done
  harness_bail "harness: dockerd starts" "$(tail -20 "$HARNESS_DIR/dockerd.log")"
}
d() { docker -H "$MOAT_ENGINE_HOST" "$@"; }

# busybox:latest from busybox-static (applets as symlinks, /etc/passwd with
# root, /tmp 1777), imported through the raw engine; the rootfs tarball is
# cached in build/cache, and unpacked in $HARNESS_DIR/busybox-rootfs for
# tests that build images of their own from it.
harness_busybox() {
  local cache=$HARNESS_TOP/build/cache/busybox-rootfs.tar
  harness_busybox_tar
  mkdir -p "$HARNESS_DIR/busybox-rootfs"
  tar -C "$HARNESS_DIR/busybox-rootfs" -xf "$cache"
  if ! docker -H "$MOAT_ENGINE_HOST" import -c 'ENV PATH=/bin' "$cache" busybox:latest >/dev/null 2>"$HARNESS_DIR/import.err"; then
    harness_bail "harness: import busybox" "$(cat "$HARNESS_DIR/import.err")"
  fi
}

# harness_busybox_tar: only the cached rootfs tarball
# (build/cache/busybox-rootfs.tar), for tests without a Docker engine.
harness_busybox_tar() {
  local cache=$HARNESS_TOP/build/cache/busybox-rootfs.tar dir a
  if [ ! -s "$cache" ] || [ /bin/busybox -nt "$cache" ] ||
    [ "${BASH_SOURCE[0]}" -nt "$cache" ]; then
    mkdir -p "$(dirname "$cache")"
    dir=$(mktemp -d "$HARNESS_DIR/rootfs.XXXXXX")
    mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/root"
    chmod 0755 "$dir"
    chmod 1777 "$dir/tmp"
    cp /bin/busybox "$dir/bin/busybox"
    for a in $(/bin/busybox --list); do
      [ "$a" = busybox ] || ln -s busybox "$dir/bin/$a"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
    echo 'root:x:0:' >"$dir/etc/group"
    tar -C "$dir" -cf "$cache.tmp.$$" . && mv "$cache.tmp.$$" "$cache"
    rm -rf "$dir"
  fi
}

# check_guard_refused NAME DST OUT BEFORE: the container's connection to
# DST (made by `printf ... | nc ...; echo nc-exit=$?`, output OUT) was
# refused by the net guard, and for no other reason: nc ran and got no
# reply (the guard resets the connection; busybox nc may still exit 0),
# nothing says the attempt itself broke (a missing image or applet, a
# container that did not start), and the guard audited one more refusal
# of DST than BEFORE.  The test defines `refusals DST`, which prints how
# many refusals of DST its audit holds.  Any other failure is not a
# refusal.
check_guard_refused() {
  local name=$1 dst=$2 out=$3 before=$4 n=0 i
  for i in $(seq 25); do
    n=$(refusals "$dst")
    [ "${n:-0}" -gt "$before" ] && break
    sleep 0.2
  done
  if ! grep -qE '^nc-exit=[01]$' <<<"$out"; then
    not_ok "$name" "nc did not run" "$out"
  elif grep -qE 'hello from S|^HTTP/' <<<"$out"; then
    not_ok "$name" "the server answered" "$out"
  elif grep -qE ': not found|Unable to find image|Error response from daemon|Cannot connect|docker: ' <<<"$out"; then
    not_ok "$name" "the attempt did not run as written" "$out"
  elif [ "${n:-0}" -le "$before" ]; then
    not_ok "$name" "no refusal of $dst audited (before: $before, now: ${n:-0})" "$out"
  else
    ok "$name"
  fi
}

# harness_probe_image: import `probe:latest`, busybox plus the static
# tests/tools net-probe at /bin/net-probe (after harness_busybox).
harness_probe_image() {
  local probe=$MOAT_BUILD/tests/net-probe
  [ -x "$probe" ] || probe=$HARNESS_TOP/build/tests/net-probe
  [ -x "$probe" ] || harness_bail "net-probe" "build it with make tests"
  cp "$HARNESS_TOP/build/cache/busybox-rootfs.tar" "$HARNESS_DIR/probe.tar"
  mkdir -p "$HARNESS_DIR/pr/bin" && cp "$probe" "$HARNESS_DIR/pr/bin/net-probe"
  tar -C "$HARNESS_DIR/pr" -rf "$HARNESS_DIR/probe.tar" ./bin/net-probe
  docker -H "$MOAT_ENGINE_HOST" import -c 'ENV PATH=/bin' "$HARNESS_DIR/probe.tar" probe:latest >/dev/null ||
    harness_bail "import the probe image" "docker import failed"
}

# harness_airgap_settings [EXCLUDE-JSON-LIST]: admin-settings.json for an
# air-gapped test (before harness_up): ECI locked on, every TCP port
# intercepted (transparentPorts "*"), no proxy, the exclude list given
# (default []).  Written to a temp file and renamed, 0644.
harness_airgap_settings() {
  local adm=$MOAT_ROOT/etc/moat/admin-settings.json
  mkdir -p "$MOAT_ROOT/etc/moat"
  cat >"$adm.new" <<J
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true},
 "containersProxy": {"locked": true, "mode": "manual", "http": "", "https": "",
                     "exclude": ${1:-[]}, "transparentPorts": "*"}}
J
  chmod 0644 "$adm.new" && mv "$adm.new" "$adm"
}

# harness_peer_netns NET HOST... [-6 NET6 HOST6...]: a test host namespace
# of the test's own behind the engine's, for servers containers must (not)
# reach; its name in HARNESS_PEER_NETNS (moat-s-<id>), deleted at teardown.
# A veth pair joins them: hs0 in $HARNESS_NETNS with NET.1/24, s0 in the
# peer with NET.HOST/24 for each HOST; the peer's default route is NET.1,
# and the engine's namespace forwards.  First, in the machine's own
# namespace, NET.0/24 becomes a blackhole (a route of this run's own, its
# pid as the metric, removed at teardown), so a connection made from the
# wrong namespace fails here instead of leaving the machine.  With -6: the
# same for NET6::/64 (hs0 NET6::1, s0 NET6::HOST6..., nodad; IPv6
# forwarding on).  Call after harness_init: harness_peer_netns 10.78.0 2 5
harness_peer_netns() {
  local net=$1 net6= s h=$HARNESS_NETNS a
  local -a hosts=() hosts6=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -6 ]; do hosts+=("$1"); shift; done
  if [ "${1:-}" = -6 ]; then
    net6=$2; shift 2
    hosts6=("$@")
  fi
  s=moat-s-${HARNESS_NETNS#moat-t-}
  HARNESS_PEER_NETNS=$s
  ip route add blackhole "$net.0/24" metric $$ ||
    harness_bail "blackhole route" "cannot add the safety-net route $net.0/24"
  HARNESS_EXTRA_CLEANUP="${HARNESS_EXTRA_CLEANUP:+$HARNESS_EXTRA_CLEANUP; }ip route del blackhole $net.0/24 metric $$ 2>/dev/null"
  if [ -n "$net6" ]; then
    ip -6 route add blackhole "$net6::/64" metric $$ ||
      harness_bail "blackhole route" "cannot add the safety-net route $net6::/64"
    HARNESS_EXTRA_CLEANUP="$HARNESS_EXTRA_CLEANUP; ip -6 route del blackhole $net6::/64 metric $$ 2>/dev/null"
  fi
  export HARNESS_EXTRA_CLEANUP
  ip netns add "$s" || harness_bail "peer netns" "ip netns add $s failed"
  HARNESS_EXTRA_NETNS="${HARNESS_EXTRA_NETNS:+$HARNESS_EXTRA_NETNS }$s"
  export HARNESS_EXTRA_NETNS
  { ip -n "$s" link set lo up &&
    ip link add "${s: -8}x" netns "$s" type veth peer name "${s: -8}y" netns "$h" &&
    ip -n "$s" link set "${s: -8}x" name s0 &&
    ip -n "$h" link set "${s: -8}y" name hs0 &&
    ip -n "$h" addr add "$net.1/24" dev hs0; } ||
    harness_bail "peer netns" "veth between $h and $s"
  for a in "${hosts[@]}"; do
    ip -n "$s" addr add "$net.$a/24" dev s0 || harness_bail "peer netns" "address $net.$a"
  done
  if [ -n "$net6" ]; then
    ip -n "$h" addr add "$net6::1/64" dev hs0 nodad || harness_bail "peer netns" "address $net6::1"
    for a in "${hosts6[@]}"; do
      ip -n "$s" addr add "$net6::$a/64" dev s0 nodad || harness_bail "peer netns" "address $net6::$a"
    done
  fi
  { ip -n "$h" link set hs0 up && ip -n "$s" link set s0 up &&
    ip -n "$s" route add default via "$net.1" &&
    ip netns exec "$h" sysctl -qw net.ipv4.ip_forward=1; } ||
    harness_bail "peer netns" "routes and forwarding"
  if [ -n "$net6" ]; then
    { ip -n "$s" -6 route add default via "$net6::1" &&
      ip netns exec "$h" sysctl -qw net.ipv6.conf.all.forwarding=1; } ||
      harness_bail "peer netns" "IPv6 route and forwarding"
  fi
}

harness_setup() {
  harness_init
  harness_up "$@"
  harness_busybox
}

# harness_registry: Debian's docker-registry on 127.0.0.1:<free port> inside
# the private netns (dockerd pulls from its own netns's loopback), storage
# under MOAT_ROOT.  Exports REGISTRY=127.0.0.1:PORT.
harness_registry() {
  local port cfg=$HARNESS_DIR/registry.yml i
  port=$(nsenter --net="/run/netns/$HARNESS_NETNS" /usr/bin/python3 -c \
    'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  [ -n "$port" ] || harness_bail "harness: registry" "no free port"
  mkdir -p "$HARNESS_DIR/registry"
  cat >"$cfg" <<EOC
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $HARNESS_DIR/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOC
  harness_spawn_netns registry /usr/bin/docker-registry serve "$cfg" >/dev/null
  for i in $(seq 100); do
    if nsenter --net="/run/netns/$HARNESS_NETNS" curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
      export REGISTRY=127.0.0.1:$port
      return 0
    fi
    sleep 0.1
  done
  harness_bail "harness: registry" "docker-registry did not answer: $(tail -5 "$HARNESS_DIR/registry.log")"
}

# ---- teardown ----

# The engine's cgroup directories: /moat-<netns> in every hierarchy (cgroup
# v1 controllers, v2 unified).
harness_cgroup_dirs() {
  local d
  [ -n "$HARNESS_NETNS" ] || return 0
  for d in /sys/fs/cgroup/*/moat-"$HARNESS_NETNS" /sys/fs/cgroup/moat-"$HARNESS_NETNS"; do
    [ -d "$d" ] && echo "$d"
  done
}

# Pids in the engine's cgroups, at any depth.
harness_cgroup_pids() {
  local d
  harness_cgroup_dirs | while read -r d; do
    find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -un
}

# End every process left in the engine's cgroups (containers, shims' `runc
# init`): thaw frozen (paused) ones so SIGKILL is delivered, SIGKILL by pid,
# wait up to 10 s for the cgroups to empty, then remove them.
harness_cgroup_reap() {
  local pids i d
  pids=$(harness_cgroup_pids)
  if [ -n "$pids" ]; then
    harness_diag "teardown: ending leftover pids in cgroups /moat-$HARNESS_NETNS: $(echo $pids)"
    for d in $(harness_cgroup_dirs); do
      find "$d" -name freezer.state 2>/dev/null | while read -r f; do echo THAWED >"$f"; done 2>/dev/null
      find "$d" -name cgroup.freeze 2>/dev/null | while read -r f; do echo 0 >"$f"; done 2>/dev/null
    done
    for i in $(seq 50); do
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null
      sleep 0.2
      pids=$(harness_cgroup_pids)
      [ -z "$pids" ] && break
    done
    [ -z "$pids" ] || harness_diag "teardown: pids still in /moat-$HARNESS_NETNS: $(echo $pids)"
  fi
  for d in $(harness_cgroup_dirs); do
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
}

harness_teardown() {
  local rc=$? f name pid t now pids m d
  [ "$HARNESS_TORN_DOWN" = 1 ] && return
  HARNESS_TORN_DOWN=1
  set +e # a caller's set -e must not cut teardown short
  trap - EXIT INT TERM HUP
  [ -n "${MOAT_ROOT:-}" ] && [ -d "$MOAT_ROOT" ] || exit $rc

  # 1. moat down (stops moatd, dockerd, containerd by PID); a plain engine
  #    (harness_engine) first removes its containers.
  if [ -f "$HARNESS_DIR/pids/dockerd.pid" ]; then
    timeout 60 docker -H "$MOAT_ENGINE_HOST" ps -aq 2>/dev/null |
      xargs -r timeout 60 docker -H "$MOAT_ENGINE_HOST" rm -f >/dev/null 2>&1
  fi
  if [ -f "$MOAT_ROOT/run/moat/stack.json" ]; then
    timeout 120 "$MOAT" down >"$HARNESS_DIR/down.log" 2>&1 \
      || harness_diag "teardown: moat down failed: $(tail -5 "$HARNESS_DIR/down.log")"
  fi
  # 2. If moat down could not, the processes stack.json names (start time
  #    checked), then everything the harness tracked.
  if [ -f "$MOAT_ROOT/run/moat/stack.json" ]; then
    jq -r '.processes | to_entries[] | "\(.key) \(.value.pid) \(.value.start_time)"' \
      "$MOAT_ROOT/run/moat/stack.json" 2>/dev/null |
      while read -r name pid t; do
        echo "$pid $t" >"$HARNESS_DIR/pids/stack-$name.pid"
      done
  fi
  for f in "$HARNESS_DIR"/pids/*.pid; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .pid)
    harness_kill "$name"
  done
  # 3. Anything still running in the private netns was started through it
  #    (dockerd, shims): ours by construction.
  if [ -n "$HARNESS_NETNS" ] && [ -e "/run/netns/$HARNESS_NETNS" ]; then
    pids=$(ip netns pids "$HARNESS_NETNS" 2>/dev/null)
    if [ -n "$pids" ]; then
      harness_diag "teardown: ending leftover pids in netns $HARNESS_NETNS: $pids"
      # shellcheck disable=SC2086
      kill -TERM $pids 2>/dev/null
      sleep 1
      pids=$(ip netns pids "$HARNESS_NETNS" 2>/dev/null)
      # shellcheck disable=SC2086
      [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
    fi
  fi
  #    Container processes (and a `runc init` that never finished) live in
  #    their own netns but in the cgroups the test's engine made under
  #    /moat-<netns> (cgroup parent): ours too.
  harness_cgroup_reap
  # 4. Mounts under MOAT_ROOT (overlay, netns bind mounts), deepest first.
  for i in 1 2 3; do
    m=$(findmnt -rn -o TARGET | grep -F "$MOAT_ROOT/" | sort -r)
    [ -z "$m" ] && break
    while read -r d; do
      umount -R "$d" 2>/dev/null || umount -l "$d" 2>/dev/null
    done <<<"$m"
  done
  # 5. netns (the test's extra ones in HARNESS_EXTRA_NETNS too), cgroups
  #    dockerd made under /moat-<netns>, the root.
  for d in ${HARNESS_EXTRA_NETNS:-}; do ip netns del "$d" 2>/dev/null; done
  [ -n "${HARNESS_EXTRA_CLEANUP:-}" ] && eval "$HARNESS_EXTRA_CLEANUP"
  if [ -n "$HARNESS_NETNS" ]; then
    ip netns del "$HARNESS_NETNS" 2>/dev/null
    harness_cgroup_reap
  fi
  if [ -z "$(findmnt -rn -o TARGET | grep -F "$MOAT_ROOT/")" ]; then
    rm -rf --one-file-system "$MOAT_ROOT"
  else
    harness_diag "teardown: mounts remain under $MOAT_ROOT; not removing it"
  fi
  exit $rc
}
