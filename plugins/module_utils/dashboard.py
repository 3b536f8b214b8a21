# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Grafana dashboard JSON: parse, validate, normalise and compare (no Ansible imports)."""

from __future__ import annotations

import hashlib
import json
import os
import re

UID_MAX = 40
UID_OK = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
FOLDER_OK = re.compile(r"^[^/\\\0]{1,100}$")
VOLATILE = ("id", "version", "iteration")


class DashboardError(ValueError):
    """Not a usable dashboard; the message names the problem and where."""


def parse(text, source):
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DashboardError(f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    return doc


def _slug(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def derive_uid(title, folder=""):
    """Stable uid from folder and title: readable prefix plus a short hash."""
    digest = hashlib.sha256(f"{folder}/{title}".encode()).hexdigest()[:8]
    return f"{_slug(title)[:UID_MAX - 9]}-{digest}".lstrip("-")


def _point_datasource(node, ds_uid):
    """Point every Prometheus datasource reference (object, name or ${DS_*}) at DS_UID."""
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if key == "datasource":
                if isinstance(value, str) and (value.startswith("${") or value.lower().startswith("prometheus")):
                    node[key] = {"type": "prometheus", "uid": ds_uid}
                elif isinstance(value, dict) and value.get("type") == "prometheus":
                    node[key] = {"type": "prometheus", "uid": ds_uid}
            else:
                _point_datasource(value, ds_uid)
    elif isinstance(node, list):
        for item in node:
            _point_datasource(item, ds_uid)


def normalise(doc, source, datasource_uid=None, folder=""):
    """Validated copy of DOC ready for provisioning (no id/version, stable uid)."""
    if isinstance(doc, dict) and "dashboard" in doc and isinstance(doc["dashboard"], dict) and "title" not in doc:
        doc = doc["dashboard"]  # the API export shape {"dashboard": {...}, "meta": {...}}
    if not isinstance(doc, dict):
        raise DashboardError(f"{source}: a dashboard is a JSON object, got {type(doc).__name__}")
    title = doc.get("title")
    if not isinstance(title, str) or not title.strip():
        raise DashboardError(f"{source}: missing 'title' (a non-empty string)")
    if not isinstance(doc.get("panels"), list):
        raise DashboardError(f"{source}: missing 'panels' (a list); is this a dashboard?")
    out = json.loads(json.dumps(doc))  # deep copy, JSON types only
    for key in VOLATILE:
        out.pop(key, None)
    uid = out.get("uid") or derive_uid(title, folder)
    if not isinstance(uid, str) or not UID_OK.match(uid):
        raise DashboardError(f"{source}: uid {uid!r} must be 1-{UID_MAX} letters, digits, '-' or '_'")
    out["uid"] = uid
    if datasource_uid:
        _point_datasource(out, datasource_uid)
    return out


def render(doc):
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dashboard_path(directory, folder, uid):
    if folder and not FOLDER_OK.match(folder):
        raise DashboardError(f"folder {folder!r} must not contain '/' or '\\'")
    return os.path.join(directory, folder, f"{uid}.json") if folder else os.path.join(directory, f"{uid}.json")


def same(existing_text, wanted):
    """Semantic equality: key order and formatting do not count; corrupt files differ."""
    if existing_text is None:
        return False
    try:
        return json.loads(existing_text) == wanted
    except ValueError:
        return False


# ---- the grafana_dashboard module's work: many dashboards in one call ----
def resolve(item, where, directory, datasource_uid=None, read=None):
    """One request {folder, dashboard|json|src, uid, state} -> (path, uid, wanted or None)."""
    folder = item.get("folder") or ""
    doc, source = None, where
    if item.get("dashboard") is not None:
        doc = item["dashboard"]
    elif item.get("json") is not None:
        doc = parse(item["json"], f"{where}.json")
    elif item.get("src"):
        text = read(item["src"]) if read else None
        if text is None:
            raise DashboardError(f"{where}.src: {item['src']} does not exist")
        doc, source = parse(text, item["src"]), item["src"]
    if item.get("state", "present") == "absent":
        uid = item.get("uid") or (normalise(doc, source, None, folder)["uid"] if doc is not None else None)
        if not uid:
            raise DashboardError(f"{where}: state=absent needs uid or the dashboard")
        return dashboard_path(directory, folder, uid), uid, None
    if doc is None:
        raise DashboardError(f"{where}: give one of dashboard, json or src")
    if item.get("uid"):
        doc = dict(doc, uid=item["uid"])
    wanted = normalise(doc, source, datasource_uid, folder)
    return dashboard_path(directory, folder, wanted["uid"]), wanted["uid"], wanted


def managed_files(directory):
    """Dashboard files in DIRECTORY and its folder subdirectories."""
    found = []
    for root, dirs, files in os.walk(directory):
        if root != directory:
            dirs[:] = []  # folders are one level deep
        found.extend(os.path.join(root, f) for f in files if f.endswith(".json"))
    return sorted(found)
