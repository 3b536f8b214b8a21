# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Stable bcrypt hashes for Prometheus/Alertmanager web.config.file basic auth.

The salt is derived from the password and a per-user seed, so the same password
gives the same hash on every run (no spurious 'changed', no needless reload) while
different users or hosts never share a salt.
"""

from __future__ import annotations

import hashlib
import hmac

BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class HashError(ValueError):
    pass


def _bcrypt_b64(data):
    bits = "".join(f"{b:08b}" for b in data)
    bits += "0" * (-len(bits) % 6)
    return "".join(BCRYPT_ALPHABET[int(bits[i:i + 6], 2)] for i in range(0, len(bits), 6))


def derive_salt(password, seed, rounds=10):
    digest = hmac.new(seed.encode(), password.encode(), hashlib.sha256).digest()[:16]
    # 16 bytes -> 22 characters; the last one holds 2 padding bits, which must be 0.
    return f"$2b${rounds:02d}${_bcrypt_b64(digest)[:22]}".encode()


def stable_hash(password, seed, rounds=10):
    if not isinstance(password, str) or not password:
        raise HashError("an empty password cannot be hashed")
    try:
        import bcrypt  # controller-side dependency, listed in requirements.txt
    except ImportError:
        raise HashError("the Python package 'bcrypt' is missing on the controller "
                        "(pip install bcrypt); refusing to write an unusable hash") from None
    return bcrypt.hashpw(password.encode(), derive_salt(password, seed, rounds)).decode()
