#!/usr/bin/python3
"""Dashboard load: page (HTML + script + data) latency, and audit stream
followers.  Used by bench/dashboard/run.sh (which starts the stack).

  load.py MOAT PORT PAGES FOLLOWERS RECORDS

Prints JSON: page p50/p95/max (ms) loaded back to back, the same after
1.1 s idle each (the list is then older than its 1 s: moatd serves the
last one and fetches a new one meanwhile), and for FOLLOWERS streams:
records each got, and the time from the last record's write to its
arrival at the last follower.
"""
import http.client
import json
import socket
import subprocess
import sys
import threading
import time

moat, port, pages, followers, records = sys.argv[1:6]
port, pages, followers, records = int(port), int(pages), int(followers), int(records)


def session():
    url = subprocess.run([moat, "dashboard", "--print-url"], check=True,
                         capture_output=True, text=True).stdout.strip()
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("GET", url[url.index("/login"):])
    r = c.getresponse()
    r.read()
    cookie = r.getheader("Set-Cookie").split(";")[0]
    c.close()
    return cookie


cookie = session()
HDR = {"Cookie": cookie, "Host": "127.0.0.1:%d" % port}
PAGE = ["/", "/app.js", "/app.css", "/api/session", "/api/status",
        "/api/charts", "/api/settings", "/api/containers",
        "/api/audit?limit=200"]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def page_once(c):
    t0 = time.perf_counter()
    n = 0
    for p in PAGE:
        c.request("GET", p, headers=HDR)
        r = c.getresponse()
        body = r.read()
        assert r.status == 200, (p, r.status, body[:200])
        if p == "/api/containers":
            n = len(json.loads(body))
    return (time.perf_counter() - t0) * 1000, n


c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(20):  # warm: the runtimes of every container inspected once
    page_once(c)
    time.sleep(0.05)
warm = []
for _ in range(pages):
    ms, n = page_once(c)
    warm.append(ms)
cold = []
for _ in range(15):
    time.sleep(1.1)  # the list is older than its 1 s: refreshed meanwhile
    ms, n = page_once(c)
    cold.append(ms)
out = {"containers": n,
       "page_cached_ms": {"n": len(warm), "p50": pct(warm, .5),
                          "p95": pct(warm, .95), "max": max(warm)},
       "page_after_1s_idle_ms": {"n": len(cold), "p50": pct(cold, .5),
                               "p95": pct(cold, .95), "max": max(cold)}}

# Followers: raw sockets reading the event stream.
got = [0] * followers
last_at = [0.0] * followers
ready = threading.Barrier(followers + 1)
marker = "bench-%d" % int(time.time())


def follow(i):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("GET /api/audit/stream HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Cookie: %s\r\n\r\n" % (port, cookie)).encode())
    buf = b""
    while b"moat audit stream" not in buf:
        buf += s.recv(65536)
    ready.wait()
    s.settimeout(30)
    buf = b""
    try:
        while got[i] < records:
            d = s.recv(65536)
            if not d:
                break
            buf += d
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                if marker.encode() in ev:
                    got[i] += 1
                    last_at[i] = time.perf_counter()
    except socket.timeout:
        pass
    s.close()


ts = [threading.Thread(target=follow, args=(i,)) for i in range(followers)]
for t in ts:
    t.start()
ready.wait()
t0 = time.perf_counter()
for k in range(records):
    subprocess.run([moat, "settings", "set", "containersProxy.https",
                    "http://%s-%d:1" % (marker, k)], check=True,
                   capture_output=True)
t_last_write = time.perf_counter()
for t in ts:
    t.join()
out["followers"] = {"n": followers, "records": records,
                    "all_records_everywhere": all(g == records for g in got),
                    "min_got": min(got),
                    "writes_s": round(t_last_write - t0, 3),
                    "last_delivery_after_last_write_ms":
                        round((max(last_at) - t_last_write) * 1000, 2)}
print(json.dumps(out, indent=1))
