"""DNS service discovery (prometheus_dns_discovery): validation, the relabelling that decides
what a discovered record may be, and the scrape config promtool accepts."""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.limen.monitoring.plugins.module_utils.validate import ValidationError
from ansible_collections.limen.monitoring.plugins.plugin_utils.dns_discovery import (
    discovery_jobs,
    ipv4_regex,
    scrape_config,
)
from ansible_collections.limen.monitoring.plugins.plugin_utils.inventory_jobs import InventoryError, scrape_configs
from ansible_collections.limen.monitoring.plugins.plugin_utils.topology import RESERVED_JOBS

NAME = "_payments._tcp.services.example.internal"
INTERNAL = ["10.20.0.0/16", "192.168.7.0/24", "172.16.0.0/12", "fd00::/8"]


def test_defaults_zone_from_the_names_and_refresh_interval():
    assert discovery_jobs([{"job": "payments", "names": [NAME + "."]}]) == [
        {"job": "payments", "names": [NAME], "zones": ["services.example.internal"], "refresh_interval": "30s",
         "settings": {}}]


@pytest.mark.parametrize("entries, message", [
    ("payments", "prometheus_dns_discovery must be a list"),
    (["payments"], r"prometheus_dns_discovery\[0\] must be a mapping"),
    ([{"job": "p", "names": [NAME], "port": 1}], r"\[0\]: unknown keys \['port'\]"),
    ([{"names": [NAME]}], r"\[0\]: 'job' and 'names' are required"),
    ([{"job": "node", "names": [NAME]}], r"\[0\]\.job: 'node' is reserved"),
    ([{"job": "limen", "names": [NAME]}], r"\[0\]\.job: 'limen' is already an inventory job"),
    ([{"job": "p", "names": [NAME]}, {"job": "p", "names": [NAME]}], r"\[1\]\.job: 'p' is declared twice"),
    ([{"job": "bad job", "names": [NAME]}], r"\[0\]\.job: 'bad job' is not a valid job name"),
    ([{"job": "p", "names": []}], r"\[0\]\.names must be a non-empty list"),
    ([{"job": "p", "names": "x"}], r"\[0\]\.names must be a non-empty list"),
    ([{"job": "p", "names": ["payments.example.internal"]}], r"\[0\]\.names\[0\]: 'payments.example.internal' is not an SRV name"),
    ([{"job": "p", "names": ["_p._tcp.bad_domain"]}], r"\[0\]\.names\[0\]: '_p._tcp.bad_domain' is not a DNS domain"),
    ([{"job": "p", "names": [NAME], "zones": ["ex ample"]}], r"\[0\]\.zones\[0\]: 'ex ample' is not a DNS domain"),
    ([{"job": "p", "names": [NAME], "zones": []}], r"\[0\]\.zones must be a non-empty list"),
    ([{"job": "p", "names": [NAME], "refresh_interval": "soon"}], r"\[0\]: refresh_interval 'soon' is not a Prometheus duration"),
])
def test_bad_entries_are_refused_naming_the_entry(entries, message):
    with pytest.raises(ValidationError, match=message):
        discovery_jobs(entries, RESERVED_JOBS, ["limen"])


@given(st.ip_addresses(v=4), st.integers(min_value=0, max_value=32), st.ip_addresses(v=4))
def test_ipv4_regex_matches_exactly_the_addresses_of_the_network(base, prefix, address):
    net = ipaddress.ip_network(f"{base}/{prefix}", strict=False)
    regex = re.compile(ipv4_regex([str(net)]))
    assert bool(regex.fullmatch(str(address))) == (address in net)
    assert regex.fullmatch(str(net.network_address)) and regex.fullmatch(str(net.broadcast_address))


def test_ipv4_regex_refuses_lookalikes_and_leaves_ipv6_out():
    regex = re.compile(ipv4_regex(INTERNAL))
    for text in ("10.20.1.2", "192.168.7.255", "172.31.0.1"):
        assert regex.fullmatch(text), text
    for text in ("10.21.1.2", "010.20.1.2", "10.20.1.256", "10.20.1", "192.168.8.1", "172.32.0.1", "fd00::1"):
        assert not regex.fullmatch(text), text
    assert ipv4_regex(["fd00::/8"]) == ""


def _relabel(config, labels):
    """What Prometheus' relabelling does with LABELS (the actions this role uses)."""
    labels = dict(labels)
    for rule in config["relabel_configs"]:
        value = ";".join(labels.get(name, "") for name in rule["source_labels"])
        match = re.fullmatch(rule["regex"], value)
        action = rule.get("action", "replace")
        if action == "drop" and match:
            return None
        if action == "keep" and not match:
            return None
        if action == "replace" and match:
            labels[rule["target_label"]] = match.expand(rule["replacement"].replace("$1", r"\1"))
    return labels


def _discovered(target, port="8080"):
    return {"__address__": f"{target.rstrip('.')}:{port}", "__meta_dns_name": NAME,
            "__meta_dns_srv_record_target": target, "__meta_dns_srv_record_port": port}


@pytest.fixture()
def config():
    entry = discovery_jobs([{"job": "payments", "names": [NAME], "zones": ["services.example.internal", "hosts.internal"]}])[0]
    return scrape_config(entry, INTERNAL, "/etc/prometheus/file_sd/services")


@pytest.mark.parametrize("target, host", [
    ("pay-1.services.example.internal.", "pay-1"),
    ("web.dc1.hosts.internal.", "web.dc1"),
    ("10.20.3.4.", "10.20.3.4"),
    ("192.168.7.9", "192.168.7.9"),
])
def test_records_inside_the_zones_or_internal_networks_are_kept_with_their_host(config, target, host):
    kept = _relabel(config, _discovered(target))
    assert kept is not None and kept["host"] == host


@pytest.mark.parametrize("target, port", [
    ("pay-1.services.example.internal.", "0"),                 # port 0
    ("pay-1.elsewhere.example.", "8080"),                      # a name outside the watched zones
    ("services.example.internal.attacker.example.", "8080"),   # the zone as a prefix only
    ("8.8.8.8.", "8080"),                                      # an address outside the internal networks
    ("10.21.0.1.", "8080"),
    ("services.example.internal.", "8080"),                    # the zone's apex is no host
])
def test_hostile_or_malformed_records_are_dropped(config, target, port):
    assert _relabel(config, _discovered(target, port)) is None


def test_targets_a_service_registers_in_file_sd_keep_their_own_labels(config):
    kept = _relabel(config, {"__address__": "svc-9:8080", "host": "svc-9"})
    assert kept["host"] == "svc-9"
    assert config["file_sd_configs"] == [{"files": ["/etc/prometheus/file_sd/services/payments.json"]}]


def test_discovered_jobs_take_their_job_settings_with_secrets_in_files():
    entry = discovery_jobs([{"job": "payments", "names": [NAME], "refresh_interval": "5s"}])
    out = scrape_configs([], {"payments": {"scheme": "https", "bearer_token": "s3cret",
                                           "tls_config": {"ca_file": "/ca.pem"},
                                           "relabel_configs": [{"target_label": "team", "replacement": "pay"}]}},
                         "/sd", "/secrets", "/services", entry, INTERNAL)
    conf = out["scrape_configs"][0]
    assert conf["dns_sd_configs"] == [{"names": [NAME], "type": "SRV", "refresh_interval": "5s"}]
    assert conf["authorization"] == {"type": "Bearer", "credentials_file": "/secrets/payments.token"}
    assert conf["scheme"] == "https" and conf["tls_config"] == {"ca_file": "/ca.pem"}
    assert conf["relabel_configs"][-1] == {"target_label": "team", "replacement": "pay"}  # after the role's own
    assert "s3cret" not in yaml.safe_dump(out["scrape_configs"])
    assert out["secrets"] == [{"name": "payments.token", "value": "s3cret"}]
    with pytest.raises(InventoryError, match="prometheus_job_settings.payments.dns_sd_configs: set by the role"):
        scrape_configs([], {"payments": {"dns_sd_configs": []}}, "/sd", "/secrets", "/services", entry, INTERNAL)
    with pytest.raises(InventoryError, match="names jobs no inventory host defines: billing"):
        scrape_configs([], {"billing": {}}, "/sd", "/secrets", "/services", entry, INTERNAL)


def test_settings_in_the_entry_apply_like_job_settings_and_errors_name_the_entry():
    entry = discovery_jobs([{"job": "payments", "names": [NAME], "settings": {"bearer_token": "s3cret"}}])
    out = scrape_configs([], {}, "/sd", "/secrets", "/services", entry, INTERNAL)
    assert out["scrape_configs"][0]["authorization"]["credentials_file"] == "/secrets/payments.token"
    assert out["secrets"] == [{"name": "payments.token", "value": "s3cret"}]
    bad = discovery_jobs([{"job": "payments", "names": [NAME], "settings": {"basic_auth": {"username": "u"}}}])
    with pytest.raises(InventoryError, match=r"prometheus_dns_discovery\[0\]\.settings\.basic_auth: .* needs username"):
        scrape_configs([], {}, "/sd", "/secrets", "/services", bad, INTERNAL)
    with pytest.raises(ValidationError, match=r"\[0\]\.settings must be a mapping"):
        discovery_jobs([{"job": "payments", "names": [NAME], "settings": "https"}])


def test_promtool_accepts_the_scrape_config(tmp_path, config):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.fail("promtool not found: run `make tools`")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({"scrape_configs": [config]}))
    r = subprocess.run([promtool, "check", "config", "--syntax-only", str(tmp_path / "prometheus.yml")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- in the topology: validated once, naming the variable; settings and overrides may name the jobs ----
def _topology(**defaults):
    from topology_inputs import DEFAULTS, GROUPS, hostvars

    from ansible_collections.limen.monitoring.plugins.plugin_utils.topology import topology
    return topology(GROUPS, hostvars(), {**DEFAULTS, **defaults})


def test_the_topology_declares_discovered_jobs_with_the_internal_networks():
    topo = _topology(dns_discovery=[{"job": "payments", "names": [NAME]}], internal_networks=INTERNAL)
    assert topo["discovered_jobs"] == ["payments"] and topo["internal_networks"] == INTERNAL
    assert topo["job_names"] == ["limen", "node", "service2"]   # the inventory's own stay apart (own dashboards)
    assert _topology()["discovered_jobs"] == []


@pytest.mark.parametrize("defaults, message", [
    ({"dns_discovery": [{"job": "limen", "names": [NAME]}]}, r"prometheus_dns_discovery\[0\]\.job: 'limen' is already an inventory job"),
    ({"dns_discovery": [{"job": "node", "names": [NAME]}]}, r"prometheus_dns_discovery\[0\]\.job: 'node' is reserved"),
    ({"internal_networks": ["10.0.0.0/8", "ten"]}, r"firewall_internal_networks\[1\]: 'ten' is not a network"),
    ({"internal_networks": "10.0.0.0/8"}, "firewall_internal_networks: '10.0.0.0/8' must be a list"),
])
def test_the_topology_refuses_bad_discovery_naming_the_variable(defaults, message):
    with pytest.raises(InventoryError, match=message):
        _topology(**defaults)


def test_settings_and_alert_overrides_may_name_discovered_jobs():
    from ansible_collections.limen.monitoring.plugins.plugin_utils.topology import settings_errors
    topo = _topology(dns_discovery=[{"job": "payments", "names": [NAME]}])
    settings = {"thresholds": {}, "thresholds_shipped": {"cpu_percent": 90}, "for": {}, "for_shipped": {},
                "overrides": {"payments": {"cpu_percent": 70}}, "job_settings": {"payments": {"scheme": "https"}}}
    assert settings_errors(topo, settings) == []
    both = _topology(dns_discovery=[{"job": "payments", "names": [NAME], "settings": {"scheme": "https"}}])
    assert settings_errors(both, settings) == [
        "prometheus_job_settings.payments: prometheus_dns_discovery[0].settings also sets this job's settings; "
        "keep one of them"]
    errors = settings_errors(topo, {**settings, "overrides": {"paymnts": {}}, "job_settings": {"paymnts": {}}})
    assert any("prometheus_alert_overrides.paymnts: no inventory host defines this job and "
               "prometheus_dns_discovery does not declare it" in e for e in errors)
    assert any(e.startswith("prometheus_job_settings.paymnts:") for e in errors)


def test_the_topology_reports_bad_entry_settings_before_any_host_changes():
    from ansible_collections.limen.monitoring.plugins.plugin_utils.topology import settings_errors
    topo = _topology(dns_discovery=[{"job": "payments", "names": [NAME],
                                     "settings": {"basic_auth": {"username": "u", "password": ""}}}])
    errors = settings_errors(topo, {"thresholds": {}, "thresholds_shipped": {}, "for": {}, "for_shipped": {},
                                    "overrides": {}, "job_settings": {}})
    assert errors == ["prometheus_dns_discovery[0].settings.basic_auth: {'username': 'u', 'password': '<hidden>'} "
                      "needs username and password"]
