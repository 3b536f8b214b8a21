#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Register Prometheus scrape targets in file_sd files."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: prometheus_targets
short_description: Register Prometheus scrape targets in file_sd files
description:
  - Owns one Prometheus C(file_sd) JSON file per job in O(directory).
  - Takes a whole list of targets in one call, either for one O(job) or for many O(jobs).
  - Validates every job, target, address, port, label and metrics path, and reads and checks
    every existing file the call would change or delete, before writing anything; a call
    with one bad item writes nothing.
  - Records the jobs it wrote in C(.limen-targets.manifest) in O(directory). O(prune) deletes only
    those; any other file in the directory is never read, changed or deleted.
  - Writes atomically under a lock on the directory, so concurrent runs never lose a target.
    A run with nothing to change (and check mode) only reads; it creates no lock file.
  - Prometheus watches file_sd files; no reload is needed.
version_added: 0.1.0
author: limen.monitoring maintainers (!UNKNOWN)
options:
  directory:
    description:
      - Directory holding the job files (C(<job>.json)), an absolute path. Created when missing.
      - Give each owner its own directory. The C(limen.monitoring.prometheus) role prunes
        C(/etc/prometheus/file_sd/inventory); register targets from elsewhere (a service's own
        playbook) in C(/etc/prometheus/file_sd/services).
    type: path
    required: true
  job:
    description:
      - Job whose file is changed. Mutually exclusive with O(jobs).
      - Letters, digits, V(_), V(.), V(-), not starting with V(.) or V(-), at most 250 characters.
    type: str
  targets:
    description:
      - Targets of O(job), each a C(host:port) string or a mapping with C(host), C(port) and
        optional C(labels), C(metrics_path) and C(scheme).
      - In a string, an IPv6 address goes in brackets (C([fd00::1]:9100)); C(fd00::1:9100) is
        refused as ambiguous. Host names follow RFC 1123; ports are ASCII digits, 1-65535.
      - The same C(host:port) with another metrics path or query is another target.
    type: list
    elements: raw
    default: []
  state:
    description:
      - V(present) adds or updates the targets; V(absent) removes them (with O(job)), or
        removes the job's file when O(targets) is empty.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description: With O(job), remove every target of the job that is not in O(targets).
    type: bool
    default: false
  jobs:
    description:
      - Many jobs in one call; each job's file is made to hold exactly its targets.
      - Mutually exclusive with O(job).
    type: list
    elements: dict
    suboptions:
      name:
        description: Job name (also the file name), as in O(job).
        type: str
        required: true
      targets:
        description: Targets of the job, as in O(targets).
        type: list
        elements: raw
        required: true
  prune:
    description:
      - With O(jobs), delete the files of jobs that this module wrote in O(directory) (recorded
        in C(.limen-targets.manifest)) and that are not listed.
      - Files the module did not write are left alone. A file it wrote that is no longer file_sd
        JSON is not deleted; the run fails naming it.
    type: bool
    default: false
notes:
  - O(mode), O(owner) and O(group) apply to the files of every job the call names and to
    C(.limen-targets.manifest), on every run, not only to files rewritten in that run. Without
    O(mode), new files get C(0644) and rewritten ones keep theirs.
  - C(metrics_path) is written as C(__metrics_path__). A query in it
    (C(/metrics?format=prometheus)) becomes C(__param_<name>) labels, which Prometheus adds to
    the scrape URL; a parameter given twice, or whose name is not a label name, is refused.
  - C(scheme) is written as C(__scheme__) (V(http) or V(https)).
  - Label names must match C([a-zA-Z_][a-zA-Z0-9_]*); names starting with C(__) are reserved
    except C(__metrics_path__), C(__scheme__), C(__scrape_interval__), C(__scrape_timeout__)
    and C(__param_<name>).
  - An existing job file that is not UTF-8 or not file_sd JSON is never overwritten; the run
    fails naming it. A job file or manifest that is a symlink, FIFO or device is never opened.
  - A boolean label value (YAML C(yes)) is refused; quote it so the label holds the text meant.
  - O(owner), O(group) and O(mode) are checked before anything is written. The lock file
    C(.limen.lock) is never followed through a symlink and is removed when the call ends.
extends_documentation_fragment:
  - ansible.builtin.files
  - limen.monitoring.attributes
"""

EXAMPLES = r"""
- name: Register a service's targets from its own deploy playbook, keeping only these
  limen.monitoring.prometheus_targets:
    directory: /etc/prometheus/file_sd/services
    job: limen
    exclusive: true
    targets:
      - host: limen-api.internal
        port: 18443
        metrics_path: /api/metrics?format=prometheus
        labels:
          env: production
      - "limen-api-2.internal:18443"
      - "[fd00::12]:18443"

- name: Sync every job from the inventory in one call, removing jobs no longer listed
  limen.monitoring.prometheus_targets:
    directory: /etc/prometheus/file_sd/inventory
    prune: true
    jobs:
      - name: service2
        targets: ["service2-api:8080"]
      - name: service3
        targets: ["service3-api:3000"]
    owner: root
    group: prometheus
    mode: "0644"

- name: Remove one target
  limen.monitoring.prometheus_targets:
    directory: /etc/prometheus/file_sd/services
    job: limen
    state: absent
    targets: ["limen-api-2.internal:18443"]
"""

RETURN = r"""
added:
  description: Targets (C(job/host:port) followed by the metrics path and query, if any) that were or would be added.
  returned: always
  type: list
  elements: str
  sample: ["limen/10.0.0.5:18443/api/metrics?format=prometheus"]
removed:
  description: Targets that were or would be removed, including those of pruned jobs.
  returned: always
  type: list
  elements: str
  sample: ["service3/service3-api:3000"]
updated:
  description: Targets whose labels were or would be changed.
  returned: always
  type: list
  elements: str
  sample: []
unchanged:
  description: Targets already registered as asked.
  returned: always
  type: list
  elements: str
  sample: ["service2/service2-api:8080"]
files:
  description: Files that were or would be written, deleted, or given another owner, group or mode.
  returned: always
  type: list
  elements: str
  sample: ["/etc/prometheus/file_sd/inventory/limen.json", "/etc/prometheus/file_sd/inventory/.limen-targets.manifest"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import (
    TargetError,
    sync,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directory=dict(type="path", required=True),
            job=dict(type="str"),
            targets=dict(type="list", elements="raw", default=[]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            exclusive=dict(type="bool", default=False),
            jobs=dict(type="list", elements="dict", options=dict(
                name=dict(type="str", required=True),
                targets=dict(type="list", elements="raw", required=True),
            )),
            prune=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("job", "jobs")],
        required_one_of=[("job", "jobs")],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    error = None
    try:
        result = sync(module.params, check_mode=module.check_mode, want_diff=module._diff)
    except TargetError as exc:
        error = str(exc)
    except OSError as exc:
        error = f"{exc.filename or module.params['directory']}: {exc.strerror or exc}"
    if error is not None:   # outside the except block: the message, not the handled exception's traceback
        module.fail_json(msg=error)
    changed = bool(result.pop("changed"))
    diff = result.pop("diff")
    # Owner, group and mode of every file the call manages, each run (check mode: predicted).
    for path in result.pop("managed"):
        file_args = module.load_file_common_arguments(module.params, path=path)
        if module.set_fs_attributes_if_different(file_args, False):
            changed = True
            if path not in result["files"]:
                result["files"].append(path)
    result.update(changed=changed, diff=diff)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
