#!/usr/bin/env python3
"""Benchmark (not a test): delay from "service stopped" to "notification received".

On a converged lab (make demo): clears the alert receiver on the outside host, stops the
demo service on svc2, and times the arrival of the firing TargetDown notification; then
starts it again and times the resolved one. Repeats RUNS times. Prints the worst case the
production defaults allow on paper, computed from the role defaults:
scrape_interval + evaluation_interval + for + group_wait.
Usage: .venv/bin/python benchmarks/alert_delay.py [RUNS]
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import venv_tools  # beside this script: puts the venv's tools on PATH
import yaml

venv_tools.put_on_path()
REPO = Path(__file__).resolve().parent.parent


def seconds(duration):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(duration)))


def paper(defaults_prom, defaults_am):
    parts = {"scrape_interval": defaults_prom["prometheus_scrape_interval"],
             "evaluation_interval": defaults_prom["prometheus_evaluation_interval"],
             "for (target_down)": defaults_prom["prometheus_alert_for"]["target_down"],
             "group_wait": defaults_am["alertmanager_route"]["group_wait"]}
    return parts, sum(seconds(v) for v in parts.values())


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    doc = json.loads((REPO / "inventories/lab/hosts.yml").read_text().split("\n", 1)[1])
    hosts = {n: hv for g in doc["all"]["children"].values() for n, hv in g["hosts"].items()}
    receiver = doc["all"]["vars"]["lab_receiver_url"]
    key = doc["all"]["vars"]["ansible_ssh_private_key_file"]

    def ssh(command):
        subprocess.run(["ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                        "-o", "LogLevel=ERROR", f"root@{hosts['svc2']['ansible_host']}", command], check=True)

    def wait(status, start):
        while time.monotonic() - start < 300:
            with urllib.request.urlopen(receiver, timeout=5) as r:
                for note in json.load(r):
                    for alert in note["body"]["alerts"]:
                        if (alert["labels"].get("alertname") == "TargetDown"
                                and alert["labels"].get("job") == "service2" and alert["status"] == status):
                            return time.monotonic() - start
            time.sleep(0.2)
        sys.exit(f"no {status} TargetDown within 300 s")

    lab = yaml.safe_load((REPO / "inventories/lab/group_vars/monitoring_servers.yml").read_text())
    print(f"lab settings: scrape {lab['prometheus_scrape_interval']}, evaluation {lab['prometheus_evaluation_interval']}, "
          f"for {lab['prometheus_alert_for']['target_down']}, group_wait {lab['alertmanager_route']['group_wait']}")
    for run in range(1, runs + 1):
        urllib.request.urlopen(urllib.request.Request(receiver, method="DELETE"), timeout=5).read()
        start = time.monotonic()
        ssh("systemctl stop limen-demo-service")
        firing = wait("firing", start)
        start = time.monotonic()
        ssh("systemctl start limen-demo-service")
        resolved = wait("resolved", start)
        print(f"run {run}: stopped -> firing notification {firing:5.1f} s; started -> resolved {resolved:5.1f} s")
    prom = yaml.safe_load((REPO / "roles/prometheus/defaults/main.yml").read_text())
    am = yaml.safe_load((REPO / "roles/alertmanager/defaults/main.yml").read_text())
    parts, total = paper(prom, am)
    print("production defaults, worst case on paper: " + " + ".join(f"{k} {v}" for k, v in parts.items())
          + f" = {total:.0f} s")


if __name__ == "__main__":
    main()
