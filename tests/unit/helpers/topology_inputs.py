"""A small inventory for topology tests: the settings, the groups and the host variables
(with per-host overrides) that plugin_utils/topology turns into jobs and addresses."""

from __future__ import annotations

DEFAULTS = {
    "servers_group": "monitoring_servers", "services_group": "monitored_services",
    "prometheus_port": 9090, "alertmanager_port": 9093, "alertmanager_cluster_port": 9094,
    "alertmanager_cluster_peers": [], "node_exporter_port": 9100, "grafana_port": 3000,
    "blackbox_exporter_port": 9115,
    "prometheus_web_tls_cert_file": "", "alertmanager_web_tls_cert_file": "",
    "grafana_tls_cert_file": "", "scrape_interval": "30s", "grafana_enabled": True,
    "firewall_enabled": True, "firewall_protect_metrics": False,
    "storage_group": "victoriametrics", "victoriametrics_port": 8428,
}
GROUPS = {"monitoring_servers": ["mon"], "monitored_services": ["limen1", "svc2"]}


def hostvars(**extra):
    hv = {
        "mon": {"ansible_host": "10.0.0.10"},
        "limen1": {"ansible_host": "10.0.0.11", "monitoring_node_exporter": True,
                   "monitoring_endpoints": [{"job": "limen", "port": 18443, "path": "/api/metrics",
                                             "labels": {"env": "prod"}}]},
        "svc2": {"ansible_host": "svc2.example.org",
                 "ansible_facts": {"default_ipv4": {"address": "10.0.0.12"}},
                 "monitoring_endpoints": [{"job": "service2", "port": "8080"}]},
    }
    for host, values in extra.items():
        hv[host] = {**hv.get(host, {}), **values}
    return hv
