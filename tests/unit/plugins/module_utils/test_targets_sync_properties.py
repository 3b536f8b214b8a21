"""Property tests (Hypothesis) for every prometheus_targets validator and for sync.

Invariants: a valid value is accepted in canonical form; an invalid one is refused with a
message naming the field and the value; a refused call changes no byte on disk; nothing
outside the target directory is ever touched.
"""

from __future__ import annotations

import ipaddress
import os
import string
import tempfile
import urllib.parse

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.limen.monitoring.plugins.module_utils import validate
from ansible_collections.limen.monitoring.plugins.module_utils.file_sd import (
    TargetError,
    normalize_targets,
    parse_file,
    render,
)
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import sync
from ansible_collections.limen.monitoring.plugins.module_utils.validate import ValidationError

FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
DISK = settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that must never survive next to a valid value: whitespace, C0/C1 controls, DEL.
JUNK = st.sampled_from(list(" \t\n\r\x0b\x0c\x00\x1b\x7f\x85\xa0\u2028\u3000"))
UNICODE_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: c not in string.digits)
ports = st.integers(1, 65535)
label_names = st.from_regex(validate.LABEL_NAME, fullmatch=True)
job_names = st.from_regex(validate.JOB_NAME, fullmatch=True).filter(lambda j: len(j) <= validate.JOB_NAME_MAX)
host_labels = st.from_regex(validate.HOST_LABEL, fullmatch=True)
hostnames = st.lists(host_labels, min_size=1, max_size=4).map(".".join).filter(
    lambda h: len(h) <= 253 and not h.split(".")[-1].isdigit())
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
hosts = st.one_of(hostnames, ipv4, ipv6.map(lambda a: f"[{a}]"))


def refused(func, value, *words):
    """FUNC(VALUE) raises ValidationError whose message holds WORDS and repr(VALUE)."""
    try:
        func(value)
    except ValidationError as exc:
        for word in words + (repr(value),):
            assert word in str(exc), (word, str(exc))
        return
    raise AssertionError(f"{value!r} was accepted")


@FAST
@given(hostnames)
def test_hostnames_accepted_lowercased(name):
    assert validate.host(name) == name.lower()


@FAST
@given(ipv4, ports)
def test_ipv4_targets_accepted(ip, port):
    assert list(normalize_targets([f"{ip}:{port}"]))[0][0] == f"{ip}:{port}"


@FAST
@given(st.ip_addresses(v=6), ports, st.booleans())
def test_ipv6_bracketed_accepted_bare_refused_with_the_bracketed_form(ip, port, exploded):
    text = ip.exploded if exploded else str(ip)
    assert list(normalize_targets([f"[{text}]:{port}"]))[0][0] == f"[{ip.compressed}]:{port}"
    assert list(normalize_targets([{"host": text, "port": port}]))[0][0] == f"[{ip.compressed}]:{port}"
    refused(lambda v: validate.address(v, "t"), f"{text}:{port}", "ambiguous", f"[{text}]:{port}")


@FAST
@given(st.text(max_size=40))
def test_any_text_as_host_is_canonical_or_refused_naming_it(text):
    try:
        out = validate.host(text, "targets[0]")
    except ValidationError as exc:
        assert str(exc).startswith("targets[0]: host") and repr(text) in str(exc)
        return
    assert out.isascii() and out == out.strip() and "/" not in out and ".." not in out
    bare = out.strip("[]")
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        assert all(validate.full_match(validate.HOST_LABEL, lab) for lab in bare.rstrip(".").split("."))


@FAST
@given(st.one_of(hostnames, ipv4), JUNK, st.booleans())
def test_whitespace_or_control_next_to_a_valid_host_is_refused(host, junk, before):
    refused(lambda v: validate.host(v, "h"), junk + host if before else host + junk, "h: host")


@FAST
@given(ports)
def test_ports_accepted_as_int_and_ascii_text(port):
    assert validate.port(port) == validate.port(str(port)) == port


@FAST
@given(st.one_of(st.integers(max_value=0), st.integers(min_value=65536)))
def test_ports_out_of_range_refused(port):
    try:
        validate.port(port, "p")
        raise AssertionError(port)
    except ValidationError as exc:
        assert "p: port" in str(exc) and str(port) in str(exc)


@FAST
@given(ports, UNICODE_DIGITS, st.integers(0, 5))
def test_unicode_digits_in_a_port_are_refused(port, digit, at):
    text = str(port)
    text = text[:at] + digit + text[at:]
    refused(lambda v: validate.port(v, "p"), text, "p: port")


@FAST
@given(ports, st.one_of(JUNK, st.sampled_from(["_", "+", "-", ".0", "e1", "0x"])), st.booleans())
def test_decorated_ports_are_refused(port, junk, before):
    text = junk + str(port) if before else str(port) + junk
    assume(not text.isascii() or not text.isdigit())
    refused(lambda v: validate.port(v, "p"), text, "p: port")


@FAST
@given(label_names)
def test_label_names_accepted(name):
    assert validate.label_name(name) == name


@FAST
@given(st.text(max_size=20))
def test_label_names_full_match(text):
    ok = validate.full_match(validate.LABEL_NAME, text)
    if ok:
        assert validate.label_name(text) == text and text.isascii() and "\n" not in text
    else:
        refused(lambda v: validate.label_name(v, "labels"), text, "labels: label name")


@FAST
@given(label_names, JUNK)
def test_label_name_with_trailing_junk_refused_in_a_target(name, junk):
    try:
        normalize_targets([{"host": "a", "port": 1, "labels": {name + junk: "v"}}])
        raise AssertionError("accepted")
    except TargetError as exc:
        assert "targets[0].labels" in str(exc) and repr(name + junk) in str(exc)


@FAST
@given(st.text(max_size=30))
def test_job_names_never_leave_the_directory(text):
    try:
        name = validate.job_name(text, "job")
    except ValidationError as exc:
        assert str(exc).startswith("job: ") and repr(text) in str(exc)
        return
    path = os.path.join("/d", f"{name}.json")
    assert os.path.dirname(os.path.normpath(path)) == "/d" and not name.startswith(".")
    assert name.isascii() and name == name.strip()


@FAST
@given(job_names, st.sampled_from(["/", "\\", "\x00", "\n", " ", "..", "/../"]), st.booleans())
def test_traversal_and_junk_in_job_names_refused(name, junk, before):
    text = junk + name if before else name + junk
    assume(junk != ".." or before)  # "x.." is a fine file name; "..x" is hidden and refused
    refused(lambda v: validate.job_name(v, "job"), text, "job:")


paths = st.lists(st.from_regex(r"[A-Za-z0-9._~-]{1,8}", fullmatch=True), max_size=4).map(
    lambda segs: "/" + "/".join(segs))
params = st.dictionaries(label_names, st.text(st.characters(exclude_categories=["Cs"]), max_size=10), max_size=3)


@FAST
@given(paths, params)
def test_metrics_path_query_round_trips_into_param_labels(path, query):
    text = path + ("?" + urllib.parse.urlencode(query) if query else "")
    assert validate.metrics_path(text, "m") == (path, query)
    [(key, labels)] = normalize_targets([{"host": "a", "port": 1, "metrics_path": text}]).items()
    assert labels == {"__metrics_path__": path, **{f"__param_{k}": v for k, v in query.items()}}


@FAST
@given(paths, JUNK)
def test_metrics_path_with_whitespace_or_control_refused(path, junk):
    refused(lambda v: validate.metrics_path(v, "m"), path + junk, "m: metrics_path")


# --- sync: invariants on disk ---------------------------------------------------------

targets = st.lists(st.one_of(
    st.tuples(hosts, ports).map(lambda hp: f"{hp[0]}:{hp[1]}"),
    st.fixed_dictionaries({"host": hosts, "port": ports},
                          optional={"labels": st.dictionaries(label_names.filter(lambda n: not n.startswith("__")),
                                                              st.text(max_size=5), max_size=2),
                                    "metrics_path": paths})),
    max_size=4)
jobs = st.lists(st.tuples(job_names, targets), max_size=4, unique_by=lambda jt: jt[0])
bad_targets = st.one_of(
    st.tuples(hostnames, ports, JUNK).map(lambda t: f"{t[0]}:{t[1]}{t[2]}"),
    st.tuples(st.ip_addresses(v=6), ports).map(lambda t: f"{t[0]}:{t[1]}"),
    st.tuples(hostnames, UNICODE_DIGITS).map(lambda t: f"{t[0]}:9{t[1]}"),
    st.tuples(hostnames, label_names, JUNK).map(lambda t: {"host": t[0], "port": 1, "labels": {t[1] + t[2]: "v"}}),
    st.tuples(hostnames, paths, JUNK).map(lambda t: {"host": t[0], "port": 1, "metrics_path": t[1] + t[2]}),
)


def snapshot(root):
    out = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(base, name)
            st_ = os.lstat(path)
            data = open(path, "rb").read() if os.path.isfile(path) and not os.path.islink(path) else None
            out[os.path.relpath(path, root)] = (data, st_.st_mode, st_.st_mtime_ns)
    return out


def call(directory, job_list, prune=True):
    return {"directory": directory, "job": None, "targets": [], "state": "present", "exclusive": False,
            "prune": prune, "mode": None, "jobs": [{"name": n, "targets": t} for n, t in job_list]}


@DISK
@given(jobs, jobs)
def test_sync_stays_inside_its_directory_and_converges(first, second):
    with tempfile.TemporaryDirectory() as root:
        outside = os.path.join(root, "outside.json")
        with open(outside, "w") as handle:
            handle.write('[{"targets": ["keep:1"]}]')
        directory = os.path.join(root, "sd")
        for job_list in (first, second):
            before_outside = snapshot(root)
            before_outside = {k: v for k, v in before_outside.items() if not k.startswith("sd")}
            sync(call(directory, job_list))
            after = snapshot(root)
            assert {k: v for k, v in after.items() if not k.startswith("sd")} == before_outside
            assert not sync(call(directory, job_list))["changed"], "second run must change nothing"
            for name, wanted in job_list:
                with open(os.path.join(directory, f"{name}.json")) as handle:
                    text = handle.read()
                assert parse_file(text, name) == normalize_targets(wanted) and text == render(parse_file(text, name))
        listed = {f"{n}.json" for n, _ in second} | {".limen-targets.manifest", ".limen.lock"}
        on_disk = set(os.listdir(directory)) if os.path.exists(directory) else set()
        assert on_disk <= listed, "prune left a job it wrote"


@DISK
@given(jobs, jobs, bad_targets, st.data())
def test_a_refused_call_changes_no_byte(first, second, bad, data):
    with tempfile.TemporaryDirectory() as root:
        directory = os.path.join(root, "sd")
        sync(call(directory, first))
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "foreign.json"), "w") as handle:
            handle.write("not json at all")
        before = snapshot(root)
        job_list = [(n, list(t)) for n, t in second] or [("only", [])]
        index = data.draw(st.integers(0, len(job_list) - 1))
        job_list[index][1].insert(data.draw(st.integers(0, len(job_list[index][1]))), bad)
        try:
            sync(call(directory, job_list))
            raise AssertionError(f"{bad!r} was accepted")
        except TargetError as exc:
            assert f"jobs[{index}].targets" in str(exc)
        assert snapshot(root) == before
