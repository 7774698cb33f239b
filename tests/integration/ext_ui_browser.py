#!/usr/bin/python3
"""Extension UIs in a real headless Chromium (chromium-driver, Debian's
python3-selenium), for tests/integration/test_ext_ui.sh.

Usage: ext_ui_browser.py MOAT PORT ARTIFACT_DIR PROFILE PHASE

PHASE: "first" (each UI reaches its own backend, its own localStorage,
CSP, cross-origin calls), "kept" (after update and a moat down/up: the
storage is still there), "gone" (after rm and reinstall: it is not).
The profile directory is kept between phases, as a user's browser keeps
its storage.  Prints "PASS name" or "FAIL name: detail" lines.  The
browser (tests/lib/browser.py) goes only to loopback.
"""
import os
import subprocess
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import browser  # noqa: E402  (tests/lib/browser.py)

moat, port, artifacts, profile, phase = sys.argv[1:6]
base = "http://127.0.0.1:%s" % port
report = browser.Report()
driver = browser.chromium(profile)
driver.set_script_timeout(20)
wait = WebDriverWait(driver, 20)


def in_frame(name):
    driver.switch_to.default_content()
    driver.find_element(By.ID, "tab-ext-" + name).click()
    driver.switch_to.frame(driver.find_element(By.ID, "frame-" + name))


def text_of(el_id):
    return driver.execute_script(
        "const e = document.getElementById(arguments[0]);"
        "return e ? e.textContent : null;", el_id)


def wait_text(el_id, pred):
    try:
        wait.until(lambda d: pred(text_of(el_id) or ""))
    except Exception:  # noqa: BLE001
        pass
    return text_of(el_id)


def fetch(js_call):
    """Run a fetch in the current frame: 'status N' or 'error ...'."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "(" + js_call + ").then((r) => done('status ' + r.status),"
        " (e) => done('error ' + e));")


try:
    url = subprocess.run([moat, "dashboard", "--print-url"], check=True,
                         capture_output=True, text=True).stdout.strip()
    driver.get(url)
    wait.until(EC.presence_of_element_located((By.ID, "tab-ext-ea")))
    wait.until(EC.presence_of_element_located((By.ID, "tab-ext-eb")))
    report("a tab per extension", True)

    for name in ("ea", "eb"):
        in_frame(name)
        got = wait_text("backend", lambda t: t != "waiting")
        report("%s: its UI reaches its own backend through ddClient" % name,
               got == "hello from %s" % name, got)
        report("%s: window.ddClient is there" % name,
               text_of("dd") == "object", text_of("dd"))
        stored = text_of("stored")
        if phase == "first":
            report("%s: no storage at first" % name, stored == "null", stored)
            driver.execute_script(
                "localStorage.setItem('note', 'note of ' + arguments[0]);",
                name)
        elif phase == "kept" or name == "eb":
            report("%s: its own localStorage kept (update, moat down/up)"
                   % name, stored == "note of %s" % name, stored)
        else:
            report("ea: localStorage gone after rm and reinstall",
                   stored == "null", stored)
        if phase == "first" and name == "eb":
            report("eb does not see ea's localStorage (set before)",
                   stored == "null", stored)

    if phase == "first":
        in_frame("ea")
        csp = wait_text("csp", lambda t: t.startswith("blocked"))
        report("an external script is blocked by CSP",
               "203.0.113.7" in (csp or ""), csp)
        ext_ran = driver.execute_script("return window.externalRan === true")
        report("  and did not run", not ext_ran)
        other = "http://eb.ext.localhost:%s/.moat/call" % port
        r = fetch("fetch(%r, {method: 'POST', headers: {'Content-Type': "
                  "'application/json', 'X-Moat-Token': '0'.repeat(64)}, "
                  "body: JSON.stringify({call: 'vm.service', method: 'GET', "
                  "path: '/hello'})})" % other)
        report("ea's page cannot call eb's backend", r.startswith("error"), r)
        r = fetch("fetch(%r, {method: 'POST', mode: 'no-cors', body: "
                  "JSON.stringify({call: 'vm.service', path: '/hello'})})"
                  % other)
        report("  nor with a no-cors request", r.startswith("error")
               or r == "status 0", r)
        r = fetch("fetch(%r, {credentials: 'include'})" % (base + "/api/status"))
        report("ea's page cannot read moatd's dashboard API",
               r.startswith("error"), r)
        r = fetch("fetch('/api/status', {credentials: 'include'})")
        report("  nor find it on its own origin", r == "status 404", r)
        r = fetch("fetch('/.moat/call', {method: 'POST', headers: "
                  "{'Content-Type': 'application/json', 'X-Moat-Token': "
                  "'0'.repeat(64)}, body: '{}'})")
        report("a forged token on its own origin is refused",
               r == "status 401", r)
        def dd(js):
            return driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "(" + js + ").then((r) => done('ok ' + JSON.stringify(r)),"
                " (e) => done('error ' + JSON.stringify(e) + ' ' + e));")
        r = dd("window.ddClient.docker.cli.exec('version', ['--format', "
               "'{{.Server.Version}}']).then((r) => r.lines())")
        report("ddClient.docker.cli.exec resolves with the CLI's output",
               r.startswith('ok ["') and r[5:6].isdigit(), r)
        r = dd("window.ddClient.docker.listContainers({all: true})"
               ".then((l) => Array.isArray(l) && l.every((c) => c.Id))")
        report("ddClient.docker.listContainers resolves to the engine's list",
               r == "ok true", r)
        r = dd("window.ddClient.extension.vm.cli.exec('sh', ['-c', "
               "'echo in-backend']).then((r) => r.stdout)")
        report("ddClient.extension.vm.cli.exec runs in the backend",
               r == 'ok "in-backend\\n"', r)
        r = dd("window.ddClient.extension.host.cli.exec('ids', [])")
        report("ddClient.extension.host.cli.exec rejects with the "
               "ExecResult of a failed run (code 4)",
               r.startswith("error {") and '"code":4' in r
               and '"stdout":"uid 0' in r, r)
        driver.execute_script(
            "window.ddClient.desktopUI.toast.success('hello from the page');")
        driver.switch_to.default_content()
        try:
            wait.until(lambda d: "hello from the page"
                       in d.find_element(By.ID, "toasts").text)
            report("desktopUI.toast is shown by the dashboard", True)
        except Exception as e:  # noqa: BLE001
            report("desktopUI.toast is shown by the dashboard", False,
                   repr(e))

    in_frame("ea")
    driver.switch_to.default_content()
    path = "%s/ext-ui-%s.png" % (artifacts, phase)
    report("screenshot saved %s" % path,
           browser.screenshot(driver, path) > 1000, path)
except Exception as e:  # noqa: BLE001
    report("browser %s" % phase, False, repr(e))
finally:
    driver.quit()
report.done()
