"""Bad input, second round: one case (at least) per finding, each run for real.

Hangs are caught by a timeout (a FIFO or /dev/zero that is opened blocks or never ends);
tracebacks by run_module, which fails on one; "nothing changed" by a digest of the whole
tree (names, modes, symlink targets, bytes), hidden files included.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import unicodedata

import pytest
from dashboard_helpers import dash, params, tree_digest
from file_states import immutable
from module_runner import run_module

from ansible_collections.limen.monitoring.plugins.module_utils import validate
from ansible_collections.limen.monitoring.plugins.module_utils.alert_path import UnexpectedShape, records
from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import DashboardError
from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import sync as dashboards
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import TargetError
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import sync as targets
from ansible_collections.limen.monitoring.plugins.modules import alert_path_check

NOBODY = 65534


def sd(directory, **kw):
    base = {"directory": str(directory), "job": "app", "targets": ["a:1"], "state": "present", "exclusive": False,
            "jobs": None, "prune": False, "mode": None, "owner": None, "group": None}
    return {**base, **kw}


def under_mount(tmp_path, state, after=None):
    """A command prefix: the module runs in a private mount namespace where tmp_path/mnt is a
    1 MiB tmpfs holding d/, then made STATE ("full" or "ro"); gone when the process ends.
    AFTER: a shell command run there once the module has ended ({mnt} is the mount point), to
    look at what it left; the module's own output and exit status are kept."""
    if not shutil.which("unshare") or os.geteuid() != 0:
        pytest.fail("needs root and unshare(1) to mount a small or read-only file system")
    mnt = tmp_path / "mnt"
    mnt.mkdir(exist_ok=True)
    then = f"(head -c 1M /dev/zero > {mnt}/filler 2>/dev/null; true)" if state == "full" \
        else f"mount -o remount,ro {mnt}"
    run = f"\"$@\"; rc=$?; {after.format(mnt=mnt)}; exit $rc" if after else "exec \"$@\""
    return ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=1m none {mnt} && mkdir -p {mnt}/d && "
            f"{then} && {run}", "sh"], mnt


# ---- hangs: FIFOs and devices are refused before they are opened ----
def test_files_destination_fifo_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for check in (True, False):
        failed, r = run_module("files", {"files": [{"path": str(tmp_path / "fifo"), "content": "x"}]},
                               check=check, timeout=20)
        assert failed and r["msg"].startswith(f"{tmp_path}/fifo is a FIFO (named pipe), not a regular file")


def test_targets_job_file_and_manifest_fifos_are_refused(tmp_path):
    os.mkfifo(tmp_path / "app.json")
    with pytest.raises(TargetError, match="app.json is a FIFO"):
        targets(sd(tmp_path))
    os.unlink(tmp_path / "app.json")
    os.mkfifo(tmp_path / ".limen-targets.manifest")
    with pytest.raises(TargetError, match=r"\.limen-targets\.manifest is a FIFO"):
        targets(sd(tmp_path))


def test_targets_foreign_fifo_in_a_pruned_directory_is_left_alone(tmp_path):
    os.mkfifo(tmp_path / "foreign.json")  # no manifest yet: the module looks for its own files
    r = targets(sd(tmp_path, job=None, targets=[], jobs=[{"name": "app", "targets": ["a:1"]}], prune=True))
    assert r["added"] == ["app/a:1"] and (tmp_path / "foreign.json").is_fifo()


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


def test_a_dashboard_file_that_is_a_fifo_is_refused(tmp_path):
    (tmp_path / "Team").mkdir()
    os.mkfifo(tmp_path / "Team" / "team.json")
    before = tree_digest(tmp_path)
    for check in (True, False):
        failed, r = run_module("grafana_dashboard", {"directory": str(tmp_path), "folder": "Team", "uid": "team",
                                                     "dashboard": dash()}, check=check, timeout=20)
        assert failed and r["msg"].startswith(f"{tmp_path}/Team/team.json is a FIFO (named pipe), not a regular "
                                              "file where a dashboard file should be"), r
    assert tree_digest(tmp_path) == before


def test_alert_path_check_secret_and_ca_fifos_are_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for args, option in (({"delivery": {"password_file": str(tmp_path / "fifo")}}, "delivery.password_file"),
                         ({"prometheus": {"url": "https://127.0.0.1:9", "ca_file": str(tmp_path / "fifo")}},
                          "prometheus.ca_file")):
        failed, r = run_module("alert_path_check", {"prometheus": {"url": "http://127.0.0.1:9"}, "timeout": 0,
                                                    **args}, timeout=20)
        assert failed and f"{option}: {tmp_path}/fifo is a FIFO (named pipe)" in r["msg"], r


# ---- tracebacks: clear messages instead ----
SHAPES = [({}, "the answer is an empty mapping, where a mapping with 'data' was expected"),
          ([], "the answer is an empty list, where a mapping with 'data' was expected"),
          (None, "the answer is null"), ("up", "the answer is the string 'up'"),
          ({"data": {"activeTargets": "nope"}}, "data.activeTargets is the string 'nope', where a list was expected"),
          ({"data": {"activeTargets": [1]}}, "data.activeTargets[0] is the number 1, where a mapping was expected")]


@pytest.mark.parametrize("doc,message", SHAPES)
def test_prometheus_answers_of_any_shape_are_named(doc, message):
    with pytest.raises(UnexpectedShape, match="Prometheus at http://p:9090/api/v1/targets answered JSON of an "
                                              "unexpected shape: " + message.replace("[", r"\[").replace("]", r"\]")):
        records(doc, ("data", "activeTargets"), "Prometheus at http://p:9090/api/v1/targets")


def test_an_alertmanager_mapping_instead_of_a_list_is_named():
    with pytest.raises(UnexpectedShape, match="Alertmanager am at http://a/api/v2/alerts answered JSON of an "
                                              "unexpected shape: the answer is a mapping with keys 'alerts'"):
        records({"alerts": []}, (), "Alertmanager am at http://a/api/v2/alerts")


def test_alert_path_check_bad_arguments_are_messages(tmp_path):
    cases = [({"delivery": {"password_file": str(tmp_path / "missing")}},
              f"delivery.password_file: {tmp_path}/missing does not exist"),
             ({"delivery": {"password_file": str(tmp_path)}}, f"delivery.password_file: {tmp_path} is a directory"),
             ({"interval": -1}, "interval: -1.0 must be a number of seconds above 0"),
             ({"prometheus": {"url": "http://127.0.0.1:9", "ca_file": str(tmp_path / "ca.crt")}},
              f"prometheus.ca_file: {tmp_path}/ca.crt does not exist")]
    for args, message in cases:
        failed, r = run_module("alert_path_check", {"prometheus": {"url": "http://127.0.0.1:9"}, "timeout": 0, **args})
        assert failed and message in r["msg"], r


def test_alert_path_check_check_survives_a_strange_answer(monkeypatch):
    monkeypatch.setattr(alert_path_check, "request", lambda url, *a, **k: ({"status": "success"}, None))
    p = {"prometheus": {"url": "http://p:9090", "username": "", "password": "", "ca_file": ""}, "alertmanagers": [],
         "delivery": {}, "jobs": ["node"], "external_labels": {}}
    problems, definitive = alert_path_check.check(p, 0, "")
    assert definitive and problems == ["Prometheus at http://p:9090/api/v1/targets?state=active answered JSON of an "
                                       "unexpected shape: the answer is a mapping with keys 'status', where a "
                                       "mapping with 'data' was expected"]


def test_files_eisdir_in_check_mode_and_for_real(tmp_path):
    (tmp_path / "d").mkdir()
    for check in (True, False):
        failed, r = run_module("files", {"files": [{"path": str(tmp_path / "d"), "content": "x"}]}, check=check)
        assert failed and f"{tmp_path}/d is a directory, not a regular file" in r["msg"]


def test_files_eperm_on_an_immutable_file_names_it_and_leaves_nothing(tmp_path):
    (tmp_path / "f").write_text("old")
    before = tree_digest(tmp_path)
    with immutable(tmp_path / "f"):
        failed, r = run_module("files", {"files": [{"path": str(tmp_path / "f"), "content": "new"}]})
        assert failed and "Operation not permitted" in r["msg"] and "immutable" in r["msg"], r
    assert tree_digest(tmp_path) == before


def test_files_enospc_and_erofs_name_the_path(tmp_path):
    wrap, mnt = under_mount(tmp_path, "full")
    failed, r = run_module("files", {"files": [{"path": f"{mnt}/d/big", "content": "x" * 200000}]}, wrap=wrap)
    assert failed and "No space left on device (the file system is full)" in r["msg"], r
    wrap, mnt = under_mount(tmp_path, "ro")
    failed, r = run_module("files", {"files": [{"path": f"{mnt}/d/f", "content": "x"}]}, wrap=wrap)
    assert failed and "Read-only file system (the file system is mounted read-only)" in r["msg"], r


def test_files_under_proc_is_refused():
    failed, r = run_module("files", {"files": [{"path": "/proc/sys/kernel/hostname", "content": "x"}]})
    assert failed and "/proc/sys/kernel/hostname is on a kernel file system" in r["msg"]


# ---- all or nothing ----
@pytest.mark.parametrize("bad,message", [
    ({"directories": [{"path": "{t}/a"}, {"path": "{t}/file/b"}]}, "directories[1]: {t}/file/b cannot be made: "
                                                                   "{t}/file is not a directory"),
    ({"directories": [{"path": "{t}/a"}], "files": [{"path": "{t}/a/x", "content": "", "owner": "no-such-user"}]},
     "files[0] ({t}/a/x).owner: user 'no-such-user' does not exist"),
    ({"directories": [{"path": "{t}/a"}, {"path": "{t}/b", "group": "no-such-group"}]},
     "directories[1] ({t}/b).group: group 'no-such-group' does not exist"),
    ({"directories": [{"path": "{t}/a"}], "files": [{"path": "{t}/a/x", "content": "", "mode": "0999"}]},
     "files[0] ({t}/a/x).mode: '0999' is neither an octal mode"),
    ({"files": [{"path": "{t}/x", "content": "", "validate": "no-such-checker %s"}]},
     "validate: the command 'no-such-checker' of 'no-such-checker %s' is not installed"),
])
def test_files_refuses_before_creating_anything(tmp_path, bad, message):
    (tmp_path / "file").write_text("")
    args = json.loads(json.dumps(bad).replace("{t}", str(tmp_path)))
    before = tree_digest(tmp_path)
    failed, r = run_module("files", args)
    assert failed and message.replace("{t}", str(tmp_path)) in r["msg"], r
    assert tree_digest(tmp_path) == before


def test_targets_and_dashboards_check_owner_group_mode_before_writing(tmp_path):
    for bad, message in (({"owner": "no-such-user"}, "owner: user 'no-such-user' does not exist"),
                         ({"group": "no-such-group"}, "group: group 'no-such-group' does not exist"),
                         ({"mode": "0999"}, "mode: '0999' is neither an octal mode")):
        with pytest.raises(TargetError, match=message):
            targets(sd(tmp_path / "sd", **bad))
        with pytest.raises(DashboardError, match=message):
            dashboards(params(tmp_path / "dash", dashboard=dash(), **bad))
    assert os.listdir(tmp_path) == []
    failed, r = run_module("prometheus_targets", {"directory": str(tmp_path / "sd"), "job": "a", "targets": ["a:1"],
                                                  "mode": "0999"})
    assert failed and "'0999'" in r["msg"] and os.listdir(tmp_path) == []


def test_no_lock_file_is_left_behind_after_a_refused_write(tmp_path):
    targets(sd(tmp_path))
    with immutable(tmp_path / "app.json"):
        with pytest.raises(OSError):
            targets(sd(tmp_path, targets=["b:1"]))
    assert not (tmp_path / ".limen.lock").exists()
    d = tmp_path / "dash"
    dashboards(params(d, folder="Team", dashboard=dash()))
    with immutable(d / "Team"):
        with pytest.raises(DashboardError, match="Operation not permitted"):
            dashboards(params(d, folder="Team", dashboard=dash("Other")))
    assert not (d / ".limen.lock").exists()


def test_a_full_disk_leaves_no_lock_and_no_folder_behind(tmp_path):
    """ENOSPC while writing: the call fails naming the path, and the directory is as before
    (no .limen.lock, no dashboard folder made for the file that could not be written)."""
    for module, args in (("prometheus_targets", {"job": "app", "targets": ["a:1"]}),
                         ("grafana_dashboard", {"folder": "Team", "uid": "team", "dashboard": dash()})):
        wrap, mnt = under_mount(tmp_path, "full", after=f"ls -A {{mnt}}/d > {tmp_path}/left")
        failed, r = run_module(module, {"directory": f"{mnt}/d", **args}, wrap=wrap)
        assert failed and "No space left on device" in r["msg"] and f"{mnt}/d" in r["msg"], r
        assert (tmp_path / "left").read_text() == "", (module, (tmp_path / "left").read_text())


# ---- symlinks ----
def test_a_symlinked_lock_is_refused_and_its_target_never_created(tmp_path):
    (tmp_path / "sd").mkdir()
    (tmp_path / "sd" / ".limen.lock").symlink_to(tmp_path / "created-outside")
    with pytest.raises(TargetError, match=r"\.limen\.lock is a symbolic link; refusing to lock through it"):
        targets(sd(tmp_path / "sd"))
    (tmp_path / "dash").mkdir()
    (tmp_path / "dash" / ".limen.lock").symlink_to(tmp_path / "created-outside")
    with pytest.raises(DashboardError, match=r"\.limen\.lock is a symbolic link"):
        dashboards(params(tmp_path / "dash", dashboard=dash()))
    assert not (tmp_path / "created-outside").exists() and not (tmp_path / "sd" / "app.json").exists()


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


# ---- accepted, but wrong ----
def test_a_relative_targets_directory_is_refused(tmp_path):
    with pytest.raises(TargetError, match="directory: 'file_sd' must be an absolute path"):
        targets(sd("file_sd"))


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


def test_one_file_by_two_spellings_is_refused(tmp_path):
    failed, r = run_module("files", {"directories": [{"path": str(tmp_path / "d")}],
                                     "files": [{"path": f"{tmp_path}/d/a", "content": "1"},
                                               {"path": f"{tmp_path}/d/./a", "content": "2"}]})
    assert failed and f"'{tmp_path}/d/./a' is the same path as '{tmp_path}/d/a'" in r["msg"]
    assert not (tmp_path / "d").exists()


def test_prune_star_keeps_hidden_files_as_the_shell_does(tmp_path):
    for name in ("old.yml", ".hidden.yml", ".keep"):
        (tmp_path / name).write_text("")
    failed, r = run_module("files", {"prune": [{"directory": str(tmp_path), "patterns": ["*"]}]})
    assert not failed and r["changed_paths"] == [str(tmp_path / "old.yml")]
    failed, r = run_module("files", {"prune": [{"directory": str(tmp_path), "patterns": [".*.yml"]}]})
    assert r["changed_paths"] == [str(tmp_path / ".hidden.yml")] and os.listdir(tmp_path) == [".keep"]


def test_a_boolean_label_value_is_refused(tmp_path):
    with pytest.raises(TargetError, match="label 'canary' is the boolean True; quote the value"):
        targets(sd(tmp_path, targets=[{"host": "a", "port": 1, "labels": {"canary": True}}]))
    assert os.listdir(tmp_path) == []


# ---- messages ----
def test_a_url_is_not_called_ambiguous_ipv6():
    with pytest.raises(validate.ValidationError, match="'http://h:1' is a URL, not 'host:port'"):
        validate.address("http://h:1")
    with pytest.raises(validate.ValidationError, match="the host part 'h:x' holds a ':'"):
        validate.address("h:x:1")
    with pytest.raises(validate.ValidationError, match=r"write \[fd00::1\]:9100"):
        validate.address("fd00::1:9100")


def test_mode_errors_name_the_value(tmp_path):
    for mode in ("0999", "rw-r--r--", "u=rwz", True):
        failed, r = run_module("files", {"files": [{"path": str(tmp_path / "x"), "content": "", "mode": mode}]})
        assert failed and f"files[0] ({tmp_path}/x).mode: {mode!r}" in r["msg"], r
    assert os.listdir(tmp_path) == []


def test_a_missing_ca_file_is_named(tmp_path):
    failed, r = run_module("alert_path_check", {
        "prometheus": {"url": "https://127.0.0.1:9"}, "timeout": 0,
        "alertmanagers": [{"name": "am", "url": "https://127.0.0.1:9", "ca_file": str(tmp_path / "am-ca.crt")}]})
    assert failed and f"alertmanagers[0].ca_file: {tmp_path}/am-ca.crt does not exist" in r["msg"]


def test_module_runner_sees_a_traceback():
    """The harness itself: a module that raises must fail the test, not pass it quietly."""
    with pytest.raises(AssertionError):
        run_module("files", {"files": "not a list"}, wrap=[sys.executable, "-c", "raise SystemExit('Traceback')"])
