"""Each molecule scenario names its own Debian release and tests, `make test` runs every
scenario, and both supported releases are covered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))
SUITES = {"bookworm", "trixie"}


def config(name):
    return yaml.safe_load((REPO / "molecule" / name / "molecule.yml").read_text())


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_names_its_release_and_tests(name):
    env = config(name)["ansible"]["env"]
    assert env.get("LIMEN_LAB_SUITE") in SUITES, f"molecule/{name}: set LIMEN_LAB_SUITE to one of {SUITES}"
    assert (REPO / "tests/integration" / f"test_{env.get('LIMEN_SCENARIO_TESTS')}.py").is_file(), \
        f"molecule/{name}: LIMEN_SCENARIO_TESTS names no tests/integration file"
    # Installed copies of the collection go to a ~/.ansible shared with other checkouts.
    assert config(name).get("prerun") is False, f"molecule/{name}: set prerun: false"


def test_make_test_runs_every_scenario_on_both_releases():
    listed = re.search(r"^SCENARIOS \?= (.+)$", (REPO / "Makefile").read_text(), re.M).group(1).split()
    assert sorted(listed) == SCENARIOS
    assert {config(n)["ansible"]["env"]["LIMEN_LAB_SUITE"] for n in listed} == SUITES
