# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Filter: password -> stable bcrypt hash (salt: HMAC of a seed under the controller's secret key)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: stable_bcrypt
short_description: bcrypt hash that stays the same across runs
description:
  - Hashes a password with bcrypt for Prometheus/Alertmanager C(web.config.file) basic auth.
  - The salt is HMAC-SHA256 of O(seed) under the secret O(key), never derived from the password,
    so re-runs produce the same hash and a reader of the hash gains no shortcut past bcrypt.
  - Fails clearly when the controller lacks the Python package C(bcrypt), instead of writing a wrong hash.
  - Refuses an empty password and one over 72 bytes in UTF-8 (bcrypt ignores the rest), naming O(seed) (the user).
positional: seed, key
options:
  _input:
    description: The password.
    type: str
    required: true
  seed:
    description: Per-user seed, for example C(inventory_hostname ~ username).
    type: str
    required: true
  key:
    description: Secret salt key (16+ characters) kept on the controller.
    type: str
    required: true
"""

EXAMPLES = r"""
hash: "{{ vault_prometheus_password | limen.monitoring.stable_bcrypt(inventory_hostname ~ 'admin', salt_key) }}"
"""

RETURN = r"""
_value:
  description: The bcrypt hash (C($2b$10$...)).
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.limen.monitoring.plugins.plugin_utils.bcrypt_hash import HashError, stable_hash


def stable_bcrypt(password, seed, key):
    try:
        # None (an unset variable) must not become the password "None".
        return stable_hash("" if password is None else str(password), str(seed), str(key or ""))
    except HashError as exc:
        raise AnsibleFilterError(f"stable_bcrypt: {exc}") from None


class FilterModule:
    def filters(self):
        return {"stable_bcrypt": stable_bcrypt}
