"""limen.monitoring.prometheus_targets run for real through ansible-playbook on localhost."""

from __future__ import annotations

import grp
import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
MODULE = "limen.monitoring.prometheus_targets"


def play(work, steps, check=False):
    """Run STEPS (module args, or whole task dicts) in one playbook; returns their results."""
    tasks = []
    for index, step in enumerate(steps):
        task = dict(step) if "name" in step else {"name": f"step {index}", MODULE: step}
        tasks.append({**task, "register": f"r{index}", "ignore_errors": True})
    out = work / ".results.json"
    results = "[" + ", ".join(f"r{i}" for i in range(len(steps))) + "]"
    tasks.append({"name": "results", "ansible.builtin.copy": {"content": "{{ %s | to_json }}" % results,
                                                              "dest": str(out)}, "check_mode": False})
    playbook = work / ".play.json"
    playbook.write_text(json.dumps([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                     "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                                     "tasks": tasks}]))
    cmd = ["ansible-playbook", "-i", "localhost,", "--diff", str(playbook)] + (["--check"] if check else [])
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                       env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")))
    assert out.exists(), r.stdout + r.stderr
    got = json.loads(out.read_text())
    out.unlink()
    playbook.unlink()
    return got


def mode(path):
    return os.stat(path).st_mode & 0o777


def test_check_real_check_real_and_attributes_on_every_file(tmp_path):
    d = tmp_path / "sd"
    args = {"directory": str(d), "prune": True, "mode": "0640", "group": "nogroup",
            "jobs": [{"name": "one", "targets": ["a:1"]}, {"name": "two", "targets": ["b:1"]}]}
    check = {"name": "check", MODULE: args, "check_mode": True}
    # Drift on files whose content is right: check mode predicts it, the run repairs it.
    drift = [{"name": "chmod", "ansible.builtin.file": {"path": str(d / "one.json"), "mode": "0600"}},
             {"name": "chgrp", "ansible.builtin.file": {"path": str(d / "two.json"), "group": "root"}}]
    r = play(tmp_path, [check, args, check, args] + drift + [check, args, args])
    assert [x["changed"] for x in r[:4]] == [True, True, False, False]
    assert r[0]["diff"] and r[0]["added"] == ["one/a:1", "two/b:1"] and not r[0].get("failed")
    drifted = [str(d / "one.json"), str(d / "two.json")]
    assert r[6]["changed"] and r[6]["files"] == drifted, "check mode must predict the repair"
    assert r[7]["changed"] and r[7]["files"] == drifted and r[7]["unchanged"] == ["one/a:1", "two/b:1"]
    assert not r[8]["changed"]
    nogroup = grp.getgrnam("nogroup").gr_gid
    for f in (d / "one.json", d / "two.json", d / ".limen-targets.manifest"):
        assert (mode(f), os.stat(f).st_gid) == (0o640, nogroup), f


def test_bad_input_fails_cleanly_naming_it(tmp_path):
    d = tmp_path / "sd"
    (d).mkdir()
    (d / "two.json").write_bytes(b"\xff\xfe")
    results = play(tmp_path, [
        {"directory": str(d), "job": "limen", "targets": ["fd00::1:9100"]},
        {"directory": str(d), "jobs": [{"name": "one", "targets": ["a:1"]}, {"name": "two", "targets": ["b:1"]}]},
        {"directory": str(d), "job": "x", "targets": [{"host": "a", "port": 1, "metrics_path": "/m?a=1&a=2"}]},
    ])
    assert [r.get("failed") for r in results] == [True, True, True]
    assert "[fd00::1]:9100" in results[0]["msg"]
    assert f"{d}/two.json: not UTF-8" in results[1]["msg"]
    assert "query parameter 'a' is given twice" in results[2]["msg"]
    assert not any("Traceback" in r.get("module_stderr", "") for r in results)
    assert sorted(os.listdir(d)) == ["two.json"], "a refused call wrote something"


def test_service_playbook_and_inventory_run_keep_their_own_targets(tmp_path):
    """The README's direct use (file_sd/services) and the role's sync (file_sd/inventory)."""
    inventory, services = tmp_path / "file_sd" / "inventory", tmp_path / "file_sd" / "services"
    role = {"directory": str(inventory), "prune": True,
            "jobs": [{"name": "limen", "targets": ["limen-api:18443"]}]}
    direct = {"directory": str(services), "job": "limen", "targets": ["limen-api-2:18443"]}
    notes = {"name": "someone else's file", "ansible.builtin.copy": {
        "dest": str(inventory / "notes.json"), "content": '{"not": "file_sd"}'}}
    r = play(tmp_path, [role, direct, role, direct, notes, {**role, "jobs": []}])
    assert [x["changed"] for x in r[:4]] == [True, True, False, False]
    assert r[1]["added"] == ["limen/limen-api-2:18443"]
    # A file someone else put in the role's directory is never pruned nor blocks the run.
    assert r[5]["removed"] == ["limen/limen-api:18443"] and not r[5].get("failed")
    assert (inventory / "notes.json").exists() and (services / "limen.json").exists()
