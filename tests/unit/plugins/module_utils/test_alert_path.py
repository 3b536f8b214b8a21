"""The alert path's judgements: scrape targets, Alertmanager, the watchdog, delivery, failing receivers."""

from __future__ import annotations

import pytest

from ansible_collections.limen.monitoring.plugins.module_utils.alert_path import (
    alertmanager_problems,
    delivery_problem,
    failing_receivers,
    has_watchdog,
    probe_is_definitive,
    target_problems,
)
from ansible_collections.limen.monitoring.plugins.plugin_utils.notification_content import (
    receiver_integrations,
)


def target(job, health="up", error="", instance="10.0.0.5:9100"):
    return {"labels": {"job": job, "instance": instance}, "health": health, "lastError": error}


def test_healthy_self_targets_have_no_problem():
    ts = [target("prometheus"), target("alertmanager"), target("node"), target("limen", "down")]
    assert target_problems(ts, ["prometheus", "alertmanager", "node"]) == []


def test_a_401_target_names_it_and_the_variables():
    [msg] = target_problems([target("prometheus"), target("alertmanager", "down",
                             "server returned HTTP status 401 Unauthorized", "10.0.0.5:9093")],
                            ["prometheus", "alertmanager"])
    assert "alertmanager target 10.0.0.5:9093" in msg and "401 Unauthorized" in msg
    assert "alertmanager_web_users" in msg


def test_a_certificate_error_points_at_tls_not_passwords():
    [msg] = target_problems([target("node", "down", "x509: certificate signed by unknown authority")], ["node"])
    assert "pki_ca_file" in msg and "web_users" not in msg


def test_a_missing_job_is_a_problem():
    [msg] = target_problems([target("prometheus")], ["prometheus", "node"])
    assert "no node target" in msg


def test_alertmanager_not_active_is_named():
    expected = [{"name": "10.0.0.5:9093", "url": "https://10.0.0.5:9093"},
                {"name": "10.0.0.6:9093", "url": "https://10.0.0.6:9093/"}]
    active = [{"url": "https://10.0.0.5:9093/api/v2/alerts"}]
    [msg] = alertmanager_problems(active, expected)
    assert "10.0.0.6:9093" in msg and "https://10.0.0.5:9093" in msg
    assert alertmanager_problems(active + [{"url": "https://10.0.0.6:9093/api/v2/alerts"}], expected) == []


def test_watchdog_must_come_from_this_prometheus():
    alerts = [{"labels": {"alertname": "Watchdog", "monitor": "mon2"}},
              {"labels": {"alertname": "TargetDown", "monitor": "mon1"}}]
    assert not has_watchdog(alerts, {"monitor": "mon1"})
    assert has_watchdog(alerts, {"monitor": "mon2"})
    assert has_watchdog(alerts, {})
    assert not has_watchdog([], {}) and not has_watchdog(None, {})


def test_delivery_message_names_the_alertmanager_and_the_reason():
    am = {"name": "10.0.0.5:9093", "url": "https://10.0.0.5:9093"}
    msg = delivery_problem(am, "401 Unauthorized", 3)
    assert msg.startswith("Prometheus cannot deliver to Alertmanager 10.0.0.5:9093: 401 Unauthorized")
    assert "alertmanager_web_users" in msg
    assert "within 30 s" in delivery_problem(am, None, 30)


@pytest.mark.parametrize("error, definitive", [
    ("401 Unauthorized", True), ("403 Forbidden", True),
    ("TLS: certificate verify failed: unable to get local issuer certificate", True),
    ("[Errno 111] Connection refused", False), ("503 Service Unavailable", False), (None, False)])
def test_only_credential_and_certificate_errors_stop_the_wait(error, definitive):
    assert probe_is_definitive(error) is definitive


# ---- the self-check: receivers whose last notification failed ----
def series(labels, *points):
    return {"metric": labels, "values": [[t, str(v)] for t, v in points]}


MAIL = {"instance": "m:9093", "integration": "email", "receiver_name": "mail"}
OLD_MAIL = {"instance": "m:9093", "integration": "email"}          # Alertmanager before 0.27


@pytest.mark.parametrize("totals, failures, reloads, named", [
    # never used: counters at 0 throughout
    ([series(MAIL, (1, 0), (2, 0))], [series(MAIL, (1, 0), (2, 0))], {}, []),
    # last attempt failed
    ([series(MAIL, (1, 0), (2, 1))], [series({**MAIL, "reason": "other"}, (1, 0), (3, 1))], {}, ["receiver mail (email)"]),
    # failed, then delivered
    ([series(MAIL, (1, 0), (2, 1), (5, 2))], [series(MAIL, (1, 0), (3, 1), (5, 1))], {}, []),
    # delivered, then failed; a second reason's series counts too
    ([series(MAIL, (1, 0), (2, 1), (5, 2))],
     [series({**MAIL, "reason": "a"}, (1, 0), (5, 0)), series({**MAIL, "reason": "b"}, (1, 0), (6, 1))], {},
     ["receiver mail (email)"]),
    # the failure came before the last configuration load: not counted
    ([series(MAIL, (1, 0), (2, 1))], [series(MAIL, (1, 0), (3, 1))], {"m:9093": "4"}, []),
    # a restart reset the counters, then one failure
    ([series(MAIL, (1, 5), (2, 0), (3, 1))], [series(MAIL, (1, 2), (2, 0), (3, 1))], {}, ["receiver mail (email)"]),
    # old Alertmanager: named through the receivers with that integration
    ([series(OLD_MAIL, (1, 0), (2, 1))], [series(OLD_MAIL, (1, 0), (2, 1))], {},
     ["the email receiver(s) mail, mail2 (this Alertmanager version does not say which)"]),
])
def test_failing_receivers(totals, failures, reloads, named):
    receivers = receiver_integrations([{"name": "mail", "email_configs": [{}]}, {"name": "mail2", "email_configs": [{}]},
                                       {"name": "hook", "webhook_configs": [{}]}, {"name": "none"}])
    problems = failing_receivers(totals, failures, reloads, receivers)
    assert [p.split(" cannot deliver to ")[1].split(": its last")[0] for p in problems] == named, problems
    assert all(p.startswith("Alertmanager m:9093 cannot deliver to ") for p in problems)
