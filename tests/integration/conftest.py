"""Helpers for the integration tests: they run against the converged lab (lab/lab.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAB_INVENTORY = REPO / "inventories" / "lab"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


class Lab:
    def __init__(self):
        doc = json.loads((LAB_INVENTORY / "hosts.yml").read_text().split("\n", 1)[1])
        self.vars = doc["all"]["vars"]
        self.hosts = {}
        self.groups = {}
        for group, body in doc["all"]["children"].items():
            self.groups[group] = list(body["hosts"])
            for name, hv in body["hosts"].items():
                self.hosts[name] = hv
        self.monitor = self.hosts["monitor"]["ansible_host"]
        # The secure default, unless the scenario chose the opt-out (LIMEN_LAB_PLAIN=1).
        self.secure = not self.vars.get("monitoring_plain_http", False)
        self.scheme = "https" if self.secure else "http"
        self.prometheus = f"{self.scheme}://{self.monitor}:9090"
        self.alertmanager = f"{self.scheme}://{self.monitor}:9093"
        self.receiver = self.vars["lab_receiver_url"]
        # What the run made on the controller (inventories/lab: pki_dir, pki_secrets_dir).
        self.ca = Path(self.vars["lab_pki_dir"]) / "ca.crt"
        self.secrets = Path(self.vars["lab_pki_dir"]).parent / "secrets"
        if self.secure:
            install_lab_opener(self)

    def password(self, component):
        """The internal user's password the run generated for COMPONENT."""
        return (self.secrets / component).read_text().strip()

    def addr(self, host):
        return self.hosts[host]["ansible_host"]

    def ssh(self, host, command, check=True, timeout=60, stdin=None):
        cmd = ["ssh", "-i", self.vars["ansible_ssh_private_key_file"], "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
               "-o", f"ConnectTimeout={min(timeout, 10)}", f"root@{self.addr(host)}", command]
        try:
            r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            r = subprocess.CompletedProcess(cmd, 255, "", f"timed out after {timeout}s")
        if check and r.returncode != 0:
            raise AssertionError(f"ssh {host} {command!r} failed: {r.stderr}{r.stdout}")
        return r

    def query(self, promql, base=None):
        url = (base or self.prometheus) + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        body = http_json(url)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def targets(self):
        return http_json(self.prometheus + "/api/v1/targets?state=active")["data"]["activeTargets"]


INTERNAL_USER = "limen-internal"


class BasicAuthHandler(urllib.request.HTTPBasicAuthHandler):
    """Sends basic auth up front; a 401 asking for another scheme (a service's Bearer token) is
    returned to the test as that 401, where urllib's own handler raises ValueError."""

    def http_error_401(self, req, fp, code, msg, headers):
        if not any(h.lower().startswith("basic") for h in headers.get_all("www-authenticate") or []):
            return None
        return super().http_error_401(req, fp, code, msg, headers)


def install_lab_opener(lab):
    """Every urllib request of the tests verifies TLS against the lab's generated CA and logs in
    to Prometheus and Alertmanager as their internal users (sent at once, not after a 401)."""
    if not lab.ca.is_file():
        return  # not converged yet: the tests that need it fail on the connection, naming it
    passwords = urllib.request.HTTPPasswordMgrWithPriorAuth()
    for base, component in ((lab.prometheus, "prometheus"), (lab.alertmanager, "alertmanager")):
        if (lab.secrets / component).is_file():
            passwords.add_password(None, base, INTERNAL_USER, lab.password(component), is_authenticated=True)
    context = ssl.create_default_context(cafile=str(lab.ca))
    urllib.request.install_opener(urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context), BasicAuthHandler(passwords)))


def http_json(url, method="GET", data=None, timeout=10):
    req = urllib.request.Request(url, method=method, data=data)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def wait_for(predicate, timeout, interval=1.0, what="condition"):
    """Poll PREDICATE until it returns a truthy value; fail with its last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (OSError, urllib.error.URLError, AssertionError, KeyError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def notifications(lab, alertname, status, **labels):
    """Alerts of ALERTNAME in STATUS that the receiver on the outside host got."""
    found = []
    for note in http_json(lab.receiver):
        for alert in note["body"]["alerts"]:
            if (alert["labels"].get("alertname") == alertname and alert["status"] == status
                    and all(alert["labels"].get(k) == v for k, v in labels.items())):
                found.append(alert)
    return found


def playbook(*args, inventory=None, check=True, env=None):
    """Run ansible-playbook from the repo; returns (returncode, output, recap by host)."""
    cmd = [shutil.which("ansible-playbook") or "ansible-playbook", *args]
    if inventory:
        cmd += ["-i", str(inventory)]
    full_env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                    ANSIBLE_FORCE_COLOR="0", **(env or {}))
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=full_env, timeout=900)
    out = ANSI.sub("", r.stdout + r.stderr)
    recap = {m[0]: {"ok": int(m[1]), "changed": int(m[2]), "unreachable": int(m[3]),
                    "failed": int(m[4])} for m in RECAP.findall(out)}
    if check and r.returncode != 0:
        raise AssertionError(f"ansible-playbook {' '.join(args)} failed:\n{out[-6000:]}")
    return r.returncode, out, recap


@pytest.fixture(scope="session")
def lab():
    return Lab()


def pytest_configure(config):
    config.addinivalue_line("markers", "replaces_lab: converges the lab with another inventory and CA; runs last")


def pytest_collection_modifyitems(items):
    # A test that replaces the lab's CA and firewall runs after every test that relies on them,
    # wherever it sits in its file (the sort is stable: the others keep their order).
    items.sort(key=lambda item: item.get_closest_marker("replaces_lab") is not None)
