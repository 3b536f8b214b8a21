"""Release and local tarball installs on the lab: the binaries really come from the
tarballs, a wrong checksum replaces nothing, and a real upgrade from bookworm's releases
(Prometheus 2.42, Alertmanager 0.25, node_exporter 1.5) to trixie's (2.53, 0.28, 1.9)
keeps the TSDB and the silences, and alerts keep flowing."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import REPO, playbook, wait_for

SCENARIO_INVENTORY = REPO / "molecule" / "install_methods" / "inventory"
OLD = {"prometheus": "2.42.0", "alertmanager": "0.25.0", "node_exporter": "1.5.0"}
NEW = {"prometheus": "2.53.3", "alertmanager": "0.28.1", "node_exporter": "1.9.0"}
NODES = ("monitor", "svc1", "svc2")


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


def build_versions(lab):
    """Version each running component reports, by instance, from Prometheus' own scrapes."""
    found = {}
    for metric in ("prometheus_build_info", "alertmanager_build_info", "node_exporter_build_info"):
        for r in lab.query(f"max by (instance, version) ({metric})"):
            # Debian's builds append their packaging suffix (2.42.0+ds): compare the release.
            found[(metric.split("_build")[0], r["metric"]["instance"])] = r["metric"]["version"].split("+")[0]
    return found


def expected_versions(lab, versions):
    wanted = {("prometheus", f"{lab.monitor}:9090"): versions["prometheus"],
              ("alertmanager", f"{lab.monitor}:9093"): versions["alertmanager"]}
    wanted |= {("node_exporter", f"{lab.addr(h)}:9100"): versions["node_exporter"] for h in NODES}
    return wanted


def test_binaries_come_from_the_tarballs_and_serve(lab):
    for binary, name in (("prometheus", "prometheus"), ("promtool", "prometheus"),
                         ("alertmanager", "alertmanager"), ("amtool", "alertmanager"),
                         ("node_exporter", "node_exporter")):
        assert link(lab, "monitor", binary) == f"/opt/limen-monitoring/{name}/{OLD[name]}/{binary}"
    for host in ("svc1", "svc2"):
        assert link(lab, host, "node_exporter") == f"/opt/limen-monitoring/node_exporter/{OLD['node_exporter']}/node_exporter"
    assert "path=/usr/local/bin/prometheus" in lab.ssh("monitor", "systemctl show -p ExecStart prometheus").stdout
    assert "path=/usr/local/bin/alertmanager" in lab.ssh(
        "monitor", "systemctl show -p ExecStart prometheus-alertmanager").stdout
    wanted = expected_versions(lab, OLD)
    wait_for(lambda: build_versions(lab) == wanted, 60, what=f"every component up and reporting {wanted}")


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
    rc, out, _ = run({"prometheus_version": NEW["prometheus"], "prometheus_archive_sha256": "f" * 64}, check=False)
    assert rc != 0 and "checksum" in out.lower(), out[-3000:]
    assert link(lab, "monitor", "prometheus") == current
    assert main_pid(lab) == pid
    assert lab.ssh("monitor", f"test -e /opt/limen-monitoring/prometheus/{NEW['prometheus']}",
                   check=False).returncode == 1


def debian_templates(lab, version):
    """What Debian's alertmanager package would put beside its binary (see prepare.yml)."""
    for tmpl in sorted((Path(lab.vars["lab_release_dir"]) / f"alertmanager/v{version}/debian-templates").glob("*.tmpl")):
        lab.ssh("monitor", f"cat > /usr/share/prometheus/alertmanager/{tmpl.name}", stdin=tmpl.read_text())
