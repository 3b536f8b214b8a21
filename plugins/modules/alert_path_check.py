#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Prove the alert path of a monitoring server: targets, Alertmanagers, Watchdog."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: alert_path_check
short_description: Prove that alerts can flow from Prometheus to every Alertmanager
description:
  - Runs on a monitoring server and asks, through the same authenticated TLS path the
    collection's clients use, whether every self target (O(jobs)) is up, whether Prometheus
    uses every configured Alertmanager, and whether the always-firing C(Watchdog) alert of
    this Prometheus (told apart by its O(external_labels)) is in every Alertmanager.
  - When everything is healthy this is one pass of a few HTTP requests and no waiting.
    Otherwise it polls until O(timeout), and fails with a message naming each broken link.
  - Every Alertmanager is also asked with Prometheus' own credentials and CA (O(delivery)),
    because an Alertmanager keeps a delivered Watchdog for minutes after delivery stops; a
    401, 403 or certificate error there is reported at once, as the reason why Prometheus
    cannot deliver.
  - A receiver whose last notification failed (Alertmanager's counters, as Prometheus scraped
    them over O(notification_lookback)) is named at once; a receiver that has not been used yet is
    not, nor a failure from before Alertmanager's last configuration load.
  - Only reads; never changes anything.
  - An answer that is not JSON of the documented shape fails at once, naming the URL and what
    came back; a missing O(delivery.password_file) or C(ca_file) is named before any request.
version_added: 0.1.0
author: limen.monitoring maintainers (!UNKNOWN)
options:
  prometheus:
    description: How to reach this server's Prometheus.
    type: dict
    required: true
    suboptions:
      url: {description: "Base URL, for example C(https://10.0.0.5:9090).", type: str, required: true}
      username: {description: Basic-auth user (empty for none)., type: str, default: ""}
      password: {description: Its password., type: str, default: ""}
      ca_file: {description: CA certificate to verify TLS with (empty for the system's)., type: path, default: ""}
  alertmanagers:
    description: Every Alertmanager Prometheus is configured to send to.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: How the message names it (its C(host:port))., type: str, required: true}
      url: {description: Base URL., type: str, required: true}
      username: {description: Basic-auth user of this check., type: str, default: ""}
      password: {description: Its password., type: str, default: ""}
      ca_file: {description: CA certificate., type: path, default: ""}
  delivery:
    description: The credentials Prometheus itself sends to the Alertmanagers, as configured in C(prometheus.yml).
    type: dict
    default: {}
    suboptions:
      username: {description: Basic-auth user., type: str, default: ""}
      password_file: {description: File holding the password (read on the host)., type: path, default: ""}
      ca_file: {description: CA certificate., type: path, default: ""}
  jobs:
    description: Jobs whose every target must be up.
    type: list
    elements: str
    default: [prometheus, alertmanager, node]
  receivers:
    description:
      - The receivers of the Alertmanagers and their integrations (C(email), C(webhook), ...), to name the
        receivers of a failing integration when Alertmanager (before 0.27) does not label its counters with the receiver.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: Receiver name., type: str, required: true}
      integrations: {description: "Its integrations (C(email) for C(email_configs), ...).", type: list, elements: str, default: []}
  notification_lookback:
    description: How far back (a Prometheus duration) to look for the last notification of each receiver.
    type: str
    default: 1h
  external_labels:
    description: This Prometheus' external labels; its Watchdog carries them.
    type: dict
    default: {}
  timeout:
    description: Seconds to wait for a healthy path before failing.
    type: int
    default: 120
  interval:
    description: Seconds between two polls while waiting; above 0.
    type: float
    default: 2
attributes:
  check_mode:
    support: full
    description: Only reads, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
  idempotent:
    support: full
    description: Never changes anything.
"""

EXAMPLES = r"""
- name: Prove the alert path
  limen.monitoring.alert_path_check:
    prometheus: {url: "https://10.0.0.5:9090", username: limen-internal, password: "{{ vault_pw }}",
                 ca_file: /etc/limen-monitoring/ca.crt}
    alertmanagers:
      - {name: "10.0.0.5:9093", url: "https://10.0.0.5:9093", username: limen-internal,
         password: "{{ vault_am_pw }}", ca_file: /etc/limen-monitoring/ca.crt}
    delivery: {username: limen-internal, password_file: /etc/prometheus/secrets/alertmanager.password,
               ca_file: /etc/limen-monitoring/ca.crt}
    external_labels: {monitor: monitor}
"""

RETURN = r"""
waited:
  description: Seconds spent until the path was healthy.
  type: float
  returned: always
  sample: 0.1
polls:
  description: How many times the path was checked (1 on a healthy server).
  type: int
  returned: always
  sample: 1
problems:
  description: The broken links, one message each.
  type: list
  elements: str
  returned: failure
  sample: ["Prometheus cannot deliver to Alertmanager 10.0.0.5:9093: 401 Unauthorized — check alertmanager_web_users / alertmanager_internal_user"]
"""

import base64
import json
import ssl
import time
import urllib.error
import urllib.parse

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

from ansible_collections.limen.monitoring.plugins.module_utils.alert_path import (
    UnexpectedShape,
    alertmanager_problems,
    delivery_problem,
    failing_receivers,
    has_watchdog,
    probe_is_definitive,
    records,
    target_problems,
)
from ansible_collections.limen.monitoring.plugins.module_utils.atomic_file import UnsafeFile, read_regular


def request(url, username="", password="", ca_file="", timeout=10):
    """(json body, None) or (None, a short error such as '401 Unauthorized')."""
    headers = {}
    if username:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    try:
        resp = open_url(url, headers=headers, timeout=timeout, validate_certs=True, ca_path=ca_file or None)
        body = resp.read(16 * 1024 * 1024)
        try:
            return json.loads(body or b"null"), None
        except (ValueError, RecursionError):
            return None, f"the answer is not JSON (it starts with {body[:40]!r}); is {url} the right URL?"
    except urllib.error.HTTPError as exc:
        return None, f"{exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLError):
            return None, f"TLS: {getattr(reason, 'verify_message', None) or reason}"
        return None, str(reason)
    except UrlConnectionError as exc:  # SSLValidationError among them
        return None, f"TLS: {exc}" if "certificate" in str(exc).lower() else str(exc)
    except (OSError, ValueError) as exc:
        return None, str(exc)


def check(p, waited, password=None):
    """([problems], definitive) for one pass. An answer of an unexpected shape is definitive.

    PASSWORD: the delivery password, read from delivery.password_file when None."""
    if password is None:
        password, problem = delivery_password(p["delivery"])
        if problem:
            return [problem], True
    try:
        return _check(p, waited, password)
    except UnexpectedShape as exc:
        return [str(exc)], True


def _check(p, waited, password):
    prom = p["prometheus"]
    base = prom["url"].rstrip("/")
    auth = (prom["username"], prom["password"], prom["ca_file"])
    url = base + "/api/v1/targets?state=active"
    targets, err = request(url, *auth)
    if err:
        return [f"cannot query Prometheus at {base}: {err}"], probe_is_definitive(err)
    problems = target_problems(records(targets, ("data", "activeTargets"), f"Prometheus at {url}"), p["jobs"])
    url = base + "/api/v1/alertmanagers"
    ams, err = request(url, *auth)
    if err:
        return problems + [f"cannot query Prometheus at {base}: {err}"], probe_is_definitive(err)
    problems += alertmanager_problems(records(ams, ("data", "activeAlertmanagers"), f"Prometheus at {url}"),
                                      p["alertmanagers"])
    definitive = False
    query = urllib.parse.urlencode({"filter": 'alertname="Watchdog"', "active": "true"})
    delivery = p["delivery"] or {}
    for am in p["alertmanagers"]:
        url = am["url"].rstrip("/")
        # What Prometheus would get right now with its own credentials and CA: an Alertmanager
        # keeps a delivered Watchdog for minutes, so its presence alone hides a new break.
        _body, probe_error = request(f"{url}/api/v2/status", delivery.get("username") or "", password,
                                     delivery.get("ca_file") or "")
        if probe_error:
            definitive = definitive or probe_is_definitive(probe_error)
            problems.append(delivery_problem(am, probe_error, waited))
            continue
        alerts, err = request(f"{url}/api/v2/alerts?{query}", am["username"], am["password"], am["ca_file"])
        if err:
            problems.append(f"cannot query Alertmanager {am['name']} at {url}: {err}")
        elif not has_watchdog(records(alerts, (), f"Alertmanager {am['name']} at {url}/api/v2/alerts"),
                              p["external_labels"]):
            problems.append(delivery_problem(am, None, waited))
    if p["alertmanagers"]:
        receiver_problems, err = notification_problems(p, base, auth)
        if err:
            problems.append(err)
        elif receiver_problems:
            problems += receiver_problems
            definitive = True  # a failed delivery stays failed until the next one: waiting changes nothing
    return problems, definitive


def notification_problems(p, base, auth):
    """(receivers whose last notification failed, a query error or None), from what Prometheus scraped."""
    answers = {}
    lookback = p["notification_lookback"]
    # Per request, not per notification: a notification's failure is counted only when its retries
    # give up (a group interval later), so a group's first notification to a receiver that refuses
    # every request looked like a success for that long; a request's failure is counted as it returns.
    for key, promql in (("totals", f"alertmanager_notification_requests_total[{lookback}]"),
                        ("failures", f"alertmanager_notification_requests_failed_total[{lookback}]"),
                        ("reloads", "alertmanager_config_last_reload_success_timestamp_seconds")):
        url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        body, err = request(url, *auth)
        if err:
            return [], f"cannot query Prometheus at {base} for {promql}: {err}"
        answers[key] = records(body, ("data", "result"), f"Prometheus at {url}")
    reloads = {(r.get("metric") or {}).get("instance", "?"): (r.get("value") or [0, "0"])[1] for r in answers["reloads"]}
    return failing_receivers(answers["totals"], answers["failures"], reloads, p["receivers"]), None


def argument_problems(p):
    """Bad arguments, each naming the option and the value: found before any request."""
    problems = []
    if p["interval"] <= 0:
        problems.append(f"interval: {p['interval']!r} must be a number of seconds above 0")
    if p["timeout"] < 0:
        problems.append(f"timeout: {p['timeout']!r} must be 0 or more seconds")
    files = [("prometheus.ca_file", p["prometheus"]["ca_file"]), ("delivery.ca_file", (p["delivery"] or {}).get("ca_file"))]
    files += [(f"alertmanagers[{i}].ca_file", am["ca_file"]) for i, am in enumerate(p["alertmanagers"])]
    for option, path in files:
        problem = _file_problem(path)
        if problem:
            problems.append(f"{option}: {problem}")
    return problems


def _file_problem(path):
    if not path:
        return None
    try:
        if read_regular(path, follow=True, limit=1024 * 1024) is None:
            return f"{path} does not exist"
    except UnsafeFile as exc:
        return f"{path} is {exc.what}, not a file"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    return None


def delivery_password(delivery):
    """(the password Prometheus sends to the Alertmanagers, read from its file; a problem or None)."""
    path = (delivery or {}).get("password_file")
    if not path:
        return "", None
    problem = _file_problem(path)
    if problem:
        return "", f"delivery.password_file: {problem}"
    return read_regular(path, follow=True, limit=1024 * 1024).decode("utf-8", "replace").strip(), None


def main():
    http = dict(url=dict(type="str", required=True), username=dict(type="str", default=""),
                password=dict(type="str", default="", no_log=True), ca_file=dict(type="path", default=""))
    am = dict(http, name=dict(type="str", required=True))
    module = AnsibleModule(
        argument_spec=dict(
            prometheus=dict(type="dict", required=True, options=http),
            alertmanagers=dict(type="list", elements="dict", default=[], options=am),
            delivery=dict(type="dict", default={}, options=dict(
                username=dict(type="str", default=""), password_file=dict(type="path", default="", no_log=False),
                ca_file=dict(type="path", default=""))),
            jobs=dict(type="list", elements="str", default=["prometheus", "alertmanager", "node"]),
            receivers=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True), integrations=dict(type="list", elements="str", default=[]))),
            notification_lookback=dict(type="str", default="1h"),
            external_labels=dict(type="dict", default={}),
            timeout=dict(type="int", default=120),
            interval=dict(type="float", default=2.0),
        ),
        supports_check_mode=True,
    )
    p = module.params
    password, problem = delivery_password(p["delivery"])
    problems = argument_problems(p) + ([problem] if problem else [])
    if problems:
        module.fail_json(msg="; ".join(problems), problems=problems)
    start = time.monotonic()
    polls = 0
    while True:
        polls += 1
        waited = time.monotonic() - start
        problems, definitive = check(p, waited, password)
        if not problems:
            module.exit_json(changed=False, waited=round(waited, 1), polls=polls)
        if definitive or waited >= p["timeout"]:
            module.fail_json(msg="The alert path is broken: " + "; ".join(problems),
                             problems=problems, waited=round(waited, 1), polls=polls)
        time.sleep(p["interval"])


if __name__ == "__main__":
    main()
