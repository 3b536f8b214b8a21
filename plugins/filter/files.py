# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filter: a role's secrets and copied files as entries of the files module.

Documentation: file_entries.yml beside this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.limen.monitoring.plugins.module_utils.file_set import FileSetError, entries


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def file_entries(items, directory="", missing_ok=False, prefix="", **attrs):
    try:
        return entries(items, directory, read=_read, missing_ok=missing_ok, prefix=prefix, **attrs)
    except FileSetError as err:
        raise AnsibleFilterError(str(err)) from None


class FilterModule:
    def filters(self):
        return {"file_entries": file_entries}
