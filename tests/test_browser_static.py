"""The live page's files: shipped with the package, vendored with their licences, loaded from nowhere else.

These need no browser; tests/test_browser_page.py drives the page in one.
"""

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest

from spacexnet.service.page import STATIC_DIR

from service_server import assert_problem, service_factory  # noqa: F401  (the session fixture)

ROOT = Path(__file__).resolve().parents[1]
VENDOR = STATIC_DIR / "vendor"


def shipped_patterns():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["setuptools"]["package-data"]["spacexnet.service"]


def test_every_static_file_is_package_data():
    patterns = shipped_patterns()
    files = [p.relative_to(STATIC_DIR.parent).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert len(files) >= 10
    # setuptools globs do not cross "/" with "*": neither does this check.
    missed = [f for f in files
              if not any(fnmatch.fnmatchcase(f, p) and f.count("/") == p.count("/") for p in patterns)]
    assert missed == []


def test_each_vendored_library_has_its_licence_and_a_line_in_vendored_md():
    listing = (VENDOR / "VENDORED.md").read_text()
    folders = sorted(p.name for p in VENDOR.iterdir() if p.is_dir())
    assert folders == ["d3-array", "d3-geo", "topojson-client", "uplot", "world-atlas"]
    for name in folders:
        assert (VENDOR / name / "LICENSE").read_text().strip(), name
        row = next(line for line in listing.splitlines() if line.startswith(f"| `{name}/`"))
        version = row.split("|")[3].strip()
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), row
        assert re.search(r"`[0-9a-f]{64}`", row), row


def test_the_page_loads_nothing_from_outside():
    for name in ("index.html", "app.js", "czml-worker.js", "style.css"):
        text = (STATIC_DIR / name).read_text()
        # Every src/href/import names a file of this service (or a data: URL), never another host.
        for url in re.findall(r"""(?:src|href)=["']([^"']+)["']|from\s+["']([^"']+)["']|url\(([^)]+)\)""", text):
            url = next(u for u in url if u)
            assert url.startswith(("/", "#", "data:")) or re.fullmatch(r"[a-z0-9-]+", url), (name, url)
        assert "http://" not in text and "https://" not in text, name
    imports = re.findall(r'"(/static/[^"]+)"', (STATIC_DIR / "index.html").read_text())
    for path in imports:
        assert (STATIC_DIR / path.removeprefix("/static/")).is_file(), path


@pytest.fixture(scope="module")
def server(service_factory):  # noqa: F811
    return service_factory()


def test_page_and_its_files_are_served(server):
    page = server.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "app.js" in page.text
    script = server.client.get("/static/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert_problem(server.client.get("/static/..%2F..%2Fczml.py"), 404)
    assert_problem(server.client.get("/static/nothing.js"), 404)
    module = server.client.get("/static/vendor/d3-geo/d3-geo.min.mjs")
    assert module.status_code == 200 and module.headers["content-type"].startswith("text/javascript")
