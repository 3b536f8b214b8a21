"""Every dashboard the grafana role writes, in every layout the scenarios run, type-checks
against Grafana's published schema (the pinned @grafana/schema and
@grafana/grafana-foundation-sdk), keeps its values in Grafana's own lists (@grafana/data) and
links only to dashboards the role writes; broken dashboards fail with the JSON path named; a
checker whose types are gone fails instead of passing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from check import HERE, check
from grafana_render import EXTRA_JOB, LAYOUTS, SELF_REGISTERED_JOB, render_layout
from links import walk

from ansible_collections.limen.monitoring.plugins.module_utils.dashboard import normalise

CUSTOM = sorted((HERE / "custom").glob("*.json"))
SCHEMA_DEFAULTS = HERE / "node_modules/@grafana/schema/dist/esm/raw/dashboard/x/types.gen.mjs"


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def rendered(request, tmp_path_factory):
    custom = [{"folder": "Team", "file": str(f)} for f in CUSTOM]
    return render_layout(tmp_path_factory.mktemp(request.param), request.param, {"grafana_custom_dashboards": custom})


def test_every_dashboard_the_role_writes_matches_grafanas_schema_and_lists(rendered):
    names = set(rendered["dashboards"])
    assert {"limen.monitoring/limen-overview.json", "limen.monitoring/limen-alerts.json",
            "limen.monitoring/limen-vms.json", "Services/svc-limen.json", "Services/svc-service2.json",
            "Services/limen-service.json", "Team/team-api.json", "Team/team-latency-logs.json",
            "Team/team-core-panels.json"} <= names, names
    assert check(rendered["dashboards"], rendered["vars"]["evaluation_interval"]) == []


def test_custom_dashboards_hold_every_core_panel_type_the_checker_knows(rendered):
    # Each panel type of schema.ts (Grafana's core panels) appears in a custom dashboard, so the
    # test above proves that a team's dashboard using it is accepted, not only the shipped types.
    known = set(re.findall(r'^  "?([\w-]+)"?: PanelOf<', (HERE / "schema.ts").read_text(), re.M))
    assert {"heatmap", "logs", "canvas", "geomap", "flamegraph"} <= known, known
    used = {p["type"] for name, dash in rendered["dashboards"].items() if name.startswith("Team/")
            for p in dash["panels"]}
    assert known <= used, sorted(known - used)


def test_custom_dashboards_read_the_data_source_the_role_gives_them(rendered):
    # The HA layout's default is the long-term store: the shipped and the custom dashboards read it.
    want = rendered["vars"]["datasource_uid"]
    assert want == ("limen-longterm" if rendered["layout"] == "ha" else "limen-prometheus")
    for name, dash in rendered["dashboards"].items():
        uids = {t["datasource"]["uid"] for p in dash["panels"] for t in p.get("targets", [])}
        assert uids <= {want}, (name, uids)


def jobs_scraped(rendered):
    """Every job Prometheus has in this layout: own, inventory, extra scrape config, self-registered."""
    extra = [c["job_name"] for c in rendered["extra"]["prometheus_scrape_configs_extra"]]
    assert extra == [EXTRA_JOB]
    return rendered["vars"]["own_jobs"] + rendered["vars"]["service_jobs"] + extra + [SELF_REGISTERED_JOB]


def test_every_link_leads_to_a_dashboard_the_role_writes(rendered):
    errors, resolved = walk(rendered["dashboards"], jobs_scraped(rendered))
    assert errors == []
    services, own = rendered["vars"]["service_jobs"], rendered["vars"]["own_jobs"]
    tiles = {}
    for name, path, labels, uid in resolved:
        if name.endswith("limen-overview.json") and "job" in labels:
            tiles.setdefault(path, {})[labels["job"]] = uid
    # Both availability panels: a tile for every service, none for the collection's own jobs.
    assert len(tiles) == 2, tiles
    for path, by_job in tiles.items():
        assert by_job == {**{job: f"svc-{job}" for job in services},
                          EXTRA_JOB: "limen-service", SELF_REGISTERED_JOB: "limen-service"}, path
        assert not set(by_job) & set(own)


def test_the_link_walk_finds_a_dead_link(rendered):
    # The overview as it once was: a tile's link made from its job, own jobs not all left out.
    overview = json.loads(json.dumps(next(d for n, d in rendered["dashboards"].items() if n.endswith("limen-overview.json"))))
    tile = overview["panels"][1]
    tile["fieldConfig"]["defaults"]["links"][0]["url"] = "/d/svc-${__field.labels.job}?${__url_time_range}"
    tile["targets"][0]["expr"] = 'up{job!~"prometheus|alertmanager|node"}'
    errors, _ = walk({**rendered["dashboards"], "old-overview": overview}, jobs_scraped(rendered))
    dead = {e.split(" for job ")[1].split(" ")[0] for e in errors if e.startswith("old-overview: panels[1]")}
    assert dead == {"victoriametrics", "blackbox", EXTRA_JOB, SELF_REGISTERED_JOB}, errors


def test_schema_version_is_the_one_the_pinned_grafana_writes(rendered):
    current = int(re.search(r"schemaVersion: (\d+)", SCHEMA_DEFAULTS.read_text())[1])
    assert current >= 42
    for name, dash in rendered["dashboards"].items():
        if not name.startswith("Team/"):
            assert dash["schemaVersion"] == current, name


def test_no_time_series_option_on_other_panel_types(rendered):
    for name, dash in rendered["dashboards"].items():
        for panel in dash["panels"]:
            if panel["type"] in ("stat", "table"):
                assert "legend" not in panel.get("options", {}), (name, panel["title"])


# file -> (JSON path the error must name, words the message must hold)
BAD = {
    "legend_on_stat": ("panels[1].options.legend", "'legend' does not exist"),
    "removed_graph_panel": ("panels[0].type", '"graph"'),
    "wrong_enum_tooltip_mode": ("panels[0].options.tooltip.mode", '"shared"'),
    "wrong_type_grid_width": ("panels[0].gridPos.w", "'string' is not assignable to type 'number'"),
    "unknown_dashboard_key": ("refreshInterval", "'refreshInterval' does not exist"),
    "unknown_custom_field_option": ("panels[0].fieldConfig.defaults.custom.lineWidht", "'lineWidht' does not exist"),
    "wrong_query_format": ("panels[0].targets[0].format", '"tabel"'),
    "unknown_query_key": ("panels[1].targets[0].query", "'query' does not exist"),
    "wrong_mapping_key": ('panels[1].fieldConfig.defaults.mappings[0].options["0"].colour', "'colour' does not exist"),
    "wrong_threshold_mode": ("panels[1].fieldConfig.defaults.thresholds.mode", '"absolut"'),
    "wrong_variable_hide": ("templating.list[0].hide", "'5' is not assignable"),
    "stat_missing_required_option": ("panels[1].options", "colorMode"),
    # Values the published types leave as plain strings or numbers, against Grafana's own lists.
    "wrong_reducer_id": ("panels[1].options.reduceOptions.calcs[0]", "'meanX' is not a reducer id"),
    "wrong_unit_id": ("panels[0].fieldConfig.defaults.unit", "'reqsp' is not a unit id"),
    "wrong_matcher_id": ("panels[0].fieldConfig.overrides[0].matcher.id", "'byNam' is not a field matcher id"),
    "thresholds_out_of_order": ("panels[1].fieldConfig.defaults.thresholds.steps[2].value", "70 after 90"),
    "rate_with_zero_decimals": ("panels[0].fieldConfig.defaults.decimals", "(0.033/s) shows as 0;"),
    "rate_with_two_decimals_in_override": ("panels[0].fieldConfig.overrides[0].properties[0].value",
                                           "(0.033/s) shows as 0.03;"),
}


def test_every_bad_fixture_is_listed():
    assert {p.stem for p in (HERE / "bad").glob("*.json")} == set(BAD)


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_broken_dashboard_fails_with_its_json_path(name):
    path, words = BAD[name]
    doc = normalise(json.loads((HERE / "bad" / f"{name}.json").read_text()), name, "limen-prometheus")
    errors = check({name: doc})
    assert errors, f"{name} passed the schema check"
    assert any(e.startswith(f"{name}: {path}: ") and words in e for e in errors), errors


def test_all_bad_fixtures_at_once_each_report_their_own_error():
    docs = {p.stem: normalise(json.loads(p.read_text()), p.stem, "x") for p in (HERE / "bad").glob("*.json")}
    errors = check(docs)
    assert {e.split(":", 1)[0] for e in errors} == set(BAD), errors


def _with_schema(tmp_path, monkeypatch, old, new):
    text = (HERE / "schema.ts").read_text()
    assert old in text
    import check as checker
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "schema.ts").write_text(text.replace(old, new))
    (fake / "tsconfig.json").write_text((HERE / "tsconfig.json").read_text())
    (fake / "node_modules").symlink_to(HERE / "node_modules")
    monkeypatch.setattr(checker, "HERE", fake)
    return checker


def test_a_type_that_moved_breaks_the_checker(tmp_path, monkeypatch):
    checker = _with_schema(tmp_path, monkeypatch, "panelcfg/x/StatPanelCfg_types.gen", "panelcfg/x/Moved_types.gen")
    errors = checker.check({"team": json.loads(CUSTOM[0].read_text())})
    assert any(e.startswith("tsc: ") and "Moved_types.gen" in e for e in errors), errors


def test_a_type_that_became_any_breaks_the_checker(tmp_path, monkeypatch):
    checker = _with_schema(tmp_path, monkeypatch, "NotAny<stat.Options>", "NotAny<any>")
    errors = checker.check({"team": json.loads(CUSTOM[0].read_text())})
    assert any(e.startswith("tsc: ") and "degenerated to any" in e for e in errors), errors


def test_missing_compiler_is_an_error(tmp_path, monkeypatch):
    import check as checker
    monkeypatch.setattr(checker, "TSC", tmp_path / "no-tsc")
    with pytest.raises(RuntimeError, match="npm ci"):
        checker.check({})
    assert Path(checker.__file__).parent == HERE
