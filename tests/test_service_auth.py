"""The API key: loopback by default, any other address only with a key, checked on every endpoint but /health."""

import os
import subprocess
import sys

import pytest

from service_server import assert_problem, service_factory  # noqa: F401  (the session fixture)

KEY = "correct horse battery staple"


@pytest.fixture(scope="module")
def server(service_factory):  # noqa: F811
    return service_factory("--api-key", KEY)


def test_health_needs_no_key(server):
    assert server.client.get("/health").json()["status"] == "ok"


def test_the_page_and_its_files_need_no_key_but_hold_no_data(server):
    # The page asks for the key and sends it with its API requests (tests/test_browser_page.py).
    assert server.client.get("/").status_code == 200
    assert server.client.get("/static/app.js").status_code == 200
    # A path that climbs out of /static/ reaches no endpoint: it is a missing page file.
    assert_problem(server.client.get("/static/..%2Fscenarios"), 404, "no page file")
    assert_problem(server.client.get("/scenarios/default/czml"), 401, "needs an API key")


@pytest.mark.parametrize("method, path", [("GET", "/presets"), ("GET", "/scenarios"), ("GET", "/docs"),
                                          ("GET", "/openapi.json"), ("GET", "/scenarios/default/latency"),
                                          ("POST", "/scenarios"), ("DELETE", "/scenarios/default"),
                                          ("GET", "/no/such/endpoint")])
def test_every_other_endpoint_needs_the_key(server, method, path):
    missing = server.client.request(method, path)
    assert_problem(missing, 401, "needs an API key")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert_problem(server.client.request(method, path, headers={"Authorization": "Bearer wrong"}), 403,
                   "not this service's key")
    assert_problem(server.client.request(method, path, headers={"X-API-Key": KEY[:-1]}), 403, "")


def test_the_key_opens_the_endpoints(server):
    for headers in ({"Authorization": f"Bearer {KEY}"}, {"X-API-Key": KEY}):
        assert server.client.get("/presets", headers=headers).status_code == 200
    made = server.client.post("/scenarios", json={"seed": 3}, headers={"X-API-Key": KEY})
    assert made.status_code == 201
    assert server.client.delete(f"/scenarios/{made.json()['id']}", headers={"X-API-Key": KEY}).status_code == 204


def test_the_key_can_come_from_the_environment(service_factory):  # noqa: F811
    server = service_factory(env={"SPACEXNET_API_KEY": "from the environment"})
    assert_problem(server.client.get("/presets"), 401, "needs an API key")
    assert server.client.get("/presets", headers={"X-API-Key": "from the environment"}).status_code == 200


def test_another_address_without_a_key_is_refused_before_binding():
    env = {k: v for k, v in os.environ.items() if k != "SPACEXNET_API_KEY"}
    done = subprocess.run([sys.executable, "-m", "spacexnet", "serve", "--host", "0.0.0.0", "--port", "9"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "spacexnet: error: --host 0.0.0.0 is not a loopback address: give an API key (--api-key KEY or "
        "SPACEXNET_API_KEY) so that only its holders can use the service"]
