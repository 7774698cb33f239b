#!/usr/bin/env bash
# Shared directories with the caller's rights, end to end: a real non-root
# user of the docker group (made here, removed at teardown) talks to the
# guarded socket; the guard labels its containers with its uid/gid and
# moat-runc id-maps its binds to that user only (issue 10, "Shared
# directories get the caller's rights", hole 5).  Root's containers may not
# plant set-id files either.  The payloads are files the test made.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_eci_stack
harness_docker_user moatr
# The user's project directory in the shared /tmp, and beside it a secret
# of root's and a directory the user may not write.
W=$(mktemp -d /tmp/moat-rights-XXXXXX)
HARNESS_EXTRA_CLEANUP="$HARNESS_EXTRA_CLEANUP; rm -rf '$W'"
chmod 0755 "$W"
mkdir "$W/proj" && chown "$TUSER:$TUSER" "$W/proj"
echo root-secret >"$W/secret" && chmod 0600 "$W/secret"
mkdir "$W/rootdir" && chmod 0755 "$W/rootdir"
owner() { stat -c '%u:%g %a' "$1" 2>/dev/null; }

# Everyday workflows
out=$(as_user docker run --rm -v "$W/proj:/src" busybox sh -c 'echo built >/src/out && mkdir /src/obj && echo ok' 2>&1)
[ "$out" = ok ] && [ "$(owner "$W/proj/out")" = "$TUID:$TGID 644" ] &&
  [ "$(stat -c %u "$W/proj/obj")" = "$TUID" ] &&
  ok "the image's root builds into -v \$PWD; files land owned by the user" ||
  not_ok "the image's root builds into -v \$PWD" "$out" "$(ls -ln "$W/proj")"
out=$(as_user docker run --rm --user 1000 -v "$W/proj:/src" busybox sh -c 'echo u >/src/u1000 && cat /src/out' 2>&1)
[ "$out" = built ] && [ "$(stat -c %u "$W/proj/u1000" 2>/dev/null)" = "$TUID" ] &&
  ok "--user 1000 reads and writes the user's files as the user" ||
  not_ok "--user 1000 reads and writes the user's files" "$out" "$(ls -ln "$W/proj")"
docker -H "$MOAT_ENGINE_HOST" build -q -t nonroot:1 - >/dev/null 2>&1 <<'EOD'
FROM busybox:latest
USER 4321:4321
EOD
out=$(as_user docker run --rm -v "$W/proj:/src" nonroot:1 sh -c 'id -u; echo n >/src/n4321' 2>&1)
[ "$out" = 4321 ] && [ "$(stat -c %u "$W/proj/n4321" 2>/dev/null)" = "$TUID" ] &&
  ok "an image whose USER is not root writes as the user" ||
  not_ok "an image whose USER is not root writes as the user" "$out" "$(ls -ln "$W/proj")"

# No more than the user
out=$(as_user docker run --rm -v "$W:/w" busybox sh -c 'cat /w/secret' 2>&1)
case $out in *root-secret*) not_ok "root's 0600 file stays unreadable" "$out" ;;
  *) ok "root's 0600 file in a shared directory stays unreadable to the container's root" ;; esac
as_user docker run --rm -v "$W:/w" busybox sh -c 'echo x >/w/rootdir/planted' >/dev/null 2>&1
[ ! -e "$W/rootdir/planted" ] && ok "a directory the user cannot write stays unwritten" ||
  not_ok "a directory the user cannot write stays unwritten" "$(ls -ln "$W/rootdir")"
as_user docker run --rm -v "$W:/w" busybox sh -c 'chown 0:0 /w/proj/out' >/dev/null 2>&1
[ "$(stat -c %u "$W/proj/out")" = "$TUID" ] && ok "the container cannot give the user's file to root" ||
  not_ok "the container cannot give the user's file to root" "$(owner "$W/proj/out")"

# A missing bind source: dockerd would create it, as host root, wherever
# the path points.  For a non-root caller the guard creates it as the
# caller, or refuses where the caller could not.
out=$(as_user docker run --rm -v "$W/rootdir/made/deep:/x" busybox true 2>&1)
if [ -e "$W/rootdir/made" ]; then
  not_ok "a missing bind source the user cannot create is not created" "$(ls -ln "$W/rootdir")" "$out"
else
  case $out in *'enhanced container isolation: bind mount of "'"$W/rootdir/made/deep"'" denied; it does not exist and you may not create it'*)
    ok "a missing bind source the user cannot create is refused and not created" ;;
  *) not_ok "a missing bind source the user cannot create is refused with its reason" "$out" ;; esac
fi
out=$(as_user docker run --rm -v "$W/proj/new/sub:/x" busybox sh -c 'echo in >/x/f && echo ok' 2>&1)
[ "$out" = ok ] && [ "$(owner "$W/proj/new")" = "$TUID:$TGID 755" ] &&
  [ "$(owner "$W/proj/new/sub")" = "$TUID:$TGID 755" ] &&
  [ "$(stat -c %u "$W/proj/new/sub/f" 2>/dev/null)" = "$TUID" ] &&
  ok "a missing bind source the user may create is created as the user" ||
  not_ok "a missing bind source the user may create is created as the user" "$out" "$(ls -lnR "$W/proj/new")"
mkdir "$W/proj/gone" && chown "$TUID:$TGID" "$W/proj/gone"
ln -s "$W/rootdir" "$W/proj/gone/link"
out=$(as_user docker run --rm -v "$W/proj/gone/link/viasym:/x" busybox true 2>&1)
[ ! -e "$W/rootdir/viasym" ] && ok "a missing bind source behind a symlink is not created where the user may not" ||
  not_ok "a missing bind source behind a symlink is not created" "$(ls -ln "$W/rootdir")" "$out"

mkdir -p "$W/closed/sub" && chmod 0700 "$W/closed"
check_refused "a bind source the user cannot reach is refused, saying why" \
  "bind mount of \"$W/closed/sub\" denied; you may not reach it" \
  as_user docker run --rm -v "$W/closed/sub:/x" busybox true
check_refused "a --mount bind source that does not exist is refused, not made" \
  "bind mount of \"$W/proj/absent\" denied; it does not exist" \
  as_user docker run --rm --mount "type=bind,src=$W/proj/absent,dst=/x" busybox true
[ ! -e "$W/proj/absent" ] || not_ok "--mount made its missing source" "$(ls -ln "$W/proj")"

# The engine makes a missing bind source at every start, not only at
# create: a source swapped for a symlink after the create must not take it
# (as host root) anywhere the user could not go.
mkdir -p "$W/proj/sw/x" && chown -R "$TUID:$TGID" "$W/proj/sw"
cid=$(as_user docker create -v "$W/proj/sw/x:/x" busybox true 2>&1)
as_user sh -c "rm -rf '$W/proj/sw' && ln -s '$W/rootdir' '$W/proj/sw'"
out=$(as_user docker start -a "$cid" 2>&1)
[ ! -e "$W/rootdir/x" ] && ok "a bind source swapped for a symlink after create is not made at start" ||
  not_ok "a bind source swapped for a symlink after create is not made at start" "$(ls -ln "$W/rootdir")" "$out"
as_user docker rm -f "$cid" >/dev/null 2>&1
out=$(as_user docker inspect -f '{{json .HostConfig.Binds}}' "$(as_user docker create -v "$W/proj:/src" busybox true)" 2>&1)
case $out in *'/run/moat/bind-standin:/src"'*) ok "the engine is given the stand-in, not the user's path ($out)" ;;
  *) not_ok "the engine is given the stand-in, not the user's path" "$out" ;; esac

as_user docker create --name vfrom -v "$W/proj:/src" busybox true >/dev/null 2>&1
out=$(as_user docker run --rm --volumes-from vfrom busybox ls /src 2>&1)
case $out in *'--volumes-from "vfrom" denied; its bind mounts are reached with its creator'*)
  ok "--volumes-from a container with a user's binds is refused, saying why" ;;
  *) not_ok "--volumes-from a container with a user's binds is refused" "$out" ;; esac
as_user docker rm -f vfrom >/dev/null 2>&1

# Set-id: a non-root user's container can only make set-id files of the
# user's own; root's container (the set-id guard) none at all.
as_user docker run --rm -v "$W/proj:/src" busybox sh -c 'touch /src/s && chmod 4755 /src/s' >/dev/null 2>&1
m=$(owner "$W/proj/s")
case $m in "0:"*) not_ok "a non-root user's container plants no root set-id file" "$m" ;;
  *) ok "a non-root user's container plants no root set-id file ($m)" ;; esac
mkdir "$W/rootproj"
out=$(docker run --rm -v "$W/rootproj:/h" busybox sh -c 'touch /h/s; chmod 4755 /h/s; chmod 2755 /h/s; cp -p /bin/busybox /h/b 2>/dev/null; chmod u+s /h/b; ls -ln /h' 2>&1)
n=$(find "$W/rootproj" -perm /6000 | wc -l)
[ "$n" = 0 ] && ok "root's container leaves no set-id file in a shared directory" ||
  not_ok "root's container leaves no set-id file" "$(ls -ln "$W/rootproj")" "$out"
out=$(docker run --rm --privileged -v "$W/rootproj:/h" busybox sh -c 'touch /h/p; chmod 4755 /h/p' 2>&1)
n=$(find "$W/rootproj" -perm /6000 | wc -l)
[ "$n" = 0 ] && ok "a privileged container of root's leaves no set-id file either" ||
  not_ok "a privileged container of root's leaves no set-id file" "$(ls -ln "$W/rootproj")" "$out"

# A file capability is a set-id bit by other means: written through a bind
# whose ids are the host's, a v3 security.capability names host root as its
# rootid and holds on the host.  Directly (CAP_SETFCAP is dropped) and from
# a nested user namespace of a privileged container (which regains it).
cp "${MOAT_BUILD:-build}/tests/fcap-probe" "$W/rootproj/probe" && chmod 0755 "$W/rootproj/probe"
touch "$W/rootproj/fc"
o1=$(docker run --rm -v "$W/rootproj:/h" busybox /h/probe /h/fc 2>&1)
o2=$(docker run --rm --privileged -v "$W/rootproj:/h" busybox /h/probe --nested /h/fc 2>&1)
o3=$(as_user docker run --rm -v "$W/proj:/src" -v "$W/rootproj:/h:ro" busybox /h/probe /h/fc 2>&1)
caps=$(getcap "$W/rootproj/fc" 2>&1)
[ -z "$caps" ] && ok "no container leaves a file capability on a shared file ($o1 / $o2)" ||
  not_ok "no container leaves a file capability on a shared file" "$caps" "$o1" "$o2" "$o3"
# docker exec: dockerd's exec process carries the container's original
# capabilities (CAP_SETFCAP among them); moat-runc drops it there too.
touch "$W/rootproj/fcx"
docker run -d --name fcx -v "$W/rootproj:/h" busybox sleep 600 >/dev/null 2>&1
o4=$(docker exec fcx /h/probe /h/fcx 2>&1)
docker rm -f fcx >/dev/null 2>&1
caps=$(getcap "$W/rootproj/fcx" 2>&1)
[ -z "$caps" ] && ok "nor does a process docker exec'd into root's container ($o4)" ||
  not_ok "nor does a process docker exec'd into root's container" "$caps" "$o4"

# moat verify as the user: the set-id check runs with the user's rights.
out=$(as_user env HOME="$UHOME" "$MOAT" verify 2>&1)
grep -q '^PASS  no set-id file planted in a shared directory' <<<"$out" &&
  ok "moat verify's set-id check passes for a docker-group user" ||
  not_ok "moat verify's set-id check passes for a docker-group user" "$(grep 'set-id' <<<"$out")"
harness_done
