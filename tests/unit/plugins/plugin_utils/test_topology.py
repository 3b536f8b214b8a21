"""The topology: one address, port and flag per host, validated once, naming the host."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from topology_inputs import DEFAULTS, GROUPS, hostvars

from ansible_collections.limen.monitoring.plugins.plugin_utils.inventory_jobs import InventoryError
from ansible_collections.limen.monitoring.plugins.plugin_utils.topology import (
    OWN_JOBS,
    cluster_timing_errors,
    duration_seconds,
    parse_flag,
    parse_port,
    settings_errors,
    topology,
)


def test_jobs_targets_and_addresses_come_from_one_place():
    topo = topology(GROUPS, hostvars(), DEFAULTS)
    jobs = {j["name"]: j["targets"] for j in topo["jobs"]}
    assert jobs["limen"] == [{"host": "10.0.0.11", "port": 18443, "metrics_path": "/api/metrics",
                              "labels": {"host": "limen1", "env": "prod"}}]
    # a DNS ansible_host: the gathered default address is the host's one address
    assert topo["hosts"]["svc2"]["address"] == "10.0.0.12"
    assert [(t["host"], t["labels"]["host"]) for t in jobs["node"]] == [("10.0.0.10", "mon"), ("10.0.0.11", "limen1")]
    assert topo["prometheus"]["mon"]["url"] == "http://10.0.0.10:9090"
    assert topo["hosts"]["mon"]["server_ports"] == [3000, 9090, 9093, 9100]
    assert topo["hosts"]["limen1"]["metrics_ports"] == [9100, 18443]
    assert topo["hosts"]["svc2"]["metrics_ports"] == [8080]
    assert topo["server_addresses"] == ["10.0.0.10"]


def test_own_jobs_are_the_jobs_prometheus_scrapes_for_the_collection():
    # The services' dashboards leave these out: each job Prometheus writes for a component of
    # the collection (its config template, and `node` from the inventory) is in the list.
    template = Path(__file__).resolve().parents[4] / "roles/prometheus/templates/prometheus.yml.j2"
    written = set(re.findall(r"job_name: (\w+)", template.read_text())) - {"file_sd_services"}
    topo = topology(GROUPS, hostvars(), DEFAULTS)
    assert set(topo["own_jobs"]) == set(OWN_JOBS) == written | {"node"}
    assert not set(topo["own_jobs"]) & (set(topo["job_names"]) - {"node"})


def test_host_overrides_ports_addresses_and_tls():
    hv = hostvars(mon={"prometheus_port": 9091, "monitoring_address": "192.168.5.5",
                       "alertmanager_web_tls_cert_file": "/etc/am.pem",
                       "alertmanager_cluster_peers": ["192.168.5.6:9094"]})
    topo = topology(GROUPS, hv, DEFAULTS)
    assert topo["prometheus"]["mon"]["target"] == "192.168.5.5:9091"
    assert topo["alertmanager"]["mon"]["url"] == "https://192.168.5.5:9093"
    # explicit peers: a cluster, its port opened to those peers only (not a server port)
    assert topo["alertmanager"]["mon"]["peers"] == ["192.168.5.6:9094"]
    assert topo["alertmanager"]["mon"]["peer_addresses"] == ["192.168.5.6"]
    assert topo["alertmanager"]["mon"]["cluster_target"] == "192.168.5.5:9094"
    assert 9094 not in topo["hosts"]["mon"]["server_ports"]
    node = next(j for j in topo["jobs"] if j["name"] == "node")
    assert node["targets"][0]["host"] == "192.168.5.5"


def test_ipv6_addresses_are_bracketed_in_targets():
    topo = topology(GROUPS, hostvars(mon={"ansible_host": "fd00::10"}), DEFAULTS)
    assert topo["prometheus"]["mon"]["target"] == "[fd00::10]:9090"


@pytest.mark.parametrize("host,extra,message", [
    ("limen1", {"monitoring_endpoints": [{"job": "prometheus", "port": 1}]},
     "host limen1: monitoring_endpoints[0].job: 'prometheus' is reserved"),
    ("limen1", {"monitoring_endpoints": [{"job": "node", "port": 1}]}, "'node' is reserved"),
    ("svc2", {"monitoring_endpoints": [{"job": "x\n", "port": 1}]}, "host svc2: monitoring_endpoints[0]"),
    ("svc2", {"monitoring_endpoints": [{"job": "x", "port": "9_100"}]}, "host svc2: monitoring_endpoints[0]"),
    ("svc2", {"monitoring_endpoints": [{"job": "x", "port": "\u0661\u0662"}]}, "host svc2: monitoring_endpoints[0]"),
    ("svc2", {"monitoring_endpoints": [{"job": "x", "port": 1, "address": "999.1.1.1"}]}, "999.1.1.1"),
    ("svc2", {"monitoring_endpoints": "x"}, "host svc2: monitoring_endpoints must be a list"),
    ("svc2", {"monitoring_endpoints": [{"port": 1}]}, "'job' and 'port' are required"),
    ("svc2", {"monitoring_endpoints": [{"job": "x", "port": 1, "pth": "/m"}]}, "unknown keys ['pth']"),
    ("svc2", {"monitoring_node_exporter": "maybe"}, "host svc2: monitoring_node_exporter: 'maybe' is not a boolean"),
    ("svc2", {"monitoring_address": "bad address"}, "host svc2: monitoring_address"),
    ("svc2", {"monitoring_rule_files": "one.yml"}, "host svc2: monitoring_rule_files must be a list"),
    ("mon", {"prometheus_port": 70000}, "prometheus_port: port 70000 is outside 1-65535"),
])
def test_bad_inventory_names_the_host_and_variable(host, extra, message):
    with pytest.raises(InventoryError) as err:
        topology(GROUPS, hostvars(**{host: extra}), DEFAULTS)
    assert message in str(err.value)


@pytest.mark.parametrize("value,expected", [("false", False), ("False", False), ("true", True),
                                            ("yes", True), (False, False), (True, True), (0, False)])
def test_a_flag_reads_the_same_everywhere(value, expected):
    topo = topology(GROUPS, hostvars(svc2={"monitoring_node_exporter": value,
                                           "firewall_protect_metrics": value}), DEFAULTS)
    svc2 = topo["hosts"]["svc2"]
    assert svc2["node_exporter"] is expected and svc2["firewall"] is expected
    # installed exactly where scraped, and its port opened exactly where installed
    node_hosts = [t["labels"]["host"] for j in topo["jobs"] if j["name"] == "node" for t in j["targets"]]
    assert ("svc2" in node_hosts) is expected
    assert (9100 in svc2["metrics_ports"]) is expected


@given(st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.booleans()))
def test_parse_flag_accepts_booleans_only(value):
    try:
        result = parse_flag(value, "host h: flag")
    except InventoryError as exc:
        assert "host h: flag" in str(exc) and repr(value) in str(exc)
    else:
        assert isinstance(result, bool)
        assert value in (True, False, 0, 1) or str(value).strip().lower() in {
            "true", "false", "yes", "no", "on", "off", "1", "0"}


@given(st.one_of(st.text(), st.integers(), st.booleans(), st.none()))
def test_parse_port_accepts_ascii_ports_only(value):
    try:
        port = parse_port(value, "where")
    except InventoryError as exc:
        assert "where" in str(exc)
    else:
        assert 1 <= port <= 65535 and str(value).isascii() and not isinstance(value, bool)


def test_settings_errors_name_every_typo():
    topo = topology(GROUPS, hostvars(), DEFAULTS)
    errors = settings_errors(topo, {
        "thresholds": {"cpu_percnt": 80, "error_ratio": "high"}, "thresholds_shipped": {"cpu_percent": 90, "error_ratio": 0.05},
        "for": {"cpu": "ten minutes"}, "for_shipped": {"cpu": "10m"},
        "overrides": {"limn": {"cpu_percent": 1}}, "job_settings": {"limn": {}},
        "prometheus_web_users": {"ops": "x" * 73}, "alertmanager_web_users": {}})
    text = "\n".join(errors)
    for needle in ("prometheus_alert_thresholds.cpu_percnt: unknown key",
                   "prometheus_alert_thresholds.error_ratio: 'high' is not a number",
                   "prometheus_alert_for.cpu: 'ten minutes' is not a duration",
                   "prometheus_alert_overrides.limn: no inventory host defines this job",
                   "prometheus_job_settings.limn: no inventory host defines this job",
                   "prometheus_web_users.ops: the password is longer than 72 bytes"):
        assert needle in text
    assert "x" * 73 not in text
    assert settings_errors(topo, {"thresholds": {"cpu_percent": 80}, "thresholds_shipped": {"cpu_percent": 90},
                                  "for": {}, "for_shipped": {}, "overrides": {"limen": {"cpu_percent": 70}},
                                  "job_settings": {"service2": {}}}) == []


# ---- HA pair and long-term storage -------------------------------------------------
HA_GROUPS = {"monitoring_servers": ["mon", "mon2"], "monitored_services": ["limen1", "svc2"],
             "victoriametrics": ["store"]}


def ha_hostvars(**extra):
    hv = hostvars()
    hv.update(mon2={"ansible_host": "10.0.0.20"}, store={"ansible_host": "10.0.0.30"})
    for host, values in extra.items():
        hv[host] = {**hv.get(host, {}), **values}
    return hv


def test_one_server_has_no_cluster_and_no_storage():
    topo = topology(GROUPS, hostvars(), DEFAULTS)
    am = topo["alertmanager"]["mon"]
    assert am["peers"] == [] and am["cluster_port"] is None and am["cluster_target"] is None
    plain = {"scheme": "http", "username": "", "password": "", "ca_file": ""}
    assert topo["storage"] == {"urls": [], "remote_write": [], "query_url": "", "sources": ["10.0.0.10"],
                               "client": plain}
    assert topo["storage_hosts"] == [] and "store" not in topo["hosts"]


def test_two_servers_form_one_cluster_of_the_others():
    topo = topology(HA_GROUPS, ha_hostvars(), DEFAULTS)
    assert topo["alertmanager"]["mon"]["peers"] == ["10.0.0.20:9094"]
    assert topo["alertmanager"]["mon2"]["peers"] == ["10.0.0.10:9094"]
    assert topo["alertmanager"]["mon2"]["peer_addresses"] == ["10.0.0.10"]
    assert topo["alertmanager"]["mon2"]["cluster_target"] == "10.0.0.20:9094"
    assert [topo["alertmanager"][s]["target"] for s in topo["servers"]] == ["10.0.0.10:9093", "10.0.0.20:9093"]
    assert topo["server_addresses"] == ["10.0.0.10", "10.0.0.20"]
    # node_exporter on both servers, in inventory order
    node = next(j for j in topo["jobs"] if j["name"] == "node")
    assert [t["labels"]["host"] for t in node["targets"]] == ["mon", "mon2", "limen1"]


def test_the_cluster_follows_host_ports_and_addresses():
    topo = topology(HA_GROUPS, ha_hostvars(mon2={"ansible_host": "10.0.0.20", "alertmanager_cluster_port": 9194,
                                                  "monitoring_address": "fd00::20"}), DEFAULTS)
    assert topo["alertmanager"]["mon"]["peers"] == ["[fd00::20]:9194"]
    assert topo["alertmanager"]["mon"]["peer_addresses"] == ["fd00::20"]


def test_storage_hosts_get_the_writes_and_the_default_datasource():
    topo = topology(HA_GROUPS, ha_hostvars(store={"ansible_host": "10.0.0.30", "victoriametrics_port": "8429"}),
                    DEFAULTS)
    assert topo["storage"] == {"urls": ["http://10.0.0.30:8429"],
                               "remote_write": ["http://10.0.0.30:8429/api/v1/write"],
                               "query_url": "http://10.0.0.30:8429",
                               "sources": ["10.0.0.10", "10.0.0.20"],
                               "client": {"scheme": "http", "username": "", "password": "", "ca_file": ""}}
    store = topo["hosts"]["store"]
    assert store["storage"] and store["storage_ports"] == [8429] and store["firewall"]
    assert not store["server"] and not store["node_exporter"] and store["metrics_ports"] == []
    assert not topo["hosts"]["mon"]["storage"]


def test_a_secure_store_is_written_and_read_with_its_user_and_the_ca():
    secure = {"victoriametrics_web_users": {"limen-internal": "s3cret"},
              "victoriametrics_web_tls_cert_file": "/etc/victoria-metrics/tls.crt"}
    topo = topology(HA_GROUPS, ha_hostvars(store={"ansible_host": "10.0.0.30", **secure}),
                    {**DEFAULTS, "victoriametrics_internal_user": "limen-internal", "pki_internal_ca": True,
                     "pki_dir": "/ctl/pki", "pki_ca_file": "/etc/limen-monitoring/ca.crt"})
    assert topo["client_errors"] == []
    assert topo["storage"]["remote_write"] == ["https://10.0.0.30:8428/api/v1/write"]
    assert topo["storage"]["client"] == {"scheme": "https", "username": "limen-internal", "password": "s3cret",
                                         "ca_file": "/etc/limen-monitoring/ca.crt"}


def test_a_store_with_two_users_is_refused_by_name():
    users = {"limen-internal": "a", "reader": "b"}
    topo = topology(HA_GROUPS, ha_hostvars(store={"ansible_host": "10.0.0.30", "victoriametrics_web_users": users}),
                    DEFAULTS)
    assert any("host store: victoriametrics_web_users has 2 users (limen-internal, reader)" in e
               for e in topo["client_errors"]), topo["client_errors"]


def test_stores_that_disagree_on_their_client_settings_are_refused():
    hv = ha_hostvars(store={"ansible_host": "10.0.0.30", "victoriametrics_web_users": {"limen-internal": "a"}},
                     mon2={"ansible_host": "10.0.0.20"})
    topo = topology({**HA_GROUPS, "victoriametrics": ["store", "mon2"]}, hv,
                    {**DEFAULTS, "victoriametrics_internal_user": "limen-internal"})
    assert any(e.startswith("host store: the victoriametrics username, password differ from host mon2's")
               for e in topo["client_errors"]), topo["client_errors"]


def test_storage_on_a_monitoring_server():
    groups = {**HA_GROUPS, "victoriametrics": ["mon2"]}
    topo = topology(groups, ha_hostvars(), DEFAULTS)
    assert topo["hosts"]["mon2"]["server"] and topo["hosts"]["mon2"]["storage_ports"] == [8428]
    assert topo["storage"]["query_url"] == "http://10.0.0.20:8428"
    assert 8428 not in topo["hosts"]["mon2"]["server_ports"]


@pytest.mark.parametrize("peers,message", [
    ("10.0.0.9:9094", "host mon: alertmanager_cluster_peers: '10.0.0.9:9094' must be a list"),
    (["10.0.0.9"], "host mon: alertmanager_cluster_peers: '10.0.0.9' is not host:port"),
    (["10.0.0.9:99999"], "host mon: alertmanager_cluster_peers"),
])
def test_bad_explicit_peers_name_the_host(peers, message):
    with pytest.raises(InventoryError) as err:
        topology(GROUPS, hostvars(mon={"ansible_host": "10.0.0.10", "alertmanager_cluster_peers": peers}), DEFAULTS)
    assert message in str(err.value)


def test_victoriametrics_is_a_reserved_job():
    hv = hostvars(svc2={"monitoring_endpoints": [{"job": "victoriametrics", "port": 8428}]})
    with pytest.raises(InventoryError, match="'victoriametrics' is reserved"):
        topology(GROUPS, hv, DEFAULTS)


@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True))
def test_every_server_peers_with_exactly_the_others(servers):
    groups = {"monitoring_servers": servers, "monitored_services": []}
    hv = {name: {"ansible_host": f"10.0.1.{i + 1}"} for i, name in enumerate("abcd")}
    topo = topology(groups, hv, DEFAULTS)
    for server in servers:
        others = {f"10.0.1.{'abcd'.index(s) + 1}:9094" for s in servers if s != server}
        assert set(topo["alertmanager"][server]["peers"]) == others
        assert (topo["alertmanager"][server]["cluster_port"] is None) == (len(servers) == 1)


# ---- Alertmanager cluster timing ------------------------------------------------------
def test_a_cluster_needs_group_intervals_longer_than_the_peer_wait():
    route = {"group_interval": "2s", "routes": [{"matchers": ["a=b"]}, {"group_interval": "1m"}]}
    errors = cluster_timing_errors(route, "15s", 1)
    assert errors == [e for e in errors if "x alertmanager_cluster_peer_timeout (15s)" in e]
    assert [e.split(".group_interval")[0] for e in errors] == ["alertmanager_route", "alertmanager_route.routes[0]"]
    assert cluster_timing_errors(route, "1s", 1) == []
    assert cluster_timing_errors(route, "15s", 0) == []          # one server: no cluster
    assert cluster_timing_errors({}, "15s", 2) == []             # Alertmanager's default 5m
    assert cluster_timing_errors({}, "3m", 2) != []              # 2 x 3m >= 5m
    assert cluster_timing_errors({}, "fast", 1) == [
        "alertmanager_cluster_peer_timeout: 'fast' is not a duration such as 15s"]


@given(st.integers(1, 600), st.integers(1, 120), st.integers(0, 4))
def test_the_cluster_check_agrees_with_arithmetic(interval, timeout, peers):
    errors = cluster_timing_errors({"group_interval": f"{interval}s"}, f"{timeout}s", peers)
    assert bool(errors) == (peers > 0 and interval <= timeout * peers)


def test_settings_errors_report_cluster_timing_from_the_topology():
    topo = topology(HA_GROUPS, ha_hostvars(), DEFAULTS)
    base = {"thresholds": {}, "thresholds_shipped": {}, "for": {}, "for_shipped": {}, "overrides": {},
            "job_settings": {}}
    assert settings_errors(topo, {**base, "alertmanager_route": {"group_interval": "10s"},
                                  "alertmanager_cluster_peer_timeout": "15s"})
    assert not settings_errors(topo, {**base, "alertmanager_route": {"group_interval": "10s"},
                                      "alertmanager_cluster_peer_timeout": "2s"})


@pytest.mark.parametrize("text,seconds", [("1h30m", 5400), ("500ms", 0.5), ("2s", 2), ("1y", 31536000),
                                          ("", None), ("5", None), ("1.5s", None)])
def test_durations(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("hv, source", [({"ansible_host": "93.184.216.34"}, "ansible_host"),
                                        ({"ansible_host": "mon.example.org",
                                          "ansible_facts": {"default_ipv4": {"address": "8.8.4.4"}}},
                                         "default-route")])
def test_a_guessed_public_address_is_refused_naming_monitoring_address(hv, source):
    from ansible_collections.limen.monitoring.plugins.plugin_utils.topology import host_address
    with pytest.raises(InventoryError, match=r"host mon: monitoring_address is not set.*" + source):
        host_address("mon", hv)


def test_an_explicit_public_address_and_guessed_private_ones_are_taken():
    from ansible_collections.limen.monitoring.plugins.plugin_utils.topology import host_address
    assert host_address("mon", {"monitoring_address": "203.0.113.10"}) == "203.0.113.10"
    assert host_address("mon", {"ansible_host": "10.20.0.5"}) == "10.20.0.5"
    assert host_address("mon", {"ansible_host": "fd00::5"}) == "fd00::5"


# ---- one machine, one inventory host ----
@pytest.mark.parametrize("svc3, shared", [
    ({"ansible_host": "10.0.0.11"}, "the address 10.0.0.11"),                      # same ansible_host
    ({"ansible_host": "vm1.example.org", "monitoring_address": "10.0.0.11"}, "the address 10.0.0.11"),
    # the same SSH destination, whatever address it claims
    ({"ansible_host": "10.0.0.11", "monitoring_address": "10.0.9.9"}, "the SSH destination 10.0.0.11:22"),
])
def test_two_hosts_on_one_machine_are_refused_naming_both(svc3, shared):
    groups = {**GROUPS, "monitored_services": ["limen1", "svc2", "svc3"]}
    hv = hostvars(svc3={**svc3, "monitoring_endpoints": [{"job": "service3", "port": 8081}]})
    with pytest.raises(InventoryError) as exc:
        topology(groups, hv, DEFAULTS)
    message = str(exc.value)
    assert message.startswith("hosts limen1 and svc3: both are " + shared), message
    assert "monitoring_endpoints" in message   # the supported way: one host, every endpoint


def test_a_server_that_is_also_a_service_or_a_store_is_one_host():
    groups = {**GROUPS, "monitored_services": ["mon", "limen1"], "victoriametrics": ["mon"]}
    topo = topology(groups, hostvars(), DEFAULTS)
    assert topo["hosts"]["mon"]["server"] and topo["hosts"]["mon"]["storage"]


def test_machines_behind_one_address_on_other_ssh_ports_are_distinct():
    groups = {**GROUPS, "monitored_services": ["limen1", "svc2", "svc3"]}
    hv = hostvars(limen1={"ansible_host": "192.0.2.1", "ansible_port": 2201, "monitoring_address": "10.0.0.11"},
                  svc3={"ansible_host": "192.0.2.1", "ansible_port": "2202", "monitoring_address": "10.0.0.13"})
    topo = topology(groups, hv, DEFAULTS)
    assert topo["hosts"]["svc3"]["address"] == "10.0.0.13"


@given(st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=6))
def test_refused_exactly_when_two_hosts_share_an_address(octets):
    names = [f"s{i}" for i in range(len(octets))]
    hv = {"mon": {"ansible_host": "10.0.0.100"},
          **{n: {"ansible_host": f"10.0.0.{o}", "monitoring_endpoints": [{"job": "api", "port": 8080}]}
             for n, o in zip(names, octets, strict=True)}}
    groups = {"monitoring_servers": ["mon"], "monitored_services": names}
    if len(set(octets)) == len(octets):
        assert topology(groups, hv, DEFAULTS)["hosts"].keys() == {"mon", *names}
    else:
        with pytest.raises(InventoryError, match=r"^hosts s\d+ and s\d+: both are the address 10\.0\.0\.\d"):
            topology(groups, hv, DEFAULTS)


# ---- a metrics endpoint on a port that serves more than metrics (LIMEN's API) ----
def protected(**limen1):
    return topology(GROUPS, hostvars(limen1={"firewall_protect_metrics": True, **limen1}), DEFAULTS)


def test_a_port_serving_another_path_is_refused_until_the_inventory_chooses():
    with pytest.raises(InventoryError) as err:
        protected()
    message = str(err.value)
    assert "host limen1: monitoring_endpoints[0]" in message and "18443" in message
    assert "/api/metrics" in message and "firewall: shared" in message and "firewall: metrics" in message


@pytest.mark.parametrize("choice,metrics,shared", [("shared", [9100], [18443]),
                                                   ("metrics", [9100, 18443], [])])
def test_each_endpoint_chooses_whether_its_port_is_closed(choice, metrics, shared):
    ep = {"job": "limen", "port": 18443, "path": "/api/metrics", "firewall": choice}
    host = protected(monitoring_endpoints=[ep])["hosts"]["limen1"]
    assert host["metrics_ports"] == metrics and host["shared_ports"] == shared


def test_a_metrics_path_needs_no_choice_and_a_bad_choice_is_named():
    hv = hostvars(svc2={"firewall_protect_metrics": True})
    assert topology(GROUPS, hv, DEFAULTS)["hosts"]["svc2"]["metrics_ports"] == [8080]
    bad = [{"job": "service2", "port": 8080, "firewall": "closed"}]
    with pytest.raises(InventoryError, match=r"svc2: monitoring_endpoints\[0\]\.firewall: 'closed'"):
        topology(GROUPS, hostvars(svc2={"monitoring_endpoints": bad}), DEFAULTS)
