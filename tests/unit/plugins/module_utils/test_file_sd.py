"""file_sd: target lists checked and normalised, rendered as Prometheus reads them."""

from __future__ import annotations

import json

import pytest

from ansible_collections.limen.monitoring.plugins.module_utils.file_sd import (
    TargetError,
    normalize_targets,
    render,
)

BAD = [
    ([{"host": "a", "port": 0}], "port 0 is outside 1-65535"),
    ([{"host": "a", "port": 70000}], "outside 1-65535"),
    ([{"host": "a", "port": "http"}], "is not a number"),
    ([{"host": "a", "port": True}], "is not a number"),
    ([{"host": "bad host", "port": 80}], "neither an IP address nor a host name"),
    ([{"host": "", "port": 80}], "non-empty string"),
    (["a:80", "a:80"], "duplicate target a:80"),
    ([{"host": "a", "port": 80, "labels": {"1x": "v"}}], "label name '1x'"),
    ([{"host": "a", "port": 80, "labels": {"__address__": "v"}}], "reserved by Prometheus"),
    ([{"host": "a", "port": 80, "labels": {"env": None}}], "scalar value"),
    ([{"host": "a", "port": 80, "metrics_path": "metrics"}], "must start with '/'"),
    ([{"host": "a", "port": 80, "scheme": "ftp"}], "scheme 'ftp'"),
    ([{"host": "a", "port": 80, "extra": 1}], "unknown keys ['extra']"),
    (["no-port"], "must be 'host:port'"),
    ([{"port": 80}], "'host' and 'port' are required"),
]


@pytest.mark.parametrize("targets,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_is_refused_with_the_item_named(targets, message):
    with pytest.raises(TargetError) as err:
        normalize_targets(targets)
    assert message in str(err.value)
    assert "targets[" in str(err.value)


def test_good_targets_normalise():
    out = normalize_targets([
        {"host": "LIMEN-api", "port": "18443", "metrics_path": "/api/metrics", "scheme": "https",
         "labels": {"env": "prod", "__param_module": "x"}},
        "10.0.0.5:8080", {"host": "fd00::1", "port": 9100}, "[fd00::2]:9100"])
    assert out[("limen-api:18443", "/api/metrics", (("module", "x"),))] == {
        "env": "prod", "__param_module": "x", "__metrics_path__": "/api/metrics", "__scheme__": "https"}
    assert {key[0] for key in out} == {"limen-api:18443", "10.0.0.5:8080", "[fd00::1]:9100", "[fd00::2]:9100"}


def test_rendered_file_is_valid_file_sd_grouped_by_labels():
    doc = json.loads(render({("a:1", "", ()): {"env": "x"}, ("b:1", "", ()): {"env": "x"}, ("c:1", "", ()): {}}))
    assert {"targets": ["a:1", "b:1"], "labels": {"env": "x"}} in doc
    assert {"targets": ["c:1"], "labels": {}} in doc
