"""switch_silence against a real Alertmanager and a real Prometheus on loopback (Debian's binaries)."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
from module_runner import run_module

from ansible_collections.limen.monitoring.plugins.module_utils.switch_silence import CREATED_BY, shortened
from ansible_collections.limen.monitoring.plugins.modules.switch_silence import call

BINARIES = {name: shutil.which(name) for name in ("prometheus", "prometheus-alertmanager")}
pytestmark = pytest.mark.skipif(not all(BINARIES.values()), reason="needs Debian's prometheus and alertmanager (make tools)")


TEMPLATES = "/usr/share/prometheus/alertmanager/default.tmpl"


def alertmanager(*flags):
    """Debian's alertmanager reads its templates from /usr/share/prometheus/alertmanager; with
    the binary from `make tools` (not installed), they are laid over /usr/share in a mount
    namespace of its own."""
    binary = BINARIES["prometheus-alertmanager"]
    if os.path.isfile(TEMPLATES):
        return [binary, *flags]
    share = os.path.join(os.path.dirname(os.path.dirname(binary)), "share")
    script = f'mount -t overlay overlay -o lowerdir=/usr/share:{share} /usr/share && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", binary, *flags]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def start(cmd, ready, processes):
    processes.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    for _ in range(100):
        try:
            urllib.request.urlopen(ready, timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    processes[-1].kill()
    raise AssertionError(f"{cmd[0]} did not become ready: {processes[-1].stderr.read()[-2000:]!r}")


@pytest.fixture()
def stack(tmp_path, request):
    """A Prometheus whose node job scrapes itself (and the PARAM targets) with a password file,
    sending to an Alertmanager."""
    am, prom = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    targets = json.dumps([prom, *getattr(request, "param", [])])
    (tmp_path / "am.yml").write_text("route: {receiver: none}\nreceivers: [{name: none}]\n")
    (tmp_path / "node.password").write_text("old-password\n")
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""\
global:
  scrape_interval: 1s
  evaluation_interval: 1s

alerting:
  alertmanagers:
    - path_prefix: /
      scheme: http
      static_configs:
        - targets: ["{am}"]

scrape_configs:
  - job_name: node
    basic_auth:
      username: limen-internal
      password_file: {tmp_path / "node.password"}
    static_configs:
      - targets: {targets}
""")
    processes = []
    try:
        start(alertmanager(f"--config.file={tmp_path / 'am.yml'}", f"--web.listen-address={am}",
               f"--storage.path={tmp_path / 'am-data'}", "--cluster.listen-address="), f"http://{am}/-/ready", processes)
        start([BINARIES["prometheus"], f"--config.file={config}", f"--web.listen-address={prom}",
               f"--storage.tsdb.path={tmp_path / 'tsdb'}"], f"http://{prom}/-/ready", processes)
        yield {"config": str(config), "am": f"http://{am}", "prom": f"http://{prom}"}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)


def node(password):
    return {"node": {"scheme": "http", "username": "limen-internal", "password": password, "ca_file": ""}}


def run_silences(stack):
    return [s for s in get(stack["am"] + "/api/v2/silences") if s["createdBy"] == CREATED_BY]


def test_a_new_password_is_silenced_until_the_target_is_up_then_expired(stack):
    failed, result = run_module("switch_silence", {"config": stack["config"], "clients": node("new-password")}, check=True)
    assert not failed and result["changed"] and result["jobs"] == {"node": ["password"]}, result
    assert run_silences(stack) == [], "check mode creates nothing"

    failed, result = run_module("switch_silence", {"config": stack["config"], "clients": node("new-password")})
    assert not failed and result["changed"] and len(result["silences"]) == 1, result
    assert "new-password" not in json.dumps(result) and "old-password" not in json.dumps(result)
    [made] = run_silences(stack)
    assert made["id"] == result["silences"][0] and made["status"]["state"] == "active"
    assert {m["name"]: m["value"] for m in made["matchers"]} == {
        "alertname": "HostDown|TargetDown|ProbeFailed", "job": "node|node_exporter"}

    # The end of the run: the target is up, no alert of the job pending or firing: expired.
    end = {"config": stack["config"], "state": "absent", "prometheus": {"url": stack["prom"]}, "timeout": 60}
    failed, result = run_module("switch_silence", end)
    assert not failed and result["changed"] and result["silences"] == [made["id"]], result
    assert [s["status"]["state"] for s in run_silences(stack)] == ["expired"]
    failed, result = run_module("switch_silence", end)
    assert not failed and not result["changed"], result


def test_alertmanager_takes_the_shortened_silence_of_a_lingering_switch(stack):
    run_module("switch_silence", {"config": stack["config"], "clients": node("new-password")})
    [made] = run_silences(stack)
    now = datetime.datetime.now(datetime.timezone.utc)
    [body] = shortened(run_silences(stack), now)
    call(stack["am"] + "/api/v2/silences", method="POST", data=body)
    [after] = [s for s in run_silences(stack) if s["status"]["state"] == "active"]
    ends = datetime.datetime.fromisoformat(after["endsAt"].replace("Z", "+00:00"))
    assert after["matchers"] == made["matchers"] and abs((ends - now).total_seconds() - 360) < 5, after


def test_a_converged_server_gets_no_silence(stack):
    failed, result = run_module("switch_silence", {"config": stack["config"], "clients": node("old-password")})
    assert not failed and not result["changed"] and result["jobs"] == {}, result
    assert run_silences(stack) == []


@pytest.mark.parametrize("stack", [[f"127.0.0.1:{free_port()}"]], indirect=True)   # nothing answers there
def test_a_target_still_down_keeps_the_silence_and_says_why(stack):
    run_module("switch_silence", {"config": stack["config"], "clients": node("new-password")})
    for _ in range(100):   # Prometheus lists its static targets a moment after it starts
        if len(get(stack["prom"] + "/api/v1/targets?state=active")["data"]["activeTargets"]) == 2:
            break
        time.sleep(0.2)
    failed, result = run_module("switch_silence", {"config": stack["config"], "state": "absent",
                                                   "prometheus": {"url": stack["prom"]}, "timeout": 3})
    assert not failed and not result["changed"], result
    assert [s["status"]["state"] for s in run_silences(stack)] == ["active"]
    assert any(reason.startswith("target node 127.0.0.1:") for reason in result["waiting_for"]), result
    assert "stays until it expires by itself" in json.dumps(result.get("warnings")), result


def test_nothing_deployed_is_nothing_to_do(tmp_path):
    failed, result = run_module("switch_silence", {"config": str(tmp_path / "absent.yml"), "clients": node("x")})
    assert not failed and not result["changed"], result
