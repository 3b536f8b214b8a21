"""The pure helpers of the files module (module_utils/file_set.py)."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.limen.monitoring.plugins.module_utils.file_set import (
    FileSetError,
    check_paths,
    differing,
    entries,
    unwanted,
    validation_command,
)

NAMES = st.lists(st.from_regex(r"[a-z]{1,6}\.(yml|txt)", fullmatch=True), unique=True, max_size=8)


@given(NAMES, NAMES)
def test_unwanted_is_exactly_the_unlisted_matches(names, wanted_names):
    wanted = [f"/d/{n}" for n in wanted_names]
    found = unwanted("/d", names, ["*.yml"], wanted)
    assert found == sorted(f"/d/{n}" for n in names if fnmatch.fnmatchcase(n, "*.yml") and f"/d/{n}" not in wanted)


def test_relative_and_repeated_paths_are_refused():
    with pytest.raises(FileSetError, match="'etc/x' is not an absolute path"):
        check_paths([{"path": "etc/x"}], [])
    with pytest.raises(FileSetError, match="/x is listed twice"):
        check_paths([{"path": "/x"}, {"path": "/x"}], [])
    with pytest.raises(FileSetError, match="prune: 'rel'"):
        check_paths([], [{"directory": "rel"}])


def test_differing_compares_whole_contents():
    files = [{"path": "/a", "content": "1"}, {"path": "/b", "content": "2"}, {"path": "/c", "content": ""}]
    on_host = {"/a": "1", "/b": "2\n"}
    assert [f["path"] for f in differing(files, on_host.get)] == ["/b", "/c"]


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1))
def test_validation_command_keeps_any_path_one_argument(name):
    argv = validation_command("promtool check rules %s", f"/tmp/{name}")
    assert argv == ["promtool", "check", "rules", f"/tmp/{name}"]


def test_validation_command_needs_the_placeholder():
    with pytest.raises(FileSetError, match="has no %s"):
        validation_command("promtool check rules", "/x")


def test_entries_from_secrets_copies_and_paths():
    files = {"/pki/a.crt": "CERT", "/ctl/r.yml": "groups: []\n"}

    def read(path):
        if path not in files:
            raise FileNotFoundError(path)
        return files[path]

    got = entries([{"name": "pw", "value": 42}], "/etc/p/secrets", mode="0600", owner="prometheus")
    assert got == [{"path": "/etc/p/secrets/pw", "content": "42", "mode": "0600", "owner": "prometheus"}]
    got = entries([{"src": "/pki/a.crt", "dest": "/etc/p/a.crt", "mode": "0644"}], read=read, mode="0600")
    assert got == [{"path": "/etc/p/a.crt", "content": "CERT", "mode": "0644"}]
    got = entries(["/ctl/r.yml"], "/etc/p/rules", read=read, prefix="extra_")
    assert got == [{"path": "/etc/p/rules/extra_r.yml", "content": "groups: []\n"}]
    with pytest.raises(FileSetError, match="/etc/p/k: the source /pki/missing.key does not exist"):
        entries([{"src": "/pki/missing.key", "dest": "/etc/p/k"}], read=read)
    assert entries([{"src": "/pki/missing.key", "dest": "/etc/p/k"}], read=read, missing_ok=True) == []
