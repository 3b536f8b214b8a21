"""The example inventory (the production layout users copy): Ansible reads all of it, its
vault file included, and it is secure without any security variable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.limen.monitoring.plugins.plugin_utils.secrets_policy import password_errors

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "inventories" / "example"


def ansible_inventory():
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = [shutil.which("ansible-inventory") or "ansible-inventory", "-i", str(EXAMPLE), "--list"]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, check=True, timeout=120)


def test_ansible_reads_the_example_and_its_vault_file_without_a_warning():
    r = ansible_inventory()
    assert "WARNING" not in r.stderr and "Unable to parse" not in r.stderr, r.stderr
    hostvars = json.loads(r.stdout)["_meta"]["hostvars"]
    assert "vault_grafana_admin_password" in hostvars["monitor"]
    assert "vault_limen_metrics_token" in hostvars["limen-api"]


def test_the_example_sets_no_security_switch_and_no_plain_http():
    text = "\n".join(p.read_text() for p in EXAMPLE.rglob("*.yml"))
    for switch in ("monitoring_plain_http", "pki_internal_ca", "_tls_cert_file", "internal_password"):
        assert switch not in text, switch


def test_the_example_placeholders_are_refused_so_a_copy_never_runs_with_them():
    vault = yaml.safe_load((EXAMPLE / "group_vars" / "all" / "vault.yml").read_text())
    for var in ("vault_grafana_admin_password", "vault_prometheus_admin_password", "vault_alertmanager_admin_password"):
        assert password_errors(var, vault[var]), var


def list_hosts(*inventories):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = [shutil.which("ansible-playbook") or "ansible-playbook", "--list-hosts", "playbooks/monitoring.yml"]
    for inventory in inventories:
        cmd += ["-i", str(inventory)]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, check=True, timeout=120)


@pytest.mark.parametrize("store", [False, True])
def test_the_play_names_only_the_groups_an_inventory_fills(tmp_path, store):
    # No long-term storage (the example): no "Could not match supplied host pattern" warning;
    # with a victoriametrics group its host is in the play.
    extra = tmp_path / "store.yml"
    extra.write_text(yaml.safe_dump({"victoriametrics": {"hosts": {"store": {"ansible_host": "192.0.2.20"}}}}))
    r = list_hosts(EXAMPLE, *([extra] if store else []))
    assert "WARNING" not in r.stderr, r.stderr
    hosts = set(r.stdout.split("hosts (", 1)[1].split("\n", 1)[1].split())
    assert hosts == {"monitor", "limen-api", "service2-api", "service3-api"} | ({"store"} if store else set())
