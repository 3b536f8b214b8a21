# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Names that become file names, and paths that must stay inside a module's directory.

Shared by the collection's modules; no Ansible imports. Every check returns or raises a
message that names the bad value with repr(), so a trailing newline or a control character
is visible in the error.
"""

from __future__ import annotations

import os
import unicodedata

# A file name component on Linux: at most 255 bytes (NAME_MAX), whatever the characters.
NAME_MAX_BYTES = 255
# Characters that never belong in a name: C0/C1 controls (newline, tab, DEL, ...), lone
# surrogates (not encodable to UTF-8) and the Unicode line and paragraph separators.
_BAD_CATEGORIES = {"Cc": "the control character", "Cs": "the lone surrogate",
                   "Zl": "the line separator", "Zp": "the paragraph separator"}


class OutsideDirectory(ValueError):
    """A path that would leave the directory a module owns."""


def full_match(pattern, value):
    """True only when PATTERN (compiled) matches all of VALUE: `$` alone lets a final "\\n" through."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def bad_character(value):
    """Why VALUE holds a character no name may hold ("the control character U+000A"), or None."""
    for char in value:
        category = unicodedata.category(char)
        if category in _BAD_CATEGORIES:
            return f"{_BAD_CATEGORIES[category]} U+{ord(char):04X}"
    return None


def component_problem(value, max_chars=None):
    """Why VALUE cannot be one directory or file name, or None when it can."""
    if not isinstance(value, str):
        return f"is a {type(value).__name__}, not a string"
    if not value:
        return "is empty"
    if max_chars is not None and len(value) > max_chars:
        return f"is {len(value)} characters long; at most {max_chars} are allowed"
    found = bad_character(value)
    if found:
        return f"contains {found}"
    if "/" in value or "\\" in value:
        return "contains '/' or '\\' (it is one name, not a path)"
    if value in (".", ".."):
        return "is '.' or '..', which name a directory, not a new one"
    if value != value.strip():
        return "starts or ends with whitespace"
    size = len(value.encode("utf-8"))
    if size > NAME_MAX_BYTES:
        return f"is {size} bytes in UTF-8; a file name has at most {NAME_MAX_BYTES}"
    return None


def inside(directory, *parts):
    """DIRECTORY joined with PARTS, proven to stay inside DIRECTORY.

    Each part must be a plain name (no '/', no '..', not absolute), and the resolved path
    (symlinks followed) must lie strictly below the resolved DIRECTORY, so a symlink in the
    directory cannot lead a write or a delete elsewhere. Raises OutsideDirectory.
    """
    for part in parts:
        if not isinstance(part, str) or not part or part in (".", "..") or "/" in part or "\0" in part:
            raise OutsideDirectory(f"{part!r} is not a plain name inside {directory}")
    path = os.path.join(directory, *parts)
    root = os.path.realpath(directory)
    real = os.path.realpath(path)
    if real == root or os.path.commonpath([root, real]) != root:
        raise OutsideDirectory(f"{path} resolves to {real}, outside {root}")
    return path


def resolves_inside(directory, path):
    """True when PATH, symlinks followed, lies strictly below DIRECTORY."""
    root = os.path.realpath(directory)
    real = os.path.realpath(path)
    return real != root and os.path.commonpath([root, real]) == root
