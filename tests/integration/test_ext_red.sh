#!/usr/bin/env bash
# Attacks by a hostile extension image on what moatd does as root for it
# (docs/extensions.md, "Compose backends"): a compose file that names host
# files moatd's docker-compose would read (env_file, extends) must not get
# their contents into the backend.  The secrets are files this test makes
# (root's, 0600); the images are built here from files the test writes.
. "$(dirname "$0")/../lib/harness.sh"
harness_setup

backend_bin=$MOAT_BUILD/tests/ext-backend
[ -x "$backend_bin" ] || backend_bin=$HARNESS_TOP/build/tests/ext-backend
[ -x "$backend_bin" ] || harness_bail "ext-backend" "build it with make tests"
[ -x /usr/bin/docker-compose ] || {
  skip "compose attacks" "Debian's docker-compose is not installed"
  harness_done
}
EXT=$MOAT_ROOT/var/lib/moat/extensions

# mkcompose NAME COMPOSE_YAML: an image acme/NAME:1 whose backend is the
# compose file given.
mkcompose() {
  local dir=$HARNESS_DIR/ctx/$1 name=$1
  mkdir -p "$dir/ui"
  cp "$backend_bin" "$dir/ext-backend"
  echo "<html><body>$name</body></html>" >"$dir/ui/index.html"
  echo "<svg/>" >"$dir/icon.svg"
  printf '%s\n' "$2" >"$dir/compose.yml"
  printf '%s\n' '{"icon": "icon.svg", "ui": {"dashboard-tab": {"title": "c", "root": "/ui", "src": "index.html"}}, "vm": {"composefile": "/compose.yml", "exposes": {"socket": "backend.sock"}}}' >"$dir/metadata.json"
  cat >"$dir/Dockerfile" <<EOD
FROM busybox:latest
LABEL org.opencontainers.image.title="$name" \\
      org.opencontainers.image.description="test extension $name" \\
      org.opencontainers.image.vendor="moat tests" \\
      com.docker.desktop.extension.api.version=">= 0.3.0" \\
      com.docker.desktop.extension.icon="icon.svg"
COPY metadata.json icon.svg compose.yml /
COPY ui /ui
COPY ext-backend /ext-backend
ENTRYPOINT ["/ext-backend", "/run/guest-services/backend.sock", "$name"]
EOD
  DOCKER_BUILDKIT=0 docker -H "$MOAT_ENGINE_HOST" build -q -t "acme/$name:1" "$dir" >"$HARNESS_DIR/build.log" 2>&1 ||
    harness_bail "build acme/$name:1" "$(tail -5 "$HARNESS_DIR/build.log")"
}
# leaked MARKER: every container's configuration that holds MARKER.
leaked() {
  local id
  for id in $(d ps -aq); do
    d inspect "$id" | grep -l -- "$1" >/dev/null && echo "$id"
  done
}

marker=moat-red-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
umask 077
printf 'MOAT_RED_SECRET=%s\n' "$marker" >"$HARNESS_DIR/secret.env"
printf 'version: "3"\nservices:\n  leak:\n    image: busybox:latest\n    environment:\n      MOAT_RED_SECRET: %s\n' \
  "$marker" >"$HARNESS_DIR/secret.yml"
umask 022
chmod 0600 "$HARNESS_DIR/secret.env" "$HARNESS_DIR/secret.yml"

# A benign compose backend still installs (docker-compose runs confined).
mkcompose cok 'version: "3"
services:
  backend:
    image: ${DESKTOP_PLUGIN_IMAGE}'
check_output "a compose backend installs" "installed extension cok" "$MOAT" extension install -f acme/cok:1
check "and is removed" "$MOAT" extension rm cok --volumes

# A YAML alias bomb: one 500 kB string ("$$" so that compose's
# interpolation copies it), aliased 4000 times.  Unconfined, compose
# writes 2 GB and more and runs until moat's 120 s timeout; under its
# memory limit it fails with the limit's message.  moatd stays up.
moatd_pid=$(cat "$MOAT_ROOT/run/moat/moatd.pid")
big=$(head -c 500000 /dev/zero | tr '\0' x)
tens() { printf '[%s]' "$(printf "*$1,%.0s" $(seq "$2") | sed 's/,$//')"; }
mkcompose cbomb "version: \"3\"
x-s: &s \"\$\$$big\"
x-a: &a $(tens s 10)
x-b: &b $(tens a 10)
x-c: &c $(tens b 10)
x-d: &d $(tens c 4)
services:
  backend:
    image: \${DESKTOP_PLUGIN_IMAGE}
    labels:
      bomb: *d"
unset big
check_refused "compose YAML alias bomb: install fails on the memory limit" \
  "docker-compose: out of memory (over its limit of 256 MiB" "$MOAT" extension install -f acme/cbomb:1
check "compose alias bomb: nothing left installed" test ! -e "$EXT/cbomb"
if [ "$(cat "$MOAT_ROOT/run/moat/moatd.pid")" = "$moatd_pid" ] && kill -0 "$moatd_pid" &&
  "$MOAT" extension ls >/dev/null 2>&1; then
  ok "moatd healthy after the alias bomb"
else
  not_ok "moatd healthy after the alias bomb"
fi

# env_file: a root-only host file.
mkcompose cenv "version: \"3\"
services:
  backend:
    image: \${DESKTOP_PLUGIN_IMAGE}
    env_file: $HARNESS_DIR/secret.env"
check_refused "compose env_file of a host file: install refused" "Permission denied" "$MOAT" extension install -f acme/cenv:1
left=$(leaked "$marker")
[ -z "$left" ] && ok "compose env_file: the host file's contents are in no container" ||
  not_ok "compose env_file leaked a root-only host file into a container" "$left"
"$MOAT" extension rm cenv --volumes >/dev/null 2>&1

# env_file through .. from the extension's directory.
rel=$(realpath -m --relative-to="$EXT/.staging-cenv2" "$HARNESS_DIR/secret.env")
mkcompose cenv2 "version: \"3\"
services:
  backend:
    image: \${DESKTOP_PLUGIN_IMAGE}
    env_file: $rel"
check_refused "compose env_file ../ out of the extension: install refused" "Permission denied" "$MOAT" extension install -f acme/cenv2:1
left=$(leaked "$marker")
[ -z "$left" ] && ok "compose env_file ../: nothing leaked" ||
  not_ok "compose env_file ../ leaked a host file" "$left"
"$MOAT" extension rm cenv2 --volumes >/dev/null 2>&1

# extends: a service of a root-only host compose file.
mkcompose cext "version: \"3\"
services:
  backend:
    image: \${DESKTOP_PLUGIN_IMAGE}
    extends:
      file: $HARNESS_DIR/secret.yml
      service: leak"
check_refused "compose extends of a host file: install refused" "Permission denied" "$MOAT" extension install -f acme/cext:1
left=$(leaked "$marker")
[ -z "$left" ] && ok "compose extends: the host file's contents are in no container" ||
  not_ok "compose extends leaked a root-only host file into a container" "$left"
"$MOAT" extension rm cext --volumes >/dev/null 2>&1

# rm --volumes removes the backend's volumes: only the extension's own
# (its compose project's), never a named volume of someone else that the
# compose file mounted (external), which moatd would delete as root.
d volume create moatred-victim >/dev/null || harness_bail "volume create" "raw engine"
mkcompose cvol 'version: "3.9"
services:
  backend:
    image: ${DESKTOP_PLUGIN_IMAGE}
    volumes:
      - victim:/victim
      - own:/own
volumes:
  victim:
    external: true
    name: moatred-victim
  own: {}'
check_output "a compose backend mounting another volume installs" "installed extension cvol" "$MOAT" extension install -f acme/cvol:1
out=$("$MOAT" extension rm cvol --volumes 2>&1)
d volume inspect moatred-victim >/dev/null 2>&1 &&
  ok "rm --volumes leaves a volume that is not the extension's" ||
  not_ok "rm --volumes deleted another's volume the compose file mounted" "$out"
d volume inspect moat-ext-cvol_own >/dev/null 2>&1 &&
  not_ok "rm --volumes removes the extension's own volume" "$out" ||
  ok "rm --volumes removes the extension's own volume"
grep -q moatred-victim <<<"$out" && ok "  and lists the other as left" || not_ok "rm lists the volume left" "$out"
d volume rm moatred-victim >/dev/null 2>&1

harness_done
