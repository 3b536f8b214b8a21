"""A stable bcrypt hash: a salt per user that does not come from the password, 72 bytes at most."""

from __future__ import annotations

import bcrypt
import pytest

from ansible_collections.limen.monitoring.plugins.plugin_utils.bcrypt_hash import HashError, stable_hash

KEY = "controller-salt-key-0123456789ab"


def test_the_salt_does_not_come_from_the_password():
    """Two passwords of one user share the salt (from the seed and the secret key only), so the
    hash gives no faster way to test a guess than bcrypt itself; another key, another salt."""
    salt = stable_hash("first-password-1", "mon/admin", KEY)[:29]
    assert stable_hash("other-password-2", "mon/admin", KEY)[:29] == salt
    assert stable_hash("first-password-1", "mon/admin", "another-key-0123456789")[:29] != salt
    with pytest.raises(HashError, match="salt key"):
        stable_hash("first-password-1", "mon/admin", "")


def test_stable_bcrypt_is_stable_valid_and_seeded():
    a = stable_hash("s3cret-pass", "mon/admin", KEY)
    assert a == stable_hash("s3cret-pass", "mon/admin", KEY)
    assert a != stable_hash("s3cret-pass", "mon/other", KEY)
    assert bcrypt.checkpw(b"s3cret-pass", a.encode())
    with pytest.raises(HashError):
        stable_hash("", "x", KEY)


@pytest.mark.parametrize("password,size", [("x" * 73, 73), ("\u00e9" * 37, 74), ("\U0001f512" * 19, 76)])
def test_bcrypt_refuses_a_password_over_72_bytes_naming_the_user(password, size):
    with pytest.raises(HashError) as err:
        stable_hash(password, "mon/admin", KEY)
    message = str(err.value)
    assert "'mon/admin'" in message and f"{size} bytes" in message and "at most 72" in message
    assert password not in message, "the password must never appear in an error"
