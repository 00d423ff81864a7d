"""The live page in a real browser: headless Chromium (Debian's) against a real ``spacexnet serve``.

Selenium drives /usr/bin/chromium through /usr/bin/chromedriver (no browser
download); ``.ci/run`` installs both when they are missing. The page's test
hooks are on ``window.__spacexnet``. Screenshots (map, globe, latency panel)
are saved in this test session's temporary folder, whose path is printed.
"""

import importlib.util
import statistics
import time
from datetime import datetime
from pathlib import Path

import pytest

from service_server import read_events, service_factory  # noqa: F401  (the session fixture)

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


def quiet_ground_pixels(driver, margin_px=14, step_px=9):
    """Whole CSS pixels of the map (50°S to 50°N, 170°W to 170°E) with no satellite drawn within ``margin_px``."""
    return driver.execute_script(f"""
        const h = {HOOKS}, sats = h.drawnXY(), map = document.getElementById('marks');
        const w = map.clientWidth, ht = map.clientHeight, out = [];
        for (let y = 10; y < ht - 10; y += {step_px}) for (let x = 10; x < w - 10; x += {step_px}) {{
          const q = h.groundAt(x, y);
          // Away from the map's edge: a click may land a pixel off the one aimed at.
          if (q === null || Math.abs(Number(q.split(',')[0])) > 50 || Math.abs(Number(q.split(',')[1])) > 170) continue;
          if (sats.every(([sx, sy]) => (sx - x) ** 2 + (sy - y) ** 2 > {margin_px} ** 2)) out.push([x, y, q]);
        }}
        return out;""")


def test_route_tool_routes_between_two_clicked_ground_points(page, server):
    # Two places on the ground with no satellite drawn near them (a click there picks no satellite),
    # far apart, that the service can route between at the page's time.
    when = page.execute_script(f"return new Date(Math.floor({HOOKS}.clockMs / 60000) * 60000).toISOString()"
                               ".replace('.000Z', 'Z')")
    quiet = quiet_ground_pixels(page)
    assert len(quiet) > 20
    pair = None
    for a in quiet[:40]:
        b = max(quiet, key=lambda p: (p[0] - a[0]) ** 2 + (p[1] - a[1]) ** 2)
        if server.client.get("/scenarios/default/route",
                             params={"from": a[2], "to": b[2], "time": when}).status_code == 200:
            pair = a, b
            break
    assert pair is not None, "no routable pair of ground points among the quiet pixels"
    marks = page.find_element("id", "marks")
    page.find_element("id", "route-button").click()
    for x, y, _ in pair:
        click_at(page, marks, (x, y))
    answer = wait_for(page, f"{HOOKS}.route", 60, "the route")
    query = page.execute_script(f"return {HOOKS}.routeQuery")
    assert query["time"] == answer["time_utc"]
    expected = server.client.get("/scenarios/default/route", params=query).json()
    assert answer == expected
    for end, (_, _, aimed) in zip((answer["from"], answer["to"]), pair):
        lat, lon = (float(v) for v in aimed.split(","))
        assert "norad_id" not in end
        assert abs(end["latitude_deg"] - lat) < 1.0 and abs(end["longitude_deg"] - lon) < 1.0
    shown = page.find_element("id", "route-result")
    assert float(shown.get_attribute("data-latency")) == expected["latency_ms"]
    assert f"{expected['latency_ms']:.2f} ms" in shown.text and f"{expected['hops']} hops" in shown.text
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


def test_policies_over_time_and_handover_marks_come_from_the_sweep_events(page, server, shots):
    # After the sweep above: its events as the API gives them.
    job = page.execute_script(f"return {HOOKS}.sweepJob")
    events = read_events(server, job)
    steps = [e["data"] for e in events if e["event"] == "step"]
    handovers = [e["data"] for e in events if e["event"] == "handover"]
    assert len(steps) == 11 and handovers  # recompute adopts fresh placements within ten minutes
    policies = server.client.get("/presets").json()["policies"]
    chart = page.execute_script(f"return {HOOKS}.chart()")
    assert chart["labels"] == [f"{p} {what}" for p in policies for what in ("expected", "p99")]
    assert chart["data"][0] == [datetime.fromisoformat(s["time_utc"].replace("Z", "+00:00")).timestamp()
                                for s in steps]
    for k, policy in enumerate(policies):
        assert chart["data"][1 + 2 * k] == [s["policies"][policy]["token_latency_expected_ms"] for s in steps]
        assert chart["data"][2 + 2 * k] == [s["policies"][policy]["token_latency_p99_ms"] for s in steps]
    marks = page.find_elements("css selector", "#chart .handover-mark")
    assert len(marks) == len(handovers)
    assert [(m.get_attribute("data-policy"), m.get_attribute("data-time")) for m in marks] == \
        [(h["policy"], h["time_utc"]) for h in handovers]
    # Click the mark with the fewest moves (its table is short to read) and compare with its event.
    k = min(range(len(handovers)), key=lambda i: handovers[i]["migrations"])
    marks[k].click()
    wait_for(page, f"{HOOKS}.handoverShown === {k}", 10, "the handover detail")
    event = handovers[k]
    rows = page.find_elements("css selector", "#handover-moves tbody tr")
    cells = [{td.get_attribute("data-field"): td.text for td in row.find_elements("tag name", "td")} for row in rows]
    assert [(c["from"], c["to"]) for c in cells] == [
        (str(m["from_norad_id"]) if m["from_norad_id"] is not None else "(reloaded)", str(m["to_norad_id"]))
        for m in event["moves"]]
    assert [(c["kind"], c["layer"]) for c in cells] == [(m["kind"], str(m["layer"])) for m in event["moves"]]
    assert [c["transfer_ms"] for c in cells] == [f"{m['transfer_ms']:.2f}" for m in event["moves"]]
    title = page.find_element("id", "handover-title").text
    assert f"{event['policy']} at " in title and f"{event['migrations']} moved" in title
    assert f"charged {event['charged_ms']:.1f} ms" in title
    page.find_element("id", "latency").screenshot(str(shots / "latency_policies.png"))
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


KEY = "a key only the test knows"


def test_the_page_works_with_a_server_that_needs_an_api_key(service_factory):  # noqa: F811
    keyed = service_factory("--api-key", KEY)
    headers = {"X-API-Key": KEY}
    driver = live_view.chromium_driver()
    try:
        driver.get(f"{keyed.base_url}/?speed=60")
        # The page opens without the key and asks for it.
        wait_for(driver, "!document.getElementById('api-key-box').hidden", 60, "the API key field")
        field = driver.find_element("id", "api-key")
        field.send_keys(KEY)
        field.submit()
        wait_for(driver, live_view.PAGE_READY, 120, "the page to draw and show a latency with the key")
        assert driver.execute_script("return sessionStorage.getItem('spacexnet-api-key')") == KEY
        shown = hooks(driver)["latency"]
        assert shown == keyed.client.get("/scenarios/default/latency", params={"time": shown["time_utc"]},
                                         headers=headers).json()
        assert hooks(driver)["drawn"] == 1584
        # The sweep's events are read with the key too: the chart fills, the file downloads.
        driver.find_element("id", "sweep-button").click()
        wait_for(driver, "document.getElementById('sweep-dataset')", 300, "the sweep file")
        assert len(driver.execute_script(f"return {HOOKS}.steps")) == 11
        got = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch(arguments[0], {headers: {'X-API-Key': sessionStorage.getItem('spacexnet-api-key')}})
              .then((r) => done(r.status)).catch((e) => done(String(e)));
        """, driver.find_element("id", "sweep-dataset").get_attribute("href"))
        assert got == 200
        # The only console errors are the first requests, refused for want of the key.
        errors = console_errors(driver)
        assert errors and all("401" in e["message"] for e in errors), errors
    finally:
        driver.quit()


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
            const step = (t) => { stamps.push(t); if (stamps.length < 301) requestAnimationFrame(step);
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
          f"{len(frames)} frames; frame interval (the browser's whole frame: script, raster, compositing, and the "
          f"loading of positions) median {statistics.median(intervals):.1f} ms, "
          f"p95 {sorted(intervals)[int(0.95 * (len(intervals) - 1))]:.1f} ms, max {max(intervals):.1f} ms over "
          f"{len(intervals)} frames (goal <= 50 ms)")
