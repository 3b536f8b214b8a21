"""dashboard_sync on bad input: FIFOs, symlinks in a user's tree, duplicate titles.

Each case runs for real: hangs are caught by a timeout (a FIFO or /dev/zero that is opened
blocks or never ends), tracebacks by run_module, "nothing changed" by a digest of the whole tree.
"""

from __future__ import annotations

import os
import unicodedata

import pytest
from dashboard_helpers import dash, params, tree_digest

from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import DashboardError
from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import sync as dashboards

NOBODY = 65534


def test_dashboard_fifos_are_refused(tmp_path):
    d = tmp_path / "dashboards"
    d.mkdir()
    os.mkfifo(d / "foreign.json")
    os.mkfifo(tmp_path / "src.json")
    before = tree_digest(tmp_path)
    with pytest.raises(DashboardError, match="foreign.json is a FIFO .* where a dashboard file should be"):
        dashboards(params(d, prune=True, dashboards=[]))
    for src in (str(tmp_path / "src.json"), "/dev/zero"):
        with pytest.raises(DashboardError, match=f"src: {src} is a (FIFO|character device)"):
            dashboards(params(tmp_path / "other", src=src))
    assert tree_digest(tmp_path) == before


def test_a_symlink_in_a_tree_a_user_owns_is_refused(tmp_path):
    grafana = tmp_path / "grafana"
    (grafana / "dashboards" / "Ops").mkdir(parents=True)
    os.chown(grafana, NOBODY, NOBODY)
    os.chown(grafana / "dashboards", NOBODY, NOBODY)
    # Inside the tree today; the grafana user can point it anywhere tomorrow (or between check and write).
    (grafana / "dashboards" / "Team").symlink_to(grafana / "dashboards" / "Ops")
    (grafana / "linked").symlink_to(grafana / "dashboards")
    before = tree_digest(tmp_path)
    with pytest.raises(DashboardError, match=f"folder 'Team': {grafana}/dashboards/Team is a symbolic link in a "
                                             "directory a user other than root can change"):
        dashboards(params(grafana / "dashboards", folder="Team", uid="nologin", dashboard=dash()))
    with pytest.raises(DashboardError, match=f"{grafana}/linked is a symbolic link in a directory a user other"):
        dashboards(params(grafana / "linked", prune=True, dashboards=[]))
    assert tree_digest(tmp_path) == before


def test_a_folder_swapped_for_a_symlink_after_the_check_is_not_followed(tmp_path, monkeypatch):
    """The race: the check saw a real folder; the write must still not go through a link."""
    from ansible_collections.limen.monitoring.plugins.module_utils import dashboard_sync

    d = tmp_path / "dashboards"
    (d / "Team").mkdir(parents=True)
    (tmp_path / "etc").mkdir()
    os.chown(d, NOBODY, NOBODY)
    real_disk_plan = dashboard_sync._disk_plan

    def swap_then_plan(*args):
        if (d / "Team").is_dir() and not (d / "Team").is_symlink():
            os.rmdir(d / "Team")
            (d / "Team").symlink_to(tmp_path / "etc")
        return real_disk_plan(*args)

    monkeypatch.setattr(dashboard_sync, "_disk_plan", swap_then_plan)
    with pytest.raises(DashboardError, match="Team is a symbolic link in a directory that uid 65534"):
        dashboards(params(d, folder="Team", uid="nologin", dashboard=dash()))
    assert os.listdir(tmp_path / "etc") == []


def test_two_dashboards_with_one_title_in_a_folder_are_refused(tmp_path):
    d = tmp_path / "d"
    with pytest.raises(DashboardError, match="dashboards\\[1\\]: title 'Same' in folder 'Team' is also the title of "
                                             "dashboards\\[0\\]"):
        dashboards(params(d, dashboards=[{"folder": "Team", "dashboard": dash("Same")},
                                         {"folder": "Team", "uid": "other", "dashboard": dash("Same")}]))
    dashboards(params(d, folder="Team", dashboard=dash("Same")))
    with pytest.raises(DashboardError, match="title 'Same' is already the title of .*Team/same-"):
        dashboards(params(d, folder="Team", uid="another", dashboard=dash("Same")))
    dashboards(params(d, folder="Ops", uid="another", dashboard=dash("Same")))  # another folder: fine


def test_look_alike_folders_are_refused(tmp_path):
    nfd = unicodedata.normalize("NFD", "Café")
    with pytest.raises(DashboardError, match="is not in Unicode NFC form; write it as 'Café'"):
        dashboards(params(tmp_path, folder=nfd, dashboard=dash()))
    (tmp_path / nfd).mkdir()
    with pytest.raises(DashboardError, match="folder 'Café' looks the same as the existing folder"):
        dashboards(params(tmp_path, folder="Café", dashboard=dash()))


@pytest.mark.parametrize("uid", ["prometheus\n", "prometheus ", " prometheus", ""])
def test_datasource_uid_with_whitespace_is_refused(tmp_path, uid):
    with pytest.raises(DashboardError, match=f"datasource_uid: {uid!r} must be 1-40 letters".replace("\\", "\\\\")):
        dashboards(params(tmp_path, datasource_uid=uid, dashboard=dash()))
    assert os.listdir(tmp_path) == []
