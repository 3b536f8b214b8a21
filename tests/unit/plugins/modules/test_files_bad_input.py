"""The files module on bad input: FIFOs, directories, immutable files, full and read-only disks.

Each case runs for real: hangs are caught by a timeout (a FIFO or /dev/zero that is opened
blocks or never ends), tracebacks by run_module, "nothing changed" by a digest of the whole tree.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
from dashboard_helpers import tree_digest
from file_states import immutable, under_mount
from module_runner import run_module


# ---- hangs: FIFOs and devices are refused before they are opened ----
def test_files_destination_fifo_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for check in (True, False):
        failed, r = run_module("files", {"files": [{"path": str(tmp_path / "fifo"), "content": "x"}]},
                               check=check, timeout=20)
        assert failed and r["msg"].startswith(f"{tmp_path}/fifo is a FIFO (named pipe), not a regular file")


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


def test_mode_errors_name_the_value(tmp_path):
    for mode in ("0999", "rw-r--r--", "u=rwz", True):
        failed, r = run_module("files", {"files": [{"path": str(tmp_path / "x"), "content": "", "mode": mode}]})
        assert failed and f"files[0] ({tmp_path}/x).mode: {mode!r}" in r["msg"], r
    assert os.listdir(tmp_path) == []


def test_module_runner_sees_a_traceback():
    """The harness itself: a module that raises must fail the test, not pass it quietly."""
    with pytest.raises(AssertionError):
        run_module("files", {"files": "not a list"}, wrap=[sys.executable, "-c", "raise SystemExit('Traceback')"])
