#!/usr/bin/python3
"""An extension page's service worker, in a real headless Chromium
(tests/lib/browser.py), for tests/integration/test_ext_ui_red.sh.

Usage: ext_sw_browser.py MOAT PORT PROFILE PHASE

PHASE "register": the page of the installed extension `sw` tries to
register a service worker on its origin (a hostile extension's: it would
outlive the extension's removal and answer for the next extension installed
under the same name).  "after": after rm and the install of another image
named `sw`, its frame shows that image's own page, not something an earlier
install's worker answered.  The profile directory is kept between phases,
as a user's browser keeps its service workers.  PHASE "gen-write": the
page of extension `gen` keeps data in IndexedDB and the origin private
file system; "gen-read": after rm and the install of another image named
`gen`, whose script looks at once, that data is gone.  Prints "PASS name" or
"FAIL name: detail" lines; the browser goes only to loopback.
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

moat, port, profile, phase = sys.argv[1:5]
report = browser.Report()
driver = browser.chromium(profile)
driver.set_script_timeout(20)
wait = WebDriverWait(driver, 20)


def in_frame(name):
    driver.switch_to.default_content()
    wait.until(EC.presence_of_element_located((By.ID, "tab-ext-" + name)))
    driver.find_element(By.ID, "tab-ext-" + name).click()
    driver.switch_to.frame(driver.find_element(By.ID, "frame-" + name))


try:
    url = subprocess.run([moat, "dashboard", "--print-url"], check=True,
                         capture_output=True, text=True).stdout.strip()
    driver.get(url)
    in_frame("gen" if phase.startswith("gen-") else "sw")
    if phase.startswith("gen-"):
        try:
            wait.until(lambda d: d.execute_script(
                "const e = document.getElementById('out');"
                "return e && e.textContent !== 'waiting';"))
        except Exception:  # noqa: BLE001
            pass
        out = driver.execute_script(
            "const e = document.getElementById('out');"
            "return e ? e.textContent : null;")
        if phase == "gen-write":
            report("gen: the first install's page keeps data in the browser",
                   out == "written", out)
        else:
            report("gen: the next install under the name finds none of the "
                   "earlier install's data (IndexedDB, origin private file "
                   "system, storage buckets)", out == "found []", out)
    elif phase == "register":
        wait.until(EC.presence_of_element_located((By.ID, "evil")))
        r = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.serviceWorker.register('/sw.js', {scope: '/'})"
            ".then(() => navigator.serviceWorker.ready)"
            ".then(() => done('registered'), (e) => done('refused ' + e));")
        report("an extension page cannot register a service worker",
               r.startswith("refused"), r)
    else:
        try:
            wait.until(lambda d: d.execute_script(
                "return document.getElementById('legit') !== null"
                " || document.getElementById('owned') !== null"))
        except Exception:  # noqa: BLE001
            pass
        legit = driver.execute_script(
            "return document.getElementById('legit') !== null")
        owned = driver.execute_script(
            "return document.getElementById('owned') !== null")
        report("the new install's frame shows its own page, not an earlier "
               "install's service worker's", legit and not owned,
               "legit=%s owned=%s body=%r" % (legit, owned, driver.execute_script(
                   "return document.body ? document.body.innerHTML : null")))
except Exception as e:  # noqa: BLE001
    report("browser %s" % phase, False, repr(e))
finally:
    driver.quit()
report.done()
