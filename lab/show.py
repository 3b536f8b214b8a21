#!/usr/bin/env python3
"""After `make demo`: where each UI is, and every scrape target with its state."""

from __future__ import annotations

import base64
import json
import ssl
import sys
import time
import urllib.request
from pathlib import Path

INVENTORY = Path(__file__).resolve().parent.parent / "inventories" / "lab" / "hosts.yml"


def main() -> int:
    doc = json.loads(INVENTORY.read_text().split("\n", 1)[1])
    lab_vars = doc["all"]["vars"]
    monitor = doc["all"]["children"]["monitoring_servers"]["hosts"]["monitor"]["ansible_host"]
    secure = not lab_vars.get("monitoring_plain_http", False)
    scheme = "https" if secure else "http"
    # inventories/lab/group_vars/all.yml: pki_dir and pki_secrets_dir in the lab's state directory.
    pki = Path(lab_vars["lab_pki_dir"])
    secrets = pki.parent / "secrets"
    print("\nUIs (reachable from the internal network and this machine):")
    print(f"  Prometheus    {scheme}://{monitor}:9090")
    print(f"  Alertmanager  {scheme}://{monitor}:9093")
    print(f"  Grafana       {scheme}://{monitor}:3000  (configured and provisioned; its package is "
          "not installable in the lab, see docs/testing.md)")
    print(f"  Alert receiver {lab_vars['lab_receiver_url']}")
    context = None
    if secure:
        print("\nCredentials (secure default: TLS from the internal CA, basic auth):")
        print(f"  CA certificate  {pki / 'ca.crt'}  (curl --cacert ...)")
        print(f"  Prometheus, Alertmanager: user limen-internal, password in {secrets}/prometheus, "
              f"{secrets}/alertmanager (made by the run, 0600)")
        print("  Grafana admin: grafana_admin_password in inventories/lab/group_vars/monitoring_servers.yml "
              "(in production: from Ansible Vault)")
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        password = (secrets / "prometheus").read_text().strip()
        auth = "Basic " + base64.b64encode(f"limen-internal:{password}".encode()).decode()
    deadline = time.monotonic() + 60
    while True:
        req = urllib.request.Request(f"{scheme}://{monitor}:9090/api/v1/targets?state=active")
        if secure:
            req.add_header("Authorization", auth)
        with urllib.request.urlopen(req, timeout=10, context=context) as r:
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
