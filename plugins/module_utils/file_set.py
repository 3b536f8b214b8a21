# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""A role's set of files, checked and written as one unit (PRIVATE to the collection).

Pure helpers for the `files` module: which wanted files differ from the host, which files
a pruned directory holds that nobody wants, and the validation command for a candidate.
"""

from __future__ import annotations

import fnmatch
import os
import shlex


class FileSetError(ValueError):
    """A wanted file set that cannot be applied as given (named in the message)."""


def check_paths(files, prune):
    """Raise FileSetError for relative or repeated paths and relative prune directories."""
    seen = set()
    for item in files:
        path = item["path"]
        if not os.path.isabs(path):
            raise FileSetError(f"files: {path!r} is not an absolute path")
        if path in seen:
            raise FileSetError(f"files: {path} is listed twice")
        seen.add(path)
    for rule in prune:
        if not os.path.isabs(rule["directory"]):
            raise FileSetError(f"prune: {rule['directory']!r} is not an absolute path")


def differing(files, read):
    """The files of FILES whose content READ(path) (None when absent) is not theirs."""
    return [item for item in files if read(item["path"]) != item["content"]]


def unwanted(directory, names, patterns, wanted):
    """Paths of NAMES (entries of DIRECTORY) that match PATTERNS and are not in WANTED."""
    keep = set(wanted)
    found = []
    for name in sorted(names):
        path = os.path.join(directory, name)
        if path in keep or not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        found.append(path)
    return found


def validation_command(template, candidate):
    """The argv that checks CANDIDATE: TEMPLATE with %s replaced by the quoted path."""
    if "%s" not in template:
        raise FileSetError(f"validate: {template!r} has no %s for the file to check")
    return shlex.split(template.replace("%s", shlex.quote(candidate)))


def entries(items, directory="", read=None, missing_ok=False, prefix="", **attrs):
    """Entries for the files module from a role's lists, with ATTRS (owner, group, mode) added.

    An item is {name, value} (a file DIRECTORY/name holding value), {src, dest[, mode]}
    (a controller file, read with READ(src), copied to dest) or a controller path (copied to
    DIRECTORY/PREFIX + its base name). A missing src is an error
    unless MISSING_OK (check mode, before a certificate is issued): then it is left out.
    """
    out = []
    for item in items:
        if isinstance(item, str):
            item = {"src": item, "dest": os.path.join(directory, prefix + os.path.basename(item))}
        if "src" in item:
            if read is None:
                raise FileSetError(f"{item['dest']}: no way to read {item['src']}")
            try:
                content = read(item["src"])
            except FileNotFoundError:
                if missing_ok:
                    continue
                raise FileSetError(f"{item['dest']}: the source {item['src']} does not exist") from None
            entry = {"path": item["dest"], "content": content}
        else:
            entry = {"path": os.path.join(directory, item["name"]), "content": str(item["value"])}
        out.append({**attrs, **entry, **{k: item[k] for k in ("mode",) if k in item}})
    return out
