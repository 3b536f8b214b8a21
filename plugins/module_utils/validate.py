# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Validators shared by the modules and the inventory filters. Pure functions, no Ansible.

Every check matches the WHOLE value (re.fullmatch, ASCII classes): `$` would accept a
trailing newline, and `\\d` or str.isdigit() would accept non-ASCII digits. Every error
names WHERE the value came from and the value itself (repr, so whitespace shows).
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse

from ansible_collections.limen.monitoring.plugins.module_utils.safe_names import full_match

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*", re.ASCII)
JOB_NAME = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9_.-]*", re.ASCII)
JOB_NAME_MAX = 250  # the job is also a file name: <job>.json within NAME_MAX (255 bytes)
# RFC 1123 host name: labels of letters, digits and '-', not starting or ending with '-'.
HOST_LABEL = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?", re.ASCII)
PORT = re.compile(r"[0-9]{1,5}", re.ASCII)
# Prometheus's (and Alertmanager's) duration: units from the largest down, each at most once
# ("1h5m"; "5m1h" is refused by Prometheus, so here too). The empty string matches: callers refuse it.
DURATION = re.compile(r"(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?",
                      re.ASCII)
# Characters a URL path may hold unescaped (RFC 3986 pchar without '%'): Prometheus puts
# __metrics_path__ into url.URL.Path, which escapes '%' again, so a pre-escaped path breaks.
URL_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*", re.ASCII)


class ValidationError(ValueError):
    """Bad input; the message names where it came from and the value."""


def job_name(value, where="job"):
    if not full_match(JOB_NAME, value) or len(value) > JOB_NAME_MAX:
        raise ValidationError(f"{where}: {value!r} is not a valid job name (letters, digits, '_', '.', '-', "
                              f"not starting with '.' or '-', at most {JOB_NAME_MAX} characters; "
                              "it is also the file name)")
    return value


def label_name(value, where="label"):
    if not full_match(LABEL_NAME, value):
        raise ValidationError(f"{where}: label name {value!r} does not match {LABEL_NAME.pattern}")
    return value


def label_value(value, where, name):
    """Scalar -> str. Prometheus label values are any UTF-8 text.

    A boolean is refused: YAML reads `yes`/`true` as one, and str() would write `True`."""
    if value is None or isinstance(value, (dict, list, tuple, set)):
        raise ValidationError(f"{where}: label {name!r} must have a scalar value, got {value!r}")
    if isinstance(value, bool):
        raise ValidationError(f"{where}: label {name!r} is the boolean {value!r}; quote the value "
                              "(for example 'true' or 'yes') so the label holds the text you mean")
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{where}: label {name!r} value {text!r} is not valid UTF-8") from None
    return text


def is_duration(value):
    """True for a non-empty Prometheus duration string."""
    return value != "" and full_match(DURATION, value)


def bracketed(address):
    """ADDRESS ready to be followed by ":port": an IPv6 address in brackets, anything else as it is."""
    text = str(address)
    return f"[{text}]" if ":" in text and not text.startswith("[") else text


def duration(value, where, name):
    if not is_duration(value):
        raise ValidationError(f"{where}: {name} {value!r} is not a Prometheus duration (such as 30s, 1m30s)")
    return value


def host(value, where="host"):
    """A host name (RFC 1123), an IPv4 address or an IPv6 address -> canonical form.

    IPv6 comes back bracketed ("[fd00::1]"), ready to be followed by ":port".
    """
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{where}: host {value!r} must be a non-empty string")
    in_brackets = value.startswith("[") and value.endswith("]")
    bare = value[1:-1] if in_brackets else value
    if "%" in bare:
        raise ValidationError(f"{where}: host {value!r}: IPv6 zone indexes are not supported")
    try:
        addr = ipaddress.ip_address(bare)
    except ValueError:
        addr = None
    if addr is not None:
        if addr.version == 4 and in_brackets:
            raise ValidationError(f"{where}: host {value!r}: only IPv6 addresses go in brackets")
        return bracketed(addr.compressed)
    if in_brackets or ":" in bare:
        raise ValidationError(f"{where}: host {value!r} is not a valid IPv6 address")
    name = bare[:-1] if bare.endswith(".") else bare
    labels = name.split(".")
    if (len(name) > 253 or not all(full_match(HOST_LABEL, label) for label in labels)):
        raise ValidationError(f"{where}: host {value!r} is neither an IP address nor a host name "
                              "(RFC 1123: labels of letters, digits and '-', dot-separated)")
    if labels[-1].isdigit():  # all-numeric last label: meant as IPv4, and not a valid one
        raise ValidationError(f"{where}: host {value!r} is not a valid IPv4 address")
    return bare.lower()


def port(value, where="port"):
    """1-65535 from an int or a string of ASCII digits."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationError(f"{where}: port {value!r} is not a number")
    if isinstance(value, str):
        if not full_match(PORT, value):
            raise ValidationError(f"{where}: port {value!r} is not a number (ASCII digits only)")
        value = int(value, 10)
    if not 1 <= value <= 65535:
        raise ValidationError(f"{where}: port {value} is outside 1-65535")
    return value


def address(value, where="target"):
    """'host:port' -> (host, port). An unbracketed IPv6 address is refused as ambiguous."""
    if not isinstance(value, str):
        raise ValidationError(f"{where}: {value!r} must be 'host:port'")
    if "://" in value:
        raise ValidationError(f"{where}: {value!r} is a URL, not 'host:port' (give the host and port only; "
                              "the path goes in metrics_path, the scheme in scheme)")
    hostpart, sep, portpart = value.rpartition(":")
    if not sep or not hostpart:
        raise ValidationError(f"{where}: {value!r} must be 'host:port'")
    if ":" in hostpart and not (hostpart.startswith("[") and hostpart.endswith("]")):
        try:
            ipaddress.ip_address(hostpart)
        except ValueError:
            raise ValidationError(f"{where}: {value!r} is not 'host:port' (the host part {hostpart!r} holds "
                                  "a ':'; an IPv6 address goes in brackets: [fd00::1]:9100)") from None
        raise ValidationError(f"{where}: {value!r} is ambiguous: an IPv6 address with a port must be "
                              f"in brackets; if {hostpart} is the address and {portpart} the port, "
                              f"write [{hostpart}]:{portpart}")
    return host(hostpart, where), port(portpart, where)


def metrics_path(value, where="metrics_path"):
    """'/path?a=1&b=2' -> ('/path', {'a': '1', 'b': '2'}).

    Prometheus puts __metrics_path__ into the URL's path, so a '?' there is escaped and
    the query lost; the query goes into __param_<name> labels instead, which Prometheus
    adds to the scrape URL. A name that cannot be a label name, or a name given twice, is
    refused: a __param_ label holds one value.
    """
    if not isinstance(value, str):
        raise ValidationError(f"{where}: metrics_path {value!r} must be a string starting with '/'")
    path, qmark, query = value.partition("?")
    if "#" in query:
        raise ValidationError(f"{where}: metrics_path {value!r} has a fragment ('#'), which is never sent")
    if not full_match(URL_PATH, path):
        raise ValidationError(f"{where}: metrics_path {value!r} must start with '/' and hold only URL path "
                              "characters (no whitespace, control characters, '%' escapes or non-ASCII)")
    params = {}
    if qmark:
        try:
            pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True,
                                           errors="strict")
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(f"{where}: metrics_path {value!r}: the query {query!r} "
                                  "is not name=value pairs joined by '&'") from None
        for name, val in pairs:
            if not full_match(LABEL_NAME, name):
                raise ValidationError(f"{where}: metrics_path {value!r}: query parameter {name!r} cannot be "
                                      f"a Prometheus __param_ label (names match {LABEL_NAME.pattern})")
            if name in params:
                raise ValidationError(f"{where}: metrics_path {value!r}: query parameter {name!r} is given "
                                      "twice; Prometheus sends one value per name from file_sd")
            params[name] = label_value(val, where, f"__param_{name}")
    return path, params
