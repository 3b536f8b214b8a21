# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filter: inventory hosts -> scrape jobs for limen.monitoring.prometheus_targets."""

from __future__ import annotations

DOCUMENTATION = r"""
name: scrape_jobs
short_description: Build scrape jobs from the hosts' monitoring_endpoints variables
description:
  - Groups every host's C(monitoring_endpoints) by job and adds node_exporter targets.
positional: hostvars
options:
  _input:
    description: Inventory host names (for example C(groups['monitored_services'])).
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: raw
    required: true
  node_hosts:
    description: Hosts that run node_exporter.
    type: list
    elements: str
    default: []
  node_port:
    description: node_exporter port.
    type: int
    default: 9100
"""

EXAMPLES = r"""
jobs: "{{ groups['monitored_services'] | limen.monitoring.scrape_jobs(hostvars) }}"
"""

RETURN = r"""
_value:
  description: A list of C({name, targets}) mappings, sorted by job name.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.limen.monitoring.plugins.module_utils.inventory_jobs import (
    InventoryError,
    scrape_configs,
    scrape_jobs,
)


def _scrape_jobs(hosts, hostvars, node_hosts=None, node_port=9100):
    try:
        return scrape_jobs(hosts or [], hostvars, node_hosts or [], int(node_port))
    except InventoryError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _scrape_configs(jobs, settings, file_sd_dir, secrets_dir):
    try:
        return scrape_configs(jobs, settings, file_sd_dir, secrets_dir)
    except InventoryError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"scrape_jobs": _scrape_jobs, "scrape_configs": _scrape_configs}
