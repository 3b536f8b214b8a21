# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Prometheus file_sd target files: validation, planning and rendering.

Pure functions (no Ansible imports) so unit tests reach every branch.
A job's targets live in one file, DIRECTORY/<job>.json, in Prometheus's
file_sd JSON format: a list of {"targets": [...], "labels": {...}} groups.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
JOB_NAME = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,62}))*\.?$")
# Reserved labels a target may set: Prometheus reads these before relabelling.
ALLOWED_RESERVED = ("__metrics_path__", "__scheme__", "__scrape_interval__", "__scrape_timeout__")
SCHEMES = ("http", "https")


class TargetError(ValueError):
    """Bad input; the message names the item and the value."""


def validate_job(job, where="job"):
    if not isinstance(job, str) or not JOB_NAME.match(job):
        raise TargetError(f"{where}: {job!r} is not a valid job name "
                          "(letters, digits, '_', '.', '-'; it is also the file name)")
    return job


def normalize_host(host, where):
    if not isinstance(host, str) or not host:
        raise TargetError(f"{where}: host {host!r} must be a non-empty string")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        addr = ipaddress.ip_address(bare)
    except ValueError:
        if not HOSTNAME.match(host):
            raise TargetError(f"{where}: host {host!r} is neither an IP address nor a DNS name") from None
        return host.lower()
    return f"[{addr.compressed}]" if addr.version == 6 else addr.compressed


def normalize_port(port, where):
    if isinstance(port, bool):
        raise TargetError(f"{where}: port {port!r} is not a number")
    try:
        value = int(str(port), 10)
    except ValueError:
        raise TargetError(f"{where}: port {port!r} is not a number") from None
    if not 1 <= value <= 65535:
        raise TargetError(f"{where}: port {value} is outside 1-65535")
    return value


def normalize_labels(labels, where):
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise TargetError(f"{where}: labels must be a mapping, got {type(labels).__name__}")
    out = {}
    for name, value in labels.items():
        if not isinstance(name, str) or not LABEL_NAME.match(name):
            raise TargetError(f"{where}: label name {name!r} does not match {LABEL_NAME.pattern}")
        if name.startswith("__") and name not in ALLOWED_RESERVED and not name.startswith("__param_"):
            raise TargetError(f"{where}: label {name!r} is reserved by Prometheus "
                              f"(allowed: {', '.join(ALLOWED_RESERVED)}, __param_*)")
        if value is None or isinstance(value, (dict, list)):
            raise TargetError(f"{where}: label {name!r} must have a scalar value, got {value!r}")
        out[name] = str(value)
    return out


def normalize_target(item, where):
    """One target (a mapping or a 'host:port' string) -> (address, labels)."""
    if isinstance(item, str):
        host, sep, port = item.rpartition(":")
        if not sep:
            raise TargetError(f"{where}: {item!r} must be 'host:port'")
        item = {"host": host, "port": port}
    if not isinstance(item, dict):
        raise TargetError(f"{where}: a target must be a mapping or 'host:port', got {item!r}")
    unknown = set(item) - {"host", "port", "labels", "metrics_path", "scheme"}
    if unknown:
        raise TargetError(f"{where}: unknown keys {sorted(unknown)}")
    if "host" not in item or "port" not in item:
        raise TargetError(f"{where}: 'host' and 'port' are required")
    host = normalize_host(item["host"], where)
    port = normalize_port(item["port"], where)
    labels = normalize_labels(item.get("labels"), where)
    path = item.get("metrics_path")
    if path is not None:
        if not isinstance(path, str) or not path.startswith("/"):
            raise TargetError(f"{where}: metrics_path {path!r} must start with '/'")
        labels["__metrics_path__"] = path
    scheme = item.get("scheme")
    if scheme is not None:
        if scheme not in SCHEMES:
            raise TargetError(f"{where}: scheme {scheme!r} must be one of {', '.join(SCHEMES)}")
        labels["__scheme__"] = scheme
    return f"{host}:{port}", labels


def normalize_targets(items, where="targets"):
    """Validated {address: labels}; a duplicate address is an error."""
    if not isinstance(items, list):
        raise TargetError(f"{where}: must be a list")
    out = {}
    for index, item in enumerate(items):
        here = f"{where}[{index}]"
        address, labels = normalize_target(item, here)
        if address in out:
            raise TargetError(f"{here}: duplicate target {address}")
        out[address] = labels
    return out


def parse_file(text, path):
    """Existing file text -> {address: labels}. Corrupt content is an error."""
    if text is None or text.strip() == "":
        return {}
    try:
        groups = json.loads(text)
    except ValueError as exc:
        raise TargetError(f"{path}: not valid JSON ({exc}); refusing to overwrite it") from None
    if not isinstance(groups, list):
        raise TargetError(f"{path}: expected a list of target groups; refusing to overwrite it")
    out = {}
    for index, group in enumerate(groups):
        if not isinstance(group, dict) or not isinstance(group.get("targets"), list):
            raise TargetError(f"{path}: group {index} has no 'targets' list; refusing to overwrite it")
        labels = group.get("labels") or {}
        if not isinstance(labels, dict):
            raise TargetError(f"{path}: group {index} labels are not a mapping")
        for address in group["targets"]:
            out[str(address)] = {str(k): str(v) for k, v in labels.items()}
    return out


def render(targets):
    """{address: labels} -> canonical file text (targets with equal labels share a group)."""
    groups = {}
    for address, labels in targets.items():
        key = json.dumps(labels, sort_keys=True)
        groups.setdefault(key, []).append(address)
    doc = [{"targets": sorted(addrs), "labels": json.loads(key)}
           for key, addrs in sorted(groups.items(), key=lambda kv: sorted(kv[1])[0])]
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def plan(current, wanted, state="present", exclusive=False):
    """Merge WANTED into CURRENT. Returns (result, added, removed, unchanged, updated)."""
    result = dict(current)
    added, removed, unchanged, updated = [], [], [], []
    if state == "absent":
        for address in wanted:
            if address in result:
                del result[address]
                removed.append(address)
        return result, added, sorted(removed), unchanged, updated
    for address, labels in wanted.items():
        if address not in current:
            added.append(address)
        elif current[address] != labels:
            updated.append(address)
        else:
            unchanged.append(address)
        result[address] = labels
    if exclusive:
        for address in current:
            if address not in wanted:
                del result[address]
                removed.append(address)
    return result, sorted(added), sorted(removed), sorted(unchanged), sorted(updated)


def job_path(directory, job):
    return os.path.join(directory, f"{job}.json")


def jobs_in(directory):
    """Job names that have a file in DIRECTORY."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(n[:-5] for n in names if n.endswith(".json") and not n.startswith("."))
