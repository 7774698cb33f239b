#!/usr/bin/env python3
"""A hostile client of moatd's control socket, for test_moatd_ctl.sh.

hold SOCK N WAIT  open N connections and send nothing; after 1 s print how
                  many were refused (an error line or EOF), then wait up to
                  WAIT s and print how many of the rest moatd closed.
flood SOCK T      send `{}\\n` as fast as the socket takes it for T s, on
                  one connection, counting the replies; print the counts.

Output: one JSON object per line on stdout.
"""
import json
import os
import select
import socket
import sys
import time


def _connected(s):
    try:
        s.getpeername()
        return True
    except OSError:
        return False


def hold(path, n, wait):
    socks, errors = [], []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        # A full listen backlog answers EAGAIN at once: retry for 2 s.
        deadline = time.monotonic() + 2
        while True:
            try:
                s.connect(path)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    errors.append("backlog full")
                    break
                time.sleep(0.005)
            except OSError as e:
                errors.append(str(e))
                break
        if not _connected(s):
            s.close()
            continue
        s.setblocking(False)
        socks.append(s)
    time.sleep(1)
    live, refused, msg = [], 0, ""
    for s in socks:
        try:
            data = s.recv(4096)
            refused += 1
            if data and not msg:
                msg = data.decode(errors="replace").strip()
            s.close()
        except BlockingIOError:
            live.append(s)
        except OSError:
            refused += 1
            s.close()
    print(json.dumps({"connected": len(socks), "connect_errors": len(errors),
                      "refused": refused, "open": len(live), "msg": msg}),
          flush=True)
    t0 = time.monotonic()
    closed = 0
    while live and time.monotonic() - t0 < wait:
        r, _, _ = select.select(live, [], [], 0.5)
        for s in r:
            try:
                s.recv(4096)
            except OSError:
                pass
            closed += 1
            live.remove(s)
            s.close()
    print(json.dumps({"closed_by_moatd": closed, "still_open": len(live),
                      "after_s": round(time.monotonic() - t0, 1)}),
          flush=True)


def flood(path, secs):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.setblocking(False)
    chunk = b"{}\n" * 4096
    pending = memoryview(chunk)
    sent_lines = replies = 0
    buf = b""
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        r, w, _ = select.select([s], [s], [], 0.1)
        if w:
            try:
                k = s.send(pending)
                sent_lines += pending[:k].tobytes().count(b"\n")
                pending = pending[k:]
                if len(pending) == 0:
                    pending = memoryview(chunk)
            except BlockingIOError:
                pass
            except OSError:
                break
        if r:
            try:
                data = s.recv(65536)
            except BlockingIOError:
                data = None
            except OSError:
                break
            if data == b"":
                break
            if data:
                buf += data
                replies += buf.count(b"\n")
                buf = buf[buf.rfind(b"\n") + 1:]
    elapsed = time.monotonic() - t0
    s.close()
    print(json.dumps({"sent": sent_lines, "replies": replies,
                      "elapsed_s": round(elapsed, 2)}), flush=True)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "hold":
        hold(path, int(sys.argv[3]), float(sys.argv[4]))
    elif mode == "flood":
        flood(path, float(sys.argv[3]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
