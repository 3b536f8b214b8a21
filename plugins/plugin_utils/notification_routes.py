# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Failed notifications announced on every other receiver.

PRIVATE to the collection: used by the `notification_failure_routes` filter. Pure functions
over plain mappings, unit-tested without Ansible (and the result with amtool).
"""

from __future__ import annotations

# The shipped alert on alertmanager_notifications_failed_total (prometheus role, limen-meta).
ALERT = "AlertmanagerNotificationsFailing"
# Where the announcement ends: a receiver without integrations, so it reaches no receiver twice
# through the operator's own routes, nor the failing one.
END_RECEIVER = "limen-notification-failures-end"


def _delivers(receiver):
    """A receiver with at least one integration (email_configs, webhook_configs, ...)."""
    return any(key.endswith("_configs") and value for key, value in receiver.items())


def notification_failure_routes(config):
    """CONFIG (Alertmanager's: route, receivers, ...) with the announcement routes first.

    One route per receiver that delivers anywhere, in the order of `receivers`: it takes the
    alert unless the alert is about that receiver (label receiver_name, Alertmanager 0.27 and
    later; older ones have no such label, so every receiver gets it, the failing one too) and
    continues to the next. A last route ends the alert's way, so the operator's routes and the
    root receiver do not deliver it again. The operator's routes (the Watchdog's among them)
    come after, unchanged. No receiver that delivers: CONFIG unchanged.
    """
    receivers = list(config.get("receivers") or [])
    names = [r["name"] for r in receivers if isinstance(r, dict) and r.get("name") and _delivers(r)]
    if not names:
        return config
    route = dict(config.get("route") or {})
    alert = f'alertname="{ALERT}"'
    announce = [{"matchers": [alert, f'receiver_name!="{name}"'], "receiver": name, "continue": True}
                for name in names]
    route["routes"] = announce + [{"matchers": [alert], "receiver": END_RECEIVER}] + list(route.get("routes") or [])
    return {**config, "route": route, "receivers": receivers + [{"name": END_RECEIVER}]}
