#!/usr/bin/env bash
# Bindings whose answer the guard never saw (docs/engine-eci-checks.md,
# "Bindings in flight").  The guard recorded who bound an image name only
# after it read the engine's answer.  User B pipelines `GET
# /containers/bsrc/logs` (hundreds of KB) and `POST /images/bimg:1/tag` on
# one connection and never reads: the guard stops reading the engine
# (back-pressure), the engine applies the tag all the same, no record was
# made, and user A's `docker run <tag>` ran B's code.  Now the guard enters
# a non-root caller's names as "in flight" before the request reaches the
# engine; until the answer is seen, another user's create (and start) of
# that name is refused, and it stays so when B goes away unanswered.  A tag
# the engine refuses (no such source image) leaves no blame.  Two real
# non-root users on a real `moat up` stack; payload: a marker file in B's
# image, read with cat.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_eci_stack
harness_two_users moatua moatub
raw() { docker -H "$MOAT_ENGINE_HOST" "$@"; }

# B's container writes ~1.5 MB of log, and B's image carries the marker
out=$(as_b docker run --name bsrc busybox sh -c 'i=0; while [ $i -lt 1500 ]; do head -c 999 /dev/zero | tr "\0" x; echo; i=$((i+1)); done; echo b-code >/marker' 2>&1 | tail -c 100)
out=$(as_b docker commit bsrc bimg:1 2>&1) || harness_bail "setup: B's commit" "$out"
bid=$(raw image inspect -f '{{.Id}}' bimg:1) || harness_bail "setup: bimg:1"

# hold.py SOCK SECONDS N: logs?tail=N then a tag to tN, pipelined, never read
cat >"$HARNESS_DIR/hold.py" <<'EOP'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
n = sys.argv[3].encode()
s.sendall(b"GET /v1.41/containers/bsrc/logs?stdout=1&tail=" + n + b" HTTP/1.1\r\nHost: x\r\n\r\n"
          b"POST /v1.41/images/bimg:1/tag?repo=t" + n + b"&tag=latest HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
time.sleep(float(sys.argv[2]))
EOP
chmod 0644 "$HARNESS_DIR/hold.py"
chmod 0755 "$HARNESS_DIR"
sizes="250 300 400 500 700"
pids=
for n in $sizes; do
  as_b python3 "$HARNESS_DIR/hold.py" "${MOAT_GUARD_HOST#unix://}" 120 "$n" &
  pids="$pids $!"
done
HARNESS_EXTRA_CLEANUP="${HARNESS_EXTRA_CLEANUP:+$HARNESS_EXTRA_CLEANUP; }for p in $pids; do kill \$p 2>/dev/null; done"
tagged=
for _ in $(seq 1 60); do
  tagged=
  for n in $sizes; do
    [ "$(raw image inspect -f '{{.Id}}' "t$n" 2>/dev/null)" = "$bid" ] && tagged="$tagged $n"
  done
  [ -n "$tagged" ] && break
  sleep 1
done
harness_diag "tagged by the engine:${tagged:- none}"
# refused NAME N OUT: A refused - as for a binding in flight when the guard
# never saw the answer (sets inflight=N), as for B's recorded binding when
# it did - and B's code never ran
inflight=
refused() {
  local flight="${E}image \"t$2\" is being given that name by another user (uid $BUID) whose request moat has not seen answered; run it by its id ($bid) if you trust it"
  local seen="${E}image \"t$2\" was given that name by another user (uid $BUID); run it by its id ($bid)"
  case "$3" in
    *b-code*) not_ok "$1" "A ran B's code: $3" ;;
    *"$flight"*) ok "$1 (binding in flight)"; inflight=${inflight:-$2} ;;
    *"$seen"*) ok "$1 (binding recorded)" ;;
    *) not_ok "$1" "$3" ;;
  esac
}
if [ -z "$tagged" ]; then
  skip "A's run of a name B bound on a connection B never reads" "no size made the engine apply the tag in time here"
else
  for n in $tagged; do
    refused "t$n: bound by B, answer left unread: A's run refused" "$n" "$(as_a docker run --rm "t$n" cat /marker 2>&1)"
  done
fi
if [ -z "$inflight" ]; then
  skip "a binding whose answer the guard never saw" "the guard read every answer here"
else
  n=$inflight
  check_output "t$n: B's own run of its binding in flight passes" b-code as_b docker run --rm "t$n" cat /marker
  # B goes away without ever reading: the answer may never be seen
  for p in $pids; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  sleep 2
  refused "t$n: B gone unanswered: A's run still refused" "$n" "$(as_a docker run --rm "t$n" cat /marker 2>&1)"
  # A's create by id passes (the way out the message gives)
  check_output "t$n: A's run by id passes" b-code as_a docker run --rm "$bid" cat /marker
fi

# a tag the engine refuses binds nothing: no blame is left
check_fails "B's tag of a missing image fails" as_b docker tag nosuch-moat:1 tmiss:1
check "A tags busybox tmiss:1" as_a docker tag busybox tmiss:1
check_output "A's run of tmiss:1 after B's failed tag passes" a-ok as_a docker run --rm tmiss:1 echo a-ok
# a tag B's client reads: recorded as B's (the in-flight entry replaced)
check "B tags bimg:1 tread:1" as_b docker tag bimg:1 tread:1
check_refused "A's run of tread:1 refused as B's binding" \
  "${E}image \"tread:1\" was given that name by another user (uid $BUID)" \
  as_a docker run --rm tread:1 cat /marker
for p in $pids; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
harness_done
