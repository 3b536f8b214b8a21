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


# Pseudo file systems: a "file" there is a kernel interface, never something to replace.
VIRTUAL = ("/proc", "/sys", "/dev")


def _virtual(path):
    return any(path == root or path.startswith(root + "/") for root in VIRTUAL)


def check_paths(files, prune, directories=()):
    """Raise FileSetError for relative, virtual or repeated paths (`d/a` and `d/./a` are
    one file) and relative prune directories."""
    seen = {}
    for option, items in (("directories", directories), ("files", files)):
        for item in items:
            path = item["path"]
            if not os.path.isabs(path):
                raise FileSetError(f"{option}: {path!r} is not an absolute path")
            norm = os.path.normpath(path)
            if _virtual(os.path.realpath(norm)):
                raise FileSetError(f"{option}: {path} is on a kernel file system ({', '.join(VIRTUAL)}); "
                                   "refusing to write there")
            if norm in seen:
                other_option, other = seen[norm]
                if other == path and other_option == option:
                    raise FileSetError(f"{option}: {path} is listed twice")
                raise FileSetError(f"{option}: {path!r} is the same path as {other!r} in {other_option}; "
                                   "list each file once")
            seen[norm] = (option, path)
    for rule in prune:
        if not os.path.isabs(rule["directory"]):
            raise FileSetError(f"prune: {rule['directory']!r} is not an absolute path")


def matches(name, pattern):
    """Shell pattern matching as in sh: a leading '.' is matched only by a leading '.'."""
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)


def differing(files, read):
    """The files of FILES whose content READ(path) (None when absent) is not theirs."""
    return [item for item in files if read(item["path"]) != item["content"]]


def unwanted(directory, names, patterns, wanted):
    """Paths of NAMES (entries of DIRECTORY) that match PATTERNS and are not in WANTED.

    As in the shell, `*` does not match hidden files: `.*` does."""
    keep = {os.path.normpath(p) for p in wanted}
    found = []
    for name in sorted(names):
        path = os.path.join(directory, name)
        if os.path.normpath(path) in keep or not any(matches(name, p) for p in patterns):
            continue
        found.append(path)
    return found


def validation_command(template, candidate, which=None):
    """The argv that checks CANDIDATE: TEMPLATE with %s replaced by the quoted path.

    WHICH(command) -> path or None finds the command; a missing one is named here."""
    if "%s" not in template:
        raise FileSetError(f"validate: {template!r} has no %s for the file to check")
    try:
        argv = shlex.split(template.replace("%s", shlex.quote(candidate)))
    except ValueError as exc:
        raise FileSetError(f"validate: {template!r} cannot be split into a command ({exc})") from None
    if which is not None and not which(argv[0]):
        raise FileSetError(f"validate: the command {argv[0]!r} of {template!r} is not installed "
                           "(not found in PATH)")
    return argv


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
