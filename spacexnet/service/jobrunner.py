"""One sweep job in its own process: ``python -m spacexnet.service.jobrunner JOB_DIR [--scheduler ADDRESS]``.

The service runs each sweep job in a child process, so that the sweep's
Python work never competes with the server's event loop for the
interpreter lock. The child reads ``JOB_DIR/job.json`` (the scenario
document, the name its element text was uploaded under, and the sweep
request), builds the scenario as the service does, runs
:func:`spacexnet.sweep.sweep` into ``JOB_DIR/sweep.nc`` (continuing from its
parts when there are some; its chunk tasks on the Dask scheduler at
``ADDRESS`` when one is given) and reports on stdout, one JSON object a line:
``{"steps_done", "steps_total"}`` after every step, ``{"step": {...}}`` with
each policy's token latency and migrations for every step of a chunk once
it is saved, each followed by a ``{"handover": {...}}`` for every policy that
started migrations at that step (:func:`handover_report`: what moved, from
which satellite to which, and its cost), then ``{"done": true}`` or
``{"error": MESSAGE}`` for a user error (exit status 1).

It dies with its parent: the service holds the child's stdin open and a
thread here exits at its end of file, so a server killed with ``kill -9``
leaves no sweep running that its next start would race with.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

__all__ = ["main", "sweep_options", "handover_report"]


def sweep_options(doc, request, workers: int = 1):
    """The :class:`spacexnet.sweep.SweepOptions` of a sweep ``request`` on the scenario ``doc``."""
    from ..compare import ground_user
    from ..sweep import SweepOptions

    rules = {k: v for k, v in doc.link_rules().items() if v is not None}
    return SweepOptions(policies=tuple(request.policies), strategy=request.strategy, step_s=request.step_s,
                        duration_s=request.duration_s, start=request.start, n_samples=request.samples,
                        horizon_s=request.horizon_s, migration_price=request.migration_price,
                        min_gain_ratio=request.min_gain_ratio, belt_planes=doc.belt_planes,
                        topology=doc.topology, link_rules=rules, workers=workers,
                        user=None if request.user is None else ground_user(request.user, "user"))


def _die_with_parent() -> None:
    def watch():
        sys.stdin.buffer.read()  # returns at end of file: the parent has gone
        os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


#: Per-step variables of a sweep reported to the server, by their name in the dataset.
STEP_FIELDS = ("token_latency_expected_ms", "token_latency_p50_ms", "token_latency_p99_ms", "migrations",
               "forced_migrations", "bytes_moved")


def _finite(value):
    """``value``, or None for a float that JSON cannot hold (inf, NaN)."""
    import math

    return value if not isinstance(value, float) or math.isfinite(value) else None


def handover_report(time_utc: str, policy: str, moves, norad_id) -> dict:
    """One policy's migrations started at one step, for the ``handover`` event.

    Parameters
    ----------
    time_utc : str
        The step's instant.
    policy : str
    moves : sequence of placement.Move
        As the sweep gives them (satellite indices).
    norad_id : ndarray
        NORAD id of each satellite index.

    Returns
    -------
    dict
        ``time_utc``, ``policy``, ``migrations``, ``transfer_ms`` and
        ``charged_ms`` (sums), and ``moves``: each with ``kind`` (expert or
        gate), ``layer``, ``expert`` (null for a gate), ``from_norad_id``
        (null: reloaded after being unplaced), ``to_norad_id``,
        ``transfer_ms``, ``charged_ms`` (what the policy's decision charged)
        and ``forced``.

    Examples
    --------
    >>> import numpy as np
    >>> from placement import Move
    >>> r = handover_report("2026-01-01T00:01:00Z", "handover", [Move("expert", 2, 5, 0, 1, 0.5, 250.0, False)],
    ...                     np.array([44713, 44714]))
    >>> r["moves"][0]["from_norad_id"], r["moves"][0]["to_norad_id"], r["charged_ms"]
    (44713, 44714, 250.0)
    """
    rows = [{"kind": m.kind, "layer": int(m.layer), "expert": None if m.kind == "gate" else int(m.expert),
             "from_norad_id": None if m.from_sat < 0 else int(norad_id[m.from_sat]),
             "to_norad_id": int(norad_id[m.to_sat]), "transfer_ms": _finite(m.transfer_s * 1000.0),
             "charged_ms": _finite(float(m.charged_ms)), "forced": bool(m.forced)} for m in moves]
    return {"time_utc": time_utc, "policy": policy, "migrations": len(rows),
            "transfer_ms": _finite(sum(m.transfer_s for m in moves) * 1000.0),
            "charged_ms": _finite(float(sum(m.charged_ms for m in moves))), "moves": rows}


def _steps(ds, moves, norad_id) -> None:
    # One report per step of the finished chunk: each policy's token latency and migrations,
    # then what each policy moved at that step.
    import numpy as np

    policies = [str(p) for p in ds["policy"].values]
    values = {name: ds[name].values for name in (*STEP_FIELDS, "user_delivery_ms") if name in ds}
    for i, t in enumerate(ds["time"].values):
        time_utc = f"{np.datetime_as_string(t, unit='s')}Z"
        row = {}
        for j, policy in enumerate(policies):
            row[policy] = {name: _finite(column[j, i].item()) for name, column in values.items()}
        _say({"step": {"time_utc": time_utc, "policies": row}})
        for policy in policies:
            if moves[policy][i]:
                _say({"handover": handover_report(time_utc, policy, moves[policy][i], norad_id)})


def _say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job_dir = Path(argv[0])
    scheduler = argv[argv.index("--scheduler") + 1] if "--scheduler" in argv else None
    from .lanes import SWEEP_NICENESS, lower_priority

    lower_priority(SWEEP_NICENESS)  # before any thread or worker process, which inherit it
    _die_with_parent()
    from ..exceptions import user_errors
    from ..sweep import sweep
    from .problems import Problem
    from .schema import Scenario, SweepRequest, canonical_json
    from .store import build

    spec = json.loads((job_dir / "job.json").read_text(encoding="utf-8"))
    doc = Scenario.model_validate(spec["document"])
    request = SweepRequest.model_validate(spec["request"])
    try:
        constellation, setup, _ = build(doc, max_satellites=10**9, source=spec.get("source"))
        command = f"spacexnet serve: POST /scenarios/{spec['scenario']}/sweeps {canonical_json(request)}"
        # resume=True: parts left by an earlier run of this very sweep are continued, none are redone.
        sweep(constellation, setup, sweep_options(doc, request), job_dir / "sweep.nc", overwrite=True,
              resume=True, progress=lambda done, total: _say({"steps_done": int(done), "steps_total": int(total)}),
              on_chunk=lambda ds, moves: _steps(ds, moves, constellation.norad_id), command=command,
              scheduler=scheduler)
    except Problem as exc:
        _say({"error": exc.detail})
        return 1
    except user_errors() as exc:
        _say({"error": " ".join(str(exc).split())})
        return 1
    _say({"done": True})
    return 0


if __name__ == "__main__":  # pragma: no cover
    import traceback

    code = 2
    try:
        code = main()
    except BaseException:  # a bug: the traceback goes to the runner's log, the exit status says so
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # Not a normal interpreter exit: the parent-watch thread is blocked reading stdin, and the
        # dataset is already in place (written through a rename).
        os._exit(code)
