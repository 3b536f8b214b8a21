"""The files prometheus_targets writes, read by a real Prometheus (Debian's binary, from
`make tools`) scraping a real HTTP endpoint on loopback: a query in metrics_path reaches
the endpoint as URL parameters (__param_*), and one host:port on two paths is two targets."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import sync


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Endpoint(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.seen.append(self.path)
        body = b"# TYPE limen_up gauge\nlimen_up 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def wait_for(what, check, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_prometheus_scrapes_params_and_both_paths(tmp_path):
    binary = shutil.which("prometheus")
    if not binary:
        pytest.fail("prometheus not found: run `make tools` (it is taken from Debian's prometheus package)")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    sd = tmp_path / "file_sd"
    sync({"directory": str(sd), "job": None, "prune": True, "mode": None, "jobs": [{"name": "limen", "targets": [
        {"host": "127.0.0.1", "port": port, "metrics_path": "/api/v1/metrics?format=prometheus&x=a b"},
        {"host": "127.0.0.1", "port": port, "metrics_path": "/other"}]}]})
    web = free_port()
    (tmp_path / "prometheus.yml").write_text(json.dumps({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": "limen", "file_sd_configs": [
            {"files": [str(sd / "limen.json")], "refresh_interval": "1s"}]}]}))
    proc = subprocess.Popen([binary, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{web}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for("both scrapes", lambda: {"/api/v1/metrics?format=prometheus&x=a+b", "/other"} <= set(Endpoint.seen))

        def targets():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web}/api/v1/targets") as r:
                    active = json.load(r)["data"]["activeTargets"]
            except OSError:
                return None
            return sorted(t["scrapeUrl"] for t in active if t["health"] == "up") if len(active) == 2 else None
        urls = wait_for("two healthy targets", lambda: (t := targets()) and len(t) == 2 and t)
        assert urls == [f"http://127.0.0.1:{port}/api/v1/metrics?format=prometheus&x=a+b",
                        f"http://127.0.0.1:{port}/other"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        server.shutdown()
