# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Prometheus file_sd target files: validation, planning and rendering.

Pure functions (no Ansible imports) so unit tests reach every branch.
A job's targets live in one file, DIRECTORY/<job>.json, in Prometheus's
file_sd JSON format: a list of {"targets": [...], "labels": {...}} groups.

A target is identified by its address, its __metrics_path__ and its __param_* labels:
the same host:port scraped on two paths (or with two queries) is two targets for
Prometheus, and two groups in the file. Other labels are attributes of the target.
"""

from __future__ import annotations

import json
import os
import urllib.parse

from ansible_collections.limen.monitoring.plugins.module_utils import validate
from ansible_collections.limen.monitoring.plugins.module_utils.validate import ValidationError

TargetError = ValidationError
PARAM = "__param_"
# Reserved labels a target may set: Prometheus reads these before relabelling.
ALLOWED_RESERVED = ("__metrics_path__", "__scheme__", "__scrape_interval__", "__scrape_timeout__")
SCHEMES = ("http", "https")
TARGET_KEYS = {"host", "port", "labels", "metrics_path", "scheme"}
# Jobs this module wrote in a directory; prune never touches any other file. Not named
# *.json: a Prometheus file_sd glob over the directory would read it as a target file.
MANIFEST = ".limen-targets.manifest"


def validate_job(job, where="job"):
    return validate.job_name(job, where)


def _set(labels, name, value, where):
    if name in labels and labels[name] != value:
        raise TargetError(f"{where}: {name} is given twice with different values "
                          f"({labels[name]!r} and {value!r})")
    labels[name] = value


def _path_into(labels, path, where):
    """metrics_path (maybe with a query) -> __metrics_path__ and __param_* labels."""
    bare, params = validate.metrics_path(path, where)
    _set(labels, "__metrics_path__", bare, where)
    for name, value in params.items():
        _set(labels, PARAM + name, value, where)


def normalize_labels(labels, where):
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise TargetError(f"{where}: labels must be a mapping, got {type(labels).__name__}")
    out = {}
    path = None
    for name, value in labels.items():
        here = f"{where}.labels"
        validate.label_name(name, here)
        if name.startswith(PARAM) and len(name) > len(PARAM):
            out[name] = validate.label_value(value, here, name)
        elif name.startswith("__") and name not in ALLOWED_RESERVED:
            raise TargetError(f"{here}: label {name!r} is reserved by Prometheus "
                              f"(allowed: {', '.join(ALLOWED_RESERVED)}, __param_<name>)")
        elif name == "__metrics_path__":
            path = value
        elif name == "__scheme__":
            out[name] = _scheme(value, here)
        elif name in ("__scrape_interval__", "__scrape_timeout__"):
            out[name] = validate.duration(value, here, name)
        else:
            out[name] = validate.label_value(value, here, name)
    if path is not None:
        _path_into(out, path, f"{where}.labels.__metrics_path__")
    return out


def _scheme(value, where):
    if value not in SCHEMES:
        raise TargetError(f"{where}: scheme {value!r} must be one of {', '.join(SCHEMES)}")
    return value


def target_key(address, labels):
    """What makes a target distinct for Prometheus: address, metrics path, URL parameters."""
    params = tuple(sorted((k[len(PARAM):], v) for k, v in labels.items() if k.startswith(PARAM)))
    return (address, labels.get("__metrics_path__", ""), params)


def display(key):
    """'host:port/path?a=1' for messages and results."""
    address, path, params = key
    query = urllib.parse.urlencode(params)
    return f"{address}{path}" + (f"?{query}" if query else "")


def normalize_target(item, where):
    """One target (a mapping or a 'host:port' string) -> (key, labels)."""
    if isinstance(item, str):
        host, port = validate.address(item, where)
        return target_key(f"{host}:{port}", {}), {}
    if not isinstance(item, dict):
        raise TargetError(f"{where}: a target must be a mapping or 'host:port', got {item!r}")
    unknown = set(item) - TARGET_KEYS
    if unknown:
        raise TargetError(f"{where}: unknown keys {sorted(map(str, unknown))} "
                          f"(allowed: {', '.join(sorted(TARGET_KEYS))})")
    if "host" not in item or "port" not in item:
        raise TargetError(f"{where}: 'host' and 'port' are required")
    host = validate.host(item["host"], f"{where}.host")
    port = validate.port(item["port"], f"{where}.port")
    labels = normalize_labels(item.get("labels"), where)
    if item.get("metrics_path") is not None:
        _path_into(labels, item["metrics_path"], f"{where}.metrics_path")
    if item.get("scheme") is not None:
        _set(labels, "__scheme__", _scheme(item["scheme"], f"{where}.scheme"), where)
    address = f"{host}:{port}"
    return target_key(address, labels), labels


def normalize_targets(items, where="targets"):
    """Validated {key: labels}; the same target twice is an error."""
    if not isinstance(items, list):
        raise TargetError(f"{where}: must be a list, got {type(items).__name__}")
    out = {}
    for index, item in enumerate(items):
        here = f"{where}[{index}]"
        key, labels = normalize_target(item, here)
        if key in out:
            raise TargetError(f"{here}: duplicate target {display(key)}")
        out[key] = labels
    return out


def _loads(text, path, what):
    try:
        return json.loads(text)
    except RecursionError:
        raise TargetError(f"{path}: JSON nested too deeply to be {what}; refusing to change it") from None
    except ValueError as exc:
        raise TargetError(f"{path}: not valid JSON ({exc}); refusing to change it") from None


def parse_file(text, path):
    """Existing file text -> {key: labels}. Anything but file_sd JSON is an error."""
    if text is None or text.strip() == "":
        return {}
    groups = _loads(text, path, "a file_sd file")
    if not isinstance(groups, list):
        raise TargetError(f"{path}: expected a list of target groups; refusing to change it")
    out = {}
    for index, group in enumerate(groups):
        if not isinstance(group, dict) or not isinstance(group.get("targets"), list):
            raise TargetError(f"{path}: group {index} has no 'targets' list; refusing to change it")
        labels = group.get("labels") or {}
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise TargetError(f"{path}: group {index} labels are not a mapping of strings; "
                              "refusing to change it")
        for address in group["targets"]:
            if not isinstance(address, str):
                raise TargetError(f"{path}: group {index} target {address!r} is not a string; "
                                  "refusing to change it")
            out[target_key(address, labels)] = dict(labels)
    return out


def render(targets):
    """{key: labels} -> canonical file text (targets with equal labels share a group)."""
    groups = {}
    for (address, _path, _params), labels in targets.items():
        groups.setdefault(json.dumps(labels, sort_keys=True), []).append(address)
    doc = [{"targets": sorted(addrs), "labels": json.loads(key)}
           for key, addrs in sorted(groups.items(), key=lambda kv: (sorted(kv[1])[0], kv[0]))]
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def is_canonical(text, path):
    """True when TEXT is exactly what render() writes: a file this module wrote."""
    try:
        return text is not None and text == render(parse_file(text, path))
    except TargetError:
        return False


def parse_manifest(text, path):
    """Manifest text -> set of job names, or None when there is no manifest."""
    if text is None:
        return None
    doc = _loads(text, path, "the module's list of owned jobs")
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    if not isinstance(jobs, list) or not all(validate.full_match(validate.JOB_NAME, j) for j in jobs):
        raise TargetError(f"{path}: not the list of jobs this module owns ({{\"jobs\": [...]}}); "
                          "fix or remove it")
    return set(jobs)


def render_manifest(jobs):
    return json.dumps({"jobs": sorted(jobs), "owner": "limen.monitoring.prometheus_targets"},
                      indent=2, sort_keys=True) + "\n"


def plan(current, wanted, state="present", exclusive=False):
    """Merge WANTED into CURRENT. Returns (result, added, removed, unchanged, updated) keys."""
    result = dict(current)
    added, removed, unchanged, updated = [], [], [], []
    if state == "absent":
        for key in wanted:
            if key in result:
                del result[key]
                removed.append(key)
        return result, added, sorted(removed), unchanged, updated
    for key, labels in wanted.items():
        if key not in current:
            added.append(key)
        elif current[key] != labels:
            updated.append(key)
        else:
            unchanged.append(key)
        result[key] = labels
    if exclusive:
        for key in current:
            if key not in wanted:
                del result[key]
                removed.append(key)
    return result, sorted(added), sorted(removed), sorted(unchanged), sorted(updated)


def job_path(directory, job):
    return os.path.join(directory, f"{job}.json")


def jobs_in(directory):
    """Job names that have a file in DIRECTORY."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(n[:-5] for n in names
                  if n.endswith(".json") and validate.full_match(validate.JOB_NAME, n[:-5]))
