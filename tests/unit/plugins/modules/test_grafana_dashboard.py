"""limen.monitoring.grafana_dashboard run for real: through ansible-playbook on localhost (errors
end in a message, never a traceback; check mode predicts file modes; warnings reach the user),
and against a directory on a really read-only mount."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from dashboard_helpers import dash, params, tree_digest

REPO = Path(__file__).resolve().parents[4]
SHARED = {"__inputs": [{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}],
          "title": "Shared", "uid": "shared", "panels": [{"datasource": "${DS_PROMETHEUS}", "targets": []}]}


def run_tasks(work, tasks):
    """Run TASKS (name -> (module args, check_mode)) in one play; returns name -> registered result."""
    out = work / ".results.json"
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
             "tasks": [{"name": name, "limen.monitoring.grafana_dashboard": args, "check_mode": check,
                        "register": f"r_{index}", "ignore_errors": True}
                       for index, (name, (args, check)) in enumerate(tasks.items())]
             + [{"ansible.builtin.copy": {"dest": str(out), "content": "{{ {"
                 + ", ".join(f"{json.dumps(name)}: r_{i}" for i, name in enumerate(tasks)) + "} | to_json }}"},
                 "check_mode": False}]}]
    playbook = work / ".play.json"
    playbook.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    r = subprocess.run(["ansible-playbook", "-i", "localhost,", str(playbook)], cwd=REPO, capture_output=True,
                       text=True, env=env)
    assert out.exists(), r.stdout + r.stderr
    results = json.loads(out.read_text())
    out.unlink()
    playbook.unlink()
    return results, r.stdout + r.stderr


def test_the_module_end_to_end(tmp_path):
    d = tmp_path / "dashboards"
    (tmp_path / "src-dir").mkdir()
    (tmp_path / "latin1.json").write_bytes(b'{"title": "Caf\xe9", "panels": []}')
    (tmp_path / "victim.json").write_text("{}")
    one = {"directory": str(d), "folder": "Team", "dashboard": dash(), "mode": "0640"}
    results, stdout = run_tasks(tmp_path, {
        "check on a fresh host": (one, True),
        "create": (one, False),
        "check again": (one, True),
        "again": (one, False),
        "check a mode change": (dict(one, mode="0600"), True),
        "a shared export, no datasource": ({"directory": str(d), "dashboard": SHARED}, False),
        "uid traversal, absent": ({"directory": str(d), "uid": "../victim", "state": "absent"}, False),
        "src is a directory": ({"directory": str(d), "src": str(tmp_path / "src-dir")}, False),
        "src not UTF-8": ({"directory": str(d), "src": str(tmp_path / "latin1.json")}, False),
        "folder of 101 characters": ({"directory": str(d), "folder": "x" * 101, "dashboard": dash()}, False),
    })
    assert [results[n]["changed"] for n in ("check on a fresh host", "create", "check again", "again")] \
        == [True, True, False, False]
    path = results["create"]["path"]
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert results["check a mode change"]["changed"], "check mode must predict a mode change"
    assert os.stat(path).st_mode & 0o777 == 0o640, "check mode changed the mode"
    shared = results["a shared export, no datasource"]
    assert shared["unresolved"][0]["inputs"] == [{"input": "DS_PROMETHEUS", "type": "datasource prometheus"}]
    assert "Give datasource_uid" in shared["warnings"][0] and "[WARNING]" in stdout
    expected = {
        "uid traversal, absent": "uid: uid '../victim' must be 1-40 letters",
        "src is a directory": f"src: {tmp_path}/src-dir is a directory, not a dashboard JSON file",
        "src not UTF-8": f"src: {tmp_path}/latin1.json is not UTF-8 text (byte 0xe9 at offset 14)",
        "folder of 101 characters": "is 101 characters long; at most 100 are allowed",
    }
    for name, message in expected.items():
        result = results[name]
        assert result["failed"] and message in result["msg"], (name, result)
        # an uncaught exception shows as MODULE FAILURE with module_stderr and a Traceback
        assert "module_stderr" not in result and "Traceback" not in result.get("exception", ""), (name, result)
    assert (tmp_path / "victim.json").read_text() == "{}"


READ_ONLY_SCRIPT = textwrap.dedent("""
    import json, sys
    from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import DashboardError, sync
    out = {}
    for name, (p, check) in json.loads(sys.argv[1]).items():
        try:
            out[name] = sync(p, check_mode=check)["changed"]
        except DashboardError as exc:
            out[name] = str(exc)
    print(json.dumps(out))
""")


def test_a_read_only_directory(tmp_path):
    """A real read-only bind mount (in a private mount namespace, gone when the process ends)."""
    if not shutil.which("unshare") or os.geteuid() != 0:
        pytest.fail("needs root and unshare(1) (util-linux) to mount a read-only directory")
    from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import sync

    d = tmp_path / "dashboards"
    converged = params(d, folder="Team", dashboard=dash())
    sync(converged)
    more = params(d, dashboards=[{"folder": "Team", "dashboard": dash()}, {"folder": "Ops", "dashboard": dash("New")}])
    cases = {"converged, check": (converged, True), "converged": (converged, False),
             "a change, check": (more, True), "a change": (more, False)}
    before = tree_digest(tmp_path)
    script = f"mount --bind {d} {d} && mount -o remount,bind,ro {d} && exec \"$0\" -c \"$1\" \"$2\""
    r = subprocess.run(["unshare", "-m", "sh", "-c", script, sys.executable, READ_ONLY_SCRIPT, json.dumps(cases)],
                       capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO / ".cache" / "collections")))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["converged, check"] is False and out["converged"] is False, "nothing to change must not fail"
    assert out["a change, check"] is True
    assert out["a change"] == f"cannot lock {d}/.limen.lock: Read-only file system"
    assert tree_digest(tmp_path) == before
