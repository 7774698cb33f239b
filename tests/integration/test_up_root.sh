#!/usr/bin/env bash
# A root no container can use: `moat up` on a MOAT_ROOT of mode 0700 (what
# `mktemp -d` makes) makes moat's own directories searchable by others, as
# dockerd does for its data root, and containers run; a parent directory
# moat does not own that blocks them is refused at `moat up`, by name; and
# `moat status` / `moat verify` never call a stack healthy when no
# container could start.
. "$(dirname "$0")/../lib/harness.sh"

harness_init

# A parent that is not moat's: refused before anything starts.
parent=$HARNESS_DIR/locked
mkdir -m 0700 "$parent" && mkdir -m 0755 "$parent/root"
out=$(MOAT_ROOT=$parent/root MOAT_ENGINE_NETNS=$HARNESS_NETNS "$MOAT" up -d 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -qF "\`$parent\` is not searchable by others" <<<"$out"; then
  ok "moat up refuses a root below a parent others cannot search, naming it"
else
  not_ok "moat up refuses a root below a parent others cannot search, naming it" "exit $rc" "$out"
  MOAT_ROOT=$parent/root "$MOAT" down >/dev/null 2>&1
fi
if [ "$(stat -c %a "$parent")" = 700 ]; then
  ok "a directory moat does not own keeps its mode"
else
  not_ok "a directory moat does not own keeps its mode" "$(stat -c %a "$parent")"
fi
[ ! -e "$parent/root/run/moat/stack.json" ] && ok "the refused moat up recorded no stack" \
  || not_ok "the refused moat up recorded no stack"

# MOAT_ROOT itself (and below) is moat's: 0700 becomes 0711.
chmod 0700 "$MOAT_ROOT"
harness_up
harness_busybox
mode=$(stat -c %a "$MOAT_ROOT")
[ "$mode" = 711 ] && ok "moat up made MOAT_ROOT 0711" || not_ok "moat up made MOAT_ROOT 0711" "mode $mode"
check_output "a container runs on a root that was 0700" hi docker run --rm busybox echo hi
check "moat status is healthy" "$MOAT" status

# A non-root docker CLI whose HOME is below $MOAT_ROOT/var (where the
# extensions' host binaries get their per-user homes) loads its config
# without a warning: moat up made the new $MOAT_ROOT/var with its log
# directory's 0750, which hid everything below it.  The new parents are
# searchable, not listable; the logs and the state db stay root's.
harness_docker_user moatr
vhome=$MOAT_ROOT/var/lib/moat-test-home/$TUID
mkdir -p "$vhome/.docker" && echo '{}' >"$vhome/.docker/config.json" &&
  chown -R "$TUID:$TGID" "$vhome" && chmod 0700 "$vhome"
as_user env HOME="$vhome" docker version >"$HARNESS_DIR/version.out" 2>"$HARNESS_DIR/version.err"
rc=$?
if [ $rc -eq 0 ] && ! grep -qi 'warning' "$HARNESS_DIR/version.err"; then
  ok "a non-root docker version with HOME below \$MOAT_ROOT/var prints no warning"
else
  not_ok "a non-root docker version with HOME below \$MOAT_ROOT/var prints no warning" "exit $rc" "$(cat "$HARNESS_DIR/version.err")"
fi
check_output "\$MOAT_ROOT/var is searchable, not listable, by others" 751 stat -c %a "$MOAT_ROOT/var"
check_output "  and var/log" 751 stat -c %a "$MOAT_ROOT/var/log"
check_fails "  the test user cannot list \$MOAT_ROOT/var" as_user ls "$MOAT_ROOT/var"
check_output "the log directory stays 0750" 750 stat -c %a "$MOAT_ROOT/var/log/moat"
check_fails "  the test user cannot read moatd's log" as_user cat "$MOAT_ROOT/var/log/moat/moatd.log"
check_output "the state db stays 0600" 600 stat -c %a "$MOAT_ROOT/var/lib/moat/state.db"
check_fails "  the test user cannot read it" as_user cat "$MOAT_ROOT/var/lib/moat/state.db"

# Something below the root becomes unsearchable after moat up: status says
# so (and is not healthy), verify fails the check, naming the directory.
chmod 0700 "$MOAT_ROOT/run"
st=$("$MOAT" status 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q "NOT healthy" <<<"$st" \
   && grep -qF "\`$MOAT_ROOT/run\` is not searchable by others" <<<"$st"; then
  ok "moat status is not healthy when no container could start, and names the directory"
else
  not_ok "moat status is not healthy when no container could start, and names the directory" "exit $rc" "$st"
fi
sj=$("$MOAT" status --json 2>&1)
if jq -e '.healthy == false and .root.searchable == false and (.root.error | contains("is not searchable"))' <<<"$sj" >/dev/null; then
  ok "moat status --json: root.searchable false"
else
  not_ok "moat status --json: root.searchable false" "$sj"
fi
check_fails "a container cannot start then (the check is right)" docker run --rm busybox true
vj=$("$MOAT" verify --json 2>&1)
if jq -e '.passed == false and any(.checks[]; .check == "containers can start under MOAT_ROOT" and .passed == false and (.detail | contains("is not searchable")))' <<<"$vj" >/dev/null; then
  ok "moat verify fails the root check"
else
  not_ok "moat verify fails the root check" "$vj"
fi
chmod 0755 "$MOAT_ROOT/run"
sj=$("$MOAT" status --json 2>&1)
if jq -e '.healthy == true and .root.searchable == true' <<<"$sj" >/dev/null; then
  ok "moat status healthy again once it is searchable"
else
  not_ok "moat status healthy again once it is searchable" "$sj"
fi
harness_done
