# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Grafana dashboard JSON: parse, validate, normalise and compare (no Ansible imports)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata

from ansible_collections.limen.monitoring.plugins.module_utils.atomic_file import UnsafeFile, read_text
from ansible_collections.limen.monitoring.plugins.module_utils.safe_names import (
    OutsideDirectory,
    bad_character,
    component_problem,
    full_match,
    inside,
)

UID_MAX = 40
# Grafana's own uid rule; full-matched, so "abc\n" is refused (a bare `$` would let it pass).
UID_OK = re.compile(r"[a-zA-Z0-9_-]{1,40}")
FOLDER_MAX = 100
LOCK_NAME = ".limen.lock"  # atomic_file.locked() takes it in the directory: no folder may have it
VOLATILE = ("id", "version", "iteration")
# ${NAME}: how a dashboard exported "for sharing externally" refers to its __inputs.
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Placeholder names Grafana's export gives datasource and constant inputs.
IMPORT_PREFIXES = ("DS_", "VAR_")


class DashboardError(ValueError):
    """Not a usable dashboard; the message names the problem and where."""


def _no_constant(name):
    raise ValueError(f"{name} is not JSON (Grafana cannot read it)")


def parse(text, source):
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise DashboardError(f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:  # NaN, Infinity
        raise DashboardError(f"{source}: {exc}") from None
    except RecursionError:
        raise DashboardError(f"{source}: JSON nested too deeply") from None


def _field(where, name):
    return f"{where}.{name}" if where else name


def validate_uid(uid, field):
    if not full_match(UID_OK, uid):
        raise DashboardError(f"{field}: uid {uid!r} must be 1-{UID_MAX} letters, digits, '-' or '_' "
                             "(Grafana's uid rule; it is also the file name)")
    return uid


def validate_folder(folder, field):
    problem = component_problem(folder, FOLDER_MAX)
    if folder == LOCK_NAME:
        problem = "is the name of the module's lock file"
    if not problem and isinstance(folder, str) and unicodedata.normalize("NFC", folder) != folder:
        # Café typed on two systems can be two byte strings that look alike: two folders in
        # Grafana that nobody can tell apart. One spelling (NFC, what most systems type) only.
        problem = (f"is not in Unicode NFC form; write it as {unicodedata.normalize('NFC', folder)!r} "
                   "(the same characters, composed)")
    if problem:
        raise DashboardError(f"{field}: folder {folder!r} {problem} (it is the Grafana folder and a directory name)")
    return folder


def validate_title(title, source):
    if not isinstance(title, str) or not title.strip():
        raise DashboardError(f"{source}: missing 'title' (a non-empty string), got title {title!r}")
    found = bad_character(title)
    if found:
        raise DashboardError(f"{source}: title {title!r} contains {found}")
    return title


def _slug(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def derive_uid(title, folder=""):
    """Stable uid from folder and title: readable prefix plus a short hash."""
    digest = hashlib.sha256(f"{folder}/{title}".encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{_slug(title)[:UID_MAX - 9]}-{digest}".lstrip("-")


# ---- dashboards exported for sharing: __inputs and ${DS_...} placeholders ----
def _template_variables(doc):
    templating = doc.get("templating")
    entries = templating.get("list") if isinstance(templating, dict) else None
    return {v["name"] for v in entries or [] if isinstance(v, dict) and isinstance(v.get("name"), str)}


def _declared_inputs(doc):
    inputs = doc.get("__inputs")
    return {i["name"]: i for i in inputs if isinstance(i, dict) and isinstance(i.get("name"), str)} \
        if isinstance(inputs, list) else {}


def _is_prometheus_input(declared):
    return declared.get("type") == "datasource" and declared.get("pluginId") == "prometheus"


def _walk_strings(node, visit):
    """Replace every string S in NODE (values, not keys) by visit(S)."""
    if isinstance(node, dict):
        for key, value in node.items():
            node[key] = visit(value) if isinstance(value, str) else _walk_strings(value, visit)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            node[index] = visit(value) if isinstance(value, str) else _walk_strings(value, visit)
    return node


def _datasource_ref(value, ds_uid, prometheus_inputs):
    """The new value of a `datasource` field pointing at Prometheus, or None to leave it."""
    if isinstance(value, str):
        placeholder = PLACEHOLDER.fullmatch(value)
        if placeholder:
            return {"type": "prometheus", "uid": ds_uid} if placeholder.group(1) in prometheus_inputs else None
        return {"type": "prometheus", "uid": ds_uid} if value.lower().startswith("prometheus") else None
    if isinstance(value, dict):
        if value.get("type") == "prometheus":
            return {"type": "prometheus", "uid": ds_uid}
        uid = value.get("uid")
        placeholder = PLACEHOLDER.fullmatch(uid) if isinstance(uid, str) else None
        if placeholder and placeholder.group(1) in prometheus_inputs:
            return {"type": "prometheus", "uid": ds_uid}
    return None


def _point_datasource(node, ds_uid, prometheus_inputs):
    """Point every Prometheus datasource reference (object, name or declared ${DS_*}) at DS_UID."""
    if isinstance(node, dict):
        for key, value in list(node.items()):
            new = _datasource_ref(value, ds_uid, prometheus_inputs) if key == "datasource" else None
            if new is not None:
                node[key] = new
            else:
                _point_datasource(value, ds_uid, prometheus_inputs)
    elif isinstance(node, list):
        for item in node:
            _point_datasource(item, ds_uid, prometheus_inputs)


def _resolve_inputs(doc, ds_uid):
    """Fill in the Prometheus datasource inputs of a shared export; others stay as they are."""
    declared = _declared_inputs(doc)
    prometheus = {name for name, d in declared.items() if _is_prometheus_input(d)}
    _point_datasource(doc, ds_uid, prometheus)
    if prometheus:
        def fill(text):
            return PLACEHOLDER.sub(lambda m: ds_uid if m.group(1) in prometheus else m.group(0), text)
        body = {k: v for k, v in doc.items() if k != "__inputs"}
        _walk_strings(body, fill)
        doc.update(body)
        rest = [i for i in doc["__inputs"] if not (isinstance(i, dict) and i.get("name") in prometheus)]
        if rest:
            doc["__inputs"] = rest
        else:
            del doc["__inputs"]


def unresolved_inputs(doc):
    """[{input, type}] for every import placeholder still used in DOC (outside __inputs).

    A placeholder counts when __inputs declares it, or when its name looks like one of
    Grafana's export inputs (DS_*, VAR_*) and no template variable of the dashboard has it.
    """
    declared = _declared_inputs(doc)
    variables = _template_variables(doc)
    used = set()
    body = {k: v for k, v in doc.items() if k != "__inputs"}
    _walk_strings(body, lambda s: used.update(PLACEHOLDER.findall(s)) or s)  # returns S: changes nothing
    out = []
    for name in sorted(used):
        if name in declared:
            d = declared[name]
            kind = " ".join(str(d[k]) for k in ("type", "pluginId") if d.get(k)) or "input"
        elif name.startswith(IMPORT_PREFIXES) and name not in variables:
            kind = "not declared in __inputs"
        else:
            continue
        out.append({"input": name, "type": kind})
    return out


def normalise(doc, source, datasource_uid=None, folder=""):
    """Validated copy of DOC ready for provisioning (no id/version, stable uid)."""
    if isinstance(doc, dict) and "dashboard" in doc and isinstance(doc["dashboard"], dict) and "title" not in doc:
        doc = doc["dashboard"]  # the API export shape {"dashboard": {...}, "meta": {...}}
    if not isinstance(doc, dict):
        raise DashboardError(f"{source}: a dashboard is a JSON object, got {type(doc).__name__}")
    title = validate_title(doc.get("title"), source)
    if not isinstance(doc.get("panels"), list):
        raise DashboardError(f"{source}: missing 'panels' (a list); is this a dashboard?")
    try:
        out = json.loads(json.dumps(doc, allow_nan=False))  # deep copy, JSON types only
    except (TypeError, ValueError) as exc:
        raise DashboardError(f"{source}: not JSON data: {exc}") from None
    except RecursionError:
        raise DashboardError(f"{source}: nested too deeply") from None
    for key in VOLATILE:
        out.pop(key, None)
    uid = out.get("uid") or derive_uid(title, folder)
    out["uid"] = validate_uid(uid, source)
    if datasource_uid:
        _resolve_inputs(out, datasource_uid)
    return out


def render(doc):
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dashboard_path(directory, folder, uid, where=""):
    """DIRECTORY[/FOLDER]/UID.json, proven to stay inside DIRECTORY (symlinks included)."""
    if folder:
        validate_folder(folder, _field(where, "folder"))
    validate_uid(uid, _field(where, "uid"))
    try:
        return inside(directory, *([folder] if folder else []), f"{uid}.json")
    except OutsideDirectory as exc:
        raise DashboardError(f"{where or 'dashboard'}: folder {folder!r}, uid {uid!r}: {exc}") from None


def same(existing_text, wanted):
    """Semantic equality: key order and formatting do not count; corrupt files differ."""
    if existing_text is None:
        return False
    try:
        return json.loads(existing_text) == wanted
    except (ValueError, RecursionError):
        return False


def validate_datasource_uid(uid, field="datasource_uid"):
    """The datasource uid every Prometheus reference is pointed at: Grafana's uid rule, whole value."""
    if uid is not None and not full_match(UID_OK, uid):
        raise DashboardError(f"{field}: {uid!r} must be 1-{UID_MAX} letters, digits, '-' or '_' "
                             "(Grafana's uid rule; whitespace or a newline would point every panel at "
                             "a datasource that does not exist)")
    return uid


def read_src(path, field):
    """Text of a dashboard file on the managed host; every failure names the file.

    A FIFO or a device (/dev/zero) is refused before it is read, a file above
    atomic_file.READ_LIMIT after it; a symlink to a regular file is fine."""
    try:
        text = read_text(path, follow=True)
    except UnsafeFile as exc:
        raise DashboardError(f"{field}: {path} is {exc.what}, not a dashboard JSON file") from None
    except OSError as exc:
        raise DashboardError(f"{field}: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise DashboardError(f"{field}: {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                             f"at offset {exc.start})") from None
    if text is None:
        raise DashboardError(f"{field}: {path} does not exist")
    return text


# ---- one request of the grafana_dashboard module ----
def resolve(item, where, directory, datasource_uid=None, read=read_src):
    """One request {folder, dashboard|json|src, uid, state} -> dict(where, folder, uid, path,
    wanted (None for absent), unresolved)."""
    folder = item.get("folder")
    folder = "" if folder is None else folder
    if folder:
        validate_folder(folder, _field(where, "folder"))
    given_uid = item.get("uid")
    if given_uid is not None:
        validate_uid(given_uid, _field(where, "uid"))
    doc, source = None, where or "dashboard"
    if item.get("dashboard") is not None:
        doc, source = item["dashboard"], _field(where, "dashboard")
    elif item.get("json") is not None:
        source = _field(where, "json")
        doc = parse(item["json"], source)
    elif item.get("src"):
        doc, source = parse(read(item["src"], _field(where, "src")), item["src"]), item["src"]
    out = {"where": where, "folder": folder, "wanted": None, "unresolved": [], "title": None}
    if item.get("state", "present") == "absent":
        uid = given_uid or (normalise(doc, source, None, folder)["uid"] if doc is not None else None)
        if not uid:
            raise DashboardError(f"{where or 'dashboard'}: state=absent needs uid or the dashboard")
    else:
        if doc is None:
            raise DashboardError(f"{where or 'dashboard'}: give one of dashboard, json or src")
        if given_uid:
            doc = dict(doc, uid=given_uid)
        out["wanted"] = normalise(doc, source, datasource_uid, folder)
        out["unresolved"] = unresolved_inputs(out["wanted"])
        out["title"] = out["wanted"]["title"]
        uid = out["wanted"]["uid"]
    return dict(out, uid=uid, path=dashboard_path(directory, folder, uid, where))


def managed_files(directory):
    """Dashboard files in DIRECTORY and its folder subdirectories (symlinked folders are not entered)."""
    found = []
    for root, dirs, files in os.walk(directory):
        if root != directory:
            dirs[:] = []  # folders are one level deep
        found.extend(os.path.join(root, f) for f in files if f.endswith(".json"))
    return sorted(found)
