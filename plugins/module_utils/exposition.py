# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Prometheus' text exposition format (0.0.4, and OpenMetrics' text as services send it), read
as Prometheus reads a scrape (PRIVATE to the collection, used by the conformance check).

parse() returns the metric families: {name: {"type", "help", "samples": [(name, labels, value)]}}.
A sample belongs to the family its TYPE line names, also under a histogram's or summary's
suffixes (_bucket, _sum, _count) and OpenMetrics' counter suffixes (_total, _created); a
sample no TYPE line claims is its own "untyped" family. Pure functions, no Ansible.
"""

from __future__ import annotations

import math
import re

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped", "unknown", "info", "stateset", "gaugehistogram")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count", "_created"), "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
            "summary": ("_sum", "_count", "_created"), "counter": ("_total", "_created"), "info": ("_info",)}
_VALUE = re.compile(r"[+-]?(Inf|inf|NaN|nan|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


class ExpositionError(ValueError):
    """The text is not the exposition format; the message names the line."""


def parse_value(text, where):
    if not _VALUE.fullmatch(text):
        raise ExpositionError(f"{where}: {text!r} is not a sample value")
    return float(text)


def _labels(text, pos, where):
    """(labels, position after '}') of the label set starting after '{' at POS."""
    labels = {}
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        match = LABEL_NAME.match(text, pos)
        if not match:
            raise ExpositionError(f"{where}: expected a label name at column {pos + 1}")
        name, pos = match.group(), match.end()
        if text[pos:pos + 2] != '="':
            raise ExpositionError(f"{where}: expected =\" after label {name}")
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                raise ExpositionError(f"{where}: label {name} has no closing quote")
            char = text[pos]
            if char == "\\":
                escaped = text[pos + 1:pos + 2]
                if escaped not in _ESCAPES:
                    raise ExpositionError(f"{where}: label {name} has an unknown escape \\{escaped}")
                value.append(_ESCAPES[escaped])
                pos += 2
            elif char == '"':
                pos += 1
                break
            else:
                value.append(char)
                pos += 1
        if name in labels:
            raise ExpositionError(f"{where}: label {name} given twice")
        labels[name] = "".join(value)
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if text[pos:pos + 1] == ",":
            pos += 1
        elif text[pos:pos + 1] != "}":
            raise ExpositionError(f"{where}: expected , or }} after label {name}")


def parse_sample(line, where):
    """(name, labels, value) of one sample line (a trailing timestamp is read and dropped)."""
    match = METRIC_NAME.match(line)
    if not match:
        raise ExpositionError(f"{where}: {line[:40]!r} does not start with a metric name")
    name, pos = match.group(), match.end()
    labels = {}
    if line[pos:pos + 1] == "{":
        labels, pos = _labels(line, pos + 1, where)
    rest = [part for part in re.split(r"[ \t]+", line[pos:]) if part]
    # OpenMetrics exemplars follow " # ".
    if "#" in rest:
        rest = rest[:rest.index("#")]
    if len(rest) not in (1, 2) or line[pos:pos + 1] not in (" ", "\t"):
        raise ExpositionError(f"{where}: expected a value (and a timestamp) after {name}")
    value = parse_value(rest[0], where)
    if len(rest) == 2:
        parse_value(rest[1], where)
    return name, labels, value


def _owner(name, families):
    """The typed family a sample NAME belongs to, or None."""
    exact = families.get(name)
    # A HELP line alone (no TYPE, no samples yet) does not claim a suffixed sample of a typed family.
    if exact is not None and (exact["type"] != "untyped" or exact["samples"]):
        return name
    for family, entry in families.items():
        if name.startswith(family) and name[len(family):] in SUFFIXES.get(entry["type"], ()):
            return family
    return name if exact is not None else None


def parse(text):
    """The families of an exposition TEXT; ExpositionError names the first bad line."""
    families = {}
    # Lines end at \n only (splitlines() would also split inside a label value at \x1e, \u2028...).
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(" \t\r")
        where = f"line {number}"
        if not line:
            continue
        if line.startswith("#"):
            parts = [part for part in re.split(r"[ \t]+", line, maxsplit=3) if part]
            if len(parts) >= 3 and parts[1] in ("TYPE", "HELP", "UNIT"):
                name = parts[2]
                if not METRIC_NAME.fullmatch(name):
                    raise ExpositionError(f"{where}: {name!r} is not a metric name")
                entry = families.setdefault(name, {"type": "untyped", "help": "", "samples": []})
                if parts[1] == "TYPE":
                    kind = parts[3].strip() if len(parts) == 4 else ""
                    if kind not in TYPES:
                        raise ExpositionError(f"{where}: {kind!r} is not a metric type")
                    if entry["samples"]:
                        raise ExpositionError(f"{where}: TYPE of {name} after its samples")
                    entry["type"] = "untyped" if kind == "unknown" else kind
                elif parts[1] == "HELP":
                    entry["help"] = parts[3] if len(parts) == 4 else ""
            continue
        name, labels, value = parse_sample(line, where)
        family = _owner(name, families) or name
        families.setdefault(family, {"type": "untyped", "help": "", "samples": []})["samples"].append(
            (name, labels, value))
    # A HELP line whose samples another family claimed is no family of its own.
    return {name: entry for name, entry in families.items() if entry["samples"] or entry["type"] != "untyped"}


def _escape(value):
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_value(value):
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def render(families):
    """Exposition text of FAMILIES (what parse() returns): the inverse of parse()."""
    lines = []
    for name, entry in families.items():
        if entry.get("help"):
            lines.append(f"# HELP {name} {entry['help']}")
        lines.append(f"# TYPE {name} {entry['type']}")
        for sample, labels, value in entry["samples"]:
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            lines.append(f"{sample}{{{label_text}}} {format_value(value)}" if labels
                         else f"{sample} {format_value(value)}")
    return "\n".join(lines) + "\n"
