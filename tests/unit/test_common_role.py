"""The internal role _common: every component unit carries the same full systemd hardening
(rendered as the roles render it), and a play that runs _common itself fails, naming the
roles to use."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ENV = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
HARDENING = [
    "NoNewPrivileges=true", "ProtectSystem=strict", "PrivateTmp=true", "PrivateDevices=true",
    "ProtectKernelTunables=true", "ProtectKernelModules=true", "ProtectControlGroups=true",
    "RestrictSUIDSGID=true", "RestrictNamespaces=true", "LockPersonality=true", "CapabilityBoundingSet=",
]
# What each service may write; node_exporter writes nothing and must see /home to measure it.
WRITES = {"prometheus": ["/var/lib/prometheus/metrics2"], "alertmanager": ["/var/lib/alertmanager"],
          "victoriametrics": ["/var/lib/victoria-metrics"], "node_exporter": []}
PROTECT_HOME = {"prometheus": "true", "alertmanager": "true", "victoriametrics": "true",
                "node_exporter": "read-only"}


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
    assert f"ProtectHome={PROTECT_HOME[role]}" in service
    assert [line.split("=", 1)[1] for line in service if line.startswith("ReadWritePaths=")] == WRITES[role]
    assert "" not in service[:-1], "blank line inside [Service]"


def test_units_differ_only_in_their_own_hardening_parameters(units):
    blocks = {role: [line for line in lines if line.split("=")[0] in {d.split("=")[0] for d in HARDENING}]
              for role, lines in units.items()}
    assert all(block == HARDENING for block in blocks.values()), blocks


def test_running_common_on_its_own_fails(tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role:\n        name: limen.monitoring._common\n")
    r = ansible_playbook(str(play))
    assert r.returncode != 0
    assert "limen.monitoring._common is internal to the collection; use the" in r.stdout
    assert "prometheus/alertmanager/node_exporter/victoriametrics roles" in r.stdout
