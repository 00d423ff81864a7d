"""CZML export: a valid document whose satellite paths are the library's ITRS positions.

Positions are checked at sample times (written to the millimetre) and, as
CesiumJS shows them, between samples: Lagrange interpolation of the written
degree over the nearest samples, against SGP4 at those very instants
(< 1 m). The service's ``/czml`` is checked against its own ``/satellites``.
"""

import json

import numpy as np
import pytest

import orbits
from spacexnet.czml import INTERPOLATION_DEGREE, czml_document, satellite_id

from service_server import assert_problem, service_factory  # noqa: F401  (the session fixture)

START = "2026-01-01T00:00:00Z"
METRES_PER_KM = 1000.0


def lagrange(sample_s, values, t_s, degree):
    """Lagrange interpolation at ``t_s`` over the ``degree + 1`` samples around it (as CesiumJS does)."""
    i = int(np.searchsorted(sample_s, t_s))
    first = min(max(i - (degree + 1) // 2, 0), len(sample_s) - degree - 1)
    xs, ys = sample_s[first:first + degree + 1], values[first:first + degree + 1]
    out = np.zeros(values.shape[1])
    for j in range(degree + 1):
        others = np.delete(xs, j)
        out += ys[j] * np.prod((t_s - others) / (xs[j] - others))
    return out


def packets_by_id(doc):
    return {p["id"]: p for p in doc}


@pytest.fixture(scope="module")
def small():
    c = orbits.walker("53:60/6/1", altitude_km=550, epoch=START)
    doc = json.loads(json.dumps(czml_document(c, START, duration_s=1200, step_s=60, gate_sat=[0, 7, 19, 33])))
    return c, doc


def test_document_packet(small):
    c, doc = small
    head = doc[0]
    assert head["id"] == "document" and head["version"] == "1.0"
    assert head["clock"]["interval"] == "2026-01-01T00:00:00Z/2026-01-01T00:20:00Z"
    assert head["clock"]["currentTime"] == "2026-01-01T00:00:00Z"
    ids = [p["id"] for p in doc]
    assert len(ids) == len(set(ids))
    assert sum(i.startswith("sat-") for i in ids) == len(c)


def test_positions_equal_itrs_at_and_between_samples(small):
    c, doc = small
    s = 17
    packet = packets_by_id(doc)[satellite_id(c.norad_id[s])]
    position = packet["position"]
    assert position["referenceFrame"] == "FIXED" and position["epoch"] == "2026-01-01T00:00:00Z"
    assert position["interpolationAlgorithm"] == "LAGRANGE"
    assert position["interpolationDegree"] == INTERPOLATION_DEGREE
    samples = np.asarray(position["cartesian"]).reshape(-1, 4)
    sample_s, xyz_m = samples[:, 0], samples[:, 1:]
    assert sample_s.tolist() == [60.0 * k for k in range(21)]

    at_samples = np.array([0.0, 540.0, 1200.0])
    between = np.array([30.0, 617.5, 1171.0])
    times = np.datetime64("2026-01-01T00:00:00", "ns") + (np.concatenate([at_samples, between]) * 1e9).astype(
        "timedelta64[ns]")
    truth_m = orbits.propagate(c, times)["position_itrs_km"].values[:, s] * METRES_PER_KM
    for k, t_s in enumerate(at_samples):
        row = np.flatnonzero(sample_s == t_s)[0]
        assert np.linalg.norm(xyz_m[row] - truth_m[k]) < 0.001
    for k, t_s in enumerate(between):
        shown_m = lagrange(sample_s, xyz_m, t_s, INTERPOLATION_DEGREE)
        assert np.linalg.norm(shown_m - truth_m[len(at_samples) + k]) < 1.0


def test_links_are_shown_while_up(small):
    c, doc = small
    links = [p for p in doc if p["id"].startswith("isl-")]
    state = orbits.propagate(c, orbits.time_grid(START, 1200, 60))
    isl = orbits.isl_links(c, state)
    assert len(links) == isl.sizes["link"]
    first = links[0]
    refs = first["polyline"]["positions"]["references"]
    assert refs == [f"sat-{int(isl.norad_id_a[0])}#position", f"sat-{int(isl.norad_id_b[0])}#position"]
    shows = first["polyline"]["show"]
    assert shows[0] == {"interval": "2026-01-01T00:00:00Z/2026-01-01T00:20:00Z", "boolean": False}
    # The +Grid shell at 550 km keeps every link up: one interval over the whole span.
    assert bool(isl["up"].values[:, 0].all())
    assert shows[1:] == [{"interval": "2026-01-01T00:00:00Z/2026-01-01T00:20:00Z", "boolean": True}]


def test_link_intervals_follow_the_up_flag():
    # A latitude cut-off takes inter-plane links down near the poles' side of the shell: intervals split.
    c = orbits.walker("53:60/6/1", altitude_km=550, epoch=START)
    doc = czml_document(c, START, duration_s=3000, step_s=60, link_rules={"latitude_cutoff_deg": 40.0})
    isl = orbits.isl_links(c, orbits.propagate(c, orbits.time_grid(START, 3000, 60)), latitude_cutoff_deg=40.0)
    up = isl["up"].values
    k = int(np.flatnonzero((~up).any(axis=0) & up.any(axis=0))[0])
    packet = packets_by_id(doc)[f"isl-{int(isl.norad_id_a[k])}-{int(isl.norad_id_b[k])}"]
    shown = packet["polyline"]["show"][1:]
    runs = np.flatnonzero(np.diff(np.concatenate(([0], up[:, k].astype(int), [0]))) == 1)
    assert len(shown) == len(runs) >= 1
    times = orbits.time_grid(START, 3000, 60)
    first_start = np.datetime_as_string(times[runs[0]], unit="s") + "Z"
    assert shown[0]["interval"].startswith(first_start)


def test_gate_ring_is_closed_in_layer_order(small):
    c, doc = small
    ring = packets_by_id(doc)["gate-ring"]
    refs = ring["polyline"]["positions"]["references"]
    assert refs == [f"sat-{int(c.norad_id[g])}#position" for g in (0, 7, 19, 33, 0)]


def test_too_few_samples_is_refused():
    c = orbits.walker("53:60/6/1", altitude_km=550, epoch=START)
    with pytest.raises(orbits.TimeGridError, match="needs at least 6"):
        czml_document(c, START, duration_s=120, step_s=60)


# ----------------------------------------------------------------- the service


@pytest.fixture(scope="module")
def server(service_factory):  # noqa: F811
    return service_factory()


def test_service_czml_of_default_scenario_matches_its_satellites(server):
    response = server.client.get("/scenarios/default/czml",
                                 params={"start": START, "duration_s": 600, "step_s": 60})
    assert response.status_code == 200, response.text
    doc = json.loads(response.content)
    head = doc[0]
    assert head["id"] == "document" and head["version"] == "1.0"
    assert head["clock"]["interval"] == "2026-01-01T00:00:00Z/2026-01-01T00:10:00Z"
    scenario = server.client.get("/scenarios/default").json()
    sats = [p for p in doc if p["id"].startswith("sat-")]
    assert len(sats) == scenario["satellites"]
    ring = packets_by_id(doc)["gate-ring"]["polyline"]["positions"]["references"]
    placement = server.client.get("/scenarios/default/placement", params={"time": START}).json()
    gates = [f"sat-{layer['gate_norad_id']}#position" for layer in placement["layers"]]
    assert ring == gates + gates[:1]

    packet = sats[100]
    samples = np.asarray(packet["position"]["cartesian"]).reshape(-1, 4)
    norad = int(packet["id"].removeprefix("sat-"))
    for offset_s, when in ((0, START), (300, "2026-01-01T00:05:00Z"), (600, "2026-01-01T00:10:00Z")):
        answer = server.client.get("/scenarios/default/satellites", params={"time": when}).json()
        row = next(r for r in answer["satellites"] if r["norad_id"] == norad)
        expected_m = np.asarray(row["position_itrs_km"]) * METRES_PER_KM
        written = samples[samples[:, 0] == offset_s][0, 1:]
        assert np.linalg.norm(written - expected_m) < 1.0


def test_service_czml_bad_requests(server):
    assert_problem(server.client.get("/scenarios/default/czml", params={"duration_s": 30 * 86400, "step_s": 1}),
                   400, "more than this service's limit")
    assert_problem(server.client.get("/scenarios/default/czml", params={"start": "yesterday-ish"}), 400)
    assert_problem(server.client.get("/scenarios/default/czml", params={"strategy": "nope"}), 400,
                   "unknown placement strategy")
    assert_problem(server.client.get("/scenarios/nope/czml"), 404)
    assert_problem(server.client.get("/scenarios/default/czml", params={"duration_s": 120, "step_s": 60}), 422,
                   "needs at least 6")

