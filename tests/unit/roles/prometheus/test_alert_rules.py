"""Every shipped alert is unit-tested with `promtool test rules` (fires when it should,
stays quiet when it should not), on the rule files rendered exactly as the role renders them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
TESTS = sorted((HERE / "rules").glob("*.test.yml"))


def promtool():
    path = shutil.which("promtool")
    if not path:
        pytest.fail("promtool not found: run `make tools` (it is taken from Debian's prometheus package)")
    return path


def render(out: Path, extra: dict | None = None):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = ["ansible-playbook", "-i", "localhost,", str(HERE / "render_rules.yml"), "-e", f"out={out}"]
    # What the topology role would hand over: no discovery jobs unless the test declares some.
    cmd += ["-e", json.dumps({"__prometheus_discovered_jobs": [], **(extra or {})})]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


# Jobs declared in prometheus_dns_discovery (the topology's discovered_jobs): their alerts render too.
DISCOVERED = {"__prometheus_discovered_jobs": ["payments", "billing"]}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render(tmp_path_factory.mktemp("rules"), DISCOVERED)


def alerts_in(directory: Path):
    names = set()
    for f in directory.glob("limen*.yml"):
        for group in yaml.safe_load(f.read_text())["groups"]:
            names.update(r["alert"] for r in group["rules"] if "alert" in r)
    return names


def test_rendered_rules_pass_promtool_check(rendered):
    files = sorted(str(p) for p in rendered.glob("limen*.yml"))
    assert [Path(f).name for f in files] == ["limen.yml"]
    r = subprocess.run([promtool(), "check", "rules", *files], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("test_file", TESTS, ids=[t.stem for t in TESTS])
def test_promtool_rule_unit_tests(rendered, test_file):
    shutil.copy(test_file, rendered / test_file.name)
    r = subprocess.run([promtool(), "test", "rules", test_file.name], cwd=rendered,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_shipped_alert_has_a_firing_and_a_quiet_case(rendered):
    fired, quiet = set(), set()
    for t in TESTS:
        for case in yaml.safe_load(t.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    shipped = alerts_in(rendered)
    assert shipped, "no alerts rendered"
    assert shipped - fired == set(), f"alerts never tested firing: {sorted(shipped - fired)}"
    assert shipped - quiet - {"Watchdog"} == set(), f"alerts never tested quiet: {sorted(shipped - quiet)}"


def test_per_service_override_replaces_the_default_threshold(tmp_path):
    out = render(tmp_path, {"prometheus_alert_overrides": {"limen": {"error_ratio": 0.2}}})
    text = (out / "limen.yml").read_text()
    exprs = [r["expr"] for g in yaml.safe_load(text)["groups"] for r in g["rules"]
             if r.get("alert") == "HighErrorRatio"]
    assert len(exprs) == 2
    assert any('job!~"limen"' in e and e.endswith("> 0.05") for e in exprs), exprs
    assert any('job="limen"' in e and e.endswith("> 0.2") for e in exprs), exprs
    r = subprocess.run([promtool(), "check", "rules", str(out / "limen.yml")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"threshold 0\.2", text)


def test_without_discovery_no_discovery_alert_is_rendered(tmp_path):
    out = render(tmp_path, {"__prometheus_discovered_jobs": []})
    assert "DiscoveredTargetsRefused" not in alerts_in(out)
    assert "TargetDown" in alerts_in(out)
