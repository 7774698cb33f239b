#!/usr/bin/env python3
"""Raw HTTP probes of the engine guard socket (no client library in the way).

usage: rawhttp.py SOCKET CASE   -- prints "PASS ..." or "FAIL ..." and exits
0 / 1.  Cases exercise what real clients never send: malformed requests,
oversized heads and bodies, an HTTP/2 preface, a client that never finishes
its head, pipelined requests."""
import json
import socket
import sys
import time


def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


_pending = {}


def read_response(s, head_only=False):
    """Read one response with a Content-Length body; return (status, headers, body).
    Bytes past the response stay buffered for the next call (pipelining)."""
    data = _pending.pop(id(s), b"")
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/1."):
        return None, {}, data
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if head_only:
        return status, hdrs, rest
    n = int(hdrs.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    _pending[id(s)] = rest[n:]
    return status, hdrs, rest[:n]


def closed_within(s, seconds):
    s.settimeout(seconds)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True


def main():
    path, case = sys.argv[1], sys.argv[2]
    ok = False
    s = conn(path)
    if case == "ping-head":
        s.sendall(b"HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        st, h, _ = read_response(s, head_only=True)
        ok = st == 200 and "api-version" in h
        print(("PASS" if ok else "FAIL"), st, h)
    elif case == "keepalive":
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /v1.41/containers/json HTTP/1.1\r\nHost: x\r\n\r\n")
        a = read_response(s)
        b = read_response(s)
        s.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        c = read_response(s)
        ok = a[0] == 200 and b[0] == 200 and c[0] == 200
        print(("PASS" if ok else "FAIL"), a[0], b[0], c[0])
    elif case.startswith("blocked:"):
        # blocked:URI -- second request of a kept-alive connection is refused
        uri = case[len("blocked:"):]
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        a = read_response(s)
        s.sendall(b"POST " + uri.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        st, h, body = read_response(s)
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        c = read_response(s)
        msg = json.loads(body)["message"] if body else ""
        want = ('enhanced container isolation: docker command "%s" is blocked; '
                'if you wish to allow it, configure the docker socket command '
                'list in the moat admin settings.' % uri)
        ok = (a[0] == 200 and st == 403 and h.get("content-type") == "application/json"
              and msg == want and c[0] == 200)
        print(("PASS" if ok else "FAIL"), st, h.get("content-type"), repr(msg), c[0])
    elif case.startswith("expect403:"):
        uri = case[len("expect403:"):]
        s.sendall(b"POST " + uri.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        st, h, body = read_response(s)
        msg = json.loads(body)["message"] if body else ""
        ok = st == 403 and msg.startswith("enhanced container isolation: ")
        print(("PASS" if ok else "FAIL"), st, repr(msg))
    elif case.startswith("stress:"):
        # stress:CONTAINER -- 1000 idle kept-alive connections and 100
        # concurrent `logs -f` streams; a new client is still served at once
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        name = case[len("stress:"):]
        idle = []
        for i in range(1000):
            c = conn(path)
            if i % 2:
                c.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
                read_response(c)
            idle.append(c)
        streams = []
        for i in range(100):
            c = conn(path)
            c.sendall(b"GET /v1.41/containers/" + name.encode() +
                      b"/logs?follow=1&stdout=1&tail=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            streams.append(c)
        got = 0
        for c in streams:
            st, h, rest = read_response(c, head_only=True)
            data = rest
            while b"tick" not in data:
                d = c.recv(4096)
                if not d:
                    break
                data += d
            got += st == 200 and b"tick" in data
        t = time.time()
        o = conn(path)
        o.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        st = read_response(o)[0]
        dt = time.time() - t
        # the streams still flow after the burst
        c = streams[-1]
        more = c.recv(4096)
        ok = got == 100 and st == 200 and dt < 2 and len(more) > 0
        print(("PASS" if ok else "FAIL"), "streams=%d ping=%d in %.3fs" % (got, st, dt))
    elif case.startswith("raw200-exec:") or case.startswith("upgrade-exec:"):
        # exec start in the raw "200 OK" form (no Upgrade header) or the
        # "101 UPGRADED" form: stdin sent, half-closed, output read to EOF
        kind, _, name = case.partition(":")
        body = json.dumps({"AttachStdin": True, "AttachStdout": True,
                           "AttachStderr": True, "Cmd": ["sh", "-c", "cat; echo after-eof"]}).encode()
        s.sendall(b"POST /v1.41/containers/" + name.encode() + b"/exec HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        st, h, rb = read_response(s)
        eid = json.loads(rb)["Id"]
        sb = b'{"Detach":false,"Tty":false}'
        up = b"Connection: Upgrade\r\nUpgrade: tcp\r\n" if kind == "upgrade-exec" else b""
        s.sendall(b"POST /v1.41/exec/" + eid.encode() + b"/start HTTP/1.1\r\nHost: x\r\n" + up +
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(sb), sb))
        # stdin once the engine has answered (it drops earlier bytes itself)
        data = b""
        while b"\r\n\r\n" not in data:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.sendall(b"hello-stdin\n")
        s.shutdown(socket.SHUT_WR)
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        want_status = b" 101 " if kind == "upgrade-exec" else b" 200 "
        ok = (want_status in data.split(b"\r\n", 1)[0] and b"hello-stdin" in data
              and b"after-eof" in data)
        print(("PASS" if ok else "FAIL"), data if not ok else len(data))
    elif case == "malformed":
        s.sendall(b"GET /_ping HTTP/1.1\r\nHo st: x\r\n\r\n")
        st, h, body = read_response(s)
        ok = st == 400 and h.get("content-type") == "application/json" and b"message" in body
        print(("PASS" if ok else "FAIL"), st, body[:80])
    elif case == "bigheader":
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(100):
                s.sendall(b"X-Pad: " + b"a" * 1000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        st, h, body = read_response(s)
        ok = st == 431 and closed_within(s, 5)
        print(("PASS" if ok else "FAIL"), st, body[:80])
    elif case == "h2":
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        st, h, body = read_response(s)
        ok = closed_within(s, 5)
        print(("PASS" if ok else "FAIL"), st, body[:80])
    elif case == "slowloris":
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost")
        t = time.time()
        # another client is served meanwhile
        o = conn(path)
        o.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        other = read_response(o)[0]
        ok = closed_within(s, 8) and other == 200
        print(("PASS" if ok else "FAIL"), "closed after %.1fs" % (time.time() - t), other)
    elif case == "bigbody":
        n = 2 * 1024 * 1024
        s.sendall(b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % n)
        s.sendall(b" " * n)
        st, h, body = read_response(s)
        ok = st == 413 and b"message" in body
        print(("PASS" if ok else "FAIL"), st, body[:80])
    elif case == "chunked-create":
        body = json.dumps({"Image": "busybox", "HostConfig": {"PidMode": "host"}}).encode()
        s.sendall(b"POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(body), 7):
            part = body[i:i + 7]
            s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        s.sendall(b"0\r\n\r\n")
        st, h, rb = read_response(s)
        ok = st == 403 and b"pid namespace" in rb
        print(("PASS" if ok else "FAIL"), st, rb[:100])
    elif case == "fold-key":
        # Go's JSON decoder matches keys case-insensitively and folds U+017F
        body = ('{"Image":"busybox","HostConfig":{"PidMode":"","pidmode":"host"}}').encode()
        s.sendall(b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        st, h, rb = read_response(s)
        ok = st in (400, 403)
        print(("PASS" if ok else "FAIL"), st, rb[:100])
    elif case == "pct-path":
        s.sendall(b"GET /v1.41/containers%2Fjson HTTP/1.1\r\nHost: x\r\n\r\n")
        st, h, rb = read_response(s)
        print(("PASS" if st == 200 else "FAIL"), st, rb[:80])
    else:
        print("FAIL unknown case", case)
        sys.exit(2)
    sys.exit(0 if ok else 1)


main()
