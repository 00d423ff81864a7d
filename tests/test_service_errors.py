"""Bad requests to the real server: each gets the right 4xx and an RFC 9457 problem body, and leaves nothing.

The server runs with small limits (0.5 MiB bodies, 2,000 satellites, 4
scenarios). After every bad request the scenarios held and the files in the
data directory are exactly those before it: nothing is half-made.
"""

import asyncio
import json
import logging
import subprocess
import sys

import httpx
import pytest

import orbits
from spacexnet.scenario import build_constellation

from service_server import assert_problem, service_factory  # noqa: F401  (the session fixture)

S = "/scenarios/default"
T = "2026-01-01T00:00:00Z"
TLE = orbits.to_tle(build_constellation(walker="53:40/4/1", altitude_km=550))
LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE ndm [<!ENTITY l0 "lol">'
          + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 30))
          + ']>\n<ndm><omm><body><segment><metadata><OBJECT_NAME>&l29;</OBJECT_NAME></metadata>'
            '</segment></body></omm></ndm>')
EXTERNAL = ('<?xml version="1.0"?>\n<!DOCTYPE ndm [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
            '<ndm><segment><metadata><OBJECT_NAME>&e;</OBJECT_NAME></metadata></segment></ndm>')
BIG = 2**20  # above the server's 0.5 MiB limit


@pytest.fixture(scope="module")
def server(service_factory):  # noqa: F811
    return service_factory("--max-body-mb", "0.5", "--max-satellites", "2000", "--max-scenarios", "4")


def held(server):
    ids = sorted(s["id"] for s in server.client.get("/scenarios").json()["scenarios"])
    files = sorted(p.name for p in (server.data_dir / "scenarios").glob("*"))
    return ids, files


def chunks(size):
    # A body without Content-Length (chunked): the limit must hold while it streams in.
    for _ in range(size // 65536 + 1):
        yield b" " * 65536


BAD_REQUESTS = [
    # times
    ("GET", f"{S}/latency", {"params": {"time": "garbage"}}, 400, "time 'garbage' is not an ISO 8601 UTC time"),
    ("GET", f"{S}/satellites", {"params": {"time": "2026-13-01T00:00:00Z"}}, 400, "2026-13-01"),
    ("GET", f"{S}/links", {"params": {"time": "10000-01-01T00:00:00Z"}}, 400, "10000-01-01"),
    ("GET", f"{S}/satellites", {"params": {"time": "2026-01-01T00:00:00+25:00"}}, 400, "UTC offset"),
    # query ranges and names
    ("GET", f"{S}/latency", {"params": {"strategy": "best"}}, 400, "unknown placement strategy 'best'"),
    ("GET", f"{S}/placement", {"params": {"strategy": "lower-bound"}}, 400, "unknown placement strategy"),
    ("GET", f"{S}/latency", {"params": {"samples": 5}}, 400, "'samples' = '5'"),
    ("GET", f"{S}/latency", {"params": {"samples": 10**9}}, 400, "'samples'"),
    ("GET", f"{S}/compare", {"params": {"seeds": 0}}, 400, "'seeds' = '0'"),
    ("GET", f"{S}/compare", {"params": {"seeds": "many"}}, 400, "valid integer"),
    ("GET", f"{S}/compare", {"params": {"strategies": " , "}}, 400, "at least one strategy"),
    ("GET", f"{S}/compare", {"params": {"strategies": "space-xnet,worst"}}, 400, "'worst'"),
    ("GET", f"{S}/compare", {"params": {"time_budget_s": -1}}, 400, "'time_budget_s' = '-1'"),
    ("GET", f"{S}/compare", {"params": {"time_budget_s": "nan"}}, 400, "'time_budget_s'"),
    ("GET", f"{S}/compare", {"params": {"time_budget_s": 1e6}}, 400, "'time_budget_s'"),
    ("GET", f"{S}/satellites", {"params": {"format": "kml"}}, 400, "'format' = 'kml'"),
    ("GET", f"{S}/route", {"params": {"from": 80000}}, 400, "'to' is required"),
    ("GET", f"{S}/route", {"params": {"from": 80000, "to": 1}}, 400, "to: no satellite with NORAD id 1"),
    ("GET", f"{S}/route", {"params": {"from": "x", "to": 80001}}, 400, "from 'x' is neither a NORAD id nor LAT,LON"),
    ("GET", f"{S}/route", {"params": {"from": "89.9,0", "to": "30,40"}}, 422, "no satellite in view of 89.9,0"),
    ("GET", f"{S}/route", {"params": {"from": 80000, "to": "95,0"}}, 400, "to '95,0' is not LAT,LON"),
    ("GET", f"{S}/latency", {"params": {"user": "Paris"}}, 400, "user 'Paris' is not LAT,LON"),
    ("GET", f"{S}/latency", {"params": {"user": "91,0"}}, 400, "latitude in [-90, 90]"),
    ("GET", f"{S}/latency", {"params": {"user": "1,2,3"}}, 400, "is not LAT,LON"),
    ("GET", f"{S}/latency", {"params": {"user": "48.8,2.3", "strategy": "lower-bound"}}, 400, "not a placement"),
    ("GET", f"{S}/links", {"params": {"ground": "true", "min_elevation_deg": 95}}, 400, "'min_elevation_deg'"),
    ("GET", f"{S}/links", {"params": {"ground": "perhaps"}}, 400, "'ground' = 'perhaps'"),
    # unknown things
    ("GET", "/scenarios/0123456789abcdef/latency", {}, 404, "no scenario '0123456789abcdef'"),
    ("GET", "/scenarios/nope", {}, 404, "no scenario 'nope'"),
    ("DELETE", "/scenarios/nope", {}, 404, "no scenario 'nope'"),
    ("DELETE", "/scenarios/default", {}, 409, "cannot be deleted"),
    ("GET", "/no/such/endpoint", {}, 404, "no endpoint GET /no/such/endpoint"),
    ("PUT", "/scenarios", {}, 405, "PUT is not allowed"),
    # scenario documents
    ("POST", "/scenarios", {"json": {"constellation": {"preset": "starlink-shell1"}, "colour": "red"}}, 422,
     "unknown field 'colour'"),
    ("POST", "/scenarios", {"json": {"constellation": {"preset": "starlink-shell9"}}}, 422,
     "unknown constellation preset 'starlink-shell9'"),
    ("POST", "/scenarios", {"json": {"model": {"preset": "gpt-5"}}}, 422, "unknown model 'gpt-5'"),
    ("POST", "/scenarios", {"json": {"hardware": "/etc/passwd"}}, 422, "unknown hardware profile"),
    ("POST", "/scenarios", {"json": {"activation": "file:/etc/passwd"}}, 422, "reads no files"),
    ("POST", "/scenarios", {"json": {"seed": -1}}, 422, "'seed' = -1"),
    ("POST", "/scenarios", {"json": [1, 2]}, 422, "scenario"),
    ("POST", "/scenarios", {"content": b'{"seed": 1', "headers": {"content-type": "application/json"}}, 422,
     "not valid JSON"),
    ("POST", "/scenarios", {"content": b"", "headers": {"content-type": "application/json"}}, 422,
     "not valid JSON"),
    ("POST", "/scenarios", {"content": b"seed=1", "headers": {"content-type": "text/plain"}}, 415,
     "content type 'text/plain'"),
    ("POST", "/scenarios", {"json": {"constellation": {"walker": "53:5000/50/1", "altitude_km": 550}}}, 422,
     "5,000 satellites is more than this service's limit of 2,000"),
    ("POST", "/scenarios", {"json": {"constellation": {"walker": "53:2/1/0", "altitude_km": 550}, "shell": 3}},
     422, "has 1 shell(s) (indices 0 to 0)"),
    ("POST", "/scenarios", {"json": {"constellation": {"walker": "53:1584/72/one", "altitude_km": 550}}}, 422,
     "Walker spec '53:1584/72/one' is not of the form"),
    ("POST", "/scenarios", {"json": {"constellation": {"tle": TLE.replace(" 53.0000 ", " 53.000x ", 1)}}},
     422, "constellation.tle:3:"),
    ("POST", "/scenarios", {"json": {"constellation": {"omm": LAUGHS, "omm_format": "xml"}}}, 422,
     "constellation.omm:2: XML with a DOCTYPE is refused"),
    ("POST", "/scenarios", {"json": {"constellation": {"omm": EXTERNAL}}}, 422, "XML with a DOCTYPE is refused"),
    ("POST", "/scenarios", {"json": {"constellation": {"omm": "NORAD_CAT_ID,EPOCH\n1,yesterday\n"}}}, 422,
     "constellation.omm"),
    # uploads
    ("POST", "/scenarios", {"files": {"tle": ("bad.txt", b"\xff\xfe\x00garbage", "text/plain")}}, 422,
     "bad.txt: not UTF-8 text"),
    ("POST", "/scenarios", {"files": {"tle": ("a.txt", TLE.encode()), "omm": ("b.xml", LAUGHS.encode())}}, 422,
     "exactly one element file"),
    ("POST", "/scenarios", {"files": {"elements": ("a.txt", TLE.encode())}}, 422, "unknown part(s) 'elements'"),
    ("POST", "/scenarios", {"files": {"omm": ("bomb.xml", LAUGHS.encode())}}, 422,
     "bomb.xml:2: XML with a DOCTYPE is refused"),
    ("POST", "/scenarios", {"data": {"scenario": '{"constellation": {"preset": "iridium"}}'},
                            "files": {"tle": ("a.txt", TLE.encode())}}, 422, "either in the document or"),
    ("POST", "/scenarios", {"content": b"--xyz\r\nContent-Type: text/plain\r\n\r\nabc\r\n--xyz--\r\n",
                            "headers": {"content-type": "multipart/form-data; boundary=xyz"}}, 400,
     "malformed multipart upload"),
    ("POST", "/scenarios", {"content": b"abc", "headers": {"content-type": "multipart/form-data"}}, 400,
     "Missing boundary"),
    # sizes
    ("POST", "/scenarios", {"json": {"constellation": {"tle": "x" * BIG}}}, 413, "larger than this service's limit"),
    ("POST", "/scenarios", {"content": chunks(BIG), "headers": {"content-type": "application/json"}}, 413,
     "larger than this service's limit"),
    ("POST", "/scenarios", {"files": {"tle": ("big.txt", b"1" * BIG)}}, 413, "larger than this service's limit"),
]


@pytest.mark.parametrize("method, path, kwargs, status, contains", BAD_REQUESTS,
                         ids=[f"{i:02d}-{r[3]}-{r[4][:30]}" for i, r in enumerate(BAD_REQUESTS)])
def test_bad_request_gets_a_problem_and_leaves_nothing(server, method, path, kwargs, status, contains):
    before = held(server)
    response = server.client.request(method, path, **kwargs)
    body = assert_problem(response, status, contains)
    assert body["instance"] == path
    assert held(server) == before


def test_at_least_twenty_kinds_of_bad_request():
    assert len(BAD_REQUESTS) >= 20


def test_a_naive_time_is_answered_as_the_library_answers_it(server):
    # One rule for naive time strings everywhere: whatever the library's parser says, the service says.
    naive = "2026-01-01T00:10:00"
    try:
        orbits.to_datetime64_utc(naive)
    except orbits.TimeGridError as exc:
        assert_problem(server.client.get(f"{S}/satellites", params={"time": naive}), 400, str(exc))
    else:
        answer = server.client.get(f"{S}/satellites", params={"time": naive}).json()
        assert answer["time_utc"] == naive + "Z"


def test_a_bad_time_reads_as_the_cli_says_it():
    done = subprocess.run([sys.executable, "-m", "spacexnet", "place", "--walker", "53:360/18/1", "--altitude-km",
                           "550", "--model", "llama-moe-3.5b-2of8", "--start", "garbage", "-q"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr.strip() == f"spacexnet: error: {BAD_REQUESTS[0][4]}; expected e.g. '2026-01-01T00:00:00Z'"


def test_an_uploaded_element_set_error_reads_as_the_cli_says_it(server, tmp_path):
    path = tmp_path / "shell.txt"
    text = TLE.replace(" 53.0000 ", " 53.000x ", 1)
    path.write_text(text)
    done = subprocess.run([sys.executable, "-m", "spacexnet", "place", "--tle", str(path), "-q"],
                          capture_output=True, text=True, timeout=300)
    cli = done.stderr.strip().removeprefix("spacexnet: error: ")
    response = server.client.post("/scenarios", files={"tle": ("shell.txt", text.encode())})
    body = assert_problem(response, 422, "shell.txt:3:")
    assert body["detail"] == cli.replace(str(path), "shell.txt")


def test_the_scenario_limit_refuses_without_holding_anything(server):
    made = []
    try:
        for seed in range(1, 10):
            response = server.client.post("/scenarios", json={"constellation": {"walker": "53:40/4/1",
                                                                                "altitude_km": 550}, "seed": seed})
            if response.status_code == 409:
                break
            assert response.status_code == 201
            made.append(response.json()["id"])
        before = held(server)
        assert len(before[0]) == 4
        assert_problem(response, 409, "its limit (--max-scenarios)")
        assert held(server) == before
    finally:
        for sid in made:
            server.client.delete(f"/scenarios/{sid}")


def test_an_unanswerable_question_is_a_422(server):
    # 40 satellites cannot hold 32 layers of 16 experts: the placement says so in one line.
    made = server.client.post("/scenarios", json={"constellation": {"walker": "53:40/4/1", "altitude_km": 550}})
    sid = made.json()["id"]
    try:
        assert_problem(server.client.get(f"/scenarios/{sid}/placement", params={"time": T}), 422, "")
        assert_problem(server.client.get(f"/scenarios/{sid}/latency", params={"time": T}), 422, "")
    finally:
        server.client.delete(f"/scenarios/{sid}")


def test_an_internal_error_is_a_500_with_an_id_in_the_log(caplog):
    from spacexnet.service import ServiceConfig, create_app

    app = create_app(ServiceConfig())

    @app.get("/boom")
    async def boom():
        raise RuntimeError("a bug, not the user's input")

    async def call():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/boom")

    with caplog.at_level(logging.ERROR, logger="spacexnet.service"):
        response = asyncio.run(call())
    body = assert_problem(response, 500, "internal error")
    assert body["error_id"] in body["detail"] and "RuntimeError" not in json.dumps(body)
    assert any(body["error_id"] in record.getMessage() and record.exc_info for record in caplog.records)
