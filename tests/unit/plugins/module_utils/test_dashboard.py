"""grafana_dashboard logic: normalisation, semantic idempotence, shared exports, bad JSON."""

from __future__ import annotations

import json
import re

import pytest
from dashboard_helpers import SHARED

from ansible_collections.limen.monitoring.plugins.module_utils.dashboard import (
    DashboardError,
    derive_uid,
    managed_files,
    normalise,
    parse,
    render,
    resolve,
    same,
    unresolved_inputs,
)

GOOD = {"id": 12, "version": 7, "title": "LIMEN API", "panels": [
    {"datasource": "Prometheus", "targets": [{"expr": "up", "datasource": {"type": "prometheus", "uid": "x"}}]},
    {"datasource": {"type": "loki", "uid": "logs"}, "targets": []},
    {"datasource": "${datasource}", "targets": []}],
    "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]}}


def test_normalise_drops_volatile_keys_and_points_datasources():
    out = normalise(GOOD, "t", "limen-prometheus", "Services")
    assert "id" not in out and "version" not in out
    assert out["uid"] == derive_uid("LIMEN API", "Services")
    assert out["uid"] == normalise(GOOD, "t", "limen-prometheus", "Services")["uid"], "uid must be stable"
    assert out["panels"][0]["datasource"] == {"type": "prometheus", "uid": "limen-prometheus"}
    assert out["panels"][0]["targets"][0]["datasource"]["uid"] == "limen-prometheus"
    assert out["panels"][1]["datasource"] == {"type": "loki", "uid": "logs"}, "non-Prometheus untouched"
    assert out["panels"][2]["datasource"] == "${datasource}", "a template variable is Grafana's to fill in"
    assert unresolved_inputs(out) == [], "a template variable is not an unresolved input"
    assert GOOD["id"] == 12, "input must not be mutated"


def test_existing_uid_is_kept_and_api_export_shape_accepted():
    out = normalise({"dashboard": dict(GOOD, uid="my-uid"), "meta": {}}, "t")
    assert out["uid"] == "my-uid"


def test_semantic_comparison_ignores_order_and_formatting():
    out = normalise(GOOD, "t", "ds")
    reordered = json.dumps(dict(reversed(list(out.items()))), indent=7)
    assert same(reordered, out)
    assert same(render(out), out)
    assert not same(None, out)
    assert not same("{broken", out)
    assert not same("[" * 100000, out), "a file nested too deeply differs, it does not crash"
    assert not same(render(dict(out, title="other")), out)


# A dashboard exported with "Export for sharing externally": Grafana's import fills in
# __inputs; its file provisioning does not.
PROM = {"type": "prometheus", "uid": "limen-prom"}

EXPORTS = [
    # (datasource_uid, panel index -> expected datasource, unresolved inputs)
    pytest.param("limen-prom", {0: PROM, 1: PROM, 2: PROM, 3: "${DS_LOKI}",
                                4: {"type": "loki", "uid": "${DS_LOKI}"}, 5: "${DS_OTHER}"},
                 [("DS_LOKI", "datasource loki"), ("DS_OTHER", "not declared in __inputs"),
                  ("VAR_ENV", "constant")], id="datasource given: Prometheus inputs filled, others left"),
    pytest.param(None, {0: "${DS_PROMETHEUS}", 1: {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                        3: "${DS_LOKI}"},
                 [("DS_LOKI", "datasource loki"), ("DS_OTHER", "not declared in __inputs"),
                  ("DS_PROMETHEUS", "datasource prometheus"), ("VAR_ENV", "constant")],
                 id="no datasource: everything left and reported"),
]


@pytest.mark.parametrize("ds,panels,unresolved", EXPORTS)
def test_a_shared_export_is_resolved_only_where_it_is_prometheus(ds, panels, unresolved):
    out = normalise(SHARED, "shared.json", ds)
    for index, expected in panels.items():
        assert out["panels"][index]["datasource"] == expected, index
    assert [(u["input"], u["type"]) for u in unresolved_inputs(out)] == unresolved
    if ds:
        assert out["templating"]["list"][0]["datasource"] == PROM
        assert out["templating"]["list"][0]["definition"] == "from limen-prom"
        assert [i["name"] for i in out["__inputs"]] == ["DS_LOKI", "VAR_ENV"], "only what is still open"
    else:
        assert out["__inputs"] == SHARED["__inputs"]


def test_an_export_whose_inputs_are_all_filled_loses_its_inputs():
    doc = dict(SHARED, __inputs=SHARED["__inputs"][:1], panels=SHARED["panels"][:3])
    out = normalise(doc, "shared.json", "limen-prom")
    assert "__inputs" not in out and unresolved_inputs(out) == []
    assert "${" not in render(out)


BAD = [
    ("[1, 2]", "a dashboard is a JSON object"),
    ('{"panels": []}', "missing 'title'"),
    ('{"title": "", "panels": []}', "missing 'title'"),
    ('{"title": " \\t", "panels": []}', "missing 'title'"),
    ('{"title": "a\\nb", "panels": []}', "title 'a\\nb' contains the control character U+000A"),
    ('{"title": "x"}', "missing 'panels'"),
    ('{"title": "x", "panels": [], "uid": "has space"}', "uid 'has space'"),
    ('{"title": "x", "panels": [], "uid": "abc\\n"}', "uid 'abc\\n'"),
    ('{"title": "x", "panels": [], "uid": "' + "a" * 41 + '"}', "1-40 letters"),
    ('{"title": "x", "panels": [], "uid": 7}', "uid 7 must be"),
    ('{"title": "x", "panels": [], "max": NaN}', "NaN is not JSON"),
    ('{"title": "x", "panels": [], "max": -Infinity}', "-Infinity is not JSON"),
    ('{"title": "x", "panels": ' + "[" * 100000 + "]" * 100000 + "}", "nested too deeply"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m for _, m in BAD])
def test_not_a_dashboard_is_refused(text, message):
    with pytest.raises(DashboardError, match="^d.json: .*" + re.escape(message)):
        normalise(parse(text, "d.json"), "d.json")


def test_syntax_error_names_file_and_line():
    with pytest.raises(DashboardError, match=r"team.json: invalid JSON at line 3, column"):
        parse('{\n  "title": "x",\n  "panels": [,]\n}', "team.json")


def test_resolve_requests_and_list_managed_files(tmp_path):
    r = resolve({"folder": "Team", "json": json.dumps(GOOD)}, "dashboards[0]", str(tmp_path), "ds")
    assert r["path"] == str(tmp_path / "Team" / f"{r['uid']}.json") and r["wanted"]["panels"][0]["datasource"]["uid"] == "ds"
    r = resolve({"folder": "Team", "uid": "old", "state": "absent"}, "dashboards[1]", str(tmp_path))
    assert (r["uid"], r["wanted"]) == ("old", None)
    with pytest.raises(DashboardError, match=r"dashboards\[2\]: state=absent needs uid"):
        resolve({"state": "absent"}, "dashboards[2]", str(tmp_path))
    with pytest.raises(DashboardError, match=r"dashboards\[3\]: give one of"):
        resolve({"folder": "x"}, "dashboards[3]", str(tmp_path))
    with pytest.raises(DashboardError, match=r"dashboards\[4\].json: invalid JSON at line 1"):
        resolve({"json": "{"}, "dashboards[4]", str(tmp_path))
    (tmp_path / "Team").mkdir()
    (tmp_path / "Team" / "a.json").write_text("{}")
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / "Team" / ".limen.lock").write_text("")
    (tmp_path / "Team" / "deep").mkdir()
    (tmp_path / "Team" / "deep" / "c.json").write_text("{}")
    assert managed_files(str(tmp_path)) == [str(tmp_path / "Team" / "a.json"), str(tmp_path / "b.json")]
