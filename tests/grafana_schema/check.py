"""Type-check Grafana dashboards with Grafana's own published types (schema.ts), then check
the values those types leave open against Grafana's own lists (value_sets.py).

Each dashboard becomes a TypeScript file: one typed constant per panel (PanelType<its type>)
and the dashboard itself (Dashboard), one JSON key per line, so every compiler error maps back
to the JSON path it is about. `tsc` from the pinned packages (package-lock.json) compiles them
all at once; anything it reports is an error, and a compiler that cannot run is one too.

    python3 tests/grafana_schema/check.py dashboard.json ...
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from value_sets import check_values

HERE = Path(__file__).resolve().parent
# The evaluation interval the rate panels are checked for: the prometheus role's default.
EVALUATION_INTERVAL = yaml.safe_load((HERE.parents[1] / "roles/prometheus/defaults/main.yml").read_text())[
    "prometheus_evaluation_interval"]
TSC = HERE / "node_modules" / ".bin" / "tsc"
ERROR = re.compile(r"^(?P<file>[^()\s]+\.ts)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): (?P<msg>.*)$")
IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


class Source:
    """TypeScript text whose every line remembers the JSON path it holds."""

    def __init__(self):
        self.lines: list[tuple[str, str]] = []

    def add(self, text, path):
        self.lines.append((text, path))

    def value(self, v, path, indent, prefix="", suffix=","):
        pad = "  " * indent
        if isinstance(v, dict) and v:
            self.add(f"{pad}{prefix}{{", path)
            for k, x in v.items():
                key = k if IDENT.match(k) else json.dumps(k)
                self.value(x, f"{path}.{k}" if IDENT.match(k) else f"{path}[{json.dumps(k)}]", indent + 1, f"{key}: ")
            self.add(f"{pad}}}{suffix}", path)
        elif isinstance(v, list) and v:
            self.add(f"{pad}{prefix}[", path)
            for i, x in enumerate(v):
                self.value(x, f"{path}[{i}]", indent + 1)
            self.add(f"{pad}]{suffix}", path)
        else:
            self.add(f"{pad}{prefix}{json.dumps(v)}{suffix}", path)

    def text(self):
        return "\n".join(t for t, _ in self.lines) + "\n"

    def path_at(self, line):
        return self.lines[line - 1][1] if 0 < line <= len(self.lines) else "?"


def source_for(dashboard: dict) -> Source:
    src = Source()
    src.add('import type { Dashboard, PanelType } from "./schema";', "")
    panels = dashboard.get("panels") if isinstance(dashboard.get("panels"), list) else []
    for i, panel in enumerate(panels):
        kind = panel.get("type") if isinstance(panel, dict) else None
        src.add(f"export const panel_{i}: PanelType<{json.dumps(kind if isinstance(kind, str) else '')}> =",
                f"panels[{i}].type")
        src.value(panel, f"panels[{i}]", 1, suffix=";")
    src.add("export const dashboard: Dashboard = {", "")
    for key, value in dashboard.items():
        if key == "panels" and isinstance(value, list):
            src.add(f"  panels: [{', '.join(f'panel_{i}' for i in range(len(panels)))}],", "panels")
        else:
            src.value(value, key if IDENT.match(key) else f"[{json.dumps(key)}]", 1,
                      f"{key if IDENT.match(key) else json.dumps(key)}: ")
    src.add("};", "")
    return src


def check(dashboards: dict[str, dict], evaluation_interval: str = EVALUATION_INTERVAL) -> list[str]:
    """Errors as 'NAME: JSON path: message'; empty when every dashboard type-checks and its
    values are in Grafana's own lists (value_sets.py)."""
    if not TSC.exists():
        raise RuntimeError(f"{TSC} is missing: run `npm ci` in {HERE} (make grafana-schema does)")
    with tempfile.TemporaryDirectory(dir=HERE, prefix=".check-") as tmp:
        work = Path(tmp)
        (work / "schema.ts").write_text((HERE / "schema.ts").read_text())
        sources, names = {}, {}
        for n, (name, dashboard) in enumerate(sorted(dashboards.items())):
            file = f"d{n}.ts"
            sources[file], names[file] = source_for(dashboard), name
            (work / file).write_text(sources[file].text())
        config = json.loads((HERE / "tsconfig.json").read_text())
        config["files"] = ["schema.ts", *sources]
        (work / "tsconfig.json").write_text(json.dumps(config))
        r = subprocess.run([str(TSC), "-p", str(work / "tsconfig.json"), "--pretty", "false"],
                           capture_output=True, text=True, cwd=work)
    errors, last = [], None
    for line in (r.stdout + r.stderr).splitlines():
        m = ERROR.match(line)
        if m and Path(m["file"]).name in sources:
            file = Path(m["file"]).name
            errors.append(f"{names[file]}: {sources[file].path_at(int(m['line'])) or '(dashboard)'}: {m['msg']}")
            last = len(errors) - 1
        elif line.startswith(" ") and last is not None:
            errors[last] += " " + line.strip()
        elif line.strip():
            errors.append(f"tsc: {line}")  # schema.ts itself or the compiler: the checker is broken
            last = len(errors) - 1
    if r.returncode != 0 and not errors:
        errors.append(f"tsc exited {r.returncode} without naming an error: the checker is broken")
    return errors + check_values(dashboards, evaluation_interval)


def main(argv):
    dashboards = {p: json.loads(Path(p).read_text()) for p in argv}
    errors = check(dashboards)
    print("\n".join(errors) or f"{len(dashboards)} dashboard(s) match Grafana's schema and lists")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
