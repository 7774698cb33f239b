#!/usr/bin/env bash
# moat up / down / status against a private engine, driven with the real
# docker CLI: health, refusals, stale state, crash handling, an external
# engine, foreground mode, and a registry push/pull round trip.
. "$(dirname "$0")/../lib/harness.sh"
# This test is about the stack itself: talk to the raw engine throughout.
export HARNESS_DOCKER=engine

if grep -qa 'moatd: not built yet' "$MOAT_BUILD/moatd"; then
  echo "ok - stack # SKIP moatd is still the placeholder"
  exit 0
fi

stack_pid() { jq -r ".processes.$1.pid // empty" "$MOAT_ROOT/run/moat/stack.json" 2>/dev/null; }
alive() { [ -n "$1" ] && harness_start_time "$1" >/dev/null; }
in_netns() { nsenter --net="/run/netns/$HARNESS_NETNS" "$@"; }
netns_pids() { ip netns pids "$HARNESS_NETNS" | tr '\n' ' '; }

check_output "moat up --help documents options" MOAT_ENGINE_NETNS "$MOAT" up --help
for o in --engine --detach --bridge --bridge-ip --address-pool --runtime --timeout; do
  "$MOAT" up --help | grep -q -- "$o" || not_ok "moat up --help documents $o"
done
check_output "moat down --help" "start time" "$MOAT" down --help
check_output "moat status --help" "--json" "$MOAT" status --help

harness_init
t0=$(date +%s)
up_out=$(MOAT_ENGINE_NETNS=$HARNESS_NETNS "$MOAT" up -d 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -qx "DOCKER_HOST=unix://$MOAT_ROOT/run/moat/docker.sock" <<<"$up_out"; then
  ok "moat up -d prints the guarded DOCKER_HOST ($(($(date +%s) - t0)) s)"
else
  not_ok "moat up -d prints the guarded DOCKER_HOST" "$up_out"
  harness_logs
  harness_done
fi
export DOCKER_HOST=$MOAT_ENGINE_HOST
harness_busybox

dockerd=$(stack_pid dockerd)
moatd=$(stack_pid moatd)
check "stack.json records dockerd and moatd" alive "$dockerd"
alive "$moatd" || not_ok "moatd recorded and alive" "pid '$moatd'"
check "moat status exits 0 when healthy" "$MOAT" status
status=$("$MOAT" status --json)
if jq -e '.healthy == true and .engine.reachable == true and .moatd.reachable == true
          and .processes.dockerd.running == true and .processes.moatd.running == true' \
     <<<"$status" >/dev/null; then
  ok "moat status --json reports every component healthy"
else
  not_ok "moat status --json reports every component healthy" "$status"
fi
check_output "docker run against the engine" hi docker run --rm busybox echo hi
mode=$(stat -c %a "$MOAT_ROOT/run/moat/engine.sock")
[ "$mode" = 600 ] && ok "engine.sock has mode 0600" || not_ok "engine.sock has mode 0600" "mode $mode"
check_output "the private bridge exists in the engine's netns" 10.213.0.1/24 \
  ip -n "$HARNESS_NETNS" -br addr show dev moat0
if [ -z "$(ip -n "$HARNESS_NETNS" -4 route show default)" ]; then
  ok "the test engine's netns has no route out of the machine"
else
  not_ok "the test engine's netns has no route out of the machine" "$(ip -n "$HARNESS_NETNS" -4 route)"
fi
check "dockerd config never reads /etc/docker" \
  jq -e '.["deprecated-key-path"] | startswith(env.MOAT_ROOT)' "$MOAT_ROOT/run/moat/dockerd.json"

check_refused "a second moat up is refused" \
  "moat is already running (moatd pid $moatd, dockerd pid $dockerd); run \`moat down\` first" \
  env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up -d
alive "$dockerd" && alive "$moatd" && ok "the refused moat up left the stack running" \
  || not_ok "the refused moat up left the stack running"

# moat down stops exactly the recorded pids: a bystander survives.  A
# running container is stopped by dockerd and kept.
check "a container keeps running in the background" \
  docker run -d --name keeper --stop-timeout 2 busybox sleep 1000
bystander=$(harness_spawn bystander sleep 600)
check "moat down" "$MOAT" down
if ! alive "$dockerd" && ! alive "$moatd" && alive "$bystander"; then
  ok "moat down stopped exactly the recorded processes"
else
  not_ok "moat down stopped exactly the recorded processes" \
    "dockerd $dockerd alive=$(alive "$dockerd" && echo y) moatd $moatd alive=$(alive "$moatd" && echo y) bystander alive=$(alive "$bystander" && echo y)"
fi
[ -z "$(netns_pids)" ] && ok "nothing left running in the engine's netns" \
  || not_ok "nothing left running in the engine's netns" "$(netns_pids)"
check_fails "moat down removed the bridge" ip -n "$HARNESS_NETNS" link show moat0
[ ! -e "$MOAT_ROOT/run/moat/stack.json" ] && ok "moat down removed stack.json" \
  || not_ok "moat down removed stack.json"
check_output "moat down twice is harmless" "not running" "$MOAT" down
check_fails "moat status exits 1 when down" "$MOAT" status

# Stale pid file of a crashed run: reported, removed, not killed.
dead=$(sh -c 'echo $$')
echo "$dead" >"$MOAT_ROOT/run/moat/moatd.pid"
check_output "a stale pid file is cleaned up with a message" "stale pid file" \
  env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up -d
check_output "images are kept across down/up" busybox docker image ls busybox
check_output "containers are kept across down/up" keeper docker ps -a --filter name=keeper
"$MOAT" down >/dev/null 2>&1

# A pid file naming a live process moat did not record: refused, not killed.
echo "$bystander" >"$MOAT_ROOT/run/moat/dockerd.pid"
check_refused "a pid file naming a live unknown process is refused" \
  "names running process $bystander" env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up -d
alive "$bystander" && ok "that process was not signalled" || not_ok "that process was not signalled"
rm -f "$MOAT_ROOT/run/moat/dockerd.pid"

# Engine socket already in use by something moat did not start.
harness_spawn squatter socat UNIX-LISTEN:"$MOAT_ROOT/run/moat/engine.sock",fork /dev/null >/dev/null
for i in $(seq 50); do [ -S "$MOAT_ROOT/run/moat/engine.sock" ] && break; sleep 0.1; done
check_refused "an engine socket in use is refused" "is already in use" \
  env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up -d
harness_kill squatter
rm -f "$MOAT_ROOT/run/moat/engine.sock"

# Bridge taken: refused, the foreign bridge is left alone, nothing started.
ip -n "$HARNESS_NETNS" link add moat0 type bridge
check_refused "a bridge that exists is refused" "already exists" \
  env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up -d
check "the foreign interface was left alone" ip -n "$HARNESS_NETNS" link show moat0
ip -n "$HARNESS_NETNS" link del moat0
[ ! -e "$MOAT_ROOT/run/moat/stack.json" ] && [ -z "$(netns_pids)" ] \
  && ok "nothing half-started after a refused bridge" || not_ok "nothing half-started after a refused bridge"

# Addresses that overlap a route of the engine's network namespace.
check_refused "a bridge address overlapping a route is refused" "overlaps the route" \
  env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up -d --bridge-ip 127.0.5.1/24
check_refused "an address pool overlapping a route is refused" "choose another with --address-pool" \
  env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up -d --address-pool 127.0.0.0/16/24
[ ! -e "$MOAT_ROOT/run/moat/stack.json" ] && ! ip -n "$HARNESS_NETNS" link show moat0 >/dev/null 2>&1 \
  && ok "nothing half-started after refused addresses" || not_ok "nothing half-started after refused addresses"

# dockerd dying during startup: its log in the message, everything rolled back.
printf '#!/bin/sh\necho "fake dockerd: cannot start" >&2\nexit 3\n' >"$HARNESS_DIR/bad-dockerd"
chmod +x "$HARNESS_DIR/bad-dockerd"
check_refused "dockerd dying at startup is reported with its log" "fake dockerd: cannot start" \
  env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up -d --dockerd "$HARNESS_DIR/bad-dockerd"
if [ ! -e "$MOAT_ROOT/run/moat/stack.json" ] && ! ip -n "$HARNESS_NETNS" link show moat0 >/dev/null 2>&1; then
  ok "a failed dockerd start leaves no stack record and no bridge"
else
  not_ok "a failed dockerd start leaves no stack record and no bridge"
fi

# moatd dying at startup: dockerd is stopped again.
check_refused "moatd dying at startup is reported" "moatd exited during startup" \
  env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up -d --moatd /bin/false
[ -z "$(netns_pids)" ] && [ ! -e "$MOAT_ROOT/run/moat/stack.json" ] \
  && ok "a failed moatd start stops the dockerd it started" \
  || not_ok "a failed moatd start stops the dockerd it started" "$(netns_pids)"

# moatd refusing an invalid admin-settings.json: moat up says why, and the
# dockerd it started is stopped again.
printf '{"configurationFileVersion": 2, "enhancedContainerIsolaton": {"value": true, "locked": true}}\n' \
  >"$MOAT_ROOT/etc/moat/admin-settings.json"
check_refused "moat up shows why moatd refused the admin settings" 'did you mean "enhancedContainerIsolation"' \
  env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up -d
[ -z "$(netns_pids)" ] && [ ! -e "$MOAT_ROOT/run/moat/stack.json" ] \
  && ok "nothing half-started after moatd refused the settings" \
  || not_ok "nothing half-started after moatd refused the settings" "$(netns_pids)"
rm -f "$MOAT_ROOT/etc/moat/admin-settings.json"

# dockerd killed under a running stack: status says so, down cleans up.
harness_up
dockerd=$(stack_pid dockerd)
moatd=$(stack_pid moatd)
kill -KILL "$dockerd"
for i in $(seq 50); do alive "$dockerd" || break; sleep 0.1; done
st=$("$MOAT" status 2>&1)
if [ $? -eq 1 ] && grep -Eq "dockerd +pid $dockerd +not running" <<<"$st" && grep -q "NOT reachable" <<<"$st"; then
  ok "moat status reports a killed dockerd"
else
  not_ok "moat status reports a killed dockerd" "$st"
fi
check_output "moat down after a dockerd crash" "down" "$MOAT" down
if ! alive "$moatd" && [ -z "$(netns_pids)" ]; then
  ok "moat down after a crash stopped moatd and the orphaned containerd"
else
  not_ok "moat down after a crash stopped moatd and the orphaned containerd" "$(netns_pids)"
fi

# Crash of moat itself (record left, processes gone): next up cleans it.
harness_up
kill -KILL "$(stack_pid moatd)" "$(stack_pid dockerd)"
sleep 0.5
check_output "a crashed stack's record is cleaned up by the next up" "did not stop cleanly" \
  env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up -d
check "the stack is healthy again" "$MOAT" status

# --engine SOCKET: a second moat (own MOAT_ROOT) over this engine.
ext=$MOAT_ROOT/ext
mkdir -p "$ext"
check_output "moat up --engine SOCKET" DOCKER_HOST= env MOAT_ROOT="$ext" "$MOAT" up -d --engine "$MOAT_ENGINE_HOST"
harness_track ext-moatd "$(jq -r .processes.moatd.pid "$ext/run/moat/stack.json")"
if jq -e '.engine == "external" and (.processes | has("dockerd") | not)' "$ext/run/moat/stack.json" >/dev/null; then
  ok "--engine starts no dockerd"
else
  not_ok "--engine starts no dockerd" "$(cat "$ext/run/moat/stack.json")"
fi
check "moat status with --engine is healthy" env MOAT_ROOT="$ext" "$MOAT" status
check "moat down with --engine" env MOAT_ROOT="$ext" "$MOAT" down
check "the external engine still runs after that down" docker version
check_refused "--engine with a dead socket is refused" "does not answer" \
  env MOAT_ROOT="$ext" "$MOAT" up -d --engine "$ext/nothing.sock"
[ ! -e "$ext/run/moat/stack.json" ] && ok "nothing recorded after a refused --engine" \
  || not_ok "nothing recorded after a refused --engine"

# Registry round trip.
harness_registry
check "tag for the registry" docker tag busybox:latest "$REGISTRY/moat/busybox:t1"
check "docker push to the harness registry" docker push "$REGISTRY/moat/busybox:t1"
check "docker rmi" docker rmi "$REGISTRY/moat/busybox:t1"
check "docker pull from the harness registry" docker pull "$REGISTRY/moat/busybox:t1"
check_output "the pulled image runs" pulled docker run --rm "$REGISTRY/moat/busybox:t1" echo pulled

# Foreground mode: SIGTERM stops everything.
"$MOAT" down >/dev/null 2>&1
fg=$(harness_spawn moat-fg env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up)
for i in $(seq 100); do "$MOAT" status >/dev/null 2>&1 && break; sleep 0.2; done
check "moat up in the foreground becomes healthy" "$MOAT" status
dockerd=$(stack_pid dockerd)
kill -TERM "$fg"
for i in $(seq 150); do alive "$fg" || break; sleep 0.2; done
if ! alive "$fg" && ! alive "$dockerd" && [ ! -e "$MOAT_ROOT/run/moat/stack.json" ]; then
  ok "SIGTERM to a foreground moat up stops the stack"
else
  not_ok "SIGTERM to a foreground moat up stops the stack" "$(tail -5 "$HARNESS_DIR/moat-fg.log")"
fi

# Foreground moat up, stopped by `moat down` from elsewhere: exits 0.
fg=$(harness_spawn moat-fg2 env MOAT_ENGINE_NETNS="$HARNESS_NETNS" "$MOAT" up)
for i in $(seq 100); do "$MOAT" status >/dev/null 2>&1 && break; sleep 0.2; done
check "moat down stops a foreground moat up" "$MOAT" down
for i in $(seq 100); do alive "$fg" || break; sleep 0.1; done
wait "$fg" 2>/dev/null
if ! alive "$fg" && grep -q 'stopped by `moat down`' "$HARNESS_DIR/moat-fg2.log"; then
  ok "the foreground moat up took that as a requested stop"
else
  not_ok "the foreground moat up took that as a requested stop" "$(tail -5 "$HARNESS_DIR/moat-fg2.log")"
fi
harness_kill bystander

harness_done
