#!/usr/bin/env python3
"""A syslog collector for tests: receives on 127.0.0.1 only.

syslog_rx.py udp|tcp|tcp-stall PORTFILE OUTFILE

udp: one message per datagram.  tcp: RFC 6587 octet-counted frames
("MSG-LEN SP SYSLOG-MSG"), parsed strictly: a frame that is not
NONZERO-DIGIT *DIGIT SP is written as a BADFRAME record and the
connection closed.  tcp-stall: accepts and never reads (a collector that
does not keep up).  Each message is appended to OUTFILE as one JSON line
{"raw": <base64>} (or {"badframe": ...})."""
import base64, json, os, socket, sys, threading

mode, port_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()

def emit(obj):
    with lock, open(out, "a") as f:
        f.write(json.dumps(obj) + "\n")

def publish(port):
    open(port_file + ".tmp", "w").write(str(port))
    os.rename(port_file + ".tmp", port_file)

def serve_tcp_conn(c):
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            if buf:
                emit({"badframe": "connection ended inside a frame",
                      "rest": base64.b64encode(buf).decode()})
            return
        buf += d
        while buf:
            sp = buf.find(b" ")
            if sp < 0:
                if len(buf) > 10:
                    emit({"badframe": "no MSG-LEN"})
                    return
                break
            head = buf[:sp]
            if not head or head[:1] == b"0" or not head.isdigit() or len(head) > 10:
                emit({"badframe": "bad MSG-LEN %r" % head[:20]})
                return
            n = int(head)
            if len(buf) < sp + 1 + n:
                break
            emit({"raw": base64.b64encode(buf[sp + 1:sp + 1 + n]).decode()})
            buf = buf[sp + 1 + n:]

if mode == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    publish(s.getsockname()[1])
    while True:
        d = s.recv(70000)
        emit({"raw": base64.b64encode(d).decode()})
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mode == "tcp-stall":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    publish(s.getsockname()[1])
    held = []
    while True:
        c, _ = s.accept()
        if mode == "tcp-stall":
            held.append(c)  # never read
            emit({"accepted": True})
            continue
        threading.Thread(target=serve_tcp_conn, args=(c,), daemon=True).start()
