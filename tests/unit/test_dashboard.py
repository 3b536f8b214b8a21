"""grafana_dashboard logic: normalisation, semantic idempotence, bad input."""

from __future__ import annotations

import json

import pytest

from ansible_collections.limen.monitoring.plugins.module_utils.dashboard import (
    DashboardError,
    derive_uid,
    normalise,
    parse,
    render,
    same,
)

GOOD = {"id": 12, "version": 7, "title": "LIMEN API", "panels": [
    {"datasource": "${DS_PROMETHEUS}", "targets": [{"expr": "up", "datasource": {"type": "prometheus", "uid": "x"}}]},
    {"datasource": {"type": "loki", "uid": "logs"}, "targets": []}]}


def test_normalise_drops_volatile_keys_and_points_datasources():
    out = normalise(GOOD, "t", "limen-prometheus", "Services")
    assert "id" not in out and "version" not in out
    assert out["uid"] == derive_uid("LIMEN API", "Services")
    assert out["uid"] == normalise(GOOD, "t", "limen-prometheus", "Services")["uid"], "uid must be stable"
    assert out["panels"][0]["datasource"] == {"type": "prometheus", "uid": "limen-prometheus"}
    assert out["panels"][0]["targets"][0]["datasource"]["uid"] == "limen-prometheus"
    assert out["panels"][1]["datasource"] == {"type": "loki", "uid": "logs"}, "non-Prometheus untouched"
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
    assert not same(render(dict(out, title="other")), out)


BAD = [
    ("[1, 2]", "a dashboard is a JSON object"),
    ('{"panels": []}', "missing 'title'"),
    ('{"title": "", "panels": []}', "missing 'title'"),
    ('{"title": "x"}', "missing 'panels'"),
    ('{"title": "x", "panels": [], "uid": "has space"}', "uid 'has space'"),
    ('{"title": "x", "panels": [], "uid": "' + "a" * 41 + '"}', "1-40 letters"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m for _, m in BAD])
def test_not_a_dashboard_is_refused(text, message):
    with pytest.raises(DashboardError, match=message.replace("(", r"\(").replace(")", r"\)")):
        normalise(parse(text, "d.json"), "d.json")


def test_syntax_error_names_file_and_line():
    with pytest.raises(DashboardError, match=r"team.json: invalid JSON at line 3, column"):
        parse('{\n  "title": "x",\n  "panels": [,]\n}', "team.json")


def test_resolve_requests_and_list_managed_files(tmp_path):
    from ansible_collections.limen.monitoring.plugins.module_utils.dashboard import managed_files, resolve

    path, uid, wanted = resolve({"folder": "Team", "json": json.dumps(GOOD)}, "dashboards[0]", str(tmp_path), "ds")
    assert path == str(tmp_path / "Team" / f"{uid}.json") and wanted["panels"][0]["datasource"]["uid"] == "ds"
    path, uid, wanted = resolve({"folder": "Team", "uid": "old", "state": "absent"}, "dashboards[1]", str(tmp_path))
    assert (uid, wanted) == ("old", None)
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
