"""The real ``spacexnet serve`` over HTTP: every endpoint's numbers equal the Python API's and the CLI's.

One server for the module (a subprocess on a free loopback port); one small
scenario (a 360-satellite Walker shell carrying llama-moe-3.5b-2of8) posted
to it and rebuilt here with the library, at one instant. JSON carries
floats exactly (shortest round-trip repr), so numbers are compared with ==.
"""

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

import orbits
from spacexnet.compare import compare, place
from spacexnet.scenario import build_constellation, model_setup, snapshot
from spacexnet.service.schema import Scenario, scenario_id

from service_server import service_factory  # noqa: F401  (the session fixture)

WHEN = "2026-01-01T00:10:00Z"
DOCUMENT = {"constellation": {"walker": "53:360/18/1", "altitude_km": 550},
            "model": {"preset": "llama-moe-3.5b-2of8"}, "activation": "zipf:1.0", "seed": 0}
CLI_SCENARIO = ["--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8",
                "--activation", "zipf:1.0", "--seed", "0", "--start", WHEN]


@pytest.fixture(scope="module")
def server(service_factory):  # noqa: F811
    return service_factory("--max-scenarios", "8")


@pytest.fixture(scope="module")
def scenario(server):
    response = server.client.post("/scenarios", json=DOCUMENT)
    assert response.status_code in (200, 201), response.text
    return response.json()["id"]


@pytest.fixture(scope="module")
def local():
    """The same scenario and instant, built with the Python API."""
    constellation = build_constellation(walker="53:360/18/1", altitude_km=550)
    setup = model_setup("llama-moe-3.5b-2of8", activation="zipf:1.0", seed=0)
    return constellation, setup, snapshot(constellation, WHEN, setup)


def cli_json(*args) -> object:
    done = subprocess.run([sys.executable, "-m", "spacexnet", *args, "-q"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_health_and_presets(server):
    health = server.client.get("/health").json()
    assert health["status"] == "ok" and health["scenarios"] >= 1
    presets = server.client.get("/presets").json()
    assert "starlink-shell1" in [c["name"] for c in presets["constellations"]]
    assert "llama-moe-3.5b" in presets["models"] and "space-xnet" in presets["strategies"]
    assert presets["policies"] == ["static", "recompute", "handover"]
    assert server.client.get("/openapi.json").json()["paths"]["/scenarios"]["post"]["requestBody"]


def test_default_scenario_is_there_under_its_name(server):
    default = server.client.get("/scenarios/default").json()
    assert default["id"] == scenario_id(Scenario()) and default["aliases"] == ["default"]
    assert default["satellites"] == 1584 and default["planes"] == 72
    assert default["document"]["constellation"] == {"preset": "starlink-shell1", "epoch": None}


def test_post_is_idempotent_by_content_and_delete_forgets(server):
    document = {**DOCUMENT, "seed": 11}
    first = server.client.post("/scenarios", json=document)
    assert first.status_code == 201
    body = first.json()
    assert body["id"] == scenario_id(Scenario.model_validate(document))
    assert first.headers["location"] == f"/scenarios/{body['id']}"
    assert (body["satellites"], body["planes"], body["warnings"]) == (360, 18, [])
    assert body["epochs"]["reference_utc"] == "2026-01-01T00:00:00Z"
    # The same document spelt differently: the same scenario, not a new one.
    again = server.client.post("/scenarios", content=json.dumps({**document, "hardware": "jetson-agx-orin-64gb",
                                                                 "seed": 11}),
                               headers={"content-type": "application/json"})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert body["id"] in [s["id"] for s in server.client.get("/scenarios").json()["scenarios"]]
    assert server.client.delete(f"/scenarios/{body['id']}").status_code == 204
    assert server.client.get(f"/scenarios/{body['id']}").status_code == 404
    assert body["id"] not in [s["id"] for s in server.client.get("/scenarios").json()["scenarios"]]


def test_satellites_equal_propagation(server, scenario, local):
    constellation, _, snap = local
    answer = server.client.get(f"/scenarios/{scenario}/satellites", params={"time": WHEN}).json()
    assert answer["time_utc"] == WHEN and answer["count"] == len(constellation) == 360
    state = snap.state.isel(time=0)
    rows = answer["satellites"]
    assert [r["norad_id"] for r in rows] == constellation.norad_id.tolist()
    assert [r["name"] for r in rows] == [str(n) for n in constellation.name]
    assert [(r["shell"], r["plane"], r["slot"]) for r in rows] == list(zip(
        constellation.shell.tolist(), constellation.plane.tolist(), constellation.slot.tolist()))
    assert np.array_equal([r["position_itrs_km"] for r in rows], state["position_itrs_km"].values)
    for field in ("latitude_deg", "longitude_deg", "altitude_km", "argument_of_latitude_deg", "sgp4_status"):
        assert np.array_equal([r[field] for r in rows], state[field].values), field
    assert all(r["sgp4_status_meaning"] == "ok" for r in rows)
    assert [r["eligible"] for r in rows] == snap.eligible.tolist()


def test_satellites_as_geojson(server, scenario, local):
    response = server.client.get(f"/scenarios/{scenario}/satellites", params={"time": WHEN, "format": "geojson"})
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 360
    state = local[2].state.isel(time=0)
    first = collection["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [float(state["longitude_deg"][0]),
                                                                  float(state["latitude_deg"][0])]}
    assert first["properties"]["altitude_km"] == float(state["altitude_km"][0])


def test_links_equal_isl_geometry(server, scenario, local):
    links = local[2].links
    answer = server.client.get(f"/scenarios/{scenario}/links", params={"time": WHEN}).json()
    rows = answer["links"]
    assert answer["count"] == links.sizes["link"] and answer["up_count"] == int(links["up"].values.sum())
    assert [r["norad_id_a"] for r in rows] == links["norad_id_a"].values.tolist()
    assert [r["norad_id_b"] for r in rows] == links["norad_id_b"].values.tolist()
    assert [r["kind"] for r in rows] == links["kind"].values.tolist()
    assert np.array_equal([r["distance_km"] for r in rows], links["distance_km"].values[0])
    assert [r["up"] for r in rows] == links["up"].values[0].tolist()
    assert answer["rules"]["topology"] == "plus-grid" and answer["rules"]["margin_km"] == 80.0


def test_ground_station_links_equal_orbits_ground_links(server, scenario, local):
    state = local[2].state
    answer = server.client.get(f"/scenarios/{scenario}/links", params={"time": WHEN, "ground": "true",
                                                                         "min_elevation_deg": 30}).json()["ground"]
    expected = orbits.ground_links(state, min_elevation_deg=30.0)
    rows = answer["links"]
    assert len(rows) == expected.sizes["pair"] > 0
    assert [r["norad_id"] for r in rows] == expected["sat_norad_id"].values[expected["sat_index"].values].tolist()
    assert [r["station"] for r in rows] == expected["station"].values[expected["station_index"].values].tolist()
    for field in ("elevation_deg", "azimuth_deg", "range_km"):
        assert [r[field] for r in rows] == expected[field].values.tolist(), field
    assert min(r["elevation_deg"] for r in rows) >= 30.0 and answer["rules"]["min_elevation_deg"] == 30.0
    assert sum(s["visible_count"] for s in answer["stations"]) == len(rows)


def test_route_is_the_shortest_path_and_its_hops_add_up(server, scenario, local):
    constellation, _, snap = local
    a, b = int(constellation.norad_id[0]), int(constellation.norad_id[200])
    answer = server.client.get(f"/scenarios/{scenario}/route", params={"from": a, "to": b, "time": WHEN}).json()
    graph = snap.graph
    expected_path = graph.path(0, 200)
    assert [p["norad_id"] for p in answer["path"]] == constellation.norad_id[expected_path].tolist()
    assert answer["hops"] == len(expected_path) - 1
    assert answer["latency_ms"] == graph.latency_ms_from([0])[0, 200]
    # The split adds up, and re-adding the edge weights of the returned path gives its latency.
    parts = answer["propagation_ms"] + answer["transmission_ms"] + answer["forwarding_ms"]
    assert parts == pytest.approx(answer["latency_ms"], rel=1e-12)
    assert graph.path_latency_ms(expected_path) == pytest.approx(answer["latency_ms"], rel=1e-12)
    km_per_ms = 299_792.458 / 1e3
    assert answer["distance_km"] == pytest.approx(answer["propagation_ms"] * km_per_ms, rel=1e-9)


def test_a_route_to_or_from_a_ground_point_is_the_token_delivery(server, scenario, local):
    import latency

    constellation, _, snap = local
    state = snap.state.isel(time=0)
    # Under satellite 100: at least that one is in view.
    point = f"{float(state['latitude_deg'][100])},{float(state['longitude_deg'][100])}"
    a = int(constellation.norad_id[0])
    down = server.client.get(f"/scenarios/{scenario}/route", params={"from": a, "to": point, "time": WHEN}).json()
    lat, lon = (float(v) for v in point.split(","))
    expected = latency.ground_latency_ms(snap.graph, 0, latency.GroundUser(lat, lon))
    assert down["latency_ms"] == expected.latency_ms
    assert down["ground"]["serving_norad_id"] == int(constellation.norad_id[expected.serving_sat])
    assert [p["norad_id"] for p in down["path"][:-1]] == constellation.norad_id[
        snap.graph.path(0, expected.serving_sat)].tolist()
    assert down["path"][-1] == {"latitude_deg": lat, "longitude_deg": lon, "hop_distance_km": expected.slant_km}
    assert down["hops"] == len(down["path"]) - 1 and down["payload_bytes"] == latency.token.TOKEN_BYTES
    up = server.client.get(f"/scenarios/{scenario}/route", params={"from": point, "to": a, "time": WHEN}).json()
    assert up["latency_ms"] == down["latency_ms"]
    assert up["distance_km"] == pytest.approx(down["distance_km"], rel=1e-12)  # summed the other way round
    assert [p.get("norad_id") for p in up["path"]] == [p.get("norad_id") for p in down["path"]][::-1]
    assert up["path"][1]["hop_distance_km"] == expected.slant_km and up["path"][0]["hop_distance_km"] == 0.0


def test_placement_equals_spacexnet_place(server, scenario, local):
    constellation, setup, snap = local
    answer = server.client.get(f"/scenarios/{scenario}/placement", params={"time": WHEN,
                                                                             "strategy": "joint"}).json()
    cli = cli_json("place", *CLI_SCENARIO, "--strategy", "joint", "--format", "json")
    for key in ("strategy", "time", "expected_token_ms", "lm_head_ms", "breakdown_ms", "model", "activation"):
        assert answer[key if key != "time" else "time_utc"] == cli[key], key
    for mine, theirs in zip(answer["layers"], cli["layers"], strict=True):
        assert {k: mine[k] for k in theirs} == theirs
    expected = place(snap, setup, "joint", seed=setup.seed)
    assert [l["gate_sat"] for l in answer["layers"]] == expected.gate_sat.tolist()


def test_placement_reports_capacity_use(server, scenario, local):
    _, setup, _ = local
    answer = server.client.get(f"/scenarios/{scenario}/placement", params={"time": WHEN}).json()
    n_experts = setup.probs.shape[1]
    for layer in answer["layers"]:
        # space-xnet keeps each layer's experts in its subnet, one per satellite.
        assert layer["experts_in_subnet"] == n_experts
        assert layer["expert_slots"] == layer["subnet_satellites"] * setup.experts_per_sat
        assert layer["capacity_use_ratio"] == n_experts / layer["expert_slots"]


@pytest.mark.parametrize("strategy", ["space-xnet", "ring-random"])
def test_latency_equals_the_compare_row(server, scenario, local, strategy):
    _, setup, snap = local
    answer = server.client.get(f"/scenarios/{scenario}/latency",
                               params={"time": WHEN, "strategy": strategy, "seeds": 2, "samples": 500}).json()
    row = [r for r in compare(snap, setup, strategies=(strategy,), n_seeds=2, n_samples=500)
           if r.strategy == strategy][0]
    for key, value in row.as_dict().items():
        assert answer[key] == value, key
    assert answer["lm_head_ms"] == setup.times.head_ms
    # Per layer: each run's layers plus the LM head make its expected token time.
    layer_sum_ms = sum(layer["expected_ms"] for layer in answer["layers"])
    assert layer_sum_ms + answer["lm_head_ms"] == pytest.approx(answer["expected_ms"], rel=1e-12)


def test_a_ground_user_gets_the_library_delivery_on_its_own(server, scenario, local):
    import latency

    _, setup, snap = local
    params = {"time": WHEN, "seeds": 2, "samples": 500}
    plain = server.client.get(f"/scenarios/{scenario}/latency", params=params).json()
    answer = server.client.get(f"/scenarios/{scenario}/latency", params={**params, "user": "48.85,2.35"}).json()
    pl = place(snap, setup, "space-xnet")
    expected = latency.token_latency(snap.graph, pl.gate_sat, pl.expert_sat, setup.probs, setup.times,
                                     user=latency.GroundUser(48.85, 2.35))
    ground = answer.pop("ground_user")
    assert answer == plain  # the row's numbers are not changed by the user
    assert ground["delivery_ms"] == expected.ground.latency_ms
    run = ground["runs"][0]
    assert run["serving_norad_id"] == int(local[0].norad_id[expected.ground.serving_sat])
    assert (run["elevation_deg"], run["slant_km"]) == (expected.ground.elevation_deg, expected.ground.slant_km)
    assert run["breakdown_ms"] == expected.ground.breakdown.as_dict()


def test_compare_equals_spacexnet_compare_json(server, scenario):
    answer = server.client.get(f"/scenarios/{scenario}/compare",
                               params={"time": WHEN, "seeds": 2, "samples": 500}).json()
    cli = cli_json("compare", *CLI_SCENARIO, "--seeds", "2", "--samples", "500", "--format", "json")
    assert answer["rows"] == cli
    assert [r["strategy"] for r in answer["rows"]] == ["space-xnet", "joint", "anneal", "random", "ring-random",
                                                       "random-optimized", "lower-bound"]


def test_default_time_is_the_cli_default_and_offsets_are_converted(server, scenario):
    default = server.client.get(f"/scenarios/{scenario}/satellites").json()
    assert default["time_utc"] == "2026-01-01T00:00:00Z"  # the newest element-set epoch, as the CLI
    shifted = server.client.get(f"/scenarios/{scenario}/satellites",
                                params={"time": "2026-01-01T01:10:00+01:00"}).json()
    utc = server.client.get(f"/scenarios/{scenario}/satellites", params={"time": WHEN}).json()
    assert shifted == utc
    now = server.client.get(f"/scenarios/{scenario}/satellites", params={"time": "now"}).json()
    when = datetime.fromisoformat(now["time_utc"].replace("Z", "+00:00"))
    assert abs(when - datetime.now(timezone.utc)) < timedelta(hours=1)


def test_a_time_far_from_the_element_sets_carries_a_warning(server, scenario):
    near = server.client.get(f"/scenarios/{scenario}/links", params={"time": WHEN}).json()
    far = server.client.get(f"/scenarios/{scenario}/links", params={"time": "2026-01-11T00:00:00Z"}).json()
    assert "warnings" not in near
    assert far["warnings"] == ["time is up to 10.0 days from the element-set epochs; SGP4 position errors grow "
                               "with age, about a kilometre a day in LEO and more for manoeuvring satellites"]


def test_the_same_question_again_is_answered_from_the_cache(server, scenario):
    params = {"time": "2026-01-01T00:20:00Z", "strategy": "random-optimized", "seeds": 1, "samples": 200}
    first = server.client.get(f"/scenarios/{scenario}/latency", params=params)
    hits = server.client.get("/health").json()["cache"]["hits"]
    second = server.client.get(f"/scenarios/{scenario}/latency", params=params)
    assert first.content == second.content
    cache = server.client.get("/health").json()["cache"]
    assert cache["hits"] == hits + 1 and 0 < cache["bytes"] <= cache["max_bytes"]


def test_element_sets_inline_and_uploaded_are_one_scenario(server):
    constellation = build_constellation(walker="53:360/18/1", altitude_km=550)
    text = orbits.to_tle(constellation)
    inline = server.client.post("/scenarios", json={"constellation": {"tle": text}, "seed": 5})
    assert inline.status_code == 201, inline.text
    uploaded = server.client.post("/scenarios", data={"scenario": json.dumps({"seed": 5})},
                                  files={"tle": ("shell.txt", text.encode(), "text/plain")})
    assert uploaded.status_code == 200, uploaded.text
    body = uploaded.json()
    assert body["id"] == inline.json()["id"] and body["satellites"] == 360
    satellites = server.client.get(f"/scenarios/{body['id']}/satellites", params={"time": WHEN}).json()
    assert [s["norad_id"] for s in satellites["satellites"]] == constellation.norad_id.tolist()
    assert server.client.delete(f"/scenarios/{body['id']}").status_code == 204


def test_posted_scenarios_survive_a_restart(tmp_path):
    from service_server import start_server

    first = start_server(tmp_path)
    try:
        made = first.client.post("/scenarios", json={**DOCUMENT, "seed": 21}).json()
        answer = first.client.get(f"/scenarios/{made['id']}/links", params={"time": WHEN}).content
    finally:
        first.stop()
    second = start_server(tmp_path)
    try:
        assert second.client.get(f"/scenarios/{made['id']}").json()["satellites"] == 360
        assert second.client.get(f"/scenarios/{made['id']}/links", params={"time": WHEN}).content == answer
    finally:
        second.stop()


def test_cli_user_column_equals_the_service_delivery(server, scenario):
    # spacexnet compare --user: each strategy's column is latency?user='s delivery (random: the mean over
    # its runs); the rest of the row is the compare table's, unchanged.
    user = "48.85,2.35"
    cli = cli_json("compare", *CLI_SCENARIO, "--strategies", "space-xnet,random,lower-bound", "--seeds", "2",
                   "--samples", "500", "--format", "json", "--user", user)
    plain = cli_json("compare", *CLI_SCENARIO, "--strategies", "space-xnet,random,lower-bound", "--seeds", "2",
                     "--samples", "500", "--format", "json")
    assert [{k: v for k, v in row.items() if k != "user_delivery_ms"} for row in cli] == plain
    by_strategy = {row["strategy"]: row["user_delivery_ms"] for row in cli}
    assert by_strategy["lower-bound"] is None  # a bound has no placement to deliver from
    for strategy in ("space-xnet", "random"):
        answer = server.client.get(f"/scenarios/{scenario}/latency", params={
            "time": WHEN, "seeds": 2, "samples": 500, "strategy": strategy, "user": user}).json()
        assert by_strategy[strategy] == answer["ground_user"]["delivery_ms"], strategy
        assert answer["ground_user"]["delivery_ms"] > 0


def test_cli_place_user_equals_the_service_delivery(server, scenario):
    user = "-33.9,151.2"
    placed = cli_json("place", *CLI_SCENARIO, "--strategy", "joint", "--format", "json", "--user", user)
    answer = server.client.get(f"/scenarios/{scenario}/latency", params={
        "time": WHEN, "strategy": "joint", "samples": 500, "user": user}).json()["ground_user"]
    ground = placed["ground_user"]
    assert ground["user_delivery_ms"] == answer["delivery_ms"]
    run = answer["runs"][0]
    assert (ground["serving_norad_id"], ground["elevation_deg"], ground["slant_km"], ground["breakdown_ms"]) == \
        (run["serving_norad_id"], run["elevation_deg"], run["slant_km"], run["breakdown_ms"])


def test_compare_with_a_time_budget_equals_spacexnet_compare_with_it(server, scenario):
    answer = server.client.get(f"/scenarios/{scenario}/compare",
                               params={"time": WHEN, "seeds": 2, "samples": 500, "strategies": "space-xnet,anneal",
                                       "time_budget_s": 0.05}).json()
    cli = cli_json("compare", *CLI_SCENARIO, "--seeds", "2", "--samples", "500", "--strategies", "space-xnet,anneal",
                   "--time-budget-s", "0.05", "--format", "json")
    assert answer["rows"] == cli


def test_a_route_between_two_ground_points_goes_up_across_and_down(server, scenario, local):
    import latency

    constellation, _, snap = local
    state = snap.state.isel(time=0)
    # Under satellites 100 and 300: each point has at least that one in view.
    ends = [(float(state["latitude_deg"][k]), float(state["longitude_deg"][k])) for k in (100, 300)]
    answer = server.client.get(f"/scenarios/{scenario}/route", params={
        "from": "{},{}".format(*ends[0]), "to": "{},{}".format(*ends[1]), "time": WHEN}).json()
    relay = latency.ground_relay_latency_ms(snap.graph, latency.GroundUser(*ends[0]), latency.GroundUser(*ends[1]))
    assert relay.reachable and answer["latency_ms"] == relay.latency_ms
    assert answer["uplink"]["norad_id"] == int(constellation.norad_id[relay.up_sat])
    assert answer["downlink"]["norad_id"] == int(constellation.norad_id[relay.down_sat])
    path = answer["path"]
    assert (path[0]["latitude_deg"], path[0]["longitude_deg"]) == ends[0]
    assert (path[-1]["latitude_deg"], path[-1]["longitude_deg"]) == ends[1]
    assert [p["norad_id"] for p in path[1:-1]] == constellation.norad_id[
        snap.graph.path(relay.up_sat, relay.down_sat)].tolist()
    assert path[1]["hop_distance_km"] == relay.up_slant_km and path[-1]["hop_distance_km"] == relay.down_slant_km
    assert answer["hops"] == len(path) - 1
    parts = answer["propagation_ms"] + answer["transmission_ms"] + answer["forwarding_ms"]
    assert parts == pytest.approx(answer["latency_ms"], rel=1e-12)
