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
version_added: 0.1.0
author: limen.monitoring contributors
options:
  directory:
    description: Provisioning directory of the dashboard provider.
    type: path
    required: true
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
  datasource_uid:
    description: uid of the provisioned Prometheus datasource every Prometheus reference is pointed at.
    type: str
  state:
    description: V(present) writes the dashboard, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
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

- name: Remove it
  limen.monitoring.grafana_dashboard:
    directory: /var/lib/grafana/dashboards
    folder: Team
    uid: team-overview
    state: absent
"""

RETURN = r"""
uid:
  description: The dashboard's uid.
  returned: always
  type: str
  sample: limen-overview
path:
  description: The file written or removed.
  returned: always
  type: str
  sample: /var/lib/grafana/dashboards/Services/limen-overview.json
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.limen.monitoring.plugins.module_utils.atomic_file import (
    locked,
    octal_mode,
    read_text,
    write_atomic,
)
from ansible_collections.limen.monitoring.plugins.module_utils.dashboard import (
    DashboardError,
    dashboard_path,
    normalise,
    parse,
    render,
    same,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directory=dict(type="path", required=True),
            folder=dict(type="str", default=""),
            dashboard=dict(type="dict"),
            json=dict(type="str"),
            src=dict(type="path"),
            uid=dict(type="str"),
            datasource_uid=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        mutually_exclusive=[("dashboard", "json", "src")],
        required_if=[("state", "present", ("dashboard", "json", "src"), True)],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    p = module.params
    try:
        doc = None
        if p["dashboard"] is not None:
            doc, source = p["dashboard"], "dashboard"
        elif p["json"] is not None:
            doc, source = parse(p["json"], "json"), "json"
        elif p["src"]:
            text = read_text(p["src"])
            if text is None:
                raise DashboardError(f"src: {p['src']} does not exist")
            doc, source = parse(text, p["src"]), p["src"]
        if doc is not None:
            if p["uid"]:
                doc = dict(doc, uid=p["uid"])
            wanted = normalise(doc, source, p["datasource_uid"], p["folder"])
            uid = wanted["uid"]
        elif p["uid"]:
            wanted, uid = None, p["uid"]
        else:
            raise DashboardError("state=absent needs uid or the dashboard")
        path = dashboard_path(p["directory"], p["folder"], uid)
    except DashboardError as exc:
        module.fail_json(msg=str(exc))

    before = read_text(path)
    if p["state"] == "absent":
        changed = before is not None
        if changed and not module.check_mode:
            os.unlink(path)
        diff = {"before": before or "", "after": "", "before_header": path, "after_header": path}
        module.exit_json(changed=changed, uid=uid, path=path, diff=diff)

    changed = not same(before, wanted)
    after = render(wanted)
    if changed and not module.check_mode:
        with locked(os.path.dirname(path)):
            write_atomic(path, after, octal_mode(p["mode"]))
    if not module.check_mode and os.path.exists(path):
        changed = module.set_fs_attributes_if_different(module.load_file_common_arguments(p, path=path), changed)
    diff = {"before": before or "", "after": after if changed else before or "",
            "before_header": path, "after_header": path}
    module.exit_json(changed=changed, uid=uid, path=path, diff=diff)


if __name__ == "__main__":
    main()
