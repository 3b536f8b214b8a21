"""grafana_dashboard on bad input: a dashboard file that is a FIFO.

Each case runs for real: hangs are caught by a timeout (a FIFO or /dev/zero that is opened
blocks or never ends), tracebacks by run_module, "nothing changed" by a digest of the whole tree.
"""

from __future__ import annotations

import os

from dashboard_helpers import dash, tree_digest
from module_runner import run_module


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
