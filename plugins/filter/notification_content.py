# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filters: the shipped notification templates put on the receivers; the runbook pages; receivers' integrations.

Documentation: notification_templates.yml, runbook_pages.yml and receiver_integrations.yml beside this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.limen.monitoring.plugins.plugin_utils.notification_content import (
    notification_templates,
    receiver_integrations,
    runbook_pages,
)


def _runbook_pages(contents, names, directory):
    try:
        return runbook_pages(list(contents), [str(n) for n in names], str(directory))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"notification_templates": notification_templates, "runbook_pages": _runbook_pages,
                "receiver_integrations": receiver_integrations}
