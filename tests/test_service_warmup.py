"""Right after start the server answers the default scenario's plain latency request from its cache."""

import time

from service_server import start_server


def test_default_latency_is_answered_before_anyone_asks(tmp_path):
    server = start_server(tmp_path)
    try:
        deadline = time.monotonic() + 120
        cache = server.client.get("/health").json()["cache"]
        while cache["entries"] < 2 and time.monotonic() < deadline:  # the snapshot and the answer
            time.sleep(0.2)
            cache = server.client.get("/health").json()["cache"]
        assert cache["entries"] == 2 and cache["hits"] == 0, cache
        answer = server.client.get("/scenarios/default/latency")
        assert answer.status_code == 200 and answer.json()["strategy"] == "space-xnet"
        after = server.client.get("/health").json()["cache"]
        # One hit, nothing computed; the answer is now also kept by its URL (spacexnet.service.answers).
        assert (after["hits"], after["misses"], after["entries"]) == (1, cache["misses"], 3), after
    finally:
        server.stop()
