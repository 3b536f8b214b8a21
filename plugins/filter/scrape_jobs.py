# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filters: inventory hosts -> scrape jobs -> scrape configs.

Documentation: scrape_jobs.yml and scrape_configs.yml beside this file.
"""

from __future__ import annotations

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
