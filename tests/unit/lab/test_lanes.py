"""lab/lanes.py: how scenarios are dealt to lanes and which networks the lanes' labs get."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lab"))
import lanes  # noqa: E402

ALL = ["default", "default_bookworm", "default_mitogen", "install_methods", "grafana_install", "secure", "ha"]


def test_every_scenario_runs_once_and_the_lanes_are_balanced():
    plan = lanes.deal(ALL, 2)
    assert sorted(s for lane in plan for s in lane) == sorted(ALL)
    loads = [sum(lanes.WEIGHT[s] for s in lane) for lane in plan]
    assert max(loads) - min(loads) <= max(lanes.WEIGHT.values())
    assert {"default", "secure"} & set(plan[0]) and {"default", "secure"} & set(plan[1]), plan


def test_one_scenario_or_one_lane_runs_in_a_single_lane():
    assert lanes.deal(["secure"], 2) == [["secure"]]
    assert lanes.deal(ALL, 1) == [sorted(ALL, key=lambda s: -lanes.WEIGHT[s])]


def test_lane_networks_are_disjoint_slices_of_the_lab_subnet_and_skip_the_default_labs():
    nets = [ipaddress.ip_network(n) for n in lanes.lane_subnets("10.210.0.0/16", 3)]
    assert all(n.subnet_of(ipaddress.ip_network("10.210.0.0/16")) and n.prefixlen == 20 for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    assert ipaddress.ip_network("10.210.0.0/20") not in nets


def test_a_subnet_too_small_for_the_lanes_is_refused_naming_it():
    with pytest.raises(SystemExit, match="LIMEN_LAB_SUBNET=10.210.0.0/20"):
        lanes.lane_subnets("10.210.0.0/20", 2)


def test_why_a_scenario_failed_is_pytests_verdicts_and_ansibles_failures():
    report = "\n".join([
        "tests/integration/test_ha.py::test_no_duplicates_after_the_return FAILED [ 90%]",
        "    assert len(firing) == 1",
        "E       AssertionError: 2 firing notifications",
        "FAILED tests/integration/test_ha.py::test_no_duplicates_after_the_return - AssertionError: 2",
        "=== 1 failed, 19 passed in 366.92s ===",
    ])
    log = "\n".join([
        "  \u2502 ok: [localhost]",
        "  \u2502 fatal: [localhost]: FAILED! => ",
        "\x1b[32mha\x1b[0m \u279c \x1b[33mverify\x1b[0m: \x1b[31mExecuted: Failed\x1b[0m (Ansible return code was 2)",
    ])
    assert lanes.why_failed(log, report) == [
        "E       AssertionError: 2 firing notifications",
        "FAILED tests/integration/test_ha.py::test_no_duplicates_after_the_return - AssertionError: 2",
        "fatal: [localhost]: FAILED! =>",
        "ha \u279c verify: Executed: Failed (Ansible return code was 2)",
    ]
    assert len(lanes.why_failed("fatal: [h]: x\n" * 100, limit=5)) == 5
