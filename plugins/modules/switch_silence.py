#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Silence the availability alerts of a run's switch of scrape settings, and expire the silence after."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: switch_silence
short_description: Keep a switch of the collection's scrape settings from paging
description:
  - Runs on a monitoring server. With O(state=present) (early in a run, before any component
    changes), compares how the deployed Prometheus reaches the collection's own jobs (scheme, user,
    the content of its password file, CA file; read from O(config) and its secrets files) with
    O(clients), what the run will write. When a deployed job differs, creates a silence in every
    Alertmanager the deployed Prometheus sends to, through the settings it uses (they still work
    until the run changes them), for the alerts C(HostDown), C(TargetDown) and C(ProbeFailed) of
    those jobs, for O(minutes).
  - With O(state=absent) (at the end of the run), waits up to O(timeout) seconds until every
    target of the silenced jobs is up and none of their alerts is pending or firing, then expires
    the silences a run made (found by their C(createdBy)). When every target is up but alerts still
    fire on series no current target writes (a restarted Prometheus leaves the last sample of a
    target whose labels changed visible for its lookback delta, 5 minutes), moves the silences'
    end to 6 minutes from now instead. Otherwise leaves them to expire by themselves and warns.
  - Nothing deployed yet (no O(config)) is nothing to do. Passwords are never returned or logged.
version_added: 0.1.0
author: limen.monitoring maintainers (!UNKNOWN)
options:
  state:
    description: V(present) silences a coming switch; V(absent) expires the run's silences.
    type: str
    choices: [present, absent]
    default: present
  config:
    description: The deployed C(prometheus.yml).
    type: path
    default: /etc/prometheus/prometheus.yml
  clients:
    description:
      - How the run will reach each of the collection's own jobs (O(state=present)), by job name.
      - Each a mapping with C(scheme) (V(http) or V(https)), C(username) (empty for none), C(password)
        and C(ca_file) (the CA certificate file on the host), as the topology's clients have them.
    type: dict
    default: {}
  ca_cert:
    description:
      - The CA certificate (PEM) the run installs at the clients' C(ca_file) (O(state=present)); empty when the run
        installs none. A deployed CA file with other content switches every job that stays on TLS.
    type: str
    default: ""
  minutes:
    description: How long the silence lasts if the run does not expire it.
    type: int
    default: 15
  prometheus:
    description: How to reach this server's Prometheus once the run has changed it (O(state=absent)).
    type: dict
    default: {}
    suboptions:
      url: {description: Base URL., type: str, default: ""}
      username: {description: Basic-auth user., type: str, default: ""}
      password: {description: Its password., type: str, default: ""}
      ca_file: {description: CA certificate., type: path, default: ""}
  timeout:
    description: Seconds O(state=absent) waits for the silenced jobs' targets to be up.
    type: int
    default: 120
attributes:
  check_mode: {support: full, description: Reports the silence it would create; creates and expires nothing.}
  diff_mode: {support: none, description: Nothing to show; the silence is in the result.}
  idempotent: {support: full, description: A converged server has nothing to switch and gets no silence.}
"""

EXAMPLES = r"""
- name: Silence the availability alerts of the jobs whose scrape settings the run switches
  limen.monitoring.switch_silence:
    clients:
      node: {scheme: https, username: limen-internal, password: "{{ node_password }}", ca_file: /etc/ssl/limen/ca.crt}
  register: switch

- name: At the end of the run, once the targets are up, expire it
  limen.monitoring.switch_silence:
    state: absent
    prometheus: {url: "https://10.0.0.5:9090", username: limen-internal, password: "{{ prometheus_password }}", ca_file: /etc/ssl/limen/ca.crt}
  when: switch.silences | length > 0
"""

RETURN = r"""
jobs:
  description: The switched jobs and what changes for each (never a password).
  returned: always
  type: dict
  sample: {node: [scheme http to https, user]}
silences:
  description: Ids of the silences created (present), or expired or shortened (absent).
  returned: always
  type: list
  elements: str
lingering:
  description: With O(state=absent), the alerts on series of former targets the shortened silences outlast.
  returned: when the silences were shortened
  type: list
  elements: str
waiting_for:
  description: With O(state=absent), why the silences were left to expire by themselves.
  returned: always
  type: list
  elements: str
"""

import base64
import datetime
import json
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

from ansible_collections.limen.monitoring.plugins.module_utils.switch_silence import (
    changes,
    deployed_settings,
    ours,
    shortened,
    silence,
    silenced_jobs,
    still_switching,
)


def read_text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def call(url, username="", password="", ca_file="", method="GET", data=None):
    """The JSON answer of one request; raises OSError naming the URL (never the password)."""
    headers = {"Content-Type": "application/json"}
    if username:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    try:
        resp = open_url(url, method=method, data=None if data is None else json.dumps(data), headers=headers,
                        timeout=10, validate_certs=True, ca_path=ca_file or None)
        return json.loads(resp.read() or b"null")
    except (OSError, ValueError, UrlConnectionError) as exc:  # HTTP, TLS, network, not JSON: named with the URL
        raise OSError(f"{method} {url}: {getattr(exc, 'reason', None) or exc}") from None


def alertmanagers(deployed):
    """(base URL, username, password, ca_file) of every Alertmanager the deployed Prometheus sends to."""
    for am in deployed["alerting"]:
        password = (read_text(am["password_file"]) or "").rstrip("\n") if am["username"] else ""
        for target in am["targets"]:
            yield (f"{am['scheme']}://{target}{am['path_prefix'].rstrip('/')}", am["username"], password,
                   am["ca_file"])


def present(module, deployed):
    wanted = [dict(client, name=name) for name, client in module.params["clients"].items()]
    switched = changes(deployed["jobs"], wanted, read_text, module.params["ca_cert"])
    result = {"changed": bool(switched), "jobs": switched, "silences": [], "waiting_for": []}
    if not switched or module.check_mode:
        return result
    body = silence(switched, datetime.datetime.now(datetime.timezone.utc), module.params["minutes"])
    for base, user, password, ca_file in alertmanagers(deployed):
        try:
            result["silences"].append(call(base + "/api/v2/silences", user, password, ca_file, "POST", body)["silenceID"])
        except (OSError, KeyError, TypeError) as exc:
            module.warn(f"could not silence the switch of {', '.join(sorted(switched))} at {base}: {exc}; "
                        "their alerts may reach the receivers while the run changes them")
    return result


def absent(module, deployed):
    result = {"changed": False, "jobs": {}, "silences": [], "waiting_for": []}
    p = module.params["prometheus"]
    ams = list(alertmanagers(deployed))
    deadline = time.monotonic() + module.params["timeout"]
    while True:
        try:
            found = {am: call(am[0] + "/api/v2/silences", *am[1:]) for am in ams}
            jobs = set().union(*map(silenced_jobs, found.values())) if found else set()
            if not jobs:
                return result
            auth = (p["username"], p["password"], p["ca_file"])
            reasons, lingering = still_switching(
                jobs, call(p["url"] + "/api/v1/targets?state=active", *auth)["data"]["activeTargets"],
                call(p["url"] + "/api/v1/alerts", *auth)["data"]["alerts"],
                [a for am in ams for a in call(am[0] + "/api/v2/alerts?active=true&silenced=true&inhibited=true", *am[1:])],
                scraped=deployed["jobs"])
        except (OSError, KeyError, TypeError) as exc:
            reasons, lingering = [str(exc)], []
        if not reasons:
            break
        if time.monotonic() > deadline:
            result["waiting_for"] = reasons
            module.warn("the run's silence of the switched jobs stays until it expires by itself: " + "; ".join(reasons[:8]))
            return result
        time.sleep(2)
    if lingering:
        return shorten(module, found, lingering, result)
    for am, silences in found.items():
        for sid in ours(silences):
            try:
                call(f"{am[0]}/api/v2/silence/{sid}", *am[1:], method="DELETE")
            except OSError as exc:
                module.warn(f"could not expire the run's silence {sid}: {exc}; it expires by itself")
                continue
            result["silences"].append(sid)
    result["changed"] = bool(result["silences"])
    return result


def shorten(module, found, lingering, result):
    """Every target is up, but series of the old targets still fire until the lookback delta
    passes: the silences end just after that instead of being expired now."""
    now = datetime.datetime.now(datetime.timezone.utc)
    for am, silences in found.items():
        for body in shortened(silences, now):
            try:
                result["silences"].append(call(am[0] + "/api/v2/silences", *am[1:], method="POST", data=body)["silenceID"])
            except (OSError, KeyError, TypeError) as exc:
                module.warn(f"could not shorten the run's silence {body['id']}: {exc}; it expires by itself")
    result["lingering"] = lingering
    result["changed"] = bool(result["silences"])
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "config": {"type": "path", "default": "/etc/prometheus/prometheus.yml"},
            "clients": {"type": "dict", "default": {}, "no_log": True},
            "ca_cert": {"type": "str", "default": ""},
            "minutes": {"type": "int", "default": 15},
            "prometheus": {"type": "dict", "default": {}, "options": {
                "url": {"type": "str", "default": ""},
                "username": {"type": "str", "default": ""},
                "password": {"type": "str", "default": "", "no_log": True},
                "ca_file": {"type": "path", "default": ""}}},
            "timeout": {"type": "int", "default": 120},
        },
        supports_check_mode=True,
    )
    text = read_text(module.params["config"]) if os.path.isfile(module.params["config"]) else None
    if text is None:
        module.exit_json(changed=False, jobs={}, silences=[], waiting_for=[])
    deployed = deployed_settings(text)
    if module.params["state"] == "present":
        module.exit_json(**present(module, deployed))
    if module.check_mode:
        module.exit_json(changed=False, jobs={}, silences=[], waiting_for=[])
    module.exit_json(**absent(module, deployed))


if __name__ == "__main__":
    main()
