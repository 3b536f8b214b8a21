# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Certificates checked on the controller before any host gets them (PRIVATE to the collection).

Used by the `certificate_errors` filter: the CA the clients will trust must be usable as a CA
(Debian 13's Python refuses one without keyUsage), and every server certificate must be signed
by it, name the host's address, and stay valid longer than pki_renew_before. Each message
names the file.
"""

from __future__ import annotations

import datetime
import ipaddress
import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def renew_seconds(text):
    """Seconds of pki_renew_before ("30d", "12h", "+30d"); ValueError when malformed."""
    match = re.fullmatch(r"\+?(\d+)([smhdw])", str(text).strip())
    if not match:
        raise ValueError(f"pki_renew_before: {text!r} is not a duration such as 30d or 12h")
    return int(match[1]) * _UNITS[match[2]]


def _load(path):
    from cryptography import x509  # controller-side, a dependency of community.crypto
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def _not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def ca_errors(ca_path):
    """Messages about the CA certificate at CA_PATH (empty: usable by every client)."""
    from cryptography import x509
    try:
        ca = _load(ca_path)
    except (OSError, ValueError) as exc:
        return [f"{ca_path}: not a readable PEM certificate ({exc})"]
    try:
        usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return [f"{ca_path}: the CA certificate has no keyUsage extension; Python 3.13 (Debian 13) "
                "refuses such a CA (\"CA cert does not include key usage extension\"): re-issue it "
                "with keyUsage = critical, keyCertSign, cRLSign"]
    if not usage.key_cert_sign:
        return [f"{ca_path}: the CA certificate's keyUsage lacks keyCertSign: it cannot sign certificates"]
    return []


def _names(cert):
    from cryptography import x509
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return ({str(ip) for ip in san.get_values_for_type(x509.IPAddress)},
            {d.lower() for d in san.get_values_for_type(x509.DNSName)})


def _covers(ips, dns, name):
    try:
        return str(ipaddress.ip_address(name)) in ips
    except ValueError:
        name = name.lower()
        return name in dns or any(d.startswith("*.") and name.split(".", 1)[-1] == d[2:] for d in dns)


def certificate_errors(ca_path, cert_paths, address, renew_before, now=None):
    """Messages about the server certificates CERT_PATHS of a host reached at ADDRESS."""
    errors = ca_errors(ca_path)
    if errors:
        return errors
    ca = _load(ca_path)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    margin = datetime.timedelta(seconds=renew_seconds(renew_before))
    for path in cert_paths:
        try:
            cert = _load(path)
        except (OSError, ValueError) as exc:
            errors.append(f"{path}: not a readable PEM certificate ({exc})")
            continue
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError) as exc:
            errors.append(f"{path}: not issued by the CA the clients trust ({ca_path}): {exc}")
            continue
        except Exception as exc:  # cryptography's InvalidSignature has no message
            errors.append(f"{path}: its signature does not verify with the CA the clients trust "
                          f"({ca_path}) ({type(exc).__name__})")
            continue
        ips, dns = _names(cert)
        if not _covers(ips, dns, str(address)):
            errors.append(f"{path}: does not name the host's address {address} in its subjectAltNames "
                          f"(it has: {', '.join(sorted(ips | dns)) or 'none'}); clients would refuse it")
        if _not_after(cert) - now <= margin:
            errors.append(f"{path}: expires {_not_after(cert):%Y-%m-%d %H:%M} UTC, within pki_renew_before "
                          f"({renew_before})")
    return errors
