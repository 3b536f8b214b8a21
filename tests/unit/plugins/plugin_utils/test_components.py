"""The component table: each host's Debian packages follow from where a component runs and
how it is installed, and the topology's per-component facts come from the table."""

from __future__ import annotations

import pytest
from topology_inputs import DEFAULTS, GROUPS, hostvars

from ansible_collections.limen.monitoring.plugins.module_utils.validate import bracketed, is_duration
from ansible_collections.limen.monitoring.plugins.plugin_utils import components, topology, web_clients

SERVER = {"server": True, "node_exporter": True, "storage": False, "firewall": True}
SERVICE = {"server": False, "node_exporter": True, "storage": False, "firewall": False}
STORE = {"server": False, "node_exporter": False, "storage": True, "firewall": True}


SERVER_PACKAGES = ["prometheus", "prometheus-alertmanager", "prometheus-node-exporter",
                   "prometheus-blackbox-exporter", "nftables", "netbase"]


@pytest.mark.parametrize(("entry", "methods", "expected"), [
    (SERVER, {}, SERVER_PACKAGES),
    (SERVER, {"prometheus_install_method": "release"}, SERVER_PACKAGES[1:]),
    (SERVER, {"blackbox_exporter_enabled": False},
     ["prometheus", "prometheus-alertmanager", "prometheus-node-exporter", "nftables", "netbase"]),
    (SERVICE, {}, ["prometheus-node-exporter"]),
    (SERVICE, {"node_exporter_install_method": "local"}, []),
    (STORE, {}, ["victoria-metrics", "nftables", "netbase"]),
    (STORE, {"victoriametrics_install_method": "release"}, ["nftables", "netbase"]),
])
def test_host_packages_follow_placement_install_method_and_enabled(entry, methods, expected):
    assert components.host_packages(entry, lambda var: methods.get(var, "package"),
                                    lambda var: methods.get(var, True)) == expected


@pytest.mark.parametrize(("entry", "enabled", "expected"), [
    (SERVER, {}, ["prometheus", "alertmanager", "node_exporter", "blackbox_exporter", "grafana", "firewall"]),
    (SERVER, {"blackbox_exporter_enabled": False},
     ["prometheus", "alertmanager", "node_exporter", "grafana", "firewall"]),
    (SERVICE, {}, ["node_exporter"]),
    (STORE, {}, ["victoriametrics", "firewall"]),
])
def test_host_components_follow_placement_and_enabled(entry, enabled, expected):
    assert components.host_components(entry, lambda var: enabled.get(var, True)) == expected


def test_the_topology_lists_each_hosts_components_and_those_with_a_user_of_their_own():
    topo = topology.topology(GROUPS, hostvars(mon={"blackbox_exporter_enabled": False}), DEFAULTS)
    assert topo["hosts"]["mon"]["components"] == ["prometheus", "alertmanager", "node_exporter", "grafana", "firewall"]
    assert topo["hosts"]["limen1"]["components"] == ["node_exporter"]
    assert topo["hosts"]["svc2"]["components"] == []   # no node_exporter asked for
    own = [n for n, row in topo["components"].items() if row["system_user"]]
    assert own == ["prometheus", "alertmanager", "node_exporter", "victoriametrics", "blackbox_exporter"]


def test_the_topology_gives_each_host_its_packages_with_host_overrides():
    topo = topology.topology(GROUPS, hostvars(svc2={"node_exporter_install_method": "release"}),
                             dict(DEFAULTS, prometheus_install_method="release"))
    assert topo["hosts"]["mon"]["packages"] == SERVER_PACKAGES[1:]
    assert topo["hosts"]["limen1"]["packages"] == ["prometheus-node-exporter"]
    assert topo["hosts"]["svc2"]["packages"] == []
    assert topo["components"]["firewall"]["packages"] == ["nftables", "netbase"]


def test_a_server_that_turns_blackbox_exporter_off_gets_no_package_of_it():
    topo = topology.topology(GROUPS, hostvars(mon={"blackbox_exporter_enabled": "no"}), DEFAULTS)
    assert "prometheus-blackbox-exporter" not in topo["hosts"]["mon"]["packages"]
    with pytest.raises(topology.InventoryError, match="host mon: blackbox_exporter_enabled"):
        topology.topology(GROUPS, hostvars(mon={"blackbox_exporter_enabled": "maybe"}), DEFAULTS)


def test_per_component_facts_come_from_the_table():
    assert topology.OWN_JOBS == ("prometheus", "alertmanager", "node", "victoriametrics", "blackbox")
    assert set(topology.RESERVED_JOBS) == {*topology.OWN_JOBS, "file_sd_services"}
    assert topology.TLS_VARS["grafana"] == "grafana_tls_cert_file"
    assert "firewall" not in topology.TLS_VARS
    assert web_clients.CLIENT_COMPONENTS == ("prometheus", "alertmanager", "node_exporter", "victoriametrics",
                                             "blackbox_exporter")
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


def test_blackbox_exporter_is_placed_and_reached_like_the_other_server_components():
    settings = dict(DEFAULTS, pki_internal_ca=True, pki_dir="/ctl/pki", pki_ca_file="/etc/limen-monitoring/ca.crt",
                    blackbox_exporter_web_tls_cert_file="/etc/blackbox_exporter/tls.crt",
                    blackbox_exporter_web_users={}, blackbox_exporter_internal_user="limen-internal",
                    generated={"blackbox_exporter": "b" * 32})
    topo = topology.topology(GROUPS, hostvars(), settings)
    assert topo["blackbox_exporter"] == {"mon": {
        "host": "10.0.0.10", "port": 9115, "target": "10.0.0.10:9115", "url": "https://10.0.0.10:9115",
        "scheme": "https", "username": "limen-internal", "password": "b" * 32,
        "ca_file": "/etc/limen-monitoring/ca.crt", "users": {"limen-internal": "b" * 32}}}
    assert 9115 not in topo["hosts"]["mon"]["server_ports"]  # reached by the local Prometheus only
    assert topo["client_errors"] == []
    off = topology.topology(GROUPS, hostvars(mon={"blackbox_exporter_enabled": False}), settings)
    assert off["blackbox_exporter"] == {}
    weak = topology.topology(GROUPS, hostvars(mon={"blackbox_exporter_web_users": {"admin": "changeme"}}), settings)
    assert [e for e in weak["client_errors"] if "host mon: blackbox_exporter_web_users.admin" in e]
