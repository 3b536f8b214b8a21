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
# Jobs Prometheus scrapes that the inventory does not know: a scrape config passed through
# as-is and a job a service registers itself (file_sd/services/selfreg.json).
EXTRA_JOB = "extra_dns"
SELF_REGISTERED_JOB = "selfreg"
SCRAPE_EXTRA = {"prometheus_scrape_configs_extra": [
    {"job_name": EXTRA_JOB, "static_configs": [{"targets": ["127.0.1.20:9153"]}]}]}
# The secure configuration (molecule/secure): TLS and internal users on every component.
SECURE = {
    "pki_internal_ca": True, "pki_dir": "/nonexistent/limen-pki",
    **{f"{c}_web_users": {"limen-internal": f"{c}-internal-pw"}
       for c in ("prometheus", "alertmanager", "node_exporter", "victoriametrics")},
    **{f"{c}_web_tls_cert_file": f"/etc/{c}/tls.crt" for c in ("prometheus", "alertmanager", "node_exporter")},
    **{f"{c}_web_tls_key_file": f"/etc/{c}/tls.key" for c in ("prometheus", "alertmanager", "node_exporter")},
    "victoriametrics_web_tls_cert_file": "/etc/victoria-metrics/tls.crt",
    "victoriametrics_web_tls_key_file": "/etc/victoria-metrics/tls.key",
    "grafana_tls_cert_file": "/etc/grafana/tls.crt", "grafana_tls_key_file": "/etc/grafana/tls.key",
}
# The layouts the scenarios run (molecule default, secure, ha): inventory and extra variables.
LAYOUTS = {
    "default": ("inventory.yml", SCRAPE_EXTRA),
    "secure": ("inventory.yml", {**SECURE, **SCRAPE_EXTRA}),
    "ha": ("inventory_ha.yml", {**SECURE, **SCRAPE_EXTRA}),
}


def render(out: Path, extra: dict | None = None, inventory: str = "inventory.yml") -> dict:
    """{'dashboards': {relative path: dashboard}, 'datasources': doc, 'provider': doc, 'vars': {...}}."""
    from ansible_collections.limen.monitoring.plugins.module_utils.dashboard import resolve

    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = ["ansible-playbook", "-i", str(HERE / inventory), str(HERE / "render_grafana.yml"),
           "-e", f"out={out}"]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    variables = json.loads((out / "vars.json").read_text())
    directory = variables["grafana_dashboards_dir"]
    dashboards = {}
    for index, item in enumerate(json.loads((out / "dashboards.json").read_text())):
        got = resolve(item, f"dashboards[{index}]", directory, variables["datasource_uid"])
        dashboards[os.path.relpath(got["path"], directory)] = got["wanted"]
    return {"dashboards": dashboards, "vars": variables, "extra": extra or {},
            "datasources": yaml.safe_load((out / "datasources.yml").read_text()),
            "provider": yaml.safe_load((out / "dashboard-provider.yml").read_text())}


def render_layout(out: Path, layout: str, extra: dict | None = None) -> dict:
    """The files of one of LAYOUTS, with EXTRA variables on top."""
    inventory, variables = LAYOUTS[layout]
    return {**render(out, {**variables, **(extra or {})}, inventory), "layout": layout}
