# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filter: the company metric standard as data, for the rule templates.

Documentation: metric_standard.yml beside this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.limen.monitoring.plugins.module_utils.metric_standard import rule_entries

_SELECTIONS = {"all": lambda e: True, "required": lambda e: e["required"], "optional": lambda e: not e["required"]}


def metric_standard(selection="all"):
    if selection not in _SELECTIONS:
        raise AnsibleFilterError(f"metric_standard: {selection!r} is not one of {', '.join(_SELECTIONS)}")
    return [entry for entry in rule_entries() if _SELECTIONS[selection](entry)]


class FilterModule:
    def filters(self):
        return {"metric_standard": metric_standard}
