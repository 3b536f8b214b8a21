"""Every link of a set of dashboards leads to one of them.

A link's dashboard is the part after /d/ of its URL. When it is taken from a series label
(`/d/${__field.labels.dashboard}`), the panel's queries are evaluated by promtool on made-up
series of the given jobs (`up`, `service_up`, ... with job and instance labels), and each
series of the result gives one link. Links that are not to a dashboard (external URLs, the
tag-based dashboard lists) are not walked here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

DASHBOARD_URL = re.compile(r"^/d/(?P<uid>[^/?#]+)")
FIELD_LABEL = re.compile(r"\$\{__field\.labels\.([A-Za-z_][A-Za-z0-9_]*)\}")
SELECTOR = re.compile(r"\b([A-Za-z_:][A-Za-z0-9_:]*)\{")
SERIES = re.compile(r"\{([^{}]*)\}")
LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def links(dashboard):
    """(JSON path, url, panel or None) of every link with a URL in DASHBOARD."""
    for i, link in enumerate(dashboard.get("links") or []):
        if isinstance(link, dict) and link.get("url"):
            yield f"links[{i}].url", link["url"], None
    panels = [(f"panels[{i}]", p) for i, p in enumerate(dashboard.get("panels") or [])]
    panels += [(f"{path}.panels[{j}]", inner) for path, p in panels for j, inner in enumerate(p.get("panels") or [])]
    for path, panel in panels:
        for i, link in enumerate(panel.get("links") or []):
            yield f"{path}.links[{i}].url", link.get("url", ""), panel
        field = panel.get("fieldConfig") or {}
        for i, link in enumerate((field.get("defaults") or {}).get("links") or []):
            yield f"{path}.fieldConfig.defaults.links[{i}].url", link.get("url", ""), panel
        for i, override in enumerate(field.get("overrides") or []):
            for j, prop in enumerate(override.get("properties") or []):
                if prop.get("id") == "links":
                    for k, link in enumerate(prop.get("value") or []):
                        yield f"{path}.fieldConfig.overrides[{i}].properties[{j}].value[{k}].url", link.get("url", ""), panel


def substitute(expr, dashboard):
    """EXPR with $__rate_interval and the dashboard's variables filled in as Grafana does."""
    values = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}
    for var in (dashboard.get("templating") or {}).get("list") or []:
        current = (var.get("current") or {}).get("value")
        values[var["name"]] = var.get("allValue", ".*") if current == "$__all" else str(current or "")
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    return expr


def find_promtool():
    path = shutil.which("promtool")
    if not path:
        raise RuntimeError("promtool not found: run `make tools` (it is taken from Debian's prometheus package)")
    return path


def evaluate(expr, jobs, promtool=None):
    """Label sets of EXPR's result on series of every metric EXPR selects, one per job of JOBS."""
    metrics = sorted(set(SELECTOR.findall(expr)) - {"by", "without", "on", "ignoring"})
    series = [{"series": f'{m}{{job="{job}", instance="{job}.example:9100"}}', "values": "1x10"}
              for m in metrics for job in jobs]
    test = {"rule_files": [], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series,
                       "promql_expr_test": [{"expr": expr, "eval_time": "5m", "exp_samples": []}]}]}
    with tempfile.TemporaryDirectory(prefix="limen-links-") as tmp:
        file = Path(tmp) / "test.yml"
        file.write_text(json.dumps(test))
        r = subprocess.run([promtool or find_promtool(), "test", "rules", str(file)], capture_output=True, text=True)
    out = r.stdout + r.stderr
    if r.returncode == 0:
        return []
    got = [line.strip()[len("got:"):] for line in out.splitlines() if line.strip().startswith("got:")]
    if len(got) != 1:
        raise RuntimeError(f"promtool did not evaluate {expr!r}:\n{out[-2000:]}")
    return [dict(LABEL.findall(labels)) for labels in SERIES.findall(got[0])]


def walk(dashboards, jobs, promtool=None):
    """(errors, resolved): every dashboard link of DASHBOARDS ({name: dashboard}) checked
    against their uids; RESOLVED holds (name, path, labels of the series or {}, uid)."""
    uids = {d.get("uid") for d in dashboards.values()}
    errors, resolved = [], []
    for name, dash in sorted(dashboards.items()):
        for path, url, panel in links(dash):
            m = DASHBOARD_URL.match(url)
            if not m:
                continue
            template = m["uid"]
            if "$" not in template:
                targets = [({}, template)]
            else:
                exprs = [substitute(t["expr"], dash) for t in (panel or {}).get("targets") or [] if t.get("expr")]
                results = [labels for e in exprs for labels in evaluate(e, jobs, promtool)]
                if not results:
                    errors.append(f"{name}: {path}: {url} takes its dashboard from the query result, "
                                  f"which is empty for the jobs {sorted(jobs)}: it cannot be checked")
                targets = [(labels, FIELD_LABEL.sub(lambda v, labels=labels: labels.get(v[1], "${" + v[1] + "}"),
                                                     template)) for labels in results]
            for labels, uid in targets:
                resolved.append((name, path, labels, uid))
                if uid not in uids:
                    what = f" for job {labels['job']}" if "job" in labels else ""
                    errors.append(f"{name}: {path}: {url}{what} leads to /d/{uid}, which is not a dashboard "
                                  "the role writes")
    return errors, resolved
