# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""The collection's components, one row each (PRIVATE to the collection).

The topology (ports, URLs, TLS, own scrape jobs, each host's Debian packages), the web
clients (internal users, one client setting per component) and the tests read what they
know of a component from this table; a new component is its role plus one row here.
docs/architecture.md shows the table and what derives from it.
"""

from __future__ import annotations

# Keys of a row:
#   runs_on      the topology's host flag that places the component on a host: server (the
#                monitoring servers), node_exporter (servers and hosts that ask for it),
#                storage (the long-term storage group), firewall (hosts whose firewall is on)
#   packages     its Debian packages, batched into one apt transaction per host
#   install_var  the variable choosing package/release/local ("" : always the package)
#   enabled_var  the variable that turns it off on a host ("" : always there where it runs)
#   job          the scrape job the collection runs for it ("" : none)
#   tls_var      the variable whose certificate turns its HTTPS on ("" : no web endpoint)
#   client       the collection's clients log in to it (web users, an internal user, a
#                password the run generates)
#   uniform      Prometheus reaches every host's instance with one client setting, so the
#                hosts must agree on scheme, user and CA
#   single_user  its web endpoint knows one user only
#   system_user  it runs as a system user of its own (variables <name>_user, <name>_group),
#                which the run makes where it is missing
COMPONENTS = {
    "prometheus": {"runs_on": "server", "packages": ["prometheus"], "install_var": "prometheus_install_method", "enabled_var": "",
                   "job": "prometheus", "tls_var": "prometheus_web_tls_cert_file",
                   "client": True, "uniform": False, "single_user": False, "system_user": True},
    "alertmanager": {"runs_on": "server", "packages": ["prometheus-alertmanager"],
                     "install_var": "alertmanager_install_method", "enabled_var": "", "job": "alertmanager",
                     "tls_var": "alertmanager_web_tls_cert_file", "client": True, "uniform": True,
                     "single_user": False, "system_user": True},
    "node_exporter": {"runs_on": "node_exporter", "packages": ["prometheus-node-exporter"],
                      "install_var": "node_exporter_install_method", "enabled_var": "", "job": "node",
                      "tls_var": "node_exporter_web_tls_cert_file", "client": True, "uniform": True,
                      "single_user": False, "system_user": True},
    "victoriametrics": {"runs_on": "storage", "packages": ["victoria-metrics"],
                        "install_var": "victoriametrics_install_method", "enabled_var": "",
                        "job": "victoriametrics",
                        "tls_var": "victoriametrics_web_tls_cert_file", "client": True, "uniform": True,
                        "single_user": True, "system_user": True},
    # Each monitoring server's Prometheus probes through its own blackbox_exporter: no uniform client.
    "blackbox_exporter": {"runs_on": "server", "packages": ["prometheus-blackbox-exporter"], "install_var": "",
                          "enabled_var": "blackbox_exporter_enabled", "job": "blackbox",
                          "tls_var": "blackbox_exporter_web_tls_cert_file", "client": True, "uniform": False,
                          "single_user": False, "system_user": True},
    # Installed by its own role (Grafana's repository, a .deb or a tarball): no batched package.
    "grafana": {"runs_on": "server", "packages": [], "install_var": "", "enabled_var": "", "job": "",
                "tls_var": "grafana_tls_cert_file", "client": False, "uniform": False, "single_user": False,
                "system_user": False},
    # nft resolves the protocol names of the ruleset (ipv6-icmp) through netbase's
    # /etc/protocols, a recommendation of nftables that minimal hosts lack.
    "firewall": {"runs_on": "firewall", "packages": ["nftables", "netbase"], "install_var": "", "enabled_var": "",
                 "job": "",
                 "tls_var": "", "client": False, "uniform": False, "single_user": False, "system_user": False},
}


def names(**where):
    """Names of the components whose row has every KEY=VALUE of WHERE, in table order."""
    return tuple(n for n, row in COMPONENTS.items() if all(row[k] == v for k, v in where.items()))


def web_components():
    """Components with a web endpoint (a TLS variable), in table order."""
    return tuple(n for n, row in COMPONENTS.items() if row["tls_var"])


# The jobs the collection scrapes for itself (its own components).
OWN_JOBS = tuple(row["job"] for row in COMPONENTS.values() if row["job"])
# The variable that turns TLS on for each component (its server certificate).
TLS_VARS = {n: COMPONENTS[n]["tls_var"] for n in web_components()}


def host_components(entry, enabled):
    """The components a topology host ENTRY runs, in table order.

    ENABLED(variable) tells whether the host turned a component off.
    """
    return [name for name, row in COMPONENTS.items()
            if entry.get(row["runs_on"]) and not (row["enabled_var"] and not enabled(row["enabled_var"]))]


def host_packages(entry, install_method, enabled):
    """The Debian packages of a topology host ENTRY, in table order.

    INSTALL_METHOD(variable) gives the host's value of an install-method variable; a
    component installed from a release or a local tarball brings no package. ENABLED(variable)
    tells whether the host turned a component off; a component turned off brings none either.
    """
    packages = []
    for row in (COMPONENTS[name] for name in host_components(entry, enabled)):
        if not row["install_var"] or install_method(row["install_var"]) == "package":
            packages += [p for p in row["packages"] if p not in packages]
    return packages
