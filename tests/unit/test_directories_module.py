"""limen.monitoring.directories, run for real through ansible on localhost:
check mode, real, check mode again, real again -> changed true, true, false, false."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(paths, check=False):
    """Run the module once; returns (failed, result)."""
    work = Path(paths[0]["path"]).parent
    work.mkdir(parents=True, exist_ok=True)
    out = work / ".result.json"
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
             "tasks": [{"limen.monitoring.directories": {"paths": paths}, "register": "r", "ignore_errors": True},
                       {"ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(out)},
                        "check_mode": False}]}]
    playbook = work / ".play.json"
    playbook.write_text(json.dumps(play))
    cmd = ["ansible-playbook", "-i", "localhost,", str(playbook)] + (["--check"] if check else [])
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
    assert out.exists(), r.stdout + r.stderr
    result = json.loads(out.read_text())
    playbook.unlink()
    out.unlink()
    return bool(result.get("failed")), result


def test_check_real_check_real(tmp_path):
    paths = [{"path": str(tmp_path / "c"), "mode": "0700"}, {"path": str(tmp_path / "a" / "b"), "mode": "0750"}]
    results = [run(paths, check=True), run(paths), run(paths, check=True), run(paths)]
    assert [r[1]["changed"] for r in results] == [True, True, False, False]
    assert results[0][1]["changed_paths"] == [p["path"] for p in paths]
    assert os.stat(tmp_path / "a" / "b").st_mode & 0o777 == 0o750
    assert os.stat(tmp_path / "c").st_mode & 0o777 == 0o700


def test_a_changed_mode_is_put_back(tmp_path):
    paths = [{"path": str(tmp_path / "d"), "mode": "0750"}]
    run(paths)
    os.chmod(tmp_path / "d", 0o777)
    rc, result = run(paths)
    assert not rc and result["changed_paths"] == [str(tmp_path / "d")]
    assert os.stat(tmp_path / "d").st_mode & 0o777 == 0o750


def test_a_file_in_the_way_is_an_error(tmp_path):
    (tmp_path / "f").write_text("")
    rc, result = run([{"path": str(tmp_path / "f")}])
    assert rc and "exists and is not a directory" in result["msg"]
