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
  - Validates hosts, ports, label names and duplicates before touching anything, and refuses
    to overwrite an existing file that is not valid file_sd JSON.
  - Writes atomically under a lock on the directory, so concurrent runs never lose a target.
  - Prometheus watches file_sd files; no reload is needed.
version_added: 0.1.0
author: limen.monitoring contributors
options:
  directory:
    description: Directory holding the job files (C(<job>.json)). Created when missing.
    type: path
    required: true
  job:
    description:
      - Job whose file is changed. Mutually exclusive with O(jobs).
    type: str
  targets:
    description:
      - Targets of O(job), each a C(host:port) string or a mapping.
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
        description: Job name (also the file name).
        type: str
        required: true
      targets:
        description: Targets of the job, as in O(targets).
        type: list
        elements: raw
        required: true
  prune:
    description: With O(jobs), delete the files of jobs that are not listed.
    type: bool
    default: false
notes:
  - A target mapping has C(host), C(port) (1-65535), and optional C(labels), C(metrics_path)
    (written as C(__metrics_path__)) and C(scheme) (written as C(__scheme__)).
  - Label names must match C([a-zA-Z_][a-zA-Z0-9_]*); names starting with C(__) are reserved
    except C(__metrics_path__), C(__scheme__), C(__scrape_interval__), C(__scrape_timeout__)
    and C(__param_*).
extends_documentation_fragment:
  - ansible.builtin.files
  - limen.monitoring.attributes
"""

EXAMPLES = r"""
- name: Register the LIMEN API and keep only these targets
  limen.monitoring.prometheus_targets:
    directory: /etc/prometheus/file_sd/inventory
    job: limen
    exclusive: true
    targets:
      - host: limen-api.internal
        port: 18443
        metrics_path: /api/metrics
        labels:
          env: production
      - "limen-api-2.internal:18443"

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
    directory: /etc/prometheus/file_sd/inventory
    job: limen
    state: absent
    targets: ["limen-api-2.internal:18443"]
"""

RETURN = r"""
added:
  description: Targets (C(job/host:port)) that were or would be added.
  returned: always
  type: list
  elements: str
  sample: ["limen/10.0.0.5:18443"]
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
  description: Job files that were or would be written or deleted.
  returned: always
  type: list
  elements: str
  sample: ["/etc/prometheus/file_sd/inventory/limen.json"]
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
    try:
        result = sync(module.params, check_mode=module.check_mode, want_diff=module._diff)
    except (TargetError, OSError) as exc:
        module.fail_json(msg=str(exc))
    changed = bool(result.pop("changed"))
    diff = result.pop("diff")
    if not module.check_mode:
        for path in result["written"]:
            file_args = module.load_file_common_arguments(module.params, path=path)
            changed = module.set_fs_attributes_if_different(file_args, changed)
    result.pop("written")
    module.exit_json(changed=changed, diff=diff, **result)


if __name__ == "__main__":
    main()
