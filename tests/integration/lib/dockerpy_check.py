#!/usr/bin/env python3
"""docker-py (python3-docker) through the engine guard: run, refusal with the
contract message, a hijacked attach socket with stdin and half-close.
usage: dockerpy_check.py SOCKET   -> prints PASS or FAIL <why>"""
import socket
import sys

import docker

c = docker.DockerClient(base_url="unix://" + sys.argv[1])
try:
    out = c.containers.run("busybox", "echo py-hello", remove=True)
    assert out == b"py-hello\n", out
    try:
        c.containers.run("busybox", "true", pid_mode="host", remove=True)
        raise AssertionError("pid_mode=host was not refused")
    except docker.errors.APIError as e:
        want = ("enhanced container isolation: containers can't share the pid "
                "namespace with the host")
        assert e.explanation == want, e.explanation
    ct = c.containers.create("busybox", "cat", stdin_open=True)
    s = ct.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
    ct.start()
    raw = s._sock
    raw.sendall(b"xyz-from-py\n")
    raw.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        d = raw.recv(4096)
        if not d:
            break
        data += d
    ct.wait(timeout=20)
    ct.remove()
    assert b"xyz-from-py" in data, data
    assert ct.client.api.inspect_container  # keep the linter quiet
    print("PASS")
except Exception as e:  # noqa: BLE001 - report any failure as one line
    print("FAIL", repr(e))
    sys.exit(1)
