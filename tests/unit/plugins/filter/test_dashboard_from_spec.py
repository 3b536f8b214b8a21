"""The dashboard_from_spec filter: the context passed to plugin_utils/dashboard_render, anything else refused."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.limen.monitoring.plugins.filter.dashboard_from_spec import dashboard_from_spec
from ansible_collections.limen.monitoring.plugins.plugin_utils.dashboard_render import render


def panel(**kw):
    return {"title": kw.pop("title", "p"), "exprs": kw.pop("exprs", [["up", "{{job}}"]]), **kw}


def spec(*rows, **kw):
    return {"title": "T", "uid": "u", "rows": [{"title": f"row {i}", "panels": list(r)} for i, r in enumerate(rows)],
            **kw}


def test_the_filter_passes_the_context_and_rejects_what_is_no_spec():
    context = {"datasource_uid": "ds", "service_jobs": ["api"], "own_jobs_re": "node"}
    assert dashboard_from_spec(spec([panel()], variables=["any_job"]), "", context) == render(
        spec([panel()], variables=["any_job"]), "", "ds", ["api"], "node")
    with pytest.raises(AnsibleFilterError, match="not a dict"):
        dashboard_from_spec("title: T")
    with pytest.raises(AnsibleFilterError, match="'u' is not well formed"):
        dashboard_from_spec({"uid": "u", "title": "T"})
    with pytest.raises(AnsibleFilterError, match="9 expressions, at most 8"):
        dashboard_from_spec(spec([panel(exprs=[["up", ""]] * 9)]))
