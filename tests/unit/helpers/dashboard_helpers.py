"""Shared by the grafana_dashboard tests: module parameters, dashboards, a digest of a tree."""

from __future__ import annotations

import hashlib
import os

ITEM_DEFAULTS = {"folder": "", "dashboard": None, "json": None, "src": None, "uid": None, "state": "present"}


def params(directory, **kw):
    """The module's parameters as AnsibleModule hands them over (every option present)."""
    base = {"directory": str(directory), "datasource_uid": None, "dashboards": None, "prune": False,
            "mode": None, **ITEM_DEFAULTS}
    if kw.get("dashboards") is not None:
        kw["dashboards"] = [{**ITEM_DEFAULTS, **item} for item in kw["dashboards"]]
    base.update(kw)
    return base


def dash(title="Team overview", **extra):
    return {"title": title, "panels": [{"type": "timeseries", "targets": [{"expr": "up"}]}], **extra}


def tree_digest(root):
    """One hash over every name, type, mode, symlink target and byte below ROOT."""
    digest = hashlib.sha256()
    for base, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(base, name)
            st = os.lstat(path)
            digest.update(f"{os.path.relpath(path, root)}\0{st.st_mode}\0".encode("utf-8", "surrogateescape"))
            if os.path.islink(path):
                digest.update(os.readlink(path).encode("utf-8", "surrogateescape"))
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    digest.update(handle.read())
    return digest.hexdigest()


# A Grafana export made for sharing (__inputs, ${DS_PROMETHEUS}), normalised by
# module_utils/dashboard and written by module_utils/dashboard_sync.
SHARED = {
    "__inputs": [
        {"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus"},
        {"name": "DS_LOKI", "label": "Loki", "type": "datasource", "pluginId": "loki"},
        {"name": "VAR_ENV", "type": "constant", "value": "prod"},
    ],
    "__requires": [{"type": "datasource", "id": "prometheus"}],
    "title": "Shared", "uid": "shared",
    "panels": [
        {"datasource": "${DS_PROMETHEUS}", "targets": [{"expr": "up"}]},
        {"datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, "targets": []},
        {"datasource": {"uid": "${DS_PROMETHEUS}"}, "targets": []},
        {"datasource": "${DS_LOKI}", "targets": [{"expr": "{job=\"x\"}"}]},
        {"datasource": {"type": "loki", "uid": "${DS_LOKI}"}, "targets": []},
        {"title": "env ${VAR_ENV}", "datasource": "${DS_OTHER}", "targets": []},
    ],
    "templating": {"list": [{"name": "job", "datasource": "${DS_PROMETHEUS}", "query": "label_values(up, job)",
                             "definition": "from ${DS_PROMETHEUS}"}]},
}
