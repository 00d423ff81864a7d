"""``--user LAT,LON`` on ``compare`` and ``place``: its own column, and one clear line for a bad point.

That the column equals the service's ``latency?user=`` is shown against a
real server in tests/test_service_api.py.
"""

import pytest
from click.testing import CliRunner

from spacexnet.cli import main

SMALL = ["--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8",
         "--start", "2026-01-01T00:10:00Z", "-q"]


def test_compare_table_gets_a_user_column():
    res = CliRunner().invoke(main, ["compare", *SMALL, "--strategies", "space-xnet", "--samples", "200",
                                    "--user", "48.85,2.35"])
    assert res.exit_code == 0, res.output
    header = res.output.splitlines()[0]
    assert "to user ms" in header
    plain = CliRunner().invoke(main, ["compare", *SMALL, "--strategies", "space-xnet", "--samples", "200"])
    assert "to user ms" not in plain.output


def test_place_table_says_the_delivery():
    res = CliRunner().invoke(main, ["place", *SMALL, "--user", "48.85,2.35"])
    assert res.exit_code == 0, res.output
    assert "delivery of each token to the user at 48.85,2.35:" in res.output


@pytest.mark.parametrize("command", ["compare", "place"])
@pytest.mark.parametrize("value", ["48.85", "91,0", "nan,0", "a,b", "1,2,3", "0,400"])
def test_bad_user_is_one_line_naming_the_option(command, value):
    res = CliRunner().invoke(main, [command, *SMALL, "--user", value])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    lines = [line for line in res.output.splitlines() if line.startswith("Error")]
    assert len(lines) == 1 and "--user" in lines[0] and "LAT,LON" in lines[0], res.output
