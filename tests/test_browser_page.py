"""The live page in a real browser: headless Chromium (Debian's) against a real ``spacexnet serve``.

Selenium drives /usr/bin/chromium through /usr/bin/chromedriver (no browser
download); ``.ci/run`` installs both when they are missing. The page's test
hooks are on ``window.__spacexnet``. Screenshots (map, globe, latency panel)
are saved in this test session's temporary folder, whose path is printed.
"""

import importlib.util
import statistics
import time
from pathlib import Path

import pytest

from service_server import service_factory  # noqa: F401  (the session fixture)

pytest.importorskip("selenium", reason="selenium is not installed (pip install '.[test]')")

_spec = importlib.util.spec_from_file_location("live_view", Path(__file__).resolve().parents[1] / "examples" /
                                               "live_view.py")
live_view = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(live_view)

pytestmark = pytest.mark.skipif(
    not (live_view.CHROMIUM.exists() and live_view.CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver); "
           ".ci/run installs them: apt-get install -y chromium chromium-driver")

SNAPSHOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "starlink_tle_snapshot.txt"
wait_for = live_view.wait_for
HOOKS = "window.__spacexnet"


@pytest.fixture(scope="module")
def server(service_factory):  # noqa: F811
    return service_factory("--max-scenarios", "8")


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots in {folder}")
    return folder


@pytest.fixture(scope="module")
def page(server):
    """One browser on the page of the default scenario, ready (satellites drawn, latency shown)."""
    driver = live_view.chromium_driver()
    try:
        driver.get(f"{server.base_url}/?speed=60")
        wait_for(driver, live_view.PAGE_READY, 120, "the page to draw and show a latency")
        yield driver
    finally:
        driver.quit()


def console_errors(driver) -> list:
    """SEVERE browser console entries since the last call."""
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def hooks(driver) -> dict:
    return driver.execute_script(f"const h = {HOOKS}; return {{drawn: h.drawn, satellites: h.satellites, "
                                 "clockMs: h.clockMs, clockIso: h.clockIso, latency: h.latency, xy: h.firstSatXY, "
                                 "errors: h.errors, globe: h.globe, frameMs: h.frameMs}")


def test_page_draws_every_satellite_without_console_errors(page, server, shots):
    assert console_errors(page) == []
    state = hooks(page)
    scenario = server.client.get("/scenarios/default").json()
    assert state["satellites"] == scenario["satellites"] == 1584
    assert state["drawn"] == scenario["satellites"]
    assert page.find_element("id", "map").get_attribute("data-satellites") == str(scenario["satellites"])
    assert state["errors"] == []
    page.find_element("id", "map").screenshot(str(shots / "map.png"))


def test_latency_shown_equals_the_service_latency_at_that_time(page, server, shots):
    shown = hooks(page)["latency"]
    when = shown["time_utc"]
    assert page.find_element("id", "latency").get_attribute("data-time") == when
    expected = server.client.get("/scenarios/default/latency", params={"time": when}).json()
    assert shown == expected
    for cell, field in (("latency-expected", "expected_ms"), ("latency-p99", "p99_ms")):
        element = page.find_element("id", cell)
        assert float(element.get_attribute("data-value")) == expected[field]
        assert element.text == f"{expected[field]:.1f} ms"
    assert float(page.find_element("id", "latency-tokens").get_attribute("data-value")) == expected["tokens_per_s"]
    parts = {e.get_attribute("data-field"): float(e.get_attribute("data-value"))
             for e in page.find_elements("css selector", "#breakdown .part")}
    assert parts == {k: expected[k] for k in ("propagation_ms", "transmission_ms", "forwarding_ms", "compute_ms")}
    page.find_element("id", "latency").screenshot(str(shots / "latency.png"))


def test_play_advances_the_clock_and_the_map(page):
    before = hooks(page)
    assert before["xy"] is not None
    page.find_element("id", "play").click()
    wait_for(page, f"{HOOKS}.clockMs > {before['clockMs']} + 120000", 30, "the clock to advance two minutes")
    page.find_element("id", "play").click()
    after = hooks(page)
    assert after["clockMs"] > before["clockMs"] + 120_000
    assert after["clockIso"] != before["clockIso"]
    assert page.find_element("id", "clock-time").text == after["clockIso"].replace("T", " ")
    moved_px = abs(after["xy"][0] - before["xy"][0]) + abs(after["xy"][1] - before["xy"][1])
    assert moved_px > 1.0
    # The panel follows the clock: a latency at a later minute arrives.
    wait_for(page, f"Date.parse({HOOKS}.latency.time_utc) > {before['clockMs']} + 60000", 60, "a newer latency")
    assert console_errors(page) == []


def test_globe_shows_the_facing_half(page, shots):
    page.find_element("id", "globe").click()
    wait_for(page, f"{HOOKS}.globe", 10)
    time.sleep(0.5)
    state = hooks(page)
    assert 0 < state["drawn"] < state["satellites"]
    page.find_element("id", "map").screenshot(str(shots / "globe.png"))
    page.find_element("id", "globe").click()
    wait_for(page, f"!{HOOKS}.globe && {HOOKS}.drawn === {HOOKS}.satellites", 10)
    assert console_errors(page) == []


def click_at(driver, element, xy):
    """A real mouse click at CSS pixel ``xy`` of ``element`` (Selenium's offsets are from its centre)."""
    from selenium.webdriver.common.action_chains import ActionChains

    width, height = element.size["width"], element.size["height"]
    ActionChains(driver).move_to_element_with_offset(element, int(round(xy[0] - width / 2)),
                                                     int(round(xy[1] - height / 2))).click().perform()


def test_route_tool_shows_the_path_and_latency_between_two_clicked_satellites(page, server):
    sats = server.client.get("/scenarios/default/satellites").json()["satellites"]
    a, b = sats[0]["norad_id"], sats[700]["norad_id"]
    marks = page.find_element("id", "marks")
    page.find_element("id", "route-button").click()
    for norad in (a, b):
        xy = page.execute_script(f"return {HOOKS}.satelliteXY({norad})")
        assert xy is not None
        click_at(page, marks, xy)
    answer = wait_for(page, f"{HOOKS}.route", 60, "the route")
    picked = (answer["from"]["norad_id"], answer["to"]["norad_id"])
    expected = server.client.get("/scenarios/default/route",
                                 params={"from": picked[0], "to": picked[1], "time": answer["time_utc"]}).json()
    assert answer == expected
    assert answer["hops"] >= 1 and answer["path"][0]["norad_id"] == picked[0]
    shown = page.find_element("id", "route-result")
    assert float(shown.get_attribute("data-latency")) == expected["latency_ms"]
    assert f"{expected['hops']} hops" in shown.text and f"{expected['latency_ms']:.2f} ms" in shown.text
    assert console_errors(page) == []


def test_bad_tle_upload_shows_its_one_line_error(page, server, tmp_path):
    bad = tmp_path / "broken.tle"
    bad.write_text("STARLINK-1\n1 25544U 98067A   26001.00000000  .00016717  00000-0  10270-3 0  9005\n"
                   "2 25544  51.6400 208.9163 0006317  69.9862  25.2906 15.50000000    09\n")
    answer = server.client.post("/scenarios", files={"tle": ("broken.tle", bad.read_bytes())})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "broken.tle" in detail and "\n" not in detail
    page.find_element("css selector", "#new-scenario summary").click()
    page.find_element("id", "upload-file").send_keys(str(bad))
    page.find_element("id", "upload-button").click()
    shown = wait_for(page, "!document.getElementById('error').hidden && document.getElementById('error').textContent",
                     30, "the error line")
    assert shown == detail
    # The only console error is the refused request itself; the page still shows the default scenario.
    errors = console_errors(page)
    assert errors and all("/scenarios" in e["message"] and "422" in e["message"] for e in errors), errors
    assert hooks(page)["satellites"] == 1584


def test_sweep_started_from_the_page_finishes_and_its_file_downloads(page, server):
    page.find_element("id", "sweep-button").click()
    href = wait_for(page, "document.getElementById('sweep-dataset') && "
                          "document.getElementById('sweep-dataset').getAttribute('href')", 300, "the sweep file")
    got = page.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0]).then(async (r) => {
          const bytes = new Uint8Array(await r.arrayBuffer());
          done({status: r.status, type: r.headers.get('content-type'), size: bytes.length,
                head: Array.from(bytes.slice(0, 4))});
        }).catch((e) => done({error: String(e)}));
    """, href)
    assert got.get("status") == 200, got
    assert got["type"].startswith("application/x-netcdf")
    assert bytes(got["head"]) == b"\x89HDF"
    assert got["size"] == len(server.client.get(href).content)
    rows = page.find_elements("css selector", "#sweep-summary tr")
    assert len(rows) == 1 + 3  # header and one row per policy
    assert console_errors(page) == []


def test_now_follows_real_time(page):
    from datetime import datetime, timezone

    errors_before = len(hooks(page)["errors"])
    page.find_element("id", "now").click()
    wait_for(page, f"Math.abs({HOOKS}.clockMs - Date.now()) < 2000 && {HOOKS}.drawn === {HOOKS}.satellites", 120,
             "the clock to follow real time with every satellite drawn")
    shown = datetime.fromisoformat(page.find_element("id", "clock-time").get_attribute("datetime").replace("Z", "+00:00"))
    assert abs((shown - datetime.now(timezone.utc)).total_seconds()) < 10
    page.find_element("id", "play").click()  # back to the manual clock, paused
    assert len(hooks(page)["errors"]) == errors_before
    assert console_errors(page) == []


def test_frame_time_on_the_full_real_snapshot(server):
    if not SNAPSHOT.exists():
        pytest.skip(f"{SNAPSHOT} is not present (the real Starlink snapshot is not shipped with the repository)")
    made = server.client.post("/scenarios", files={"tle": (SNAPSHOT.name, SNAPSHOT.read_bytes())})
    assert made.status_code in (200, 201), made.text
    scenario = made.json()
    driver = live_view.chromium_driver()
    try:
        driver.get(f"{server.base_url}/?scenario={scenario['id']}&speed=60&play=1")
        wait_for(driver, live_view.PAGE_READY, 300, "the full snapshot to draw")
        start = hooks(driver)["clockMs"]
        driver.execute_script(f"{HOOKS}.frameMs.length = 0")
        time.sleep(10)
        state = hooks(driver)
        intervals = driver.execute_async_script("""
            const done = arguments[arguments.length - 1], stamps = [];
            const step = (t) => { stamps.push(t); if (stamps.length < 61) requestAnimationFrame(step);
                                  else done(stamps.slice(1).map((s, i) => s - stamps[i])); };
            requestAnimationFrame(step);
        """)
        assert console_errors(driver) == []
    finally:
        driver.quit()
    frames = state["frameMs"]
    assert state["clockMs"] > start + 60_000 * 5  # playing at 60x for 10 s
    assert state["drawn"] > 0.9 * scenario["satellites"]
    assert len(frames) > 10
    print(f"\nfull snapshot, {scenario['satellites']} satellites ({state['drawn']} drawn), playing at 60x: "
          f"draw time per frame median {statistics.median(frames):.1f} ms, "
          f"p95 {sorted(frames)[int(0.95 * (len(frames) - 1))]:.1f} ms, max {max(frames):.1f} ms over "
          f"{len(frames)} frames; frame interval median {statistics.median(intervals):.1f} ms (goal <= 50 ms)")
