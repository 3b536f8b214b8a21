# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filter: a grafana.ini value quoted so Grafana reads it back unchanged.

Documentation: grafana_ini_value.yml beside this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.limen.monitoring.plugins.plugin_utils.ini_value import IniValueError, ini_value


def _grafana_ini_value(value, where):
    try:
        return ini_value(value, str(where))
    except IniValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"grafana_ini_value": _grafana_ini_value}
