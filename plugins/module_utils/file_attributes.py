# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Owner, group and mode arguments checked before anything is written (PRIVATE to the collection).

Ansible's common file arguments are applied after a file is written; a bad owner or mode
found then leaves the file behind. These checks run first, and each message names the
option and the value.
"""

from __future__ import annotations

import grp
import pwd
import re

# One clause of a symbolic mode as chmod(1) and Ansible's file module read it.
_SYMBOLIC = re.compile(r"[ugoa]*([-+=]([rwxXst]*|[ugo]))+", re.ASCII)
_OCTAL = re.compile(r"(0o)?[0-7]{1,4}", re.ASCII)
_NUMERIC_ID = re.compile(r"[0-9]+", re.ASCII)


def mode_problem(mode, where="mode"):
    """Why MODE is not a file mode (naming WHERE and the value), or None."""
    if mode is None:
        return None
    if isinstance(mode, bool):
        return f"{where}: {mode!r} is not a file mode (such as '0640' or 'u=rw,g=r')"
    if isinstance(mode, int):
        return None if 0 <= mode <= 0o7777 else f"{where}: {mode!r} is not a file mode (at most 0o7777)"
    if not isinstance(mode, str):
        return f"{where}: {mode!r} is not a file mode (such as '0640' or 'u=rw,g=r')"
    if _OCTAL.fullmatch(mode) or all(_SYMBOLIC.fullmatch(part) for part in mode.split(",")):
        return None
    return f"{where}: {mode!r} is neither an octal mode (digits 0-7, such as '0640') nor a symbolic one ('u=rw,g=r')"


def _id_problem(value, where, lookup, what):
    if value is None or value == "":
        return None
    text = str(value)
    if _NUMERIC_ID.fullmatch(text):
        return None
    try:
        lookup(text)
    except KeyError:
        return f"{where}: {what} {text!r} does not exist on this host"
    return None


def attribute_problems(item, where):
    """Problems of ITEM's owner, group and mode (a mapping with those optional keys)."""
    problems = [_id_problem(item.get("owner"), f"{where}.owner" if where else "owner", pwd.getpwnam, "user"),
                _id_problem(item.get("group"), f"{where}.group" if where else "group", grp.getgrnam, "group"),
                mode_problem(item.get("mode"), f"{where}.mode" if where else "mode")]
    return [p for p in problems if p]


def numeric_ids(owner, group):
    """(uid, gid) of OWNER and GROUP (names or numbers); -1 for one not given (as os.chown reads it)."""
    def one(value, lookup, attr):
        if value is None or value == "":
            return -1
        text = str(value)
        return int(text) if _NUMERIC_ID.fullmatch(text) else getattr(lookup(text), attr)
    return one(owner, pwd.getpwnam, "pw_uid"), one(group, grp.getgrnam, "gr_gid")
