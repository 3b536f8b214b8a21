"""The internal role _common: every component unit carries the same full systemd hardening
(rendered as the roles render it), and a play that runs _common itself fails, naming the
roles to use."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
ENV = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
# At least prometheus-community's units, for every component (and Grafana's tarball unit).
HARDENING = [
    "NoNewPrivileges=true", "ProtectSystem=strict", "PrivateTmp=true", "PrivateDevices=true",
    "PrivateUsers=true", "ProtectKernelTunables=true", "ProtectKernelModules=true",
    "ProtectKernelLogs=true", "ProtectControlGroups=true", "ProtectHostname=true",
    "RestrictSUIDSGID=true", "RestrictNamespaces=true", "RestrictRealtime=true", "LockPersonality=true",
    "MemoryDenyWriteExecute=true", "RemoveIPC=true", "CapabilityBoundingSet=", "AmbientCapabilities=",
    "SystemCallArchitectures=native", "SystemCallFilter=@system-service", "SystemCallFilter=~@privileged",
    "SystemCallErrorNumber=EPERM",
]
# node_exporter reads the host's processes, clock state and network devices; the others may not.
HIDDEN_HOST = ["ProtectClock=true", "ProtectProc=invisible"]
FAMILIES = {"node_exporter": "AF_UNIX AF_INET AF_INET6 AF_NETLINK", "grafana": "AF_UNIX AF_INET AF_INET6 AF_NETLINK"}
# What each service may write; node_exporter writes nothing and must see /home to measure it.
WRITES = {"prometheus": ["/var/lib/prometheus/metrics2"], "alertmanager": ["/var/lib/alertmanager"],
          "victoriametrics": ["/var/lib/victoria-metrics"], "node_exporter": [], "blackbox_exporter": [],
          "grafana": ["/var/lib/grafana", "/var/log/grafana"]}
PROTECT_HOME = {"prometheus": "true", "alertmanager": "true", "victoriametrics": "true",
                "node_exporter": "read-only", "grafana": "true", "blackbox_exporter": "true"}
# `systemd-analyze security` exposure (0 safest .. 10): each unit stays at or below this.
MAX_EXPOSURE = 2.0


def ansible_playbook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ansible-playbook", "-i", "localhost,", *args],
                          cwd=REPO, capture_output=True, text=True, env=ENV)


@pytest.fixture(scope="module")
def units(tmp_path_factory) -> dict[str, list[str]]:
    out = tmp_path_factory.mktemp("units")
    r = ansible_playbook(str(HERE / "render_units.yml"), "-e", f"out={out}")
    assert r.returncode == 0, r.stdout + r.stderr
    return {role: (out / f"{role}.service").read_text().splitlines() for role in WRITES}


@pytest.mark.parametrize("role", sorted(WRITES))
def test_unit_has_the_full_hardening(units, role):
    service = units[role][units[role].index("[Service]"):units[role].index("[Install]")]
    assert [d for d in HARDENING if d not in service] == []
    assert ([d for d in HIDDEN_HOST if d in service] == []) is (role == "node_exporter")
    assert f"RestrictAddressFamilies={FAMILIES.get(role, 'AF_UNIX AF_INET AF_INET6')}" in service
    assert f"ProtectHome={PROTECT_HOME[role]}" in service
    rw = [p for line in service if line.startswith("ReadWritePaths=") for p in line.split("=", 1)[1].split()]
    assert sorted(rw) == sorted(WRITES[role])
    assert "" not in service[:-1], "blank line inside [Service]"


def test_units_differ_only_in_their_own_hardening_parameters(units):
    keys = {d.split("=")[0] for d in HARDENING}
    blocks = {role: [line for line in lines if line.split("=")[0] in keys] for role, lines in units.items()}
    assert all(block == HARDENING for block in blocks.values()), blocks


@pytest.mark.parametrize("role", sorted(WRITES))
def test_systemd_analyze_rates_each_unit_safe(units, tmp_path, role):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.fail("systemd-analyze not found (Debian package systemd)")
    unit = tmp_path / f"{role}.service"
    unit.write_text("\n".join(units[role]) + "\n")
    r = subprocess.run([analyze, "security", "--offline=true", str(unit)], capture_output=True, text=True)
    score = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout).group(1))
    assert score <= MAX_EXPOSURE, r.stdout


def test_running_common_on_its_own_fails(tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role:\n        name: limen.monitoring._common\n")
    r = ansible_playbook(str(play))
    assert r.returncode != 0
    assert "limen.monitoring._common is internal to the collection; use the" in r.stdout
    assert "limen.monitoring.monitoring, or the role of a component" in r.stdout
