# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""What blackbox_exporter probes from a monitoring server (PRIVATE to the collection).

Every service endpoint is probed as Prometheus scrapes it: the URL of each target, through a
module of its job that carries the job's TLS settings and login (the *_file forms Prometheus
reads, so no secret lands in blackbox.yml). Every endpoint of the collection's own components
is probed by TCP, with a verified TLS handshake when it serves HTTPS; the certificate metrics
of a verified chain cover the CA that signed it. Pure functions, no Ansible.
"""

from __future__ import annotations

COMPONENTS = ("prometheus", "alertmanager", "node_exporter", "victoriametrics", "grafana")
# HTTP client settings of a scrape config that a blackbox http module takes as they are.
_CLIENT_KEYS = ("basic_auth", "authorization", "tls_config")


def _url(target, config):
    scheme = target.get("scheme") or config.get("scheme") or "http"
    path = target.get("metrics_path") or config.get("metrics_path") or "/metrics"
    host = str(target["host"])
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{int(target['port'])}{path}"


def job_module(config, timeout):
    """A blackbox http module that reaches a job's targets as its scrape CONFIG does."""
    http = {"valid_status_codes": [200], "method": "GET", "preferred_ip_protocol": "ip4"}
    http.update({key: config[key] for key in _CLIENT_KEYS if config.get(key)})
    return {"prober": "http", "timeout": timeout, "http": http}


def plan(jobs, scrape_configs, topology, ca_file, timeout="5s", components=COMPONENTS):
    """{modules, targets}: blackbox.yml's modules and the probe targets of the prometheus job.

    JOBS are the services' scrape jobs ([{name, targets}]); SCRAPE_CONFIGS Prometheus' configs of
    them (scheme, metrics_path, credentials, CA); TOPOLOGY the monitoring topology (components
    per host, Grafana per server); CA_FILE the CA the components' certificates are verified with.
    COMPONENTS names the components probed. Each target: {target, module, probed, host}.
    """
    configs = {c.get("job_name"): c for c in scrape_configs or []}
    modules = {"tcp": {"prober": "tcp", "timeout": timeout, "tcp": {"preferred_ip_protocol": "ip4"}},
               "tls": {"prober": "tcp", "timeout": timeout,
                       "tcp": {"preferred_ip_protocol": "ip4", "tls": True,
                               "tls_config": {"ca_file": ca_file} if ca_file else {}}}}
    targets = []
    for job in jobs:
        name = job["name"]
        config = configs.get(name, {})
        module = f"job_{name}"
        modules[module] = job_module(config, timeout)
        for target in job["targets"]:
            targets.append({"target": _url(target, config), "module": module, "probed": name,
                            "host": (target.get("labels") or {}).get("host", "")})
    hosts = topology.get("hosts") or {}
    for component in (c for c in COMPONENTS if c in components):
        for host, endpoint in sorted((topology.get(component) or {}).items()):
            if component == "grafana" and not (hosts.get(host) or {}).get("grafana"):
                continue
            targets.append({"target": endpoint["target"],
                            "module": "tls" if endpoint.get("scheme") == "https" else "tcp",
                            "probed": component, "host": host})
    return {"modules": modules, "targets": targets}
