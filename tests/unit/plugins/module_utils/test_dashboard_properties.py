"""Property-based tests (Hypothesis) of every grafana_dashboard validator and of whole calls.

Invariants: a value is accepted exactly when the documented rule allows it; an invalid value is
refused with a message naming the field and the value (its repr, so "\\n" is visible); an
accepted name is a real directory or file inside the dashboards directory; no call touches a
file outside it; a refused call changes no byte on disk.
"""

from __future__ import annotations

import json
import os
import string
import tempfile
import unicodedata

from dashboard_helpers import dash, params, tree_digest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ansible_collections.limen.monitoring.plugins.module_utils.dashboard import (
    UID_OK,
    DashboardError,
    dashboard_path,
    normalise,
    unresolved_inputs,
    validate_uid,
)
from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import sync
from ansible_collections.limen.monitoring.plugins.module_utils.safe_names import full_match

FAST = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that have broken name checks before: line ends, NUL, separators, dots, Unicode
# digits and spaces, a lone surrogate, joiners and direction overrides, a 4-byte emoji.
NASTY = ["\n", "\r", "\t", "\x00", "\x7f", "\x85", "\u2028", "\u2029", "\ud800", "/", "\\", ".", " ", "\u00a0",
         "\u3000", "\u00e9", "\u0663", "\U0001d7d7", "\u200d", "\u202e", "\ufeff", "\U0001F600", "-", "_"]
TRAVERSALS = ["..", ".", "../", "../..", "../../other/victim", "/etc", "/", "a/../..", "..\\..", "~", "~root",
              "Team\n", "abc\n", "\nabc", " Team", ".limen.lock", "victim.json", "Linked", "x" * 101]
chars = st.one_of(st.characters(), st.sampled_from(NASTY))
valid_uid = st.from_regex(r"[a-zA-Z0-9_-]{1,40}", fullmatch=True)


@st.composite
def spoiled(draw, base):
    """A valid-looking value with one nasty character put somewhere (start, middle, end)."""
    value = draw(base)
    at = draw(st.integers(0, len(value)))
    return value[:at] + draw(st.sampled_from(NASTY)) + value[at:]


names = st.one_of(st.text(chars, max_size=60), st.sampled_from(TRAVERSALS), spoiled(valid_uid),
                  st.text(st.characters(), min_size=95, max_size=110), valid_uid,
                  # near the limits: 100 characters, 255 bytes (1- to 4-byte characters)
                  st.text(st.sampled_from(["a", "\u65e5", "\U0001F600", "\U0001F600"]), min_size=60, max_size=100))


def uid_allowed(uid):
    return 1 <= len(uid) <= 40 and all(c in string.ascii_letters + string.digits + "-_" for c in uid)


def folder_allowed(folder):
    return (0 < len(folder) <= 100 and folder not in (".", "..", ".limen.lock") and "/" not in folder
            and "\\" not in folder and folder == folder.strip()
            and not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in folder)
            and len(folder.encode("utf-8")) <= 255
            and unicodedata.normalize("NFC", folder) == folder)   # one spelling of what looks the same


@FAST
@given(names)
def test_uid_accepted_exactly_by_the_rule(uid):
    try:
        validate_uid(uid, "dashboards[0].uid")
    except DashboardError as exc:
        assert not uid_allowed(uid)
        assert str(exc).startswith(f"dashboards[0].uid: uid {uid!r} ")
    else:
        assert uid_allowed(uid) and full_match(UID_OK, uid)


@FAST
@given(names)
@example("\uf900")   # a compatibility ideograph: NFC turns it into another code point that looks the same
def test_folder_accepted_exactly_by_the_rule_and_really_creatable(folder):
    with tempfile.TemporaryDirectory() as tmp:
        directory = os.path.join(tmp, "dashboards")
        try:
            path = dashboard_path(directory, folder, "x", "dashboards[3]")
        except DashboardError as exc:
            assert not folder_allowed(folder), str(exc)
            assert f"dashboards[3].folder: folder {folder!r} " in str(exc)
            return
        if folder == "":  # the top level
            assert path == os.path.join(directory, "x.json")
            return
        assert folder_allowed(folder)
        assert path == os.path.join(directory, folder, "x.json")
        os.makedirs(os.path.dirname(path))  # the filesystem takes the name as it is
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("{}")
        assert os.listdir(directory) == [folder]


@FAST
@given(st.one_of(st.text(chars, max_size=80), st.sampled_from(["", " ", "\n", "Team\n", "\ud800"])),
       st.sampled_from(["", "Team", "Équipe"]))
def test_title_refused_with_its_value_or_gives_a_valid_stable_uid(title, folder):
    doc = {"title": title, "panels": []}
    try:
        out = normalise(doc, "dashboards[0].json", None, folder)
    except DashboardError as exc:
        assert str(exc).startswith("dashboards[0].json: ") and repr(title) in str(exc)
        assert "title" in str(exc)
        return
    assert title.strip() and full_match(UID_OK, out["uid"])
    assert out["uid"] == normalise(doc, "again", None, folder)["uid"]


def _world(tmp):
    """tmp/dashboards (with a dashboard, a folder, a symlink out) and tmp/other, which no call may touch."""
    d = os.path.join(tmp, "dashboards")
    os.makedirs(os.path.join(d, "Team"))
    os.makedirs(os.path.join(tmp, "other"))
    for path, uid in ((os.path.join(d, "Team", "kept.json"), "kept"), (os.path.join(d, "victim.json"), "victim"),
                      (os.path.join(tmp, "other", "victim.json"), "victim")):
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(dict(dash(), uid=uid), handle)
    os.symlink(os.path.join(tmp, "other"), os.path.join(d, "Linked"))
    return d


requests = st.fixed_dictionaries({"folder": st.one_of(st.just(""), st.just("Team"), names),
                                  "uid": st.one_of(valid_uid, names, st.sampled_from(["kept", "victim"])),
                                  "state": st.sampled_from(["present", "absent"])})


@SLOW
@given(st.lists(requests, min_size=1, max_size=3), st.booleans(), st.booleans())
@example([{"folder": "", "uid": "kept", "state": "present"}], False, False)  # Team/kept.json holds it
@example([{"folder": "Linked", "uid": "victim", "state": "absent"}], False, False)
@example([{"folder": "victim.json", "uid": "0", "state": "present"}], False, False)  # a file where the folder goes
def test_a_whole_call_stays_inside_and_a_refused_one_changes_nothing(items, prune, check_mode):
    with tempfile.TemporaryDirectory() as tmp:
        d = _world(tmp)
        items = [dict(i, dashboard=dash(f"Board {n}")) if i["state"] == "present" else i for n, i in enumerate(items)]
        p = params(d, dashboards=items, prune=prune)
        before, outside = tree_digest(tmp), tree_digest(os.path.join(tmp, "other"))
        try:
            result = sync(p, check_mode=check_mode)
        except DashboardError as exc:
            assert tree_digest(tmp) == before, f"refused ({exc}) but something changed"
            assert (str(exc).startswith("dashboards[") or "outside" in str(exc) or "already provisioned" in str(exc)
                    or "is a file where a directory should be" in str(exc)), str(exc)
            return
        assert tree_digest(os.path.join(tmp, "other")) == outside
        root = os.path.realpath(d)
        for path in [r["path"] for r in result["dashboards"]] + result["removed"]:
            assert os.path.commonpath([root, os.path.realpath(os.path.dirname(path))]) == root, path
        if check_mode:
            assert tree_digest(tmp) == before, "check mode changed something"
            return
        claims = {}
        for base, _, files in os.walk(d):
            for name in [f for f in files if f.endswith(".json")]:
                with open(os.path.join(base, name), encoding="utf-8") as handle:
                    uid = json.load(handle)["uid"]
                assert uid not in claims, f"uid {uid!r} in {claims.get(uid)} and {base}/{name}: Grafana loads one"
                claims[uid] = os.path.join(base, name)
        assert not sync(p)["changed"], "a second run changed something"
        assert not sync(p, check_mode=True)["changed"]


DATASOURCE_TYPES = ["prometheus", "loki", "elasticsearch", "influxdb"]


@SLOW
@given(st.dictionaries(st.from_regex(r"DS_[A-Z]{1,8}", fullmatch=True), st.sampled_from(DATASOURCE_TYPES),
                       min_size=1, max_size=4), st.data())
def test_only_prometheus_inputs_are_filled_in(inputs, data):
    used = data.draw(st.lists(st.sampled_from(sorted(inputs)), min_size=1, max_size=6))
    doc = {"title": "Shared", "panels": [
        data.draw(st.sampled_from([{"datasource": f"${{{n}}}"}, {"datasource": {"type": inputs[n], "uid": f"${{{n}}}"}},
                                   {"datasource": {"uid": f"${{{n}}}"}}, {"title": f"from ${{{n}}}"}]))
        for n in used],
        "__inputs": [{"name": n, "type": "datasource", "pluginId": t} for n, t in inputs.items()]}
    out = normalise(doc, "shared.json", "limen-prom")
    text = json.dumps(out["panels"])
    for name in set(used):
        placeholder = f"${{{name}}}"
        assert (placeholder in text) == (inputs[name] != "prometheus"), (name, text)
    assert [u["input"] for u in unresolved_inputs(out)] == sorted(n for n in set(used) if inputs[n] != "prometheus")
    assert "limen-prom" in text or all(inputs[n] != "prometheus" for n in used)
