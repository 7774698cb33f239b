#!/usr/bin/python3
"""pacparser (python3-pacparser) in process on the same PAC and hosts as
bench/pac_bench.c.  Usage: pac_pacparser.py PACFILE N DISTINCT_HOSTS"""
import sys
import time

import pacparser

HOSTS = ["www.example.com", "api.github.com", "git01.example.org",
         "x.cdn.example.net", "build-07.ci.example.com", "a.b.c.blocked.example",
         "login.bank.example", "mirror.update.example.com", "hub.docker.io",
         "bucket.s3.eu-west-1.amazonaws.com", "10.1.2.3", "8.8.4.4",
         "old.legacy.example", "partner.partner.example", "news.example.net",
         "shop.example.co.uk"]


def main():
    pac, n, distinct = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    pacparser.init()
    pacparser.parse_pac_file(pac)
    work = []
    for i in range(n):
        k = i % distinct
        h = HOSTS[k] if k < 16 else "h%d.%s" % (k, HOSTS[k % 16])
        port = 443 if i & 1 else 80
        work.append(("%s://%s:%d" % ("https" if port == 443 else "http", h, port), h))
    for u, h in work[:200]:
        pacparser.find_proxy(u, h)
    t = time.perf_counter()
    for u, h in work:
        pacparser.find_proxy(u, h)
    sec = time.perf_counter() - t
    print("pacparser decisions=%d distinct=%d seconds=%.3f us_per_decision=%.2f "
          "decisions_per_s=%.0f" % (n, distinct, sec, sec * 1e6 / n, n / sec))
    pacparser.cleanup()


main()
