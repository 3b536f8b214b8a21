# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""The monitoring topology, worked out once per run from the inventory.

PRIVATE to the collection: used by the `topology` filter. Every role reads the result
(addresses, ports, URLs, scrape jobs, flags) instead of re-deriving it from hostvars, so
one fact has one source. Pure functions over plain mappings, unit-tested without Ansible.

The inventory contract (every host variable the collection reads) is INVENTORY_VARS.
"""

from __future__ import annotations

import difflib
import ipaddress
import re

from ansible_collections.limen.monitoring.plugins.module_utils import validate
from ansible_collections.limen.monitoring.plugins.plugin_utils.components import (
    COMPONENTS,
    OWN_JOBS,
    TLS_VARS,
    host_components,
    host_packages,
    names,
)
from ansible_collections.limen.monitoring.plugins.plugin_utils.dns_discovery import discovery_jobs, networks_errors
from ansible_collections.limen.monitoring.plugins.plugin_utils.inventory_jobs import (
    InventoryError,
    job_settings_problems,
    scrape_jobs,
)
from ansible_collections.limen.monitoring.plugins.plugin_utils.web_clients import add_clients

# Host variables the collection reads from the inventory, with what they mean.
INVENTORY_VARS = {
    "monitoring_address": "internal address the host's services listen on and are reached at "
                          "(default: ansible_host when it is an IP address, else the host's "
                          "default IPv4 address; a guessed public address is refused)",
    "monitoring_endpoints": "list of {job, port, path, scheme, labels, address, firewall} to scrape",
    "monitoring_node_exporter": "install node_exporter on this service host and scrape it",
    "monitoring_rule_files": "alert rule files (on the controller) this service brings",
    "monitoring_conformance": "enforce, warn or off: the metric standard checked on this service's endpoints",
}
# Prefixes of the collection's public variables: an unknown name with one of them is most
# likely a typo of a known one (prometheus_job_setings), silently ignored otherwise.
VARIABLE_PREFIXES = ("prometheus_", "alertmanager_", "grafana_", "node_exporter_", "firewall_", "pki_",
                     "victoriametrics_", "monitoring_", "topology_", "blackbox_exporter_")
# Job names no inventory service may take: the own jobs (components.OWN_JOBS) and the job
# reading self-registered files.
RESERVED_JOBS = OWN_JOBS + ("file_sd_services",)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_WILDCARD = {"", "0.0.0.0", "::", "[::]"}
_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")


def parse_flag(value, where):
    """An inventory flag as a bool: booleans, or the strings YAML 1.1 reads as booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise InventoryError(f"{where}: {value!r} is not a boolean (use true or false)")


def parse_port(value, where):
    """A TCP port from an int or a string of ASCII digits (validate.port, as an inventory error)."""
    try:
        return validate.port(value, where)
    except validate.ValidationError as exc:
        raise InventoryError(str(exc)) from None


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def host_address(host, hvars):
    """The one address of HOST: where its services listen and where others reach them."""
    where = f"host {host}: monitoring_address"
    explicit = hvars.get("monitoring_address")
    if explicit:
        text = str(explicit)
        if not (_is_ip(text) or _HOST_NAME.fullmatch(text)):
            raise InventoryError(f"{where}: {text!r} is neither an IP address nor a host name")
        if not _is_ip(text):
            try:
                validate.host(text, where)  # all-digit labels: meant as IPv4 (999.1.1.1), and not one
            except validate.ValidationError as exc:
                raise InventoryError(str(exc)) from None
        return text
    ansible_host = str(hvars.get("ansible_host") or "")
    if ansible_host and _is_ip(ansible_host):
        guessed, source = ansible_host, "ansible_host"
    else:
        facts = hvars.get("ansible_facts") or {}
        fact_address = (facts.get("default_ipv4") or {}).get("address")
        guessed, source = fact_address or ansible_host or host, "the default-route IPv4 address"
    # A guessed public address (a management address, say) would put every service on the
    # internet's side: only an explicit monitoring_address may choose one.
    if _is_ip(guessed) and ipaddress.ip_address(guessed).is_global:
        raise InventoryError(f"{where} is not set and the address guessed from {source}, {guessed}, is public: "
                             f"the services would listen there; set monitoring_address to the internal "
                             f"address (or to {guessed} to really serve on it)")
    return guessed


def _join(address, port):
    return f"{validate.bracketed(address)}:{port}"


def _flag(host, hvars, var, defaults):
    """HOST's value of the boolean variable VAR (its host variable, else the default; on when neither)."""
    return parse_flag(hvars.get(var, defaults.get(var, True)), f"host {host}: {var}")


def _switched_on(host, hvars, component, defaults):
    """False where HOST turned COMPONENT off (the enabled variable of its row)."""
    var = COMPONENTS[component]["enabled_var"]
    return not var or _flag(host, hvars, var, defaults)


def _endpoint(host, hvars, component, address, defaults):
    """{target, url, scheme, port} of COMPONENT on HOST (host variables override defaults)."""
    port = parse_port(hvars.get(f"{component}_port", defaults[f"{component}_port"]),
                      f"host {host}: {component}_port")
    listen = str(hvars.get(f"{component}_listen_address", "") or "")
    # A wildcard or unset listen address is reached at the host's own address.
    reach = address if listen in _WILDCARD else listen
    tls_var = TLS_VARS[component]
    tls = hvars.get(tls_var, defaults.get(tls_var, ""))
    scheme = "https" if tls else "http"
    target = _join(reach, port)
    return {"host": reach, "port": port, "target": target, "url": f"{scheme}://{target}",
            "scheme": scheme}


def endpoint_ports(host, endpoints, protecting):
    """(metrics-only ports, shared ports) of a service host's monitoring_endpoints.

    nftables filters by port, not by URL path: a port that also serves an application
    (LIMEN's API beside its /api/metrics) cannot answer the monitoring servers only without
    closing the application too. Each endpoint says which it is with `firewall`: `metrics`
    (the port serves metrics only; it answers the monitoring servers only) or `shared`
    (left open: protect the metrics path in the application). Unset, a `/metrics` path
    (the default) means `metrics`; any other path is refused while PROTECTING, so no port
    is closed on a guess.
    """
    metrics, shared = set(), set()
    for i, ep in enumerate(endpoints):
        if not isinstance(ep, dict) or "port" not in ep:
            continue
        where = f"host {host}: monitoring_endpoints[{i}]"
        port = parse_port(ep.get("port"), f"{where}.port")
        path = str(ep.get("path") or "/metrics")
        choice = ep.get("firewall")
        if choice is None:
            if protecting and path != "/metrics":
                raise InventoryError(
                    f"{where}: port {port} serves {path}, so it may serve more than metrics; "
                    f"firewall_protect_metrics filters whole ports (nftables cannot see URL paths). "
                    f"Set firewall: metrics (port {port} answers the monitoring servers only, "
                    f"everything else on it too) or firewall: shared (port {port} stays open)")
            choice = "metrics"
        if choice not in ("metrics", "shared"):
            raise InventoryError(f"{where}.firewall: {choice!r} is neither 'metrics' nor 'shared'")
        (metrics if choice == "metrics" else shared).add(port)
    return metrics, shared


def topology(groups, hostvars, defaults, known_variables=None):
    """Everything the roles need to know about each other, from the inventory.

    DEFAULTS holds the roles' defaults (`<component>_port`, `servers_group`,
    `services_group`, `scrape_interval`, ...), as visible in the play; host variables
    override them per host. With KNOWN_VARIABLES (the roles' declared names), host variables
    that look like misspellings of them are listed in "misspelt_variables".
    """
    misspelt = {}
    servers = list(groups.get(defaults["servers_group"]) or [])
    services = list(groups.get(defaults["services_group"]) or [])
    stores = list(groups.get(defaults.get("storage_group", "victoriametrics")) or [])
    hosts, node_hosts, rule_files = {}, [], []
    result = {"servers": servers, "services": services, "storage_hosts": stores, "hosts": hosts,
              **{name: {} for name in names(client=True)}}
    # Membership by set: an inventory of thousands of services made list lookups quadratic.
    server_set, service_set, store_set = set(servers), set(services), set(stores)
    everyone = servers + [h for h in services if h not in server_set]
    everyone_set = set(everyone)
    for host in everyone + [h for h in stores if h not in everyone_set]:
        hvars = hostvars[host]  # once per host: each lookup of a host's variables costs
        if known_variables is not None:
            _misspelt(host, hvars, known_variables, misspelt)
        is_server = host in server_set
        node = is_server or parse_flag(hvars.get("monitoring_node_exporter", False),
                                       f"host {host}: monitoring_node_exporter")
        address = host_address(host, hvars)
        entry = {"address": address, "server": is_server, "node_exporter": node,
                 "server_ports": [], "metrics_ports": []}
        if node:
            node_hosts.append(host)
            ne = _endpoint(host, hvars, "node_exporter", address, defaults)
            result["node_exporter"][host] = ne
        if is_server:
            # Grafana's endpoint gives the firewall its port; no role reads the rest of it.
            served = {c: _endpoint(host, hvars, c, address, defaults) for c in names(runs_on="server")
                      if _switched_on(host, hvars, c, defaults)}
            for component in names(runs_on="server", client=True):
                if component in served:
                    result[component][host] = served[component]
            grafana = parse_flag(hvars.get("grafana_enabled", defaults["grafana_enabled"]),
                                 f"host {host}: grafana_enabled")
            entry["grafana"] = grafana
            result["alertmanager"][host]["cluster_port"] = parse_port(
                hvars.get("alertmanager_cluster_port", defaults["alertmanager_cluster_port"]),
                f"host {host}: alertmanager_cluster_port")
            # The cluster port is not among them: it answers the other peers only.
            entry["server_ports"] = sorted(
                {result["prometheus"][host]["port"], result["alertmanager"][host]["port"]}
                | ({served["grafana"]["port"]} if grafana else set())
                | ({result["node_exporter"][host]["port"]} if node else set()))
            result["prometheus"][host]["scrape_interval"] = str(
                hvars.get("prometheus_scrape_interval", defaults["scrape_interval"]))
        entry["storage"] = host in store_set
        entry["storage_ports"] = []
        if entry["storage"]:
            result["victoriametrics"][host] = _endpoint(host, hvars, "victoriametrics", address, defaults)
            entry["storage_ports"] = [result["victoriametrics"][host]["port"]]
        # Servers and storage hosts have a firewall unless told not to; service hosts opt in.
        guarded = is_server or entry["storage"]
        entry["firewall"] = parse_flag(
            hvars.get("firewall_enabled", defaults["firewall_enabled"]) if guarded
            else hvars.get("firewall_protect_metrics", defaults["firewall_protect_metrics"]),
            f"host {host}: {'firewall_enabled' if guarded else 'firewall_protect_metrics'}")
        entry["shared_ports"] = []
        if host in service_set and not is_server:
            metrics, shared = endpoint_ports(host, hvars.get("monitoring_endpoints") or [],
                                             entry["firewall"] and not guarded)
            if node:
                metrics.add(result["node_exporter"][host]["port"])
            entry["metrics_ports"] = sorted(metrics - shared)
            entry["shared_ports"] = sorted(shared)
        files = hvars.get("monitoring_rule_files") or []
        if not isinstance(files, list):
            raise InventoryError(f"host {host}: monitoring_rule_files must be a list of paths")
        rule_files.extend(str(f) for f in files if str(f) not in rule_files)

        def enabled(var, host=host, hvars=hvars):
            return _flag(host, hvars, var, defaults)

        entry["components"] = host_components(entry, enabled)
        entry["packages"] = host_packages(
            entry, lambda var, hvars=hvars: str(hvars.get(var, defaults.get(var, "package"))), enabled)
        hosts[host] = entry
    check_one_host_per_machine(hosts, hostvars)
    result["jobs"] = scrape_jobs(
        services, hostvars, {h: e["address"] for h, e in hosts.items()},
        {h: result["node_exporter"][h] for h in node_hosts}, reserved=RESERVED_JOBS)
    result["job_names"] = [j["name"] for j in result["jobs"]]
    _discovery(result, defaults)
    result["own_jobs"] = list(OWN_JOBS)
    result["components"] = {name: dict(row) for name, row in COMPONENTS.items()}
    result["rule_files"] = rule_files
    result["misspelt_variables"] = [
        f"{name} (host {', '.join(sorted(hosts_))}): not a variable of the collection, so it is ignored; "
        f"did you mean {guess}?" for (name, guess), hosts_ in sorted(misspelt.items())]
    result["server_addresses"] = [hosts[h]["address"] for h in servers]
    # What the collection's own clients need: internal users, passwords, CA, certificates
    # (problems are reported by settings_errors, with the others).
    result["plain_http"] = bool(defaults.get("plain_http"))
    # Secrets the run made on the controller (pki_secrets_dir), for the roles that use them.
    result["generated"] = dict(defaults.get("generated") or {})
    add_clients(result, hostvars, defaults)
    _cluster(result, hostvars, defaults)
    _storage(result)
    return result


def _discovery(result, defaults):
    """Jobs whose targets Prometheus finds in DNS (prometheus_dns_discovery), and the internal
    networks (firewall_internal_networks, the one list of them) their targets must be in."""
    networks = defaults.get("internal_networks") or []
    if not isinstance(networks, list):
        raise InventoryError(f"firewall_internal_networks: {networks!r} must be a list of networks")
    errors = networks_errors(networks, "firewall_internal_networks")
    if errors:
        raise InventoryError("; ".join(errors))
    try:
        result["discovery"] = discovery_jobs(defaults.get("dns_discovery"), RESERVED_JOBS, result["job_names"])
    except ValueError as exc:
        raise InventoryError(str(exc)) from None
    result["discovered_jobs"] = [entry["job"] for entry in result["discovery"]]
    result["internal_networks"] = [str(n) for n in networks]


def check_one_host_per_machine(hosts, hostvars):
    """Refuse two inventory hosts that are one machine: the same monitoring address, or the
    same SSH destination (ansible_host and ansible_port).

    Both would be configured at once: two firewall runs on one nftables table (one fails
    half-way, after other hosts changed), two package installs, two certificates for one
    node_exporter, and a firewall that guards only one host's metrics ports.
    """
    seen = {}
    for host, entry in hosts.items():
        hvars = hostvars[host]
        ssh = (str(hvars.get("ansible_host") or host), str(hvars.get("ansible_port") or 22))
        for key, what in ((("address", entry["address"]), f"the address {entry['address']}"),
                          (("ssh",) + ssh, f"the SSH destination {_join(ssh[0], ssh[1])}")):
            other = seen.setdefault(key, host)
            if other != host:
                raise InventoryError(
                    f"hosts {other} and {host}: both are {what} (ansible_host / monitoring_address), so one "
                    f"machine would be configured twice at once; keep one of them in the groups the "
                    f"collection reads and list every endpoint of the machine in its monitoring_endpoints")


def _peer_host(peer, where):
    """The address part of an Alertmanager peer "host:port" ("[v6]:port")."""
    text = str(peer)
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise InventoryError(f"{where}: {text!r} is not host:port")
    parse_port(port, where)
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _cluster(result, hostvars, defaults):
    """The Alertmanager cluster: with two or more servers, every server's peers are the
    others (gossip on the internal address); an explicit alertmanager_cluster_peers wins.
    One server without explicit peers has no cluster port, as without HA."""
    servers = result["servers"]
    for host in servers:
        am = result["alertmanager"][host]
        am["cluster_target"] = _join(am["host"], am["cluster_port"])
    for host in servers:
        am = result["alertmanager"][host]
        where = f"host {host}: alertmanager_cluster_peers"
        explicit = hostvars[host].get("alertmanager_cluster_peers", defaults["alertmanager_cluster_peers"])
        if explicit and not isinstance(explicit, list):
            raise InventoryError(f"{where}: {explicit!r} must be a list of host:port")
        if explicit:
            peers = [str(p) for p in explicit]
        else:
            peers = [result["alertmanager"][h]["cluster_target"] for h in servers if h != host]
        am["peers"] = peers
        am["peer_addresses"] = sorted({_peer_host(p, where) for p in peers})
        if not peers:
            am["cluster_port"] = am["cluster_target"] = None


def _storage(result):
    """Long-term storage: every Prometheus writes to every store; Grafana reads the first.
    All stores are reached with one client setting (user, password, CA: clients.victoriametrics)."""
    stores = [result["victoriametrics"][h] for h in result["storage_hosts"]]
    result["storage"] = {
        "urls": [s["url"] for s in stores],
        "remote_write": [s["url"] + "/api/v1/write" for s in stores],
        "query_url": stores[0]["url"] if stores else "",
        "client": result["clients"]["victoriametrics"],
        # Prometheus writes, Grafana reads: both run on the monitoring servers.
        "sources": result["server_addresses"],
    }


_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
# Alertmanager's own default when a route sets no group_interval.
_DEFAULT_GROUP_INTERVAL = "5m"


def duration_seconds(text):
    """Seconds of a Prometheus duration ("1h30m", "500ms"); None when malformed."""
    text = str(text)
    if not validate.is_duration(text):
        return None
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", text))


def cluster_timing_errors(route, peer_timeout, peers):
    """Routes whose group_interval is too short for an Alertmanager cluster.

    In a cluster the Alertmanager in position k waits k x peer_timeout before it sends, to
    see what the others sent; a group is flushed every group_interval. When the wait of
    the last of PEERS others is not shorter than the interval, its flushes drift from the
    others' and it compares an old view of the alerts with what they sent since: the
    receiver gets a notification twice (AM issue 2447). Every route (group_interval is
    inherited) must have group_interval > PEERS x peer_timeout.
    """
    if not peers:
        return []
    wait = duration_seconds(peer_timeout)
    if wait is None:
        return [f"alertmanager_cluster_peer_timeout: {peer_timeout!r} is not a duration such as 15s"]
    errors = []

    def walk(node, where, inherited):
        if not isinstance(node, dict):
            return
        interval = node.get("group_interval", inherited)
        seconds = duration_seconds(interval)
        if seconds is not None and seconds <= wait * peers:
            errors.append(
                f"{where}.group_interval is {interval}, but in a cluster of {peers + 1} Alertmanagers the "
                f"last one waits {peers} x alertmanager_cluster_peer_timeout ({peer_timeout}) before it "
                f"sends: make group_interval longer than that, or the timeout shorter, or receivers get "
                f"notifications twice")
        for i, child in enumerate(node.get("routes") or []):
            walk(child, f"{where}.routes[{i}]", interval)

    walk(route or {}, "alertmanager_route", _DEFAULT_GROUP_INTERVAL)
    return errors


def settings_errors(topo, settings):
    """Every problem in the roles' dict settings, as messages naming variable and value.

    Checked once at the start of a run, so a typo fails before any host changes instead of
    being silently ignored (a token never applied, a threshold never used).
    """
    errors = list(topo.get("client_errors") or [])
    peers = max((len(am.get("peers") or []) for am in topo["alertmanager"].values()), default=0)
    errors += cluster_timing_errors(settings.get("alertmanager_route"),
                                    settings.get("alertmanager_cluster_peer_timeout", "15s"), peers)
    jobs = set(topo["job_names"]) | set(topo.get("discovered_jobs") or [])
    shipped_thresholds = settings["thresholds_shipped"]
    shipped_for = settings["for_shipped"]
    for name, value in (settings["thresholds"] or {}).items():
        if name not in shipped_thresholds:
            errors.append(f"prometheus_alert_thresholds.{name}: unknown key "
                          f"(known: {', '.join(sorted(shipped_thresholds))})")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"prometheus_alert_thresholds.{name}: {value!r} is not a number")
    for name, value in (settings["for"] or {}).items():
        if name not in shipped_for:
            errors.append(f"prometheus_alert_for.{name}: unknown key "
                          f"(known: {', '.join(sorted(shipped_for))})")
        elif not validate.is_duration(value):
            errors.append(f"prometheus_alert_for.{name}: {value!r} is not a duration such as 5m")
    for job, overrides in (settings["overrides"] or {}).items():
        if job not in jobs:
            errors.append(f"prometheus_alert_overrides.{job}: no inventory host defines this job "
                          f"and prometheus_dns_discovery does not declare it (known: {', '.join(sorted(jobs)) or 'none'})")
        for name in (overrides or {}) if isinstance(overrides, dict) else ["(not a mapping)"]:
            if name not in shipped_thresholds:
                errors.append(f"prometheus_alert_overrides.{job}.{name}: unknown threshold")
    declared = {entry["job"]: index for index, entry in enumerate(topo.get("discovery") or [])}
    for job, index in declared.items():
        errors += job_settings_problems(job, topo["discovery"][index].get("settings"),
                                        f"prometheus_dns_discovery[{index}].settings")
    for job, extra in (settings["job_settings"] or {}).items():
        if job in declared and topo["discovery"][declared[job]].get("settings"):
            errors.append(f"prometheus_job_settings.{job}: prometheus_dns_discovery[{declared[job]}].settings "
                          "also sets this job's settings; keep one of them")
        if job not in jobs:
            errors.append(f"prometheus_job_settings.{job}: no inventory host defines this job "
                          f"and prometheus_dns_discovery does not declare it (known: {', '.join(sorted(jobs)) or 'none'})")
        errors += job_settings_problems(job, extra)
    for var in ("prometheus_web_users", "alertmanager_web_users", "node_exporter_web_users"):
        for user, password in (settings.get(var) or {}).items():
            if len(str(password).encode()) > 72:
                errors.append(f"{var}.{user}: the password is longer than 72 bytes, which bcrypt "
                              "cannot hash (it would silently ignore the rest); use a shorter one")
    return errors


def _misspelt(host, hvars, known, found):
    """Add to FOUND {(name, likely name): [hosts]} the variables of HOST with a collection prefix
    that are not KNOWN (nor inventory variables) but close to a known name."""
    for name in hvars:
        if not isinstance(name, str) or not name.startswith(VARIABLE_PREFIXES) or name in known \
                or name in INVENTORY_VARS:
            continue
        close = difflib.get_close_matches(name, set(known) | set(INVENTORY_VARS), n=1, cutoff=0.85)
        if close:
            found.setdefault((name, close[0]), []).append(host)
