# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Turn inventory host variables into scrape jobs (used by the scrape_jobs filter)."""

from __future__ import annotations

ENDPOINT_KEYS = {"job", "port", "path", "scheme", "labels", "address"}


class InventoryError(ValueError):
    """An inventory variable is wrong; the message names host and variable."""


def _address(host, hvars):
    return hvars.get("monitoring_address") or hvars.get("ansible_host") or host


def scrape_jobs(hosts, hostvars, node_hosts=(), node_port=9100, node_job="node"):
    """[{name, targets: [...]}] for every job named by the hosts' monitoring_endpoints.

    NODE_HOSTS, and every host with monitoring_node_exporter: true, get a target in
    NODE_JOB on NODE_PORT (node_exporter).
    """
    jobs = {}
    for host in hosts:
        hvars = hostvars[host]
        endpoints = hvars.get("monitoring_endpoints", [])
        where = f"host {host}: monitoring_endpoints"
        if not isinstance(endpoints, list):
            raise InventoryError(f"{where} must be a list of mappings")
        for index, ep in enumerate(endpoints):
            here = f"{where}[{index}]"
            if not isinstance(ep, dict):
                raise InventoryError(f"{here} must be a mapping, got {ep!r}")
            unknown = set(ep) - ENDPOINT_KEYS
            if unknown:
                raise InventoryError(f"{here}: unknown keys {sorted(unknown)} "
                                     f"(allowed: {', '.join(sorted(ENDPOINT_KEYS))})")
            if "job" not in ep or "port" not in ep:
                raise InventoryError(f"{here}: 'job' and 'port' are required")
            target = {"host": ep.get("address") or _address(host, hvars), "port": ep["port"],
                      "labels": {"host": host, **(ep.get("labels") or {})}}
            if ep.get("path"):
                target["metrics_path"] = ep["path"]
            if ep.get("scheme"):
                target["scheme"] = ep["scheme"]
            jobs.setdefault(str(ep["job"]), []).append(target)
    node_hosts = list(node_hosts) + [h for h in hosts if h not in node_hosts
                                     and hostvars[h].get("monitoring_node_exporter") is True]
    for host in node_hosts:
        hvars = hostvars[host]
        jobs.setdefault(node_job, []).append(
            {"host": _address(host, hvars), "port": node_port, "labels": {"host": host}})
    return [{"name": name, "targets": targets} for name, targets in sorted(jobs.items())]


def scrape_configs(jobs, settings, file_sd_dir, secrets_dir):
    """Scrape configs for JOBS plus the secret files they reference.

    SETTINGS[job] is passed through to the scrape config, except that bearer_token and
    basic_auth.password become files in SECRETS_DIR, so prometheus.yml holds no secret
    and its diff can be shown.
    Returns {"scrape_configs": [...], "secrets": [{"name", "value"}]}.
    """
    settings = settings or {}
    known = {job["name"] for job in jobs}
    unknown = sorted(set(settings) - known)
    configs, secrets = [], []
    for job in jobs:
        name = job["name"]
        conf = {"job_name": name,
                "file_sd_configs": [{"files": [f"{file_sd_dir}/{name}.json"]}]}
        extra = dict(settings.get(name) or {})
        for key in ("job_name", "file_sd_configs", "static_configs"):
            if key in extra:
                raise InventoryError(f"prometheus_job_settings.{name}.{key}: set by the role, remove it")
        token = extra.pop("bearer_token", None)
        if token:
            secrets.append({"name": f"{name}.token", "value": str(token)})
            extra["authorization"] = {"type": "Bearer",
                                      "credentials_file": f"{secrets_dir}/{name}.token"}
        auth = extra.pop("basic_auth", None)
        if auth:
            if not isinstance(auth, dict) or not auth.get("username") or not auth.get("password"):
                raise InventoryError(f"prometheus_job_settings.{name}.basic_auth needs username and password")
            secrets.append({"name": f"{name}.password", "value": str(auth["password"])})
            extra["basic_auth"] = {"username": auth["username"],
                                   "password_file": f"{secrets_dir}/{name}.password"}
        conf.update(extra)
        configs.append(conf)
    return {"scrape_configs": configs, "secrets": secrets, "unknown_jobs": unknown}
