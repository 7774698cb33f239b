#!/usr/bin/python3
"""ddClient's exec options and streamed exec in a real headless Chromium
(chromium-driver, Debian's python3-selenium), for
tests/integration/test_ext_exec.sh.

Usage: ext_exec_browser.py MOAT PORT ARTIFACT_DIR

Prints "PASS name" or "FAIL name: detail" lines.  The browser goes only
to loopback: every other request is sent to a proxy address where
nothing listens (127.0.0.1:9).
"""
import os
import subprocess
import sys
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import browser  # noqa: E402  (tests/lib/browser.py)

moat, port, artifacts = sys.argv[1:4]
report = browser.Report()


def running(marker):
    """How many host processes have marker on their command line."""
    r = subprocess.run(["pgrep", "-f", "--", marker], capture_output=True,
                       text=True)
    return len(r.stdout.split())


def gone(marker, seconds=10):
    end = time.time() + seconds
    while time.time() < end:
        if running(marker) == 0:
            return True
        time.sleep(0.2)
    return running(marker) == 0


driver = browser.chromium()
driver.set_script_timeout(30)
wait = WebDriverWait(driver, 30)


def in_frame():
    driver.switch_to.default_content()
    driver.find_element(By.ID, "tab-ext-ex").click()
    driver.switch_to.frame(driver.find_element(By.ID, "frame-ex"))


def dd(js):
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "(" + js + ").then((r) => done('ok ' + JSON.stringify(r)),"
        " (e) => done('error ' + JSON.stringify(e) + ' ' + e));")


# start_stream(VAR, KIND, CMD, ARGS, SPLIT): a streamed exec whose events
# go to window[VAR] (and to the page, shown in the screenshot)
START = """
const [v, kind, cmd, args, split] = arguments;
const ev = window[v] = {out: [], err: [], close: null, error: null};
const show = (t) => { const p = document.createElement('pre');
  p.textContent = v + ': ' + t; document.body.append(p); };
const where = kind === 'vm' ? window.ddClient.extension.vm.cli
  : kind === 'host' ? window.ddClient.extension.host.cli : window.ddClient.docker.cli;
window[v + 'P'] = where.exec(cmd, args, {stream: {
  splitOutputLines: split,
  onOutput(d) { if (d.stdout !== undefined) ev.out.push(d.stdout); else ev.err.push(d.stderr);
                show(JSON.stringify(d)); },
  onError(e) { ev.error = String(e.message || e); show('error ' + ev.error); },
  onClose(c) { ev.close = c; show('close ' + c); },
}});
return typeof window[v + 'P'].close;
"""


def ev(v):
    return driver.execute_script("return window[arguments[0]];", v)


def wait_ev(v, pred, secs=20):
    end = time.time() + secs
    while time.time() < end:
        e = ev(v)
        if e is not None and pred(e):
            return e
        time.sleep(0.2)
    return ev(v)


try:
    url = subprocess.run([moat, "dashboard", "--print-url"], check=True,
                         capture_output=True, text=True).stdout.strip()
    driver.get(url)
    wait.until(EC.presence_of_element_located((By.ID, "tab-ext-ex")))
    in_frame()
    wait.until(lambda d: d.execute_script(
        "return typeof window.ddClient") == "object")

    r = dd("window.ddClient.extension.host.cli.exec('envs', [], {cwd: 'sub',"
           " env: {LANG: 'C', LD_PRELOAD: '/tmp/evil.so', PATH: '/evil'}})"
           ".then((r) => r.stdout)")
    report("host.cli.exec with {cwd, env}: cwd used, LANG kept, LD_PRELOAD "
           "and PATH dropped",
           r.startswith("ok ") and "/sub\\n" in r and "LANG=C" in r
           and "LD_PRELOAD" not in r and "/evil" not in r, r)

    t = driver.execute_script(START, "vm1", "vm", "sh",
                              ["-c", "echo a; sleep 1; echo b >&2; exit 5"],
                              True)
    report("a streamed exec returns a process with close()",
           t == "function", t)
    e = wait_ev("vm1", lambda e: e["close"] is not None or e["error"])
    report("vm.cli.exec streamed: onOutput stdout and stderr lines, then "
           "onClose(5)", e["out"] == ["a"] and e["err"] == ["b"]
           and e["close"] == 5, e)

    driver.execute_script(START, "h1", "host", "ticks", ["mark-br-1"], True)
    e = wait_ev("h1", lambda e: len(e["out"]) >= 2)
    report("host.cli.exec streamed, a line a second (splitOutputLines)",
           e["out"][:2] == ["tick 0", "tick 1"], e)
    report("  its process runs meanwhile", running("mark-br-1") == 1,
           running("mark-br-1"))
    driver.execute_script("window.h1P.close();")
    report("  close() kills it", gone("mark-br-1"), running("mark-br-1"))
    e = ev("h1")
    report("  and no onClose or onError after close()",
           e["close"] is None and e["error"] is None, e)

    driver.execute_script(START, "d1", "docker", "version",
                          ["--format", "{{.Client.Os}}"], False)
    e = wait_ev("d1", lambda e: e["close"] is not None or e["error"])
    report("docker.cli.exec streamed", "".join(e["out"]) == "linux\n"
           and e["close"] == 0, e)

    driver.execute_script(START, "u1", "host", "sh", [], False)
    e = wait_ev("u1", lambda e: e["close"] is not None or e["error"])
    report("a streamed unlisted binary: onError",
           e["error"] is not None and "lists no host binary" in e["error"],
           e)

    driver.switch_to.default_content()
    path = "%s/ext-exec-stream.png" % artifacts
    report("screenshot saved %s" % path,
           browser.screenshot(driver, path) > 1000, path)

    # a stream left open when the page goes away (the frame reloads)
    in_frame()
    driver.execute_script(START, "h2", "host", "ticks", ["mark-br-2"], True)
    wait_ev("h2", lambda e: len(e["out"]) >= 1)
    report("a stream left open runs", running("mark-br-2") == 1,
           running("mark-br-2"))
    driver.execute_script("location.reload();")
    report("  the page reloaded: it is killed", gone("mark-br-2"),
           running("mark-br-2"))
except Exception as e:  # noqa: BLE001
    report("browser", False, repr(e))
finally:
    driver.quit()
report.done()
