# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filter: how Prometheus authenticates to and verifies a component of the collection.

Documentation: scrape_auth.yml and alertmanager_clients.yml beside this file.
"""

from __future__ import annotations

from ansible_collections.limen.monitoring.plugins.plugin_utils.web_clients import alertmanager_clients, scrape_auth


class FilterModule:
    def filters(self):
        return {"scrape_auth": scrape_auth, "alertmanager_clients": alertmanager_clients}
