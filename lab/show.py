#!/usr/bin/env python3
"""After `make demo`: where each UI is, and every scrape target with its state."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

INVENTORY = Path(__file__).resolve().parent.parent / "inventories" / "lab" / "hosts.yml"


def main() -> int:
    doc = json.loads(INVENTORY.read_text().split("\n", 1)[1])
    monitor = doc["all"]["children"]["monitoring_servers"]["hosts"]["monitor"]["ansible_host"]
    print("\nUIs (reachable from the internal network and this machine):")
    print(f"  Prometheus    http://{monitor}:9090")
    print(f"  Alertmanager  http://{monitor}:9093")
    print(f"  Grafana       http://{monitor}:3000  (configured and provisioned; its package is "
          "not installable in the lab, see README)")
    print(f"  Alert receiver {doc['all']['vars']['lab_receiver_url']}")
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(f"http://{monitor}:9090/api/v1/targets?state=active", timeout=10) as r:
            targets = json.load(r)["data"]["activeTargets"]
        if all(t["health"] != "unknown" for t in targets) or time.monotonic() > deadline:
            break
        time.sleep(2)
    print(f"\n{'JOB':14} {'TARGET':34} {'STATE':7} LAST ERROR")
    for t in sorted(targets, key=lambda t: (t["labels"]["job"], t["scrapeUrl"])):
        print(f"{t['labels']['job']:14} {t['scrapeUrl']:34} {t['health']:7} {t['lastError']}")
    return 0 if all(t["health"] == "up" for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
