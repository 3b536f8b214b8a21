#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Register a Grafana dashboard in the provisioning directory."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: grafana_dashboard
short_description: Register a Grafana dashboard through file provisioning
description:
  - Writes a dashboard into a directory read by a Grafana dashboard provider, so it needs no
    API token and survives Grafana upgrades and API changes.
  - Normalises the JSON (removes C(id) and C(version), keeps or derives a stable C(uid), points
    Prometheus datasource references at the provisioned datasource) and refuses JSON that is not
    a dashboard, naming the problem.
  - Compares semantically (key order and formatting do not count), writes atomically, supports
    check mode and diff.
  - Takes one dashboard (O(dashboard), O(json) or O(src)) or a whole list in O(dashboards), and
    with O(prune) removes every other dashboard file in O(directory).
version_added: 0.1.0
author: limen.monitoring contributors
options:
  directory:
    description: Provisioning directory of the dashboard provider.
    type: path
    required: true
  datasource_uid:
    description: uid of the provisioned Prometheus datasource every Prometheus reference is pointed at.
    type: str
  dashboards:
    description:
      - Many dashboards in one call, each with the options O(folder), O(dashboard), O(json), O(src),
        O(uid) and O(state) described here for a single one.
      - Mutually exclusive with O(dashboard), O(json) and O(src).
    type: list
    elements: dict
  prune:
    description: With O(dashboards), delete every other C(*.json) in O(directory) and its folders.
    type: bool
    default: false
  folder:
    description: Grafana folder (a subdirectory; the provider maps directories to folders).
    type: str
    default: ""
  dashboard:
    description: The dashboard as a mapping (for example from a template).
    type: dict
  json:
    description: The dashboard as a JSON string.
    type: str
  src:
    description: Path of a dashboard JSON file on the managed host.
    type: path
  uid:
    description: uid to use; overrides the one in the JSON. Needed with O(state=absent) when no dashboard is given.
    type: str
  state:
    description: V(present) writes the dashboard, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - ansible.builtin.files
  - limen.monitoring.attributes
"""

EXAMPLES = r"""
- name: Add a team dashboard from a file shipped with the playbook
  limen.monitoring.grafana_dashboard:
    directory: /var/lib/grafana/dashboards
    folder: Team
    json: "{{ lookup('ansible.builtin.file', 'dashboards/team.json') }}"
    datasource_uid: prometheus
    owner: root
    group: grafana
    mode: "0640"

- name: Provision a whole set, removing every dashboard not in it
  limen.monitoring.grafana_dashboard:
    directory: /var/lib/grafana/dashboards
    prune: true
    dashboards:
      - folder: Services
        json: "{{ lookup('ansible.builtin.file', 'dashboards/limen.json') }}"
      - folder: Services
        dashboard: "{{ service2_dashboard }}"

- name: Remove it
  limen.monitoring.grafana_dashboard:
    directory: /var/lib/grafana/dashboards
    folder: Team
    uid: team-overview
    state: absent
"""

RETURN = r"""
uid:
  description: The (first) dashboard's uid.
  returned: always
  type: str
  sample: limen-overview
path:
  description: The (first) dashboard's file.
  returned: always
  type: str
  sample: /var/lib/grafana/dashboards/Services/limen-overview.json
dashboards:
  description: uid, path and changed of every requested dashboard.
  returned: always
  type: list
  elements: dict
  sample: [{"uid": "svc-limen", "path": "/var/lib/grafana/dashboards/Services/svc-limen.json", "changed": false}]
removed:
  description: Files that were or would be removed (state=absent, or pruned).
  returned: always
  type: list
  elements: str
  sample: ["/var/lib/grafana/dashboards/Services/svc-service3.json"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import DashboardError, sync


def main():
    item_options = dict(
        folder=dict(type="str", default=""),
        dashboard=dict(type="dict"),
        json=dict(type="str"),
        src=dict(type="path"),
        uid=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(
        argument_spec=dict(
            directory=dict(type="path", required=True),
            datasource_uid=dict(type="str"),
            dashboards=dict(type="list", elements="dict", options=item_options,
                            mutually_exclusive=[("dashboard", "json", "src")]),
            prune=dict(type="bool", default=False),
            **item_options,
        ),
        mutually_exclusive=[("dashboard", "json", "src", "dashboards")],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    p = module.params

    def set_attributes(path, changed):
        # honours check mode: predicts instead of changing
        return module.set_fs_attributes_if_different(module.load_file_common_arguments(p, path=path), changed)

    try:
        result = sync(p, module.check_mode, module._diff, set_attributes)
    except DashboardError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings"):
        module.warn(warning)
    first = result["dashboards"][0] if result["dashboards"] else {"uid": None, "path": None}
    module.exit_json(uid=first["uid"], path=first["path"], **result)


if __name__ == "__main__":
    main()
