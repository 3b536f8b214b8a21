"""Fingerprints of an APT repository key, computed as gpg computes them."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.limen.monitoring.plugins.plugin_utils.openpgp import OpenPGPError, primary_fingerprints


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Two fresh keys exported by gpg (armored and binary) and gpg's own fingerprints of them."""
    gpg = shutil.which("gpg")
    if not gpg:
        pytest.fail("gpg not found (Debian package gpg)")
    home = tmp_path_factory.mktemp("gnupg")
    os.chmod(home, 0o700)
    env = dict(os.environ, GNUPGHOME=str(home))

    def run(*args):
        return subprocess.run([gpg, "--batch", "--quiet", *args], env=env, check=True, capture_output=True).stdout

    for name in ("first@example.org", "second@example.org"):
        run("--passphrase", "", "--quick-gen-key", name, "ed25519", "sign", "1d")
    listing = run("--with-colons", "--list-keys").decode()
    fprs = [line.split(":")[9] for i, line in enumerate(listing.splitlines())
            if line.startswith("fpr:") and listing.splitlines()[i - 1].startswith("pub:")]
    return {"fprs": fprs, "armored": run("--armor", "--export").decode(), "binary": run("--export"),
            "one": run("--armor", "--export", fprs[0]).decode()}


def test_fingerprints_match_gpgs_for_armored_and_binary_files(keys):
    assert primary_fingerprints(keys["armored"]) == keys["fprs"]
    assert primary_fingerprints(keys["binary"]) == keys["fprs"]
    assert primary_fingerprints(keys["one"].encode()) == keys["fprs"][:1]
    assert len(keys["fprs"]) == 2 and all(len(f) == 40 for f in keys["fprs"])


@pytest.mark.parametrize("content,message", [
    ("# STAND-IN, not a key\n", "no PGP PUBLIC KEY BLOCK"),
    ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n-----END PGP PUBLIC KEY BLOCK-----\n", "not valid base64"),
    (b"\x01\x02", "no PGP PUBLIC KEY BLOCK"),
    (b"\x99\x00\x05\x04", "runs past the end"),
    (b"\xc0", "runs past the end"),
])
def test_what_is_not_a_key_file_is_named(content, message):
    with pytest.raises(OpenPGPError, match=message):
        primary_fingerprints(content)


def test_a_truncated_key_is_refused(keys):
    with pytest.raises(OpenPGPError):
        primary_fingerprints(keys["binary"][:40])


@given(st.binary(max_size=300))
def test_any_bytes_give_fingerprints_or_a_clear_error(data):
    armored = ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + base64.b64encode(data).decode()
               + "\n-----END PGP PUBLIC KEY BLOCK-----\n")
    for content in (data, armored):
        try:
            result = primary_fingerprints(content)
        except OpenPGPError:
            continue
        assert all(len(f) in (40, 64) for f in result)
