#!/usr/bin/env python3
"""Benchmark (not a test): what a large inventory adds to an idempotent re-run.

On a converged lab (make demo), times the idempotent re-run of site.yml on the monitoring
server (`--limit monitoring_servers`) with the lab's inventory (2 service hosts), then with
the same inventory plus N more service hosts (default 2,000, each with one endpoint), whose
targets the monitoring server registers and scrapes: the topology, the scrape jobs, the
firewall and the self-check all work on the whole inventory. The extra hosts are loopback
addresses (127.1.x.y) of the monitoring server, where nothing listens: Prometheus really
scrapes them and finds them down. Both inventories run with a production scrape interval
(15 s instead of the lab's 2 s, which would have 2 cores scrape 1,000 targets a second). At the end the lab's own inventory is converged again,
which deregisters them.

Usage: .venv/bin/python benchmarks/inventory_scale.py [N] [REPEATS]
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import venv_tools  # beside this script: puts the venv's tools on PATH

venv_tools.put_on_path()
REPO = Path(__file__).resolve().parent.parent
LAB = REPO / "inventories" / "lab"
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


EXTRA = json.dumps({"prometheus_scrape_interval": "15s", "prometheus_scrape_timeout": "10s"})


def site(inventory, env, *extra):
    """Seconds of one `site.yml --limit monitoring_servers` run and its changed count."""
    start = time.monotonic()
    r = subprocess.run(["ansible-playbook", "-i", str(inventory), "site.yml", "--limit", "monitoring_servers", *extra],
                       cwd=REPO, env=env, capture_output=True, text=True)
    took = time.monotonic() - start
    if r.returncode:
        sys.exit(f"site.yml with {inventory} failed:\n{(r.stdout + r.stderr)[-4000:]}")
    return took, sum(int(m[1]) for m in RECAP.findall(r.stdout))


def reruns(inventory, env, repeats):
    site(inventory, env, "-e", EXTRA)  # converge (registers or deregisters the extra targets)
    times = []
    for _ in range(repeats):
        took, changed = site(inventory, env, "-e", EXTRA)
        if changed:
            sys.exit(f"the re-run with {inventory} changed {changed} things")
        times.append(took)
    return times


def big_inventory(directory, count):
    doc = json.loads((LAB / "hosts.yml").read_text().split("\n", 1)[1])
    services = doc["all"]["children"]["monitored_services"]["hosts"]
    for i in range(count):
        services[f"scale{i:04d}"] = {"ansible_host": f"127.1.{i // 250}.{1 + i % 250}",
                                     "monitoring_endpoints": [{"job": "scale", "port": 9999}],
                                     "monitoring_node_exporter": False, "firewall_protect_metrics": False}
    (directory / "hosts.yml").write_text(json.dumps(doc))
    (directory / "group_vars").symlink_to(LAB / "group_vars")
    return directory


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    try:
        small = reruns(LAB, env, repeats)
    except SystemExit:
        site(LAB, env)
        raise
    with tempfile.TemporaryDirectory(prefix="inventory-scale-") as tmp:
        try:
            big = reruns(big_inventory(Path(tmp), count), env, repeats)
        finally:
            site(LAB, env)  # the lab's own inventory and intervals again: the extra targets are deregistered
    result = {"hosts": {"lab": 3, "big": 3 + count}, "small_s": [round(t, 1) for t in small],
              "big_s": [round(t, 1) for t in big],
              "median_small_s": round(statistics.median(small), 1), "median_big_s": round(statistics.median(big), 1)}
    result["growth_s"] = round(result["median_big_s"] - result["median_small_s"], 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
