# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""A silence for the seconds a run switches how Prometheus reaches its own jobs (PRIVATE to the collection).

Going from plain HTTP to TLS and basic auth (or back, or a new internal password) changes the
exporters' web configurations some tasks before Prometheus' scrape settings: scrapes fail in
between, and with short `for:` durations HostDown, TargetDown and ProbeFailed would page. The
switch_silence module compares what the deployed Prometheus uses with what the run will write
and, when they differ, silences those alerts of the changed jobs until the run has proven the
targets up again. Pure functions here; the module does the reading and the HTTP.
"""

from __future__ import annotations

import datetime
import re

# The shipped alerts a failing scrape or probe fires (roles/prometheus/templates/rules/):
# up == 0 of the node job, of every other job, and a failing blackbox probe (job = the probed job).
AVAILABILITY_ALERTS = ("HostDown", "TargetDown", "ProbeFailed")
# ProbeFailed carries the probed component's name as its job (blackbox_exporter's TLS probes).
PROBED_AS = {"node": "node_exporter"}
CREATED_BY = "limen.monitoring switch_silence"
COMMENT = ("The run changes how Prometheus reaches the jobs {jobs} ({why}); scrapes fail until "
           "both sides have the new setting. Expired by the run once the targets are up again.")

_LINE = re.compile(r"^( *)(- )?([A-Za-z_]+):(?: (.*))?$")


def _scalar(text):
    """A YAML scalar as the collection writes them: plain, 'single' or "double" quoted."""
    text = (text or "").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _settings(entry):
    """The connection settings of one scrape job or Alertmanager entry (parsed keys by path)."""
    return {"scheme": entry.get(("scheme",), "http") or "http",
            "username": entry.get(("basic_auth", "username"), ""),
            "password_file": entry.get(("basic_auth", "password_file"), ""),
            "ca_file": entry.get(("tls_config", "ca_file"), "")}


def deployed_settings(text):
    """{'jobs': {name: settings}, 'alerting': [settings + path_prefix, targets]} of a prometheus.yml.

    Reads the file as the prometheus role renders it (block YAML, two-space indents): the keys
    of each scrape job and Alertmanager entry at their own level and one below (basic_auth,
    tls_config). The managed hosts need no YAML library for this.
    """
    jobs, alerting = {}, []
    section, entry, parent, entry_indent = None, None, None, 0
    for raw in text.splitlines():
        match = _LINE.match(raw.rstrip())   # the role writes comments on lines of their own
        if not match:
            continue
        indent, dash, key, value = len(match[1]), match[2], match[3], match[4]
        if indent == 0:
            section, entry = key, None
            continue
        if dash and section in ("scrape_configs", "alerting") and (
                (section == "scrape_configs" and key == "job_name" and indent == 2)
                or (section == "alerting" and indent == 4)):
            entry, entry_indent, parent = {}, indent + 2, None
            if section == "scrape_configs":
                jobs[_scalar(value)] = entry
            else:
                alerting.append(entry)
        if entry is None:
            continue
        level = indent + (2 if dash else 0)
        if level == entry_indent:
            parent = key
            entry[(key,)] = _scalar(value)
        elif level == entry_indent + 2 and parent in ("basic_auth", "tls_config"):
            entry[(parent, key)] = _scalar(value)
        elif level == entry_indent + 4 and parent == "static_configs" and key == "targets":
            entry[("targets",)] = [_scalar(t) for t in (value or "").strip("[]").split(",") if t.strip()]
    return {"jobs": {name: _settings(e) for name, e in jobs.items()},
            "alerting": [dict(_settings(e), path_prefix=e.get(("path_prefix",), "/") or "/",
                              targets=e.get(("targets",), [])) for e in alerting]}


def changes(deployed_jobs, wanted, read_secret, ca_cert=""):
    """{job: [what differs]} between the deployed jobs and the WANTED ones ({name, scheme, username,
    password, ca_file}); READ_SECRET(path) is a file's content (None when unreadable). CA_CERT, when
    given, is the CA certificate the run installs at the wanted ca_file: a deployed one that differs
    is a switch of every job that stays on TLS (the exporters' new certificates chain to it).

    A job Prometheus does not scrape yet is no switch (it has no series to go down)."""
    found = {}
    for job in wanted:
        old = deployed_jobs.get(job["name"])
        if old is None:
            continue
        what = []
        if old["scheme"] != job["scheme"]:
            what.append(f"scheme {old['scheme']} to {job['scheme']}")
        if old["username"] != job.get("username", ""):
            what.append("user")
        elif job.get("username") and (read_secret(old["password_file"]) or "").rstrip("\n") != job["password"]:
            what.append("password")
        if job["scheme"] == "https" and old["ca_file"] != job.get("ca_file", ""):
            what.append("CA file")
        elif (job["scheme"] == "https" == old["scheme"] and ca_cert
              and (read_secret(old["ca_file"]) or "").strip() != ca_cert.strip()):
            what.append("CA certificate")
        if what:
            found[job["name"]] = what
    return found


def silence(jobs_changed, now, minutes):
    """The Alertmanager v2 silence for JOBS_CHANGED ({job: [what]}) from NOW for MINUTES."""
    jobs = sorted(jobs_changed)
    matched = sorted(set(jobs) | {PROBED_AS[j] for j in jobs if j in PROBED_AS})
    why = "; ".join(f"{job}: {', '.join(jobs_changed[job])}" for job in jobs)
    matchers = [{"name": "alertname", "value": "|".join(AVAILABILITY_ALERTS), "isRegex": True, "isEqual": True},
                {"name": "job", "value": "|".join(re.escape(j) for j in matched), "isRegex": True, "isEqual": True}]
    return {"matchers": matchers,
            "startsAt": _iso(now), "endsAt": _iso(now + datetime.timedelta(minutes=minutes)),
            "createdBy": CREATED_BY, "comment": COMMENT.format(jobs=", ".join(jobs), why=why)}


def _iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def ours(silences):
    """The ids of the active or pending silences in an Alertmanager's /api/v2/silences answer that a run made."""
    return sorted(s["id"] for s in silences if isinstance(s, dict) and s.get("createdBy") == CREATED_BY
                  and (s.get("status") or {}).get("state") in ("active", "pending"))


def silenced_jobs(silences):
    """The jobs the run's active silences in SILENCES name (their job matcher's alternatives)."""
    jobs = set()
    for s in silences:
        if s.get("createdBy") != CREATED_BY or (s.get("status") or {}).get("state") not in ("active", "pending"):
            continue
        for m in s.get("matchers", []):
            if m.get("name") == "job":
                jobs.update(re.sub(r"\\(.)", r"\1", alt) for alt in m.get("value", "").split("|"))
    return jobs


# How long an instant query still sees a series after its last sample (Prometheus'
# --query.lookback-delta, 5m by default), plus a margin for the last evaluations.
LINGER_MINUTES = 6


def _on_a_target(labels, targets):
    """Whether the series of LABELS is one a current target writes (every target label in it)."""
    return any(all(labels.get(k) == v for k, v in t.get("labels", {}).items()) for t in targets)


def still_switching(jobs, targets, rule_alerts, am_alerts, scraped=()):
    """(reasons, lingering) for the silence of JOBS, from Prometheus' /api/v1/targets and
    /api/v1/alerts data and Alertmanager's /api/v2/alerts.

    REASONS, why it must stay: targets of those jobs not up, a job of SCRAPED (those that
    prometheus.yml scrapes) without any target yet (a fresh start), availability alerts of those
    jobs pending or firing on a series a current target writes. LINGERING: such alerts on series
    no current target writes any more. A restarted Prometheus writes no end to its old targets'
    series, so a target whose labels changed with the switch (a probe's module from tcp_tls to
    tcp) leaves its last failed sample visible for the lookback delta: the silence must outlast
    it, but nothing is left to wait for."""
    seen = {t.get("labels", {}).get("job") for t in targets}
    reasons = [f"no target of job {job} yet" for job in sorted(set(scraped) & set(jobs) - seen)]
    for t in targets:
        labels = t.get("labels", {})
        job = labels.get("probed") if labels.get("job") == "blackbox" else labels.get("job")
        if (labels.get("job") in jobs or job in jobs) and t.get("health") != "up":
            reasons.append(f"target {labels.get('job')} {labels.get('instance')} is {t.get('health')}")
    lingering = []
    for alert in list(rule_alerts) + list(am_alerts):
        labels = alert.get("labels", {})
        if labels.get("alertname") in AVAILABILITY_ALERTS and labels.get("job") in jobs:
            state = alert.get("state") or (alert.get("status") or {}).get("state")
            what = f"alert {labels['alertname']} {labels.get('instance', '')} is {state}"
            (reasons if _on_a_target(labels, targets) else lingering).append(what)
    return reasons, lingering


def shortened(listed, now, minutes=LINGER_MINUTES):
    """The run's active silences in LISTED, each as the body that moves its end to NOW + MINUTES
    (Alertmanager replaces a silence posted with its id); none that already ends sooner."""
    end = _iso(now + datetime.timedelta(minutes=minutes))
    return [{k: s[k] for k in ("id", "matchers", "startsAt", "createdBy", "comment")} | {"endsAt": end}
            for s in listed if s.get("id") in ours(listed) and s.get("endsAt", "") > end]
