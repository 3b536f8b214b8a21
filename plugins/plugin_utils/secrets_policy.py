# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Where the controller keeps the secrets a run makes, and which passwords people may choose.

PRIVATE to the collection: used by the `secrets_dir_errors` and `password_errors` filters.
Pure functions over paths and strings, unit-tested without Ansible. No message ever holds a
password: they name the variable.
"""

from __future__ import annotations

import fnmatch
import os
import re

# Human passwords shorter than this are refused (a person types them; the internal users'
# are generated, 32 characters).
MIN_PASSWORD_LENGTH = 12
# What an example file's placeholder looks like: refused, so a copied example never runs with it.
_PLACEHOLDER = re.compile(
    r"change[-_ ]?(me|it|this)|replace[-_ ]?(me|this)|placeholder|example|todo|fixme|<.*>|^\*+$",
    re.I)
_DEFAULTS = {"admin", "password", "secret", "prometheus", "alertmanager", "grafana", "changeme",
             "123456789012", "passwordpassword"}


def password_errors(var, password):
    """Messages (empty: fine) about a person's password in VAR; never shows the password."""
    if password is None or not isinstance(password, str) or not password:
        return [f"{var} is not set: give the password from Ansible Vault"]
    if _PLACEHOLDER.search(password) or password.strip().lower() in _DEFAULTS:
        return [f"{var} looks like a placeholder or a well-known default: set a real password "
                "(from Ansible Vault)"]
    if len(password) < MIN_PASSWORD_LENGTH:
        return [f"{var} is {len(password)} characters long: use at least {MIN_PASSWORD_LENGTH}"]
    return []


def _within(path, root):
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives, or relative against absolute
        return False


def _build_ignored(relative, patterns):
    """True when galaxy's build_ignore PATTERNS leave RELATIVE (a path in the checkout) out."""
    parts = relative.split(os.sep)
    prefixes = [os.sep.join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatch(p, pat) or fnmatch.fnmatch(os.path.basename(p), pat)
               for p in prefixes for pat in patterns)


def secrets_dir_errors(var, path, collection_root, build_ignore=None, installed=False):
    """Messages (empty: fine) when the controller directory PATH of VAR would be lost or shipped.

    COLLECTION_ROOT is where this collection's files are. INSTALLED: it is an installed
    collection (a reinstall or upgrade replaces the whole tree, so nothing may live there);
    otherwise it is a checkout, and only what its galaxy.yml BUILD_IGNORE leaves out of the
    artifact may hold private keys and passwords.
    """
    if not path:
        return [f"{var} is empty: give a directory on the controller"]
    text = os.path.expanduser(str(path))
    if not os.path.isabs(text):
        return [f"{var} is {path!r}, a relative path: give an absolute directory on the controller"]
    real = os.path.realpath(text)
    root = os.path.realpath(collection_root)
    if not _within(real, root):
        return []
    if installed:
        return [f"{var} is {path!r}, inside the installed collection at {root}: a reinstall or "
                f"upgrade deletes it (and the next run silently makes a new CA and new passwords); "
                f"set {var} to a directory outside it"]
    relative = os.path.relpath(real, root)
    if relative == "." or not _build_ignored(relative, build_ignore or []):
        return [f"{var} is {path!r}, inside the collection's source tree at {root}, which "
                f"`ansible-galaxy collection build` puts into the artifact: private keys and passwords "
                f"would ship with it; set {var} to a directory outside it"]
    return []
