"""Heavy questions on the real server: they do not hold up cheap ones, and beyond a bound they get 429.

A comparison with ``anneal`` searches for seconds; a ``latency`` of the
``space-xnet`` placement at the same instant is answered while it runs (it
shares the instant's geometry, not a lock), and a further distinct heavy
question beyond ``--max-heavy-queued`` is refused at once with
``Retry-After``, while the same question again joins the one in progress.
"""

import threading
import time

import pytest

from service_server import assert_problem, service_factory  # noqa: F401  (the session fixture)

S = "/scenarios/default"
WHEN = "2026-01-01T00:30:00Z"
#: A comparison that searches for a few seconds on the default shell (anneal at 2 nominal seconds).
HEAVY = {"time": WHEN, "strategies": "space-xnet,anneal", "time_budget_s": 2, "samples": 500, "seeds": 1}


@pytest.fixture(scope="module")
def server(service_factory):  # noqa: F811
    return service_factory("--max-heavy-queued", "0")


def _in_background(server, params):
    found = {}

    def ask():
        found["response"] = server.client.get(f"{S}/compare", params=params)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while server.client.get("/health").json()["heavy"]["running"] < 1:  # the lane has taken it
        assert thread.is_alive() and time.monotonic() < deadline, found
        time.sleep(0.05)
    return thread, found


def test_a_cheap_question_is_answered_while_a_heavy_one_about_the_same_instant_runs(server):
    thread, found = _in_background(server, HEAVY)
    cheap = server.client.get(f"{S}/latency", params={"time": WHEN, "samples": 500})
    still_running = thread.is_alive()
    thread.join()
    assert cheap.status_code == 200 and found["response"].status_code == 200, found["response"].text
    assert still_running  # answered before the comparison of the same instant ended
    assert [r["strategy"] for r in found["response"].json()["rows"]] == ["space-xnet", "anneal"]


def test_a_heavy_question_beyond_the_bound_gets_429_and_the_same_one_joins(server):
    params = {**HEAVY, "time": "2026-01-01T00:40:00Z"}
    thread, found = _in_background(server, params)
    other = server.client.get(f"{S}/compare", params={**params, "time": "2026-01-01T00:41:00Z"})
    body = assert_problem(other, 429, "running or waiting: 1;")
    assert int(other.headers["Retry-After"]) >= 1 and body["title"]
    placement = server.client.get(f"{S}/placement", params={"time": "2026-01-01T00:41:00Z", "strategy": "joint"})
    assert_problem(placement, 429, "ask again later")
    cheap = server.client.get(f"{S}/placement", params={"time": "2026-01-01T00:41:00Z"})
    assert cheap.status_code == 200
    same = server.client.get(f"{S}/compare", params=params)  # joins the computation in progress
    thread.join()
    assert same.status_code == 200 and same.content == found["response"].content
    assert server.client.get("/health").json()["heavy"] == {"running": 0, "waiting": 0, "workers": 1,
                                                              "max_waiting": 0}
    # Free again: the question refused before is answered now.
    assert server.client.get(f"{S}/compare", params={**params, "time": "2026-01-01T00:41:00Z"}).status_code == 200
