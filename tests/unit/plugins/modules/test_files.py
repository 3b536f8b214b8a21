"""limen.monitoring.files, run for real through ansible on localhost: directories and files,
check mode, real, check mode again, real again -> changed true, true, false, false; a failed
validation writes nothing; secrets never appear in a diff."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]


def run(paths=(), check=False, work=None, diff=False, **args):
    """Run the module once; returns (failed, result)."""
    args = dict(args, directories=list(paths))
    work = Path(work or paths[0]["path"]).parent
    work.mkdir(parents=True, exist_ok=True)
    out = work / ".result.json"
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
             "tasks": [{"limen.monitoring.files": args, "register": "r", "ignore_errors": True},
                       {"ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(out)},
                        "check_mode": False}]}]
    playbook = work / ".play.json"
    playbook.write_text(json.dumps(play))
    cmd = ["ansible-playbook", "-i", "localhost,", str(playbook)] + (["--check"] if check else []) + (["--diff"] if diff else [])
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


def test_files_check_real_check_real(tmp_path):
    files = [{"path": str(tmp_path / "a.yml"), "content": "a: 1\n", "mode": "0640"}]
    secret = [{"path": str(tmp_path / "s"), "content": "hunter2-secret", "mode": "0600"}]
    results = [run(work=tmp_path / "x", check=c, files=files, secret_files=secret) for c in (True, False, True, False)]
    assert [r[1]["changed"] for r in results] == [True, True, False, False]
    assert (tmp_path / "a.yml").read_text() == "a: 1\n"
    assert os.stat(tmp_path / "a.yml").st_mode & 0o777 == 0o640
    assert os.stat(tmp_path / "s").st_mode & 0o777 == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".limen-")]
    # the checksum of the wanted content (what sha1sum says of the file), never of a secret
    assert results[0][1]["checksums"] == {str(tmp_path / "a.yml"): hashlib.sha1(b"a: 1\n").hexdigest()}


def test_a_failed_validation_writes_nothing(tmp_path):
    (tmp_path / "old.yml").write_text("old\n")
    files = [{"path": str(tmp_path / "ok.yml"), "content": "fine\n"},
             {"path": str(tmp_path / "old.yml"), "content": "bad\n", "validate": "grep -q good %s"}]
    failed, result = run(work=tmp_path / "x", files=files)
    assert failed and str(tmp_path / "old.yml") in result["msg"] and "nothing was written" in result["msg"]
    assert (tmp_path / "old.yml").read_text() == "old\n"
    assert not (tmp_path / "ok.yml").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".limen-")]


def test_secrets_stay_out_of_diffs_and_results(tmp_path):
    secret = [{"path": str(tmp_path / "s"), "content": "old-secret-value"}]
    run(work=tmp_path / "x", secret_files=secret)
    secret[0]["content"] = "new-secret-value"
    failed, result = run(work=tmp_path / "x", diff=True, secret_files=secret,
                         files=[{"path": str(tmp_path / "plain"), "content": "shown\n"}])
    text = json.dumps(result)
    assert not failed and "shown" in text
    assert "new-secret-value" not in text and "old-secret-value" not in text
    assert (tmp_path / "s").read_text() == "new-secret-value"


def test_prune_removes_only_unwanted_matches(tmp_path):
    d = tmp_path / "rules"
    d.mkdir()
    for name in ("keep.yml", "gone.yml", "other.txt"):
        (d / name).write_text("x\n")
    failed, result = run(work=tmp_path / "x", files=[{"path": str(d / "keep.yml"), "content": "x\n"}],
                         prune=[{"directory": str(d), "patterns": ["*.yml"]}])
    assert not failed and result["changed_paths"] == [str(d / "gone.yml")]
    assert sorted(p.name for p in d.iterdir()) == ["keep.yml", "other.txt"]


def test_secret_inputs_land_before_the_config_that_names_them_is_checked(tmp_path):
    token = tmp_path / "token"
    files = [{"path": str(tmp_path / "conf"), "content": f"token_file: {token}\n", "validate": f"test -s {token} -a -s %s"}]
    failed, result = run(work=tmp_path / "x", files=files, secret_files=[{"path": str(token), "content": "t0ken"}])
    assert not failed, result
    assert token.read_text() == "t0ken" and (tmp_path / "conf").exists()


def test_a_file_without_its_directory_is_an_error_naming_it(tmp_path):
    failed, result = run(work=tmp_path / "x", files=[{"path": str(tmp_path / "no" / "f"), "content": "x"}])
    assert failed and result["msg"] == f"{tmp_path / 'no' / 'f'}: its directory does not exist (list it in directories)"
