#!/usr/bin/python3
"""The dashboard in a real headless Chromium (chromium-driver, Debian's
python3-selenium), for tests/integration/test_dashboard.sh.

Usage: dashboard_browser.py MOAT PORT CONTAINER ARTIFACT_DIR OUT_COOKIE

Prints one line per check: "PASS name" or "FAIL name: detail"; the shell
test counts them.  The browser goes only to 127.0.0.1: every other request
is sent to a proxy address where nothing listens (127.0.0.1:9), and
Chromium's background traffic is turned off.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import browser  # noqa: E402  (tests/lib/browser.py)

moat, port, container, artifacts, out_cookie = sys.argv[1:6]
base = "http://127.0.0.1:%s" % port
report = browser.Report()


def ticket():
    return subprocess.run([moat, "dashboard", "--print-url"], check=True,
                          capture_output=True, text=True).stdout.strip()


def text(by, what):
    return driver.find_element(by, what).text


profile = tempfile.mkdtemp(prefix="chromium-", dir=artifacts)
driver = browser.chromium(profile)
wait = WebDriverWait(driver, 15)
try:
    # Without a session: only how to get one.
    driver.get(base + "/")
    body = driver.find_element(By.TAG_NAME, "body").text
    report("no session: the page says to run moat dashboard",
           "moat dashboard" in body
           and not driver.find_elements(By.ID, "tab-settings"), body[:200])

    # Ticket sign-in.
    url = ticket()
    driver.get(url)
    try:
        wait.until(EC.presence_of_element_located((By.ID, "tab-settings")))
        wait.until(lambda d: "signed in as uid" in text(By.ID, "who"))
        report("ticket sign-in lands on the dashboard",
               driver.current_url == base + "/", driver.current_url)
    except Exception as e:  # noqa: BLE001
        report("ticket sign-in lands on the dashboard", False, repr(e))

    cookies = {c["name"]: c for c in driver.get_cookies()}
    c = cookies.get("moat_session", {})
    report("cookie is HttpOnly", c.get("httpOnly") is True, json.dumps(c))
    report("cookie is SameSite=Strict", c.get("sameSite") == "Strict",
           json.dumps(c))
    report("cookie path is /", c.get("path") == "/", json.dumps(c))
    report("cookie is not readable from JavaScript",
           "moat_session" not in driver.execute_script(
               "return document.cookie"), "")
    with open(out_cookie, "w") as f:
        f.write(c.get("value", ""))

    # The same ticket again.
    driver.get(url)
    report("a used ticket is refused",
           bool(driver.find_elements(By.ID, "ticket-refused")),
           driver.page_source[:300])
    # An expired one (moatd runs with a short ticket lifetime here).
    late = ticket()
    time.sleep(float(os.environ.get("TICKET_WAIT_S", "4")))
    driver.get(late)
    report("an expired ticket is refused",
           bool(driver.find_elements(By.ID, "ticket-refused")),
           driver.page_source[:300])

    driver.get(base + "/")
    wait.until(EC.presence_of_element_located((By.ID, "tab-settings")))
    # Status and its charts.
    try:
        wait.until(EC.presence_of_element_located((By.ID, "svg-ranges")))
        wait.until(EC.presence_of_element_located((By.ID, "svg-refusals")))
        report("status shows the charts (inline SVG)", True)
    except Exception as e:  # noqa: BLE001
        report("status shows the charts (inline SVG)", False, repr(e))

    # Settings: the locked one disabled, with the words.
    driver.find_element(By.ID, "tab-settings").click()
    row_sel = 'tr[data-key="enhancedContainerIsolation"]'
    try:
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, row_sel)))
        row = driver.find_element(By.CSS_SELECTOR, row_sel)
        ctl = driver.find_element(By.ID, "set-enhancedContainerIsolation")
        report("the locked setting is disabled", not ctl.is_enabled(),
               row.get_attribute("outerHTML")[:300])
        report("the locked setting says \"locked by your administrator\"",
               "locked by your administrator" in row.text, row.text)
    except Exception as e:  # noqa: BLE001
        report("the locked setting is disabled", False, repr(e))

    # An unlocked one changed from the page.
    key = "containersProxy.http"
    try:
        inp = driver.find_element(By.ID, "set-" + key)
        inp.clear()
        inp.send_keys("http://from-the-page:3128")
        driver.find_element(
            By.CSS_SELECTOR, 'tr[data-key="%s"] button' % key).click()
        wait.until(lambda d: "set to" in text(By.ID, "settings-msg"))
        shown = json.loads(subprocess.run(
            [moat, "settings", "show", "--json"], check=True,
            capture_output=True, text=True).stdout)
        row = [r for r in shown if r["key"] == key]
        report("a setting changed on the page is in moat settings show",
               row and row[0]["value"] == "http://from-the-page:3128"
               and row[0]["source"] == "user", json.dumps(row))
    except Exception as e:  # noqa: BLE001
        report("a setting changed on the page is in moat settings show",
               False, repr(e))

    # Containers.
    driver.find_element(By.ID, "tab-containers").click()
    try:
        wait.until(lambda d: container in text(By.ID, "containers"))
        rows = [r.text for r in driver.find_elements(
            By.CSS_SELECTOR, "#containers tbody tr") if container in r.text]
        report("the container is listed with an id range and its runtime",
               rows and "moat-runc" in rows[0]
               and "none" not in rows[0].split()[3:4], json.dumps(rows))
    except Exception as e:  # noqa: BLE001
        report("the container is listed with an id range and its runtime",
               False, repr(e))

    # The audit log, live.
    driver.find_element(By.ID, "tab-audit").click()
    try:
        wait.until(lambda d: "live" == text(By.ID, "live"))
        subprocess.run([moat, "settings", "set", "containersProxy.https",
                        "http://live-record:1"], check=True,
                       capture_output=True)
        wait.until(lambda d: "containersProxy.https" in text(By.ID, "audit"))
        report("the audit log shows a new record without a reload", True)
    except Exception as e:  # noqa: BLE001
        report("the audit log shows a new record without a reload", False,
               repr(e))
    driver.find_element(By.ID, "tab-net").click()
    time.sleep(0.5)
    driver.find_element(By.ID, "tab-status").click()
    time.sleep(0.5)
    shot = os.path.join(artifacts, "dashboard.png")
    report("screenshot saved", browser.screenshot(driver, shot) > 1000, shot)
    driver.find_element(By.ID, "tab-settings").click()
    time.sleep(0.5)
    browser.screenshot(driver,
                       os.path.join(artifacts, "dashboard-settings.png"))
finally:
    driver.quit()
report.done()
