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


BCRYPT_MAX_BYTES = 72  # bcrypt reads at most 72 bytes of a password


class HashError(ValueError):
    """The message names the user (the seed) and why; never the password."""


def _bcrypt_b64(data):
    bits = "".join(f"{b:08b}" for b in data)
    bits += "0" * (-len(bits) % 6)
    return "".join(BCRYPT_ALPHABET[int(bits[i:i + 6], 2)] for i in range(0, len(bits), 6))


def derive_salt(password, seed, rounds=10):
    digest = hmac.new(seed.encode(), password.encode(), hashlib.sha256).digest()[:16]
    # 16 bytes -> 22 characters; the last one holds 2 padding bits, which must be 0.
    return f"$2b${rounds:02d}${_bcrypt_b64(digest)[:22]}".encode()


def stable_hash(password, seed, rounds=10):
    """SEED names the user ("host/user"); every error names it, none shows the password."""
    if not isinstance(password, str) or not password:
        raise HashError(f"the password of {seed!r} is empty; an empty password cannot be hashed")
    size = len(password.encode("utf-8"))
    if size > BCRYPT_MAX_BYTES:
        # Older bcrypt libraries cut the rest silently (any password sharing the first 72 bytes
        # would then log in); bcrypt >= 5 raises. Refuse it either way, naming the user.
        raise HashError(f"the password of {seed!r} is {size} bytes in UTF-8; bcrypt uses at most "
                        f"{BCRYPT_MAX_BYTES}, so the rest would be ignored: use a password of at most "
                        f"{BCRYPT_MAX_BYTES} bytes")
    try:
        import bcrypt  # controller-side dependency, listed in requirements.txt
    except ImportError:
        raise HashError("the Python package 'bcrypt' is missing on the controller "
                        "(pip install bcrypt); refusing to write an unusable hash") from None
    return bcrypt.hashpw(password.encode(), derive_salt(password, seed, rounds)).decode()
