#!/usr/bin/env bash
# Shared directories get the caller's rights (docs/threat-model.md): a
# container created for a non-root caller (labels com.moat.caller.uid/gid,
# set by the engine guard; set here through the raw engine to simulate it)
# sees host directories it binds through an id mapping of that caller
# only.  Any caller's container leaves no setuid/setgid file owned by
# anyone but the caller.
. "$(dirname "$0")/../lib/harness.sh"
cd "$HARNESS_TOP"
top=$PWD
B=$MOAT_BUILD
harness_init
R=$HARNESS_DIR


MR=$R/moat
mkdir -p "$MR"
harness_engine "{\"runtimes\": {\"moat-runc\": {\"path\": \"$B/moat-runc\",
  \"runtimeArgs\": [\"--moat-root\", \"$MR\"]}}, \"default-runtime\": \"moat-runc\"}"
harness_busybox
# an image whose USER is not root
tar -C "$R/busybox-rootfs" -c . | d import --change 'USER 1000:1000' - busybox:user >/dev/null

C=1000  # the caller
U="--label com.moat.caller.uid=$C --label com.moat.caller.gid=$C"
W=$R/work
mkdir -p "$W/sub" "$R/rootdir"
chown -R $C:$C "$W"
echo mine >"$W/mine"; chown $C:$C "$W/mine"; chmod 0600 "$W/mine"
echo secret >"$W/secret"; chown 65534:65534 "$W/secret"; chmod 0600 "$W/secret"
echo pub >"$W/public"; chmod 0644 "$W/public"   # root's, world-readable
chmod 0755 "$R/rootdir"

# Everyday workflows of a non-root caller.
check "image root builds into -v \$PWD:/src" \
  d run --rm $U -v "$W:/src" -w /src busybox sh -c 'echo o > out && mkdir d && echo x > d/f && cat mine'
check "what it made is the caller's on the host ($(stat -c %u:%g "$W/out" "$W/d/f" | tr '\n' ' '))" \
  test "$(stat -c %u:%g "$W/out" "$W/d" "$W/d/f" | sort -u)" = "$C:$C"
check "the caller's files are the container root's inside" \
  test "$(d run --rm $U -v "$W:/src" busybox stat -c %u /src/mine)" = 0
check "--user 1000 writes as the caller" \
  d run --rm $U --user 1000:1000 -v "$W:/src" busybox sh -c 'echo u > /src/u1000 && test "$(stat -c %u /src/mine)" = 1000'
check "... and it lands as the caller ($(stat -c %u:%g "$W/u1000"))" \
  test "$(stat -c %u:%g "$W/u1000")" = "$C:$C"
check "an image whose USER is not root writes as the caller" \
  d run --rm $U -v "$W:/src" busybox:user sh -c 'echo n > /src/nonroot'
check "... and it lands as the caller ($(stat -c %u:%g "$W/nonroot" 2>/dev/null))" \
  test "$(stat -c %u:%g "$W/nonroot")" = "$C:$C"
check "a read-only bind is readable" \
  d run --rm $U -v "$W:/src:ro" busybox cat /src/mine /src/public
check_fails "a caller label that does not parse fails create" \
  d run --rm --label com.moat.caller.uid=1000x --label com.moat.caller.gid=1000 busybox true
check_fails "a uid label without a gid label fails create" \
  d run --rm --label com.moat.caller.uid=1000 busybox true
check "a root caller label (0) is root" \
  d run --rm --label com.moat.caller.uid=0 --label com.moat.caller.gid=0 -v "$W:/src" busybox cat /src/secret

# No more than the caller's rights.
check_fails "container root cannot read another user's 0600 file" \
  d run --rm $U -v "$W:/src" busybox cat /src/secret
check_fails "container root cannot write where the caller cannot" \
  d run --rm $U -v "$R/rootdir:/r" busybox touch /r/x
check "nothing landed there" test ! -e "$R/rootdir/x"
check_fails "container root cannot give a file away (chown 5:5: unmapped)" \
  d run --rm $U -v "$W:/src" busybox chown 5:5 /src/out
d run --rm $U -v "$W:/src" busybox sh -c 'cp /bin/busybox /src/sh && chmod 4755 /src/sh; chmod 6755 /src/out' >/dev/null 2>&1
check "container root's chmod 4755 leaves nothing setuid-root ($(stat -c '%U:%G %A' "$W/sh" 2>/dev/null))" \
  sh -c "! find '$W' -perm /6000 \\( ! -uid $C -o ! -gid $C \\) | grep -q ."
check "nothing in the shared directory belongs to root but what the test made" \
  sh -c "test -z \"\$(find '$W' -uid 0 ! -name public)\""


# A root caller (no label: the raw engine socket) keeps root's rights in
# the directory, but its container leaves no set-id file there: a
# malicious image must not plant a root backdoor.
Rt=$R/rootwork; mkdir -p "$Rt"
SETID='cp /bin/busybox /w/f; chmod 4755 /w/f; chmod 2755 /w/f; chmod u+s /w/f; install -m 4755 /bin/busybox /w/g; mkdir /w/d; chmod 2755 /w/d; true'
for mode in "" "--privileged" "--security-opt seccomp=unconfined" "--cap-add SYS_ADMIN"; do
  d run --rm $mode -v "$Rt:/w" busybox sh -c "$SETID" >/dev/null 2>&1
  check "root caller${mode:+ $mode}: no set-id file in the shared directory ($(find "$Rt" -perm /6000 | tr '\n' ' '))" \
    sh -c "! find '$Rt' -perm /6000 | grep -q ."
  rm -rf "${Rt:?}"/*
done
check "root caller: ordinary chmod, tar -x and file creation still work" \
  d run --rm -v "$Rt:/w" busybox sh -c 'echo a > /w/a && chmod 0600 /w/a && mkdir /w/t && tar -C / -cf /w/t.tar bin/ls etc && tar -C /w/t -xf /w/t.tar && test -e /w/t/etc/passwd'
check "root caller: files land as root" test "$(stat -c %u "$Rt/a")" = 0
check "root caller with a read-only bind: setuid in its own root file system works" \
  d run --rm -v "$Rt:/w:ro" busybox sh -c 'chmod 4755 /bin/busybox && test -u /bin/busybox'
check "root caller without a shared directory: setuid works (image builds)" \
  d run --rm busybox sh -c 'cp /bin/busybox /x && chmod 4755 /x && test -u /x'
check "root caller --privileged without a shared directory: setuid works" \
  d run --rm --privileged busybox sh -c 'cp /bin/busybox /x && chmod 6755 /x && test -u /x -a -g /x'

# Hole 1: a local volume whose driver mounted a host directory is judged as
# that directory, whatever its root within its file system (a bind of the
# host's / is rooted at /), and an overlay volume by its directories.
mkdir -p "$R/ovl/l" "$R/ovl/u" "$R/ovl/w"
d volume create -o type=none -o o=bind -o device=/ vroot >/dev/null
d volume create -o type=none -o o=bind -o device=../.. vrel >/dev/null
d volume create -o type=overlay -o device=overlay -o "o=lowerdir=$R/ovl/l:/etc" vovl >/dev/null
d volume create -o type=overlay -o device=overlay \
  -o "o=lowerdir=$R/ovl/l,upperdir=$R/ovl/u,workdir=$R/ovl/w" vovlok >/dev/null
d volume create -o type=tmpfs -o device=tmpfs vtmp >/dev/null
for v in vroot vrel vovl; do
  out=$(d run --rm -v $v:/h busybox sh -c 'ls /h/etc/shadow /h/shadow' 2>&1)
  check "raw engine: volume $v (a host directory outside the shared ones) refused" \
    sh -c "echo '$out' | grep -q 'enhanced container isolation: .*\\(outside the shared directories\\|socket mount denied\\)'"
done
echo x >"$R/ovl/l/f"
check "an overlay volume of shared directories is mounted" \
  d run --rm -v vovlok:/h busybox cat /h/f
check "a tmpfs volume is mounted" d run --rm -v vtmp:/h busybox sh -c 'echo x > /h/f'

harness_done
