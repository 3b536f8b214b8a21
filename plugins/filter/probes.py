# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filter: the probes blackbox_exporter runs from a monitoring server.

Documentation: probe_plan.yml beside this file.
"""

from __future__ import annotations

from ansible_collections.limen.monitoring.plugins.plugin_utils.probes import COMPONENTS, plan


def probe_plan(jobs, scrape_configs, topology, ca_file, timeout="5s", components=COMPONENTS):
    return plan(jobs, scrape_configs, topology, ca_file, timeout, components)


class FilterModule:
    def filters(self):
        return {"probe_plan": probe_plan}
