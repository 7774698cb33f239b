#!/usr/bin/python3
"""A registry token server for tests: Docker Registry v2 token
authentication, as Docker Hub's auth.docker.io does it, for a
docker-registry configured with `auth: token` and this server's
certificate as its rootcertbundle.

usage: token_server.py PORT KEY CERT ISSUER MODEFILE LOGFILE

Every GET /token?service=S&scope=repository:NAME:ACTIONS gets a JWT
(RS256, the certificate in its x5c header) granting the asked actions.
MODEFILE, read at each request, changes the answer: "deny" -> 401,
"garbage" -> 200 with a body that is not JSON, "inject" -> a token holding
CR LF.  Each request's query is appended to LOGFILE."""
import base64
import http.server
import json
import os
import sys
import time
import urllib.parse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

port, key_path, cert_path, issuer, mode_file, log_path = sys.argv[1:7]
with open(key_path, "rb") as f:
    key = serialization.load_pem_private_key(f.read(), password=None)
with open(cert_path, "rb") as f:
    cert = x509.load_pem_x509_certificate(f.read())
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def mode():
    try:
        with open(mode_file) as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, body, ctype="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        with open(log_path, "a") as f:
            f.write(url.query + "\n")
        if url.path != "/token":
            return self.answer(404, "{}")
        m = mode()
        if m == "deny":
            return self.answer(401, '{"details":"no anonymous tokens"}')
        if m == "garbage":
            return self.answer(200, "<html>not a token</html>", "text/html")
        if m == "inject":
            return self.answer(200, json.dumps({"token": "a\r\nX-Injected: 1"}))
        q = urllib.parse.parse_qs(url.query)
        access = []
        for scope in q.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name,
                           "actions": [a for a in actions.split(",") if a]})
        now = int(time.time())
        claims = {"iss": issuer, "sub": "", "aud": q.get("service", [""])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": base64.b16encode(os.urandom(8)).decode(),
                  "access": access}
        token = jwt.encode(claims, key, algorithm="RS256",
                           headers={"x5c": [x5c]})
        self.answer(200, json.dumps({"token": token, "expires_in": 300}))


http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
