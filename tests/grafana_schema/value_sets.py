"""What the published types leave open, checked against Grafana's own lists and rules.

Grafana's dashboard types say `string` for a reducer id, a unit or an override matcher id, and
a number for a threshold: a typo type-checks and Grafana then shows no value, the typo as a
suffix, or colours at the wrong level. Here each is checked against the runtime registries of
the pinned @grafana/data (grafana_lists.cjs), thresholds must ascend, and a panel that shows a
rate must keep its significant digits down to one event per evaluation interval.
"""

from __future__ import annotations

import functools
import json
import math
import re
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
RATE = re.compile(r"\bi?rate\s*\(")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


@functools.cache
def grafana_lists() -> dict[str, frozenset[str]]:
    """{reducers, units, unitPrefixes, matchers} from @grafana/data; an error when it cannot run."""
    r = subprocess.run(["node", str(HERE / "grafana_lists.cjs")], capture_output=True, text=True, cwd=HERE)
    if r.returncode != 0:
        raise RuntimeError(f"grafana_lists.cjs failed (run `npm ci` in {HERE}): {r.stderr.strip()[-2000:]}")
    return {name: frozenset(values) for name, values in json.loads(r.stdout).items()}


def seconds(duration: str) -> float:
    """Seconds of a Prometheus duration such as 30s or 1m30s."""
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"{duration!r} is not a duration")
    return sum(int(n) * _SECONDS[u] for n, u in parts)


def min_decimals(evaluation_interval: str) -> int:
    """Decimals that show one event per evaluation interval with two significant digits."""
    return math.ceil(-math.log10(1 / seconds(evaluation_interval) / 10))


def _panels(dashboard):
    for i, panel in enumerate(dashboard.get("panels") or []):
        if isinstance(panel, dict):
            yield f"panels[{i}]", panel
            for j, inner in enumerate(panel.get("panels") or []):
                if isinstance(inner, dict):
                    yield f"panels[{i}].panels[{j}]", inner


def _walk(node, path):
    """(path, dict) of every mapping below NODE."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _unit_ok(unit, known):
    if unit in known["units"] or unit == "":
        return True
    key, sep, _ = unit.partition(":")
    return bool(sep) and key in known["unitPrefixes"]


def _reducer_errors(panel, path, known):
    options = panel.get("options") if isinstance(panel.get("options"), dict) else {}
    lists = {"options.reduceOptions.calcs": (options.get("reduceOptions") or {}).get("calcs"),
             "options.legend.calcs": (options.get("legend") or {}).get("calcs"),
             "options.footer.reducer": (options.get("footer") or {}).get("reducer")}
    errors = []
    for where, calcs in lists.items():
        for i, calc in enumerate(calcs if isinstance(calcs, list) else []):
            if calc not in known["reducers"]:
                errors.append(f"{path}.{where}[{i}]: {calc!r} is not a reducer id Grafana knows "
                              "(Grafana shows no value); see @grafana/data fieldReducers")
    return errors


def _threshold_errors(steps, path):
    if not isinstance(steps, list) or not steps:
        return []
    errors, last = [], None
    if not isinstance(steps[0], dict) or steps[0].get("value") is not None:
        errors.append(f"{path}.steps[0].value: the base step must have value null (it applies below the others)")
    for i, step in enumerate(steps[1:], 1):
        value = step.get("value") if isinstance(step, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path}.steps[{i}].value: {value!r} must be a number (only the base step is null)")
            continue
        if last is not None and value <= last:
            errors.append(f"{path}.steps[{i}].value: {value} after {last}: thresholds must ascend "
                          "(Grafana takes the last step a value reaches, in list order)")
        last = value
    return errors


def _decimals(panel):
    """(path, decimals) of every decimals the panel's fields set."""
    field = panel.get("fieldConfig") if isinstance(panel.get("fieldConfig"), dict) else {}
    defaults = field.get("defaults") if isinstance(field.get("defaults"), dict) else {}
    if "decimals" in defaults:
        yield "fieldConfig.defaults.decimals", defaults["decimals"]
    for i, override in enumerate(field.get("overrides") or []):
        for j, prop in enumerate(override.get("properties") or [] if isinstance(override, dict) else []):
            if isinstance(prop, dict) and prop.get("id") == "decimals":
                yield f"fieldConfig.overrides[{i}].properties[{j}].value", prop.get("value")


def panel_errors(panel, path, known, evaluation_interval):
    errors = _reducer_errors(panel, path, known)
    body = {k: v for k, v in panel.items() if k not in ("targets", "panels")}
    for where, node in _walk(body, path):
        unit = node.get("unit")
        if isinstance(unit, str) and not _unit_ok(unit, known):
            errors.append(f"{where}.unit: {unit!r} is not a unit id Grafana knows (it would be shown as "
                          "a literal suffix); see @grafana/data getValueFormats, or use suffix:TEXT")
        if node.get("id") == "unit" and isinstance(node.get("value"), str) and not _unit_ok(node["value"], known):
            errors.append(f"{where}.value: {node['value']!r} is not a unit id Grafana knows")
        if isinstance(node.get("steps"), list) and "mode" in node:
            errors += _threshold_errors(node["steps"], where)
    field = panel.get("fieldConfig") if isinstance(panel.get("fieldConfig"), dict) else {}
    for i, override in enumerate(field.get("overrides") or []):
        matcher = override.get("matcher") if isinstance(override, dict) else None
        mid = matcher.get("id") if isinstance(matcher, dict) else None
        if mid not in known["matchers"]:
            errors.append(f"{path}.fieldConfig.overrides[{i}].matcher.id: {mid!r} is not a field matcher id "
                          "Grafana knows (the override applies to nothing); see @grafana/data fieldMatchers")
    exprs = [t.get("expr") for t in panel.get("targets") or [] if isinstance(t, dict)]
    if any(isinstance(e, str) and RATE.search(e) for e in exprs):
        need = min_decimals(evaluation_interval)
        for where, decimals in _decimals(panel):
            if isinstance(decimals, int) and not isinstance(decimals, bool) and decimals < need:
                rate = 1 / seconds(evaluation_interval)
                errors.append(f"{path}.{where}: decimals {decimals} on a rate: one event per {evaluation_interval} "
                              f"evaluation interval ({rate:.2g}/s) shows as {rate:.{decimals}f}; leave decimals "
                              f"unset (Grafana keeps the significant digits) or set at least {need}")
    return errors


def check_values(dashboards: dict[str, dict], evaluation_interval: str) -> list[str]:
    """Errors as 'NAME: JSON path: message' for every dashboard of DASHBOARDS."""
    known = grafana_lists()
    errors = []
    for name, dashboard in sorted(dashboards.items()):
        if not isinstance(dashboard, dict):
            continue
        for path, panel in _panels(dashboard):
            errors += [f"{name}: {e}" for e in panel_errors(panel, path, known, evaluation_interval)]
    return errors
