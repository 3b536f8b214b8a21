#!/usr/bin/python3
"""STAND-IN for Grafana's server binary, for the lab's install tests. It is NOT Grafana.

Packed by lab/grafana_standin.py as bin/grafana of a stand-in .deb and tarball with
Grafana's layout. It starts the way Grafana does, so the role's install steps are
exercised against the same contract:
  grafana server [--config=F] [--homepath=H] [--pidfile=P] [--packaging=X] [cfg:...]
  grafana-server ... (the deprecated wrapper), grafana --version
  grafana cli [--homepath H] [--config F] admin reset-admin-password --password-from-stdin
- home path: --homepath, else the working directory (or its parent) holding
  conf/defaults.ini; without it, start fails as Grafana's does;
- settings: conf/defaults.ini, then `cfg:default.S.K=V`, then --config (or
  conf/custom.ini), then GF_S_K environment variables, then `cfg:S.K=V`; relative
  paths are taken from the home path;
- creates the data, plugins and log directories, writes data/grafana.db (SQLite: one row
  per start, so a kept data directory shows every version that used it) and logs/grafana.log;
- the admin user: made in grafana.db from security.admin_user/admin_password when the
  database is created, as Grafana does, and never read from grafana.ini again; only
  `grafana cli admin reset-admin-password` changes its password afterwards;
- reads provisioning/{datasources,dashboards,plugins,alerting}/*.yaml|yml, and the JSON
  dashboards under each dashboard provider's `path`;
- serves HTTP or, with protocol = https, TLS from cert_file/cert_key, on http_addr:http_port;
  tells systemd READY=1 (Type=notify) once listening; writes --pidfile.
API: GET /api/health (no auth, Grafana's JSON), /api/user, /api/search and
/api/admin/settings (basic auth with the admin user of grafana.db), /api/standin/files
(stand-in only: the configuration and provisioning files read, with their sha256).
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import json
import os
import re
import signal
import socket
import sqlite3
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSION = "@VERSION@"       # replaced by the builder
COMMIT = "standin"
SECRET = re.compile(r"(password|secret|_key$|^key$)")


def log(cfg, level, msg, **kv):
    fields = " ".join(f'{k}="{v}"' for k, v in kv.items())
    line = f't={time.strftime("%Y-%m-%dT%H:%M:%S%z")} level={level} msg="{msg}" {fields}'.rstrip()
    print(line, file=sys.stderr, flush=True)
    if cfg and cfg.get("logfile"):
        with open(cfg["logfile"], "a") as f:
            f.write(line + "\n")


def fail(msg):
    print(f"Grafana (stand-in) server init failed: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def parse_args(argv):
    prog = Path(argv[0]).name
    args = argv[1:]
    if prog != "grafana-server":
        if args[:1] in (["--version"], ["-v"]):
            print(f"grafana version {VERSION} (stand-in)")
            sys.exit(0)
        if args[:1] == ["cli"]:
            sys.exit(cli(args[1:]))
        if args[:1] != ["server"]:
            fail(f"unknown command {args[:1]}: only `grafana server` is stood in for")
        args = args[1:]
    opts = {"config": "", "homepath": "", "pidfile": "", "packaging": "", "props": []}
    for a in args:
        if a.startswith("cfg:"):
            opts["props"].append(a[4:])
            continue
        m = re.fullmatch(r"--?(config|homepath|pidfile|packaging)=(.*)", a)
        if not m:
            fail(f"unknown argument {a}")
        opts[m[1]] = m[2]
    return opts


def home_path(opts):
    if opts["homepath"]:
        return Path(opts["homepath"])
    cwd = Path.cwd()
    for candidate in (cwd, cwd.parent):
        if (candidate / "conf" / "defaults.ini").is_file():
            return candidate
    return cwd


def read_ini(ini, path):
    # Keys before the first section (app_mode, instance_name) are legal in Grafana's files.
    ini.read_string("[_root]\n" + Path(path).read_text(), source=str(path))


def load_settings(opts):
    home = home_path(opts)
    defaults = home / "conf" / "defaults.ini"
    if not defaults.is_file():
        fail(f"could not find config defaults ({defaults}), make sure homepath command line "
             "parameter is set or working directory is homepath")
    ini = configparser.RawConfigParser(strict=False, interpolation=None)
    read = [str(defaults)]
    read_ini(ini, defaults)
    props = [p.split("=", 1) for p in opts["props"] if "=" in p]
    for key, value in props:              # cfg:default.S.K: defaults the config file may override
        if key.startswith("default."):
            section, _, name = key[len("default."):].rpartition(".")
            ini.setdefault(section, {})
            ini[section][name] = value
    custom = Path(opts["config"]) if opts["config"] else home / "conf" / "custom.ini"
    if opts["config"] and not custom.is_file():
        fail(f"config file {custom} does not exist")
    if custom.is_file():
        try:
            read_ini(ini, custom)
        except (OSError, configparser.Error) as e:
            fail(f"failed to parse {custom}: {e}")
        read.append(str(custom))
    for section in ini.sections():
        for name in list(ini[section]):
            env = "GF_" + re.sub(r"[.-]", "_", f"{section}_{name}").upper()
            if env in os.environ:
                ini[section][name] = os.environ[env]
    for key, value in props:
        if not key.startswith("default."):
            section, _, name = key.rpartition(".")
            ini.setdefault(section, {})
            ini[section][name] = value
    settings = {s: dict(ini[s]) for s in ini.sections()}

    def path(name, fallback):
        p = Path(settings.get("paths", {}).get(name) or fallback)
        return p if p.is_absolute() else home / p

    data = path("data", "data")
    return {"home": home, "settings": settings, "config_files": read,
            "data": data, "logs": path("logs", str(data / "log")),
            "plugins": path("plugins", str(data / "plugins")),
            "provisioning": path("provisioning", "conf/provisioning")}


def read_provisioning(cfg):
    files, dashboards = {}, []
    base = cfg["provisioning"]
    for kind in ("datasources", "dashboards", "plugins", "alerting"):
        for f in sorted((base / kind).glob("*.y*ml")) if (base / kind).is_dir() else []:
            try:
                text = f.read_text()
            except OSError as e:
                fail(f"can't read provisioning file {f}: {e}")
            files[str(f)] = hashlib.sha256(text.encode()).hexdigest()
            if kind == "dashboards":
                for dash_dir in re.findall(r"^\s*path:\s*(\S+)\s*$", text, re.M):
                    dashboards += read_dashboards(cfg, Path(dash_dir), files)
    return files, dashboards


def read_dashboards(cfg, directory, files):
    found = []
    for f in sorted(directory.rglob("*.json")):
        try:
            body = f.read_bytes()
            dash = json.loads(body)
        except (OSError, ValueError) as e:
            log(cfg, "error", "failed to load dashboard from", file=f, error=e)
            continue
        files[str(f)] = hashlib.sha256(body).hexdigest()
        folder = f.parent.relative_to(directory).as_posix()
        found.append({"uid": dash.get("uid"), "title": dash.get("title"), "type": "dash-db",
                      "folderTitle": "" if folder == "." else folder,
                      "tags": dash.get("tags", [])})
    return found


def password_hash(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 10000).hex()


def open_database(cfg):
    db = cfg["data"] / "grafana.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE IF NOT EXISTS standin_start (version TEXT, binary TEXT, at REAL)")
    conn.execute("INSERT INTO standin_start VALUES (?, ?, ?)",
                 (VERSION, os.path.realpath(sys.argv[0]), time.time()))
    conn.execute("CREATE TABLE IF NOT EXISTS standin_user (id INTEGER PRIMARY KEY, login TEXT, salt TEXT, password TEXT)")
    if not conn.execute("SELECT 1 FROM standin_user").fetchone():  # a new database: the admin from grafana.ini
        sec = cfg["settings"].get("security", {})
        salt = os.urandom(8).hex()
        conn.execute("INSERT INTO standin_user VALUES (1, ?, ?, ?)", (
            sec.get("admin_user", "admin"), salt, password_hash(sec.get("admin_password", "admin"), salt)))
    conn.commit()
    conn.close()
    os.chmod(db, 0o640)


def admin_accepts(cfg, login, password):
    conn = sqlite3.connect(cfg["data"] / "grafana.db")
    try:
        row = conn.execute("SELECT login, salt, password FROM standin_user WHERE id = 1").fetchone()
    finally:
        conn.close()
    return bool(row) and row[0] == login and row[2] == password_hash(password, row[1])


def cli(args):
    """grafana cli [--homepath H] [--config F] admin reset-admin-password (--password-from-stdin | PASSWORD)"""
    opts = {"config": "", "homepath": "", "pidfile": "", "packaging": "", "props": []}
    while args[:1] and args[0].startswith("--") and args[0][2:].split("=")[0] in ("homepath", "config"):
        name, _, value = args[0][2:].partition("=")
        if not value:
            args, value = args[1:], (args[1:2] or [""])[0]
        opts[name], args = value, args[1:]
    if args[:2] != ["admin", "reset-admin-password"] or len(args) != 3:
        print(f"grafana cli (stand-in): only `admin reset-admin-password` is stood in for, not {args}", file=sys.stderr)
        return 1
    password = sys.stdin.read() if args[2] == "--password-from-stdin" else args[2]
    cfg = load_settings(opts)
    db = cfg["data"] / "grafana.db"
    if not db.is_file():
        print(f"Error: ✗ no database at {db}", file=sys.stderr)
        return 1
    salt = os.urandom(8).hex()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE standin_user SET salt = ?, password = ? WHERE id = 1", (salt, password_hash(password, salt)))
    conn.commit()
    conn.close()
    print("Admin password changed successfully ✔")
    return 0


def sd_notify(message):
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(addr)
        s.sendall(message.encode())


class Handler(BaseHTTPRequestHandler):
    cfg: dict = {}
    server_version = "grafana-standin"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        got = self.headers.get("Authorization", "")
        if not got.startswith("Basic "):
            return False
        login, _, password = base64.b64decode(got[6:]).decode(errors="replace").partition(":")
        return admin_accepts(self.cfg, login, password)

    def do_GET(self):  # noqa: N802 (http.server's name)
        path = self.path.split("?", 1)[0]
        if path == "/api/health":
            return self.reply(200, {"commit": COMMIT, "database": "ok", "version": VERSION})
        if path not in ("/api/user", "/api/search", "/api/admin/settings", "/api/standin/files"):
            return self.reply(404, {"message": "Not found"})
        if not self.authorized():
            return self.reply(401, {"message": "Invalid username or password"})
        if path == "/api/user":
            return self.reply(200, {"id": 1, "isGrafanaAdmin": True})
        if path == "/api/search":
            return self.reply(200, self.cfg["dashboards"])
        if path == "/api/admin/settings":
            return self.reply(200, {s: {k: ("*************" if SECRET.search(k) and v else v)
                                        for k, v in kv.items()}
                                    for s, kv in self.cfg["effective"].items()})
        return self.reply(200, {"config_files": self.cfg["config_files"], "provisioning": self.cfg["files"],
                                "home": str(self.cfg["home"]), "binary": os.path.realpath(sys.argv[0]),
                                "version": VERSION})


def main(argv):
    opts = parse_args(argv)
    cfg = load_settings(opts)
    for d in (cfg["data"], cfg["plugins"], cfg["logs"]):
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            fail(f"mkdir {d}: {e}")
    cfg["logfile"] = cfg["logs"] / "grafana.log"
    try:
        open_database(cfg)
        cfg["logfile"].touch()
    except (OSError, sqlite3.Error) as e:
        fail(f"data or log directory not writable: {e}")
    log(cfg, "info", "Starting Grafana (stand-in)", version=VERSION, packaging=opts["packaging"],
        home=cfg["home"])
    cfg["files"], cfg["dashboards"] = read_provisioning(cfg)
    server_cfg = cfg["settings"].get("server", {})
    effective = dict(cfg["settings"])
    effective["paths"] = {k: str(cfg[k]) for k in ("data", "logs", "plugins", "provisioning")}
    cfg["effective"] = effective
    protocol = server_cfg.get("protocol", "http")
    addr, port = server_cfg.get("http_addr", ""), int(server_cfg.get("http_port") or 3000)
    Handler.cfg = cfg
    try:
        httpd = ThreadingHTTPServer((addr, port), Handler)
    except OSError as e:
        fail(f"failed to open listener on address {addr}:{port}: {e}")
    if protocol == "https":
        cert, key = server_cfg.get("cert_file", ""), server_cfg.get("cert_key", "")
        if not cert or not key:
            fail("cert_file and cert_key must be set when protocol is https")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ctx.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as e:
            fail(f"could not load the certificate {cert} / {key}: {e}")
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    elif protocol != "http":
        fail(f"protocol {protocol} is not stood in for")
    if opts["pidfile"]:
        Path(opts["pidfile"]).write_text(f"{os.getpid()}\n")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log(cfg, "info", "HTTP Server Listen", address=f"{addr}:{port}", protocol=protocol,
        provisioning_files=len(cfg["files"]))
    sd_notify("READY=1")
    try:
        httpd.serve_forever()
    finally:
        log(cfg, "info", "Shutdown (stand-in)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
