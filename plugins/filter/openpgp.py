# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filter: the primary key fingerprints of an OpenPGP key file. Documentation: openpgp_fingerprints.yml."""

from __future__ import annotations

import base64

from ansible.errors import AnsibleFilterError

from ansible_collections.limen.monitoring.plugins.plugin_utils.openpgp import OpenPGPError, primary_fingerprints


def _openpgp_fingerprints(content, encoding="text"):
    try:
        return primary_fingerprints(base64.b64decode(content) if encoding == "base64" else str(content))
    except (OpenPGPError, ValueError) as exc:
        raise AnsibleFilterError(f"not an OpenPGP public key file: {exc}") from None


class FilterModule:
    def filters(self):
        return {"openpgp_fingerprints": _openpgp_fingerprints}
