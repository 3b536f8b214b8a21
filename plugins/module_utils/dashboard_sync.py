# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""The grafana_dashboard module's work, without Ansible: validate every request, read the
directory, then (only when something changes, never in check mode) write under a lock."""

from __future__ import annotations

import contextlib
import json
import os
import unicodedata

from ansible_collections.limen.monitoring.plugins.module_utils.atomic_file import (
    UnsafeFile,
    locked,
    octal_mode,
    open_directory,
    open_subdirectory,
    read_regular,
    untrusted_symlink,
    write_at,
)
from ansible_collections.limen.monitoring.plugins.module_utils.dashboard import (
    LOCK_NAME,
    DashboardError,
    managed_files,
    render,
    resolve,
    same,
    validate_datasource_uid,
)
from ansible_collections.limen.monitoring.plugins.module_utils.file_attributes import attribute_problems, numeric_ids
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
    if os.path.islink(path):
        return f"(symlink to {os.readlink(path)})\n"  # replaced by a file, never written through
    try:
        data = read_regular(path)
    except UnsafeFile as exc:
        if os.path.isdir(path):
            raise DashboardError(f"{path} is a directory where a dashboard file should be") from None
        raise DashboardError(f"{exc} where a dashboard file should be; remove it") from None
    except OSError as exc:
        raise _os_error(exc, "read", path) from None
    return None if data is None else data.decode("utf-8", errors="replace")  # not UTF-8: differs, rewritten


def _check_arguments(params, check_mode):
    directory = params["directory"]
    if not isinstance(directory, str) or not os.path.isabs(directory):
        raise DashboardError(f"directory: {directory!r} must be an absolute path")
    validate_datasource_uid(params.get("datasource_uid"))
    problems = [m for m in attribute_problems(params, "")
                if not (check_mode and "does not exist" in m)]  # an earlier task may create it
    if problems:
        raise DashboardError("; ".join(problems) + "; nothing was written")


def _check_paths(directory, requests):
    """Refuse a symlink another user could have made on the way to any file of the call, and
    a folder that only looks like an existing one (Unicode NFC and NFD spellings)."""
    link = untrusted_symlink(directory)
    if link:
        raise DashboardError(f"directory {directory}: {link} is a symbolic link in a directory a user other "
                             "than root can change; give the real path")
    existing = {}
    with contextlib.suppress(OSError):
        existing = {unicodedata.normalize("NFC", n): n for n in os.listdir(directory)
                    if unicodedata.normalize("NFC", n) != n}
    for r in requests:
        if r["folder"] and r["folder"] in existing:
            raise DashboardError(f"{_label(r)}: folder {r['folder']!r} looks the same as the existing folder "
                                 f"{existing[r['folder']]!r} (another Unicode spelling); rename that one")
        link = untrusted_symlink(os.path.dirname(r["path"]))
        if link:
            raise DashboardError(f"{_label(r)}: folder {r['folder']!r}: {link} is a symbolic link in a directory "
                                 "a user other than root can change; refusing to follow it")


def plan(params, check_mode=False):
    """Every request validated, in order; raises DashboardError before anything is read or written."""
    _check_arguments(params, check_mode)
    directory = params["directory"]
    many = params.get("dashboards") is not None
    items = params["dashboards"] if many else [{k: params.get(k) for k in ITEM_KEYS}]
    requests, by_path, present_uid, by_title = [], {}, {}, {}
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
            other = by_title.setdefault((r["folder"], r["title"]), r)
            if other is not r:
                raise DashboardError(f"{_label(r)}: title {r['title']!r} in folder {r['folder']!r} is also the title "
                                     f"of {_label(other)}; Grafana refuses two dashboards of one title in a folder")
        requests.append(r)
    _check_paths(directory, requests)
    return requests


def _claims(path, text):
    """(uids, title) the file at PATH claims: its name and the uid inside it, and its title."""
    uids, title = {os.path.basename(path)[:-len(".json")]}, None
    with contextlib.suppress(ValueError, RecursionError, AttributeError):
        doc = json.loads(text)
        if isinstance(doc.get("uid"), str):
            uids.add(doc["uid"])
        if isinstance(doc.get("title"), str):
            title = doc["title"]
    return uids, title


def _disk_plan(directory, requests, prune):
    """Read the directory once: [(request, before, after_text or None, changed)] and {pruned path: text}."""
    on_disk = {path: _read(directory, path) for path in managed_files(directory)}
    listed = {r["path"] for r in requests}
    pruned = {p: text for p, text in on_disk.items() if p not in listed} if prune else {}
    going = set(pruned) | {r["path"] for r in requests if r["wanted"] is None}
    claims = {p: _claims(p, text or "") for p, text in on_disk.items() if p not in going}
    for r in requests:
        if r["wanted"] is None:
            continue
        for other, (uids, title) in claims.items():
            if other == r["path"]:
                continue
            if title == r["title"] and os.path.dirname(other) == os.path.dirname(r["path"]):
                raise DashboardError(f"{_label(r)}: title {r['title']!r} is already the title of {other} in folder "
                                     f"{r['folder']!r}; Grafana refuses two dashboards of one title in a folder")
            if r["uid"] in uids:
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


def _apply(directory, steps, pruned, mode, uid, gid):
    """Write and remove through directory descriptors: no symlink a non-root user could have
    planted in the meantime is followed (see atomic_file.open_directory)."""
    top = open_directory(directory)
    try:
        for r, _before, after, changed in steps:
            if changed:
                _change_at(top, directory, r["path"], after, mode, uid, gid)
        for path in pruned:
            _change_at(top, directory, path, None, mode, uid, gid)
    finally:
        os.close(top)


def _make_folder(top, folder):
    """True when FOLDER (one name below the directory TOP) was made now, False when it was there."""
    try:
        os.mkdir(folder, 0o755, dir_fd=top)
    except FileExistsError:
        return False
    return True


def _change_at(top, directory, path, after, mode, uid, gid):
    """Write AFTER to PATH (DIRECTORY/[folder/]name), or remove PATH when AFTER is None."""
    folder = os.path.relpath(os.path.dirname(path), directory)
    name = os.path.basename(path)
    made = False
    try:
        if folder != ".":
            made = after is not None and _make_folder(top, folder)
        fd = top if folder == "." else open_subdirectory(top, folder, os.path.dirname(path))
    except FileNotFoundError:
        return  # removing from a folder that is gone
    except OSError as exc:
        raise _os_error(exc, "write" if after is not None else "remove", path) from None
    try:
        if after is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=fd)
        else:
            write_at(fd, name, after, mode, uid, gid)
    except OSError as exc:
        if made:  # a folder made for this file only: a failed write (a full disk) leaves none behind
            with contextlib.suppress(OSError):
                os.rmdir(folder, dir_fd=top)
        raise _os_error(exc, "remove" if after is None else "write", path) from None
    finally:
        if fd != top:
            os.close(fd)


def sync(params, check_mode=False, want_diff=False, set_attributes=None):
    """Make DIRECTORY hold the requested dashboards. SET_ATTRIBUTES(path, changed) -> changed applies
    owner/group/mode (the module's common file arguments) and honours check mode itself."""
    directory = params["directory"]
    requests = plan(params, check_mode)
    prune = bool(params.get("prune")) and params.get("dashboards") is not None
    steps, pruned = _disk_plan(directory, requests, prune)
    if not check_mode and (pruned or any(step[3] for step in steps)):
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(locked(directory, LOCK_NAME))
            except UnsafeFile as exc:
                raise DashboardError(str(exc)) from None
            except OSError as exc:
                raise _os_error(exc, "lock", os.path.join(directory, LOCK_NAME)) from None
            steps, pruned = _disk_plan(directory, requests, prune)  # again, now that no one else writes
            uid, gid = numeric_ids(params.get("owner"), params.get("group"))
            try:
                _apply(directory, steps, pruned, octal_mode(params.get("mode")), uid, gid)
            except UnsafeFile as exc:
                raise DashboardError(str(exc)) from None
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
