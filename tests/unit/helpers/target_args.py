"""The targets_sync arguments the unit tests start from."""

from __future__ import annotations


def target_args(directory, **kw):
    """targets_sync's arguments for one job "app" with one target in DIRECTORY, KW overriding."""
    base = {"directory": str(directory), "job": "app", "targets": ["a:1"], "state": "present", "exclusive": False,
            "jobs": None, "prune": False, "mode": None, "owner": None, "group": None}
    return {**base, **kw}
