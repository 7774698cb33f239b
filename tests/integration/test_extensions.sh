#!/usr/bin/env bash
# Extensions through the real CLI, moatd and dockerd (docs/extensions.md):
# validate, install (backend under moat-runc with an exclusive id range,
# its socket reachable by moatd only), ls, update (data and volumes kept),
# rm, rollback of every failing step, and the admin keys.  The extension
# images are built here (legacy builder, FROM the harness's busybox) from
# files the test writes; nothing is pulled or pushed.
. "$(dirname "$0")/../lib/harness.sh"
harness_setup

backend_bin=$MOAT_BUILD/tests/ext-backend
[ -x "$backend_bin" ] || backend_bin=$HARNESS_TOP/build/tests/ext-backend
[ -x "$backend_bin" ] || harness_bail "ext-backend" "build it with make tests"
EXT=$MOAT_ROOT/var/lib/moat/extensions

# mkext DIR NAME [METADATA]: a build context for an extension NAME.
mkext() {
  local dir=$HARNESS_DIR/ctx/$1 name=$2
  mkdir -p "$dir/ui/css"
  cp "$backend_bin" "$dir/ext-backend"
  echo "<html><body>$name</body></html>" >"$dir/ui/index.html"
  echo "body{}" >"$dir/ui/css/site.css"
  echo "<svg/>" >"$dir/icon.svg"
  if [ $# -ge 3 ]; then
    printf '%s\n' "$3" >"$dir/metadata.json"
  else
    cat >"$dir/metadata.json" <<EOM
{
  "icon": "icon.svg",
  "ui": {"dashboard-tab": {"title": "$name", "root": "/ui", "src": "index.html",
                           "backend": {"socket": "backend.sock"}}},
  "vm": {"image": "\${DESKTOP_PLUGIN_IMAGE}", "exposes": {"socket": "backend.sock"}},
  "host": {"binaries": [{"linux": [{"path": "/ext-backend"}]}]}
}
EOM
  fi
  cat >"$dir/Dockerfile" <<EOD
FROM busybox:latest
LABEL org.opencontainers.image.title="$name" \\
      org.opencontainers.image.description="test extension $name" \\
      org.opencontainers.image.vendor="moat tests" \\
      com.docker.desktop.extension.api.version=">= 0.3.0" \\
      com.docker.desktop.extension.icon="icon.svg"
COPY metadata.json icon.svg /
COPY ui /ui
COPY ext-backend /ext-backend
VOLUME /data
ENTRYPOINT ["/ext-backend", "/run/guest-services/backend.sock", "$name"]
EOD
}
# build DIR TAG: the image, through the raw engine.
build() {
  DOCKER_BUILDKIT=0 docker -H "$MOAT_ENGINE_HOST" build -q -t "$2" "$HARNESS_DIR/ctx/$1" >"$HARNESS_DIR/build.log" 2>&1 ||
    harness_bail "build $2" "$(tail -5 "$HARNESS_DIR/build.log")"
}
# leftovers NAME: containers and files an extension NAME could leave.
leftovers() {
  {
    d ps -aq --filter "label=com.moat.extension=$1"
    d ps -aq --filter "label=com.moat.extension-probe"
    ls -A "$EXT" 2>/dev/null | grep -E "^(\.staging-)?$1\$"
  } | tr '\n' ' '
}
# check_rolled_back NAME TEXT CMD...: CMD fails saying TEXT and leaves
# nothing of NAME behind.
check_rolled_back() {
  local name=$1 text=$2 left
  shift 2
  check_refused "$*: refused ($text)" "$text" "$@"
  left=$(leftovers "$name")
  [ -z "$left" ] && ok "$*: nothing left" || not_ok "$*: nothing left" "left: $left"
}
backend_id() { "$MOAT" extension ls --json | jq -r ".[] | select(.name == \"$1\") | .backend.container"; }
backend_pid() { d inspect -f '{{.State.Pid}}' "$1"; }

mkext hello hello
build hello acme/hello:1
build hello acme/hello:2
mkext other hello
build other other/hello:1

# ---- validate ----
check_output "validate FILE: a Docker-format metadata.json" "valid" \
  "$MOAT" extension validate "$HARNESS_DIR/ctx/hello/metadata.json"
cat >"$HARNESS_DIR/bad.json" <<'EOM'
{"icon": "../../etc/passwd", "ui": {"dashboard-tab": {"title": "x", "root": "/ui"}},
 "vm": {"image": "x", "exposes": {"sockit": "a"}}, "extra": 1}
EOM
out=$("$MOAT" extension validate "$HARNESS_DIR/bad.json" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -qF 'error: icon: "../../etc/passwd" is not a path inside the image' <<<"$out" \
  && grep -qF 'error: ui.dashboard-tab.src: missing' <<<"$out" \
  && grep -qF 'error: vm.exposes.sockit: unknown key' <<<"$out" \
  && grep -qF 'error: extra: unknown key' <<<"$out"; then
  ok "validate FILE names every problem by JSON path"
else
  not_ok "validate FILE names every problem by JSON path" "exit $rc" "$out"
fi
check_output "validate IMAGE (labels and metadata, through moatd)" "acme/hello:1: valid" \
  "$MOAT" extension validate acme/hello:1
check_refused "validate IMAGE without the labels" 'labels["com.docker.desktop.extension.icon"]: missing' \
  "$MOAT" extension validate busybox:latest

# ---- install ----
check_refused "install without -f and without a terminal is refused" "run with -f" \
  "$MOAT" extension install acme/hello:1 </dev/null
check_output "install -f" "installed extension hello (acme/hello:1)" \
  "$MOAT" extension install -f acme/hello:1
ls_json=$("$MOAT" extension ls --json)
jq -e '.[] | select(.name == "hello") | .image == "acme/hello:1" and .backend.state == "running" and .backend.socket_reachable == true and .host_binaries == ["ext-backend"]' \
  <<<"$ls_json" >/dev/null && ok "ls --json: running backend, socket reachable by moatd" || not_ok "ls --json" "$ls_json"
check_output "ls table" "hello" "$MOAT" extension ls
[ -f "$EXT/hello/ui/index.html" ] && [ -f "$EXT/hello/ui/css/site.css" ] && [ -f "$EXT/hello/icon" ] &&
  ok "UI files and icon installed" || not_ok "UI files and icon installed" "$(find "$EXT" | head -20)"
[ "$(stat -c %a "$EXT")" = 700 ] && ok "extensions directory is root-only" || not_ok "extensions directory is root-only" "$(stat -c %a "$EXT")"

id=$(backend_id hello)
pid=$(backend_pid "$id")
label=$(d inspect -f '{{index .Config.Labels "com.moat.extension"}}' "$id")
[ "$label" = hello ] && ok "backend labelled com.moat.extension=hello" || not_ok "backend label" "$label"
inner= base=0 size=
[ -n "$pid" ] && read -r inner base size <"/proc/$pid/uid_map"
if [ "$inner" = 0 ] && [ "$base" -ge 65536 ] && [ "$size" = 65536 ]; then
  ok "backend runs in its own id range (uid_map 0 $base $size)"
else
  not_ok "backend id range" "$(cat "/proc/$pid/uid_map")"
fi
other_base=$(docker run --rm busybox cat /proc/self/uid_map | awk '{print $2}')
[ -n "$other_base" ] && [ "$other_base" != "$base" ] && ok "its range is exclusive (another container: $other_base)" ||
  not_ok "exclusive range" "backend $base, other $other_base"
sock=/proc/$pid/root/run/guest-services/backend.sock
check_output "root (as moatd) reaches the backend socket" "hello from hello" \
  curl -s --max-time 5 --unix-socket "$sock" http://ext/
harness_docker_user extu
check_fails "a non-root host user cannot reach the backend socket" \
  setpriv --reuid="$TUID" --regid="$TGID" --init-groups curl -s --max-time 5 --unix-socket "$sock" http://ext/
out=$(docker run --rm busybox ls /run/guest-services 2>&1)
grep -q "No such file" <<<"$out" && ok "another container has no /run/guest-services" || not_ok "another container's view" "$out"
check_fails "another container cannot bind the backend's socket directory" \
  docker run --rm -v "/proc/$pid/root/run/guest-services:/s" busybox ls /s

# ---- clash, update ----
check_rolled_back_clash() {
  check_refused "a second extension named hello is refused" "already installed" \
    "$MOAT" extension install -f other/hello:1
  [ "$(backend_id hello)" = "$id" ] && ok "the installed one is untouched" || not_ok "clash touched hello"
}
check_rolled_back_clash
check_refused "update to the same tag is refused" "update needs another tag" \
  "$MOAT" extension update acme/hello:1
echo kept >"$EXT/hello/data/marker"
docker exec "$id" sh -c 'echo in-volume >/data/v' || not_ok "write into the backend volume"
check_output "update to another tag" "updated extension hello (acme/hello:2)" \
  "$MOAT" extension update acme/hello:2
nid=$(backend_id hello)
[ -n "$nid" ] && [ "$nid" != "$id" ] && ok "update: a new backend" || not_ok "update: new backend" "$nid"
d inspect "$id" >/dev/null 2>&1 && not_ok "update: the old backend is gone" || ok "update: the old backend is gone"
[ "$(cat "$EXT/hello/data/marker" 2>/dev/null)" = kept ] && ok "update keeps the data directory" || not_ok "update keeps data"
out=$(docker exec "$nid" cat /data/v 2>&1)
[ "$out" = in-volume ] && ok "update keeps the backend's volume" || not_ok "update keeps the volume" "$out"
"$MOAT" extension ls --json | jq -e '.[] | select(.name == "hello") | .image == "acme/hello:2" and .backend.socket_reachable' >/dev/null &&
  ok "ls after update" || not_ok "ls after update" "$("$MOAT" extension ls --json)"

# ---- rm ----
vol=$(d inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "$nid")
check_output "rm says which volumes were left" "volumes left: $vol" "$MOAT" extension rm hello
left=$(leftovers hello)
[ -z "$left" ] && ok "rm: container and files gone" || not_ok "rm: leftovers" "$left"
d volume inspect "$vol" >/dev/null 2>&1 && ok "rm without --volumes keeps the volume" || not_ok "rm kept the volume"
check "install again" "$MOAT" extension install -f acme/hello:1
[ ! -e "$EXT/hello/data/marker" ] && ok "a reinstall starts with empty storage" || not_ok "storage survived rm"
nid=$(backend_id hello)
vol=$(d inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "$nid")
check "rm --volumes" "$MOAT" extension rm hello --volumes
d volume inspect "$vol" >/dev/null 2>&1 && not_ok "rm --volumes removed the volume" || ok "rm --volumes removed the volume"
check_refused "rm of an unknown extension" "no installed extension" "$MOAT" extension rm nothere

# ---- every failing step rolls back ----
mkext nometa nometa
rm "$HARNESS_DIR/ctx/nometa/metadata.json"
sed -i 's/COPY metadata.json icon.svg/COPY icon.svg/' "$HARNESS_DIR/ctx/nometa/Dockerfile"
build nometa acme/nometa:1
check_rolled_back nometa "metadata.json: not found at the image root" "$MOAT" extension install -f acme/nometa:1
mkext badmeta badmeta '{"icon": "icon.svg", "vm": {"image": "x"}, "surprise": true}'
build badmeta acme/badmeta:1
check_rolled_back badmeta "surprise: unknown key" "$MOAT" extension install -f acme/badmeta:1
mkext noui noui
rm -r "$HARNESS_DIR/ctx/noui/ui"
mkdir "$HARNESS_DIR/ctx/noui/ui" && echo x >"$HARNESS_DIR/ctx/noui/ui/other.html"
build noui acme/noui:1
check_rolled_back noui "ui.dashboard-tab.src: \`index.html\` is not a file" "$MOAT" extension install -f acme/noui:1
mkext link link
ln -s /etc/passwd "$HARNESS_DIR/ctx/link/ui/passwd"
build link acme/link:1
check_rolled_back link "is a symbolic link" "$MOAT" extension install -f acme/link:1
[ ! -e "$EXT/link" ] && ok "no file of a symlinked UI was written"
mkext dies dies
sed -i 's|^ENTRYPOINT .*|ENTRYPOINT ["/bin/true"]|' "$HARNESS_DIR/ctx/dies/Dockerfile"
build dies acme/dies:1
check_rolled_back dies "backend exited" "$MOAT" extension install -f acme/dies:1
# A backend whose socket is an absolute symlink to a host socket: moatd
# resolves it inside the container's root, never from its own, so it
# neither connects to the host socket nor takes it for the backend's.
hsock=$HARNESS_DIR/host-trap.sock
socat UNIX-LISTEN:"$hsock",fork SYSTEM:'echo touched >>'"$HARNESS_DIR/trap.log" >/dev/null 2>&1 &
harness_track socat-trap $!
for _ in $(seq 50); do [ -S "$hsock" ] && break; sleep 0.1; done
mkext symsock symsock
sed -i 's|^ENTRYPOINT .*|ENTRYPOINT ["/bin/sh", "-c", "ln -s '"$hsock"' /run/guest-services/backend.sock \&\& exec sleep 600"]|' \
  "$HARNESS_DIR/ctx/symsock/Dockerfile"
build symsock acme/symsock:1
check_rolled_back symsock "backend did not open" "$MOAT" extension install -f acme/symsock:1
[ ! -s "$HARNESS_DIR/trap.log" ] && ok "moatd never connected to the host socket the symlink names" ||
  not_ok "moatd connected to a host socket through the backend's symlink" "$(cat "$HARNESS_DIR/trap.log")"
mkext nobackend nobackend '{"icon": "icon.svg", "vm": {"image": "acme/not-built:1"}}'
build nobackend acme/nobackend:1
check_rolled_back nobackend "backend \`acme/not-built:1\`" "$MOAT" extension install -f acme/nobackend:1
# A compose backend that asks for the host's pid namespace: ECI refuses
# it at the guard, and nothing of the project is left.
mkext hostpid hostpid '{"icon": "icon.svg", "vm": {"composefile": "compose.yml", "exposes": {"socket": "backend.sock"}}}'
printf 'version: "3"\nservices:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n    pid: host\n' \
  >"$HARNESS_DIR/ctx/hostpid/compose.yml"
sed -i 's|^COPY metadata.json icon.svg /|COPY metadata.json icon.svg compose.yml /|' "$HARNESS_DIR/ctx/hostpid/Dockerfile"
build hostpid acme/hostpid:1
check_rolled_back hostpid "can't share the pid namespace with the host" "$MOAT" extension install -f acme/hostpid:1
[ -z "$(d ps -aq --filter label=com.docker.compose.project=moat-ext-hostpid)" ] &&
  ok "no container of the refused compose project" || not_ok "compose project left containers"

# A compose backend: Debian's docker-compose against the guarded socket;
# the first service is the backend.
mkext composed composed '{"icon": "icon.svg", "ui": {"dashboard-tab": {"title": "c", "root": "/ui", "src": "index.html"}}, "vm": {"composefile": "/compose.yml", "exposes": {"socket": "backend.sock"}}}'
printf 'version: "3"\nservices:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n  side:\n    image: busybox:latest\n    entrypoint: ["sleep", "3600"]\n' \
  >"$HARNESS_DIR/ctx/composed/compose.yml"
sed -i 's|^COPY metadata.json icon.svg /|COPY metadata.json icon.svg compose.yml /|' "$HARNESS_DIR/ctx/composed/Dockerfile"
build composed acme/composed:1
if [ -x /usr/bin/docker-compose ]; then
  check_output "install a compose backend" "installed extension composed" "$MOAT" extension install -f acme/composed:1
  cid=$(backend_id composed)
  [ "$(d inspect -f '{{index .Config.Labels "com.docker.compose.service"}}' "$cid" 2>/dev/null)" = backend ] &&
    ok "compose: the first service is the backend" || not_ok "compose backend" "$cid"
  n=$(d ps -q --filter label=com.moat.extension=composed | wc -l)
  [ "$n" = 2 ] && ok "compose: every service labelled com.moat.extension" || not_ok "compose labels" "$n"
  "$MOAT" extension ls --json | jq -e '.[] | select(.name == "composed") | .backend.socket_reachable' >/dev/null &&
    ok "compose: backend socket reachable by moatd" || not_ok "compose socket" "$("$MOAT" extension ls --json)"
  cpid=$(backend_pid "$cid")
  read -r _ cbase _ <"/proc/$cpid/uid_map"
  [ "${cbase:-0}" -ge 65536 ] && ok "compose: backend in its own id range" || not_ok "compose id range" "$(cat "/proc/$cpid/uid_map")"
  check "rm a compose extension" "$MOAT" extension rm composed --volumes
  [ -z "$(d ps -aq --filter label=com.docker.compose.project=moat-ext-composed)" ] &&
    ok "rm removed every service" || not_ok "rm left compose services"
else
  skip "compose backends" "Debian's docker-compose is not installed"
fi
check_refused "an image that is not on the engine" "is not on the engine" "$MOAT" extension install -f acme/absent:1
check_refused "a name that is not a DNS label" "must be a DNS label" "$MOAT" extension install -f acme/Bad_Name:1

# moatd runs a backend (and a compose file's services) as a root caller:
# a docker-group user may not choose what it runs.
check_refused "a docker-group user may not install an extension" \
  "extensions: only root may install, update or remove extensions" \
  as_user "$MOAT" extension install -f acme/hello:1
check_refused "... nor remove one" "only root may" as_user "$MOAT" extension rm hello

# ---- admin keys ----
set_admin() {
  printf '%s\n' "$1" >"$MOAT_ROOT/etc/moat/admin-settings.json"
  chmod 0644 "$MOAT_ROOT/etc/moat/admin-settings.json"
  local i
  for i in $(seq 50); do
    "$MOAT" settings show --json | jq -e "$2" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  not_ok "admin settings applied" "$("$MOAT" settings show --json)"
}
set_admin '{"configurationFileVersion": 2, "extensionsEnabled": {"locked": true, "value": false}}' \
  'any(.[]; .key == "extensionsEnabled" and .value == false)'
check_refused "extensionsEnabled false refuses install" \
  "extensions: extensions are disabled by your administrator (extensionsEnabled)" \
  "$MOAT" extension install -f acme/hello:1
mkdir -p "$MOAT_ROOT/etc/moat/extension-marketplace"
printf '# approved\nacme/hello:2\n' >"$MOAT_ROOT/etc/moat/extension-marketplace/extensions.txt"
chmod 0644 "$MOAT_ROOT/etc/moat/extension-marketplace/extensions.txt"
set_admin '{"configurationFileVersion": 2, "extensionsEnabled": {"locked": true, "value": true},
  "extensionsPrivateMarketplace": {"locked": true, "value": true}}' \
  'any(.[]; .key == "extensionsPrivateMarketplace" and .value == true)'
check_refused "private marketplace: an unlisted tag gets the contract message" \
  'extensions: "acme/hello:1" is not an allowed extension; ask your administrator to add it to the private marketplace' \
  "$MOAT" extension install -f acme/hello:1
[ -z "$(leftovers hello)" ] && ok "a refused install leaves nothing" || not_ok "refused install left" "$(leftovers hello)"
check_output "private marketplace: the listed tag installs" "installed extension hello" \
  "$MOAT" extension install -f acme/hello:2
check "rm" "$MOAT" extension rm hello --volumes
"$MOAT" audit --json 2>/dev/null | grep -q '"extension.install"' && ok "installs are audited" || not_ok "installs are audited"

# While sign-in is enforced, an extension's engine work (its backend, a
# compose file's services, their removal) is the installing admin's: root
# without a member's session is refused with the sign-in message, as its
# own docker calls are; signed in, the install works.
printf '{"allowedOrgs": ["acme"]}\n' >"$MOAT_ROOT/etc/moat/registry.json"
chmod 0644 "$MOAT_ROOT/etc/moat/registry.json"
for _ in $(seq 50); do docker ps >/dev/null 2>&1 || break; sleep 0.2; done
check_refused "sign-in enforced: root without a session is refused" "sign-in required" docker ps
check_refused "sign-in enforced: root without a session cannot install an extension" \
  "sign-in required: your administrator requires you to sign in" \
  "$MOAT" extension install -f acme/hello:2
[ -z "$(leftovers hello)" ] && ok "the refused install left nothing" || not_ok "refused install left" "$(leftovers hello)"
printf 'ext-admin-pw-5c1e\n' | "$MOAT" directory user add extadmin --password-stdin >/dev/null &&
  "$MOAT" directory org add acme >/dev/null && "$MOAT" directory member add acme extadmin >/dev/null ||
  harness_diag "directory: $("$MOAT" directory ls 2>&1)"
check_output "root signs in as a member" "signed in as extadmin" \
  sh -c "printf 'ext-admin-pw-5c1e\n' | '$MOAT' login --user extadmin --password-stdin"
check_output "sign-in enforced, root signed in: the extension installs" "installed extension hello" \
  "$MOAT" extension install -f acme/hello:2
if [ -x /usr/bin/docker-compose ]; then
  # docker-compose, moatd's child, calls the guarded socket as root
  printf 'acme/composed:1\n' >>"$MOAT_ROOT/etc/moat/extension-marketplace/extensions.txt"
  check_output "sign-in enforced, root signed in: a compose backend installs" \
    "installed extension composed" "$MOAT" extension install -f acme/composed:1
  check "and is removed" "$MOAT" extension rm composed --volumes
fi
"$MOAT" logout >/dev/null 2>&1
check_refused "signed out: rm is refused too" "sign-in required" "$MOAT" extension rm hello --volumes
sleep 1.1
printf 'ext-admin-pw-5c1e\n' | "$MOAT" login --user extadmin --password-stdin >/dev/null 2>&1
check "rm under sign-in, signed in" "$MOAT" extension rm hello --volumes
"$MOAT" logout >/dev/null 2>&1
rm -f "$MOAT_ROOT/etc/moat/registry.json"

harness_done
