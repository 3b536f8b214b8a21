# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filters: the inventory -> the monitoring topology; scrape jobs -> scrape configs.

Documentation: topology.yml and scrape_configs.yml beside this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.limen.monitoring.plugins.module_utils.inventory_jobs import (
    InventoryError,
    scrape_configs,
)
from ansible_collections.limen.monitoring.plugins.module_utils.topology import (
    settings_errors,
    topology,
)


def _topology(groups, hostvars, defaults):
    try:
        return topology(groups, hostvars, defaults)
    except InventoryError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _scrape_configs(jobs, settings, file_sd_dir, secrets_dir):
    try:
        return scrape_configs(jobs, settings, file_sd_dir, secrets_dir)
    except InventoryError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _settings_errors(topo, settings):
    return settings_errors(topo, settings)


class FilterModule:
    def filters(self):
        return {"topology": _topology, "scrape_configs": _scrape_configs,
                "settings_errors": _settings_errors}
