"""prometheus_targets: the cases of issue 10, one table row each (validators and sync)."""

from __future__ import annotations

import json
import os

import pytest
from file_states import immutable

from ansible_collections.limen.monitoring.plugins.module_utils.file_sd import (
    MANIFEST,
    TargetError,
    normalize_targets,
    parse_file,
    render,
)
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import sync

T = {"host": "a", "port": 1}

# (targets, words the message must hold: the field and the value as repr)
REFUSED = [
    ([{**T, "labels": {"env\n": "x"}}], ["label name", "'env\\n'"]),
    ([{**T, "labels": {"\u00e9": "x"}}], ["label name", "'\u00e9'"]),
    (["a:9100\n"], ["port", "'9100\\n'"]),
    ([{"host": "a\n", "port": 1}], ["host", "'a\\n'"]),
    ([{"host": " a", "port": 1}], ["host", "' a'"]),
    (["fd00::1:9100"], ["ambiguous", "[fd00::1]:9100"]),
    (["::1:80"], ["ambiguous", "[::1]:80"]),
    (["999.1.1.1:9100"], ["not a valid IPv4 address", "'999.1.1.1'"]),
    (["010.0.0.1:9100"], ["not a valid IPv4 address", "'010.0.0.1'"]),
    (["h:9_100"], ["port", "'9_100'"]),
    (["h:\u0669\u0661\u0660\u0660"], ["port", "ASCII digits"]),   # Arabic-Indic 9100
    (["h:\uff19\uff11\uff10\uff10"], ["port", "ASCII digits"]),   # full-width 9100
    (["h:+80"], ["port", "'+80'"]),
    (["h: 80"], ["port", "' 80'"]),
    ([{"host": "h", "port": 80.0}], ["port", "80.0"]),
    (["[10.0.0.1]:80"], ["only IPv6 addresses go in brackets"]),
    (["[fe80::1%eth0]:80"], ["zone"]),
    (["[fd00::g]:80"], ["not a valid IPv6 address"]),
    (["h_1:80"], ["neither an IP address nor a host name", "'h_1'"]),
    (["-h:80"], ["'-h'"]),
    (["h-:80"], ["'h-'"]),
    (["a..b:80"], ["'a..b'"]),
    (["../../etc:80"], ["'../../etc'"]),
    ([("x" * 64) + ".example:80"], ["host name"]),
    ([":80"], ["must be 'host:port'"]),
    ([{**T, "metrics_path": "/m?a=1&a=2"}], ["query parameter 'a' is given twice"]),
    ([{**T, "metrics_path": "/m?x-y=1"}], ["query parameter 'x-y'", "__param_"]),
    ([{**T, "metrics_path": "/m?a=1#frag"}], ["fragment"]),
    ([{**T, "metrics_path": "/m?=1"}], ["query parameter ''"]),
    ([{**T, "metrics_path": "/m etrics"}], ["metrics_path", "'/m etrics'"]),
    ([{**T, "metrics_path": "/metrics\n"}], ["metrics_path", "'/metrics\\n'"]),
    ([{**T, "metrics_path": "/%3Fx"}], ["metrics_path", "'%' escapes"]),
    ([{**T, "metrics_path": "/m", "labels": {"__metrics_path__": "/n"}}], ["__metrics_path__ is given twice"]),
    ([{**T, "metrics_path": "/m?a=1", "labels": {"__param_a": "2"}}], ["__param_a is given twice"]),
    ([{**T, "labels": {"__scrape_interval__": "fast"}}], ["__scrape_interval__", "'fast'"]),
    ([{**T, "labels": {"__scheme__": "ftp"}}], ["scheme 'ftp'"]),
    ([{**T, "labels": {"__param_": "x"}}], ["reserved"]),
    ([{**T, "labels": {"env": "\ud800"}}], ["not valid UTF-8"]),
    ([{**T, "metrics_path": "/a"}, {**T, "metrics_path": "/a"}], ["duplicate target a:1/a"]),
    ([{**T, "metrics_path": "/a?x=1"}, {**T, "metrics_path": "/a?x=1"}], ["duplicate target a:1/a?x=1"]),
]


@pytest.mark.parametrize("targets,words", REFUSED, ids=[repr(t)[:60] for t, _ in REFUSED])
def test_refused_naming_field_and_value(targets, words):
    with pytest.raises(TargetError) as err:
        normalize_targets(targets)
    for word in words:
        assert word in str(err.value)
    assert "targets[" in str(err.value)


ACCEPTED = [
    ("10.0.0.1:80", "10.0.0.1:80"),
    ("[::1]:9100", "[::1]:9100"),
    ("[FD00:0:0::1]:9100", "[fd00::1]:9100"),
    ("[::ffff:10.0.0.1]:80", "[::ffff:a00:1]:80"),
    ("Host-1.Example.COM:9100", "host-1.example.com:9100"),
    ("fqdn.example.:443", "fqdn.example.:443"),
    ("1host:80", "1host:80"),
    ("h:00080", "h:80"),
    ({"host": "fd00::1", "port": 9100}, "[fd00::1]:9100"),   # a mapping is not ambiguous
    ({"host": "[fd00::1]", "port": "9100"}, "[fd00::1]:9100"),
]


@pytest.mark.parametrize("target,address", ACCEPTED, ids=[repr(t) for t, _ in ACCEPTED])
def test_accepted_and_normalised(target, address):
    assert [key[0] for key in normalize_targets([target])] == [address]


def test_query_in_metrics_path_becomes_param_labels():
    out = normalize_targets([{**T, "metrics_path": "/api/v1/metrics?format=prometheus&x=a%20b&e="}])
    [(key, labels)] = out.items()
    assert labels == {"__metrics_path__": "/api/v1/metrics", "__param_format": "prometheus",
                      "__param_x": "a b", "__param_e": ""}
    assert key == ("a:1", "/api/v1/metrics", (("e", ""), ("format", "prometheus"), ("x", "a b")))


def test_same_address_on_two_paths_is_two_targets(tmp_path):
    r = sync(params(tmp_path, targets=[{**T, "metrics_path": "/a"}, {**T, "metrics_path": "/b"},
                                       {**T, "metrics_path": "/b?x=1"}, "a:1"]))
    assert r["added"] == ["limen/a:1", "limen/a:1/a", "limen/a:1/b", "limen/a:1/b?x=1"]
    doc = json.loads((tmp_path / "limen.json").read_text())
    assert sorted(g["labels"].get("__metrics_path__", "") for g in doc) == ["", "/a", "/b", "/b"]
    assert not sync(params(tmp_path, targets=[{**T, "metrics_path": "/b?x=1"}, "a:1",
                                              {**T, "metrics_path": "/a"}, {**T, "metrics_path": "/b"}]))["changed"]


def params(tmp_path, **kw):
    base = {"directory": str(tmp_path), "job": "limen", "targets": [], "state": "present",
            "exclusive": False, "jobs": None, "prune": False, "mode": None}
    base.update(kw)
    return base


def jobs(tmp_path, *items, prune=True):
    return params(tmp_path, job=None, prune=prune,
                  jobs=[{"name": name, "targets": targets} for name, targets in items])


def snapshot(directory):
    """Every file under DIRECTORY with its bytes and mode, and the directory's own mode."""
    out = {".": os.stat(directory).st_mode}
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                out[os.path.relpath(path, directory)] = (handle.read(), os.lstat(path).st_mode)
    return out


@pytest.mark.parametrize("name,second", [
    ("later job bad", ("two", ["b:1", "bad host:1"])),
    ("later job name bad", ("two\n", ["b:1"])),
    ("later job name too long", ("x" * 251, ["b:1"])),
    ("later job twice", ("one", ["b:1"])),
    ("later job file corrupt", ("corrupt", ["b:1"])),
    ("later job file not UTF-8", ("latin1", ["b:1"])),
    ("later job file nested too deep", ("deep", ["b:1"])),
    ("later job file is a directory", ("dir", ["b:1"])),
    ("later job file is a symlink", ("link", ["b:1"])),
])
def test_a_bad_later_job_writes_nothing(tmp_path, name, second):
    sync(jobs(tmp_path, ("one", ["a:1"])))
    (tmp_path / "corrupt.json").write_text("{not json")
    (tmp_path / "latin1.json").write_bytes(b'[{"targets": ["caf\xe9:1"]}]')
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    (tmp_path / "dir.json").mkdir()
    (tmp_path / "link.json").symlink_to("/etc/hostname")
    before = snapshot(tmp_path)
    with pytest.raises(TargetError) as err:
        sync(jobs(tmp_path, ("one", ["a:2"]), ("new", ["n:1"]), second))
    if second[0] in ("corrupt", "latin1", "deep", "dir", "link"):
        assert str(tmp_path / f"{second[0]}.json") in str(err.value)
    assert snapshot(tmp_path) == before, f"{name}: a refused call changed the directory"


def test_prune_owns_only_what_it_wrote(tmp_path):
    (tmp_path / "foreign.json").write_text('{"dashboard": true}')       # not file_sd at all
    (tmp_path / "handmade.json").write_text('[{"targets": ["h:1"]}]')   # file_sd, not written by us
    sync(jobs(tmp_path, ("one", ["a:1"]), ("two", ["b:1"])))
    assert json.loads((tmp_path / MANIFEST).read_text())["jobs"] == ["one", "two"]
    r = sync(jobs(tmp_path, ("one", ["a:1"])))
    assert r["removed"] == ["two/b:1"] and not (tmp_path / "two.json").exists()
    assert (tmp_path / "foreign.json").read_text() == '{"dashboard": true}'
    assert (tmp_path / "handmade.json").exists()
    assert not sync(jobs(tmp_path, ("one", ["a:1"])))["changed"]


def test_prune_adopts_files_an_older_version_wrote(tmp_path):
    (tmp_path / "old.json").write_text(render(normalize_targets(["o:1"])))   # canonical: ours
    (tmp_path / "other.json").write_text('[{"targets": ["h:1"]}]')           # not canonical
    r = sync(jobs(tmp_path, ("one", ["a:1"])))
    assert r["removed"] == ["old/o:1"] and (tmp_path / "other.json").exists()


def test_prune_refuses_to_delete_an_owned_file_it_cannot_read(tmp_path):
    sync(jobs(tmp_path, ("one", ["a:1"]), ("two", ["b:1"])))
    (tmp_path / "two.json").write_text("edited by hand {")
    before = snapshot(tmp_path)
    with pytest.raises(TargetError, match="two.json: not valid JSON"):
        sync(jobs(tmp_path, ("one", ["a:9"])))
    assert snapshot(tmp_path) == before


def test_manifest_not_ours_is_refused(tmp_path):
    (tmp_path / MANIFEST).write_text('["x"]')
    with pytest.raises(TargetError, match=r"\.limen-targets\.manifest: not the list of jobs"):
        sync(jobs(tmp_path, ("one", ["a:1"])))


def test_check_mode_writes_nothing_not_even_a_lock(tmp_path):
    fresh = tmp_path / "fresh"
    r = sync(jobs(fresh, ("one", ["a:1"])), check_mode=True)
    assert r["changed"] and not fresh.exists()
    sync(params(tmp_path, targets=["a:1"]))
    assert not (tmp_path / ".limen.lock").exists()  # removed while still held
    before = snapshot(tmp_path)
    r = sync(params(tmp_path, targets=["b:1"]), check_mode=True)
    assert r["changed"] and r["added"] == ["limen/b:1"]
    assert snapshot(tmp_path) == before and not (tmp_path / ".limen.lock").exists()


def test_read_only_directory_is_fine_when_nothing_changes(tmp_path):
    p = jobs(tmp_path, ("one", ["a:1"]))
    sync(p)
    assert not (tmp_path / ".limen.lock").exists()  # removed while still held
    with immutable(tmp_path):
        with pytest.raises(PermissionError):
            (tmp_path / "probe").write_text("")   # the directory really is read-only
        for check in (True, False):
            r = sync(p, check_mode=check)
            assert not r["changed"] and r["unchanged"] == ["one/a:1"]
        assert sync(jobs(tmp_path, ("one", ["a:2"])), check_mode=True)["changed"]


def test_absent_with_no_targets_removes_file_and_record(tmp_path):
    sync(jobs(tmp_path, ("one", ["a:1"]), ("two", ["b:1"])))
    r = sync(params(tmp_path, job="two", state="absent"))
    assert r["removed"] == ["two/b:1"] and not (tmp_path / "two.json").exists()
    assert json.loads((tmp_path / MANIFEST).read_text())["jobs"] == ["one"]


def test_rewrite_keeps_mode_when_none_given(tmp_path):
    sync(params(tmp_path, targets=["a:1"], mode="0640"))
    sync(params(tmp_path, targets=["b:1"]))
    assert os.stat(tmp_path / "limen.json").st_mode & 0o777 == 0o640
    assert parse_file((tmp_path / "limen.json").read_text(), "f").keys() == {
        ("a:1", "", ()), ("b:1", "", ())}


def test_direct_and_inventory_directories_never_fight(tmp_path):
    inventory, services = tmp_path / "inventory", tmp_path / "services"
    role = jobs(inventory, ("limen", ["limen-api:18443"]), ("node", ["mon:9100"]))
    sync(role)
    direct = params(services, targets=["limen-api-2:18443"])
    assert sync(direct)["added"] == ["limen/limen-api-2:18443"]
    assert not sync(role)["changed"] and not sync(direct)["changed"]
    assert parse_file((services / "limen.json").read_text(), "f").keys() == {("limen-api-2:18443", "", ())}
