#!/usr/bin/env python3
"""Benchmark (not a test): the topology filter alone, on inventories of growing size.

The controller works out the whole topology once per run; this times that function (no
Ansible, no lab) on one monitoring server plus N service hosts (node_exporter and one
endpoint each), so that its growth with N can be read apart from Ansible's own per-host
cost (benchmarks/inventory_scale.py times the whole re-run). Linear growth means the time
per host stays flat across the sizes.

Usage: .venv/bin/python benchmarks/topology_scale.py [N ...]   (default 0 2000 5000 10000)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / ".cache" / "collections"), str(REPO / "tests" / "unit" / "helpers")]

from topology_inputs import DEFAULTS  # noqa: E402  (the unit tests' role defaults)

from ansible_collections.limen.monitoring.plugins.plugin_utils import topology  # noqa: E402


def inventory(n):
    groups = {"monitoring_servers": ["mon"], "monitored_services": [f"s{i}" for i in range(n)]}
    hostvars = {"mon": {"ansible_host": "10.250.0.10"}}
    for i in range(n):
        hostvars[f"s{i}"] = {"ansible_host": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                             "monitoring_node_exporter": True,
                             "monitoring_endpoints": [{"job": f"svc{i % 50}", "port": 8080}]}
    return groups, hostvars


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [0, 2000, 5000, 10000]
    print(f"{'hosts':>6} {'median s':>9} {'ms/host':>8}")
    for n in sizes:
        groups, hostvars = inventory(n)
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            topology.topology(groups, hostvars, DEFAULTS)
            runs.append(time.perf_counter() - start)
        median = statistics.median(runs)
        print(f"{n:>6} {median:>9.3f} {1000 * median / max(n, 1):>8.3f}")


if __name__ == "__main__":
    main()
