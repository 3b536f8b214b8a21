#!/usr/bin/env python3
"""Real test hosts on this machine: systemd-nspawn containers in network namespaces.

Topology (all addresses inside LIMEN_LAB_SUBNET, default 10.210.0.0/16):
  internal bridge  <prefix>-int  .1.1/24   monitor .1.10, svc1 .1.11 (LIMEN), svc2 .1.12
  outside bridge   <prefix>-out  .2.1/24   outside .2.10 (alert receiver)
LIMEN_LAB_TOPOLOGY=ha (or --topology ha) adds a second monitoring server, monitor2 .1.13,
and a long-term storage host, storage .1.14 (group victoriametrics).
The machine routes between both bridges and masquerades lab traffic to Debian's
archive from an nftables table of its own.

  lab.py up        idempotent; writes inventories/lab/hosts.yml
  lab.py serve DIR serves DIR over HTTP on the internal gateway (.1.1:8765), for release
                   tarball installs; stopped by down
  lab.py mail      runs the lab's mail server (SMTP, STARTTLS, AUTH; lab/files/mail_server.py) on the
                   internal gateway (.1.1:587) with a certificate of its own CA; stopped by down
  lab.py stop HOST kills one host's container (its init, like a power cut) and removes
                   its network namespace (ruleset, bridges, sysctls: the kernel's state);
                   `lab.py up` boots it again with its disk intact
  lab.py down      removes everything the lab made, also after a killed run
  lab.py status

LIMEN_LAB_SECURE=1 makes the demo services secure: svc1 (LIMEN) serves HTTPS with the
certificate placed at /etc/limen-demo/tls.{crt,key} (issued by the collection's internal
CA in the secure scenario; the service waits for it), svc2 requires a bearer token that the
lab generates and writes to the inventory as lab_demo_token.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = Path(os.environ.get("LIMEN_LAB_CACHE", "/var/cache/limen-lab"))
STATE_ROOT = Path(os.environ.get("LIMEN_LAB_STATE", "/var/lib/limen-lab"))
INVENTORY = REPO / "inventories" / "lab" / "hosts.yml"
BASE_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "python3", "iproute2", "ca-certificates",
    "openssh-server", "python3-prometheus-client",
]
SERVE_PORT = 8765
MAIL_PORT = 587
# Machine settings the lab needs, raised while any lab is up and restored by the last one
# down. Every container's systemd takes several inotify instances, all counted against
# root: with the default 128, a few labs side by side fail to boot ("Too many open files").
MACHINE_SETTINGS = {"net/ipv4/ip_forward": 1, "fs/inotify/max_user_instances": 1024}
HOST_TOOLS = {"debootstrap": "debootstrap", "systemd-nspawn": "systemd-container",
              "nft": "nftables", "ip": "iproute2", "ssh-keygen": "openssh-client",
              "ssh": "openssh-client"}


class LabError(Exception):
    """A failure the operator can act on; printed without a traceback."""


@dataclass(frozen=True)
class Host:
    name: str
    net: str          # "int" or "out"
    index: int        # last octet
    groups: tuple[str, ...]
    service: dict | None = None   # demo service settings
    receiver: bool = False        # runs the alert receiver


TOPOLOGIES = ("default", "ha")


def hosts_for(topology: str = "default", secure: bool = False) -> list[Host]:
    """The lab's hosts; the alert receiver (outside) comes last."""
    extra = [
        Host("monitor2", "int", 13, ("monitoring_servers",)),
        Host("storage", "int", 14, ("victoriametrics",)),
    ] if topology == "ha" else []
    return [
        Host("monitor", "int", 10, ("monitoring_servers",)),
        *extra,
        Host("svc1", "int", 11, ("monitored_services",),
             {"name": "limen", "port": 18443, "path": "/api/metrics", "limen": True,
              "tls": secure, "token": False}),
        Host("svc2", "int", 12, ("monitored_services",),
             {"name": "service2", "port": 8080, "path": "/metrics", "limen": False,
              "tls": False, "token": secure}),
        Host("outside", "out", 10, ("lab_outside",), receiver=True),
    ]


def all_hosts() -> list[Host]:
    """Every host any topology has: down removes them all, whatever was brought up."""
    seen: dict[str, Host] = {}
    for topology in TOPOLOGIES:
        for host in hosts_for(topology):
            seen.setdefault(host.name, host)
    return list(seen.values())


class Lab:
    def __init__(self, name: str, subnet: str, suite: str, topology: str = "default",
                 secure: bool = False):
        self.name = name
        self.secure = secure
        self.suite = suite
        net = ipaddress.ip_network(subnet)
        if net.prefixlen > 22 or net.version != 4:
            raise LabError(f"LIMEN_LAB_SUBNET={subnet}: need an IPv4 network of /22 or larger")
        self.internal = list(net.subnets(new_prefix=24))[1]
        self.outside = list(net.subnets(new_prefix=24))[2]
        # libvirt's NAT network on LIMEN's host (inside its container only)
        self.guests = list(net.subnets(new_prefix=24))[3]
        self.subnet = net
        self.state = STATE_ROOT / name
        self.rootfs = CACHE / suite / "rootfs"
        self.key = STATE_ROOT / "id_ed25519"
        self.hosts = hosts_for(topology, secure)

    # ---- naming -------------------------------------------------------
    def ns(self, host: Host) -> str:
        return f"{self.name}-{host.name}"

    def bridge(self, net: str) -> str:
        return f"{self.name}-{net}"[:15]

    def veth(self, host: Host) -> str:
        return f"{self.name[:6]}-{host.name}"[:15]

    @property
    def table(self) -> str:
        return f"{self.name.replace('-', '_')}_lab"

    def net_of(self, host: Host):
        return self.internal if host.net == "int" else self.outside

    def addr(self, host: Host) -> str:
        return str(self.net_of(host).network_address + host.index)

    def gateway(self, net: str) -> str:
        n = self.internal if net == "int" else self.outside
        return str(n.network_address + 1)

    # ---- up -------------------------------------------------------------
    def check_suite(self) -> None:
        """A running lab keeps the release it was booted with; say so instead of mixing."""
        stamp = self.state / "suite"
        if stamp.is_file() and stamp.read_text().strip() != self.suite:
            raise LabError(f"lab '{self.name}' is up on {stamp.read_text().strip()}, not {self.suite}: "
                           "run `lab.py down` first")

    def up(self) -> None:
        check_host()
        self.ensure_rootfs()
        self.ensure_key()
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "suite").write_text(self.suite + "\n")
        self.ensure_network()
        for host in self.hosts:
            self.ensure_host(host)
        for host in self.hosts:
            self.wait_ready(host)
        self.write_inventory()
        print(f"lab '{self.name}' is up; inventory: {INVENTORY.relative_to(REPO)}")
        self.status()

    def ensure_rootfs(self) -> None:
        # Labs side by side share the cache: the first builds it, the others wait on the lock.
        with exclusive(self.rootfs.parent / "build.lock"):
            self.build_rootfs()

    def build_rootfs(self) -> None:
        stamp = self.rootfs.parent / "packages"
        wanted = " ".join(BASE_PACKAGES)
        if self.rootfs.is_dir() and stamp.is_file() and stamp.read_text() == wanted:
            return
        tmp = self.rootfs.parent / "rootfs.tmp"
        remove_tree(tmp)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        print(f"building the {self.suite} root filesystem once (about a minute)...", flush=True)
        try:
            run(["debootstrap", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES),
                 self.suite, str(tmp)], quiet=True)
        finally:
            unmount_under(tmp)   # a failed debootstrap leaves the target's /proc mounted
        remove_tree(self.rootfs)
        tmp.rename(self.rootfs)
        stamp.write_text(wanted)

    def ensure_key(self) -> None:
        with exclusive(STATE_ROOT / "key.lock"):   # one key for every lab: made once
            if not self.key.exists():
                run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "limen-lab",
                     "-f", str(self.key)])

    def ensure_network(self) -> None:
        # One record of the machine's settings, shared by every lab (labs with other names
        # may run side by side); the last lab to go down restores them.
        for key, value in MACHINE_SETTINGS.items():
            raise_setting(key, value)
        for net in ("int", "out"):
            br = self.bridge(net)
            if not link_exists(br):
                run(["ip", "link", "add", br, "type", "bridge"])
                prefix = (self.internal if net == "int" else self.outside).prefixlen
                run(["ip", "addr", "add", f"{self.gateway(net)}/{prefix}", "dev", br])
            run(["ip", "link", "set", br, "up"])
        ruleset = f"""
table ip {self.table} {{
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr {self.subnet} ip daddr != {self.subnet} masquerade
  }}
}}
"""
        run(["nft", "delete", "table", "ip", self.table], check=False, quiet=True)
        run(["nft", "-f", "-"], stdin=ruleset)

    def ensure_host(self, host: Host) -> None:
        ns = self.ns(host)
        veth = self.veth(host)
        if not Path(f"/run/netns/{ns}").exists():
            if link_exists(veth):   # the end of a namespace removed moments ago
                run(["ip", "link", "del", veth], check=False)
            run(["ip", "netns", "add", ns])
        if not link_exists(veth):
            run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
            run(["ip", "link", "set", veth, "master", self.bridge(host.net), "up"])
            prefix = self.net_of(host).prefixlen
            run(["ip", "-n", ns, "addr", "add", f"{self.addr(host)}/{prefix}", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            run(["ip", "-n", ns, "route", "add", "default", "via", self.gateway(host.net)])
        run(["ip", "link", "set", veth, "up"])   # plugged in again after a stop
        root = self.mount_root(host)
        self.seed_root(host, root)
        if self.container_pid(host) is None:
            self.boot(host, root)

    def mount_root(self, host: Host) -> Path:
        base = self.state / "hosts" / host.name
        root, upper, work = base / "root", base / "upper", base / "work"
        for d in (root, upper, work):
            d.mkdir(parents=True, exist_ok=True)
        if not os.path.ismount(root):
            run(["mount", "-t", "overlay", "overlay", "-o",
                 f"lowerdir={self.rootfs},upperdir={upper},workdir={work}", str(root)])
        return root

    def seed_root(self, host: Host, root: Path) -> None:
        (root / "etc/hostname").write_text(host.name + "\n")
        ssh = root / "root/.ssh"
        ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
        (ssh / "authorized_keys").write_text(Path(f"{self.key}.pub").read_text())
        wants = root / "etc/systemd/system/multi-user.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        units = []
        if host.service:
            s = host.service
            env = (f"DEMO_NAME={s['name']}\nDEMO_PORT={s['port']}\nDEMO_PATH={s['path']}\n"
                   f"DEMO_LIMEN={'1' if s['limen'] else '0'}\n")
            (root / "etc/default/limen-demo-service").write_text(env)
            self.seed_demo_security(root, s)
            units.append(("limen-demo-service", "demo_service.py"))
        if host.receiver:
            units.append(("limen-alert-receiver", "alert_receiver.py"))
        if host.service and host.service["limen"]:
            self.seed_neighbour_tables(root, wants)
        for unit, script in units:
            shutil.copy(HERE / "files" / script, root / f"usr/local/bin/{unit}")
            os.chmod(root / f"usr/local/bin/{unit}", 0o755)
            shutil.copy(HERE / "files" / f"{unit}.service", root / f"etc/systemd/system/{unit}.service")
            link = wants / f"{unit}.service"
            if not link.is_symlink():
                link.symlink_to(f"/etc/systemd/system/{unit}.service")

    @staticmethod
    def seed_neighbour_tables(root: Path, wants: Path) -> None:
        """LIMEN's host runs libvirt and Docker. libvirt is Debian's real package, installed by
        the tests that need it; Docker cannot run in the lab's containers, so a unit of its own
        adds the rules dockerd adds: the firewall tests check all of them survive every
        lifecycle event."""
        shutil.copy(HERE / "files" / "neighbour-tables.rules", root / "etc/lab-neighbour-tables.rules")
        unit = root / "etc/systemd/system/lab-neighbour-tables.service"
        shutil.copy(HERE / "files" / "lab-neighbour-tables.service", unit)
        link = wants / "lab-neighbour-tables.service"
        if not link.is_symlink():
            link.symlink_to("/etc/systemd/system/lab-neighbour-tables.service")

    @property
    def demo_token(self) -> str:
        path = self.state / "demo_token"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text()

    def seed_demo_security(self, root: Path, s: dict) -> None:
        """Token and TLS for the demo service, handed to its DynamicUser as systemd credentials."""
        dropin = root / "etc/systemd/system/limen-demo-service.service.d/secure.conf"
        lines = []
        if s.get("token") or s.get("tls"):
            (root / "etc/limen-demo").mkdir(mode=0o700, parents=True, exist_ok=True)
        if s.get("token"):
            token = root / "etc/limen-demo/token"
            token.write_text(self.demo_token + "\n")
            token.chmod(0o600)
            lines += ["LoadCredential=token:/etc/limen-demo/token", "Environment=DEMO_TOKEN_FILE=%d/token"]
        if s.get("tls"):
            lines += ["LoadCredential=tls.crt:/etc/limen-demo/tls.crt",
                      "LoadCredential=tls.key:/etc/limen-demo/tls.key",
                      "Environment=DEMO_TLS_CERT=%d/tls.crt DEMO_TLS_KEY=%d/tls.key",
                      # the certificate arrives after boot: keep trying instead of giving up
                      "Restart=always", "RestartSec=2"]
        if lines:
            dropin.parent.mkdir(parents=True, exist_ok=True)
            dropin.write_text("[Unit]\nStartLimitIntervalSec=0\n[Service]\n" + "\n".join(lines) + "\n")
        elif dropin.exists():
            dropin.unlink()

    def boot(self, host: Host, root: Path) -> None:
        log = open(self.state / f"{host.name}.console", "ab")
        proc = subprocess.Popen(
            ["systemd-nspawn", "-b", "-D", str(root), "--register=no", "--keep-unit",
             "-M", self.ns(host), "--capability=CAP_NET_ADMIN,CAP_NET_RAW",
             f"--network-namespace-path=/run/netns/{self.ns(host)}", "--resolv-conf=copy-host",
             "--console=passive"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            env=self.boot_env(host))
        (self.state / f"{host.name}.pid").write_text(str(proc.pid))

    @staticmethod
    def boot_env(host: Host) -> dict:
        """LIMEN's host runs libvirt, whose network driver writes its bridge's settings under
        /proc/sys/net (read-only in a container by default). That tree belongs to the
        container's own network namespace, so making it writable reaches nothing else."""
        env = dict(os.environ)
        if host.service and host.service["limen"]:
            env["SYSTEMD_NSPAWN_API_VFS_WRITABLE"] = "network"
        return env

    def container_pid(self, host: Host) -> int | None:
        pidfile = self.state / f"{host.name}.pid"
        if not pidfile.exists():
            return None
        pid = int(pidfile.read_text())
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if b"systemd-nspawn" in cmdline else None

    def wait_ready(self, host: Host, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.container_pid(host) is None:
                raise LabError(f"{host.name}: container exited; see {self.state}/{host.name}.console")
            r = run(self.ssh_cmd(host, "systemctl is-system-running --wait"), check=False,
                    quiet=True, timeout=30)
            if r.returncode == 0 or r.stdout.strip() in ("running", "degraded"):
                return
            time.sleep(1)
        raise LabError(f"{host.name}: not reachable over SSH at {self.addr(host)} in {timeout:.0f}s")

    def ssh_cmd(self, host: Host, command: str) -> list[str]:
        return ["ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=no", "-o",
                "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=3",
                "-o", "BatchMode=yes", f"root@{self.addr(host)}", command]

    def write_inventory(self) -> None:
        groups: dict[str, dict] = {}
        for host in self.hosts:
            hv = {"ansible_host": self.addr(host)}
            if host.service:
                s = host.service
                endpoint = {"job": s["name"], "port": s["port"], "path": s["path"]}
                if s.get("tls"):
                    endpoint["scheme"] = "https"
                if s["limen"]:   # its port serves the API too: the firewall leaves it open
                    endpoint["firewall"] = "shared"
                hv["monitoring_endpoints"] = [endpoint]
            for g in host.groups:
                groups.setdefault(g, {"hosts": {}})["hosts"][host.name] = hv
        doc = {"all": {
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(self.key),
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no "
                                           "-o UserKnownHostsFile=/dev/null",
                "lab_controller_address": self.gateway("int"),
                "lab_internal_network": str(self.internal),
                "lab_outside_network": str(self.outside),
                "lab_guest_network": str(self.guests),
                "lab_receiver_url": f"http://{self.addr(self.hosts[-1])}:9095/alerts",
                "lab_release_url": f"http://{self.gateway('int')}:{SERVE_PORT}",
                "lab_release_dir": str(REPO / ".cache" / "releases"),
                "lab_mail_dir": str(self.mail_dir),
                "lab_smtp_smarthost": f"{self.gateway('int')}:{MAIL_PORT}",
                "lab_secure": self.secure,
                "lab_pki_dir": str(self.state / "pki"),
                # LIMEN_LAB_PLAIN=1: the scenario that proves the explicit opt-out of the secure default.
                **({"monitoring_plain_http": True} if os.environ.get("LIMEN_LAB_PLAIN") == "1" else {}),
                **({"lab_demo_token": self.demo_token} if self.secure else {}),
            },
            "children": groups}}
        INVENTORY.parent.mkdir(parents=True, exist_ok=True)
        tmp = INVENTORY.with_suffix(".tmp")
        tmp.write_text("# Written by lab/lab.py up; do not edit.\n" + json.dumps(doc, indent=2) + "\n")
        tmp.replace(INVENTORY)

    def status(self) -> None:
        for host in self.hosts:
            pid = self.container_pid(host)
            print(f"  {host.name:8} {self.addr(host):15} {'running pid ' + str(pid) if pid else 'down'}")

    def serve(self, directory: str) -> None:
        """An HTTP file server on the internal gateway, standing in for a release mirror."""
        if not self.state.is_dir():
            raise LabError("the lab is not up")
        pidfile = self.state / "serve.pid"
        if pidfile.exists():
            with_signal(int(pidfile.read_text()), signal.SIGTERM)
        proc = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(SERVE_PORT), "--bind", self.gateway("int"),
             "--directory", str(Path(directory).resolve())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        pidfile.write_text(str(proc.pid))
        print(f"serving {directory} at http://{self.gateway('int')}:{SERVE_PORT}/")

    @property
    def mail_dir(self) -> Path:
        return self.state / "mail"

    def mail(self) -> None:
        """The mail server the email receiver delivers to, with its own CA (mail_dir/ca.crt)."""
        if not self.state.is_dir():
            raise LabError("the lab is not up")
        d = self.mail_dir
        d.mkdir(mode=0o700, exist_ok=True)
        if not (d / "server.crt").exists():
            gw = self.gateway("int")
            run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"), "-days", "30", "-subj", "/CN=lab mail CA",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                quiet=True)
            run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"), "-subj", "/CN=lab-mail"], quiet=True)
            ext = d / "server.ext"
            ext.write_text(f"subjectAltName=IP:{gw}\nextendedKeyUsage=serverAuth\n"
                           "keyUsage=critical,digitalSignature\n")
            run(["openssl", "x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.crt"),
                 "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "30", "-extfile", str(ext),
                 "-out", str(d / "server.crt")], quiet=True)
        pidfile = d / "server.pid"
        if pidfile.exists() and Path(f"/proc/{pidfile.read_text().strip()}").exists():
            print(f"mail server already runs at {self.gateway('int')}:{MAIL_PORT}")
            return
        log = open(d / "server.log", "ab")  # noqa: SIM115 (handed to the child)
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "files" / "mail_server.py"), "--bind", self.gateway("int"),
             "--port", str(MAIL_PORT), "--dir", str(d)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        pidfile.write_text(str(proc.pid))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LabError(f"the mail server exited at once: see {d / 'server.log'}")
            try:
                socket.create_connection((self.gateway("int"), MAIL_PORT), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise LabError(f"the mail server does not answer on {self.gateway('int')}:{MAIL_PORT}")
        print(f"mail server at {self.gateway('int')}:{MAIL_PORT} (STARTTLS, AUTH), messages in {d / 'messages'}")

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise LabError(f"no host {name!r} in this lab (hosts: {', '.join(h.name for h in self.hosts)})")

    def stop(self, name: str) -> None:
        """A dead server: its container's init is killed (no shutdown, nothing flushed
        politely) and its cable pulled, so peers see silence, not refused connections."""
        host = self.host(name)
        pid = self.container_pid(host)
        if link_exists(self.veth(host)):
            run(["ip", "link", "set", self.veth(host), "down"])
        if pid is None:
            print(f"{name} is already down")
            return
        inits = [child for child, _ in processes() if parent_of(child) == pid]
        for init in inits:
            with_signal(init, signal.SIGKILL)
        wait_gone([pid], 20)
        if Path(f"/proc/{pid}").exists():
            with_signal(pid, signal.SIGKILL)
            wait_gone([pid], 5)
        # A power cut also loses the kernel's network state: the ruleset, bridges a daemon made,
        # sysctls. They live in the host's network namespace, which `up` makes again (a boot
        # must load its firewall and networks itself, as a real one does).
        if Path(f"/run/netns/{self.ns(host)}").exists():
            run(["ip", "netns", "del", self.ns(host)])
        # The kernel removes the namespace's links in the background: wait for the cable.
        deadline = time.monotonic() + 20
        while link_exists(self.veth(host)) and time.monotonic() < deadline:
            time.sleep(0.2)
        print(f"{name} is down (container killed, network unplugged); `lab.py up` brings it back")

    # ---- down -----------------------------------------------------------
    def down(self) -> None:
        """Remove by name, not only by state file, so a killed run is cleaned too."""
        servers = [p for p, cmd in python_pids() if f"--bind\0{self.gateway('int')}\0".encode() in cmd
                   and b"http.server" in cmd]
        servers += [p for p, cmd in python_pids() if f"--bind\0{self.gateway('int')}\0".encode() in cmd
                    and b"mail_server.py" in cmd]
        for pid in servers:
            with_signal(pid, signal.SIGTERM)
        everyone = all_hosts()
        pids = [p for p in nspawn_pids() if any(f"-M\0{self.ns(h)}\0".encode() in p[1]
                                                   for h in everyone)]
        for pid, _ in pids:
            with_signal(pid, signal.SIGTERM)
        wait_gone([p for p, _ in pids], 20)
        for pid, _ in pids:
            with_signal(pid, signal.SIGKILL)
        wait_gone([p for p, _ in pids], 5)
        for host in everyone:
            root = self.state / "hosts" / host.name / "root"
            if os.path.ismount(root):
                run(["umount", "-l", str(root)], check=False)
            if Path(f"/run/netns/{self.ns(host)}").exists():
                run(["ip", "netns", "del", self.ns(host)], check=False)
            if link_exists(self.veth(host)):
                run(["ip", "link", "del", self.veth(host)], check=False)
        for net in ("int", "out"):
            if link_exists(self.bridge(net)):
                run(["ip", "link", "del", self.bridge(net)], check=False)
        run(["nft", "delete", "table", "ip", self.table], check=False, quiet=True)
        remove_tree(self.state)   # never through a host root still mounted
        others = [d for d in STATE_ROOT.iterdir() if d.is_dir()] if STATE_ROOT.is_dir() else []
        if not others:
            for key in MACHINE_SETTINGS:
                restore_setting(key)
        INVENTORY.unlink(missing_ok=True)
        print(f"lab '{self.name}' is down")


# ---- helpers ------------------------------------------------------------
def run(cmd, check=True, quiet=False, stdin=None, timeout=None):
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        # The last lines say why (debootstrap prints hundreds of progress lines before).
        why = "\n".join((r.stderr.strip() or r.stdout.strip()).splitlines()[-15:])
        raise LabError(f"{' '.join(cmd)} failed ({r.returncode}): {why}")
    return r


@contextlib.contextmanager
def exclusive(lock: Path):
    """Hold an exclusive lock on the file LOCK (made with its directory) for the block."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def unmount_under(path: Path) -> None:
    """Unmount every mount point under PATH, deepest first: removing a tree through a mounted
    /proc (what a failed debootstrap leaves in its target) walks the machine's own."""
    prefix = str(path.resolve()) + "/"
    points = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        run(["umount", "-l", point], check=False)


def remove_tree(path: Path) -> None:
    unmount_under(path)
    shutil.rmtree(path, ignore_errors=True)


def raise_setting(key: str, value: int) -> None:
    """Set /proc/sys/KEY to at least VALUE, keeping one record of the machine's own value."""
    proc = Path("/proc/sys") / key
    saved = STATE_ROOT / (key.rsplit("/", 1)[1] + ".orig")
    current = proc.read_text()
    if not saved.exists():
        saved.write_text(current)
    if int(current) < value:
        proc.write_text(f"{value}\n")


def restore_setting(key: str) -> None:
    saved = STATE_ROOT / (key.rsplit("/", 1)[1] + ".orig")
    if saved.exists():
        (Path("/proc/sys") / key).write_text(saved.read_text())
        saved.unlink()


def link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def processes() -> list[tuple[int, bytes]]:
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                found.append((int(d.name), (d / "cmdline").read_bytes()))
            except OSError:
                continue
    return found


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def nspawn_pids() -> list[tuple[int, bytes]]:
    return [(pid, cmd) for pid, cmd in processes() if cmd.startswith(b"systemd-nspawn\0")]


def python_pids() -> list[tuple[int, bytes]]:
    return [(pid, cmd) for pid, cmd in processes() if b"python" in cmd.split(b"\0", 1)[0]]


def with_signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.2)


def check_host() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, nspawn, nftables): run it as root")
    missing = sorted({pkg for tool, pkg in HOST_TOOLS.items() if shutil.which(tool) is None})
    if missing and shutil.which("apt-get"):
        print(f"installing {' '.join(missing)}...", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env, check=False,
                       stdout=subprocess.DEVNULL)
        missing = sorted({pkg for tool, pkg in HOST_TOOLS.items() if shutil.which(tool) is None})
    if missing:
        raise LabError(f"missing Debian packages: {' '.join(missing)} (apt-get install them)")
    if "overlay" not in Path("/proc/filesystems").read_text():
        raise LabError("the kernel has no overlay filesystem (modprobe overlay)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["up", "down", "status", "serve", "stop", "mail"])
    p.add_argument("directory", nargs="?", help="with serve: the directory to serve; with stop: the host")
    p.add_argument("--name", default=os.environ.get("LIMEN_LAB_NAME", "limen"))
    p.add_argument("--subnet", default=os.environ.get("LIMEN_LAB_SUBNET", "10.210.0.0/16"))
    p.add_argument("--suite", default=os.environ.get("LIMEN_LAB_SUITE", "trixie"),
                   choices=["bookworm", "trixie"])
    p.add_argument("--topology", default=os.environ.get("LIMEN_LAB_TOPOLOGY", "default"),
                   choices=TOPOLOGIES)
    a = p.parse_args(argv)
    if len(a.name) > 6 or not a.name.isalnum():
        print(f"lab: --name {a.name!r}: use up to 6 letters or digits (interface names are short)",
              file=sys.stderr)
        return 2
    try:
        lab = Lab(a.name, a.subnet, a.suite, a.topology, os.environ.get("LIMEN_LAB_SECURE", "") == "1")
        if a.action == "up":
            lab.check_suite()
            try:
                lab.up()
            except BaseException:
                print("lab: up failed; removing what it made", file=sys.stderr)
                lab.down()
                raise
        elif a.action == "down":
            lab.down()
        elif a.action == "stop":
            if not a.directory:
                raise LabError("stop needs a host name")
            lab.stop(a.directory)
        elif a.action == "mail":
            lab.mail()
        elif a.action == "serve":
            if not a.directory:
                raise LabError("serve needs a directory")
            lab.serve(a.directory)
        else:
            lab.status()
    except LabError as e:
        print(f"lab: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
