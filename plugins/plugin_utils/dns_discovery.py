# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""DNS service discovery (SRV records) declared in the inventory: validation and scrape configs.

PRIVATE to the collection: used by the topology and scrape_configs filters. Pure functions
over plain values, unit-tested without Ansible.

A declared job watches SRV names (`_service._tcp.zone`). Prometheus resolves them every
refresh interval; relabelling keeps a record only when its port is not 0 and its target is a
host name inside the watched zones (whose address records the zone's owner keeps) or an IPv4
literal inside the internal networks. Everything else is dropped, and stays visible in
Prometheus' dropped targets (and in the DiscoveredTargetsRefused alert).
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.limen.monitoring.plugins.module_utils import validate
from ansible_collections.limen.monitoring.plugins.module_utils.validate import ValidationError

VARIABLE = "prometheus_dns_discovery"
ENTRY_KEYS = {"job", "names", "zones", "refresh_interval", "settings"}
DEFAULT_REFRESH = "30s"
# A DNS name: labels of letters, digits and '-', at least two labels, no trailing dot.
_DOMAIN = re.compile(r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
                     re.ASCII)
# An SRV owner name: _service._proto.domain (RFC 2782).
_SRV_NAME = re.compile(r"_[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\._(tcp|udp)\.(?P<domain>.+)", re.ASCII)
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"


def _domain(value, where):
    text = str(value).rstrip(".") if isinstance(value, str) else value
    if not validate.full_match(_DOMAIN, text) or len(text) > 253:
        raise ValidationError(f"{where}: {value!r} is not a DNS domain name (such as services.example.internal)")
    return text.lower()


def _srv_name(value, where):
    text = value.rstrip(".") if isinstance(value, str) else value
    match = _SRV_NAME.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValidationError(f"{where}: {value!r} is not an SRV name such as _myservice._tcp.services.example.internal")
    try:
        _domain(match["domain"], where)
    except ValidationError:
        raise ValidationError(f"{where}: {value!r} is not a DNS domain name after _service._tcp.") from None
    return text.lower(), match["domain"].lower()


def discovery_jobs(entries, reserved=(), inventory_jobs=()):
    """The declared discovery jobs, normalised: [{job, names, zones, refresh_interval, settings}].

    SETTINGS are the job's scrape settings, as an entry of prometheus_job_settings would hold
    them (the one or the other, not both: see settings_errors).

    Raises ValidationError naming prometheus_dns_discovery[i] and the bad value.
    """
    if entries in (None, ""):
        return []
    if not isinstance(entries, list):
        raise ValidationError(f"{VARIABLE} must be a list of mappings, got {entries!r}")
    jobs, seen = [], set()
    for index, entry in enumerate(entries):
        where = f"{VARIABLE}[{index}]"
        if not isinstance(entry, dict):
            raise ValidationError(f"{where} must be a mapping, got {entry!r}")
        unknown = set(entry) - ENTRY_KEYS
        if unknown:
            raise ValidationError(f"{where}: unknown keys {sorted(unknown)} (allowed: {', '.join(sorted(ENTRY_KEYS))})")
        if "job" not in entry or "names" not in entry:
            raise ValidationError(f"{where}: 'job' and 'names' are required")
        job = validate.job_name(entry["job"], f"{where}.job")
        if job in reserved:
            raise ValidationError(f"{where}.job: {job!r} is reserved for the collection's own scrape jobs "
                                  f"({', '.join(reserved)}); choose another name")
        if job in inventory_jobs:
            raise ValidationError(f"{where}.job: {job!r} is already an inventory job (monitoring_endpoints); "
                                  "a discovered job needs a name of its own")
        if job in seen:
            raise ValidationError(f"{where}.job: {job!r} is declared twice")
        seen.add(job)
        names = entry["names"]
        if not isinstance(names, list) or not names:
            raise ValidationError(f"{where}.names must be a non-empty list of SRV names, got {names!r}")
        parsed = [_srv_name(name, f"{where}.names[{i}]") for i, name in enumerate(names)]
        zones = entry.get("zones")
        if zones is None:
            zones = sorted({domain for _name, domain in parsed})
        elif not isinstance(zones, list) or not zones:
            raise ValidationError(f"{where}.zones must be a non-empty list of domain names, got {zones!r}")
        else:
            zones = [_domain(zone, f"{where}.zones[{i}]") for i, zone in enumerate(zones)]
        refresh = str(entry.get("refresh_interval") or DEFAULT_REFRESH)
        validate.duration(refresh, where, "refresh_interval")
        job_settings = entry.get("settings") or {}
        if not isinstance(job_settings, dict):
            raise ValidationError(f"{where}.settings must be a mapping of scrape settings, got {job_settings!r}")
        jobs.append({"job": job, "names": [name for name, _domain in parsed], "zones": zones,
                     "refresh_interval": refresh, "settings": job_settings})
    return jobs


def _range_regex(low, high):
    return "(" + "|".join(str(n) for n in range(low, high + 1)) + ")"


def ipv4_regex(networks):
    """A regex (RE2 and Python alike) matching exactly the dotted-quad IPv4 addresses in NETWORKS.

    IPv6 networks are left out: an SRV target cannot be an IPv6 literal.
    """
    parts = []
    for text in networks or []:
        net = ipaddress.ip_network(str(text), strict=False)
        if net.version != 4:
            continue
        octets = str(net.network_address).split(".")
        full, rest = divmod(net.prefixlen, 8)
        pattern = [re.escape(o) for o in octets[:full]]
        if full < 4:
            low = int(octets[full])
            pattern.append(_range_regex(low, low + 2 ** (8 - rest) - 1) if rest else _OCTET)
            pattern += [_OCTET] * (3 - full)
        parts.append(r"\.".join(pattern))
    return "(" + "|".join(parts) + ")" if parts else ""


def networks_errors(networks, where):
    """Messages for entries of NETWORKS that are not networks."""
    errors = []
    for index, text in enumerate(networks or []):
        try:
            ipaddress.ip_network(str(text), strict=False)
        except ValueError:
            errors.append(f"{where}[{index}]: {text!r} is not a network such as 10.20.0.0/16")
    return errors


def scrape_config(entry, internal_networks, services_dir=None):
    """The scrape config of one discovery job (without its auth/TLS settings).

    The job also reads DIRECTORY/<job>.json of services_dir: targets a service registers
    there with the prometheus_targets module get the same settings.
    """
    zones = "|".join(re.escape(zone) for zone in entry["zones"])
    literals = ipv4_regex(internal_networks)
    target = "__meta_dns_srv_record_target"
    relabel = [
        # A record with port 0 announces nothing to scrape.
        {"source_labels": ["__meta_dns_srv_record_port"], "regex": "0", "action": "drop"},
        # Kept: a target name inside the watched zones, an IPv4 literal inside the internal
        # networks, and targets of file_sd (no DNS name). Every other target is dropped.
        {"source_labels": [target], "regex": rf"([A-Za-z0-9-]+\.)+({zones})\.?",
         "target_label": "__tmp_limen_allowed", "replacement": "1"},
    ]
    if literals:
        relabel.append({"source_labels": [target], "regex": rf"{literals}\.?",
                        "target_label": "__tmp_limen_allowed", "replacement": "1"})
    relabel += [
        {"source_labels": ["__meta_dns_name"], "regex": "", "target_label": "__tmp_limen_allowed",
         "replacement": "1"},
        {"source_labels": ["__tmp_limen_allowed"], "regex": "1", "action": "keep"},
        # The dashboards' host label: the target's name without its zone (an IP literal as is).
        {"source_labels": [target], "regex": r"(.+?)\.?", "target_label": "host", "replacement": "$1"},
        {"source_labels": [target], "regex": rf"(.+)\.({zones})\.?", "target_label": "host",
         "replacement": "$1"},
    ]
    conf = {"job_name": entry["job"],
            "dns_sd_configs": [{"names": list(entry["names"]), "type": "SRV",
                                "refresh_interval": entry["refresh_interval"]}],
            "relabel_configs": relabel}
    if services_dir:
        conf["file_sd_configs"] = [{"files": [f"{services_dir}/{entry['job']}.json"]}]
    return conf
