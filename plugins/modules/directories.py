#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Ensure many directories with their owner, group and mode in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: directories
short_description: Ensure many directories, with owner, group and mode, in one call
description:
  - "What M(ansible.builtin.file) does with O(ansible.builtin.file#module:state=directory) for one
    path, for a whole list: missing directories are created (with their parents), and owner,
    group and mode are set where they differ."
  - One call instead of one module run per directory keeps re-runs of the roles fast.
version_added: 0.1.0
author: limen.monitoring maintainers (!UNKNOWN)
options:
  paths:
    description: The directories.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      owner:
        description: Owner (name or uid); unchanged when omitted.
        type: str
      group:
        description: Group (name or gid); unchanged when omitted.
        type: str
      mode:
        description: Mode, as an octal string such as C("0750") or a symbolic mode.
        type: raw
extends_documentation_fragment:
  - limen.monitoring.attributes
"""

EXAMPLES = r"""
- name: Create the configuration and data directories
  limen.monitoring.directories:
    paths:
      - {path: /etc/prometheus, owner: root, group: prometheus, mode: "0755"}
      - {path: /var/lib/prometheus/metrics2, owner: prometheus, group: prometheus, mode: "0750"}
"""

RETURN = r"""
changed_paths:
  description: Directories that were or would be created or changed.
  returned: always
  type: list
  elements: str
  sample: ["/etc/prometheus/rules"]
"""

import os

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(paths=dict(type="list", elements="dict", required=True, options=dict(
            path=dict(type="path", required=True),
            owner=dict(type="str"),
            group=dict(type="str"),
            mode=dict(type="raw"),
        ))),
        supports_check_mode=True,
    )
    changed_paths, diffs = [], []
    for item in module.params["paths"]:
        path = item["path"]
        if not os.path.isabs(path):
            module.fail_json(msg=f"paths: {path!r} is not an absolute path")
        if os.path.exists(path) and not os.path.isdir(path):
            module.fail_json(msg=f"paths: {path} exists and is not a directory")
        diff = {"before": {"path": path}, "after": {"path": path}}
        created = not os.path.isdir(path)
        if created:
            diff["before"]["state"], diff["after"]["state"] = "absent", "directory"
            if not module.check_mode:
                os.makedirs(path)
        file_args = module.load_file_common_arguments(item, path=path)
        if created and module.check_mode:
            changed = True
        else:
            changed = module.set_fs_attributes_if_different(file_args, created, diff=diff)
        if changed:
            changed_paths.append(path)
            diffs.append({"before_header": path, "after_header": path,
                          "before": f"{diff['before']}\n", "after": f"{diff['after']}\n"})
    module.exit_json(changed=bool(changed_paths), changed_paths=changed_paths,
                     diff=diffs if module._diff else {})


if __name__ == "__main__":
    main()
