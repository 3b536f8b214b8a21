# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""The prometheus_targets module's work, without Ansible: validate, read, plan, then write.

Order of work: every argument is validated and every file the call would read, change
or delete is read and checked first; only when all of that succeeds is anything
written. A converged directory (or check mode) is only read: no lock file, no write,
so a read-only directory is fine when nothing would change.

Ownership: the module records the jobs it wrote in DIRECTORY/.limen-targets.manifest.
`prune` deletes only files of jobs recorded there; any other file in the directory is
never read, changed or deleted. A directory written by an older version (no record
yet) is adopted: its job files that are byte for byte what this module renders.
"""

from __future__ import annotations

import os

from ansible_collections.limen.monitoring.plugins.module_utils import atomic_file
from ansible_collections.limen.monitoring.plugins.module_utils.atomic_file import (
    UnsafeFile,
    locked,
    octal_mode,
    write_atomic,
)
from ansible_collections.limen.monitoring.plugins.module_utils.file_attributes import attribute_problems
from ansible_collections.limen.monitoring.plugins.module_utils.file_sd import (
    MANIFEST,
    TargetError,
    display,
    is_canonical,
    job_path,
    jobs_in,
    normalize_targets,
    parse_file,
    parse_manifest,
    plan,
    render,
    render_manifest,
    validate_job,
)

__all__ = ["TargetError", "sync"]


def _requests(params):
    """(job, wanted targets, state, exclusive) per job, all validated before any read."""
    if params.get("jobs") is not None:
        seen = set()
        out = []
        for index, job in enumerate(params["jobs"]):
            name = validate_job(job.get("name"), f"jobs[{index}].name")
            if name in seen:
                raise TargetError(f"jobs[{index}].name: duplicate job {name!r}")
            seen.add(name)
            out.append((name, normalize_targets(job.get("targets"), f"job {name!r}: jobs[{index}].targets"),
                        "present", True))
        return out
    name = validate_job(params.get("job"))
    return [(name, normalize_targets(params.get("targets") or [], "targets"),
             params.get("state", "present"), bool(params.get("exclusive")))]


def read_text(path):
    """The file's text, None when missing; every other problem is a TargetError naming PATH.

    Never follows a symlink, never blocks on a FIFO or device (see atomic_file.read_regular)."""
    try:
        return atomic_file.read_text(path)
    except UnsafeFile as exc:
        raise TargetError(f"{exc}; refusing to use it") from None
    except OSError as exc:
        raise TargetError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise TargetError(f"{path}: not UTF-8 text (byte {exc.start}); refusing to change it") from None


def _owned(directory, manifest_text, manifest_path):
    owned = parse_manifest(manifest_text, manifest_path)
    if owned is not None:
        return owned
    adopted = set()
    for job in jobs_in(directory):
        path = job_path(directory, job)
        try:
            if is_canonical(read_text(path), path):
                adopted.add(job)
        except TargetError:
            pass  # not ours: never read again, never touched
    return adopted


def _plan(params, requests):
    """Everything the call would do, from what is on disk now. Writes nothing."""
    directory = params["directory"]
    if os.path.lexists(directory) and not os.path.isdir(directory):
        raise TargetError(f"directory {directory}: exists and is not a directory")
    manifest_path = os.path.join(directory, MANIFEST)
    manifest_text = read_text(manifest_path)
    owned = _owned(directory, manifest_text, manifest_path)
    ops = []  # (path, before text, after text or None to delete)
    report = {"added": [], "removed": [], "updated": [], "unchanged": []}
    new_owned = set(owned)
    managed = []  # files of the jobs this call names that exist after it
    for job, wanted, state, exclusive in requests:
        path = job_path(directory, job)
        before = read_text(path)
        current = parse_file(before, path)
        if state == "absent" and not wanted:
            after, changes = None, {"removed": sorted(current)}
        else:
            result, added, removed, unchanged, updated = plan(current, wanted, state, exclusive)
            after = render(result)
            changes = {"added": added, "removed": removed, "unchanged": unchanged, "updated": updated}
        for key, items in changes.items():
            report[key].extend(f"{job}/{display(k)}" for k in items)
        if after is None:
            new_owned.discard(job)
        else:
            new_owned.add(job)
            managed.append(path)
        if after != before:
            ops.append((path, before, after))
    listed = {request[0] for request in requests}
    if params.get("jobs") is not None and params.get("prune"):
        for job in sorted(owned - listed):
            new_owned.discard(job)
            path = job_path(directory, job)
            before = read_text(path)
            if before is None:
                continue  # recorded but already gone: only the record changes
            report["removed"].extend(f"{job}/{display(k)}" for k in sorted(parse_file(before, path)))
            ops.append((path, before, None))
    manifest_after = render_manifest(new_owned) if (new_owned or manifest_text is not None) else None
    interim = render_manifest(owned | new_owned) if manifest_after is not None else None
    return {"ops": ops, "report": report, "managed": managed, "manifest_path": manifest_path,
            "manifest_before": manifest_text, "manifest_after": manifest_after,
            "manifest_interim": interim}


def _needs_write(p):
    return bool(p["ops"]) or p["manifest_after"] != p["manifest_before"]


def _apply(p, mode):
    """Write the plan. The record first lists old and new jobs, so a crash in between
    leaves no written file unrecorded; it ends listing exactly the jobs kept."""
    manifest = p["manifest_path"]
    if p["manifest_interim"] != p["manifest_before"]:
        write_atomic(manifest, p["manifest_interim"], _mode_for(manifest, mode))
    for path, _before, after in p["ops"]:
        if after is None:
            os.unlink(path)
        else:
            write_atomic(path, after, _mode_for(path, mode))
    if p["manifest_after"] != p["manifest_interim"]:
        write_atomic(manifest, p["manifest_after"], _mode_for(manifest, mode))


def _mode_for(path, mode):
    """The asked mode; without one, a rewritten file keeps its mode (new ones get 0644)."""
    if mode is not None:
        return mode
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o644


def _check_arguments(params, check_mode):
    """The directory and the owner, group and mode, refused before anything is read or written."""
    directory = params.get("directory")
    if not isinstance(directory, str) or not os.path.isabs(directory):
        raise TargetError(f"directory: {directory!r} must be an absolute path (a relative one would be "
                          "taken from wherever the module happens to run)")
    problems = [m for m in attribute_problems(params, "")
                if not (check_mode and "does not exist" in m)]  # an earlier task may create it
    if problems:
        raise TargetError("; ".join(problems) + "; nothing was written")


def sync(params, check_mode=False, want_diff=False):
    _check_arguments(params, check_mode)
    requests = _requests(params)
    mode = octal_mode(params.get("mode"), default=None)
    p = _plan(params, requests)
    if _needs_write(p) and not check_mode:
        try:
            with locked(params["directory"]):
                p = _plan(params, requests)  # again under the lock: another run may have written
                _apply(p, mode)
        except UnsafeFile as exc:
            raise TargetError(str(exc)) from None
    result = dict(p["report"], changed=_needs_write(p), diff=[],
                  files=[path for path, _b, _a in p["ops"]])
    if p["manifest_after"] != p["manifest_before"]:
        result["files"].append(p["manifest_path"])
    if want_diff:
        result["diff"] = [{"before_header": path, "after_header": path if after is not None else "(deleted)",
                           "before": before or "", "after": after or ""} for path, before, after in p["ops"]]
    managed = p["managed"] + ([p["manifest_path"]] if p["manifest_after"] is not None else [])
    # Files the module's owner/group/mode apply to; in check mode only those that exist now.
    result["managed"] = [path for path in managed if not check_mode or os.path.exists(path)]
    return result
