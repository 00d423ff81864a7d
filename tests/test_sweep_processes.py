"""A sweep's processes: workers die with their parent, Ctrl-C tells how to continue, first-run compiling is said."""

import os
import signal
import subprocess
import sys
import time

import pytest

WALKER = ["--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8"]


def _children(pid: int) -> list[int]:
    """Live (not zombie) child processes of ``pid``."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - /proc fallback
        psutil = None
    if psutil is not None:
        try:
            kids = psutil.Process(pid).children()
        except psutil.NoSuchProcess:
            return []
        return [k.pid for k in kids if _alive(k.pid)]
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                kids.append(int(entry))
    return kids


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan's zombie waits for a reaper, it runs nothing)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _sweep(tmp_path, *args, env=None):
    """Start a sweep in ``tmp_path``; its stdout and stderr go to files there (an orphan may hold a pipe open)."""
    cmd = [sys.executable, "-m", "spacexnet", "sweep", *WALKER, *args]
    with open(tmp_path / "stdout.txt", "w") as out, open(tmp_path / "stderr.txt", "w") as err:
        # Its own process group, as a terminal's foreground job; Ctrl-C as in a terminal even if we run in the
        # background (where a shell may have told us to ignore it).
        return subprocess.Popen(cmd, cwd=tmp_path, stdout=out, stderr=err, text=True,
                                env={**os.environ, **(env or {})}, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to find the workers")
def test_kill_9_of_the_sweep_leaves_no_worker(tmp_path):
    proc = _sweep(tmp_path, "--duration-s", "7200", "--step-s", "10", "--samples", "100", "--policy", "recompute",
                  "--workers", "2", "--chunk-steps", "5", "--out", "long.nc", "-q")
    workers = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(workers) < 2:
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            time.sleep(0.2)
            workers = _children(proc.pid)
        assert len(workers) >= 2, "the sweep never started its two workers"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert [w for w in workers if _alive(w)] == []
    finally:
        # Whatever the outcome, leave nothing running: the sweep and the workers it had.
        for pid in [proc.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


def _orphan_waits_forever(start_worker, parent_pid):
    start_worker(parent_pid)
    time.sleep(60)


def test_a_worker_whose_parent_is_not_its_starter_exits_without_prctl(monkeypatch):
    """The portable watch: a worker told that another process started it sees an orphan's parent and ends."""
    import multiprocessing

    from spacexnet.sweep import _start_worker

    monkeypatch.setattr(sys, "platform", "darwin")  # no prctl: only the watch thread acts
    child = multiprocessing.get_context("fork").Process(target=_orphan_waits_forever,
                                                        args=(_start_worker, os.getpid() + 10**6))
    child.start()
    child.join(10)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and child.exitcode == 1


def test_ctrl_c_says_where_the_parts_are_and_how_to_continue(tmp_path):
    """Ctrl-C reaches the whole group (sweep and workers): one line, no worker traceback, nothing left running."""
    proc = _sweep(tmp_path, "--duration-s", "3600", "--step-s", "10", "--samples", "100", "--policy", "recompute",
                  "--workers", "2", "--chunk-steps", "3", "--out", "int.nc", "-q")
    parts = tmp_path / ".int.nc.parts"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (parts / "state-000000.json").exists():
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            time.sleep(0.05)
        workers = _children(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (line,) = (tmp_path / "stderr.txt").read_text().strip().splitlines()
    kept = len(list(parts.glob("state-*.json")))
    assert kept >= 1
    assert [w for w in workers if _alive(w)] == []
    assert line == (f"spacexnet: interrupted; {kept} of 121 chunks are saved in {parts}; run the same command again "
                    "with --resume to continue from there")
    assert not (tmp_path / "int.nc").exists()


@pytest.mark.slow
def test_compiling_kernels_is_said_on_a_first_run_only(tmp_path):
    """An empty Numba cache: said, timed, and done before the progress bar starts; a warm cache: nothing said."""
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    args = ("--duration-s", "60", "--step-s", "30", "--samples", "100", "--overwrite", "--out", "c.nc")
    for run in ("cold", "warm"):
        proc = _sweep(tmp_path, *args, env={"NUMBA_CACHE_DIR": str(cache)})
        assert proc.wait(600) == 0, (tmp_path / "stderr.txt").read_text()
        err = (tmp_path / "stderr.txt").read_text()
        bar = err.index("sweep:")
        if run == "cold":
            assert 0 <= err.index("compiling kernels (first run only) ...") < err.index("kernels compiled in") < bar
        else:
            assert "compiling" not in err and "compiled" not in err
