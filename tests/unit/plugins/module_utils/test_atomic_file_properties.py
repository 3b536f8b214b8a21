"""Properties of the three file-writing modules (files, prometheus_targets, grafana_dashboard):

- all or nothing: a call with any bad entry (an unknown owner or group, a mode such as 0999,
  a file where a directory goes, a FIFO where a file goes) is refused and changes no byte,
  name, mode or hidden file; a call without one succeeds;
- no symlink followed: wherever a symlink is planted (destination, lock file, job file,
  folder of a tree a non-root user owns), nothing outside the module's directory changes.

The files module runs for real (its file, JSON arguments), the other two through their
module_utils entry points, which the modules call as they are.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile

from dashboard_helpers import dash, params, tree_digest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from module_runner import run_module

from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import DashboardError
from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import sync as dashboards
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import TargetError
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import sync as targets

# Each example of the files module starts a Python process: few examples, no deadline.
MODULE = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
NOBODY = 65534

GOOD = {"owner": [None, "root", "0"], "group": [None, "root", "0"], "mode": [None, "0640", "u=rw,g=r", "0755"]}
# Users and groups that do not exist are refused for real, not in check mode (an earlier task
# of the same run may create them); a malformed mode is refused in both.
BAD = {"owner": ["no-such-user", "root\n"], "group": ["no-such-group"], "mode": ["0999", "rwx", "u=rwz", "77777"]}


@st.composite
def attributes(draw):
    """(owner/group/mode of one entry, {check mode: whether a call with it must be refused})."""
    out, refused = {}, {True: False, False: False}
    for key in ("owner", "group", "mode"):
        if draw(st.integers(0, 5)) == 0:
            out[key] = draw(st.sampled_from(BAD[key]))
            refused[False] = True
            refused[True] = refused[True] or key == "mode"
        else:
            value = draw(st.sampled_from(GOOD[key]))
            if value is not None:
                out[key] = value
    return out, refused


@st.composite
def file_sets(draw):
    """Arguments of one files call below {t}, with the number of bad entries in it."""
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True))
    directories, files, bad = [], [], {True: False, False: False}
    for name in names:
        attrs, refused = draw(attributes())
        where = draw(st.sampled_from(["dir", "file", "blocked", "fifo"]))
        for check in bad:
            bad[check] = bad[check] or refused[check] or where in ("blocked", "fifo")
        if where == "dir":
            directories.append({"path": f"{{t}}/new/{name}", **attrs})
        elif where == "file":
            files.append({"path": f"{{t}}/new/{name}.conf", "content": f"{name}\n", **attrs})
        elif where == "blocked":  # a directory to make below a file
            directories.append({"path": f"{{t}}/blocker/{name}", **attrs})
        else:
            files.append({"path": "{t}/fifo", "content": "x", **attrs})
    files = list({f["path"]: f for f in files}.values())
    return {"directories": [{"path": "{t}/new"}] + directories, "files": files}, bad


def _world(tmp):
    with open(os.path.join(tmp, "blocker"), "w") as handle:
        handle.write("a file where a directory would go")
    os.mkfifo(os.path.join(tmp, "fifo"))
    with open(os.path.join(tmp, ".hidden"), "w") as handle:
        handle.write("hidden")


@MODULE
@given(file_sets(), st.booleans())
def test_files_is_all_or_nothing(case, check_mode):
    args, bad = case
    with tempfile.TemporaryDirectory() as tmp:
        _world(tmp)
        args = json.loads(json.dumps(args).replace("{t}", tmp))
        before = tree_digest(tmp)
        failed, result = run_module("files", args, check=check_mode)
        if failed:
            assert tree_digest(tmp) == before, f"refused ({result['msg']}) but something changed"
        assert failed == bad[check_mode], result.get("msg", result)
        if check_mode:
            assert tree_digest(tmp) == before, "check mode changed something"
        elif not failed:
            for item in args["directories"]:
                assert os.path.isdir(item["path"])
            for item in args["files"]:
                with open(item["path"], encoding="utf-8") as handle:
                    assert handle.read() == item["content"]


PLANTS = ["destination", "lock", "none"]


@MODULE
@given(st.sampled_from(PLANTS), st.booleans())
def test_files_never_writes_through_a_symlink(plant, check_mode):
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "d"))
        os.makedirs(os.path.join(tmp, "outside"))
        with open(os.path.join(tmp, "outside", "victim"), "w") as handle:
            handle.write("not yours")
        if plant == "destination":
            os.symlink(os.path.join(tmp, "outside", "victim"), os.path.join(tmp, "d", "app.conf"))
        elif plant == "lock":
            os.symlink(os.path.join(tmp, "outside", "created"), os.path.join(tmp, "d", ".limen.lock"))
        outside = tree_digest(os.path.join(tmp, "outside"))
        failed, result = run_module("files", {"files": [{"path": f"{tmp}/d/app.conf", "content": "new\n"}]},
                                    check=check_mode)
        assert tree_digest(os.path.join(tmp, "outside")) == outside
        assert failed == (plant == "destination"), result
        if failed:
            assert "is a symbolic link" in result["msg"]


@st.composite
def target_calls(draw):
    attrs, refused = draw(attributes())
    return {"directory": None, "job": None, "targets": [], "state": "present", "exclusive": False, "prune": True,
            "jobs": [{"name": n, "targets": [f"{n}:9100"]}
                     for n in draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True))],
            "mode": None, "owner": None, "group": None, **attrs}, refused


@FAST
@given(target_calls(), target_calls(), st.sampled_from(["lock", "job", "manifest", "none"]), st.booleans())
def test_prometheus_targets_all_or_nothing_and_no_symlink(first, second, plant, check_mode):
    with tempfile.TemporaryDirectory() as tmp:
        directory = os.path.join(tmp, "sd")
        os.makedirs(os.path.join(tmp, "outside"))
        call, _refused = first
        call = dict(call, directory=directory, owner=None, group=None, mode=None)
        targets(call)
        target = os.path.join(tmp, "outside", "victim.json")
        link = {"lock": ".limen.lock", "job": "a.json", "manifest": ".limen-targets.manifest"}.get(plant)
        if link:
            os.makedirs(directory, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(directory, link))
            os.symlink(target, os.path.join(directory, link))
        call, refused = second
        call = dict(call, directory=directory)
        before = tree_digest(tmp)
        try:
            targets(call, check_mode=check_mode)
        except TargetError as exc:
            assert tree_digest(tmp) == before, f"refused ({exc}) but something changed"
            assert refused[check_mode] or "symbolic link" in str(exc), str(exc)
            return
        assert not refused[check_mode], "a bad owner, group or mode was accepted"
        assert plant != "manifest", "a symlinked manifest was read"
        assert not os.path.lexists(target), "a file was created through a symlink"
        if check_mode:
            assert tree_digest(tmp) == before


@st.composite
def dashboard_calls(draw):
    attrs, refused = draw(attributes())
    boards = [{"folder": folder, "uid": f"u{i}", "dashboard": dash(f"Board {i}"), "state": "present"}
              for i, folder in enumerate(draw(st.lists(st.sampled_from(["", "Team", "Ops"]), max_size=3)))]
    return dict(attrs, dashboards=boards, prune=draw(st.booleans())), refused


@FAST
@given(dashboard_calls(), st.sampled_from(["lock", "folder", "file", "directory", "none"]), st.booleans(),
       st.booleans())
def test_grafana_dashboard_all_or_nothing_and_no_symlink(case, plant, user_owned, check_mode):
    kwargs, refused = case
    with tempfile.TemporaryDirectory() as tmp:
        grafana = os.path.join(tmp, "grafana")
        d = os.path.join(grafana, "dashboards")
        os.makedirs(os.path.join(d, "Real"))
        os.makedirs(os.path.join(tmp, "outside"))
        with open(os.path.join(tmp, "outside", "victim.json"), "w") as handle:
            json.dump(dict(dash("Victim"), uid="victim"), handle)
        owner = NOBODY if user_owned else 0
        for path in (grafana, d, os.path.join(d, "Real")):
            os.chown(path, owner, owner)
        directory = d
        if plant == "lock":
            os.symlink(os.path.join(tmp, "outside", "created"), os.path.join(d, ".limen.lock"))
        elif plant == "folder":  # points inside today; a non-root owner can repoint it any time
            os.symlink(os.path.join(d, "Real"), os.path.join(d, "Team"))
        elif plant == "file":
            os.symlink(os.path.join(tmp, "outside", "victim.json"), os.path.join(d, "u0.json"))
        elif plant == "directory":
            os.symlink(d, os.path.join(grafana, "linked"))
            directory = os.path.join(grafana, "linked")
        before, outside = tree_digest(tmp), tree_digest(os.path.join(tmp, "outside"))
        try:
            dashboards(params(directory, **kwargs), check_mode=check_mode)
        except DashboardError as exc:
            assert tree_digest(tmp) == before, f"refused ({exc}) but something changed"
            assert refused[check_mode] or any(word in str(exc) for word in (
                "symbolic link", "outside", "already provisioned")), str(exc)
            return
        assert tree_digest(os.path.join(tmp, "outside")) == outside
        assert not refused[check_mode], "a bad owner, group or mode was accepted"
        assert not (user_owned and plant == "directory"), "a symlinked directory in a user-owned tree was followed"
        assert not (user_owned and plant == "folder" and any(b["folder"] == "Team" for b in kwargs["dashboards"])), \
            "a symlinked folder in a user-owned tree was followed"
        if check_mode:
            assert tree_digest(tmp) == before
