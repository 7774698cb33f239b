#!/usr/bin/env python3
"""A strict RFC 5424 parser for moat's audit export tests.

rfc5424_check.py MAXBYTES < records (syslog_rx.py's JSON lines)

Every message must match the RFC's ABNF (section 6) exactly, and moat's
profile (docs/audit-export.md): VERSION 1, APP-NAME moatd, a TIMESTAMP with
six fractional digits and a numeric offset, one SD element moat@32473 with
an id, PRI = facility*8 + the severity of its outcome, MSG the record's
JSON (ASCII, no BOM) unless truncated="N" says it was cut, and at most
MAXBYTES bytes.  Prints one JSON object per message (the parsed fields,
SD values unescaped); exits 1 at the first violation, naming it."""
import base64, json, re, sys

MAX = int(sys.argv[1])
PRINTUS = set(range(33, 127))
SEV = {"refused": 4, "rejected": 4, "denied": 4, "blocked": 4, "killed": 4,
       "error": 3, "failed": 3, "allowed": 6}

class Bad(Exception):
    pass

def field(b, i, maxlen, name):
    j = b.find(b" ", i)
    if j < 0:
        raise Bad("%s: no SP after it" % name)
    v = b[i:j]
    if v != b"-":
        if not 1 <= len(v) <= maxlen or any(c not in PRINTUS for c in v):
            raise Bad("%s %r: not 1*%dPRINTUSASCII" % (name, v, maxlen))
    return v.decode("ascii"), j + 1

def sd_name(b, i, what):
    j = i
    while j < len(b) and b[j] in PRINTUS and b[j] not in b'= ]"':
        j += 1
    if not 1 <= j - i <= 32:
        raise Bad("%s at %d: not an SD-NAME" % (what, i))
    return b[i:j].decode("ascii"), j

def param_value(b, i):
    out = bytearray()
    while True:
        if i >= len(b):
            raise Bad("PARAM-VALUE not closed")
        c = b[i]
        if c == 0x5c:  # backslash
            if i + 1 >= len(b):
                raise Bad("backslash at the end")
            n = b[i + 1]
            if n in b'"\\]':
                out.append(n)
            else:
                out += bytes([c, n])  # RFC 6.3.3: kept as is
            i += 2
            continue
        if c == 0x22:
            break
        if c == 0x5d:
            raise Bad("unescaped ] in PARAM-VALUE")
        if c < 0x20 or c == 0x7f:
            raise Bad("control byte 0x%02x in PARAM-VALUE" % c)
        out.append(c)
        i += 1
    try:
        return out.decode("utf-8"), i + 1
    except UnicodeDecodeError:
        raise Bad("PARAM-VALUE is not UTF-8")

def parse(b):
    m = re.match(rb"<(0|[1-9][0-9]{0,2})>([1-9][0-9]{0,2}) ", b)
    if not m:
        raise Bad("PRI VERSION SP")
    pri, ver = int(m.group(1)), int(m.group(2))
    if pri > 191:
        raise Bad("PRIVAL %d > 191" % pri)
    i = m.end()
    ts, i = field(b, i, 64, "TIMESTAMP")
    if ts != "-" and not re.fullmatch(
            r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)",
            ts):
        raise Bad("TIMESTAMP %r" % ts)
    host, i = field(b, i, 255, "HOSTNAME")
    app, i = field(b, i, 48, "APP-NAME")
    procid, i = field(b, i, 128, "PROCID")
    msgid, i = field(b, i, 32, "MSGID")
    sd = {}
    if b[i:i + 1] == b"-":
        i += 1
    else:
        if b[i:i + 1] != b"[":
            raise Bad("STRUCTURED-DATA")
        while b[i:i + 1] == b"[":
            sid, i = sd_name(b, i + 1, "SD-ID")
            if "@" not in sid and sid not in ("timeQuality", "origin", "meta"):
                raise Bad("SD-ID %r is neither registered nor name@PEN" % sid)
            if "@" in sid and not re.fullmatch(r"[^@]+@[0-9]+(\.[0-9]+)*", sid):
                raise Bad("SD-ID %r" % sid)
            params = {}
            while b[i:i + 1] == b" ":
                name, i = sd_name(b, i + 1, "PARAM-NAME")
                if b[i:i + 2] != b'="':
                    raise Bad("PARAM %s: no =\"" % name)
                params[name], i = param_value(b, i + 2)
            if b[i:i + 1] != b"]":
                raise Bad("SD-ELEMENT %s not closed" % sid)
            i += 1
            sd[sid] = params
    msg = None
    if i < len(b):
        if b[i:i + 1] != b" ":
            raise Bad("no SP before MSG")
        msg = b[i + 1:]
    return dict(pri=pri, version=ver, timestamp=ts, hostname=host, app=app,
                procid=procid, msgid=msgid, sd=sd, msg=msg)

def profile(p, raw):
    if len(raw) > MAX:
        raise Bad("%d bytes > %d" % (len(raw), MAX))
    if p["version"] != 1 or p["app"] != "moatd":
        raise Bad("VERSION/APP-NAME")
    if not re.fullmatch(r".*T\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d", p["timestamp"]):
        raise Bad("TIMESTAMP without micros and offset: %s" % p["timestamp"])
    if not p["procid"].isdigit():
        raise Bad("PROCID")
    s = p["sd"].get("moat@32473")
    if s is None or not s.get("id", "").isdigit():
        raise Bad("no moat@32473 element with an id")
    if p["pri"] % 8 != SEV.get(s.get("outcome"), 5):
        raise Bad("severity %d for outcome %s" % (p["pri"] % 8, s.get("outcome")))
    msg = p["msg"] or b""
    if msg.startswith(b"\xef\xbb\xbf") or any(c > 126 or c < 32 for c in msg):
        raise Bad("MSG is not printable ASCII")
    if "truncated" in s:
        if int(s["truncated"]) <= len(msg):
            raise Bad("truncated= but MSG is whole")
        p["json"] = None
    else:
        p["json"] = json.loads(msg)
        if str(p["json"]["id"]) != s["id"]:
            raise Bad("SD id differs from MSG id")
    p["msg"] = msg.decode("ascii")
    p["bytes"] = len(raw)

n = 0
for line in sys.stdin:
    rec = json.loads(line)
    if "raw" not in rec:
        if "badframe" in rec:
            print("BAD FRAME: %s" % rec["badframe"], file=sys.stderr)
            sys.exit(1)
        continue
    raw = base64.b64decode(rec["raw"])
    try:
        p = parse(raw)
        profile(p, raw)
    except (Bad, ValueError) as e:
        print("message %d violates RFC 5424 / moat's profile: %s\n%r"
              % (n, e, raw[:400]), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(p))
    n += 1
