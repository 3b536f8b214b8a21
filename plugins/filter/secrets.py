# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filters: where the controller may keep the run's secrets; which passwords people may choose.

Documentation: secrets_dir_errors.yml and password_errors.yml beside this file.
"""

from __future__ import annotations

import os

from ansible_collections.limen.monitoring.plugins.plugin_utils.secrets_policy import (
    password_errors,
    secrets_dir_errors,
)

# plugins/filter/secrets.py -> the collection's root (an installed collection or the checkout).
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def _build_ignore(root):
    try:
        import yaml  # ansible-core's own dependency on the controller
        with open(os.path.join(root, "galaxy.yml"), encoding="utf-8") as handle:
            return [str(p) for p in (yaml.safe_load(handle) or {}).get("build_ignore") or []]
    except (OSError, ValueError, AttributeError):
        return []


def _secrets_dir_errors(path, var):
    installed = os.path.exists(os.path.join(_ROOT, "MANIFEST.json"))
    return secrets_dir_errors(var, path, _ROOT, [] if installed else _build_ignore(_ROOT), installed)


def _password_errors(password, var):
    return password_errors(var, password)


class FilterModule:
    def filters(self):
        return {"secrets_dir_errors": _secrets_dir_errors, "password_errors": _password_errors}
