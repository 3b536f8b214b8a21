# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""The grafana_dashboard module's work, without Ansible: validate every request, read the
directory, then (only when something changes, never in check mode) write under a lock."""

from __future__ import annotations

import contextlib
import json
import os

from ansible_collections.limen.monitoring.plugins.module_utils.atomic_file import (
    locked,
    octal_mode,
    write_atomic,
)
from ansible_collections.limen.monitoring.plugins.module_utils.dashboard import (
    LOCK_NAME,
    DashboardError,
    managed_files,
    render,
    resolve,
    same,
)
from ansible_collections.limen.monitoring.plugins.module_utils.safe_names import resolves_inside

__all__ = ["DashboardError", "sync"]

ITEM_KEYS = ("folder", "dashboard", "json", "src", "uid", "state")


def _label(request):
    return request["where"] or "dashboard"


def _blocker(path):
    """The first ancestor of PATH that exists but is not a directory."""
    parent = os.path.dirname(path)
    while parent and parent != os.path.dirname(parent):
        if os.path.lexists(parent) and not os.path.isdir(parent):
            return parent
        parent = os.path.dirname(parent)
    return None


def _os_error(exc, action, path):
    """A DashboardError naming PATH for an OSError met while ACTION-ing it."""
    blocker = _blocker(path) if isinstance(exc, (NotADirectoryError, FileExistsError)) else None
    if blocker:
        return DashboardError(f"cannot {action} {path}: {blocker} is a file where a directory should be")
    return DashboardError(f"cannot {action} {path}: {exc.strerror or exc}")


def _read(directory, path):
    """Text of an existing dashboard file (None when missing), never through a link leading outside."""
    if not resolves_inside(directory, path):
        return f"(symlink to {os.path.realpath(path)})\n"
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", errors="replace")  # not UTF-8: differs, gets rewritten
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise DashboardError(f"{path} is a directory where a dashboard file should be") from None
    except OSError as exc:
        raise _os_error(exc, "read", path) from None


def plan(params):
    """Every request validated, in order; raises DashboardError before anything is read or written."""
    directory = params["directory"]
    if not isinstance(directory, str) or not os.path.isabs(directory):
        raise DashboardError(f"directory: {directory!r} must be an absolute path")
    many = params.get("dashboards") is not None
    items = params["dashboards"] if many else [{k: params.get(k) for k in ITEM_KEYS}]
    requests, by_path, present_uid = [], {}, {}
    for index, item in enumerate(items):
        r = resolve(item, f"dashboards[{index}]" if many else "", directory, params.get("datasource_uid"))
        if r["path"] in by_path:
            raise DashboardError(f"{_label(r)}: uid {r['uid']!r} in folder {r['folder']!r} is also given by "
                                 f"{_label(by_path[r['path']])}")
        by_path[r["path"]] = r
        if r["wanted"] is not None:
            other = present_uid.setdefault(r["uid"], r)
            if other is not r:
                raise DashboardError(f"{_label(r)}: uid {r['uid']!r} in folder {r['folder']!r} is also given by "
                                     f"{_label(other)} in folder {other['folder']!r}; uids are global in Grafana, "
                                     "so only one of them would load")
        requests.append(r)
    return requests


def _claimed_uids(path, text):
    """uids the file at PATH claims: its name, and the uid inside it when it is readable JSON."""
    uids = {os.path.basename(path)[:-len(".json")]}
    with contextlib.suppress(ValueError, RecursionError, AttributeError):
        uid = json.loads(text).get("uid")
        if isinstance(uid, str):
            uids.add(uid)
    return uids


def _disk_plan(directory, requests, prune):
    """Read the directory once: [(request, before, after_text or None, changed)] and {pruned path: text}."""
    on_disk = {path: _read(directory, path) for path in managed_files(directory)}
    listed = {r["path"] for r in requests}
    pruned = {p: text for p, text in on_disk.items() if p not in listed} if prune else {}
    going = set(pruned) | {r["path"] for r in requests if r["wanted"] is None}
    claims = {p: _claimed_uids(p, text or "") for p, text in on_disk.items() if p not in going}
    for r in requests:
        if r["wanted"] is None:
            continue
        for other, uids in claims.items():
            if other != r["path"] and r["uid"] in uids:
                raise DashboardError(f"{_label(r)}: uid {r['uid']!r} (folder {r['folder']!r}) is already "
                                     f"provisioned in {other}; uids are global in Grafana, so only one would "
                                     "load. Remove that one first (state=absent, or prune).")
    steps = []
    for r in requests:
        before = on_disk[r["path"]] if r["path"] in on_disk else _read(directory, r["path"])
        if r["wanted"] is None:
            steps.append((r, before, None, before is not None))
        else:
            changed = not same(before, r["wanted"])
            steps.append((r, before, render(r["wanted"]) if changed else before, changed))
    return steps, pruned


def _apply(steps, pruned, mode):
    for r, _before, after, changed in steps:
        if not changed:
            continue
        path = r["path"]
        try:
            if after is None:
                os.unlink(path)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                write_atomic(path, after, mode)
        except OSError as exc:
            raise _os_error(exc, "remove" if after is None else "write", path) from None
    for path in pruned:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _os_error(exc, "remove", path) from None


def sync(params, check_mode=False, want_diff=False, set_attributes=None):
    """Make DIRECTORY hold the requested dashboards. SET_ATTRIBUTES(path, changed) -> changed applies
    owner/group/mode (the module's common file arguments) and honours check mode itself."""
    directory = params["directory"]
    requests = plan(params)
    prune = bool(params.get("prune")) and params.get("dashboards") is not None
    steps, pruned = _disk_plan(directory, requests, prune)
    if not check_mode and (pruned or any(step[3] for step in steps)):
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(locked(directory, LOCK_NAME))
            except OSError as exc:
                raise _os_error(exc, "lock", os.path.join(directory, LOCK_NAME)) from None
            steps, pruned = _disk_plan(directory, requests, prune)  # again, now that no one else writes
            _apply(steps, pruned, octal_mode(params.get("mode")))
    result = {"changed": False, "dashboards": [], "removed": [], "unresolved": [], "warnings": [], "diff": []}
    for r, before, after, changed in steps:
        path = r["path"]
        if r["wanted"] is None:
            if changed:
                result["removed"].append(path)
        elif set_attributes and os.path.lexists(path):
            changed = set_attributes(path, changed)
        result["changed"] |= changed
        result["dashboards"].append({"uid": r["uid"], "folder": r["folder"], "path": path, "changed": changed})
        if changed and want_diff:
            result["diff"].append({"before": before or "", "after": after or "", "before_header": path,
                                   "after_header": path if after is not None else "(deleted)"})
        if r["unresolved"]:
            result["unresolved"].append({"uid": r["uid"], "path": path, "inputs": r["unresolved"]})
            result["warnings"].append(_unresolved_warning(r, params.get("datasource_uid")))
    for path, before in pruned.items():
        result["removed"].append(path)
        result["changed"] = True
        if want_diff:
            result["diff"].append({"before": before or "", "after": "", "before_header": path,
                                   "after_header": "(deleted)"})
    return result


def _unresolved_warning(request, datasource_uid):
    names = ", ".join(f"${{{i['input']}}} ({i['type']})" for i in request["unresolved"])
    hint = "" if datasource_uid else " Give datasource_uid to fill in its Prometheus datasource inputs."
    return (f"{_label(request)}: dashboard {request['uid']!r} is an export for sharing and still holds {names}; "
            f"Grafana's file provisioning does not fill these in, so the panels using them show no data.{hint}")
