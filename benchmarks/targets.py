#!/usr/bin/env python3
"""Benchmark (not a test): register 1, 100 and 1,000 targets in one job on the lab's
monitoring server, each with ONE module call, and time

  - the registration run (ansible-playbook, one task),
  - the delay from the end of that run until the new targets are up == 1 in Prometheus,
  - a full converge and an idempotent re-run of site.yml.

Needs a converged lab (make demo). The benchmark targets are distinct loopback addresses
(127.0.x.y:19999) on the monitoring server, all answered by one small HTTP listener that
the benchmark starts there and stops at the end, so Prometheus really scrapes every one.
Usage: .venv/bin/python benchmarks/targets.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import venv_tools  # beside this script: puts the venv's tools on PATH

venv_tools.put_on_path()
REPO = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")


def lab():
    doc = json.loads((REPO / "inventories/lab/hosts.yml").read_text().split("\n", 1)[1])
    hosts = {n: hv for g in doc["all"]["children"].values() for n, hv in g["hosts"].items()}
    return hosts["monitor"]["ansible_host"], hosts["svc2"]["ansible_host"]


def query(monitor, promql):
    url = f"http://{monitor}:9090/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)["data"]["result"]


def timed(cmd):
    start = time.monotonic()
    r = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout[-3000:]}{r.stderr[-2000:]}")
    return time.monotonic() - start, r.stdout


def register(count, state="present"):
    targets = [f"127.0.{1 + i // 250}.{1 + i % 250}:19999" for i in range(count)]
    play = [{"name": "bench", "hosts": "monitoring_servers", "gather_facts": False, "tasks": [{
        "name": "Register the benchmark job in one call",
        "limen.monitoring.prometheus_targets": {
            "directory": "/etc/prometheus/file_sd/bench", "job": "bench", "exclusive": True,
            "targets": targets, "state": state}}]}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=REPO, delete=False) as f:
        json.dump(play, f)
    try:
        return timed(["ansible-playbook", f.name])
    finally:
        os.unlink(f.name)


def on_monitor(command):
    subprocess.run(["ansible", "monitoring_servers", "-m", "ansible.builtin.shell", "-a", command],
                   cwd=REPO, env=ENV, check=True, capture_output=True)


def main():
    monitor, _ = lab()
    rows = []
    on_monitor("mkdir -p /var/tmp/bench /etc/prometheus/file_sd/bench && echo 'bench_ok 1' > /var/tmp/bench/metrics && "
               "(systemctl is-active bench-target || systemd-run --unit=bench-target "
               "python3 -m http.server 19999 --bind 0.0.0.0 -d /var/tmp/bench); systemctl reload prometheus")
    extra = json.dumps({"prometheus_scrape_configs_extra": [{
        "job_name": "bench", "scrape_interval": "10s", "metrics_path": "/metrics",
        "file_sd_configs": [{"files": ["/etc/prometheus/file_sd/bench/*.json"]}]}]})
    t, _ = timed(["ansible-playbook", "site.yml", "-e", extra])
    rows.append(("site.yml converge with the bench job", t))
    for count in (1, 100, 1000):
        t, out = register(count)
        tasks = out.count("TASK [")
        end = time.monotonic()
        while len(query(monitor, 'up{job="bench"} == 1')) < count:
            if time.monotonic() - end > 120:
                sys.exit(f"{count} targets not up after 120 s")
            time.sleep(0.5)
        rows.append((f"register {count:>4} targets ({tasks} task)", t))
        rows.append((f"  ... until all {count} are up == 1", time.monotonic() - end))
    register(0, state="absent")
    on_monitor("systemctl stop bench-target; rm -rf /var/tmp/bench /etc/prometheus/file_sd/bench")
    t, _ = timed(["ansible-playbook", "site.yml"])
    rows.append(("site.yml converge (bench job removed)", t))
    t, out = timed(["ansible-playbook", "site.yml"])
    changed = sum(int(x.split("=")[1]) for x in out.split() if x.startswith("changed="))
    rows.append((f"site.yml idempotent re-run (changed={changed})", t))
    for name, seconds in rows:
        print(f"{name:48} {seconds:7.1f} s")


if __name__ == "__main__":
    main()
