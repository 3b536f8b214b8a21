# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filter: a Grafana dashboard (a dict) from a short spec of the grafana role.

Documentation: dashboard_from_spec.yml beside this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.limen.monitoring.plugins.plugin_utils.dashboard_render import render


def dashboard_from_spec(spec, job="", context=None):
    context = context or {}
    if not isinstance(spec, dict):
        raise AnsibleFilterError(f"dashboard_from_spec: the spec is a {type(spec).__name__}, not a dict")
    try:
        return render(spec, job or "", context.get("datasource_uid", ""), context.get("service_jobs", []),
                      context.get("own_jobs_re", ""))
    except (KeyError, TypeError, ValueError) as e:
        raise AnsibleFilterError(
            f"dashboard_from_spec: spec {spec.get('uid', spec.get('title', '?'))!r} is not well formed: {e!r}") from e


class FilterModule:
    def filters(self):
        return {"dashboard_from_spec": dashboard_from_spec}
