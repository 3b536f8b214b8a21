# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""The conformance_check module's work (PRIVATE to the collection): which targets are new or
changed, one scrape of each as Prometheus makes it (the job's scheme, credentials and CA), and
the metric standard checked metric by metric. Pure functions apart from fetch()."""

from __future__ import annotations

import base64
import difflib
import math
import os
import re
import urllib.error

from ansible.module_utils.urls import open_url

from ansible_collections.limen.monitoring.plugins.module_utils.exposition import ExpositionError, parse
from ansible_collections.limen.monitoring.plugins.module_utils.file_sd import (
    TargetError,
    display,
    normalize_targets,
    parse_file,
    plan,
)
from ansible_collections.limen.monitoring.plugins.module_utils.metric_standard import NON_BASE_UNITS, STANDARD

POLICIES = ("enforce", "warn", "off")
_TOKEN = re.compile(r"[a-z0-9]+")


class ConformanceError(ValueError):
    """An argument is wrong; the message names it."""


def _unit_defect(name):
    for token in _TOKEN.findall(name.lower()):
        if token in NON_BASE_UNITS:
            return f"{name}: the name carries the unit {token}; the standard uses base units ({NON_BASE_UNITS[token]})"
    return None


def _counter_family(name, families):
    """The family of counter NAME (X_total in text 0.0.4, X in OpenMetrics)."""
    if name in families:
        return families[name]
    base = name[:-len("_total")] if name.endswith("_total") else None
    return families.get(base) if base else None


def check_metric(entry, families):
    """Defects of the standard metric ENTRY in FAMILIES: [] is conformant, None is absent."""
    name = entry["name"]
    family = _counter_family(name, families) if entry["type"] == "counter" else families.get(name)
    if family is None or not family["samples"]:
        return None
    defects = []
    kind = family["type"]
    if kind != entry["type"]:
        defects.append(f"{name}: type {kind}, the standard says {entry['type']}")
    samples = family["samples"]
    if entry["type"] == "histogram" and kind == "histogram":
        buckets = [s for s in samples if s[0] == name + "_bucket"]
        if not buckets:
            defects.append(f"{name}: a histogram without buckets (no {name}_bucket series)")
        elif not any(math.isinf(float(s[1].get("le", 0))) for s in buckets if _is_number(s[1].get("le"))):
            defects.append(f'{name}: no le="+Inf" bucket')
    wanted = set(entry["labels"])
    lacking = {}
    for sample_name, labels, _value in samples:
        if sample_name.endswith("_created"):
            continue
        for label in wanted - set(labels):
            lacking[label] = lacking.get(label, 0) + 1
    if lacking:
        defects.append(f"{name}: samples without the label{'s' if len(lacking) > 1 else ''} "
                       f"{', '.join(sorted(lacking))} (the standard's labels: {', '.join(entry['labels'])})")
    allowed = entry.get("values")
    if allowed:
        bad = sorted({value for sample_name, _labels, value in samples if sample_name == name
                      and value not in allowed}, key=repr)
        if bad:
            defects.append(f"{name}: values {', '.join(_show(v) for v in bad)}; "
                           f"only {' or '.join(str(v) for v in allowed)}")
    return defects


def _is_number(text):
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _show(value):
    return str(int(value)) if value == int(value) else repr(value) if not math.isnan(value) else "NaN"


def check_families(families):
    """[{metric, status, defects}] for every standard metric, then unit defects of other names.

    status: conformant, missing (a required metric), absent (an optional one, not exported),
    defective. A missing metric names the exported ones it may have been renamed to.
    """
    report, exported = [], set(families)
    for entry in STANDARD:
        defects = check_metric(entry, families)
        if defects is None:
            if not entry["required"]:
                report.append({"metric": entry["name"], "status": "absent", "defects": []})
                continue
            close = difflib.get_close_matches(entry["name"], sorted(exported), n=2, cutoff=0.75)
            hint = f" (exported instead: {', '.join(close)}?)" if close else ""
            report.append({"metric": entry["name"], "status": "missing",
                           "defects": [f"{entry['name']}: missing{hint}"]})
            continue
        report.append({"metric": entry["name"], "status": "defective" if defects else "conformant",
                       "defects": defects})
    standard = {e["name"] for e in STANDARD}
    for name in sorted(exported - standard):
        unit = _unit_defect(name)
        if unit:
            report.append({"metric": name, "status": "defective", "defects": [unit]})
    return report


def conformant(report):
    return all(item["status"] in ("conformant", "absent") for item in report)


def new_or_changed(job, targets, current_text, path):
    """Keys of JOB's TARGETS not registered as they are (CURRENT_TEXT: its file_sd file)."""
    try:
        wanted = normalize_targets(targets, f"jobs[{job}].targets")
        current = parse_file(current_text, path)
    except TargetError as exc:
        raise ConformanceError(str(exc)) from None
    _result, added, _removed, _unchanged, updated = plan(current, wanted)
    return [(key, wanted[key]) for key in sorted(added + updated)]


def target_url(key, labels, job_config):
    """The URL Prometheus scrapes for the target KEY with LABELS under JOB_CONFIG."""
    address, path, params = key
    scheme = labels.get("__scheme__") or job_config.get("scheme") or "http"
    path = path or job_config.get("metrics_path") or "/metrics"
    query = "&".join(f"{k}={v}" for k, v in params)
    return f"{scheme}://{address}{path}" + (f"?{query}" if query else "")


def _read_secret(path, where, pending=None):
    if path in (pending or {}):  # what this run writes there, before it is written
        return pending[path].strip()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as exc:
        raise ConformanceError(f"{where}: cannot read {path} ({exc.strerror})") from None


def client(job_config, where, pending=None):
    """{headers, ca_file, insecure} from a Prometheus scrape config's auth and TLS settings
    (the *_file forms: the module reads the secret files Prometheus reads, or their PENDING
    content, {path: text}, when the run is about to write them)."""
    headers = {}
    auth = job_config.get("basic_auth") or {}
    if auth.get("username"):
        password = auth.get("password") or (_read_secret(auth["password_file"], f"{where}.basic_auth.password_file", pending)
                                            if auth.get("password_file") else "")
        token = base64.b64encode(f"{auth['username']}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    authz = job_config.get("authorization") or {}
    credentials = authz.get("credentials") or (
        _read_secret(authz["credentials_file"], f"{where}.authorization.credentials_file", pending)
        if authz.get("credentials_file") else "")
    if credentials:
        headers["Authorization"] = f"{authz.get('type') or 'Bearer'} {credentials}"
    tls = job_config.get("tls_config") or {}
    return {"headers": headers, "ca_file": tls.get("ca_file") or "",
            "insecure": bool(tls.get("insecure_skip_verify")), "server_name": tls.get("server_name") or ""}


def fetch(url, settings, timeout=10):
    """The body of one scrape of URL; (None, reason) when it fails (never the credentials)."""
    headers = {**settings["headers"], "Accept": "text/plain;version=0.0.4;q=1,*/*;q=0.1"}
    try:
        with open_url(url, headers=headers, timeout=timeout, validate_certs=not settings["insecure"],
                      ca_path=settings["ca_file"] or None) as response:
            return response.read(64 * 1024 * 1024).decode("utf-8", "replace"), None
    except urllib.error.HTTPError as exc:
        return None, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        where = f" (CA file {settings['ca_file']})" if isinstance(exc, FileNotFoundError) else ""
        return None, f"{reason}{where}"


def check_target(url, settings, fetcher=fetch):
    """{url, reachable, error, conformant, report} of one scrape of URL."""
    body, error = fetcher(url, settings)
    if body is None:
        return {"url": url, "reachable": False, "error": error, "conformant": False, "report": []}
    try:
        families = parse(body)
    except ExpositionError as exc:
        return {"url": url, "reachable": True, "error": f"not the exposition format: {exc}",
                "conformant": False, "report": []}
    report = check_families(families)
    return {"url": url, "reachable": True, "error": "", "conformant": conformant(report), "report": report}


def summary(result):
    """One line per target for the run's output."""
    where = f"{result['job']} {result['url']} (host {result['host']}, policy {result['policy']})"
    if not result["reachable"]:
        return f"{where}: NOT REACHABLE from the monitoring server: {result['error']}"
    if result["error"]:
        return f"{where}: {result['error']}"
    if result["conformant"]:
        return f"{where}: conformant"
    defects = [d for item in result["report"] for d in item["defects"]]
    return f"{where}: NOT CONFORMANT: " + "; ".join(defects)


def run(jobs, scrape_configs, directory, policies, default_policy, check_all=False, fetcher=fetch,
        reader=None, unreadable_ok=False, pending=None, pending_ca=None):
    """Check the new or changed targets of JOBS ([{name, targets}]); {results, refused, messages}.

    SCRAPE_CONFIGS are Prometheus' (by job_name) for scheme, path, credentials and CA; DIRECTORY
    holds the registered file_sd files; POLICIES maps an inventory host to its policy (its
    `host` label), DEFAULT_POLICY the rest. CHECK_ALL checks registered targets too.
    UNREADABLE_OK (check mode on a first run): a job whose secret files are not written yet is
    reported as not checked instead of failing. PENDING ({path: text}): the secret files and CA
    certificates the run is about to write, read in place of the host's copies, so the check can
    run before anything changes; PENDING_CA(path) gives a file holding a pending CA's text.
    """
    # YAML 1.1 reads an unquoted off as false.
    default_policy = "off" if default_policy is False else default_policy
    policies = {host: "off" if policy is False else policy for host, policy in (policies or {}).items()}
    if default_policy not in POLICIES:
        raise ConformanceError(f"monitoring_conformance: {default_policy!r} is not one of {', '.join(POLICIES)}")
    for host, policy in (policies or {}).items():
        if policy not in POLICIES:
            raise ConformanceError(f"host {host}: monitoring_conformance: {policy!r} is not one of {', '.join(POLICIES)}")
    reader = reader or _read_text
    configs = {c.get("job_name"): c for c in scrape_configs or []}
    results = []
    for job in jobs:
        name = job["name"]
        path = os.path.join(directory, f"{name}.json")
        if check_all:
            targets = list(normalize_targets(job["targets"], f"jobs[{name}].targets").items())
        else:
            targets = new_or_changed(name, job["targets"], reader(path), path)
        config = configs.get(name, {})
        try:
            settings = client(config, f"job {name}", pending)
        except ConformanceError:
            if not unreadable_ok:
                raise
            settings = None
        if settings and settings["ca_file"] in (pending or {}) and pending_ca:
            settings["ca_file"] = pending_ca(settings["ca_file"])
        elif unreadable_ok and settings and settings["ca_file"] and not os.path.exists(settings["ca_file"]):
            settings = None  # check mode on a first run: the job's CA is not on the host yet
        for key, labels in targets:
            host = labels.get("host", "")
            policy = (policies or {}).get(host, default_policy)
            if policy == "off":
                continue
            url = target_url(key, labels, config)
            result = {"url": url, "reachable": None, "error": "", "conformant": None, "report": []}
            if settings is not None:
                result = check_target(url, settings, fetcher)
            result.update({"job": name, "target": display(key), "host": host, "policy": policy})
            result["summary"] = summary(result) if settings is not None else (
                f"{name} {url} (host {host}): not checked in check mode, its credentials or CA are not on the host yet")
            results.append(result)
    refused = [r for r in results if r["policy"] == "enforce" and r["conformant"] is False]
    return {"results": results, "refused": refused}


def _read_text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
