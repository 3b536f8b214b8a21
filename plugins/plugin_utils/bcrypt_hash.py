# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Stable bcrypt hashes for Prometheus/Alertmanager web.config.file basic auth.

The salt is HMAC-SHA256 of a per-user seed under a secret key the controller keeps
(pki_secrets_dir/bcrypt_salt_key), never derived from the password: the same password gives
the same hash on every run (no spurious 'changed', no needless reload), different users or
hosts never share a salt, and whoever reads a web config must pay bcrypt's cost for every
guess (a salt computed from the password would let them test guesses at SHA-256 speed).
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


def derive_salt(seed, key, rounds=10):
    digest = hmac.new(key.encode(), seed.encode(), hashlib.sha256).digest()[:16]
    # 16 bytes -> 22 characters; the last one holds 2 padding bits, which must be 0.
    return f"$2b${rounds:02d}${_bcrypt_b64(digest)[:22]}".encode()


def stable_hash(password, seed, key, rounds=10):
    """SEED names the user ("host/user"); KEY is the controller's secret salt key. Every error
    names the user, none shows the password."""
    if not isinstance(key, str) or len(key) < 16:
        raise HashError(f"the salt key for {seed!r} is missing or shorter than 16 characters "
                        "(pki_secrets_dir/bcrypt_salt_key is made by the topology role)")
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
    return bcrypt.hashpw(password.encode(), derive_salt(seed, key, rounds)).decode()
