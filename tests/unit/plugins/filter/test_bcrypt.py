"""The stable_bcrypt filter: the hash of plugin_utils/bcrypt_hash, with the user named in its errors."""

from __future__ import annotations

import bcrypt
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.limen.monitoring.plugins.filter.bcrypt import stable_bcrypt
from ansible_collections.limen.monitoring.plugins.plugin_utils.bcrypt_hash import stable_hash

KEY = "controller-salt-key-0123456789ab"


def test_bcrypt_takes_exactly_72_bytes_and_the_filter_names_the_user():
    assert bcrypt.checkpw(("\u00e9" * 36).encode(), stable_hash("\u00e9" * 36, "mon/admin", KEY).encode())
    with pytest.raises(AnsibleFilterError, match=r"stable_bcrypt: the password of 'mon/alertmanager/ops' is 80 bytes"):
        stable_bcrypt("y" * 80, "mon/alertmanager/ops", KEY)
    with pytest.raises(AnsibleFilterError, match="'mon/admin' is empty"):
        stable_bcrypt(None, "mon/admin", KEY)
