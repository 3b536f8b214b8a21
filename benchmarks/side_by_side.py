#!/usr/bin/env python3
"""Benchmark (not a test): limen.monitoring against prometheus.prometheus, side by side.

Each round converges both on a fresh lab, in alternating order (A B, B A, ...), and times
  - the first converge and the idempotent re-run right after it (changed=0 required);
  - limen.monitoring: site.yml on the lab's three hosts (monitor, svc1, svc2: every
    component, the firewall, the dashboards) and `--tags targets` (what registering a new
    service costs);
  - prometheus.prometheus 0.30.2: its prometheus, alertmanager and node_exporter roles on
    the monitor host, release tarballs served from this machine (its only install method).
Lab creation is not timed; each timed run gets a fresh SSH control path.

The anchor is installed offline from a git mirror of prometheus-community/ansible, with
community.general from the PyPI `ansible` wheel `make setup` keeps in .cache/wheels. Its
tarballs are built from Debian's binaries (lab/release_tarballs.py). Everything the
benchmark makes (labs, the HTTP server, temporary directories) is removed at the end.

With MITOGEN=1, limen.monitoring also runs under Mitogen's mitogen_linear strategy (a third
fresh lab per round).

Usage: LIMEN_LAB_SUITE=bookworm .venv/bin/python benchmarks/side_by_side.py ANCHOR_GIT_DIR [ROUNDS]
Prints each run, the medians and the ratios; writes them to .cache/side_by_side.json.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import venv_tools  # beside this script: puts the venv's tools on PATH

venv_tools.put_on_path()
REPO = Path(__file__).resolve().parent.parent
VERSIONS = {"prometheus": "2.42.0", "alertmanager": "0.25.0", "node_exporter": "1.5.0"}   # bookworm's
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
ANCHOR_PLAY = """\
- name: Monitoring stack (prometheus.prometheus)
  hosts: mon
  become: true
  vars:
    art: "{art}"
    cache: "{cache}"
    prometheus_version: {prometheus}
    prometheus_binary_url: "{{{{ art }}}}/prometheus/releases/download/v{{{{ prometheus_version }}}}/prometheus-{{{{ prometheus_version }}}}.linux-amd64.tar.gz"
    prometheus_checksums_url: "{{{{ art }}}}/prometheus/releases/download/v{{{{ prometheus_version }}}}/sha256sums.txt"
    prometheus_local_cache_path: "{{{{ cache }}}}/prometheus/{{{{ prometheus_version }}}}"
    alertmanager_version: {alertmanager}
    alertmanager_binary_url: "{{{{ art }}}}/alertmanager/releases/download/v{{{{ alertmanager_version }}}}/alertmanager-{{{{ alertmanager_version }}}}.linux-amd64.tar.gz"
    alertmanager_checksums_url: "{{{{ art }}}}/alertmanager/releases/download/v{{{{ alertmanager_version }}}}/sha256sums.txt"
    alertmanager_local_cache_path: "{{{{ cache }}}}/alertmanager/{{{{ alertmanager_version }}}}"
    node_exporter_version: {node_exporter}
    node_exporter_binary_url: "{{{{ art }}}}/node_exporter/releases/download/v{{{{ node_exporter_version }}}}/node_exporter-{{{{ node_exporter_version }}}}.linux-amd64.tar.gz"
    node_exporter_checksums_url: "{{{{ art }}}}/node_exporter/releases/download/v{{{{ node_exporter_version }}}}/sha256sums.txt"
    node_exporter_local_cache_path: "{{{{ cache }}}}/node_exporter/{{{{ node_exporter_version }}}}"
    alertmanager_receivers: [{{name: "null"}}]
    alertmanager_route: {{receiver: "null", group_by: [alertname]}}
    prometheus_alertmanager_config: [{{static_configs: [{{targets: ["127.0.0.1:9093"]}}]}}]
    prometheus_targets: {{node: [{{targets: ["127.0.0.1:9100"]}}]}}
  roles:
    - prometheus.prometheus.prometheus
    - prometheus.prometheus.alertmanager
    - prometheus.prometheus.node_exporter
"""


def lab(*args):
    subprocess.run([sys.executable, str(REPO / "lab" / "lab.py"), *args], check=True, cwd=REPO,
                   stdout=subprocess.DEVNULL)


def lab_vars():
    doc = json.loads((REPO / "inventories/lab/hosts.yml").read_text().split("\n", 1)[1])
    hosts = {n: hv for g in doc["all"]["children"].values() for n, hv in g["hosts"].items()}
    return doc["all"]["vars"], hosts


def playbook(args, env, cwd):
    """(seconds, changed by host) of one ansible-playbook run; fails loudly."""
    with tempfile.TemporaryDirectory(prefix="bench-cp-") as control:
        run_env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_SSH_CONTROL_PATH_DIR=control, **env)
        start = time.monotonic()
        r = subprocess.run(["ansible-playbook", *args], cwd=cwd, env=run_env, capture_output=True, text=True)
        took = time.monotonic() - start
    out = r.stdout + r.stderr
    if r.returncode:
        sys.exit(f"ansible-playbook {' '.join(args)} failed:\n{out[-4000:]}")
    return took, {m[0]: int(m[1]) for m in RECAP.findall(out)}


def drift():
    """Seconds of a fixed Python loop: shows whether the machine's speed moved between rounds."""
    start = time.perf_counter()
    sum(i * i for i in range(3_000_000))
    return round(time.perf_counter() - start, 3)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Anchor:
    """prometheus.prometheus installed offline into a scratch collections path."""

    def __init__(self, git_dir: Path, work: Path):
        self.work = work
        collections = work / "collections"
        source = work / "src"
        source.mkdir(parents=True)
        archive = subprocess.run(["git", "--git-dir", str(git_dir), "archive", "--format=tar", "--prefix=pc/", "HEAD"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
        wheel = next((REPO / ".cache/wheels").glob("ansible-*-py3-none-any.whl"), None)
        if wheel is None:
            sys.exit("no PyPI ansible wheel in .cache/wheels: run `make setup` first")
        with zipfile.ZipFile(wheel) as z:
            z.extractall(collections, [n for n in z.namelist()
                                       if n.startswith("ansible_collections/community/general/")])
        subprocess.run(["ansible-galaxy", "collection", "install", str(source / "pc"), "-p", str(collections),
                        "--offline", "--no-deps"], check=True, capture_output=True)
        self.releases = work / "releases"
        subprocess.run([sys.executable, str(REPO / "lab/release_tarballs.py"), str(work / "built"),
                        *[f"{n}={v}" for n, v in VERSIONS.items()]], check=True, capture_output=True)
        for name, version in VERSIONS.items():   # upstream's URL layout: <name>/releases/download/v<version>/
            target = self.releases / name / "releases" / "download"
            target.mkdir(parents=True)
            (target / f"v{version}").symlink_to(work / "built" / name / f"v{version}")
        self.collections = collections
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(self.releases)))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def prepare(self):
        """Inventory and play for the current lab; what Debian's alertmanager needs; an empty cache."""
        lvars, hosts = lab_vars()
        cache = self.work / "cache"
        shutil.rmtree(cache, ignore_errors=True)
        (self.work / "inventory.ini").write_text(
            f"[mon]\nmonitor ansible_host={hosts['monitor']['ansible_host']} ansible_user=root "
            f"ansible_ssh_private_key_file={lvars['ansible_ssh_private_key_file']}\n")
        (self.work / "site.yml").write_text(ANCHOR_PLAY.format(
            art=f"http://127.0.0.1:{self.server.server_port}", cache=cache, **VERSIONS))
        (self.work / "ansible.cfg").write_text(
            f"[defaults]\ninventory = {self.work / 'inventory.ini'}\ncollections_path = {self.collections}\n"
            "host_key_checking = False\ninterpreter_python = auto_silent\n\n[ssh_connection]\npipelining = True\n")
        templates = self.work / "built" / "alertmanager" / f"v{VERSIONS['alertmanager']}" / "debian-templates"
        for tmpl in sorted(templates.glob("*.tmpl")):
            subprocess.run(["ssh", "-i", lvars["ansible_ssh_private_key_file"], "-o", "StrictHostKeyChecking=no",
                            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                            f"root@{hosts['monitor']['ansible_host']}",
                            f"mkdir -p /usr/share/prometheus/alertmanager && cat > "
                            f"/usr/share/prometheus/alertmanager/{tmpl.name}"],
                           input=tmpl.read_bytes(), check=True)

    def run(self):
        return playbook(["site.yml"], {"ANSIBLE_CONFIG": str(self.work / "ansible.cfg")}, self.work)

    def close(self):
        self.server.shutdown()


def limen_run(*extra, mitogen=False):
    env = {"ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    if mitogen:   # what docs/speed.md says to set (make setup links the plugins there)
        env.update(ANSIBLE_STRATEGY="mitogen_linear", ANSIBLE_STRATEGY_PLUGINS=str(REPO / ".cache/mitogen-strategy"))
    return playbook(["site.yml", *extra], env, REPO)


def converge(name, first, rerun):
    took_first, _ = first()
    took_again, changed = rerun()
    if any(changed.values()):
        sys.exit(f"{name}: the re-run changed something: {changed}")
    return took_first, took_again


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    git_dir, rounds = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 3
    tools = ["anchor", "limen"] + (["limen_mitogen"] if os.environ.get("MITOGEN") == "1" else [])
    results = {**{t: [] for t in tools}, "limen_tags_targets": [], "drift": [], "load": []}
    with tempfile.TemporaryDirectory(prefix="side-by-side-") as tmp, contextlib.ExitStack() as stack:
        anchor = Anchor(git_dir, Path(tmp))
        stack.callback(anchor.close)
        stack.callback(lab, "down")
        for i in range(rounds):
            results["drift"].append(drift())
            results["load"].append(os.getloadavg()[0])
            for tool in (tools if i % 2 == 0 else tools[::-1]):
                lab("down")
                lab("up")
                if tool == "anchor":
                    anchor.prepare()
                    results["anchor"].append(converge("prometheus.prometheus", anchor.run, anchor.run))
                elif tool == "limen":
                    results["limen"].append(converge("limen.monitoring", limen_run, limen_run))
                    results["limen_tags_targets"].append(limen_run("--tags", "targets")[0])
                else:
                    run = functools.partial(limen_run, mitogen=True)
                    results[tool].append(converge("limen.monitoring under Mitogen", run, run))
                print(f"round {i + 1} {tool}: first {results[tool][-1][0]:.1f} s, re-run {results[tool][-1][1]:.1f} s",
                      flush=True)
    med = {tool: [round(statistics.median(r[k] for r in results[tool]), 1) for k in (0, 1)] for tool in tools}
    summary = {
        f"{what}_s": {**{t: med[t][k] for t in tools},
                      **{f"ratio_{t}": round(med[t][k] / med["anchor"][k], 2) for t in tools[1:]}}
        for k, what in enumerate(("first_converge", "rerun"))}
    summary.update(limen_tags_targets_s=round(statistics.median(results["limen_tags_targets"]), 1),
                   rounds=rounds, runs=results)
    (REPO / ".cache").mkdir(exist_ok=True)
    (REPO / ".cache/side_by_side.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
