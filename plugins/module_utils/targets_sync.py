# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""The prometheus_targets module's work, without Ansible: read, plan, write under a lock."""

from __future__ import annotations

import contextlib
import os

from ansible_collections.limen.monitoring.plugins.module_utils.atomic_file import (
    locked,
    octal_mode,
    read_text,
    write_atomic,
)
from ansible_collections.limen.monitoring.plugins.module_utils.file_sd import (
    TargetError,
    job_path,
    jobs_in,
    normalize_targets,
    parse_file,
    plan,
    render,
    validate_job,
)

__all__ = ["TargetError", "sync"]


def _requests(params):
    """(job, wanted targets, state, exclusive) per job, all validated before any write."""
    if params.get("jobs") is not None:
        seen = set()
        out = []
        for index, job in enumerate(params["jobs"]):
            name = validate_job(job["name"], f"jobs[{index}].name")
            if name in seen:
                raise TargetError(f"jobs[{index}].name: duplicate job {name!r}")
            seen.add(name)
            out.append((name, normalize_targets(job["targets"], f"jobs[{index}].targets"),
                        "present", True))
        return out
    name = validate_job(params["job"])
    return [(name, normalize_targets(params.get("targets") or [], "targets"),
             params.get("state", "present"), bool(params.get("exclusive")))]


def sync(params, check_mode=False, want_diff=False):
    directory = params["directory"]
    requests = _requests(params)
    mode = octal_mode(params.get("mode"))
    result = {"changed": False, "added": [], "removed": [], "updated": [], "unchanged": [],
              "files": [], "written": [], "diff": []}
    lock_dir = directory if os.path.isdir(directory) or not check_mode else None
    with locked(lock_dir) if lock_dir else contextlib.nullcontext():
        for job, wanted, state, exclusive in requests:
            path = job_path(directory, job)
            before_text = read_text(path)
            current = parse_file(before_text, path)
            if state == "absent" and not wanted:
                after, added, removed, unchanged, updated = {}, [], sorted(current), [], []
                after_text = None
            else:
                after, added, removed, unchanged, updated = plan(current, wanted, state, exclusive)
                after_text = render(after)
            for key, items in (("added", added), ("removed", removed),
                               ("unchanged", unchanged), ("updated", updated)):
                result[key].extend(f"{job}/{a}" for a in items)
            if after_text == before_text:
                continue
            result["changed"] = True
            result["files"].append(path)
            if want_diff:
                result["diff"].append({"before_header": path, "after_header": path,
                                       "before": before_text or "", "after": after_text or ""})
            if check_mode:
                continue
            if after_text is None:
                os.unlink(path)
            else:
                write_atomic(path, after_text, mode)
                result["written"].append(path)
        if params.get("jobs") is not None and params.get("prune"):
            listed = {job for job, *_ in requests}
            for job in jobs_in(directory):
                if job in listed:
                    continue
                path = job_path(directory, job)
                before_text = read_text(path)
                result["removed"].extend(f"{job}/{a}" for a in sorted(parse_file(before_text, path)))
                result["changed"] = True
                result["files"].append(path)
                if want_diff:
                    result["diff"].append({"before_header": path, "after_header": "(deleted)",
                                           "before": before_text or "", "after": ""})
                if not check_mode:
                    os.unlink(path)
    return result
