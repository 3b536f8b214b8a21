# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""A Grafana dashboard (a dict) from the short spec of roles/grafana/templates/dashboards/.

Controller-only (the filter limen.monitoring.dashboard_from_spec calls it); no Ansible
imports, so the unit tests call it directly.

Spec: {title, uid, tags, description, variables: [job | any_job | alert_job, instance],
annotations: bool, rows: [{title, panels: [{title, type, unit, decimals, min, max,
thresholds: [[color, value]], mappings, w, h, links, legend_calcs, text_mode, sort_by,
rename, description, exprs: [[expr, legend]]}]}]}. JOB anywhere in the spec becomes the job.
The options per panel type are the complete set Grafana's published types require
(tests/grafana_schema checks them).
"""

from __future__ import annotations

import re

GRID_WIDTH = 24
# Decimals per unit when the panel sets none (other units: 2).
DECIMALS = {"percentunit": 1, "percent": 1, "s": 3, "bytes": 1, "short": 0, "dtdurations": 0}
MAPPINGS = {
    "updown": [{"type": "value", "options": {
        "0": {"text": "DOWN", "color": "red", "index": 0}, "1": {"text": "UP", "color": "green", "index": 1}}}],
    "connected": [{"type": "value", "options": {
        "0": {"text": "DISCONNECTED", "color": "red", "index": 0},
        "1": {"text": "CONNECTED", "color": "green", "index": 1}}}],
    "none": [],
}
PANEL_SIZE = {"stat": (6, 5)}
DEFAULT_SIZE = (12, 8)
REF_IDS = "ABCDEFGH"
_RATE = re.compile(r"\bi?rate\(")
TAG = "limen.monitoring"


def _replace_job(value, job):
    """A plain copy of VALUE with JOB replaced by the job in every string, keys included."""
    if isinstance(value, dict):
        return {_replace_job(k, job): _replace_job(v, job) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_replace_job(v, job) for v in value]
    if isinstance(value, str):
        return str(value).replace("JOB", job)
    return value


def takes_rate(exprs):
    """Whether an expression takes a rate() or irate()."""
    return any(_RATE.search(e[0]) for e in exprs)


def field_defaults(panel):
    """fieldConfig.defaults of a panel spec."""
    kind = panel.get("type", "timeseries")
    unit = panel.get("unit", "short")
    steps = [{"color": "green", "value": None}]
    for color, value in panel.get("thresholds", []):
        if value is None:
            steps[0]["color"] = color
        else:
            steps.append({"color": color, "value": value})
    field = {"unit": unit, "color": {"mode": "palette-classic" if kind == "timeseries" else "thresholds"},
             "thresholds": {"mode": "absolute", "steps": steps},
             "mappings": MAPPINGS[panel.get("mappings", "none")]}
    # A rate() shows the significant decimals when Grafana picks them: fixed decimals turn
    # one event per evaluation interval (0.033/s) into 0 or 0.03.
    if "decimals" in panel or not takes_rate(panel["exprs"]):
        field["decimals"] = panel.get("decimals", DECIMALS.get(unit, 2))
    for key in ("min", "max", "links"):
        if key in panel:
            field[key] = panel[key]
    if kind == "timeseries":
        field["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
                           "spanNulls": False,
                           "thresholdsStyle": {"mode": "line" if "thresholds" in panel else "off"}}
    elif kind == "table":
        field["custom"] = {"align": "auto", "cellOptions": {"type": "color-text"}, "inspect": False,
                           "filterable": True}
    return field


def panel_options(panel):
    """The panel's options, by type (timeseries, stat, table)."""
    kind = panel.get("type", "timeseries")
    if kind == "timeseries":
        return {"legend": {"displayMode": "table" if "legend_calcs" in panel else "list", "placement": "bottom",
                           "showLegend": True, "calcs": panel.get("legend_calcs", [])},
                "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "stat":
        return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "orientation": "auto",
                "textMode": panel.get("text_mode", "auto"), "colorMode": "background", "graphMode": "none",
                "justifyMode": "auto", "percentChangeColorMode": "standard", "showPercentChange": False,
                "wideLayout": True}
    return {"showHeader": True, "frameIndex": 0, "cellHeight": "sm",
            "sortBy": [{"displayName": panel.get("sort_by", "Value"), "desc": True}]}


def targets(panel, datasource):
    """One query per expression, instant for stat and table panels."""
    kind = panel.get("type", "timeseries")
    result = []
    if len(panel["exprs"]) > len(REF_IDS):
        raise ValueError(f"panel {panel['title']!r} has {len(panel['exprs'])} expressions, at most {len(REF_IDS)}")
    for ref, (expr, legend) in zip(REF_IDS, panel["exprs"], strict=False):
        target = {"refId": ref, "datasource": datasource, "expr": expr, "legendFormat": legend, "editorMode": "code"}
        if kind == "timeseries":
            target["range"] = True
        else:
            target.update({"instant": True, "range": False, "format": "table" if kind == "table" else "time_series"})
        result.append(target)
    return result


def layout(rows, datasource):
    """The panels with ids and grid positions: a row header over each row's panels, which
    fill the 24 columns left to right and wrap below the tallest panel of the line."""
    panels = []
    x = y = height = 0
    for row in rows:
        panels.append({"id": len(panels) + 1, "type": "row", "title": row["title"], "collapsed": False,
                       "gridPos": {"x": 0, "y": y + height, "w": GRID_WIDTH, "h": 1}, "panels": []})
        x, y, height = 0, y + height + 1, 0
        for p in row["panels"]:
            kind = p.get("type", "timeseries")
            default_w, default_h = PANEL_SIZE.get(kind, DEFAULT_SIZE)
            w, h = p.get("w", default_w), p.get("h", default_h)
            if x + w > GRID_WIDTH:
                x, y, height = 0, y + height, 0
            panel = {"id": len(panels) + 1, "title": p["title"], "type": kind, "datasource": datasource,
                     "gridPos": {"x": x, "y": y, "w": w, "h": h},
                     "fieldConfig": {"defaults": field_defaults(p), "overrides": []},
                     "options": panel_options(p), "targets": targets(p, datasource)}
            if "description" in p:
                panel["description"] = p["description"]
            if kind == "table":
                panel["transformations"] = [{"id": "organize", "options": {
                    "excludeByName": {"Time": True, "__name__": True}, "renameByName": p.get("rename", {})}}]
            panels.append(panel)
            x, height = x + w, max(height, h)
    return panels


def variables(names, job, datasource, service_jobs, own_jobs_re):
    """The template variables the spec names, in a fixed order (job first)."""
    result = []
    if "job" in names:
        result.append({"name": "job", "label": "Service", "type": "custom", "query": job, "hide": 0,
                       "current": {"text": job, "value": job},
                       "options": [{"text": job, "value": job, "selected": True}]})
    if "any_job" in names:
        first = service_jobs[0] if service_jobs else ""
        result.append({"name": "job", "label": "Service", "type": "query", "datasource": datasource,
                       "query": f'label_values(up{{job!~"{own_jobs_re}"}}, job)', "refresh": 2, "sort": 1,
                       "multi": False, "includeAll": False, "current": {"text": first, "value": first}, "hide": 0})
    if "alert_job" in names:
        result.append({"name": "job", "label": "Service", "type": "query", "datasource": datasource,
                       "query": "label_values(ALERTS, job)", "refresh": 2, "sort": 1, "multi": True,
                       "includeAll": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"},
                       "hide": 0})
    if "instance" in names:
        result.append({"name": "instance", "label": "Instance", "type": "query", "datasource": datasource,
                       "query": 'label_values(up{job="$job"}, instance)', "refresh": 2, "sort": 1, "multi": True,
                       "includeAll": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"},
                       "hide": 0})
    return result


def alert_annotations(datasource):
    """The firing alerts of $job as annotations."""
    return [{"name": "Firing alerts", "datasource": datasource, "enable": True, "hide": False, "iconColor": "red",
             "target": {"refId": "Anno", "expr": 'ALERTS{alertstate="firing", job="$job"}', "interval": "",
                        "datasource": datasource},
             "titleFormat": "{{alertname}}", "textFormat": "{{instance}} ({{severity}})",
             "tagKeys": "alertname,severity", "useValueForTime": False}]


def render(spec, job="", datasource_uid="", service_jobs=(), own_jobs_re=""):
    """The dashboard of SPEC for JOB ('' for a dashboard of no job).

    datasource_uid: the default data source of every query; service_jobs: the inventory's
    services (any_job starts on the first); own_jobs_re: the collection's own jobs, which
    any_job leaves out.
    """
    spec = _replace_job(spec, job or "")
    job = job or ""
    datasource = {"type": "prometheus", "uid": datasource_uid}
    return {
        "title": spec["title"], "uid": spec["uid"], "tags": [TAG] + spec.get("tags", []),
        "description": spec.get("description", ""),
        "timezone": "browser", "schemaVersion": 42, "refresh": "30s", "editable": False, "graphTooltip": 1,
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": variables(spec.get("variables", []), job, datasource, list(service_jobs), own_jobs_re)},
        "annotations": {"list": alert_annotations(datasource) if spec.get("annotations", False) else []},
        "links": [{"title": TAG, "type": "dashboards", "tags": [TAG], "asDropdown": True,
                   "icon": "external link", "includeVars": False, "keepTime": True, "targetBlank": False,
                   "tooltip": ""}],
        "panels": layout(spec["rows"], datasource),
    }
