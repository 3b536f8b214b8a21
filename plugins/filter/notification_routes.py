# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filter: Alertmanager's configuration with failed notifications routed to every other receiver.

Documentation: notification_failure_routes.yml beside this file.
"""

from __future__ import annotations

from ansible_collections.limen.monitoring.plugins.plugin_utils.notification_routes import (
    notification_failure_routes,
)


class FilterModule:
    def filters(self):
        return {"notification_failure_routes": notification_failure_routes}
