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
  - Validates every request before it reads or writes anything; a refused call changes nothing.
version_added: 0.1.0
author: limen.monitoring maintainers (!UNKNOWN)
options:
  directory:
    description:
      - Provisioning directory of the dashboard provider (an absolute path). Created when missing.
      - The module never writes, reads or removes anything outside it; a folder or file that is a
        symlink leading outside is refused.
    type: path
    required: true
  datasource_uid:
    description:
      - uid of the provisioned Prometheus datasource every Prometheus reference is pointed at;
        1-40 letters, digits, C(-) or C(_) (whitespace or a newline is refused).
      - In a dashboard exported for sharing, fills in the C(${DS_...}) placeholders of its
        Prometheus datasource inputs (C(__inputs)); placeholders of other inputs are left as they are
        and reported in RV(unresolved).
    type: str
  dashboards:
    description:
      - Many dashboards in one call. Mutually exclusive with O(dashboard), O(json) and O(src).
    type: list
    elements: dict
    suboptions:
      folder:
        description: Grafana folder, as in the top-level O(folder).
        type: str
        default: ""
      dashboard:
        description: The dashboard as a mapping. Mutually exclusive with O(dashboards[].json) and O(dashboards[].src).
        type: dict
      json:
        description: The dashboard as a JSON string.
        type: str
      src:
        description: Path of a dashboard JSON file (UTF-8) on the managed host.
        type: path
      uid:
        description: uid to use, as in the top-level O(uid).
        type: str
      state:
        description: V(present) writes the dashboard, V(absent) removes it.
        type: str
        choices: [present, absent]
        default: present
  prune:
    description: With O(dashboards), delete every other C(*.json) in O(directory) and its folders.
    type: bool
    default: false
  folder:
    description:
      - Grafana folder; a subdirectory of O(directory) (the provider maps directories to folders).
        Empty for the top level.
      - One name of at most 100 characters (and 255 bytes in UTF-8), without a slash or backslash, control
        characters or surrounding whitespace, and not V(.) or V(..).
    type: str
    default: ""
  dashboard:
    description: The dashboard as a mapping (for example from a template).
    type: dict
  json:
    description: The dashboard as a JSON string.
    type: str
  src:
    description: Path of a dashboard JSON file (UTF-8) on the managed host.
    type: path
  uid:
    description:
      - uid to use; overrides the one in the JSON. Needed with O(state=absent) when no dashboard is given.
      - 1 to 40 letters, digits, C(-) or C(_) (Grafana's rule). uids are global in Grafana, so a uid
        already provisioned in another folder of O(directory) is refused, unless the same call
        removes it there.
    type: str
  state:
    description: V(present) writes the dashboard, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - A dashboard exported with "Export for sharing externally" holds C(${DS_...}) placeholders that
    Grafana fills in only when it is imported through its UI; file provisioning loads them as they
    are. The module fills in the Prometheus ones (with O(datasource_uid)) and warns about the rest.
  - Template variables of the dashboard (C(${datasource}) where C(datasource) is one of its
    variables) are Grafana's to fill in and are left alone.
  - Without changes to make, the module takes no lock and writes nothing, so it also succeeds on a
    read-only directory that is already converged.
  - Grafana refuses a second dashboard of the same title in a folder; the module refuses it first.
    A folder name must be in Unicode NFC, so C(Café) typed on two systems is one folder.
  - Where a user other than root can change a directory on the way to the files (Grafana's own
    C(grafana)-owned tree), a symlink there is refused, and files are written and removed through
    directory descriptors, so a link planted during the run is not followed either.
  - O(src) must be a regular file (a FIFO or C(/dev/zero) is refused before it is read).
seealso:
  - name: Grafana dashboard provisioning
    description: The file provider that reads O(directory).
    link: https://grafana.com/docs/grafana/latest/administration/provisioning/#dashboards
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
    datasource_uid: prometheus
    dashboards:
      - folder: Services
        json: "{{ lookup('ansible.builtin.file', 'dashboards/limen.json') }}"
      - folder: Services
        dashboard: "{{ service2_dashboard }}"
      - folder: Shared
        src: /srv/exports/node-exporter-full.json

- name: Move a dashboard to another folder (its uid stays the same)
  limen.monitoring.grafana_dashboard:
    directory: /var/lib/grafana/dashboards
    dashboards:
      - folder: Team
        uid: team-overview
        state: absent
      - folder: Services
        uid: team-overview
        json: "{{ lookup('ansible.builtin.file', 'dashboards/team.json') }}"

- name: Remove it
  limen.monitoring.grafana_dashboard:
    directory: /var/lib/grafana/dashboards
    folder: Services
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
  description: uid, folder, path and changed of every requested dashboard, in the order given.
  returned: always
  type: list
  elements: dict
  sample: [{"uid": "svc-limen", "folder": "Services", "path": "/var/lib/grafana/dashboards/Services/svc-limen.json",
            "changed": false}]
removed:
  description: Files that were or would be removed (state=absent, or pruned).
  returned: always
  type: list
  elements: str
  sample: ["/var/lib/grafana/dashboards/Services/svc-service3.json"]
unresolved:
  description:
    - Dashboards that still hold placeholders of a shared export after this run, with each
      placeholder's input name and type. Each one is also reported as a warning.
  returned: always
  type: list
  elements: dict
  sample: [{"uid": "logs-overview", "path": "/var/lib/grafana/dashboards/Shared/logs-overview.json",
            "inputs": [{"input": "DS_LOKI", "type": "datasource loki"}]}]
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

    error = None
    try:
        result = sync(p, module.check_mode, module._diff, set_attributes)
    except DashboardError as exc:
        error = str(exc)
    if error is not None:   # outside the except block: the message, not the handled exception's traceback
        module.fail_json(msg=error)
    for warning in result.pop("warnings"):
        module.warn(warning)
    first = result["dashboards"][0] if result["dashboards"] else {"uid": None, "path": None}
    module.exit_json(uid=first["uid"], path=first["path"], **result)


if __name__ == "__main__":
    main()
