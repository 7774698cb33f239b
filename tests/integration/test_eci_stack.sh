#!/usr/bin/env bash
# The engine guard's driver and network checks on a real stack (moat up,
# moatd with the admin file): enhancedContainerIsolation.allowedDrivers is
# read from admin-settings.json and validated, and user networks must lie
# inside the address pool moat gives its engine (moatd's --container-cidrs).
# Payloads are harmless: a driver name that no plugin answers, networks in
# the engine's own namespace.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
cat >"$MOAT_ROOT/etc/moat/admin-settings.json" <<EOJ
{"configurationFileVersion": 2,
 "enhancedContainerIsolation": {"locked": true, "value": true,
   "allowedDrivers": ["moatnoplugin"]},
 "filesharingDirectories": {"locked": true, "value": ["$HARNESS_DIR"]}}
EOJ
harness_up
harness_busybox
E='enhanced container isolation: '

# an allowed plugin name reaches the engine, which has no such plugin
out=$(docker volume create -d moatnoplugin v1 2>&1)
case "$out" in
  *"$E"*) not_ok "allowedDrivers: a listed plugin passes the guard" "$out" ;;
  *) ok "allowedDrivers: a listed plugin passes the guard" ;;
esac
out=$(docker volume create -d otherplugin v2 2>&1)
case "$out" in
  *"${E}volume driver \"otherplugin\" denied; it is not in the allowed list; if you wish to allow it, add it to enhancedContainerIsolation.allowedDrivers in the moat admin settings."*)
    ok "allowedDrivers: an unlisted plugin is refused" ;;
  *) not_ok "allowedDrivers: an unlisted plugin is refused" "$out" ;;
esac
out=$(docker network create -d ../../../tmp/x n0 2>&1)
case "$out" in *"${E}network driver \"../../../tmp/x\" denied; it is not a plugin name"*)
  ok "a network driver path is refused" ;;
  *) not_ok "a network driver path is refused" "$out" ;; esac

# the locked group: a user cannot add a driver
out=$("$MOAT" settings set enhancedContainerIsolation.allowedDrivers '["macvlan"]' 2>&1)
case "$out" in *locked*) ok "allowedDrivers is locked with its group" ;;
  *) not_ok "allowedDrivers is locked with its group" "$out" ;; esac
echo '{"configurationFileVersion": 2, "enhancedContainerIsolation": {"locked": true, "allowedDrivers": ["../x"]}}' \
  >"$HARNESS_DIR/draft.json"
out=$("$MOAT" settings validate "$HARNESS_DIR/draft.json" 2>&1)
case "$out" in *'error: enhancedContainerIsolation.allowedDrivers[0]: "../x" is not a driver or plugin name'*)
  ok "validate: a path in allowedDrivers is an error with its JSON path" ;;
  *) not_ok "validate: a path in allowedDrivers is an error with its JSON path" "$out" ;; esac

# subnets: inside moat's pool only (moatd got the pool from moat up)
out=$(docker network create --subnet 192.168.213.0/24 nout 2>&1)
case "$out" in *"${E}subnet \"192.168.213.0/24\" denied; user networks must lie inside moat's address pool"*)
  ok "user network outside the pool refused" ;;
  *) not_ok "user network outside the pool refused" "$out" ;; esac
if out=$(docker network create nin 2>&1); then
  ok "user network from the pool works"
  sub=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' nin)
  if out=$(docker network create --subnet "${sub%.*/*}.0/25" nin2 2>&1); then
    not_ok "overlapping subnet is the engine's to refuse" "$out"
    docker network rm nin2 >/dev/null 2>&1
  else
    case "$out" in *"$E"*) not_ok "overlapping subnet is the engine's to refuse" "$out" ;;
      *) ok "overlapping subnet is the engine's to refuse" ;; esac
  fi
  out=$(docker run --rm --network nin busybox echo on-user-net 2>&1)
  [ "$out" = on-user-net ] && ok "a container runs on a user network" \
    || not_ok "a container runs on a user network" "$out"
  docker network rm nin >/dev/null 2>&1
else
  not_ok "user network from the pool works" "$out"
fi
out=$(docker network create -o com.docker.network.bridge.name=moat0 nbr 2>&1)
case "$out" in *"${E}network option \"com.docker.network.bridge.name\" denied"*)
  ok "a user network cannot take moat0 or a host bridge" ;;
  *) not_ok "a user network cannot take moat0 or a host bridge" "$out" ;; esac
out=$("$MOAT" audit --json 2>/dev/null | grep -c '"eci.network"')
[ "${out:-0}" -ge 1 ] && ok "network refusals are audited" || not_ok "network refusals are audited" "$("$MOAT" audit 2>&1 | tail -3)"
# CAP_NET_RAW is dropped by default (bit 13 of CapEff), kept when asked for;
# an ICMP-socket ping (iputils) still works through ping_group_range.
capnr() { docker run --rm "$@" busybox sh -c 'grep CapEff /proc/self/status' 2>&1 |
  awk '{ v = 0; h = $2; for (i = 1; i <= length(h); i++) { v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1 }
         print (int(v / 8192) % 2) }'; }
[ "$(capnr)" = 0 ] && ok "CAP_NET_RAW dropped by default" || not_ok "CAP_NET_RAW dropped by default" "$(capnr)"
[ "$(capnr --cap-add NET_RAW)" = 1 ] && ok "--cap-add NET_RAW keeps it" || not_ok "--cap-add NET_RAW keeps it" "$(capnr --cap-add NET_RAW)"
# busybox ping opens a raw socket only (iputils ping falls back to an ICMP
# socket): it needs --cap-add NET_RAW, as under Podman's defaults.
out=$(docker run --rm --cap-add NET_RAW busybox sh -c 'ping -c 1 -W 5 127.0.0.1 >/dev/null && echo pinged' 2>&1)
[ "$out" = pinged ] && ok "ping works with --cap-add NET_RAW" || not_ok "ping works with --cap-add NET_RAW" "$out"
# --init under ECI: the engine's docker-init (on Debian a symlink to
# tini-static) is the init binary, not a host path outside the shared
# directories (docs/moat-runc.md "Bind mounts").
out=$(docker run --rm --init busybox sh -c 'cat /proc/1/comm' 2>&1)
case "$out" in
  docker-init|tini*) ok "docker run --init passes and runs the engine's init as pid 1" ;;
  *) not_ok "docker run --init passes and runs the engine's init as pid 1" "$out" ;;
esac
harness_done
