"""alert_path on answers of any shape from Prometheus and Alertmanager."""

from __future__ import annotations

import pytest

from ansible_collections.limen.monitoring.plugins.module_utils.alert_path import UnexpectedShape, records

# ---- tracebacks: clear messages instead ----
SHAPES = [({}, "the answer is an empty mapping, where a mapping with 'data' was expected"),
          ([], "the answer is an empty list, where a mapping with 'data' was expected"),
          (None, "the answer is null"), ("up", "the answer is the string 'up'"),
          ({"data": {"activeTargets": "nope"}}, "data.activeTargets is the string 'nope', where a list was expected"),
          ({"data": {"activeTargets": [1]}}, "data.activeTargets[0] is the number 1, where a mapping was expected")]


@pytest.mark.parametrize("doc,message", SHAPES)
def test_prometheus_answers_of_any_shape_are_named(doc, message):
    with pytest.raises(UnexpectedShape, match="Prometheus at http://p:9090/api/v1/targets answered JSON of an "
                                              "unexpected shape: " + message.replace("[", r"\[").replace("]", r"\]")):
        records(doc, ("data", "activeTargets"), "Prometheus at http://p:9090/api/v1/targets")


def test_an_alertmanager_mapping_instead_of_a_list_is_named():
    with pytest.raises(UnexpectedShape, match="Alertmanager am at http://a/api/v2/alerts answered JSON of an "
                                              "unexpected shape: the answer is a mapping with keys 'alerts'"):
        records({"alerts": []}, (), "Alertmanager am at http://a/api/v2/alerts")
