"""What blackbox_exporter probes: each service target through its job's module (the job's login
and CA as files), each component endpoint by TLS or TCP."""

from __future__ import annotations

from ansible_collections.limen.monitoring.plugins.plugin_utils.probes import plan

JOBS = [{"name": "limen", "targets": [{"host": "10.0.0.11", "port": 18443, "metrics_path": "/api/metrics",
                                        "scheme": "https", "labels": {"host": "svc1"}}]},
        {"name": "service2", "targets": [{"host": "10.0.0.12", "port": 8080, "labels": {"host": "svc2"}}]}]
CONFIGS = [{"job_name": "limen", "file_sd_configs": [], "tls_config": {"ca_file": "/ca.crt"}},
           {"job_name": "service2", "authorization": {"type": "Bearer", "credentials_file": "/s/service2.token"}}]
TOPOLOGY = {"hosts": {"mon": {"grafana": False}},
            "prometheus": {"mon": {"target": "10.0.0.10:9090", "scheme": "https"}},
            "node_exporter": {"mon": {"target": "10.0.0.10:9100", "scheme": "http"}},
            "grafana": {"mon": {"target": "10.0.0.10:3000", "scheme": "https"}}}


def test_each_service_target_is_probed_at_its_url_with_its_jobs_login_and_ca():
    out = plan(JOBS, CONFIGS, TOPOLOGY, "/etc/ca.crt")
    assert out["targets"][:2] == [
        {"target": "https://10.0.0.11:18443/api/metrics", "module": "job_limen", "probed": "limen", "host": "svc1"},
        {"target": "http://10.0.0.12:8080/metrics", "module": "job_service2", "probed": "service2", "host": "svc2"}]
    assert out["modules"]["job_limen"]["http"]["tls_config"] == {"ca_file": "/ca.crt"}
    assert out["modules"]["job_service2"]["http"]["authorization"] == {"type": "Bearer",
                                                                       "credentials_file": "/s/service2.token"}
    assert "file_sd_configs" not in out["modules"]["job_limen"]["http"]


def test_components_by_tls_or_tcp_and_grafana_only_where_it_runs():
    out = plan([], [], TOPOLOGY, "/etc/ca.crt")
    assert out["targets"] == [
        {"target": "10.0.0.10:9090", "module": "tls", "probed": "prometheus", "host": "mon"},
        {"target": "10.0.0.10:9100", "module": "tcp", "probed": "node_exporter", "host": "mon"}]
    assert out["modules"]["tls"]["tcp"] == {"preferred_ip_protocol": "ip4", "tls": True,
                                            "tls_config": {"ca_file": "/etc/ca.crt"}}


def test_only_the_chosen_components_are_probed():
    out = plan([], [], TOPOLOGY, "", components=["node_exporter"])
    assert [t["probed"] for t in out["targets"]] == ["node_exporter"]
    assert out["modules"]["tls"]["tcp"]["tls_config"] == {}
