"""Answers sent again by URL (spacexnet.service.answers) on the real server: the same bytes, never stale.

A question asked again is answered from the cache before any routing; the
answer must be the first one's, byte for byte and with its media type, the
API key is still checked, ``time=now`` is not kept, and a deleted scenario's
questions get 404 however often they were answered before.
"""

import pytest

from service_server import assert_problem, service_factory  # noqa: F401  (the session fixture)

DOCUMENT = {"constellation": {"walker": "53:360/18/1", "altitude_km": 550},
            "model": {"preset": "llama-moe-3.5b-2of8"}, "seed": 5}
WHEN = "2026-01-01T00:20:00Z"


@pytest.fixture(scope="module")
def server(service_factory):  # noqa: F811
    return service_factory("--api-key", "k3y")


def test_an_answer_asked_again_is_the_first_one_and_goes_with_its_scenario(server):
    key = {"X-API-Key": "k3y"}
    sid = server.client.post("/scenarios", json=DOCUMENT, headers=key).json()["id"]
    for path, params, media in [
            (f"/scenarios/{sid}/satellites", {"time": WHEN, "format": "geojson"}, "application/geo+json"),
            (f"/scenarios/{sid}/latency", {"time": WHEN, "samples": 300}, "application/json")]:
        first = server.client.get(path, params=params, headers=key)
        again = server.client.get(path, params=params, headers=key)
        assert first.status_code == again.status_code == 200
        assert again.content == first.content and again.headers["content-type"] == media
        assert_problem(server.client.get(path, params=params), 401, "needs an API key")
    now = [server.client.get(f"/scenarios/{sid}/links", params={"time": "now"}, headers=key).json()["time_utc"]
           for _ in range(2)]
    assert now[0] <= now[1]
    assert server.client.delete(f"/scenarios/{sid}", headers=key).status_code == 204
    assert_problem(server.client.get(f"/scenarios/{sid}/latency", params={"time": WHEN, "samples": 300},
                                     headers=key), 404, f"no scenario {sid!r}")
