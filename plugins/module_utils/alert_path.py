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


class UnexpectedShape(ValueError):
    """An answer that is JSON, but not of the shape the API documents (named in the message)."""


def describe(value):
    """A short description of a JSON value for a message: 'null', 'an empty mapping', 'the string 'x''."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:60]!r}" + ("..." if len(value) > 60 else "")
    if isinstance(value, dict):
        keys = ", ".join(repr(k) for k in list(value)[:5])
        return f"a mapping with keys {keys}" if value else "an empty mapping"
    if isinstance(value, list):
        return f"a list of {len(value)} items" if value else "an empty list"
    return type(value).__name__


def records(doc, path, source):
    """DOC[path[0]][path[1]]... as a list of mappings; UnexpectedShape naming SOURCE and the shape otherwise.

    PATH () means DOC itself is the list (Alertmanager's /api/v2/alerts)."""
    node = doc
    for depth, key in enumerate(path):
        if not isinstance(node, dict) or key not in node:
            where = ".".join(path[:depth]) or "the answer"
            raise UnexpectedShape(f"{source} answered JSON of an unexpected shape: {where} is {describe(node)}, "
                                  f"where a mapping with {key!r} was expected")
        node = node[key]
    want = ".".join(path) or "the answer"
    if not isinstance(node, list):
        raise UnexpectedShape(f"{source} answered JSON of an unexpected shape: {want} is {describe(node)}, "
                              "where a list was expected")
    for index, item in enumerate(node):
        if not isinstance(item, dict):
            raise UnexpectedShape(f"{source} answered JSON of an unexpected shape: {want}[{index}] is "
                                  f"{describe(item)}, where a mapping was expected")
    return node


def _labels(item):
    labels = item.get("labels")
    return labels if isinstance(labels, dict) else {}


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
        labels = _labels(target)
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
    have = {_strip(str(a.get("url", ""))).removesuffix("/api/v2/alerts") for a in active}
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
        labels = _labels(alert)
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


def _last_increase(values):
    """Timestamp of the last sample where the counter grew (a reset to above 0 counts), or None."""
    last, previous = None, None
    for stamp, text in values or []:
        try:
            value = float(text)
        except (TypeError, ValueError):
            continue
        if previous is not None and (value > previous or (value < previous and value > 0)):
            last = float(stamp)
        previous = value
    return last


def _last_increases(series):
    """{(instance, integration, receiver_name): last increase} over Prometheus matrix SERIES."""
    result = {}
    for item in series or []:
        metric = item.get("metric") or {}
        key = (metric.get("instance", "?"), metric.get("integration", "?"), metric.get("receiver_name", ""))
        stamp = _last_increase(item.get("values"))
        if stamp is not None and (key not in result or stamp > result[key]):
            result[key] = stamp
    return result


def failing_receivers(totals, failures, reloads, receivers):
    """Messages for the receivers whose last notification failed.

    TOTALS, FAILURES: Prometheus matrices of alertmanager_notification_requests_total and
    alertmanager_notification_requests_failed_total (raw samples); a receiver failed when its failures
    counter grew last, at or after its last attempt. A receiver never used has no increase and
    is never named. RELOADS: {instance: time of Alertmanager's last successful configuration
    load}; a failure before it is not counted (the new configuration may have fixed it).
    RECEIVERS: [{name, integrations}], to name the receivers of an integration when Alertmanager
    (before 0.27) does not label its counters with the receiver.
    """
    attempts = _last_increases(totals)
    problems = []
    for (instance, integration, name), failed_at in sorted(_last_increases(failures).items()):
        if failed_at < attempts.get((instance, integration, name), failed_at):
            continue
        if failed_at <= float(reloads.get(instance, 0) or 0):
            continue
        if name:
            who = f"receiver {name} ({integration})"
        else:
            names = sorted(r["name"] for r in receivers or [] if integration in (r.get("integrations") or []))
            who = (f"the {integration} receiver(s) {', '.join(names)}" if names else f"an {integration} receiver") \
                + " (this Alertmanager version does not say which)"
        problems.append(f"Alertmanager {instance} cannot deliver to {who}: its last notification failed — "
                        "check that receiver in alertmanager_receivers (server, credentials, CA); "
                        "Alertmanager's log names the error")
    return problems
