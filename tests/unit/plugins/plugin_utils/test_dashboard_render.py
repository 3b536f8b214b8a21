"""The dashboard a spec becomes (plugin_utils/dashboard_render.py, the filter
dashboard_from_spec): layout, thresholds, decimals, variables, annotations; and the shipped
specs are exactly the ones the role lists."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.limen.monitoring.plugins.plugin_utils.dashboard_render import render

REPO = Path(__file__).resolve().parents[4]
ROLE = REPO / "roles/grafana"
DS = {"type": "prometheus", "uid": "ds"}


def panel(**kw):
    return {"title": kw.pop("title", "p"), "exprs": kw.pop("exprs", [["up", "{{job}}"]]), **kw}


def spec(*rows, **kw):
    return {"title": "T", "uid": "u", "rows": [{"title": f"row {i}", "panels": list(r)} for i, r in enumerate(rows)],
            **kw}


def panels(dash):
    return [p for p in dash["panels"] if p["type"] != "row"]


def positions(dash):
    return [(p["type"], p["gridPos"]["x"], p["gridPos"]["y"], p["gridPos"]["w"], p["gridPos"]["h"])
            for p in dash["panels"]]


def test_panels_fill_24_columns_and_wrap_below_the_tallest():
    dash = render(spec([panel(type="stat"), panel(), panel(type="stat", h=3),  # 6 + 12 + 6 = 24
                        panel(w=8, h=4)],  # does not fit: next line, under the 8 high one
                       [panel(w=24)]), datasource_uid="ds")
    assert positions(dash) == [
        ("row", 0, 0, 24, 1),
        ("stat", 0, 1, 6, 5), ("timeseries", 6, 1, 12, 8), ("stat", 18, 1, 6, 3),
        ("timeseries", 0, 9, 8, 4),
        ("row", 0, 13, 24, 1),
        ("timeseries", 0, 14, 24, 8),
    ]
    assert [p["id"] for p in dash["panels"]] == list(range(1, 8))
    assert all(p["datasource"] == DS for p in panels(dash))


def test_an_empty_row_still_takes_its_line():
    dash = render(spec([], [panel()]))
    assert positions(dash) == [("row", 0, 0, 24, 1), ("row", 0, 1, 24, 1), ("timeseries", 0, 2, 12, 8)]


@pytest.mark.parametrize("thresholds, steps", [
    (None, [{"color": "green", "value": None}]),
    ([["orange", 1], ["red", 3]], [{"color": "green", "value": None}, {"color": "orange", "value": 1},
                                   {"color": "red", "value": 3}]),
    # A null value recolours the base step.
    ([["red", None], ["green", 1]], [{"color": "red", "value": None}, {"color": "green", "value": 1}]),
])
def test_thresholds(thresholds, steps):
    p = panel(**({"thresholds": thresholds} if thresholds else {}))
    field = panels(render(spec([p])))[0]["fieldConfig"]["defaults"]
    assert field["thresholds"] == {"mode": "absolute", "steps": steps}
    # A time series draws its thresholds as lines, only when it has some.
    assert field["custom"]["thresholdsStyle"]["mode"] == ("line" if thresholds else "off")


@pytest.mark.parametrize("kw, decimals", [
    ({}, 0),  # short
    ({"unit": "percentunit"}, 1),
    ({"unit": "s"}, 3),
    ({"unit": "bytes"}, 1),
    ({"unit": "reqps"}, 2),  # a unit without its own rule
    ({"unit": "s", "decimals": 0}, 0),
    # A rate leaves the decimals to Grafana (0.033/s must not show as 0)...
    ({"exprs": [["rate(x_total[5m])", ""]]}, None),
    ({"exprs": [["up", ""], ["sum(irate(x_total[5m]))", ""]]}, None),
    # ... unless the spec sets them; a name that merely ends in "rate(" is no rate.
    ({"exprs": [["rate(x_total[5m])", ""]], "decimals": 1}, 1),
    ({"exprs": [["my_rate(x)", ""]]}, 0),
])
def test_decimals(kw, decimals):
    field = panels(render(spec([panel(**kw)])))[0]["fieldConfig"]["defaults"]
    assert field.get("decimals") == decimals


def test_panel_types_get_their_options_and_queries():
    dash = render(spec([panel(type="stat", mappings="updown", text_mode="value"),
                        panel(type="table", rename={"Value": "Alerts"}, sort_by="Alerts",
                              exprs=[["a", "x"], ["b", "y"]]),
                        panel(legend_calcs=["max"], min=0, max=1, links=[{"title": "l", "url": "/d/x"}])]),
                 datasource_uid="ds")
    stat, table, series = panels(dash)
    assert stat["options"]["textMode"] == "value"
    assert stat["fieldConfig"]["defaults"]["mappings"][0]["options"]["1"]["text"] == "UP"
    assert stat["targets"] == [{"refId": "A", "datasource": DS, "expr": "up", "legendFormat": "{{job}}",
                                "editorMode": "code", "instant": True, "range": False, "format": "time_series"}]
    assert [t["refId"] for t in table["targets"]] == ["A", "B"]
    assert all(t["format"] == "table" for t in table["targets"])
    assert table["options"]["sortBy"] == [{"displayName": "Alerts", "desc": True}]
    assert table["transformations"][0]["options"]["renameByName"] == {"Value": "Alerts"}
    assert series["options"]["legend"]["displayMode"] == "table"
    assert series["targets"][0]["range"] is True and "instant" not in series["targets"][0]
    assert {k: series["fieldConfig"]["defaults"][k] for k in ("min", "max", "links")} == {
        "min": 0, "max": 1, "links": [{"title": "l", "url": "/d/x"}]}


def test_job_replaces_JOB_everywhere_and_the_job_variable_holds_it():
    s = spec([panel(title="JOB rate", exprs=[['up{job="JOB"}', "JOB"]])], title="Service: JOB", uid="svc-JOB",
             variables=["job", "instance"])
    dash = render(s, "checkout", "ds")
    assert (dash["title"], dash["uid"]) == ("Service: checkout", "svc-checkout")
    p = panels(dash)[0]
    assert (p["title"], p["targets"][0]["expr"]) == ("checkout rate", 'up{job="checkout"}')
    job, instance = dash["templating"]["list"]
    assert (job["type"], job["query"], job["current"]["value"]) == ("custom", "checkout", "checkout")
    assert instance["query"] == 'label_values(up{job="$job"}, instance)' and instance["includeAll"]
    assert s["uid"] == "svc-JOB", "the spec itself is left as it was"


def test_any_job_lists_the_services_but_the_collections_own_and_starts_on_the_first():
    dash = render(spec([panel()], variables=["any_job"]), "", "ds", ["api", "db"], "node|prometheus")
    (job,) = dash["templating"]["list"]
    assert job["query"] == 'label_values(up{job!~"node|prometheus"}, job)'
    assert job["current"] == {"text": "api", "value": "api"} and not job["multi"]
    assert render(spec([panel()], variables=["any_job"]))["templating"]["list"][0]["current"]["value"] == ""


def test_alert_job_picks_every_job_with_alerts():
    (job,) = render(spec([panel()], variables=["alert_job"]))["templating"]["list"]
    assert (job["query"], job["multi"], job["allValue"]) == ("label_values(ALERTS, job)", True, ".*")


def test_annotations_only_when_asked():
    assert render(spec([panel()]))["annotations"] == {"list": []}
    (anno,) = render(spec([panel()], annotations=True), datasource_uid="ds")["annotations"]["list"]
    assert anno["target"]["expr"] == 'ALERTS{alertstate="firing", job="$job"}' and anno["datasource"] == DS


def test_the_dashboard_frame():
    dash = render(spec([panel()], tags=["services"]))
    assert dash["tags"] == ["limen.monitoring", "services"] and dash["description"] == ""
    assert (dash["schemaVersion"], dash["editable"], dash["refresh"]) == (42, False, "30s")
    assert dash["links"][0]["tags"] == ["limen.monitoring"]


def test_every_spec_file_is_shipped_and_every_shipped_spec_exists():
    # A new shipped dashboard is one spec file plus one line in vars/main.yml.
    files = {p.name for p in (ROLE / "templates/dashboards").iterdir()}
    listed = {d["spec"] for d in yaml.safe_load((ROLE / "vars/main.yml").read_text())["__grafana_shipped_dashboards"]}
    assert files == listed
