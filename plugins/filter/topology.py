# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filters: the inventory -> the monitoring topology; scrape jobs -> scrape configs.

Documentation: topology.yml, scrape_configs.yml and passthrough_secrets.yml beside this file.
"""

from __future__ import annotations

import functools
import os

import yaml
from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.limen.monitoring.plugins.plugin_utils.inventory_jobs import (
    InventoryError,
    passthrough_secrets,
    scrape_configs,
)
from ansible_collections.limen.monitoring.plugins.plugin_utils.topology import (
    settings_errors,
    topology,
)

# The collection's roles, beside plugins/ in the source tree and in an installed collection.
ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")
# Facts the collection itself sets on every host.
SET_BY_THE_COLLECTION = {"monitoring_topology"}


@functools.lru_cache(maxsize=1)
def known_variables(roles=ROLES):
    """Every public variable of the collection's roles: argument specs, defaults and vars."""
    names = set(SET_BY_THE_COLLECTION)
    for role in sorted(os.listdir(roles)):
        for part in ("meta/argument_specs.yml", "defaults/main.yml", "vars/main.yml"):
            path = os.path.join(roles, role, part)
            if not os.path.isfile(path):
                continue
            with open(path, encoding="utf-8") as handle:
                doc = yaml.safe_load(handle) or {}
            if part.startswith("meta/"):
                for entry in (doc.get("argument_specs") or {}).values():
                    names.update((entry or {}).get("options") or {})
            else:
                names.update(doc)
    return frozenset(names)


def _topology(groups, hostvars, defaults):
    try:
        topo = topology(groups, hostvars, defaults, known_variables())
    except InventoryError as exc:
        raise AnsibleFilterError(str(exc)) from None
    typos = topo.pop("misspelt_variables")
    if typos and defaults.get("strict_variables"):
        raise AnsibleFilterError("; ".join(typos) + " (monitoring_strict_variables is true)")
    for message in typos:
        Display().warning(message)
    return topo


def _scrape_configs(jobs, settings, file_sd_dir, secrets_dir, services_dir=None, discovery=None,
                    internal_networks=None):
    try:
        return scrape_configs(jobs, settings, file_sd_dir, secrets_dir, services_dir, discovery, internal_networks)
    except InventoryError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _passthrough_secrets(entries, kind, secrets_dir):
    try:
        return passthrough_secrets(entries, kind, secrets_dir)
    except InventoryError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _settings_errors(topo, settings):
    return settings_errors(topo, settings)


class FilterModule:
    def filters(self):
        return {"topology": _topology, "scrape_configs": _scrape_configs,
                "settings_errors": _settings_errors,
                "passthrough_secrets": _passthrough_secrets}
