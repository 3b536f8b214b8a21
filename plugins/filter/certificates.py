# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filter: certificates checked against the CA the clients trust, before any host changes.

Documentation: certificate_errors.yml beside this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.limen.monitoring.plugins.plugin_utils.cert_check import certificate_errors


def _certificate_errors(ca_path, cert_paths, address, renew_before):
    try:
        return certificate_errors(str(ca_path), [str(p) for p in cert_paths or []], str(address), str(renew_before))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"certificate_errors": _certificate_errors}
