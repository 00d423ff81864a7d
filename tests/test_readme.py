"""The README's Python examples run as written, and its quick start names the real commands."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, capsys):
    exec(compile(BLOCKS[index], f"README.md python block {index}", "exec"), {})
    assert capsys.readouterr().out.strip()  # every example prints something


def test_quick_start_has_exactly_two_commands_that_match_ci():
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line for line in quick.splitlines() if line.strip()]
    assert len(lines) == 2
    assert lines[0].startswith("pip install . && spacexnet sweep")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert lines[1] in ci


# ---- Generated blocks: no number in the README or docs/ is typed by hand.

import subprocess  # noqa: E402
import sys  # noqa: E402

from script_loader import load_script  # noqa: E402

ROOT = README.parent
build = load_script(ROOT / "docs" / "build.py", "docs_build")
TEXT = README.read_text(encoding="utf-8")
PAGES = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in build.pages()}
GENERATED = [b for name, text in PAGES.items() for b in build.blocks(text, name)]
CHECKED = [b for b in GENERATED if not b.slow]


@pytest.mark.slow
@pytest.mark.parametrize("block", CHECKED, ids=[f"{b.source}:{b.command}" for b in CHECKED])
def test_generated_block_matches_a_fresh_run(block):
    """Each generator cheap enough for CI re-runs and gives exactly what its page shows."""
    if block.missing:
        pytest.skip(f"{block.missing} is not beside this checkout")
    text = PAGES[block.source]
    assert text[block.start:block.stop] == build.run(block), f"{block.source}:{block.line} is stale: python docs/build.py"


def test_every_measured_table_has_its_generator():
    where = {(b.source, b.command) for b in GENERATED}
    for expected in [("README.md", "python docs/worked_example.py"),
                     ("docs/accuracy.md", "python docs/time_step.py"),
                     ("docs/accuracy.md", "python examples/tle_age.py"),
                     ("docs/model.md", "python docs/compute_times.py"),
                     ("docs/dataset.md", "python docs/dataset.py"),
                     ("docs/paper_claim.md", "python examples/paper_claim.py --readme --quiet"),
                     ("docs/paper_claim.md", "spacexnet compare"),
                     ("docs/performance.md", "python bench/default_sweep.py"),
                     ("docs/scaling.md", "python bench/scaling_study.py")]:
        assert expected in where, expected
    # The checked blocks need no data from outside the repository, except those that say so.
    assert all(b.missing is None or b.options.get("requires") for b in CHECKED)


def _outside_blocks(text, source):
    for block in reversed(build.blocks(text, source)):
        text = text[:block.start] + text[block.stop:]
    return text


@pytest.mark.parametrize("name", sorted(PAGES))
def test_console_output_and_timings_only_inside_generated_blocks(name):
    """A ```text block is a program's output: it must come from its generator, as must any timing."""
    outside = _outside_blocks(PAGES[name], name)
    assert "```text" not in outside
    for stale in ("about a minute", "about 16 s", "about 10 s", "66,772", "1,253.0", "pasted unedited", "34 of 85"):
        assert stale not in outside, stale


# A measured quantity: a number with a unit of time, size or ratio ("985.1 ms", "3.14×", "92%", "62 MiB").
# A step size ("at 1 s steps") is a setting, not a measurement.
_MEASURED = re.compile(r"(?<![\w.:/-])\d[\d,.]*\s?(ms|µs|s|min|h|%|×|x|MiB|GiB|KiB|GB|TB|MB)(?![\w/])(?! steps?\b)")
# A number in a table cell; a formula's constant ("2·a·sin(π/P)"), names ("SGP4", "Starlink shell 1") and
# step sizes are not measured numbers.
_NUMBER = re.compile(r"(?<![\w·(/^.-])(?<!shell )\d[\d,.]*(?![\w·(])(?! s steps?\b)")


def _prose(text):
    """``text`` without fenced code, inline code, link targets and markers: what a reader reads as prose."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)  # figures: their captions describe a picture
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"<!--.*?-->", "", text)


@pytest.mark.parametrize("name", [n for n in sorted(PAGES) if n != "docs/models.md"])
def test_no_measured_number_typed_by_hand(name):
    """Outside generated blocks a page states no measured time, size or ratio, and its tables hold no number.

    (``docs/models.md`` gathers published facts with their sources; it measures nothing.)
    """
    prose = _prose(_outside_blocks(PAGES[name], name))
    hits = [m.group(0) for m in _MEASURED.finditer(prose)]
    assert hits == [], f"{name}: numbers typed by hand: {hits} (make a generator or say it without a number)"
    rows = [line for line in prose.splitlines() if line.startswith("|") and _NUMBER.search(line)]
    assert rows == [], f"{name}: a table outside a generated block holds numbers: {rows[:2]}"


def test_measured_number_check_catches_a_pasted_table():
    pasted = "text\n| what | measured |\n|---|---|\n| sweep | 84 s, 0.86× |\n"
    assert [m.group(0) for m in _MEASURED.finditer(_prose(pasted))] == ["84 s", "0.86×"]
    assert [m.group(0) for m in _MEASURED.finditer(_prose("`--step-s 10` and [a](x_1.5s.png), at 1 s steps"))] == []
    assert _NUMBER.search("| SGP4 | 2·a·sin(π/P) |") is None and _NUMBER.search("| sweep | 84 |")


def test_readme_is_the_front_door_and_links_every_page():
    assert len(TEXT.splitlines()) <= 250
    for page in ("model", "dataset", "accuracy", "performance", "scaling", "paper_claim", "service",
                 "troubleshooting", "models"):
        assert f"](docs/{page}.md)" in TEXT, page


def test_links_between_pages_resolve():
    for name, text in PAGES.items():
        folder = (ROOT / name).parent
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" not in target:
                assert (folder / target).exists(), f"{name}: link to {target} does not resolve"


def _readme(tmp_path, body, command="python -c 'print(6 * 7)'", options=""):
    path = tmp_path / "README.md"
    path.write_text(f"# t\n\n<!-- generated by: {command}{options} -->\n{body}<!-- end generated -->\nend\n",
                    encoding="utf-8")
    return path


def _build(path, *args):
    return subprocess.run([sys.executable, str(ROOT / "docs" / "build.py"), "--readme", str(path), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_build_rewrites_blocks_and_check_finds_stale_ones(tmp_path):
    path = _readme(tmp_path, "41\n")
    done = _build(path, "--check")
    assert done.returncode == 1 and "README.md:3: stale" in done.stderr
    assert path.read_text(encoding="utf-8").count("41\n") == 1  # --check writes nothing
    assert _build(path).returncode == 0
    assert "<!-- generated by: python -c 'print(6 * 7)' -->\n42\n<!-- end generated -->\nend\n" in path.read_text()
    assert _build(path, "--check").returncode == 0


def test_build_text_format_and_scratch_folder(tmp_path):
    # Commands run in a scratch folder: the file they write does not land in the repository.
    command = "python -c 'open(\"out.nc\", \"w\").write(\"x\"); print(\"table\")'"
    path = _readme(tmp_path, "", command, " ; format: text")
    assert _build(path).returncode == 0
    assert "-->\n```text\ntable\n```\n<!-- end generated -->" in path.read_text(encoding="utf-8")
    assert not (ROOT / "out.nc").exists()


def test_build_failure_is_one_line_and_leaves_the_readme(tmp_path):
    path = _readme(tmp_path, "old\n", "python -c 'import sys; sys.exit(\"boom\")'")
    before = path.read_text(encoding="utf-8")
    done = _build(path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "docs/build.py: README.md:3: `python -c 'import sys; sys.exit(\"boom\")'` exited with 1: boom"]
    assert path.read_text(encoding="utf-8") == before


@pytest.mark.parametrize("marker, message", [
    ("<!-- generated by: python -c 'print(1)' ; colour: red -->\nx\n<!-- end generated -->\n",
     "README.md:2: unknown option 'colour: red'"),
    ("<!-- generated by: python -c 'print(1)' -->\nx\n", "README.md:2: block is not closed"),
    ("x\n<!-- end generated -->\n", "README.md:3: '<!-- end generated -->' without an opening marker"),
    ("<!-- generated: python -->\nx\n<!-- end generated -->\n", "README.md:2: malformed marker"),
])
def test_build_malformed_markers(marker, message, tmp_path):
    path = tmp_path / "README.md"
    path.write_text("# t\n" + marker, encoding="utf-8")
    done = _build(path)
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1 and message in done.stderr


def test_build_leaves_blocks_whose_data_is_absent(tmp_path):
    path = _readme(tmp_path, "kept\n", options=" ; requires: no/such/file.txt")
    done = _build(path)
    assert done.returncode == 0 and "no/such/file.txt is not present" in done.stderr
    assert "-->\nkept\n<!--" in path.read_text(encoding="utf-8")


# ---- Sources: everything the README and the data cite is in the repository or public.

def _project_text_files():
    for folder in ("orbits", "latency", "placement", "spacexnet", "data", "docs", "examples", "bench", "tests"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in {".py", ".json", ".md", ".csv", ".toml"} and "__pycache__" not in path.parts:
                yield path
    yield README


def test_no_reference_to_documents_outside_the_repository():
    import re

    bad = re.compile(r"(?<![/\w])(MODELS|DESIGN|STYLE)\.md|find_string id|shared/(MODELS|DESIGN|STYLE)"
                     r"|\b[Ii]ssue #?\d+|\(#\d+\)|[Mm]ust-show|README, \"")
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in _project_text_files() if p.name != "test_readme.py"
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if bad.search(line)]
    assert hits == []
    for text in PAGES.values():
        for link in set(re.findall(r"docs/[\w-]+\.(?:md|py)", text)):
            assert (ROOT / link).is_file(), link


def test_model_presets_cite_public_sources():
    import json

    for path in sorted((ROOT / "data" / "models").glob("*.json")):
        source = json.loads(path.read_text(encoding="utf-8"))["source"]
        assert "https://" in source and "docs/models.md" in source, path.name


def test_build_runs_commands_with_this_interpreter():
    assert build.argv("spacexnet compare --preset kuiper-630") == [sys.executable, "-m", "spacexnet", "compare",
                                                                  "--preset", "kuiper-630"]
    assert build.argv("python -m spacexnet sweep --out sweep.nc") == [sys.executable, "-m", "spacexnet", "sweep",
                                                                     "--out", "sweep.nc"]
    assert build.argv("python examples/tle_age.py") == [sys.executable, str(ROOT / "examples" / "tle_age.py")]
