# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Turn inventory host variables into scrape jobs (used by the scrape_jobs filter)."""

from __future__ import annotations

from ansible_collections.limen.monitoring.plugins.module_utils import validate
from ansible_collections.limen.monitoring.plugins.module_utils.file_sd import (
    TargetError,
    display,
    normalize_target,
    validate_job,
)
from ansible_collections.limen.monitoring.plugins.plugin_utils.dns_discovery import scrape_config as dns_scrape_config

ENDPOINT_KEYS = {"job", "port", "path", "scheme", "labels", "address", "firewall"}


class InventoryError(ValueError):
    """An inventory variable is wrong; the message names host and variable."""


def scrape_jobs(hosts, hostvars, addresses, node_endpoints, node_job="node", reserved=()):
    """[{name, targets: [...]}] for every job named by the hosts' monitoring_endpoints.

    ADDRESSES maps each host to its one address (see topology.host_address);
    NODE_ENDPOINTS maps each node_exporter host to {host, port}: a target in NODE_JOB.
    Job names in RESERVED belong to the collection's own jobs and are refused.
    """
    jobs, seen = {}, {}
    for host in hosts:
        endpoints = hostvars[host].get("monitoring_endpoints", [])
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
            job = ep["job"]
            if job in reserved:
                raise InventoryError(f"{here}.job: {job!r} is reserved for the collection's own "
                                     f"scrape jobs ({', '.join(reserved)}); choose another name")
            labels = ep.get("labels") or {}
            if not isinstance(labels, dict):
                raise InventoryError(f"{here}.labels must be a mapping of label names to values")
            if "host" in labels:
                raise InventoryError(f"{here}.labels.host: {labels['host']!r}: the label 'host' is the collection's "
                                     f"own (the inventory host's name, here {host!r}); give yours another name")
            target = {"host": ep.get("address") or addresses[host], "port": ep["port"],
                      "labels": {"host": host, **labels}}
            if ep.get("path"):
                target["metrics_path"] = ep["path"]
            if ep.get("scheme"):
                target["scheme"] = ep["scheme"]
            # The module would refuse these too, but naming a list index of its input;
            # here the message names the inventory host and its entry.
            try:
                validate_job(job, f"{here}.job")
                if ep.get("address"):
                    validate.host(ep["address"], f"{here}.address")
                key, _labels = normalize_target(target, here)
            except TargetError as exc:
                raise InventoryError(str(exc)) from None
            if (job, key) in seen:
                raise InventoryError(f"{here}: job {job!r} target {display(key)} is also given by "
                                     f"{seen[job, key]}; Prometheus would scrape it twice")
            seen[job, key] = here
            jobs.setdefault(job, []).append(target)
    for host, endpoint in node_endpoints.items():
        jobs.setdefault(node_job, []).append(
            {"host": endpoint["host"], "port": endpoint["port"], "labels": {"host": host}})
    return [{"name": name, "targets": targets} for name, targets in sorted(jobs.items())]


def job_settings_problems(name, extra, where=None):
    """Problems of prometheus_job_settings.NAME (checked by the topology role before any host changes)."""
    where = where or f"prometheus_job_settings.{name}"
    if extra is None:
        return []
    if not isinstance(extra, dict):
        return [f"{where}: {extra!r} must be a mapping of scrape config settings"]
    problems = [f"{where}.{key}: set by the role from the inventory, remove it"
                for key in ("job_name", "file_sd_configs", "static_configs", "dns_sd_configs") if key in extra]
    auth = extra.get("basic_auth")
    if auth and (not isinstance(auth, dict) or not auth.get("username") or not auth.get("password")):
        shown = {k: ("<hidden>" if k == "password" else v) for k, v in auth.items()} if isinstance(auth, dict) else auth
        problems.append(f"{where}.basic_auth: {shown!r} needs username and password")
    return problems


# Inline secrets of Prometheus' HTTP client settings and the *_file key that replaces each.
# The last item names the file (NAME.password, NAME.token, ... in the secrets directory).
SECRET_FIELDS = (("basic_auth", "password", "password_file", "password"),
                 ("authorization", "credentials", "credentials_file", "token"),
                 ("oauth2", "client_secret", "client_secret_file", "oauth2-client-secret"))


def externalize_secrets(conf, name, secrets_dir, where):
    """(CONF with its inline secrets replaced by files in SECRETS_DIR, [{"name", "value"}]).

    CONF is a scrape, remote_write or remote_read entry passed through from the inventory;
    NAME makes the file names unique; WHERE names the variable in messages (never a value).
    bearer_token becomes authorization.credentials_file; basic_auth.password, authorization.
    credentials and oauth2.client_secret become their *_file keys.
    """
    if not isinstance(conf, dict):
        raise InventoryError(f"{where}: must be a mapping, got {type(conf).__name__}")
    conf = {k: (dict(v) if isinstance(v, dict) else v) for k, v in conf.items()}
    secrets = []
    token = conf.pop("bearer_token", None)
    if token:
        if "authorization" in conf:
            raise InventoryError(f"{where}: set bearer_token or authorization, not both")
        conf["authorization"] = {"type": "Bearer", "credentials": str(token)}
    for section, field, file_field, suffix in SECRET_FIELDS:
        sub = conf.get(section)
        if not isinstance(sub, dict) or sub.get(field) in (None, ""):
            continue
        if sub.get(file_field):
            raise InventoryError(f"{where}.{section}: set {field} or {file_field}, not both")
        file_name = f"{name}.{suffix}"
        secrets.append({"name": file_name, "value": str(sub.pop(field))})
        sub[file_field] = f"{secrets_dir}/{file_name}"
    return conf, secrets


def passthrough_secrets(entries, kind, secrets_dir):
    """ENTRIES of the list variable KIND (prometheus_remote_write, ...) with their secrets in files.

    Returns {"entries": [...], "secrets": [{"name", "value"}]}; file names carry KIND and the index.
    """
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise InventoryError(f"{kind}: must be a list, got {type(entries).__name__}")
    out, secrets = [], []
    for i, entry in enumerate(entries):
        conf, found = externalize_secrets(entry, f"{kind}-{i}", secrets_dir, f"{kind}[{i}]")
        out.append(conf)
        secrets += found
    return {"entries": out, "secrets": secrets}


def scrape_configs(jobs, settings, file_sd_dir, secrets_dir, services_dir=None, discovery=None,
                   internal_networks=None):
    """Scrape configs for JOBS and the DISCOVERY jobs, plus the secret files they reference.

    SETTINGS[job] is passed through to the scrape config, except that bearer_token and
    basic_auth.password become files in SECRETS_DIR, so prometheus.yml holds no secret
    and its diff can be shown. DISCOVERY holds the declared DNS discovery jobs (topology's
    `discovery`); their targets are kept only inside INTERNAL_NETWORKS and the watched zones.
    Returns {"scrape_configs": [...], "secrets": [{"name", "value"}]}.
    """
    settings = settings or {}
    discovery = discovery or []
    known = {job["name"] for job in jobs} | {entry["job"] for entry in discovery}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise InventoryError(
            f"prometheus_job_settings names jobs no inventory host defines: {', '.join(unknown)} "
            f"(known jobs, with those prometheus_dns_discovery declares: {', '.join(sorted(known)) or 'none'})")
    configs, secrets = [], []
    for job in jobs:
        name = job["name"]
        files = [f"{file_sd_dir}/{name}.json"]
        if services_dir:
            # Targets a service's own playbook registers for the same job (direct module use).
            files.append(f"{services_dir}/{name}.json")
        conf = {"job_name": name, "file_sd_configs": [{"files": files}]}
        configs.append(_with_settings(conf, settings.get(name), secrets_dir, secrets))
    for index, entry in enumerate(discovery):
        conf = dns_scrape_config(entry, internal_networks, services_dir)
        # Its settings are in its entry or in prometheus_job_settings (settings_errors refuses both).
        if entry.get("settings") and entry["job"] not in settings:
            conf = _with_settings(conf, entry["settings"], secrets_dir, secrets,
                                  f"prometheus_dns_discovery[{index}].settings")
        else:
            conf = _with_settings(conf, settings.get(entry["job"]), secrets_dir, secrets)
        configs.append(conf)
    return {"scrape_configs": configs, "secrets": secrets}


def _with_settings(conf, job_settings, secrets_dir, secrets, where=None):
    """CONF with the job's settings merged in; its secrets appended to SECRETS as files."""
    name = conf["job_name"]
    problems = job_settings_problems(name, job_settings, where)
    if problems:
        raise InventoryError("; ".join(problems))
    extra = dict(job_settings or {})
    if "relabel_configs" in extra and "relabel_configs" in conf:
        # The role's own rules (what a discovered target may be) come first.
        extra["relabel_configs"] = conf["relabel_configs"] + list(extra["relabel_configs"] or [])
    extra, found = externalize_secrets(extra, name, secrets_dir, where or f"prometheus_job_settings.{name}")
    secrets += found
    conf.update(extra)
    return conf
