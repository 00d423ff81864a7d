"""The runnable examples run: ``examples/paper_claim.py --quick`` prints a well-formed ratio table."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from script_loader import load_script

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RATIO_COLUMNS = ("joint ÷", "random ÷", "ring-random ÷", "random-optimized ÷", "lower-bound ÷")


def _tables(text: str) -> list[list[dict]]:
    """Every markdown table of ``text`` as a list of {header: cell} rows."""
    tables, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = [h.strip() for h in lines[i].strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("| "):
                rows.append(dict(zip(header, (c.strip() for c in lines[i].strip("|").split("|")), strict=True)))
                i += 1
            tables.append(rows)
        else:
            i += 1
    return tables


@pytest.fixture(scope="module")
def quick_output() -> str:
    # The repository first on the path, as in the test process itself (a stale install cannot shadow it).
    path = os.pathsep.join(filter(None, [str(EXAMPLES.parent), os.environ.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, str(EXAMPLES / "paper_claim.py"), "--quick", "--quiet"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": path})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_paper_claim_quick_table(quick_output):
    tables = _tables(quick_output)
    assert len(tables) == 1 and len(tables[0]) == 3
    for row in tables[0]:
        assert {"activation", "space-xnet ms", *RATIO_COLUMNS, "claim ≥3×"} <= row.keys()
        assert float(row["space-xnet ms"].replace(",", "")) > 0
        for col in RATIO_COLUMNS:
            value = float(row[col])
            assert math.isfinite(value) and value > 0, (col, row)
        baselines = [float(row[c]) for c in ("random ÷", "ring-random ÷", "random-optimized ÷")]
        assert row["claim ≥3×"].startswith("holds" if min(baselines) >= 3 else "fails")
        # The lower bound is below every strategy, space-xnet (ratio 1) included.
        assert float(row["lower-bound ÷"]) < 1


def _load_paper_claim():
    return load_script(EXAMPLES / "paper_claim.py")


def test_paper_claim_space_xnet_is_its_own_unit():
    """space-xnet's own ratio is exactly 1 (it is every ratio's denominator)."""
    mod = _load_paper_claim()
    runner = mod.Runner([0], n_seeds=1, n_samples=100, log=lambda msg: None)
    row = runner.run(mod.Case(preset="kuiper-630", activation="uniform"))
    assert row.error is None
    assert row.ratios["space-xnet"] == 1.0
    assert all(math.isfinite(v) and v > 0 for v in row.ratios.values())


def test_paper_claim_verdict_counts_rows(quick_output):
    assert "holds on" in quick_output and "of 3 feasible rows" in quick_output


def test_gate_candidates_axis_reproduces_compare():
    """With the default K, the script's direct gate-candidates path gives compare()'s expected values."""
    mod = _load_paper_claim()
    runner = mod.Runner([0], n_seeds=2, n_samples=100, log=lambda msg: None)
    via_compare = runner.run(mod.Case(preset="kuiper-630"))
    direct = runner.run(mod.Case(preset="kuiper-630", gate_candidates=mod.DEFAULT_GATE_CANDIDATES))
    assert direct.space_xnet_ms == pytest.approx(via_compare.space_xnet_ms, rel=1e-12)
    for name, ratio in via_compare.ratios.items():
        assert direct.ratios[name] == pytest.approx(ratio, rel=1e-12), name
