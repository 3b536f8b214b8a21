"""Checks for what Grafana's provisioning reads, as Grafana applies them when it loads the files.

Known keys are those of Grafana's provisioning format, version 1 (data sources and dashboard
providers). Grafana ignores a key it does not know, so a typo there silently does nothing:
here it is an error. Each function returns a list of errors naming file and path.
"""

from __future__ import annotations

import re

DATASOURCE_FILE_KEYS = {"apiVersion", "datasources", "deleteDatasources", "prune"}
DATASOURCE_KEYS = {"orgId", "version", "name", "type", "access", "url", "user", "database", "basicAuth",
                   "basicAuthUser", "withCredentials", "isDefault", "jsonData", "secureJsonData", "editable", "uid"}
DELETE_KEYS = {"name", "orgId", "uid"}
PROVIDER_FILE_KEYS = {"apiVersion", "providers"}
PROVIDER_KEYS = {"name", "type", "orgId", "folder", "folderUid", "editable", "options", "disableDeletion",
                 "updateIntervalSeconds", "allowUiUpdates"}
FILE_OPTIONS = {"path", "foldersFromFilesStructure"}
UID_OK = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
# Data sources every Grafana has without provisioning (the built-in annotation source).
BUILT_IN = {("grafana", "-- Grafana --"), ("datasource", "grafana")}


def _unknown(obj, known, where):
    if not isinstance(obj, dict):
        return [f"{where}: must be a mapping, got {type(obj).__name__}"]
    return [f"{where}.{key}: unknown key (known: {', '.join(sorted(known))})" for key in obj if key not in known]


def check_datasources(doc, where="datasources.yml"):
    errors = _unknown(doc, DATASOURCE_FILE_KEYS, where)
    if errors and not isinstance(doc, dict):
        return errors
    if doc.get("apiVersion") != 1:
        errors.append(f"{where}.apiVersion: must be 1, got {doc.get('apiVersion')!r}")
    defaults, uids = {}, {}
    for i, ds in enumerate(doc.get("datasources") or []):
        here = f"{where}.datasources[{i}]"
        errors += _unknown(ds, DATASOURCE_KEYS, here)
        if not isinstance(ds, dict):
            continue
        for key in ("name", "type"):
            if not isinstance(ds.get(key), str) or not ds[key]:
                errors.append(f"{here}.{key}: required (a non-empty string)")
        if ds.get("access", "proxy") not in ("proxy", "direct"):
            errors.append(f"{here}.access: must be proxy or direct, got {ds['access']!r}")
        uid = ds.get("uid")
        if uid is not None and (not isinstance(uid, str) or not UID_OK.match(uid)):
            errors.append(f"{here}.uid: {uid!r} must be 1-40 letters, digits, '-' or '_'")
        org = ds.get("orgId", 1)
        if uid in uids.setdefault(org, set()):
            errors.append(f"{here}.uid: {uid!r} is used twice in org {org}")
        uids[org].add(uid)
        if ds.get("isDefault") is True:
            defaults.setdefault(org, []).append(ds.get("name"))
    for org, names in defaults.items():
        if len(names) > 1:
            errors.append(f"{where}: only one default data source per organisation; org {org} has {names}")
    for i, d in enumerate(doc.get("deleteDatasources") or []):
        errors += _unknown(d, DELETE_KEYS, f"{where}.deleteDatasources[{i}]")
    return errors


def check_providers(doc, created_dirs, where="dashboard-provider.yml"):
    errors = _unknown(doc, PROVIDER_FILE_KEYS, where)
    if errors and not isinstance(doc, dict):
        return errors
    if doc.get("apiVersion") != 1:
        errors.append(f"{where}.apiVersion: must be 1, got {doc.get('apiVersion')!r}")
    names = set()
    for i, p in enumerate(doc.get("providers") or []):
        here = f"{where}.providers[{i}]"
        errors += _unknown(p, PROVIDER_KEYS, here)
        if not isinstance(p, dict):
            continue
        if p.get("name") in names:
            errors.append(f"{here}.name: {p.get('name')!r} is used twice")
        names.add(p.get("name"))
        if p.get("type", "file") != "file":
            errors.append(f"{here}.type: only 'file' providers exist, got {p['type']!r}")
        options = p.get("options") or {}
        errors += _unknown(options, FILE_OPTIONS, f"{here}.options")
        path = options.get("path") if isinstance(options, dict) else None
        if not path:
            errors.append(f"{here}.options.path: required")
        elif str(path).rstrip("/") not in created_dirs:
            errors.append(f"{here}.options.path: {path} is not a directory the role creates")
        if options.get("foldersFromFilesStructure") and (p.get("folder") or p.get("folderUid")):
            errors.append(f"{here}: foldersFromFilesStructure cannot be combined with folder or folderUid")
    return errors


def _references(node, path):
    """(path, datasource reference) for every 'datasource' key in a dashboard."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield f"{path}.datasource", value
            else:
                yield from _references(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _references(item, f"{path}[{i}]")


def check_dashboards(dashboards, datasources_doc):
    """Every datasource reference resolves to a provisioned uid of the same type; uids unique, <= 40."""
    provisioned = {(ds.get("type"), ds.get("uid")) for ds in datasources_doc.get("datasources") or []}
    errors, seen = [], {}
    for name, dash in sorted(dashboards.items()):
        uid = dash.get("uid")
        if not isinstance(uid, str) or not UID_OK.match(uid):
            errors.append(f"{name}.uid: {uid!r} must be 1-40 letters, digits, '-' or '_'")
        elif uid in seen:
            errors.append(f"{name}.uid: {uid!r} is also the uid of {seen[uid]}")
        seen.setdefault(uid, name)
        for path, ref in _references(dash, name):
            if not isinstance(ref, dict) or set(ref) - {"type", "uid"}:
                errors.append(f"{path}: {ref!r} is not a {{type, uid}} reference")
            elif (ref.get("type"), ref.get("uid")) not in provisioned | BUILT_IN:
                errors.append(f"{path}: {ref!r} is not a provisioned data source "
                              f"(provisioned: {sorted(provisioned)})")
    return errors
