#!/usr/bin/python3
"""ddClient.extension.vm.service.get round trip (bench/ext/run.sh).

Usage: roundtrip.py MOAT PORT N BACKEND_PID TMPDIR
"""
import os
import socket
import statistics
import subprocess
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

moat, port, n, pid, tmp = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    sys.argv[4], sys.argv[5]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


# Directly on the socket, resolved in the container's root: open the
# root, then the socket path relative to it (the backend plants no link).
root = os.open("/proc/%s/root" % pid, os.O_PATH | os.O_DIRECTORY)
direct = []
for _ in range(n):
    t0 = time.perf_counter()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("/proc/self/fd/%d/run/guest-services/backend.sock" % root)
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              b"Content-Length: 0\r\n\r\n")
    while s.recv(4096):
        pass
    s.close()
    direct.append((time.perf_counter() - t0) * 1000)

opts = webdriver.ChromeOptions()
for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
          "--disable-dev-shm-usage", "--no-first-run",
          "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--proxy-server=http://127.0.0.1:9",
          "--user-data-dir=" + tmp + "/bench-profile"):
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                          options=opts)
driver.set_script_timeout(600)
try:
    url = subprocess.run([moat, "dashboard", "--print-url"], check=True,
                         capture_output=True, text=True).stdout.strip()
    driver.get(url)
    WebDriverWait(driver, 20).until(
        EC.presence_of_element_located((By.ID, "frame-bx")))
    driver.switch_to.frame(driver.find_element(By.ID, "frame-bx"))
    via = driver.execute_async_script("""
const done = arguments[arguments.length - 1], n = arguments[0];
(async () => {
  await window.ddClient.extension.vm.service.get("/hello");  // sign-in
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await window.ddClient.extension.vm.service.get("/hello");
    out.push(performance.now() - t0);
  }
  done(out);
})().catch((e) => done(String(e)));
""", n)
finally:
    driver.quit()
if isinstance(via, str):
    print("ddClient failed: " + via)
    sys.exit(1)
for name, xs in (("backend socket directly", direct),
                 ("ddClient vm.service.get (browser->moatd->backend)", via)):
    print("%s: n=%d median %.2f ms p90 %.2f ms p99 %.2f ms" %
          (name, len(xs), statistics.median(xs), pct(xs, 90), pct(xs, 99)))
print("overhead (median): %.2f ms" %
      (statistics.median(via) - statistics.median(direct)))
