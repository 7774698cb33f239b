"""Headless Chromium for the browser tests (chromium-driver, Debian's
python3-selenium): tests/integration/dashboard_browser.py, ext_ui_browser.py and
ext_exec_browser.py import it.

The browser goes only to loopback: every request that is not for
127.0.0.1 or localhost names goes to a proxy address where nothing
listens (127.0.0.1:9), and Chromium's own background traffic (updates,
sync, translation, domain reliability reports) is turned off.
"""
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMEDRIVER = "/usr/bin/chromedriver"
ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-default-apps",
        "--disable-domain-reliability", "--disable-features=Translate",
        "--proxy-server=http://127.0.0.1:9", "--window-size=1280,900")


def chromium(profile=None):
    """A headless Chromium whose profile (cookies, localStorage) lives in
    the directory `profile` (None: a fresh temporary one)."""
    opts = webdriver.ChromeOptions()
    extra = ("--user-data-dir=" + profile,) if profile else ()
    for a in ARGS + extra:
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def screenshot(driver, path):
    """Save the window as a PNG at path (an artifact the test keeps);
    its size in bytes, 0 when nothing was written."""
    driver.save_screenshot(path)
    return os.path.getsize(path) if os.path.exists(path) else 0


class Report:
    """One line per check, "PASS name" or "FAIL name: detail", which the
    shell test counts; done() exits 1 when any check failed."""

    def __init__(self):
        self.failed = 0

    def __call__(self, name, ok, detail=""):
        if ok:
            print("PASS %s" % name, flush=True)
        else:
            self.failed += 1
            print("FAIL %s: %s" % (name, detail), flush=True)

    def done(self):
        sys.exit(1 if self.failed else 0)
