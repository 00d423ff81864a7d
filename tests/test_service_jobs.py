"""Sweep jobs on the real server: the dataset is spacexnet sweep's, events come in order, kill -9 resumes.

Runner processes are found through /proc (Linux, as the machines this project runs on).
"""

import json
import os
import subprocess
import sys
import time

import pytest
import xarray as xr

from service_server import assert_problem, read_events, service_factory, start_server  # noqa: F401  (the session fixture)

DOCUMENT = {"constellation": {"walker": "53:360/18/1", "altitude_km": 550},
            "model": {"preset": "llama-moe-3.5b-2of8"}}
CLI_SCENARIO = ["--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8"]
SHORT = {"duration_s": 300, "step_s": 30, "samples": 200}
#: Bound on waiting for a job, s (a 181-step sweep of 360 satellites takes about 20 s on 2 cores).
WAIT_S = 600


@pytest.fixture(scope="module")
def server(service_factory):  # noqa: F811
    return service_factory("--max-sweep-steps", "1000")


@pytest.fixture(scope="module")
def scenario(server):
    return server.client.post("/scenarios", json=DOCUMENT).json()["id"]


def runners(job_dir) -> list[int]:
    """Process ids of the sweep runners working in ``job_dir`` (from /proc)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if b"spacexnet.service.jobrunner" in command and str(job_dir).encode() in command:
            found.append(int(pid))
    return found


def gone_within(job_dir, seconds=30.0) -> bool:
    deadline = time.monotonic() + seconds
    while runners(job_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not runners(job_dir)


def wait_for(server, job_id, predicate):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = server.client.get(f"/jobs/{job_id}").json()
        if predicate(status):
            return status
        assert status["state"] not in ("failed", "cancelled"), status
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} not there within {WAIT_S} s: {status}")


def cli_sweep(tmp_path, *options):
    out = tmp_path / "cli.nc"
    done = subprocess.run([sys.executable, "-m", "spacexnet", "sweep", *CLI_SCENARIO, *options, "--out", str(out),
                           "-q"], capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 0, done.stderr
    return out


def assert_same_dataset(path_a, path_b):
    # The same data, coordinates and attributes; only "history" (when, and by which command) differs.
    with xr.open_dataset(path_a) as a, xr.open_dataset(path_b) as b:
        a.attrs.pop("history"), b.attrs.pop("history")
        xr.testing.assert_identical(a.load(), b.load())


def download(server, job_id, path):
    response = server.client.get(f"/jobs/{job_id}/dataset")
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-netcdf"
    path.write_bytes(response.content)
    return path


def test_a_sweep_job_writes_what_spacexnet_sweep_writes(server, scenario, tmp_path):
    made = server.client.post(f"/scenarios/{scenario}/sweeps", json=SHORT)
    assert made.status_code == 202 and made.headers["location"] == f"/jobs/{made.json()['id']}"
    job = made.json()["id"]
    status = wait_for(server, job, lambda s: s["state"] == "done")
    assert (status["steps_done"], status["steps_total"]) == (11, 11)
    assert_same_dataset(download(server, job, tmp_path / "job.nc"),
                        cli_sweep(tmp_path, "--duration-s", "300", "--step-s", "30", "--samples", "200"))
    # The same sweep again is the same job; deleting it forgets it.
    again = server.client.post(f"/scenarios/{scenario}/sweeps", json={**SHORT, "policies": ["static", "recompute",
                                                                                          "handover"]})
    assert again.status_code == 200 and again.json()["id"] == job
    assert server.client.delete(f"/jobs/{job}").status_code == 204
    assert_problem(server.client.get(f"/jobs/{job}"), 404, f"no job '{job}'")


def test_a_sweep_job_with_a_ground_user_writes_what_spacexnet_sweep_user_writes(server, scenario, tmp_path):
    request = {**SHORT, "duration_s": 60, "policies": ["static", "recompute"], "user": "48.85,2.35"}
    job = server.client.post(f"/scenarios/{scenario}/sweeps", json=request).json()["id"]
    wait_for(server, job, lambda s: s["state"] == "done")
    path = download(server, job, tmp_path / "job.nc")
    cli = cli_sweep(tmp_path, "--duration-s", "60", "--step-s", "30", "--samples", "200",
                    "--policy", "static,recompute", "--user", "48.85,2.35")
    assert_same_dataset(path, cli)
    with xr.open_dataset(path) as ds:
        assert ds["user_delivery_ms"].dims == ("policy", "time") and ds.attrs["ground_user"] == "48.85,2.35"
    # Another user is another sweep, and a bad one is refused in one line.
    other = server.client.post(f"/scenarios/{scenario}/sweeps", json={**request, "user": "40.7,-74"})
    assert other.json()["id"] != job
    server.client.delete(f"/jobs/{other.json()['id']}")
    assert_problem(server.client.post(f"/scenarios/{scenario}/sweeps", json={**request, "user": "95,0"}), 422,
                   "user '95,0' is not LAT,LON")
    server.client.delete(f"/jobs/{job}")


def test_handover_events_list_each_migration_the_dataset_counts(server, scenario, tmp_path):
    job = server.client.post(f"/scenarios/{scenario}/sweeps", json={**SHORT, "policies": ["static", "recompute"]}
                             ).json()["id"]
    events = read_events(server, job)
    handovers = [e["data"] for e in events if e["event"] == "handover"]
    assert handovers, "recompute adopts a fresh placement within 5 minutes"
    # The lists of moves are kept in the job's folder, not in the server's memory; the stream reads them back.
    kept = (server.data_dir / "jobs" / job / "handovers.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in kept] == handovers
    with xr.open_dataset(download(server, job, tmp_path / "job.nc")) as ds:
        norad = ds["norad_id"].values
        times = [f"{str(t)[:19]}Z" for t in ds["time"].values]
        # One event for each policy and step with migrations, right after that step's event.
        moved = [(str(p), times[i]) for p in ds["policy"].values for i in range(len(times))
                 if ds["migrations"].sel(policy=p).values[i] > 0]
        assert sorted((h["policy"], h["time_utc"]) for h in handovers) == sorted(moved)
        for k, e in enumerate(events):
            if e["event"] == "handover":
                step = next(x for x in reversed(events[:k]) if x["event"] == "step")
                assert step["data"]["time_utc"] == e["data"]["time_utc"]
        for h in handovers:
            rec = ds.sel(policy=h["policy"])
            i = times.index(h["time_utc"])
            assert h["migrations"] == len(h["moves"]) == rec["migrations"].values[i]
            assert h["transfer_ms"] == pytest.approx(rec["migration_time_s"].values[i] * 1000)
            assert h["charged_ms"] == 0.0  # recompute charges nothing for its moves
            for m in h["moves"]:
                # Recompute serves what it adopts at once: from the last step's satellite to this step's.
                where = rec["gate_sat"] if m["kind"] == "gate" else rec["expert_sat"].sel(expert=m["expert"])
                before, now = where.values[i - 1, m["layer"]], where.values[i, m["layer"]]
                assert (m["from_norad_id"], m["to_norad_id"]) == (norad[before], norad[now])
    server.client.delete(f"/jobs/{job}")


def test_events_arrive_in_order_until_the_job_ends(server, scenario, tmp_path):
    job = server.client.post(f"/scenarios/{scenario}/sweeps", json={**SHORT, "policies": ["static"]}).json()["id"]
    events = read_events(server, job)
    assert [e["id"] for e in events] == list(range(len(events)))
    assert [e["event"] for e in events[:2]] == ["state", "state"] and events[-1]["event"] == "done"
    steps = [e["data"]["steps_done"] for e in events if e["event"] == "progress"]
    assert steps == sorted(steps) and steps[-1] == 11
    assert [row["policy"] for row in events[-1]["data"]["summary"]] == ["static"]
    # Each step's latency and migrations, in time order, as the dataset holds them.
    steps = [e["data"] for e in events if e["event"] == "step"]
    path = download(server, job, tmp_path / "job.nc")
    with xr.open_dataset(path) as ds:
        static = ds.sel(policy="static")
        assert [s["time_utc"] for s in steps] == [f"{str(t)[:19]}Z" for t in ds["time"].values]
        assert [s["policies"]["static"]["token_latency_expected_ms"] for s in steps] == \
            static["token_latency_expected_ms"].values.tolist()
        assert [s["policies"]["static"]["migrations"] for s in steps] == static["migrations"].values.tolist()
    # Reconnecting with Last-Event-ID gives only what came after.
    with server.client.stream("GET", f"/jobs/{job}/events", headers={"Last-Event-ID": str(len(events) - 2)}) as rest:
        ids = [int(line[4:]) for line in rest.iter_lines() if line.startswith("id: ")]
    assert ids == [len(events) - 1]
    server.client.delete(f"/jobs/{job}")


def test_bad_sweeps_are_refused(server, scenario):
    assert_problem(server.client.post(f"/scenarios/{scenario}/sweeps", json={"step": 10}), 422,
                   "sweep: unknown field 'step'")
    assert_problem(server.client.post(f"/scenarios/{scenario}/sweeps", json={"policies": ["static", "static"]}),
                   422, "policy listed twice")
    assert_problem(server.client.post(f"/scenarios/{scenario}/sweeps", json={"duration_s": 86400, "step_s": 1}),
                   422, "86,401 steps is more than this service's limit of 1,000")
    assert_problem(server.client.post(f"/scenarios/{scenario}/sweeps", json={"start": "soon"}), 422,
                   "sweep: start: time 'soon' is not an ISO 8601 UTC time")
    assert_problem(server.client.post("/scenarios/nope/sweeps", json=SHORT), 404, "no scenario 'nope'")
    assert_problem(server.client.get("/jobs/nope/dataset"), 404, "no job 'nope'")
    assert server.client.get("/jobs").json()["jobs"] == []


def test_a_full_queue_says_when_to_retry(service_factory):  # noqa: F811
    server = service_factory("--max-queued-jobs", "0")
    response = server.client.post("/scenarios/default/sweeps", json=SHORT)
    assert_problem(response, 429, "already queued")
    assert int(response.headers["retry-after"]) > 0
    assert server.client.get("/jobs").json()["jobs"] == []


def test_a_job_survives_kill_9_and_ends_with_the_same_file(tmp_path):
    request = {"duration_s": 1800, "step_s": 10, "samples": 200, "policies": ["static", "handover"]}
    first = start_server(tmp_path / "serve", "--workers", "1")
    try:
        scenario = first.client.post("/scenarios", json=DOCUMENT).json()["id"]
        job = first.client.post(f"/scenarios/{scenario}/sweeps", json=request).json()["id"]
        # Past the first 60-step chunk (written as a part), before the end.
        status = wait_for(first, job, lambda s: s["steps_done"] >= 75)
        assert status["state"] == "running" and status["steps_total"] == 181 and status["eta_s"] > 0
        job_dir = first.data_dir / "jobs" / job
        assert len(runners(job_dir)) == 1  # the sweep runs in a process of its own
        first.proc.kill()  # SIGKILL: no shutdown, no cleanup
        first.proc.wait(timeout=30)
        assert gone_within(job_dir)  # the runner dies with the server: nothing races the next start
    finally:
        first.stop()
    second = start_server(tmp_path / "serve", "--workers", "1")
    try:
        wait_for(second, job, lambda s: s["state"] == "done")
        events = read_events(second, job)
        served = download(second, job, tmp_path / "job.nc")
    finally:
        second.stop()
    assert_same_dataset(served, cli_sweep(tmp_path, "--duration-s", "1800", "--step-s", "10", "--samples", "200",
                                          "--policy", "static,handover"))
    # The events of both runs, in order: the steps done before the kill (their chunk saved) are replayed.
    assert [e["id"] for e in events] == list(range(len(events)))
    resumed = next(i for i, e in enumerate(events) if e["data"].get("resumed"))
    before, after = events[:resumed], events[resumed:]
    before_steps = [e for e in before if e["event"] == "step"]
    assert len(before_steps) >= 60 and [e["event"] for e in before[:2]] == ["state", "state"]
    progress_after = [e["data"]["steps_done"] for e in after if e["event"] == "progress"]
    assert progress_after[0] == len(before_steps)  # continued from the parts, not started over
    progress = [e["data"]["steps_done"] for e in events if e["event"] == "progress"]
    assert progress == sorted(progress) and progress[-1] == 181
    steps = [e["data"] for e in events if e["event"] == "step"]
    with xr.open_dataset(served) as ds:
        assert [s["time_utc"] for s in steps] == [f"{str(t)[:19]}Z" for t in ds["time"].values]
        assert [s["policies"]["handover"]["token_latency_expected_ms"] for s in steps] == \
            ds["token_latency_expected_ms"].sel(policy="handover").values.tolist()
    assert events[-1]["event"] == "done" and sum(e["event"] == "done" for e in events) == 1


def test_cancelling_a_running_job_removes_it_and_its_files(server, scenario):
    job = server.client.post(f"/scenarios/{scenario}/sweeps", json={"duration_s": 3000, "step_s": 10,
                                                                    "samples": 200, "policies": ["static"]}).json()
    wait_for(server, job["id"], lambda s: s["steps_done"] >= 1)
    assert server.client.delete(f"/jobs/{job['id']}").status_code == 204
    deadline = time.monotonic() + WAIT_S
    while server.client.get(f"/jobs/{job['id']}").status_code != 404 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert_problem(server.client.get(f"/jobs/{job['id']}"), 404, "no job")
    assert not (server.data_dir / "jobs" / job["id"]).exists()
    assert gone_within(server.data_dir / "jobs" / job["id"])


def test_serve_scheduler_runs_sweep_chunks_on_that_dask_cluster(tmp_path):
    # A LocalCluster on loopback in this process: its workers are threads here, so the scheduler's task
    # records show that the server's sweep job ran its chunk tasks there, and the file is spacexnet sweep's.
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        server = start_server(tmp_path / "serve", "--scheduler", cluster.scheduler_address)
        try:
            sid = server.client.post("/scenarios", json=DOCUMENT).json()["id"]
            job = server.client.post(f"/scenarios/{sid}/sweeps", json=SHORT).json()["id"]
            wait_for(server, job, lambda s: s["state"] == "done")
            served = download(server, job, tmp_path / "job.nc")
        finally:
            server.stop()
        ran = sum(prefix.state_counts.get("memory", 0) + prefix.state_counts.get("released", 0)
                  + prefix.state_counts.get("forgotten", 0) for prefix in cluster.scheduler.task_prefixes.values())
        assert ran > 0, dict(cluster.scheduler.task_prefixes)
    assert_same_dataset(served, cli_sweep(tmp_path, "--duration-s", "300", "--step-s", "30", "--samples", "200"))


def test_serve_refuses_an_unreachable_scheduler_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "spacexnet", "serve", "--port", "1", "--scheduler", "nonsense"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "spacexnet: error: --scheduler: cannot reach the Dask scheduler at nonsense: missing port number in "
        "address 'nonsense'"]
