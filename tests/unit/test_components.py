"""The component table: each host's Debian packages follow from where a component runs and
how it is installed, and the topology's per-component facts come from the table."""

from __future__ import annotations

import pytest
from test_topology import DEFAULTS, GROUPS, hostvars

from ansible_collections.limen.monitoring.plugins.module_utils import components, topology, web_clients
from ansible_collections.limen.monitoring.plugins.module_utils.validate import bracketed, is_duration

SERVER = {"server": True, "node_exporter": True, "storage": False, "firewall": True}
SERVICE = {"server": False, "node_exporter": True, "storage": False, "firewall": False}
STORE = {"server": False, "node_exporter": False, "storage": True, "firewall": True}


@pytest.mark.parametrize(("entry", "methods", "expected"), [
    (SERVER, {}, ["prometheus", "prometheus-alertmanager", "prometheus-node-exporter", "nftables", "netbase"]),
    (SERVER, {"prometheus_install_method": "release"},
     ["prometheus-alertmanager", "prometheus-node-exporter", "nftables", "netbase"]),
    (SERVICE, {}, ["prometheus-node-exporter"]),
    (SERVICE, {"node_exporter_install_method": "local"}, []),
    (STORE, {}, ["victoria-metrics", "nftables", "netbase"]),
    (STORE, {"victoriametrics_install_method": "release"}, ["nftables", "netbase"]),
])
def test_host_packages_follow_placement_and_install_method(entry, methods, expected):
    assert components.host_packages(entry, lambda var: methods.get(var, "package")) == expected


def test_the_topology_gives_each_host_its_packages_with_host_overrides():
    topo = topology.topology(GROUPS, hostvars(svc2={"node_exporter_install_method": "release"}),
                             dict(DEFAULTS, prometheus_install_method="release"))
    assert topo["hosts"]["mon"]["packages"] == [
        "prometheus-alertmanager", "prometheus-node-exporter", "nftables", "netbase"]
    assert topo["hosts"]["limen1"]["packages"] == ["prometheus-node-exporter"]
    assert topo["hosts"]["svc2"]["packages"] == []
    assert topo["components"]["firewall"]["packages"] == ["nftables", "netbase"]


def test_per_component_facts_come_from_the_table():
    assert topology.OWN_JOBS == ("prometheus", "alertmanager", "node", "victoriametrics")
    assert set(topology.RESERVED_JOBS) == {*topology.OWN_JOBS, "file_sd_services"}
    assert topology.TLS_VARS["grafana"] == "grafana_tls_cert_file"
    assert "firewall" not in topology.TLS_VARS
    assert web_clients.CLIENT_COMPONENTS == ("prometheus", "alertmanager", "node_exporter", "victoriametrics")
    assert web_clients.UNIFORM == ("alertmanager", "node_exporter", "victoriametrics")
    assert web_clients.SINGLE_USER == ("victoriametrics",)


def test_the_topology_keeps_grafana_inside():
    topo = topology.topology(GROUPS, hostvars(), DEFAULTS)
    assert "grafana" not in topo
    assert 3000 in topo["hosts"]["mon"]["server_ports"]


@pytest.mark.parametrize(("text", "ok"), [
    ("1h5m", True), ("5m1h", False), ("30s", True), ("500ms", True), ("", False), ("1h1h", False), ("5", False)])
def test_one_duration_pattern_as_prometheus_reads_it(text, ok):
    assert is_duration(text) is ok
    assert (topology.duration_seconds(text) is not None) is ok


@pytest.mark.parametrize(("address", "expected"), [
    ("10.0.0.1", "10.0.0.1"), ("fd00::1", "[fd00::1]"), ("[fd00::1]", "[fd00::1]"), ("mon.example", "mon.example")])
def test_one_bracketing_helper(address, expected):
    assert bracketed(address) == expected
