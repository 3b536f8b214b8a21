"""The inventory contract, refused by the topology role before any host task runs.

Each case runs the real play (`site.yml --check --tags topology`) against an inventory whose
hosts are all this machine (ansible_connection=local: no network traffic); the run must fail
in the topology role, naming host, variable and value, and no task but fact gathering and
the topology role's own may have run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from topology_inputs import DEFAULTS

REPO = Path(__file__).resolve().parents[3]
# Fact gathering only reads; the topology role's tasks run once, on the controller.
ALLOWED = re.compile(r"Gathering Facts|limen\.monitoring\.topology : .*")


def inventory(mon=None, svc1=None, svc2=None, extra=None):
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    hosts = {
        "mon": {**local, "monitoring_address": "127.0.0.1", **(mon or {})},
        "svc1": {**local, "monitoring_address": "127.0.0.2",
                 "monitoring_endpoints": [{"job": "app", "port": 8080}], **(svc1 or {})},
        "svc2": {**local, "monitoring_address": "127.0.0.3", "monitoring_node_exporter": True, **(svc2 or {})},
    }
    return {"all": {"vars": extra or {}, "children": {
        "monitoring_servers": {"hosts": {"mon": hosts["mon"]}},
        "monitored_services": {"hosts": {"svc1": hosts["svc1"], "svc2": hosts["svc2"]}}}}}


def run_topology(tmp_path, inv, refused=True):
    path = tmp_path / "hosts.json"  # JSON is YAML
    path.write_text(json.dumps(inv))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    r = subprocess.run(["ansible-playbook", "-i", str(path), "site.yml", "--check", "--tags", "topology"],
                       cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    if refused:
        tasks = re.findall(r"^TASK \[(.*)\]", r.stdout, re.M)
        assert tasks and all(ALLOWED.fullmatch(t) for t in tasks), f"a host task ran: {tasks}"
    return r.returncode, r.stdout + r.stderr


CASES = [
    # two machines, the second naming the first's address for its endpoint (two hosts on one
    # address are refused earlier, as one machine configured twice)
    ("same target, two hosts", inventory(svc2={"monitoring_endpoints": [{"job": "app", "port": 8080,
                                                                         "address": "127.0.0.2"}]}),
     "host svc2: monitoring_endpoints[0]: job 'app' target 127.0.0.2:8080 is also given by "
     "host svc1: monitoring_endpoints[0]"),
    ("same target, one host twice", inventory(svc1={"monitoring_endpoints": [{"job": "app", "port": 8080},
                                                                             {"job": "app", "port": "8080"}]}),
     "host svc1: monitoring_endpoints[1]: job 'app' target 127.0.0.2:8080 is also given by "
     "host svc1: monitoring_endpoints[0]"),
    ("999.1.1.1 on the server", inventory(mon={"monitoring_address": "999.1.1.1"}),
     "host mon: monitoring_address: host '999.1.1.1' is not a valid IPv4 address"),
    ("999.1.1.1 on a node_exporter host", inventory(svc2={"monitoring_address": "999.1.1.1"}),
     "host svc2: monitoring_address: host '999.1.1.1' is not a valid IPv4 address"),
    ("999.1.1.1 on a host with endpoints", inventory(svc1={"monitoring_address": "999.1.1.1"}),
     "host svc1: monitoring_address: host '999.1.1.1' is not a valid IPv4 address"),
    ("prometheus_port abc", inventory(mon={"prometheus_port": "abc"}),
     "host mon: prometheus_port: port 'abc' is not a number"),
    ("misspelt variable, strict", inventory(mon={"prometheus_job_setings": {"app": {"scrape_interval": "5s"}}},
                                            extra={"monitoring_strict_variables": True}),
     "prometheus_job_setings (host mon): not a variable of the collection, so it is ignored; "
     "did you mean prometheus_job_settings?"),
    ("static_configs in job settings", inventory(extra={"prometheus_job_settings": {"app": {"static_configs": []}}}),
     "prometheus_job_settings.app.static_configs: set by the role from the inventory, remove it"),
    ("basic_auth without password", inventory(extra={"prometheus_job_settings": {
        "app": {"basic_auth": {"username": "scraper"}}}}),
     "prometheus_job_settings.app.basic_auth: {'username': 'scraper'} needs username and password"),
    ("endpoint label host", inventory(svc1={"monitoring_endpoints": [{"job": "app", "port": 8080,
                                                                      "labels": {"host": "other"}}]}),
     "host svc1: monitoring_endpoints[0].labels.host: 'other': the label 'host' is the collection's own"),
    ("boolean label value", inventory(svc1={"monitoring_endpoints": [{"job": "app", "port": 8080,
                                                                      "labels": {"canary": True}}]}),
     "host svc1: monitoring_endpoints[0].labels: label 'canary' is the boolean True; quote the value"),
]


@pytest.mark.parametrize("inv,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_by_the_topology_role_before_any_host_task(tmp_path, inv, message):
    rc, out = run_topology(tmp_path, inv)
    assert rc != 0, out
    assert message in re.sub(r"\s+", " ", out), out


def test_a_misspelt_variable_is_a_warning_without_strict(tmp_path):
    rc, out = run_topology(tmp_path, inventory(mon={"prometheus_job_setings": {"app": {}}}), refused=False)
    assert rc == 0, out
    assert re.search(r"\[WARNING\]: prometheus_job_setings \(host mon\): not a variable of the collection, so it "
                     r"is ignored; did you mean prometheus_job_settings\?", re.sub(r"\s+", " ", out)), out


def test_a_good_inventory_passes(tmp_path):
    rc, out = run_topology(tmp_path, inventory(), refused=False)
    assert rc == 0, out
    assert "not a variable of the collection" not in out, out


def test_misspelt_variables_are_found_once_per_name_naming_every_host():
    from ansible_collections.limen.monitoring.plugins.filter.topology import known_variables
    from ansible_collections.limen.monitoring.plugins.plugin_utils.topology import topology

    groups = {"monitoring_servers": ["mon"], "monitored_services": ["a", "b"]}
    typo = {"prometheus_job_setings": {}, "grafana_admin_pasword": "x", "prometheus_my_own_thing": 1,
            "unrelated_job_setings": 1}
    hostvars = {"mon": {"monitoring_address": "10.0.0.1", **typo},
                "a": {"monitoring_address": "10.0.0.2", "prometheus_job_setings": {}}, "b": {"monitoring_address": "10.0.0.3"}}
    found = topology(groups, hostvars, DEFAULTS, known_variables())["misspelt_variables"]
    assert found == [
        "grafana_admin_pasword (host mon): not a variable of the collection, so it is ignored; "
        "did you mean grafana_admin_password?",
        "prometheus_job_setings (host a, mon): not a variable of the collection, so it is ignored; "
        "did you mean prometheus_job_settings?"]
