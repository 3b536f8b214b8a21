#!/usr/bin/env python3
"""Benchmark (not a test): alerting of an HA pair while one of its servers dies.

On a converged lab of topology "ha" (LIMEN_LAB_TOPOLOGY=ha lab/lab.py up; ansible-playbook
site.yml), repeated RUNS times, alternating the server that dies:
  1. kill one monitoring server (lab.py stop: its container's init killed, network
     unplugged) and stop svc1's demo service right after: time from the kill to the firing
     notification at the receiver;
  2. with the server still down, stop svc2's demo service: time from the stop to its
     firing notification;
  3. count the notifications each alert group produced (goal: exactly 1 firing and 1
     resolved each), then bring the server back (lab.py up) and wait until the
     Alertmanager cluster has both peers again.
Usage: LIMEN_LAB_TOPOLOGY=ha .venv/bin/python benchmarks/ha_failover.py [RUNS]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import venv_tools  # beside this script: puts the venv's tools on PATH

venv_tools.put_on_path()
REPO = Path(__file__).resolve().parent.parent
SETTLE = 25          # longer than the cluster's peer timeout (15 s by default): a duplicate would be in
TIMEOUT = 180


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    doc = json.loads((REPO / "inventories/lab/hosts.yml").read_text().split("\n", 1)[1])
    hosts = {n: hv for g in doc["all"]["children"].values() for n, hv in g["hosts"].items()}
    servers = list(doc["all"]["children"]["monitoring_servers"]["hosts"])
    if len(servers) < 2:
        sys.exit("needs the lab topology 'ha' (two monitoring servers): LIMEN_LAB_TOPOLOGY=ha lab/lab.py up")
    receiver = doc["all"]["vars"]["lab_receiver_url"]
    key = doc["all"]["vars"]["ansible_ssh_private_key_file"]
    jobs = {"svc1": "limen", "svc2": "service2"}

    def ssh(host, command):
        subprocess.run(["ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                        "-o", "LogLevel=ERROR", f"root@{hosts[host]['ansible_host']}", command], check=True,
                       stderr=subprocess.DEVNULL)

    def lab(*args):
        subprocess.run([sys.executable, str(REPO / "lab/lab.py"), *args], check=True, env=os.environ,
                       stdout=subprocess.DEVNULL)

    def notes():
        with urllib.request.urlopen(receiver, timeout=5) as r:
            return json.load(r)

    def groups(status):
        return Counter(n["body"]["groupLabels"].get("job") for n in notes()
                       if n["body"]["status"] == status and n["body"]["groupLabels"].get("alertname") == "TargetDown")

    def wait_notified(job, status, start):
        while time.monotonic() - start < TIMEOUT:
            if groups(status)[job]:
                return time.monotonic() - start
            time.sleep(0.2)
        sys.exit(f"no {status} TargetDown for {job} within {TIMEOUT} s")

    def peers(server):
        url = f"http://{hosts[server]['ansible_host']}:9093/api/v2/status"
        with urllib.request.urlopen(url, timeout=5) as r:
            return len(json.load(r)["cluster"].get("peers") or [])

    per_group = []
    for run in range(1, runs + 1):
        dead = servers[(run - 1) % len(servers)]
        survivor = next(s for s in servers if s != dead)
        urllib.request.urlopen(urllib.request.Request(receiver, method="DELETE"), timeout=5).read()
        start = time.monotonic()
        lab("stop", dead)
        ssh("svc1", "systemctl stop limen-demo-service")
        after_kill = wait_notified("limen", "firing", start)
        start = time.monotonic()
        ssh("svc2", "systemctl stop limen-demo-service")
        one_down = wait_notified("service2", "firing", start)
        for host in jobs:
            ssh(host, "systemctl start limen-demo-service")
        start = time.monotonic()
        for job in jobs.values():
            wait_notified(job, "resolved", start)
        time.sleep(SETTLE)
        firing, resolved = groups("firing"), groups("resolved")
        counts = {job: (firing[job], resolved[job]) for job in jobs.values()}
        per_group += [n for pair in counts.values() for n in pair]
        print(f"run {run}: killed {dead}; kill -> notification of a service stopped right after {after_kill:5.1f} s; "
              f"one server down, stop -> notification {one_down:5.1f} s; "
              f"notifications (firing, resolved) per group {counts}", flush=True)
        start = time.monotonic()
        lab("up")
        while peers(survivor) < 2 or peers(dead) < 2:
            if time.monotonic() - start > TIMEOUT:
                sys.exit(f"{dead} did not rejoin the cluster within {TIMEOUT} s")
            time.sleep(1)
        print(f"        {dead} booted and back in the cluster {time.monotonic() - start:4.1f} s after lab.py up started", flush=True)
    print(f"notifications per alert group over {runs} failures: {Counter(per_group)} (goal: every count 1)")


if __name__ == "__main__":
    main()
