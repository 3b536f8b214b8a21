"""Certificates checked on the controller before any host changes, with real keys and certificates."""

from __future__ import annotations

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.limen.monitoring.plugins.plugin_utils.cert_check import certificate_errors, renew_seconds

NOW = datetime.datetime.now(datetime.timezone.utc)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(tmp_path, name="ca", key_usage=True):
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True))
    if key_usage:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    cert = builder.sign(key, hashes.SHA256())
    path = tmp_path / f"{name}.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


def make_cert(tmp_path, ca, name="mon", address="10.0.0.5", days=397):
    _, ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name), x509.IPAddress(ipaddress.ip_address(address))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    path = tmp_path / f"{name}.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_a_certificate_of_the_trusted_ca_for_the_host_passes(tmp_path):
    ca = make_ca(tmp_path)
    assert certificate_errors(str(ca[0]), [str(make_cert(tmp_path, ca))], "10.0.0.5", "30d") == []
    assert certificate_errors(str(ca[0]), [str(make_cert(tmp_path, ca))], "mon", "30d") == []


def test_a_ca_without_key_usage_is_refused_naming_the_file(tmp_path):
    ca = make_ca(tmp_path, key_usage=False)
    [msg] = certificate_errors(str(ca[0]), [str(make_cert(tmp_path, ca))], "10.0.0.5", "30d")
    assert msg.startswith(str(ca[0])) and "keyUsage" in msg


def test_a_certificate_of_another_ca_is_refused_naming_the_file(tmp_path):
    trusted = make_ca(tmp_path, "trusted")
    other = make_ca(tmp_path, "other")
    cert = make_cert(tmp_path, other)
    [msg] = certificate_errors(str(trusted[0]), [str(cert)], "10.0.0.5", "30d")
    assert msg.startswith(str(cert)) and "trusted.crt" in msg


def test_a_certificate_for_another_host_is_refused(tmp_path):
    ca = make_ca(tmp_path)
    cert = make_cert(tmp_path, ca, "svc1", "10.0.0.9")
    [msg] = certificate_errors(str(ca[0]), [str(cert)], "10.0.0.5", "30d")
    assert msg.startswith(str(cert)) and "10.0.0.5" in msg and "10.0.0.9" in msg


def test_a_certificate_expiring_within_renew_before_is_refused(tmp_path):
    ca = make_ca(tmp_path)
    cert = make_cert(tmp_path, ca, days=10)
    [msg] = certificate_errors(str(ca[0]), [str(cert)], "10.0.0.5", "30d")
    assert msg.startswith(str(cert)) and "pki_renew_before" in msg


def test_an_unreadable_certificate_is_named(tmp_path):
    ca = make_ca(tmp_path)
    bad = tmp_path / "bad.crt"
    bad.write_text("not a certificate")
    [msg] = certificate_errors(str(ca[0]), [str(bad)], "10.0.0.5", "30d")
    assert msg.startswith(str(bad))


@pytest.mark.parametrize("text, seconds", [("30d", 2592000), ("+12h", 43200), ("90s", 90)])
def test_renew_before_durations(text, seconds):
    assert renew_seconds(text) == seconds


def test_a_malformed_renew_before_is_named():
    with pytest.raises(ValueError, match="pki_renew_before"):
        renew_seconds("a month")
