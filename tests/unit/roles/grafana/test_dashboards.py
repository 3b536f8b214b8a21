"""What operators expect of the shipped dashboards, on the dashboards as the role renders them:
units, decimals and thresholds on every panel, rows, UP/DOWN colours, links, variables, alerts."""
# (tests/grafana_schema walks every link with promtool, in every layout.)

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "grafana_schema"))

from grafana_render import render  # noqa: E402


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    dashboards = render(tmp_path_factory.mktemp("grafana"))["dashboards"]
    return {d["uid"]: d for d in dashboards.values()}


def panels(dash):
    return [p for p in dash["panels"] if p["type"] != "row"]


RATE = re.compile(r"\bi?rate\(")
ROLE = Path(__file__).resolve().parents[4] / "roles/grafana"


def shipped_uids(jobs):
    """The uids the role's list of shipped dashboards gives with these inventory services (the
    lab inventory's, limen among them): each spec's uid (or its `set` one), per job for those
    written per job."""
    entries = yaml.safe_load((ROLE / "vars/main.yml").read_text())["__grafana_shipped_dashboards"]
    uids = set()
    for d in entries:
        text = (ROLE / "templates/dashboards" / d["spec"]).read_text()
        uid = d.get("set", {}).get("uid") or re.search(r"^uid: (\S+)$", text, re.M).group(1)
        uids |= {uid.replace("JOB", job) for job in jobs} if "JOB" in uid else {uid}
    return uids


def test_every_panel_has_unit_decimals_thresholds_and_sits_in_a_row(shipped):
    assert set(shipped) == shipped_uids(["limen", "service2"])
    for uid, dash in shipped.items():
        assert dash["panels"][0]["type"] == "row", uid
        ids = [p["id"] for p in dash["panels"]]
        assert len(ids) == len(set(ids)), uid
        for p in panels(dash):
            field = p["fieldConfig"]["defaults"]
            assert field["unit"], (uid, p["title"])
            # A rate leaves the decimals to Grafana (significant digits: 0.033/s stays 0.033);
            # levels and counts have fixed ones.
            if any(RATE.search(t["expr"]) for t in p["targets"]):
                assert "decimals" not in field, (uid, p["title"])
            else:
                assert isinstance(field["decimals"], int), (uid, p["title"])
            steps = field["thresholds"]["steps"]
            assert steps[0]["value"] is None and all(s["color"] for s in steps), (uid, p["title"])
            assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, (uid, p["title"])


def updown(panel):
    options = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
    return {k: (v["text"], v["color"]) for k, v in options.items()}


def test_overview_shows_up_down_in_colour_and_links_each_service(shipped):
    by_title = {p["title"]: p for p in panels(shipped["limen-overview"])}
    up = by_title["Targets up / down"]
    assert updown(up) == {"0": ("DOWN", "red"), "1": ("UP", "green")}
    assert up["fieldConfig"]["defaults"]["links"][0]["url"].startswith("/d/${__field.labels.dashboard}?var-job=")
    # The link's dashboard is a label of each tile: svc-JOB for the inventory's services, the
    # generic dashboard for other jobs; the collection's own jobs have no tile.
    assert up["targets"][0]["expr"] == (
        'label_replace(label_replace(up{job!~"prometheus|alertmanager|node|victoriametrics|blackbox"}, '
        '"dashboard", "limen-service", "", ""), "dashboard", "svc-$1", "job", "(limen|service2)")')
    assert by_title["Alerts firing"]["fieldConfig"]["defaults"]["links"][0]["url"].startswith("/d/limen-alerts")


def test_service_dashboards_have_job_and_instance_and_alert_annotations(shipped):
    for job, uid in (("limen", "svc-limen"), ("service2", "svc-service2"), ("limen", "limen-service")):
        dash = shipped[uid]
        variables = {v["name"]: v for v in dash["templating"]["list"]}
        assert variables["job"]["current"]["value"] == job
        assert variables["instance"]["includeAll"] and variables["instance"]["allValue"] == ".*"
        for p in panels(dash):
            for t in p["targets"]:
                assert 'job="$job"' in t["expr"] and 'instance=~"$instance"' in t["expr"], t["expr"]
        (note,) = dash["annotations"]["list"]
        assert note["target"]["expr"] == 'ALERTS{alertstate="firing", job="$job"}'


def test_alerts_dashboard_lists_firing_and_pending_with_state_and_age(shipped):
    by_title = {p["title"]: p for p in panels(shipped["limen-alerts"])}
    table = by_title["Active alerts, state and age"]
    assert "ALERTS_FOR_STATE" in table["targets"][0]["expr"] and table["targets"][0]["format"] == "table"
    assert table["transformations"][0]["options"]["renameByName"] == {"Value": "Age", "alertstate": "State"}
    assert {"Firing", "Pending"} <= set(by_title)


def test_limen_dashboard_shows_vms_running_vs_total_and_libvirt_in_colour(shipped):
    by_title = {p["title"]: p for p in panels(shipped["limen-vms"])}
    assert updown(by_title["libvirt connection"]) == {"0": ("DISCONNECTED", "red"), "1": ("CONNECTED", "green")}
    exprs = [t["expr"] for t in by_title["VMs running vs defined"]["targets"]]
    assert exprs == ['sum(vm_total{job="$job"})', 'sum(vm_running{job="$job"})']
    assert {"VM CPU usage", "VM memory usage", "VMs running / defined"} <= set(by_title)


def test_the_generic_service_dashboard_offers_every_job_but_the_collections_own(shipped):
    dash = shipped["limen-service"]
    assert [p["title"] for p in panels(dash)] == [p["title"] for p in panels(shipped["svc-limen"])]
    job = dash["templating"]["list"][0]
    assert (job["name"], job["type"], job["multi"], job["includeAll"]) == ("job", "query", False, False)
    assert job["query"] == 'label_values(up{job!~"prometheus|alertmanager|node|victoriametrics|blackbox"}, job)'
