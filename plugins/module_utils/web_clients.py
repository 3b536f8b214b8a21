# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""How the collection's own clients reach a component's web endpoint (PRIVATE to the collection).

Prometheus scraping itself, Alertmanager and node_exporter, Prometheus sending alerts,
Grafana's data sources, the readiness waits and the self-check all use the result, so
they authenticate and verify TLS the same way.
"""

from __future__ import annotations


class ClientError(ValueError):
    """A web security variable is wrong; the message names the variable and where it came from."""


def web_client(prefix, where, users, internal_user, tls_cert_file, ca_file, address, port):
    """{scheme, target, url, username, password, ca_file} for the component PREFIX.

    PREFIX is the variable prefix (prometheus, alertmanager, node_exporter); WHERE names the
    inventory host. USERS is {name: password} of PREFIX_web_users; when it is set, the
    collection logs in as INTERNAL_USER, which must be one of them. TLS_CERT_FILE non-empty
    means HTTPS, verified against CA_FILE (empty: the system's trust store).
    """
    users = users or {}
    if not isinstance(users, dict):
        raise ClientError(f"{where}: {prefix}_web_users must be a mapping of user name to password, "
                          f"got {type(users).__name__}")
    for name, password in users.items():
        if not isinstance(password, str) or not password:
            raise ClientError(f"{where}: {prefix}_web_users.{name} needs a non-empty password string")
    username = password = ""
    if users:
        if not internal_user or internal_user not in users:
            raise ClientError(
                f"{where}: {prefix}_internal_user is {internal_user!r}, but {prefix}_web_users has no "
                f"such user (it has: {', '.join(sorted(users))}); the collection's own clients log in "
                f"as that user: add it to {prefix}_web_users with its own password")
        username, password = internal_user, users[internal_user]
    scheme = "https" if tls_cert_file else "http"
    host = f"[{address}]" if ":" in str(address) else str(address)
    target = f"{host}:{int(port)}"
    return {"scheme": scheme, "target": target, "url": f"{scheme}://{target}",
            "username": username, "password": password,
            "ca_file": (ca_file or "") if scheme == "https" else ""}
