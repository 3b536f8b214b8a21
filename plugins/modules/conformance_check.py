#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Check new or changed scrape targets against the company metric standard."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: conformance_check
short_description: Check new or changed services against the company metric standard
description:
  - Runs on a monitoring server before the targets of O(jobs) are registered. Each target that
    is not registered yet as asked (new, or with other labels, path or scheme), or every target
    with O(check_all), is scraped once as Prometheus scrapes it (the job's scheme, metrics path,
    credentials and CA from O(scrape_configs); secret files are read on the host).
  - Each standard metric is reported as conformant, missing, absent (optional and not exported)
    or defective, naming each defect (wrong type, missing labels, a histogram without buckets,
    a state gauge with values other than 0 or 1, a unit in a metric name).
  - Under policy V(enforce) a target that is unreachable or not conformant fails the module, so
    the targets are not registered; V(warn) reports; V(off) skips. O(policies) sets the policy
    per inventory host (the target's C(host) label).
  - Only reads; never changes anything. O(pending_files) lets it run before the run writes the
    job's credentials and CA, so that V(enforce) refuses before any host changes. In check mode a
    secret file that is neither on the host nor pending leaves that job unchecked instead of failing.
version_added: 0.2.0
author: limen.monitoring maintainers (!UNKNOWN)
seealso:
  - module: limen.monitoring.prometheus_targets
options:
  jobs:
    description: The jobs and targets about to be registered, as for M(limen.monitoring.prometheus_targets).
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: Job name., type: str, required: true}
      targets: {description: Its targets., type: list, elements: raw, required: true}
  directory:
    description: The file_sd directory the targets are registered in (what is registered already).
    type: path
    required: true
  scrape_configs:
    description: Prometheus' scrape configs of these jobs (C(scheme), C(metrics_path), C(basic_auth), C(authorization), C(tls_config)).
    type: list
    elements: dict
    default: []
  policy:
    description: The policy of hosts O(policies) does not name.
    type: str
    choices: [enforce, warn, "off"]
    default: warn
  policies:
    description: Policy per inventory host (C(monitoring_conformance) of each).
    type: dict
    default: {}
  check_all:
    description: Check registered targets too, not only new or changed ones.
    type: bool
    default: false
  pending_files:
    description:
      - The secret files and CA certificates the run is about to write on the host, as
        a mapping of each path to its content; a scrape config naming one of these paths uses this content instead
        of the host's copy, so the check can run before the run changes anything (a new password,
        a first run). Never logged.
    type: dict
    default: {}
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
- name: Check the metric standard on new or changed services
  limen.monitoring.conformance_check:
    jobs: [{name: billing, targets: [{host: 10.0.0.7, port: 8080, labels: {host: billing1}}]}]
    directory: /etc/prometheus/file_sd/inventory
    scrape_configs: [{job_name: billing, scheme: https, tls_config: {ca_file: /etc/ssl/limen-ca.crt}}]
    policy: warn
"""

RETURN = r"""
results:
  description: One entry per checked target.
  type: list
  elements: dict
  returned: always
  sample:
    - job: billing
      target: "10.0.0.7:8080"
      host: billing1
      url: "https://10.0.0.7:8080/metrics"
      policy: warn
      reachable: true
      conformant: false
      error: ""
      report: [{metric: http_request_duration_seconds, status: missing,
                defects: ["http_request_duration_seconds: missing (exported instead: http_request_latency_seconds?)"]}]
      summary: "billing https://10.0.0.7:8080/metrics (host billing1, policy warn): NOT CONFORMANT: ..."
summary:
  description: One line per checked target (conformant, or each defect), for the run's output.
  type: list
  elements: str
  returned: always
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.limen.monitoring.plugins.module_utils.conformance import ConformanceError, run


def main():
    module = AnsibleModule(
        argument_spec=dict(
            jobs=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                targets=dict(type="list", elements="raw", required=True),
            )),
            directory=dict(type="path", required=True),
            scrape_configs=dict(type="list", elements="dict", default=[]),
            policy=dict(type="str", choices=["enforce", "warn", "off"], default="warn"),
            policies=dict(type="dict", default={}),
            check_all=dict(type="bool", default=False),
            pending_files=dict(type="dict", default={}, no_log=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    pending = {path: str(text) for path, text in p["pending_files"].items()}
    written = {}

    def pending_ca(path):
        """A file in the module's temporary directory holding the pending CA certificate of PATH."""
        if path not in written:
            written[path] = os.path.join(module.tmpdir, f"pending-ca-{len(written)}.crt")
            with open(written[path], "w", encoding="utf-8") as handle:
                handle.write(pending[path])
        return written[path]

    error, outcome = None, None
    try:
        outcome = run(p["jobs"], p["scrape_configs"], p["directory"], p["policies"], p["policy"],
                      check_all=p["check_all"], unreadable_ok=module.check_mode, pending=pending,
                      pending_ca=pending_ca)
    except ConformanceError as exc:
        error = str(exc)
    if error:
        module.fail_json(msg=error)
    lines = [r["summary"] for r in outcome["results"]]
    if outcome["refused"]:
        module.fail_json(msg="monitoring_conformance is enforce and these services are not conformant, "
                             "so they are not registered: " + " | ".join(r["summary"] for r in outcome["refused"]),
                         results=outcome["results"], summary=lines)
    module.exit_json(changed=False, results=outcome["results"], summary=lines)


if __name__ == "__main__":
    main()
