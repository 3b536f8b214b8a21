# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""The company metric standard, written once (PRIVATE to the collection).

The conformance check (conformance.py), the continuous rules (the metric_standard filter
renders them into the prometheus role's rule file) and docs/metric-standard.md all read
this table; tests/unit/plugins/module_utils/test_metric_standard.py keeps the document in step with it.

Each entry: name, type (counter, gauge, histogram), labels every sample must carry, unit
(a base unit, or "" for a ratio or a state), help, and `required`: a service that lacks a
required metric is not conformant; an optional one (LIMEN's VM metrics, the database state
of a service without a database) is checked only when it is exported. `values` lists the
only values a state gauge may take.
"""

from __future__ import annotations

STANDARD = (
    {"name": "http_requests_total", "type": "counter", "labels": ("method", "path", "status"), "unit": "",
     "required": True, "help": "HTTP requests answered, by method, route and status code"},
    {"name": "http_request_duration_seconds", "type": "histogram", "labels": ("method", "path"),
     "unit": "seconds", "required": True, "help": "HTTP request latency"},
    {"name": "service_up", "type": "gauge", "labels": ("name",), "unit": "", "required": True,
     "values": (0, 1), "help": "1 when the service considers itself healthy, else 0"},
    {"name": "service_errors_total", "type": "counter", "labels": ("type",), "unit": "", "required": True,
     "help": "Errors by type (timeout, database, validation, ...)"},
    {"name": "service_cpu_usage_percent", "type": "gauge", "labels": (), "unit": "percent", "required": True,
     "help": "Process CPU usage, 0-100 per core"},
    {"name": "service_memory_usage_bytes", "type": "gauge", "labels": (), "unit": "bytes", "required": True,
     "help": "Process resident memory"},
    {"name": "service_database_up", "type": "gauge", "labels": ("database",), "unit": "", "required": False,
     "values": (0, 1), "help": "1 while the service holds a working connection to the database, else 0 "
                               "(services without a database export none)"},
    {"name": "vm_total", "type": "gauge", "labels": (), "unit": "", "required": False,
     "help": "Virtual machines defined (LIMEN)"},
    {"name": "vm_running", "type": "gauge", "labels": (), "unit": "", "required": False,
     "help": "Virtual machines running (LIMEN)"},
    {"name": "vm_cpu_usage_percent", "type": "gauge", "labels": ("vm",), "unit": "percent", "required": False,
     "help": "CPU usage per virtual machine (LIMEN)"},
    {"name": "vm_memory_usage_bytes", "type": "gauge", "labels": ("vm",), "unit": "bytes", "required": False,
     "help": "Memory usage per virtual machine (LIMEN)"},
    {"name": "libvirt_connection_status", "type": "gauge", "labels": (), "unit": "", "required": False,
     "values": (0, 1), "help": "1 while LIMEN is connected to libvirt, else 0 (LIMEN)"},
)

# Units a metric name must not carry: the standard uses base units (seconds, bytes).
NON_BASE_UNITS = {
    "milliseconds": "seconds", "microseconds": "seconds", "nanoseconds": "seconds", "ms": "seconds",
    "minutes": "seconds", "hours": "seconds", "days": "seconds",
    "kilobytes": "bytes", "megabytes": "bytes", "gigabytes": "bytes", "kb": "bytes", "mb": "bytes",
    "gb": "bytes", "kib": "bytes", "mib": "bytes", "gib": "bytes", "bits": "bytes",
}


def by_name():
    """{name: entry} of the standard."""
    return {entry["name"]: entry for entry in STANDARD}


def presence_series(entry):
    """The series name whose presence shows ENTRY is exported (a histogram's _count)."""
    return entry["name"] + "_count" if entry["type"] == "histogram" else entry["name"]


def rule_entries():
    """The standard as plain data for templates: each entry with `series`, the name a
    recording rule counts, and its labels as a list."""
    return [{**entry, "labels": list(entry["labels"]), "values": list(entry.get("values", ())),
             "series": presence_series(entry)} for entry in STANDARD]
