#!/usr/bin/env bash
# Host binaries of extensions, confined (docs/extensions.md, "Host
# binaries"; issue 15 section 4): the runner (src/ext/hostexec.c) through
# build/tests/ext-exec, as root for a non-root uid, as root, and as a
# non-root runner (setpriv); then the install path: a real extension image
# whose host binary is copied at install and run through ext_host_exec.
# Every refusal is checked against a control run without the confinement,
# so it fails for the right reason.
. "$(dirname "$0")/../lib/harness.sh"
harness_setup

tool() {
  local b=$MOAT_BUILD/tests/$1
  [ -x "$b" ] || b=$HARNESS_TOP/build/tests/$1
  [ -x "$b" ] || harness_bail "$1" "build it with make tests"
  echo "$b"
}
EXEC=$(tool ext-exec)
PROBE_SRC=$(tool ext-probe)
harness_docker_user exth
U=$TUID G=$TGID

# The tree: ro/ (read + execute), home/ (the write directory, the user's),
# out/ (outside both: readable and writable by anyone, so only the
# confinement refuses).
T=$HARNESS_DIR/hx
mkdir -p "$T/ro" "$T/home" "$T/out"
chmod 0755 "$T" "$T/ro"
chmod 0777 "$T/out"
chown "$U:$G" "$T/home"
cp "$PROBE_SRC" "$T/ro/probe"
chmod 0755 "$T/ro/probe"
echo "another user's words" >"$T/out/theirs"
chown 4343:4343 "$T/out/theirs"
chmod 0644 "$T/out/theirs"
echo "root's secret" >"$T/out/root-only"
chmod 0600 "$T/out/root-only"

# run NAME [ext-exec options] -- PATH ARGS: J holds the result JSON.
run() {
  J=$("$EXEC" "$@" 2>"$HARNESS_DIR/exec.err")
  JRC=$?
}
# jcheck NAME FILTER: the last result satisfies the jq FILTER.
jcheck() {
  if [ "$JRC" = 0 ] && jq -e "$2" <<<"$J" >/dev/null 2>&1; then ok "$1"; else
    not_ok "$1" "exit $JRC: $J" "$(cat "$HARNESS_DIR/exec.err")"
    return 1
  fi
}
as_u() { "$EXEC" --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" "$@"; }
# unconfined PROBE-ARGS: the same probe as the user, without the runner
# (the control: what the confinement takes away).
unconfined() { setpriv --reuid="$U" --regid="$G" --clear-groups "$T/ro/probe" "$@" 2>&1; }

# ---- runs and returns output ----
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" echo hello there
jcheck "runs as the caller's uid and returns its output" '.exit_code == 0 and .out == "hello there\n" and .landlock_abi >= 1'
harness_diag "Landlock ABI: $(jq .landlock_abi <<<"$J")"
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" ids
jcheck "uid, gid, no supplementary groups" ".out == \"uid=$U euid=$U gid=$G egid=$G groups=0\n\""
printf '#!/bin/sh\necho "script $*"\n' >"$T/ro/script.sh"
chmod 0755 "$T/ro/script.sh"
run --uid "$U" --gid "$G" --read "$T/ro" -- "$T/ro/script.sh" a b
jcheck "a #! script runs too (its interpreter from /usr)" '.out == "script a b\n"'
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" write "$T/home/marker"
jcheck "writes inside its write directory" '.exit_code == 0'
[ "$(stat -c %u "$T/home/marker" 2>/dev/null)" = "$U" ] && ok "the file it wrote is the caller's" ||
  not_ok "the file it wrote is the caller's" "$(ls -ln "$T/home")"

# ---- writes outside its directory ----
rm -f "$T/out/w"
unconfined write "$T/out/w" | grep -q "write: ok" && ok "control: the user may write $T/out" ||
  not_ok "control: the user may write $T/out"
rm -f "$T/out/w"
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" write "$T/out/w"
jcheck "write outside its data directory refused (Landlock)" '.exit_code == 1 and .out == "write: Permission denied\n"'
[ ! -e "$T/out/w" ] && ok "nothing was written outside" || not_ok "nothing was written outside"
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" write "$T/ro/w"
jcheck "write into its read directory refused (Landlock; and DAC here)" '.out == "write: Permission denied\n"'

# ---- reads ----
unconfined read "$T/out/theirs" | grep -q "another user" && ok "control: the user may read another user's 0644 file" ||
  not_ok "control: read"
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" read "$T/out/theirs"
jcheck "read of another user's file outside the allowed dirs refused" '.out == "read: Permission denied\n"'
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" read /etc/passwd
jcheck "reads a system file a dynamic binary needs (/etc/passwd)" '.out | test("^root:")'
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" read /etc/hostname
jcheck "reads no other file of /etc (/etc/hostname)" '.out == "read: Permission denied\n"'
run --read "$T/ro" --write "$T/home" -- "$T/ro/probe" read "$T/out/root-only"
jcheck "as root: a root-only file outside the allowed dirs refused" '.out == "read: Permission denied\n"'
run --read "$T/ro" --write "$T/home" -- "$T/ro/probe" ids
jcheck "as root: runs as uid 0" '.out | startswith("uid=0 euid=0")'
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" read "$T/home/../out/theirs"
jcheck "a .. path out of the write directory refused" '.out == "read: Permission denied\n"'
ln -sf "$T/out/theirs" "$T/home/link"
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" read "$T/home/link"
jcheck "a symbolic link in the write directory leads nowhere outside" '.out == "read: Permission denied\n"'
rm -f "$T/home/link"

# ---- seccomp (each a control first: the plain user can) ----
for what in ptrace unshare socket; do
  c=$(unconfined "$what" /)
  [ "$c" = "$what: ok" ] && ok "control: unconfined $what works" || not_ok "control: unconfined $what works" "$c"
done
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" ptrace
jcheck "seccomp denies ptrace" '.out == "ptrace: Operation not permitted\n"'
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" unshare
jcheck "seccomp denies unshare" '.out == "unshare: Operation not permitted\n"'
run --read "$T/ro" --write "$T/home" -- "$T/ro/probe" mount "$T/home"
jcheck "mount refused, even to root (seccomp; and no capability left)" '.out == "mount: Operation not permitted\n"'
grep -q " $T/home " /proc/self/mounts && not_ok "no mount happened" || ok "no mount happened"
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" socket
jcheck "no IP socket" '.out == "socket: Permission denied\n"'
run --uid "$U" --gid "$G" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" setsid
jcheck "cannot leave its process group (setsid)" '.out == "setsid: Operation not permitted\n"'

# Signals: the user's own process outside the binary's domain (Landlock
# ABI 6 scope).
setpriv --reuid="$U" --regid="$G" --clear-groups sleep 60 &
victim=$!
harness_track victim "$victim"
if [ "$(jq .landlock_abi <<<"$J")" -ge 6 ]; then
  run --uid "$U" --gid "$G" --read "$T/ro" -- "$T/ro/probe" kill "$victim"
  jcheck "no signal to the caller's other processes (Landlock scope)" '.out == "kill: Operation not permitted\n"'
  kill -0 "$victim" 2>/dev/null && ok "the victim still runs" || not_ok "the victim still runs"
else
  skip "no signal to the caller's other processes" "Landlock ABI < 6"
fi
c=$(unconfined kill "$victim")
[ "$c" = "kill: ok" ] && ok "control: unconfined, the user may kill it" || not_ok "control: kill" "$c"

# ---- environment, descriptors, sizes ----
run --uid "$U" --gid "$G" --read "$T/ro" --env LANG=C.UTF-8 -- "$T/ro/probe" env
jcheck "environment cleared: only what the caller passes" '.out == "LANG=C.UTF-8\n"'
J=$(env SECRET_TOKEN=leak GCONV_PATH=/tmp "$EXEC" --read "$T/ro" -- "$T/ro/probe" env)
JRC=$?
jcheck "the runner's own environment does not leak" '.out == ""'
exec 7<"$T/out/theirs"
run --uid "$U" --gid "$G" --read "$T/ro" -- "$T/ro/probe" fds
exec 7<&-
jcheck "no descriptor inherited (fd 7 of the runner): only 0 1 2" '.out == "fds 0 1 2\n"'

many=$(seq 1 300)
# shellcheck disable=SC2086
check_refused "more than 256 arguments refused before anything runs" "more than 256 arguments" \
  "$EXEC" --read "$T/ro" -- "$T/ro/probe" echo $many
check_refused "arguments over 64 KiB refused" "over 65536 bytes" \
  "$EXEC" --read "$T/ro" -- "$T/ro/probe" echo "$(head -c 70000 /dev/zero | tr '\0' x)"

# ---- setuid gains nothing ----
cp "$T/ro/probe" "$T/ro/suid"
chown root:root "$T/ro/suid"
chmod 4755 "$T/ro/suid"
c=$(unconfined ids)
c=$(setpriv --reuid="$U" --regid="$G" --clear-groups "$T/ro/suid" ids)
grep -q "euid=0" <<<"$c" && ok "control: the setuid copy gives euid 0 unconfined" || skip "control: setuid" "no euid 0 ($c): nosuid mount?"
run --uid "$U" --gid "$G" --read "$T/ro" -- "$T/ro/suid" ids
jcheck "a setuid binary gains nothing (no_new_privs)" ".out == \"uid=$U euid=$U gid=$G egid=$G groups=0\n\""

# ---- timeout, output cap ----
start=$(date +%s%N)
run --timeout 1500 --uid "$U" --gid "$G" --read "$T/ro" -- "$T/ro/probe" forktree 4 stay
elapsed=$((($(date +%s%N) - start) / 1000000))
jcheck "timeout: killed" '.timed_out == true and .term_signal == 9'
[ "$elapsed" -lt 6000 ] && ok "timeout: within bounds (${elapsed} ms)" || not_ok "timeout bound" "${elapsed} ms"
pids=$(jq -r .out <<<"$J" | awk '/^pid /{print $2}')
alive=
for p in $pids; do
  st=$(awk '/^State:/{print $2}' "/proc/$p/status" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ] && alive="$alive $p"
done
[ "$(wc -w <<<"$pids")" -eq 8 ] && [ -z "$alive" ] && ok "timeout kills the whole tree (8 descendants)" ||
  not_ok "timeout kills the whole tree" "pids: $pids; alive:$alive"
run --uid "$U" --gid "$G" --read "$T/ro" -- "$T/ro/probe" forktree 2
pids=$(jq -r .out <<<"$J" | awk '/^pid /{print $2}')
sleep 0.2
alive=
for p in $pids; do
  st=$(awk '/^State:/{print $2}' "/proc/$p/status" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ] && alive="$alive $p"
done
[ -n "$pids" ] && [ -z "$alive" ] && ok "what the binary leaves behind is killed when it exits" ||
  not_ok "leftovers killed" "pids: $pids; alive:$alive"
run --max-output 100000 --uid "$U" --gid "$G" --read "$T/ro" -- "$T/ro/probe" spew
jcheck "output capped (and the binary stopped)" '.truncated == true and (.out | length) == 100000 and .term_signal == 9'

# ---- the runner itself as a non-root user ----
J=$(setpriv --reuid="$U" --regid="$G" --clear-groups "$EXEC" --read "$T/ro" --write "$T/home" -- "$T/ro/probe" write "$T/out/w2")
JRC=$?
jcheck "non-root runner: Landlock and seccomp apply too" '.out == "write: Permission denied\n"'
check_refused "non-root runner cannot choose another uid" "only root runs a binary as another user" \
  setpriv --reuid="$U" --regid="$G" --clear-groups "$EXEC" --uid 0 -- "$T/ro/probe" ids
check_refused "a path outside the read directories is not even executed" "execute the binary: Permission denied" \
  "$EXEC" --uid "$U" --gid "$G" --read "$T/home" -- "$T/ro/probe" ids

# ---- the docker CLI, confined, on the guarded socket ----
docker_bin=$(command -v docker)
sock_gid=$(stat -c %g "$MOAT_ROOT/run/moat/docker.sock")
mkdir -p "$T/dhome" && chown "$U:$G" "$T/dhome"
run --uid "$U" --gid "$G" --group "$sock_gid" --write "$T/dhome" --env "HOME=$T/dhome" \
  --env "DOCKER_HOST=$MOAT_GUARD_HOST" --env PATH=/usr/bin:/bin -- "$docker_bin" ps --format '{{.Names}}'
jcheck "docker CLI runs confined against the guarded socket" '.exit_code == 0 and .err == ""'
run --uid "$U" --gid "$G" --group "$sock_gid" --write "$T/dhome" --env "HOME=$T/dhome" \
  --env "DOCKER_HOST=$MOAT_ENGINE_HOST" --env PATH=/usr/bin:/bin -- "$docker_bin" ps
jcheck "the confined docker CLI still cannot reach the raw engine" '.exit_code != 0 and (.err | test("permission denied"))'

# ---- install: host binaries copied from the image ----
EXT=$MOAT_ROOT/var/lib/moat/extensions
backend_bin=$(tool ext-backend)
# mkext NAME BINARIES-JSON [TARGET]: /linux/probe in the image, and
# /linux/evil a symbolic link to TARGET when given.
mkext() {
  local dir=$HARNESS_DIR/ctx/$1
  mkdir -p "$dir/ui"
  cp "$backend_bin" "$dir/ext-backend"
  mkdir -p "$dir/linux"
  cp "$PROBE_SRC" "$dir/linux/probe"
  [ -z "${3:-}" ] || ln -sf "$3" "$dir/linux/evil"
  echo "<html>$1</html>" >"$dir/ui/index.html"
  echo "<svg/>" >"$dir/icon.svg"
  cat >"$dir/metadata.json" <<EOM
{"icon": "icon.svg",
 "ui": {"dashboard-tab": {"title": "$1", "root": "/ui", "src": "index.html"}},
 "vm": {"image": "\${DESKTOP_PLUGIN_IMAGE}", "exposes": {"socket": "backend.sock"}},
 "host": {"binaries": [{"linux": $2}]}}
EOM
  cat >"$dir/Dockerfile" <<EOD
FROM busybox:latest
LABEL org.opencontainers.image.title="$1" \\
      org.opencontainers.image.description="test extension $1" \\
      org.opencontainers.image.vendor="moat tests" \\
      com.docker.desktop.extension.api.version=">= 0.3.0" \\
      com.docker.desktop.extension.icon="icon.svg"
COPY metadata.json icon.svg /
COPY ui /ui
COPY ext-backend /ext-backend
COPY linux /linux/
ENTRYPOINT ["/ext-backend", "/run/guest-services/backend.sock", "$1"]
EOD
  DOCKER_BUILDKIT=0 docker -H "$MOAT_ENGINE_HOST" build -q -t "acme/$1:1" "$dir" >"$HARNESS_DIR/build.log" 2>&1 ||
    harness_bail "build $1" "$(tail -5 "$HARNESS_DIR/build.log")"
}
mkext hbin '[{"path": "/linux/probe"}]'
check_output "install an extension with a host binary" "installed extension hbin" \
  "$MOAT" extension install -f acme/hbin:1
[ "$(stat -c %a "$EXT/hbin/host/linux/probe" 2>/dev/null)" = 755 ] && cmp -s "$EXT/hbin/host/linux/probe" "$PROBE_SRC" &&
  ok "the host binary is read from the image into <name>/host (0755)" ||
  not_ok "host binary installed" "$(find "$EXT/hbin" | head)"
host() { "$EXEC" --uid "$U" --gid "$G" "$@"; }
J=$(host --env LANG=C.UTF-8 --env LD_PRELOAD=/x.so --env SECRET=1 --host "$EXT" hbin probe -- env)
JRC=$?
home=$MOAT_ROOT/var/lib/moat-extension-home/hbin/$U
jcheck "ext_host_exec runs the listed binary by name, env: PATH, HOME, TMPDIR, LANG only" \
  ".out == \"PATH=/usr/local/bin:/usr/bin:/bin\nHOME=$home\nTMPDIR=$home\nLANG=C.UTF-8\n\""
[ "$(stat -c '%u %a' "$home")" = "$U 700" ] && ok "its home is the caller's, 0700" || not_ok "home" "$(stat -c '%u %a' "$home")"
[ "$(stat -c %a "$EXT")" = 700 ] && ok "the extensions directory stays root-only" ||
  not_ok "extensions directory root-only" "$(stat -c '%n %a' "$EXT")"
J=$(host --host "$EXT" hbin /linux/probe -- write "$home/state")
JRC=$?
jcheck "writes in its home (by path: the tree is traversable)" '.out == "write: ok\n"' ||
  harness_diag "$(namei -l "$home")"
J=$(host --host "$EXT" hbin probe -- write "$EXT/hbin/data/x")
JRC=$?
jcheck "not in the extension's data dir (root's)" '.out == "write: Permission denied\n"'
J=$("$EXEC" --host "$EXT" hbin probe -- read "$EXT/hbin/extension.json")
JRC=$?
jcheck "as root: not even the extension's own record" '.out == "read: Permission denied\n"'
check_refused "a binary not in the metadata never runs" "lists no host binary \`ext-backend\`" \
  host --host "$EXT" hbin ext-backend
check_refused "nor a path out of host/" "lists no host binary" \
  host --host "$EXT" hbin ../../../../../bin/busybox
check_refused "nor an extension that is not installed" "no installed extension" \
  host --host "$EXT" nope probe
check_refused "nor a name with a path in it" "is not an extension name" \
  host --host "$EXT" ../hbin probe
# A record tampered with (root's tree, but say what happens): a listed
# path replaced by a symbolic link is not followed.
ln -sf /bin/busybox "$EXT/hbin/host/linux/probe.tmp" && mv -f "$EXT/hbin/host/linux/probe.tmp" "$EXT/hbin/host/linux/probe"
check_refused "a symbolic link in host/ is not followed" "Too many levels of symbolic links" \
  host --host "$EXT" hbin probe -- ids

# ---- update: new binaries, the home kept ----
mkext hbin '[{"path": "/linux/probe"}, {"path": "/linux/probe2"}]'
cp "$PROBE_SRC" "$HARNESS_DIR/ctx/hbin/linux/probe2"
DOCKER_BUILDKIT=0 docker -H "$MOAT_ENGINE_HOST" build -q -t acme/hbin:2 "$HARNESS_DIR/ctx/hbin" >"$HARNESS_DIR/build.log" 2>&1 ||
  harness_bail "build hbin:2" "$(tail -5 "$HARNESS_DIR/build.log")"
check_output "update to a tag with another host binary" "hbin" "$MOAT" extension update acme/hbin:2
J=$(host --host "$EXT" hbin probe2 -- read "$home/state")
JRC=$?
jcheck "the new binary runs, and the home survived update" '.out == "marker\n"'

# ---- install refusals: nothing left ----
leftovers() { ls -A "$EXT" | grep -E "^(\.staging-)?$1\$"; d ps -aq --filter "label=com.moat.extension=$1"; }
mkext hlink '[{"path": "/linux/evil"}]' /bin/busybox
check_refused "a host binary that is a symbolic link is refused at install" "host.binaries: \`evil\` is a symbolic link" \
  "$MOAT" extension install -f acme/hlink:1
[ -z "$(leftovers hlink)" ] && ok "nothing of hlink left" || not_ok "hlink leftovers" "$(leftovers hlink)"
mkext hmiss '[{"path": "/linux/missing"}]'
check_refused "a host binary missing from the image is refused" "host.binaries: \`/linux/missing\` is not in the image" \
  "$MOAT" extension install -f acme/hmiss:1
[ -z "$(leftovers hmiss)" ] && ok "nothing of hmiss left" || not_ok "hmiss leftovers" "$(leftovers hmiss)"
mkext hout '[{"path": "/../../usr/bin/docker"}]'
check_refused "a host binary path outside the image is refused" "is not a path inside the image" \
  "$MOAT" extension install -f acme/hout:1
[ -z "$(leftovers hout)" ] && ok "nothing of hout left" || not_ok "hout leftovers" "$(leftovers hout)"
check "rm removes the host binaries and homes" "$MOAT" extension rm hbin
[ ! -e "$EXT/hbin" ] && [ ! -e "$home" ] && ok "nothing of hbin left after rm (homes too)" ||
  not_ok "hbin after rm" "$(find "$EXT/hbin" "$home" | head)"

harness_done
