"""Grafana's provisioning files and dashboards, as the role renders them, checked against the
rules Grafana applies when it loads them; a broken file of each kind proves the check catches it."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
SCHEMA = HERE.parents[2] / "grafana_schema"
sys.path.insert(0, str(SCHEMA))

from grafana_render import render, render_layout  # noqa: E402
from provisioning import check_dashboards, check_datasources, check_providers  # noqa: E402

ROLE = HERE.parents[3] / "roles" / "grafana"


def created_dirs(variables):
    """The directories the role creates (tasks/configure.yml), with its variables filled in."""
    tasks = yaml.safe_load((ROLE / "tasks" / "configure.yml").read_text())
    task = next(t for t in tasks if "limen.monitoring.files" in t)
    out = set()
    for entry in task["limen.monitoring.files"]["directories"]:
        path = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: variables[m[1]], entry["path"])
        assert "{" not in path, f"cannot resolve {entry['path']}"
        out.add(path.rstrip("/"))
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    custom = [{"folder": "Team", "file": str(f)} for f in sorted((SCHEMA / "custom").glob("*.json"))]
    return render(tmp_path_factory.mktemp("grafana"), {"grafana_custom_dashboards": custom})


def test_rendered_datasources_follow_grafanas_rules(rendered):
    assert check_datasources(rendered["datasources"]) == []
    defaults = [d["name"] for d in rendered["datasources"]["datasources"] if d.get("isDefault")]
    assert defaults == ["Prometheus"]


def test_rendered_datasources_with_basic_auth_follow_grafanas_rules(tmp_path):
    # Web users on Prometheus: Grafana's data source authenticates as the internal user.
    out = render(tmp_path, {"prometheus_web_users": {"limen-internal": "s3cret-internal-pw"}})
    assert check_datasources(out["datasources"]) == []
    assert out["datasources"]["datasources"][0]["basicAuthUser"] == "limen-internal"


def test_rendered_provider_points_at_a_directory_the_role_creates(rendered):
    dirs = created_dirs(rendered["vars"])
    assert "/var/lib/grafana/dashboards" in dirs
    assert check_providers(rendered["provider"], dirs) == []


def test_every_dashboard_reference_resolves_and_uids_are_unique(rendered):
    assert len(rendered["dashboards"]) >= 8
    assert check_dashboards(rendered["dashboards"], rendered["datasources"]) == []


def test_ha_layout_reads_the_long_term_store_in_every_dashboard_custom_ones_too(tmp_path):
    custom = [{"folder": "Team", "file": str(f)} for f in sorted((SCHEMA / "custom").glob("*.json"))]
    out = render_layout(tmp_path, "ha", {"grafana_custom_dashboards": custom})
    assert check_datasources(out["datasources"]) == []
    defaults = [d["uid"] for d in out["datasources"]["datasources"] if d.get("isDefault")]
    assert defaults == ["limen-longterm"] == [out["vars"]["datasource_uid"]]
    assert any(name.startswith("Team/") for name in out["dashboards"])
    assert check_dashboards(out["dashboards"], out["datasources"]) == []


BAD_PROVISIONING = {
    "datasources_two_defaults.yml": (check_datasources, "only one default data source per organisation"),
    "datasources_unknown_key.yml": (check_datasources, "datasources[0].default: unknown key"),
    "datasources_bad_access.yml": (check_datasources, "datasources[0].access: must be proxy or direct"),
    "provider_path_not_created.yml": (check_providers, "/var/lib/grafana/dashbaords is not a directory the role creates"),
    "provider_unknown_key.yml": (check_providers, "providers[0].allowUiUpdate: unknown key"),
    "provider_folder_and_structure.yml": (check_providers, "foldersFromFilesStructure cannot be combined"),
}


def test_every_bad_provisioning_fixture_is_listed():
    assert {p.name for p in (SCHEMA / "bad").glob("*.yml")} == set(BAD_PROVISIONING)


@pytest.mark.parametrize("name", sorted(BAD_PROVISIONING))
def test_a_broken_provisioning_file_is_caught(rendered, name):
    func, words = BAD_PROVISIONING[name]
    doc = yaml.safe_load((SCHEMA / "bad" / name).read_text())
    args = (doc, created_dirs(rendered["vars"]), name) if func is check_providers else (doc, name)
    errors = func(*args)
    assert any(words in e for e in errors), errors
    assert all(e.startswith(name) for e in errors), errors


def test_broken_dashboard_references_and_uids_are_caught(rendered):
    good = rendered["dashboards"]["Team/team-api.json"]
    loki = json.loads(json.dumps(good))
    loki["uid"] = "team-logs"
    loki["panels"][0]["datasource"] = {"type": "loki", "uid": "logs"}
    wrong_type = json.loads(json.dumps(good))
    wrong_type["uid"] = "team-wrong-type"
    wrong_type["panels"][1]["targets"][0]["datasource"] = {"type": "alertmanager", "uid": "limen-prometheus"}
    by_name = dict(json.loads(json.dumps(good)), uid="team-by-name")
    by_name["panels"][0]["datasource"] = "Prometheus"
    twice = dict(good, title="Copy")
    long_uid = dict(good, uid="x" * 41)
    errors = check_dashboards({"a/logs.json": loki, "a/type.json": wrong_type, "a/name.json": by_name,
                               "a/good.json": good, "a/twice.json": twice, "a/long.json": long_uid},
                              rendered["datasources"])
    expected = [
        "a/logs.json.panels[0].datasource: {'type': 'loki', 'uid': 'logs'} is not a provisioned data source",
        "a/type.json.panels[1].targets[0].datasource: {'type': 'alertmanager', 'uid': 'limen-prometheus'} is not a provisioned",
        "a/name.json.panels[0].datasource: 'Prometheus' is not a {type, uid} reference",
        "a/twice.json.uid: 'team-api' is also the uid of a/good.json",
        "a/long.json.uid: '" + "x" * 41 + "' must be 1-40 letters",
    ]
    for words in expected:
        assert any(e.startswith(words) for e in errors), (words, errors)
    assert len(errors) == len(expected), errors
