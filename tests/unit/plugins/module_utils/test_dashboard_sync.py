"""grafana_dashboard bad input, one row per case found by trying it as a new user would.

Every refused call is run in check mode and for real; neither may change a byte anywhere
(the dashboards directory and its neighbour `other/`, hashed before and after), and the
message must name the field and the value.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from dashboard_helpers import dash, params, tree_digest

from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import DashboardError, sync


@pytest.fixture
def world(tmp_path):
    """tmp/dashboards (the module's directory, one dashboard in Team) and tmp/other (must stay untouched)."""
    d = tmp_path / "dashboards"
    (d / "Team").mkdir(parents=True)
    (d / "Team" / "kept.json").write_text(json.dumps(dict(dash("Kept"), uid="kept")))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "victim.json").write_text('{"title": "not yours"}')
    (tmp_path / "victim.json").write_text('{"title": "not yours either"}')
    return tmp_path


def _symlink_folder_outside(w):
    (w / "dashboards" / "Linked").symlink_to(w / "other")


def _symlink_file_outside(w):
    (w / "dashboards" / "Team" / "victim.json").symlink_to(w / "other" / "victim.json")


def _file_instead_of_folder(w):
    (w / "dashboards" / "Flat").write_text("I am a file")


def _src_not_utf8(w):
    (w / "latin1.json").write_bytes('{"title": "Caf\u00e9", "panels": []}'.encode("latin-1"))


def _provisioned_elsewhere(w):
    (w / "dashboards" / "Ops").mkdir()
    (w / "dashboards" / "Ops" / "renamed.json").write_text(json.dumps(dict(dash("Old"), uid="shared-uid")))


ONE = {"json": json.dumps(dash())}
CASES = [
    # (id, setup, module parameters, message that must appear)
    ("absent uid traversal", None, {"uid": "../../other/victim", "state": "absent"},
     "uid: uid '../../other/victim' must be 1-40 letters"),
    ("absent uid absolute", None, {"uid": "/tmp/victim", "state": "absent"}, "uid: uid '/tmp/victim' must be"),
    ("absent folder ..", None, {"folder": "..", "uid": "victim", "state": "absent"},
     "folder: folder '..' is '.' or '..'"),
    ("present folder ..", None, {"folder": "..", **ONE}, "folder: folder '..' is '.' or '..'"),
    ("present folder .", None, {"folder": ".", **ONE}, "folder: folder '.' is '.' or '..'"),
    ("folder with slash", None, {"folder": "../other", **ONE}, "folder '../other' contains '/'"),
    ("folder absolute", None, {"folder": "/tmp", **ONE}, "folder '/tmp' contains '/'"),
    ("folder backslash", None, {"folder": "a\\b", **ONE}, "folder 'a\\\\b' contains '/' or '\\'"),
    ("present uid traversal", None, {"uid": "../victim", **ONE}, "uid: uid '../victim' must be"),
    ("uid in the JSON", None, {"json": json.dumps(dict(dash(), uid="../victim"))}, "json: uid '../victim' must be"),
    ("uid trailing newline", None, {"uid": "abc\n", **ONE}, "uid: uid 'abc\\n' must be"),
    ("uid trailing newline absent", None, {"uid": "abc\n", "state": "absent"}, "uid: uid 'abc\\n' must be"),
    ("folder trailing newline", None, {"folder": "Team\n", **ONE},
     "folder: folder 'Team\\n' contains the control character U+000A"),
    ("folder NUL", None, {"folder": "Te\0am", **ONE}, "folder 'Te\\x00am' contains the control character U+0000"),
    ("folder trailing space", None, {"folder": "Team ", **ONE}, "folder 'Team ' starts or ends with whitespace"),
    ("folder line separator", None, {"folder": "a\u2028b", **ONE}, "contains the line separator U+2028"),
    ("folder 101 characters", None, {"folder": "f" * 101, **ONE},
     f"folder {'f' * 101!r} is 101 characters long; at most 100 are allowed"),
    ("folder 100 characters, 400 bytes", None, {"folder": "\U0001F600" * 100, **ONE},
     "is 400 bytes in UTF-8; a file name has at most 255"),
    ("folder named like the lock file", None, {"folder": ".limen.lock", **ONE},
     "folder: folder '.limen.lock' is the name of the module's lock file"),
    ("uid empty", None, {"uid": "", **ONE}, "uid: uid '' must be"),
    ("uid 41 characters", None, {"uid": "u" * 41, **ONE}, "must be 1-40 letters"),
    ("folder symlinked outside, present", _symlink_folder_outside, {"folder": "Linked", "uid": "victim", **ONE},
     "resolves to"),
    ("folder symlinked outside, absent", _symlink_folder_outside,
     {"folder": "Linked", "uid": "victim", "state": "absent"}, "outside"),
    ("file symlinked outside, absent", _symlink_file_outside, {"folder": "Team", "uid": "victim", "state": "absent"},
     "other/victim.json, outside"),
    ("file symlinked outside, present", _symlink_file_outside, {"folder": "Team", "uid": "victim", **ONE},
     "other/victim.json, outside"),
    ("relative directory", None, {"directory": "dashboards", **ONE}, "directory: 'dashboards' must be an absolute"),
    ("same uid, two folders", None,
     {"dashboards": [{"folder": "A", "uid": "one", **ONE}, {"folder": "B", "uid": "one", **ONE}]},
     "dashboards[1]: uid 'one' in folder 'B' is also given by dashboards[0] in folder 'A'; uids are global"),
    ("same uid, same folder", None,
     {"dashboards": [{"folder": "A", "uid": "one", **ONE}, {"folder": "A", "uid": "one", "state": "absent"}]},
     "dashboards[1]: uid 'one' in folder 'A' is also given by dashboards[0]"),
    ("same uid derived twice", None, {"dashboards": [ONE, ONE]}, "dashboards[1]: uid 'team-overview-"),
    ("uid provisioned in another folder", None, {"folder": "Ops", "uid": "kept", **ONE},
     "uid 'kept' (folder 'Ops') is already provisioned in {d}/Team/kept.json"),
    ("uid inside another folder's file", _provisioned_elsewhere, {"folder": "Team", "uid": "shared-uid", **ONE},
     "is already provisioned in {d}/Ops/renamed.json"),
    ("uid provisioned elsewhere, list", None, {"dashboards": [{"folder": "Ops", "uid": "kept", **ONE}]},
     "dashboards[0]: uid 'kept' (folder 'Ops') is already provisioned in {d}/Team/kept.json"),
    ("src is a directory", None, {"src": "{w}/other"}, "src: {w}/other is a directory, not a dashboard JSON file"),
    ("src not UTF-8", _src_not_utf8, {"src": "{w}/latin1.json"},
     "src: {w}/latin1.json is not UTF-8 text (byte 0xe9 at offset 14)"),
    ("src missing", None, {"src": "{w}/missing.json"}, "src: {w}/missing.json does not exist"),
    ("a file where the folder should be", _file_instead_of_folder, {"folder": "Flat", **ONE},
     "{d}/Flat is a file where a directory should be"),
    ("the directory is a file", None, {"directory": "{w}/victim.json", **ONE},
     "{w}/victim.json is a file where a directory should be"),
    ("title with a newline", None, {"json": json.dumps(dash("Team\n"))},
     "json: title 'Team\\n' contains the control character U+000A"),
    ("title blank", None, {"dashboard": dash("  ")}, "dashboard: missing 'title' (a non-empty string), got title '  '"),
    ("NaN in a dict", None, {"dashboard": dash(max=float("nan"))}, "dashboard: not JSON data: Out of range float"),
    ("NaN in JSON", None, {"json": '{"title": "x", "panels": [], "max": NaN}'}, "json: NaN is not JSON"),
    ("nothing to write", None, {"folder": "Team"}, "give one of dashboard, json or src"),
]


def _fill(value, w):
    if isinstance(value, str):
        return value.replace("{w}", str(w)).replace("{d}", str(w / "dashboards"))
    if isinstance(value, list):
        return [_fill(v, w) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, w) for k, v in value.items()}
    return value


@pytest.mark.parametrize("setup,args,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "real"])
def test_refused_with_a_message_and_nothing_changed(world, setup, args, message, check_mode):
    if setup:
        setup(world)
    args = _fill(args, world)
    p = params(args.pop("directory", world / "dashboards"), **args)
    before = tree_digest(world)
    with pytest.raises(DashboardError, match=re.escape(_fill(message, world))):
        sync(p, check_mode=check_mode, want_diff=True)
    assert tree_digest(world) == before, "a refused call changed something on disk"


# ---- what is accepted, and what it does ----
def test_a_move_between_folders_in_one_call_is_allowed(world):
    d = world / "dashboards"
    r = sync(params(d, dashboards=[{"folder": "Team", "uid": "kept", "state": "absent"},
                                   {"folder": "Ops", "uid": "kept", **ONE}]))
    assert r["changed"] and r["removed"] == [str(d / "Team" / "kept.json")]
    assert (d / "Ops" / "kept.json").exists() and not (d / "Team" / "kept.json").exists()


def test_prune_lets_a_uid_move_to_another_folder(world):
    d = world / "dashboards"
    r = sync(params(d, prune=True, dashboards=[{"folder": "Ops", "uid": "kept", **ONE}]))
    assert r["removed"] == [str(d / "Team" / "kept.json")] and (d / "Ops" / "kept.json").exists()


def test_a_symlink_inside_the_directory_is_followed_only_inside(world):
    d = world / "dashboards"
    (d / "Alias").symlink_to(d / "Team")
    r = sync(params(d, folder="Alias", uid="new", **ONE))
    assert r["changed"] and (d / "Team" / "new.json").exists()


def test_prune_removes_a_symlink_but_never_what_it_points_at(world):
    d = world / "dashboards"
    (d / "link.json").symlink_to(world / "other" / "victim.json")
    (d / "Linked").symlink_to(world / "other")
    outside = tree_digest(world / "other")
    r = sync(params(d, prune=True, dashboards=[]), want_diff=True)
    assert str(d / "link.json") in r["removed"] and not os.path.lexists(d / "link.json")
    assert "not yours" not in json.dumps(r["diff"]), "the diff must not show a file outside the directory"
    assert tree_digest(world / "other") == outside


def test_a_file_that_is_not_utf8_is_replaced_not_a_crash(world):
    d = world / "dashboards"
    (d / "Team" / "kept.json").write_bytes(b'{"title": "\xff"}')
    r = sync(params(d, folder="Team", uid="kept", **ONE))
    assert r["changed"] and json.loads((d / "Team" / "kept.json").read_text())["uid"] == "kept"


def test_a_directory_where_the_dashboard_file_should_be(world):
    (world / "dashboards" / "Team" / "x.json").mkdir()
    with pytest.raises(DashboardError, match=re.escape(f"{world}/dashboards/Team/x.json is a directory")):
        sync(params(world / "dashboards", folder="Team", uid="x", **ONE), check_mode=True)


def test_check_mode_writes_nothing_and_predicts(world):
    d = world / "dashboards"
    fresh = world / "fresh" / "dashboards"
    r = sync(params(fresh, folder="Team", **ONE), check_mode=True, want_diff=True)
    assert r["changed"] and r["diff"][0]["after"] and not (world / "fresh").exists()
    before = tree_digest(world)
    r = sync(params(d, prune=True, dashboards=[{"folder": "New", **ONE}]), check_mode=True)
    assert r["changed"] and r["removed"] == [str(d / "Team" / "kept.json")]
    assert tree_digest(world) == before, "check mode wrote (a lock file, a temp file, a dashboard)"
    sync(params(d, prune=True, dashboards=[{"folder": "New", **ONE}]))
    converged = tree_digest(world)
    for check in (True, False):
        assert not sync(params(d, prune=True, dashboards=[{"folder": "New", **ONE}]), check_mode=check)["changed"]
    assert tree_digest(world) == converged
    assert not [f for f in os.listdir(d / "New") if f.startswith(".tmp-")]


def test_shared_export_warns_and_reports_what_is_left(world):
    d = world / "dashboards"
    from dashboard_helpers import SHARED

    r = sync(params(d, folder="Shared", dashboard=SHARED, datasource_uid="limen-prom"))
    assert r["unresolved"] == [{"uid": "shared", "path": str(d / "Shared" / "shared.json"), "inputs": [
        {"input": "DS_LOKI", "type": "datasource loki"}, {"input": "DS_OTHER", "type": "not declared in __inputs"},
        {"input": "VAR_ENV", "type": "constant"}]}]
    assert len(r["warnings"]) == 1 and "dashboard 'shared' is an export for sharing and still holds ${DS_LOKI}" \
        in r["warnings"][0] and "Give datasource_uid" not in r["warnings"][0]
    r = sync(params(d, folder="Shared", dashboard=SHARED))
    assert "${DS_PROMETHEUS} (datasource prometheus)" in r["warnings"][0]
    assert r["warnings"][0].endswith("Give datasource_uid to fill in its Prometheus datasource inputs.")
    r = sync(params(d, folder="Team", uid="kept", **ONE))
    assert r["unresolved"] == [] and r["warnings"] == []
