# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Judge the alert path from what Prometheus and Alertmanager answer (PRIVATE to the collection).

Pure functions: the alert_path_check module fetches the JSON, these functions say which
link is broken, in words an operator can act on.
"""

from __future__ import annotations

# Which variables to look at when a self target cannot be scraped.
HINTS = {
    "prometheus": "prometheus_web_users / prometheus_internal_user",
    "alertmanager": "alertmanager_web_users / alertmanager_internal_user",
    "node": "node_exporter_web_users / node_exporter_internal_user",
}
TLS_WORDS = ("x509", "certificate", "tls:", "https", "handshake")


def hint_for(job, error):
    """What to check for a failed request of JOB that failed with ERROR."""
    text = (error or "").lower()
    if any(word in text for word in TLS_WORDS) and "401" not in text:
        return f"check the TLS certificate of {job} and the CA file (pki_ca_file)"
    return f"check {HINTS.get(job, 'prometheus_job_settings')}"


def target_problems(active_targets, jobs):
    """Problems with the self targets (JOBS) in Prometheus' /api/v1/targets activeTargets.

    A job of JOBS without any target is a problem too (its scrape config is missing).
    """
    problems, seen = [], set()
    for target in active_targets:
        labels = target.get("labels") or {}
        job = labels.get("job")
        if job not in jobs:
            continue
        seen.add(job)
        if target.get("health") == "up":
            continue
        where = labels.get("instance") or target.get("scrapeUrl", "?")
        error = target.get("lastError") or f"health {target.get('health', 'unknown')}, not scraped yet"
        problems.append(f"Prometheus cannot scrape {job} target {where}: {error} — {hint_for(job, error)}")
    for job in sorted(set(jobs) - seen):
        problems.append(f"Prometheus has no {job} target at all — its scrape config is missing")
    return problems


def _strip(url):
    return url.rstrip("/")


def alertmanager_problems(active, expected):
    """Configured Alertmanagers (EXPECTED: list of {name, url}) missing from Prometheus' ACTIVE list.

    ACTIVE are the URLs of /api/v1/alertmanagers activeAlertmanagers (ending in /api/v2/alerts).
    """
    have = {_strip(a.get("url", "")).removesuffix("/api/v2/alerts") for a in active}
    problems = []
    for am in expected:
        if _strip(am["url"]) not in have:
            listed = ", ".join(sorted(have)) or "none"
            problems.append(f"Prometheus does not use Alertmanager {am['name']} ({am['url']}) "
                            f"(active: {listed}) — check prometheus_alertmanager_urls")
    return problems


def has_watchdog(alerts, external_labels):
    """True when ALERTS (Alertmanager /api/v2/alerts) hold this Prometheus' Watchdog.

    Prometheus adds its external labels to every alert it sends, so they tell which
    Prometheus the Watchdog came from when several send to one Alertmanager.
    """
    for alert in alerts or []:
        labels = alert.get("labels") or {}
        if labels.get("alertname") != "Watchdog":
            continue
        if all(labels.get(k) == str(v) for k, v in (external_labels or {}).items()):
            return True
    return False


def delivery_problem(am, probe_error, waited):
    """The message for an Alertmanager (AM: {name, url}) that has not received the Watchdog.

    PROBE_ERROR is what a request with Prometheus' own credentials and CA got (None when
    that request succeeded), WAITED the seconds spent waiting.
    """
    if probe_error:
        return (f"Prometheus cannot deliver to Alertmanager {am['name']}: {probe_error} — "
                f"{hint_for('alertmanager', probe_error)} (and prometheus_alertmanager_settings, if set)")
    return (f"the Watchdog alert did not reach Alertmanager {am['name']} within {waited:.0f} s, "
            f"although it accepts Prometheus' credentials — check that the Watchdog rule is "
            f"loaded (prometheus_alert_rules_enabled) and Prometheus' log")


def probe_is_definitive(error):
    """An answer that waiting will not change: the credentials or the certificate are wrong."""
    text = (error or "").lower()
    return any(code in text for code in ("401", "403")) or any(w in text for w in TLS_WORDS[:3])
