# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Fingerprints of the primary keys in an OpenPGP public key file (armored or binary).

PRIVATE to the collection: used by the `openpgp_fingerprints` filter, so an APT repository
key is trusted by the fingerprint the collection pins, not by whatever the URL serves.
Pure functions, unit-tested without Ansible. Version 4 keys (SHA-1 over the key packet,
RFC 4880 12.2) and version 6 keys (SHA-256, RFC 9580 5.5.4).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

PUBLIC_KEY = 6


class OpenPGPError(ValueError):
    """The data is not an OpenPGP public key file."""


def dearmor(text):
    """The binary packets of an ASCII-armored block (headers and checksum line dropped)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    try:
        begin = lines.index("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        end = lines.index("-----END PGP PUBLIC KEY BLOCK-----", begin)
    except ValueError:
        raise OpenPGPError("no PGP PUBLIC KEY BLOCK in the file") from None
    body = lines[begin + 1:end]
    if "" in body:                      # armor headers end at the first blank line
        body = body[body.index("") + 1:]
    body = [line for line in body if line and not line.startswith("=")]
    try:
        return base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError):
        raise OpenPGPError("the key block is not valid base64") from None


def packets(data):
    """(tag, body) of each packet of binary OpenPGP data."""
    try:
        yield from _packets(data)
    except IndexError:
        raise OpenPGPError("a packet header runs past the end of the data") from None


def _packets(data):
    pos = 0
    while pos < len(data):
        head = data[pos]
        if not head & 0x80:
            raise OpenPGPError(f"byte {pos}: not a packet header")
        if head & 0x40:                 # new format
            tag, pos = head & 0x3F, pos + 1
            first = data[pos]
            if first < 192:
                length, pos = first, pos + 1
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5
            else:
                raise OpenPGPError("partial body lengths do not occur in key files")
        else:                           # old format
            tag, kind, pos = (head >> 2) & 0x0F, head & 0x03, pos + 1
            if kind == 3:
                raise OpenPGPError("indeterminate lengths do not occur in key files")
            size = (1, 2, 4)[kind]
            length, pos = int.from_bytes(data[pos:pos + size], "big"), pos + size
        if pos + length > len(data):
            raise OpenPGPError("a packet runs past the end of the data")
        yield tag, data[pos:pos + length]
        pos += length


def fingerprint(body):
    """Upper-case hex fingerprint of a public key packet body."""
    if body[:1] == b"\x04":
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    if body[:1] == b"\x06":
        return hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    raise OpenPGPError(f"key version {body[:1].hex() or 'none'} is not supported (4 or 6)")


def primary_fingerprints(content):
    """Fingerprints of the primary keys in CONTENT (str: armored; bytes: binary or armored)."""
    if isinstance(content, bytes):
        content = content if content[:1] and content[0] & 0x80 else content.decode("ascii", "replace")
    data = dearmor(content) if isinstance(content, str) else content
    found = [fingerprint(body) for tag, body in packets(data) if tag == PUBLIC_KEY]
    if not found:
        raise OpenPGPError("the file holds no public key")
    return found
