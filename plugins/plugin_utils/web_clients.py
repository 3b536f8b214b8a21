# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""How the collection's own clients reach a component's web endpoint (PRIVATE to the collection).

Prometheus scraping itself, Alertmanager and node_exporter, Prometheus sending alerts,
Grafana's data sources, the readiness waits and the self-check all use the result, so
they authenticate and verify TLS the same way.
"""

from __future__ import annotations

from ansible_collections.limen.monitoring.plugins.module_utils.validate import bracketed
from ansible_collections.limen.monitoring.plugins.plugin_utils.components import names
from ansible_collections.limen.monitoring.plugins.plugin_utils.secrets_policy import password_errors


class ClientError(ValueError):
    """A web security variable is wrong; the message names the variable and where it came from."""


def web_client(prefix, where, users, internal_user, tls_cert_file, ca_file, address, port):
    """{scheme, target, url, username, password, ca_file} for the component PREFIX.

    PREFIX is the variable prefix (prometheus, alertmanager, node_exporter, victoriametrics); WHERE names the
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
    target = f"{bracketed(address)}:{int(port)}"
    return {"scheme": scheme, "target": target, "url": f"{scheme}://{target}",
            "username": username, "password": password,
            "ca_file": (ca_file or "") if scheme == "https" else ""}


def scrape_auth(client, password_file=None):
    """The scheme, basic_auth and tls_config Prometheus needs to reach CLIENT's component.

    With PASSWORD_FILE, basic_auth names that file (prometheus.yml holds no secret);
    without it, the password itself, for prometheus_job_settings, which moves it to a file.
    """
    auth = {"scheme": client["scheme"]}
    if client.get("username"):
        auth["basic_auth"] = {"username": client["username"]}
        if password_file:
            auth["basic_auth"]["password_file"] = password_file
        else:
            auth["basic_auth"]["password"] = client["password"]
    if client["scheme"] == "https" and client.get("ca_file"):
        auth["tls_config"] = {"ca_file": client["ca_file"]}
    return auth


def alertmanager_clients(targets, client):
    """One client entry ({name, url, username, password, ca_file}) per Alertmanager TARGET.

    Prometheus sends to every target with the one CLIENT setting of the topology, so the
    checks reach each of them the same way.
    """
    return [{"name": str(t), "url": f"{client['scheme']}://{t}", "username": client.get("username", ""),
             "password": client.get("password", ""), "ca_file": client.get("ca_file", "")}
            for t in targets or []]


# From the component table: the components the collection's clients log in to.
CLIENT_COMPONENTS = names(client=True)
# Prometheus scrapes all node_exporters as one job, sends to all Alertmanagers and writes to
# all long-term stores with one setting, so these must agree across hosts.
UNIFORM = names(client=True, uniform=True)
# VictoriaMetrics single-node knows one user (-httpAuth.username/-httpAuth.password).
SINGLE_USER = names(single_user=True)
CLIENT_KEYS = ("scheme", "username", "password", "ca_file")


def tls_plan(hosts, settings):
    """{internal_ca, ca_src, ca_file, issued: {host: {cert, key}}} from the pki_* SETTINGS.

    ca_src is the controller file clients trust (the internal CA's certificate, or the
    operator's pki_ca_cert_src); ca_file where it is installed on every host.
    """
    internal = bool(settings.get("pki_internal_ca"))
    pki_dir = str(settings.get("pki_dir") or "")
    cert_src = str(settings.get("pki_ca_cert_src") or "")
    if settings.get("pki_ca_key_src") and not cert_src:
        raise ClientError(f"pki_ca_key_src is set ({settings['pki_ca_key_src']}) but pki_ca_cert_src is "
                          "empty: give the CA certificate that goes with the key")
    if internal and not pki_dir:
        raise ClientError("pki_internal_ca is true but pki_dir (the controller directory of the CA) is empty")
    ca_src = (cert_src if settings.get("pki_ca_key_src") else f"{pki_dir}/ca.crt") if internal else cert_src
    issued = {h: {"cert": f"{pki_dir}/hosts/{h}.crt", "key": f"{pki_dir}/hosts/{h}.key"}
              for h in hosts} if internal else {}
    return {"internal_ca": internal, "ca_src": ca_src,
            "ca_file": str(settings.get("pki_ca_file") or "") if ca_src else "", "issued": issued}


def effective_users(component, where, users, internal_user, defaults, errors):
    """The users COMPONENT's web config holds: the operator's (people, from Vault) plus, unless
    plain HTTP was chosen, the internal user with the password the run generated.

    An internal user the operator lists keeps the operator's password. Every other user is a
    person: a missing, short or placeholder-looking password goes to ERRORS, naming it.
    """
    if not isinstance(users, dict):
        return users
    for name, password in users.items():
        if name != internal_user:
            errors.extend(f"{where}: {e}" for e in password_errors(f"{component}_web_users.{name}", password))
    generated = (defaults.get("generated") or {}).get(component)
    if defaults.get("plain_http") or not internal_user or internal_user in users or not generated:
        return users
    return {**users, internal_user: generated}


def add_clients(topo, hostvars, defaults):
    """Complete TOPO's prometheus/alertmanager/node_exporter/victoriametrics entries with what clients need.

    Each entry gets username, password (the component's internal user) and ca_file;
    topo["clients"] holds the one setting per component that Prometheus uses for all
    Alertmanagers and all node_exporters; topo["tls"] the certificate plan. Problems go to
    topo["client_errors"], reported with the other settings errors before any host changes.
    """
    errors = topo["client_errors"] = []
    try:
        topo["tls"] = tls = tls_plan(list(topo["hosts"]), defaults)
    except ClientError as exc:
        errors.append(str(exc))
        topo["tls"] = tls = tls_plan([], {})
    topo["clients"] = {}
    for component in CLIENT_COMPONENTS:
        first = None
        for host, entry in (topo.get(component) or {}).items():
            hvars = hostvars[host]

            def get(name, hvars=hvars, component=component):
                return hvars.get(f"{component}_{name}", defaults.get(f"{component}_{name}"))

            users = get("web_users")
            users = effective_users(component, f"host {host}", users, get("internal_user"), defaults, errors)
            if component in SINGLE_USER and isinstance(users, dict) and len(users) > 1:
                errors.append(f"host {host}: {component}_web_users has {len(users)} users "
                              f"({', '.join(sorted(users))}); VictoriaMetrics single-node accepts one")
            try:
                client = web_client(component, f"host {host}", users, get("internal_user"),
                                    entry["scheme"] == "https", tls["ca_file"], entry["host"], entry["port"])
            except ClientError as exc:
                errors.append(str(exc))
                client = {"username": "", "password": "", "ca_file": ""}
            entry.update({k: client[k] for k in ("username", "password", "ca_file")})
            entry["users"] = users if isinstance(users, dict) else {}
            if component in UNIFORM:
                mine = {k: entry[k] for k in CLIENT_KEYS}
                if first is None:
                    first = (host, mine)
                elif mine != first[1]:
                    differs = [k for k in CLIENT_KEYS if mine[k] != first[1][k]]
                    errors.append(
                        f"host {host}: the {component} {', '.join(differs)} differ from host {first[0]}'s "
                        f"({component}_web_users, {component}_internal_user, {component}_web_tls_cert_file): "
                        f"Prometheus reaches every {component} with one setting, so set them alike")
        topo["clients"][component] = first[1] if first else {"scheme": "http", "username": "",
                                                             "password": "", "ca_file": ""}
    return topo
