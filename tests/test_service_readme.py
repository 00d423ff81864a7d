"""The README's Service section: its five curl calls run as written against a real server."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from spacexnet.service.schema import Scenario, scenario_id

from service_server import service_factory  # noqa: F401  (the session fixture)

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = README.read_text(encoding="utf-8").split("\n## Service\n", 1)[1].split("\n## ", 1)[0]
BLOCKS = re.findall(r"```bash\n(.*?)```", SECTION, flags=re.S)
CALLS = [line for line in BLOCKS[1].splitlines() if line.strip()]


def test_the_section_starts_the_server_and_shows_five_curl_calls():
    assert BLOCKS[0].strip() == "spacexnet serve"
    assert len(CALLS) == 5 and all(line.startswith("curl -s ") for line in CALLS)


def test_the_posted_scenario_is_the_one_compared():
    document = json.loads(re.search(r"-d '(.*)'", CALLS[3]).group(1))
    sid = scenario_id(Scenario.model_validate(document))
    assert f"/scenarios/{sid}/compare" in CALLS[4]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_each_call_answers_json(service_factory, tmp_path):  # noqa: F811
    server = service_factory()
    port = server.base_url.rsplit(":", 1)[1]
    for line in CALLS:
        done = subprocess.run(line.replace("localhost:8000", f"127.0.0.1:{port}"), shell=True, cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (line, done.stderr)
        out = (tmp_path / line.split("> ", 1)[1]).read_text() if "> " in line else done.stdout
        answer = json.loads(out)
        assert "detail" not in answer, (line, answer)  # not a problem body
    assert json.loads((tmp_path / "satellites.geojson").read_text())["type"] == "FeatureCollection"
