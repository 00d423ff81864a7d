"""Screenshot of the live page (examples/figures/live_view.png): a real `spacexnet serve` seen by headless Chromium.

Starts the service on a free loopback port, opens `/` in Debian's Chromium
(driven by Selenium through /usr/bin/chromedriver: no browser download),
plays the clock for a few seconds at 60x, fills the compare table, runs the
page's ten-minute sweep (each policy over time, with its handover marks),
opens the first handover, and saves the page. tests/test_browser_page.py drives the page with the same helpers.

    python examples/live_view.py [OUT.png]
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from spacexnet.io import atomic_target

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
OUT = Path(__file__).resolve().parent / "figures" / "live_view.png"
WINDOW_PX = (1600, 1000)
#: Browser window of the screenshot: tall enough for the whole latency panel.
SCREENSHOT_PX = (1600, 1450)


def chromium_driver(window_px=WINDOW_PX):
    """Headless Chromium under Selenium, with the browser console kept for ``get_log("browser")``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={window_px[0]},{window_px[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def wait_for(driver, script: str, timeout_s: float = 60.0, what: str = ""):
    """Poll ``return (script)`` in the page until it is truthy; its value (AssertionError after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        if time.monotonic() > deadline:
            state = driver.execute_script("return JSON.stringify(window.__spacexnet && {ready: window.__spacexnet.ready,"
                                          " drawn: window.__spacexnet.drawn, errors: window.__spacexnet.errors})")
            raise AssertionError(f"waited {timeout_s:g} s for {what or script}; page state {state}")
        time.sleep(0.2)


PAGE_READY = ("window.__spacexnet && window.__spacexnet.ready && window.__spacexnet.drawn > 0 "
              "&& window.__spacexnet.latency !== null")


@contextlib.contextmanager
def serve(*options):
    """``spacexnet serve`` on a free loopback port; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, "-m", "spacexnet", "serve", "--port", str(port), "--data-dir", tmp,
                                 "--log-level", "warning", *options], stdin=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                with contextlib.suppress(OSError):
                    with urllib.request.urlopen(f"{base}/health", timeout=5):
                        break
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("spacexnet serve did not start")
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main(out=OUT) -> Path:
    out = Path(out)
    with serve() as base:
        driver = chromium_driver(SCREENSHOT_PX)
        try:
            driver.get(f"{base}/?speed=60")
            wait_for(driver, PAGE_READY, what="the page")
            driver.find_element("id", "compare-button").click()
            wait_for(driver, "document.querySelectorAll('#compare tbody tr').length > 0", 300, "the compare table")
            driver.find_element("id", "play").click()
            time.sleep(4)
            driver.find_element("id", "play").click()
            driver.find_element("id", "sweep-button").click()
            wait_for(driver, "document.getElementById('sweep-dataset')", 600, "the sweep")
            marks = driver.find_elements("css selector", "#chart .handover-mark")
            if marks:
                marks[0].click()
            wait_for(driver, "window.__spacexnet.latency.time_utc !== null")
            time.sleep(1)
            png = driver.find_element("tag name", "body").screenshot_as_png
            with atomic_target(out, overwrite=True) as tmp:
                Path(tmp).write_bytes(png)
        finally:
            driver.quit()
    return out


if __name__ == "__main__":
    print(main(*sys.argv[1:2]))
