#!/usr/bin/env python3
"""Build STAND-IN Grafana artifacts for the lab's install tests. They are NOT Grafana.

Grafana cannot be downloaded here, so the role's `deb` and `tarball` install paths are
exercised with artifacts shaped like Grafana's own, whose server is a small Python
program (lab/files/grafana_standin_server.py) that starts the way Grafana does and answers
/api/health:

- grafana_<version>_amd64.deb: package `grafana`; /usr/share/grafana/{bin/grafana,
  bin/grafana-server, bin/grafana-cli, conf/defaults.ini, conf/sample.ini, conf/provisioning},
  /usr/sbin/grafana{,-server,-cli} wrappers, /etc/default/grafana-server, the unit
  /usr/lib/systemd/system/grafana-server.service (EnvironmentFile, `grafana server
  --config=${CONF_FILE} ... cfg:default.paths.*=`, as Grafana's deb), and a postinst that
  does what Grafana's does: system user and group `grafana`, /var/lib/grafana and
  /var/log/grafana, /etc/grafana/grafana.ini from sample.ini and provisioning samples when
  absent, root:grafana 0640 on /etc/grafana, no start on install, a restart on upgrade when
  RESTART_ON_UPGRADE=true.
- grafana-<version>.linux-amd64.tar.gz: grafana-v<version>/{bin/grafana, bin/grafana-server,
  bin/grafana-cli, conf/..., VERSION}, the upstream tarball layout.

  grafana_standin.py OUT VERSION ...     e.g. 12.2.1-standin 12.3.0-standin
writes OUT/grafana_<v>_amd64.deb, OUT/grafana-<v>.linux-amd64.tar.gz, OUT/sha256sums.txt, and
OUT/gpg.key (a placeholder, not a key, for a check-mode run of the repository method).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVER = HERE / "files" / "grafana_standin_server.py"
NOTICE = ("STAND-IN for Grafana, built by limen.monitoring's lab/grafana_standin.py for its\n"
          "install tests. It is not Grafana: bin/grafana is a small Python program that reads\n"
          "grafana.ini and provisioning like Grafana, answers /api/health and keeps its admin user\n"
          "in data/grafana.db (grafana cli admin reset-admin-password changes its password).\n")

DEFAULTS_INI = """\
# STAND-IN: the part of Grafana's conf/defaults.ini the stand-in reads.
app_mode = production

[paths]
data = data
logs = data/log
plugins = data/plugins
provisioning = conf/provisioning

[server]
protocol = http
http_addr =
http_port = 3000
cert_file =
cert_key =

[security]
admin_user = admin
admin_password = admin
"""
SAMPLE_INI = "; STAND-IN sample.ini: every setting commented out, as in Grafana's.\n;[server]\n;http_port = 3000\n"
SAMPLE_YAML = "# STAND-IN provisioning sample: commented out, as in Grafana's.\n# apiVersion: 1\n"
WRAPPER = """#!/bin/sh
GRAFANA_HOME="${{GRAFANA_HOME:-/usr/share/grafana}}"
exec "$GRAFANA_HOME/bin/{target}" "$@"
"""
BIN_SERVER_WRAPPER = """#!/bin/sh
echo "Deprecation warning: 'grafana-server' is deprecated. Use 'grafana server' instead." >&2
exec "$(dirname "$(readlink -f "$0")")/grafana" server "$@"
"""
BIN_CLI = """#!/bin/sh
exec "$(dirname "$(readlink -f "$0")")/grafana" cli "$@"
"""

DEFAULT_FILE = """\
GRAFANA_USER=grafana
GRAFANA_GROUP=grafana
GRAFANA_HOME=/usr/share/grafana
LOG_DIR=/var/log/grafana
DATA_DIR=/var/lib/grafana
MAX_OPEN_FILES=10000
CONF_DIR=/etc/grafana
CONF_FILE=/etc/grafana/grafana.ini
RESTART_ON_UPGRADE=true
PLUGINS_DIR=/var/lib/grafana/plugins
PROVISIONING_CFG_DIR=/etc/grafana/provisioning
# Only used on systemd systems
PID_FILE_DIR=/var/run/grafana
"""
UNIT = """\
[Unit]
Description=Grafana instance (STAND-IN for lab tests, not Grafana)
Documentation=http://docs.grafana.org
Wants=network-online.target
After=network-online.target
After=postgresql.service mariadb.service mysql.service

[Service]
EnvironmentFile=/etc/default/grafana-server
User=grafana
Group=grafana
Type=simple
Restart=on-failure
WorkingDirectory=/usr/share/grafana
RuntimeDirectory=grafana
RuntimeDirectoryMode=0750
ExecStart=/usr/share/grafana/bin/grafana server \\
                            --config=${CONF_FILE} \\
                            --pidfile=${PID_FILE_DIR}/grafana-server.pid \\
                            --packaging=deb \\
                            cfg:default.paths.logs=${LOG_DIR} \\
                            cfg:default.paths.data=${DATA_DIR} \\
                            cfg:default.paths.plugins=${PLUGINS_DIR} \\
                            cfg:default.paths.provisioning=${PROVISIONING_CFG_DIR}

LimitNOFILE=10000
TimeoutStopSec=20
NoNewPrivileges=true
PrivateTmp=true
ProtectHome=true
ProtectSystem=full
UMask=0027

[Install]
WantedBy=multi-user.target
"""
POSTINST = """\
#!/bin/sh
set -e
[ -f /etc/default/grafana-server ] && . /etc/default/grafana-server
if [ "$1" = configure ]; then
  [ -z "$GRAFANA_USER" ] && GRAFANA_USER=grafana
  [ -z "$GRAFANA_GROUP" ] && GRAFANA_GROUP=grafana
  [ -z "$GRAFANA_HOME" ] && GRAFANA_HOME=/usr/share/grafana
  [ -z "$DATA_DIR" ] && DATA_DIR=/var/lib/grafana
  if ! getent group "$GRAFANA_GROUP" > /dev/null 2>&1; then
    addgroup --system "$GRAFANA_GROUP" --quiet
  fi
  if ! id "$GRAFANA_USER" > /dev/null 2>&1; then
    adduser --system --home "$GRAFANA_HOME" --no-create-home --ingroup "$GRAFANA_GROUP" \\
      --disabled-password --shell /bin/false "$GRAFANA_USER"
  fi
  mkdir -p /var/log/grafana "$DATA_DIR"
  chown -R "$GRAFANA_USER:$GRAFANA_GROUP" /var/log/grafana "$DATA_DIR"
  chmod 755 /var/log/grafana "$DATA_DIR"
  if [ ! -f "$CONF_FILE" ]; then
    cp "$GRAFANA_HOME/conf/sample.ini" "$CONF_FILE"
    cp "$GRAFANA_HOME/conf/ldap.toml" /etc/grafana/ldap.toml
  fi
  for kind in dashboards datasources plugins alerting access-control; do
    if [ ! -d "$PROVISIONING_CFG_DIR/$kind" ]; then
      mkdir -p "$PROVISIONING_CFG_DIR/$kind"
      cp "$GRAFANA_HOME/conf/provisioning/$kind/sample.yaml" "$PROVISIONING_CFG_DIR/$kind/sample.yaml"
    fi
  done
  chown -Rh "root:$GRAFANA_GROUP" /etc/grafana/*
  chmod 755 /etc/grafana
  find /etc/grafana -type f -exec chmod 640 {} ';'
  find /etc/grafana -type d -exec chmod 755 {} ';'
  if [ -z "$2" ]; then
    echo "### NOT starting on installation, please execute the following statements to configure grafana to start automatically using systemd"
    echo " sudo /bin/systemctl daemon-reload"
    echo " sudo /bin/systemctl enable grafana-server"
  elif [ "$RESTART_ON_UPGRADE" = "true" ]; then
    echo "Restarting grafana-server service..."
    systemctl daemon-reload
    systemctl restart grafana-server || true
  fi
fi
"""
PROVISIONING_KINDS = ("dashboards", "datasources", "plugins", "alerting", "access-control")


def home_files(version: str) -> dict[str, tuple[str | bytes, int]]:
    """Grafana's home directory (/usr/share/grafana, or the tarball's top directory)."""
    server = SERVER.read_text().replace('"@VERSION@"', repr(version))
    files = {
        "bin/grafana": (server, 0o755),
        "bin/grafana-server": (BIN_SERVER_WRAPPER, 0o755),
        "bin/grafana-cli": (BIN_CLI, 0o755),
        "conf/defaults.ini": (DEFAULTS_INI, 0o644),
        "conf/sample.ini": (SAMPLE_INI, 0o644),
        "conf/ldap.toml": ("# STAND-IN ldap.toml\n", 0o644),
        "VERSION": (version + "\n", 0o644),
        "NOTICE.md": (NOTICE, 0o644),
    }
    for kind in PROVISIONING_KINDS:
        files[f"conf/provisioning/{kind}/sample.yaml"] = (SAMPLE_YAML, 0o644)
    return files


def write_tree(root: Path, files: dict) -> None:
    for rel, (content, mode) in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        path.chmod(mode)


def build_deb(out: Path, version: str) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pkg"
        files = {f"usr/share/grafana/{rel}": v for rel, v in home_files(version).items()}
        files.update({
            "usr/sbin/grafana": (WRAPPER.format(target="grafana"), 0o755),
            "usr/sbin/grafana-server": (WRAPPER.format(target="grafana-server"), 0o755),
            "usr/sbin/grafana-cli": (WRAPPER.format(target="grafana-cli"), 0o755),
            "etc/default/grafana-server": (DEFAULT_FILE, 0o644),
            "usr/lib/systemd/system/grafana-server.service": (UNIT, 0o644),
            "DEBIAN/postinst": (POSTINST, 0o755),
            "DEBIAN/conffiles": ("/etc/default/grafana-server\n", 0o644),
            "DEBIAN/control": (
                f"Package: grafana\nVersion: {version}\nArchitecture: amd64\n"
                "Maintainer: limen.monitoring lab <root@localhost>\nDepends: adduser, python3\n"
                "Section: default\nPriority: optional\nHomepage: https://grafana.com\n"
                "Description: STAND-IN for Grafana (limen.monitoring lab tests), not Grafana\n"
                " Shaped like Grafana's package; its server is a small Python program.\n", 0o644),
        })
        write_tree(root, files)
        (root / "etc/grafana").mkdir(parents=True)
        deb = out / f"grafana_{version}_amd64.deb"
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
                       check=True, capture_output=True)
    return deb


def build_tarball(out: Path, version: str) -> Path:
    top = f"grafana-v{version}"
    archive = out / f"grafana-{version}.linux-amd64.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for rel, (content, mode) in sorted(home_files(version).items()):
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size, info.mode, info.mtime = len(data), mode, 0
            tar.addfile(info, io.BytesIO(data))
    return archive


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if not shutil.which("dpkg-deb"):
        print("dpkg-deb is missing (Debian package dpkg)", file=sys.stderr)
        return 1
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    built = [f(out, v) for v in argv[1:] for f in (build_deb, build_tarball)]
    sums = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in built)
    (out / "sha256sums.txt").write_text(sums)
    # Not a key: something for a check-mode run of the repository method to find on the lab.
    (out / "gpg.key").write_text("# STAND-IN for https://apt.grafana.com/gpg.key; not a key\n")
    for p in built:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
