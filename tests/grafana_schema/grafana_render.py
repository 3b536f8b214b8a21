"""Render the grafana role's dashboards and provisioning files exactly as the role does.

The role templates one list of dashboard requests (dashboards.json.j2) and hands it to the
grafana_dashboard module, which normalises each one (module_utils/dashboard.resolve) before
writing it; this does the same, so the checks see the files Grafana would read.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DASHBOARDS_DIR = "/var/lib/grafana/dashboards"


def render(out: Path, extra: dict | None = None) -> dict:
    """{'dashboards': {relative path: dashboard}, 'datasources': doc, 'provider': doc, 'vars': {...}}."""
    from ansible_collections.limen.monitoring.plugins.module_utils.dashboard import resolve

    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = ["ansible-playbook", "-i", str(HERE / "inventory.yml"), str(HERE / "render_grafana.yml"),
           "-e", f"out={out}"]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    variables = json.loads((out / "vars.json").read_text())
    directory = variables["grafana_dashboards_dir"]
    dashboards = {}
    for index, item in enumerate(json.loads((out / "dashboards.json").read_text())):
        got = resolve(item, f"dashboards[{index}]", directory, variables["prometheus_uid"])
        dashboards[os.path.relpath(got["path"], directory)] = got["wanted"]
    return {"dashboards": dashboards, "vars": variables,
            "datasources": yaml.safe_load((out / "datasources.yml").read_text()),
            "provider": yaml.safe_load((out / "dashboard-provider.yml").read_text())}
