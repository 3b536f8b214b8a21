"""Release and local tarball installs on the lab: the binaries really come from the
tarballs, an upgrade keeps the TSDB, and a wrong checksum replaces nothing."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

from conftest import REPO, http_json, playbook, wait_for

SCENARIO_INVENTORY = REPO / "molecule" / "install_methods" / "inventory"


def run(extra=None, check=True, limit="monitoring_servers"):
    args = ["site.yml", "-i", str(REPO / "inventories" / "lab"), "-i", str(SCENARIO_INVENTORY),
            "--limit", limit]
    if extra:
        args += ["-e", json.dumps(extra)]
    return playbook(*args, check=check)


def link(lab, host, binary):
    return lab.ssh(host, f"readlink -f /usr/local/bin/{binary}").stdout.strip()


def main_pid(lab):
    return lab.ssh("monitor", "systemctl show -p MainPID --value prometheus").stdout.strip()


def test_binaries_come_from_the_tarballs_and_serve(lab):
    assert link(lab, "monitor", "prometheus") == "/opt/limen-monitoring/prometheus/2.42.0/prometheus"
    assert link(lab, "monitor", "promtool") == "/opt/limen-monitoring/prometheus/2.42.0/promtool"
    assert link(lab, "monitor", "node_exporter") == "/opt/limen-monitoring/node_exporter/1.5.0/node_exporter"
    assert link(lab, "svc1", "node_exporter") == "/opt/limen-monitoring/node_exporter/1.5.0/node_exporter"
    exec_start = lab.ssh("monitor", "systemctl show -p ExecStart prometheus").stdout
    assert "path=/usr/local/bin/prometheus" in exec_start
    wanted = {f"{lab.addr(h)}:9100" for h in ("monitor", "svc1", "svc2")}
    wait_for(lambda: wanted <= {r["metric"]["instance"] for r in lab.query('up{job="node"} == 1')}, 60,
             what="every node_exporter up")


def test_upgrade_keeps_the_tsdb(lab):
    wait_for(lambda: lab.query('up{job="prometheus"}'), 30, what="a first sample")
    before = time.time() - 1
    time.sleep(3)
    _, _, recap = run({"prometheus_version": "2.42.1"})
    assert recap["monitor"]["changed"] > 0 and recap["monitor"]["failed"] == 0
    assert link(lab, "monitor", "prometheus") == "/opt/limen-monitoring/prometheus/2.42.1/prometheus"
    url = lab.prometheus + "/api/v1/query?" + urllib.parse.urlencode(
        {"query": 'up{job="prometheus"}', "time": f"{before:.3f}"})
    old = wait_for(lambda: http_json(url)["data"]["result"], 30, what="a sample from before the upgrade")
    assert old[0]["value"][1] == "1"


def test_wrong_checksum_fails_before_anything_is_replaced(lab):
    pid, current = main_pid(lab), link(lab, "monitor", "prometheus")
    tarball = Path(lab.vars["lab_release_dir"]) / "prometheus/v2.42.0/prometheus-2.42.0.linux-amd64.tar.gz"
    rc, out, _ = run({"prometheus_install_method": "local", "prometheus_version": "2.42.0-bad",
                      "prometheus_local_archive": str(tarball), "prometheus_archive_sha256": "0" * 64},
                     check=False)
    assert rc != 0
    assert "does not match the expected " + "0" * 64 in out, out[-3000:]
    assert link(lab, "monitor", "prometheus") == current
    assert main_pid(lab) == pid, "Prometheus must keep running untouched"
    assert lab.ssh("monitor", "test -e /opt/limen-monitoring/prometheus/2.42.0-bad", check=False).returncode == 1


def test_release_download_with_a_wrong_checksum_is_refused(lab):
    pid, current = main_pid(lab), link(lab, "monitor", "prometheus")
    rc, out, _ = run({"prometheus_version": "2.42.2", "prometheus_archive_sha256": "f" * 64}, check=False)
    assert rc != 0 and "checksum" in out.lower(), out[-3000:]
    assert link(lab, "monitor", "prometheus") == current
    assert main_pid(lab) == pid
    assert lab.ssh("monitor", "test -e /opt/limen-monitoring/prometheus/2.42.2", check=False).returncode == 1
