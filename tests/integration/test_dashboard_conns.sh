#!/usr/bin/env bash
# The dashboard's connection limits (docs/dashboard.md): one local user
# that opens connections as fast as the server closes them gets at most
# 64 open (per uid), and another user still gets the page; without the
# per-uid limit the first user held all 512 and locked everyone out.
. "$(dirname "$0")/../lib/harness.sh"
harness_init

harness_free_port
HARNESS_DASHBOARD_PORT=$port harness_up
harness_two_users dcona dconb

# The hog (user A): keeps 600 connections open, opening a new one for each
# the server closes (a request is never sent, so each also lives at most
# the 10 s a begun request has), and writes how many are open to its file
# each round.
cat >"$HARNESS_DIR/hog.py" <<'PY'
import os, select, socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
conns = []
while True:
    while len(conns) < 600:
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            break
        conns.append(s)
    time.sleep(0.5)
    live = []
    for s in conns:
        r, _, _ = select.select([s], [], [], 0)
        if r:
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    s.close()
                    continue
            except OSError:
                s.close()
                continue
        live.append(s)
    conns = live
    with open(out + ".tmp", "w") as f:
        f.write("%d\n" % len(conns))
    os.replace(out + ".tmp", out)
PY
chmod 0755 "$HARNESS_DIR/hog.py"
install -d -o "$AUID" -g "$AGID" "$HARNESS_DIR/hog"
harness_spawn hog setpriv --reuid="$AUID" --regid="$AGID" --init-groups \
  /usr/bin/python3 "$HARNESS_DIR/hog.py" "$port" "$HARNESS_DIR/hog/open" >/dev/null

# Wait for the hog's first round, then a few more (its count then
# reflects the server's closing of the connections over its limit).
for _ in $(seq 600); do
  [ -s "$HARNESS_DIR/hog/open" ] && break
  sleep 0.1
done
sleep 3
last=$(cat "$HARNESS_DIR/hog/open" 2>/dev/null)
[ -n "$last" ] || harness_bail "the hog ran" "$(cat "$HARNESS_DIR/hog.log")"
[ "$last" -le 64 ] && ok "one uid holds at most 64 connections ($last)" ||
  not_ok "one uid holds at most 64 connections" "it holds $last"

# User B, while A keeps hammering: the page answers (401 without a session
# is the page telling how to sign in); three tries, each its own curl.
got=
for _ in 1 2 3; do
  got=$(setpriv --reuid="$BUID" --regid="$BGID" --init-groups \
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base/")
  [ "$got" = 401 ] && break
  sleep 0.5
done
[ "$got" = 401 ] && ok "another uid still gets the page" ||
  not_ok "another uid still gets the page" "HTTP ${got:-none} (A holds $(cat "$HARNESS_DIR/hog/open"))"
# And A itself is refused past its limit, not served.
got=$(setpriv --reuid="$AUID" --regid="$AGID" --init-groups \
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base/")
[ "$got" != 401 ] && ok "the hog's own uid is over its limit (HTTP ${got:-none})" ||
  skip "the hog's own uid is over its limit" "a connection of the hog was closed just then"

harness_kill hog
# Once A has let go, A is served again.
got=
for _ in $(seq 20); do
  got=$(setpriv --reuid="$AUID" --regid="$AGID" --init-groups \
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base/")
  [ "$got" = 401 ] && break
  sleep 0.5
done
[ "$got" = 401 ] && ok "the uid is served again once it closed its connections" ||
  not_ok "the uid is served again once it closed its connections" "HTTP ${got:-none}"

harness_done
