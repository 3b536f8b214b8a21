"""Release and local tarball installs on the lab: the binaries really come from the
tarballs, a wrong checksum replaces nothing, and a real upgrade from bookworm's releases
(Prometheus 2.42, Alertmanager 0.25, node_exporter 1.5) to trixie's (2.53, 0.28, 1.9)
keeps the TSDB and the silences, and alerts keep flowing."""

from __future__ import annotations

import datetime
import json
import time
import urllib.parse
import urllib.request
from pathlib import Path

from conftest import REPO, http_json, notifications, playbook, wait_for

SCENARIO_INVENTORY = REPO / "molecule" / "install_methods" / "inventory"
OLD = {"prometheus": "2.42.0", "alertmanager": "0.25.0", "node_exporter": "1.5.0"}
NEW = {"prometheus": "2.53.3", "alertmanager": "0.28.1", "node_exporter": "1.9.0"}
NODES = ("monitor", "svc1", "svc2")
# The collection's default users (roles/*/defaults), which the upgrade test moves to.
OWN_USERS = {"alertmanager_user": "alertmanager", "alertmanager_group": "alertmanager",
             "node_exporter_user": "node-exporter", "node_exporter_group": "node-exporter"}


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


def build_versions(lab, since):
    """Version each running component reports, by instance, from Prometheus' own scrapes.

    Only samples scraped after SINCE (a Unix time) count: a Prometheus that restarts writes no
    staleness markers, so for five minutes the old release's *_build_info is still returned
    beside the new one (seen on the lab after an upgrade: prometheus_build_info with both
    2.42.0+ds and 2.53.3+ds1). An instance reporting two versions maps to both, so it never
    compares equal.
    """
    found = {}
    for metric in ("prometheus_build_info", "alertmanager_build_info", "node_exporter_build_info"):
        for r in lab.query(f"max by (instance, version) (timestamp({metric}) > {since:.3f})"):
            # Debian's builds append their packaging suffix (2.42.0+ds): compare the release.
            found.setdefault((metric.split("_build")[0], r["metric"]["instance"]), set()).add(
                r["metric"]["version"].split("+")[0])
    return {key: versions.pop() if len(versions) == 1 else tuple(sorted(versions))
            for key, versions in found.items()}


def expected_versions(lab, versions):
    wanted = {("prometheus", f"{lab.monitor}:9090"): versions["prometheus"],
              ("alertmanager", f"{lab.monitor}:9093"): versions["alertmanager"]}
    wanted |= {("node_exporter", f"{lab.addr(h)}:9100"): versions["node_exporter"] for h in NODES}
    return wanted


def test_binaries_come_from_the_tarballs_and_serve(lab):
    started = time.time()
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
    wait_for(lambda: build_versions(lab, since=started) == wanted, 60,
             what=f"every component up and reporting {wanted}")


def test_unpacked_files_are_roots_whatever_uid_the_tarball_was_packed_with(lab):
    # The lab's tarballs are packed as uid/gid 3434 and 1001, as upstream's are.
    for host in ("monitor", "svc1"):
        foreign = lab.ssh(host, "find /opt/limen-monitoring ! -user root -o ! -group root "
                                "-o -perm /022 ! -type l").stdout
        assert foreign == "", f"{host}: files not root's or writable by others:\n{foreign}"
        modes = lab.ssh(host, "stat -L -c '%U:%G %a %n' /usr/local/bin/node_exporter").stdout
        assert modes.startswith("root:root 755 "), modes


def test_a_release_without_a_pinned_sha256_or_over_http_is_refused(lab):
    rc, out, recap = run({"prometheus_version": NEW["prometheus"], "prometheus_archive_sha256": ""}, check=False)
    assert rc != 0 and 'prometheus_archive_sha256 "" is not a sha256' in out, out[-3000:]
    rc, out, recap = run({"component_install_allow_http": False}, check=False)
    assert rc != 0 and "_release_base_url" in out and "is not HTTPS" in out, out[-3000:]
    assert all(counts["changed"] == 0 for counts in recap.values()), recap


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


def add_silence(lab, labels, comment, hours=2):
    """The id of a silence made through Alertmanager's API (TLS and login, as the lab's opener)."""
    start = datetime.datetime.now(datetime.timezone.utc)
    body = {"matchers": [{"name": k, "value": v, "isRegex": False} for k, v in labels.items()],
            "startsAt": start.isoformat(), "endsAt": (start + datetime.timedelta(hours=hours)).isoformat(),
            "createdBy": "test", "comment": comment}
    req = urllib.request.Request(f"{lab.alertmanager}/api/v2/silences", data=json.dumps(body).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        silence = json.loads(resp.read())["silenceID"]
    assert silence, "Alertmanager returned no silence id"
    return silence


def test_upgrade_to_trixie_releases_keeps_data_silences_and_alerting(lab):
    wait_for(lambda: lab.query('up{job="prometheus"}'), 30, what="a first sample")
    before = time.time() - 1
    silence = add_silence(lab, {"job": "limen", "alertname": "TargetDown"}, "before the upgrade")

    debian_templates(lab, NEW["alertmanager"])
    # The same run moves Alertmanager and node_exporter off the shared prometheus user (the
    # scenario's inventory keeps the earlier versions' layout) onto their own.
    _, _, recap = run({**{f"{name}_version": version for name, version in NEW.items()}, **OWN_USERS}, limit="all")
    upgraded = time.time()
    assert all(recap[h]["failed"] == 0 for h in NODES) and recap["monitor"]["changed"] > 0, recap

    # Each service runs the new release once the run is over: moving the links alone leaves
    # the old process running its old binary.
    units = {"prometheus": "prometheus", "alertmanager": "prometheus-alertmanager",
             "node_exporter": "prometheus-node-exporter"}
    for host, names in (("monitor", units), ("svc1", ["node_exporter"]), ("svc2", ["node_exporter"])):
        for name in names:
            exe = lab.ssh(host, f"readlink /proc/$(systemctl show -p MainPID --value {units[name]})/exe").stdout.strip()
            assert exe == f"/opt/limen-monitoring/{name}/{NEW[name]}/{name}", (host, name, exe)

    for binary, name in (("prometheus", "prometheus"), ("promtool", "prometheus"),
                         ("alertmanager", "alertmanager"), ("amtool", "alertmanager"),
                         ("node_exporter", "node_exporter")):
        assert link(lab, "monitor", binary) == f"/opt/limen-monitoring/{name}/{NEW[name]}/{binary}"
    wanted = expected_versions(lab, NEW)
    wait_for(lambda: build_versions(lab, since=upgraded) == wanted, 60,
             what=f"every component reporting {wanted} in a scrape after the upgrade")

    # The configurations written for the old releases pass the new releases' checks.
    lab.ssh("monitor", "promtool check config /etc/prometheus/prometheus.yml")
    lab.ssh("monitor", "amtool check-config /etc/alertmanager/alertmanager.yml")

    # Samples scraped by 2.42 are read by 2.53.
    url = lab.prometheus + "/api/v1/query?" + urllib.parse.urlencode(
        {"query": 'up{job="prometheus"}', "time": f"{before:.3f}"})
    old = wait_for(lambda: http_json(url)["data"]["result"], 30, what="a sample from before the upgrade")
    assert old[0]["value"][1] == "1"

    # Each runs as its own user, and Alertmanager's state moved with it.
    for host, unit, user in (("monitor", "prometheus-alertmanager", "alertmanager"),
                             *((h, "prometheus-node-exporter", "node-exporter") for h in NODES)):
        pid = lab.ssh(host, f"systemctl show -p MainPID --value {unit}").stdout.strip()
        assert lab.ssh(host, f"stat -c %U /proc/{pid}").stdout.strip() == user, (host, unit)
    assert not lab.ssh("monitor", "find /var/lib/alertmanager ! -user alertmanager").stdout.split()

    # The silence made on 0.25 is active on 0.28, and alerts flow through the new release:
    # both demo services stop, the receiver hears of service2 and not of the silenced limen.
    assert http_json(f"{lab.alertmanager}/api/v2/silence/{silence}")["status"]["state"] == "active"
    http_json(lab.receiver, method="DELETE")
    lab.ssh("svc1", "systemctl stop limen-demo-service")
    lab.ssh("svc2", "systemctl stop limen-demo-service")
    try:
        wait_for(lambda: notifications(lab, "TargetDown", "firing", job="service2"), 60,
                 what="a firing TargetDown for service2 after the upgrade")
        muted = wait_for(lambda: [a for a in http_json(f"{lab.alertmanager}/api/v2/alerts?silenced=true")
                                  if a["labels"].get("job") == "limen"
                                  and a["labels"]["alertname"] == "TargetDown"], 30,
                         what="limen's TargetDown held by the silence")
        assert muted[0]["status"]["silencedBy"] == [silence]
        assert not notifications(lab, "TargetDown", "firing", job="limen")
    finally:
        lab.ssh("svc1", "systemctl start limen-demo-service")
        lab.ssh("svc2", "systemctl start limen-demo-service")
        # A silence left behind would also mute the next run's alert on a reused lab.
        urllib.request.urlopen(urllib.request.Request(f"{lab.alertmanager}/api/v2/silence/{silence}",
                                                      method="DELETE"), timeout=10).close()

    # None of them restarted by itself since the upgrade (a crash loop would show here).
    for unit in ("prometheus", "prometheus-alertmanager", "prometheus-node-exporter"):
        assert lab.ssh("monitor", f"systemctl show -p NRestarts --value {unit}").stdout.strip() == "0", unit
