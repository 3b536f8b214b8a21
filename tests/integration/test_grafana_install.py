"""Grafana's install paths on the lab, with STAND-IN artifacts (lab/grafana_standin.py):
a .deb and a tarball shaped like Grafana's whose server is a small program that reads
grafana.ini and provisioning as Grafana does and answers /api/health. Not a real Grafana.

The lab converged with the deb (12.2.1-standin). In order: what the deb installed, a wrong
checksum that changes nothing, an upgrade that keeps /var/lib/grafana, the switch to the
tarball (check mode first, a wrong checksum, the install, an upgrade), and the repository
method's APT source and key in check mode (no request to Grafana's repository)."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import REPO, playbook

SCENARIO = REPO / "molecule" / "grafana_install"
LAB_VARS = yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / "monitoring_servers.yml").read_text())
ADMIN = ("admin", LAB_VARS["grafana_admin_password"])
MARKER = "/var/lib/grafana/limen-test-marker"
OPT = "/opt/limen-monitoring/grafana"


def standin(lab, name):
    return str(Path(lab.vars["lab_release_dir"]) / "grafana-standin" / name)


def run(extra=None, check=True, args=()):
    """The Grafana role alone (site.yml --tags grafana on the monitoring servers); site.yml converged."""
    cmd = ["site.yml", "--tags", "grafana", "--limit", "monitoring_servers",
           "-i", str(REPO / "inventories" / "lab"), "-i", str(SCENARIO / "inventory"), *args]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    return playbook(*cmd, check=check)


def tarball(lab, version, **more):
    return {"grafana_install_method": "tarball", "grafana_version": version,
            "grafana_local_archive": standin(lab, f"grafana-{version}.linux-amd64.tar.gz"), **more}


def api(lab, path, auth=ADMIN):
    req = urllib.request.Request(f"http://{lab.monitor}:3000{path}")
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def sh(lab, command, check=True):
    return lab.ssh("monitor", command, check=check).stdout.strip()


def unit(lab, prop):
    return sh(lab, f"systemctl show -p {prop} --value grafana-server")


def deb_version(lab):
    return sh(lab, "dpkg-query -W -f='${Version} ${db:Status-Status}' grafana")


def starts(lab):
    """(version, binary) of every start recorded in the data directory's grafana.db."""
    out = sh(lab, "python3 -c \"import sqlite3, json; print(json.dumps(sqlite3.connect("
                  "'/var/lib/grafana/grafana.db').execute('SELECT version, binary FROM standin_start')"
                  ".fetchall()))\"")
    return [tuple(row) for row in json.loads(out)]


def assert_running(lab, version, binary):
    assert unit(lab, "ActiveState") == "active" and unit(lab, "UnitFileState") == "enabled"
    pid = unit(lab, "MainPID")
    assert sh(lab, f"ps -o user= -p {pid}") == "grafana", "Grafana must run as the grafana user"
    # No wait here: the role waited for /api/health before it reported success.
    assert api(lab, "/api/health", auth=None) == {"commit": "standin", "database": "ok", "version": version}
    assert api(lab, "/api/standin/files")["binary"] == binary


def assert_reads_what_the_role_wrote(lab):
    files = api(lab, "/api/standin/files")
    assert "/etc/grafana/grafana.ini" in files["config_files"]
    for path in ("/etc/grafana/provisioning/datasources/limen.yml",
                 "/etc/grafana/provisioning/dashboards/limen.yml"):
        assert files["provisioning"].get(path) == sh(lab, f"sha256sum {path}").split()[0], path
    on_disk = sh(lab, "find /var/lib/grafana/dashboards -name '*.json'").split()
    assert len(on_disk) >= 5 and all(p in files["provisioning"] for p in on_disk)
    uids = {d["uid"] for d in api(lab, "/api/search")}
    assert {"limen-overview", "limen-comparison", "limen-server-health", "svc-limen", "svc-service2"} <= uids
    settings = api(lab, "/api/admin/settings")
    assert settings["server"]["http_addr"] == lab.monitor
    assert settings["paths"]["data"] == "/var/lib/grafana"
    assert settings["paths"]["provisioning"] == "/etc/grafana/provisioning"
    assert settings["security"]["admin_password"] == "*************"
    assert settings["auth.anonymous"]["enabled"] == "false"
    with pytest.raises(urllib.error.HTTPError) as denied:
        api(lab, "/api/search", auth=("admin", "admin"))
    assert denied.value.code == 401


def assert_refused(lab, extra, bad_file):
    pid, unit_file = unit(lab, "MainPID"), unit(lab, "FragmentPath")
    rc, out, _ = run(extra, check=False)
    assert rc != 0
    assert f"{bad_file}: sha256 " in out and "does not match grafana_local_sha256 " + "0" * 64 in out, out[-3000:]
    assert unit(lab, "MainPID") == pid, "Grafana must keep running untouched"
    assert unit(lab, "FragmentPath") == unit_file


# ---- deb ------------------------------------------------------------------
def test_deb_installs_grafanas_package_unit_and_user(lab):
    assert deb_version(lab) == "12.2.1-standin installed"
    assert unit(lab, "FragmentPath").endswith("lib/systemd/system/grafana-server.service")
    assert not unit(lab, "FragmentPath").startswith("/etc/")
    assert "--packaging=deb" in unit(lab, "ExecStart")
    assert_running(lab, "12.2.1-standin", "/usr/share/grafana/bin/grafana")
    assert sh(lab, "grep ^RESTART_ON_UPGRADE= /etc/default/grafana-server") == "RESTART_ON_UPGRADE=false"
    assert sh(lab, "ls /var/cache/limen-monitoring") == "grafana-local.deb"


def test_deb_grafana_reads_the_files_the_role_writes(lab):
    assert_reads_what_the_role_wrote(lab)


def test_deb_wrong_checksum_changes_nothing(lab):
    cached = sh(lab, "sha256sum /var/cache/limen-monitoring/grafana-local.deb")
    deb = standin(lab, "grafana_12.3.0-standin_amd64.deb")
    assert_refused(lab, {"grafana_local_package": deb, "grafana_local_sha256": "0" * 64}, deb)
    assert deb_version(lab) == "12.2.1-standin installed"
    assert sh(lab, "sha256sum /var/cache/limen-monitoring/grafana-local.deb") == cached


def test_deb_upgrade_switches_the_binary_and_keeps_the_data_directory(lab):
    sh(lab, f"echo kept > {MARKER} && chown grafana:grafana {MARKER}")
    upgrade = {"grafana_local_package": standin(lab, "grafana_12.3.0-standin_amd64.deb")}
    _, _, recap = run(upgrade)
    assert recap["monitor"]["changed"] > 0
    assert deb_version(lab) == "12.3.0-standin installed"
    assert_running(lab, "12.3.0-standin", "/usr/share/grafana/bin/grafana")
    assert sh(lab, f"cat {MARKER}") == "kept"
    versions = [v for v, _ in starts(lab)]
    assert "12.2.1-standin" in versions, "the data directory from before the upgrade is the one in use"
    assert versions.count("12.3.0-standin") == 1, "one restart, after the configuration, not one per step"
    _, _, recap = run(upgrade)
    assert recap["monitor"]["changed"] == 0, "the upgraded host must be idempotent"


def test_a_rotated_admin_password_is_set_in_grafanas_database_and_the_old_one_refused(lab):
    """The stand-in keeps its admin user in grafana.db from the first start, as Grafana does:
    a new grafana_admin_password in grafana.ini alone would change nothing."""
    upgrade = {"grafana_local_package": standin(lab, "grafana_12.3.0-standin_amd64.deb")}
    rotated = ("admin", "a-rotated-Grafana-admin-passw0rd")
    try:
        _, out, recap = run({**upgrade, "grafana_admin_password": rotated[1]}, args=["-vv"])
        assert recap["monitor"]["changed"] > 0
        reset = [t for t in out.split("TASK [") if t.startswith("limen.monitoring.grafana : Set the inventory's admin")]
        assert len(reset) == 1 and "changed: [monitor]" in reset[0], out[-3000:]
        assert rotated[1] not in out, "the password must not appear in the run's output"
        assert api(lab, "/api/user", auth=rotated)["isGrafanaAdmin"]
        with pytest.raises(urllib.error.HTTPError) as denied:
            api(lab, "/api/user")
        assert denied.value.code == 401
        _, _, recap = run({**upgrade, "grafana_admin_password": rotated[1]})
        assert recap["monitor"]["changed"] == 0, "a password Grafana accepts is left alone"
    finally:
        run(upgrade)
    assert api(lab, "/api/user")["isGrafanaAdmin"], "rotated back to the lab's password"


# ---- tarball (the same host switches method; the deb's files stay, its unit is overridden) ----
def test_tarball_check_mode_predicts_the_switch_and_writes_nothing(lab):
    pid = unit(lab, "MainPID")
    _, _, recap = run(tarball(lab, "12.3.0-standin"), args=["--check"])
    assert recap["monitor"]["changed"] > 0 and recap["monitor"]["failed"] == 0
    assert sh(lab, f"test -e {OPT} || echo absent") == "absent"
    assert sh(lab, "test -e /etc/systemd/system/grafana-server.service || echo absent") == "absent"
    assert unit(lab, "MainPID") == pid


def test_tarball_wrong_checksum_changes_nothing(lab):
    bad = tarball(lab, "12.3.0-standin", grafana_local_sha256="0" * 64)
    assert_refused(lab, bad, bad["grafana_local_archive"])
    assert sh(lab, f"test -e {OPT} || echo absent") == "absent"


def test_tarball_installs_with_the_roles_unit(lab):
    _, _, recap = run(tarball(lab, "12.3.0-standin"))
    assert recap["monitor"]["changed"] > 0
    assert unit(lab, "FragmentPath") == "/etc/systemd/system/grafana-server.service"
    assert f"{OPT}/12.3.0-standin/bin/grafana" in unit(lab, "ExecStart")
    assert unit(lab, "Type") == "notify"
    assert_running(lab, "12.3.0-standin", f"{OPT}/12.3.0-standin/bin/grafana")
    assert_reads_what_the_role_wrote(lab)
    assert sh(lab, f"cat {MARKER}") == "kept"
    assert sh(lab, f"stat -c '%U' {OPT}/12.3.0-standin/bin/grafana") == "root"


def test_tarball_upgrade_switches_the_binary_and_keeps_the_data_directory(lab):
    _, _, recap = run(tarball(lab, "12.4.0-standin"))
    assert recap["monitor"]["changed"] > 0
    assert_running(lab, "12.4.0-standin", f"{OPT}/12.4.0-standin/bin/grafana")
    assert sh(lab, f"cat {MARKER}") == "kept"
    assert (("12.3.0-standin", f"{OPT}/12.3.0-standin/bin/grafana") in starts(lab)
            and ("12.4.0-standin", f"{OPT}/12.4.0-standin/bin/grafana") in starts(lab))
    assert sh(lab, f"ls {OPT}").split() == ["12.3.0-standin", "12.4.0-standin"], "previous version kept"
    _, _, recap = run(tarball(lab, "12.4.0-standin"))
    assert recap["monitor"]["changed"] == 0


# ---- repository: no route to Grafana's repository, so check mode only ----
def test_repository_source_line_and_key_path(lab):
    key_url = f"{lab.vars['lab_release_url']}/grafana-standin/gpg.key"
    rc, out, recap = run({"grafana_install_method": "repository", "grafana_version": "12.4.0",
                          "grafana_apt_key_url": key_url}, check=False, args=["--check", "--diff", "-v"])
    assert rc == 0 and recap["monitor"]["failed"] == 0, out[-3000:]
    assert "+deb [signed-by=/etc/apt/keyrings/grafana.asc] https://apt.grafana.com stable main" in out
    assert "dest: /etc/apt/keyrings/.grafana-download.key" in out   # staged, not trusted yet
    assert "+Package: grafana\n+Pin: version 12.4.0\n+Pin-Priority: 1001" in out
    # Check mode wrote nothing and asked APT nothing about the new source.
    assert "grafana" not in sh(lab, "ls /etc/apt/sources.list.d /etc/apt/keyrings /etc/apt/preferences.d")


def test_the_repository_key_is_trusted_only_with_the_pinned_fingerprint(lab, tmp_path):
    """The key tasks for real, with a key made here and served on the lab (not Grafana's)."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--quiet", "--homedir", str(home)]
    subprocess.run([*gpg, "--passphrase", "", "--quick-gen-key", "limen-test@example.org", "ed25519", "sign", "1d"],
                   check=True, capture_output=True)
    listing = subprocess.run([*gpg, "--with-colons", "--list-keys"], check=True, capture_output=True, text=True).stdout
    fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    key = Path(standin(lab, "limen-test.key"))
    key.write_bytes(subprocess.run([*gpg, "--armor", "--export"], check=True, capture_output=True).stdout)
    play = tmp_path / "key.yml"
    play.write_text(json.dumps([{"hosts": "monitor", "gather_facts": False, "tasks": [
        {"ansible.builtin.include_role": {"name": "limen.monitoring.grafana",
                                          "tasks_from": "install_repository_key"}}]}]))
    keyring = "/etc/apt/keyrings/grafana.asc"
    url = f"{lab.vars['lab_release_url']}/grafana-standin/limen-test.key"
    try:
        rc, out, _ = playbook(str(play), "-i", str(REPO / "inventories" / "lab"), "-e",
                              json.dumps({"grafana_apt_key_url": url, "grafana_apt_key_fingerprint": "0" * 40}),
                              check=False)
        assert rc != 0 and f"holds the key(s) {fpr}" in out and "it was not installed" in out, out[-3000:]
        assert sh(lab, f"test -e {keyring} || echo absent") == "absent"
        playbook(str(play), "-i", str(REPO / "inventories" / "lab"), "-e",
                 json.dumps({"grafana_apt_key_url": url, "grafana_apt_key_fingerprint": fpr}))
        assert sh(lab, f"cat {keyring}") == key.read_text().strip()
    finally:
        sh(lab, f"rm -f {keyring} /etc/apt/keyrings/.grafana-download.key")
        key.unlink()


# ---- last: TLS from the role's cert settings (the host stays on HTTPS) ----
def test_tls_settings_are_served_and_waited_for(lab, tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    f"/CN={lab.monitor}", "-keyout", str(tmp_path / "key"), "-out", str(tmp_path / "crt")],
                   check=True, capture_output=True)
    for name in ("crt", "key"):
        body = (tmp_path / name).read_text()
        sh(lab, f"cat > /etc/grafana/tls.{name} <<'PEM'\n{body}PEM\n"
                f"chown root:grafana /etc/grafana/tls.{name} && chmod 0640 /etc/grafana/tls.{name}")
    _, _, recap = run({**tarball(lab, "12.4.0-standin"), "grafana_tls_cert_file": "/etc/grafana/tls.crt",
                       "grafana_tls_key_file": "/etc/grafana/tls.key"})
    assert recap["monitor"]["changed"] > 0
    ctx = ssl.create_default_context(cafile=str(tmp_path / "crt"))
    ctx.check_hostname = False
    with urllib.request.urlopen(f"https://{lab.monitor}:3000/api/health", context=ctx, timeout=10) as resp:
        assert json.loads(resp.read())["version"] == "12.4.0-standin"
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        api(lab, "/api/health", auth=None)
