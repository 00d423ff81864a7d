"""Sweep jobs: ``spacexnet sweep`` of a held scenario, run in the background and resumable.

A job is :func:`spacexnet.sweep.sweep` of one scenario with one
:class:`~spacexnet.service.schema.SweepRequest`; its id is a content hash of
both, so posting the same sweep twice gives the same job. Each job runs in
a process of its own (:mod:`.jobrunner`: the sweep's Python work never holds
the server's interpreter lock), watched by a worker thread that turns its
reports into events; at most ``config.workers`` run at once, the others
wait, at most ``config.max_queued_jobs`` of them. Each job lives in
``DATA_DIR/jobs/ID/``: ``job.json`` (what to run), the sweep's part files
while it runs, and ``sweep.nc`` when it is done. Since a sweep writes every
finished chunk as a part, a job cut short — server stopped, or killed with
``kill -9`` — continues from its parts when the server starts again, and
ends with the same dataset as an uninterrupted run.

Progress is kept as a list of events — ``state``, ``progress`` after every
step, ``step`` (each policy's token latency and migrations at one step, sent
as each chunk of steps is finished), ``handover`` (after its step, for each
policy that started migrations then: every gate or expert moved, from which
satellite to which, its transfer time and what the policy charged),
``done`` — that ``GET /jobs/{id}/events`` streams as server-sent events, in
order. Each event is also appended to ``events.jsonl`` in the job's folder as
it happens, so that after a restart the events of the steps done before —
those of the chunks saved as parts — are streamed again, followed by those of
the continued run. A recompute step can move hundreds of experts, so a
handover's list of moves is kept in the job's folder (``handovers.jsonl``),
not in memory: the event holds its sums and where its text is
(:meth:`Job.detail_text`).
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

import orbits

from ..io import atomic_write_text
from .problems import Problem
from .schema import SweepRequest, canonical_json, scenario_id, validation_detail

__all__ = ["Job", "JobManager", "FINISHED"]

log = logging.getLogger("spacexnet.service")

#: States a job does not leave.
FINISHED = frozenset({"done", "failed", "cancelled"})
_SUMMARY_NAMES = {"GB moved": "moved_gb"}
#: Seconds a client is told to wait when the queue is full.
RETRY_AFTER_S = 30
#: A job's events, one JSON object a line, in its folder.
EVENTS_FILE = "events.jsonl"
#: File of a job's handover events in full (one JSON object a line), in the job's folder.
HANDOVERS_FILE = "handovers.jsonl"


@dataclass
class Job:
    """One sweep job and what is known of its progress."""

    id: str
    scenario_id: str
    request: SweepRequest
    dir: Path
    state: str = "queued"
    steps_done: int = 0
    steps_total: int | None = None
    detail: str | None = None
    events: list = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)
    run_started: float | None = None
    run_first_step: int = 0
    proc: object = field(default=None, repr=False)
    _emitting: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def dataset(self) -> Path:
        return self.dir / "sweep.nc"

    def emit(self, event: str, data: dict, detail: tuple | None = None) -> None:
        """Add an event; ``detail``: (offset, length) of its full JSON text in :data:`HANDOVERS_FILE`."""
        with self._emitting:  # the file's order is the list's
            entry = {"seq": len(self.events), "event": event, "data": data, "detail": detail}
            try:
                with open(self.dir / EVENTS_FILE, "a", encoding="utf-8") as saved:
                    saved.write(json.dumps(entry) + "\n")
            except OSError:  # the folder is gone (a cancelled job): the event is only in memory
                pass
            # list.append is atomic: the event stream reads the list while the worker appends.
            self.events.append(entry)

    def replay(self, finished: bool) -> None:
        """Take up the events saved by an earlier run (before a restart), renumbered in order.

        Of an unfinished job, the progress past its last saved step is left
        out: the continued run does those steps again, from its parts.
        """
        events = []
        try:
            lines = (self.dir / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
        for line in lines:
            try:
                entry = json.loads(line)
                events.append({"event": str(entry["event"]), "data": entry["data"], "detail": entry.get("detail")})
            except (ValueError, KeyError, TypeError):  # a line cut short by kill -9: the last one
                break
        if not finished:
            saved_steps = sum(e["event"] == "step" for e in events)
            events = [e for e in events if not (e["event"] == "progress"
                                                and e["data"].get("steps_done", 0) > saved_steps)]
            events = [e for e in events if e["event"] != "done"]
        self.events = [{"seq": i, **e} for i, e in enumerate(events)]
        for e in self.events:
            if e["event"] == "progress":
                self.steps_done, self.steps_total = e["data"]["steps_done"], e["data"]["steps_total"]
        atomic_write_text(self.dir / EVENTS_FILE, "".join(json.dumps(e) + "\n" for e in self.events),
                          overwrite=True)

    def detail_text(self, event: dict) -> str | None:
        """The full JSON text of an event kept in the job's folder (None: its ``data`` is all of it)."""
        if event.get("detail") is None:
            return None
        offset, length = event["detail"]
        try:
            with open(self.dir / HANDOVERS_FILE, "rb") as f:
                f.seek(offset)
                return f.read(length).decode("utf-8")
        except OSError:  # the job was cancelled and its folder removed meanwhile: the sums remain
            return None

    def eta_s(self) -> float | None:
        """Seconds left at this run's pace (None before two steps or once finished)."""
        if self.state != "running" or self.run_started is None or not self.steps_total:
            return None
        done_now = self.steps_done - self.run_first_step
        if done_now < 1:
            return None
        rate = done_now / max(time.monotonic() - self.run_started, 1e-9)
        return (self.steps_total - self.steps_done) / rate

    def status(self) -> dict:
        return {"id": self.id, "scenario": self.scenario_id, "state": self.state, "steps_done": self.steps_done,
                "steps_total": self.steps_total, "eta_s": self.eta_s(), "detail": self.detail,
                "request": self.request.model_dump(mode="json"),
                "dataset": f"/jobs/{self.id}/dataset" if self.state == "done" else None,
                "events": len(self.events)}


def steps_of(request: SweepRequest, constellation) -> int:
    """Time steps of the sweep ``request`` asks for (its grid, counted without building it)."""
    duration_s = orbits.orbital_period_s(constellation) if request.duration_s is None else request.duration_s
    return int(math.floor(duration_s / request.step_s + 1e-9)) + 1


class JobManager:
    """The sweep jobs of a service: queue, workers, files, and resumption after a restart."""

    def __init__(self, store, config):
        self.store = store
        self.config = config
        self.root: Path | None = None  # set by start()
        self._scratch: Path | None = None
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="sweep")

    # ------------------------------------------------------------------ asking

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise Problem(404, "not-found", f"no job {job_id!r}")
        return job

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    # ------------------------------------------------------------------ submitting

    def submit(self, loaded, request: SweepRequest) -> tuple[Job, bool]:
        """Queue a sweep of ``loaded``; the same sweep twice is one job (unless it failed or was cancelled)."""
        job_id = scenario_id(request, prefix=f"{loaded.id}:")
        with self._lock:
            found = self._jobs.get(job_id)
            if found is not None and found.state == "cancelling":
                raise Problem(409, "conflict", f"job {job_id} is being cancelled; post it again in a moment",
                              headers={"Retry-After": "1"})
            if found is not None and found.state not in ("failed", "cancelled"):
                return found, False
        self._check(loaded, request)
        with self._lock:
            queued = sum(j.state == "queued" for j in self._jobs.values())
            if queued >= self.config.max_queued_jobs:
                raise Problem(429, "busy", f"{queued} sweeps are already queued, this service's limit "
                                           "(--max-queued-jobs); try again later",
                              headers={"Retry-After": str(RETRY_AFTER_S)})
            job = Job(job_id, loaded.id, request, self.root / job_id)
            if job.dir.exists():
                shutil.rmtree(job.dir)  # a failed or cancelled run of the same sweep: start afresh
            job.dir.mkdir(parents=True)
            atomic_write_text(job.dir / "job.json", json.dumps({
                "scenario": loaded.id, "document": json.loads(canonical_json(loaded.document)),
                "source": loaded.source, "request": json.loads(canonical_json(request))}))
            self._jobs[job_id] = job
        job.emit("state", {"state": "queued"})
        self._pool.submit(self._run, job)
        return job, True

    def _check(self, loaded, request: SweepRequest) -> None:
        if request.start is not None:
            try:
                orbits.to_datetime64_utc(request.start)
            except orbits.TimeGridError as exc:
                raise Problem(422, "invalid-scenario", f"sweep: start: {exc}") from None
        steps = steps_of(request, loaded.constellation)
        if steps > self.config.max_sweep_steps:
            raise Problem(422, "invalid-scenario", f"sweep: {steps:,} steps is more than this service's limit of "
                                                   f"{self.config.max_sweep_steps:,} (--max-sweep-steps); "
                                                   "take a longer step_s or a shorter duration_s")

    # ------------------------------------------------------------------ running

    def _run(self, job: Job) -> None:
        if job.cancel.is_set() or self._stopping.is_set():
            return
        job.state = "running"
        job.emit("state", {"state": "running"})
        log_path = job.dir / "runner.log"
        error = None
        handovers = None
        try:
            # Appended: the handover events replayed after a restart point into the earlier run's part of it.
            handovers = open(job.dir / HANDOVERS_FILE, "ab")
            with open(log_path, "ab") as stderr:
                command = [sys.executable, "-m", "spacexnet.service.jobrunner", str(job.dir)]
                if self.config.scheduler:
                    command += ["--scheduler", self.config.scheduler]
                proc = subprocess.Popen(command,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
            job.proc = proc
            if job.cancel.is_set() or self._stopping.is_set():  # asked while the process started
                proc.terminate()
            for line in proc.stdout:
                message = json.loads(line)
                if "steps_done" in message:
                    self._progress(job, message["steps_done"], message["steps_total"])
                if "step" in message:
                    job.emit("step", message["step"])
                if "handover" in message:
                    self._handover(job, handovers, message["handover"])
                error = message.get("error", error)
            status = proc.wait()
            proc.stdout.close()
            proc.stdin.close()
        except (OSError, ValueError) as exc:  # the runner could not start, or spoke nonsense
            status, error = -1, None
            log.error("sweep job %s: runner: %s", job.id, exc)
        finally:
            if handovers is not None:
                handovers.close()
        if job.cancel.is_set():
            self._cancelled(job)
        elif self._stopping.is_set():
            job.state = "queued"  # the server is stopping: its next start continues from the parts
        elif status == 0 and job.dataset.exists():
            self._done(job)
        else:
            if error is None:  # a bug, not the user's input: its traceback is in the runner's log
                error_id = secrets.token_hex(8)
                log.error("error %s in sweep job %s (exit status %s); see %s", error_id, job.id, status, log_path)
                error = f"internal error {error_id}; it is in the server log"
            job.state, job.detail = "failed", error
            job.emit("state", {"state": "failed", "detail": job.detail})

    @staticmethod
    def _handover(job: Job, out, handover: dict) -> None:
        # The moves go to the job's folder; the event in memory keeps the sums and where the text is.
        text = json.dumps(handover, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        offset = out.tell()
        out.write(text + b"\n")
        out.flush()
        job.emit("handover", {k: v for k, v in handover.items() if k != "moves"}, detail=(offset, len(text)))

    def _progress(self, job: Job, done: int, total: int) -> None:
        if job.run_started is None:
            job.run_started, job.run_first_step = time.monotonic(), done
        job.steps_done, job.steps_total = int(done), int(total)
        job.emit("progress", {"steps_done": job.steps_done, "steps_total": job.steps_total, "eta_s": job.eta_s()})

    def _done(self, job: Job) -> None:
        import xarray as xr

        from ..cli.sweep import summary_rows

        with xr.open_dataset(job.dataset) as ds:
            # The CLI's summary table, with names for JSON: "GB moved" -> "moved_gb", units last.
            summary = [{_SUMMARY_NAMES.get(k, k.replace(" ", "_")): v for k, v in row.items()}
                       for row in summary_rows(ds)]
        job.state = "done"
        job.emit("done", {"state": "done", "summary": summary, "dataset": f"/jobs/{job.id}/dataset"})

    # ------------------------------------------------------------------ cancelling, restarting, stopping

    def _cancelled(self, job: Job) -> None:
        shutil.rmtree(job.dir, ignore_errors=True)
        with self._lock:
            if self._jobs.get(job.id) is job:
                del self._jobs[job.id]
        job.state = "cancelled"
        job.emit("state", {"state": "cancelled"})

    def cancel(self, job_id: str) -> None:
        """Stop a queued or running job and remove it with its files (a finished one: just remove it).

        A running job is ``cancelling`` until its sweep sees the flag, at its
        next step; then its folder goes and the job is forgotten.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise Problem(404, "not-found", f"no job {job_id!r}")
            job.cancel.set()
            if job.state in ("running", "cancelling"):
                job.state = "cancelling"
                if job.proc is not None:
                    job.proc.terminate()
                return
        self._cancelled(job)

    def busy_with(self, sid: str) -> bool:
        """Whether ``sid`` has jobs that are not finished (a scenario with such jobs is not deleted)."""
        return any(j.scenario_id == sid and j.state not in FINISHED for j in self.all())

    def start(self) -> int:
        """Make the jobs folder and take up the jobs found there; return how many.

        Jobs live in ``DATA_DIR/jobs``, or without a data directory in a
        temporary folder of this run (removed by :meth:`stop`). Finished jobs
        are registered as done, the others queued again: they continue from
        their parts.
        """
        if self.config.data_dir is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="spacexnet-serve-"))
        self.root = Path(self.config.data_dir or self._scratch) / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        count = 0
        for path in sorted(self.root.glob("*/job.json")):
            job_dir = path.parent
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
                request = SweepRequest.model_validate(saved["request"])
                loaded = self.store.get(saved["scenario"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("%s: not resumed: %s", path, exc)
                continue
            except ValidationError as exc:
                log.warning("%s: not resumed: %s", path, validation_detail(exc, "sweep"))
                continue
            except Problem as exc:
                log.warning("%s: not resumed: %s", path, exc.detail)
                continue
            job = Job(job_dir.name, loaded.id, request, job_dir)
            job.replay(finished=job.dataset.exists())
            with self._lock:
                self._jobs[job.id] = job
            if job.dataset.exists():
                job.state = "done"
                if not job.events or job.events[-1]["event"] != "done":
                    job.emit("done", {"state": "done", "dataset": f"/jobs/{job.id}/dataset"})
            else:
                job.emit("state", {"state": "queued", "resumed": True})
                self._pool.submit(self._run, job)
            count += 1
        return count

    def stop(self) -> None:
        """Stop the running sweeps at their next step (their parts stay for the next start) and the workers."""
        self._stopping.set()
        for job in self.all():
            if job.proc is not None and job.proc.poll() is None:
                job.proc.terminate()  # its parts stay: the next start continues it
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

