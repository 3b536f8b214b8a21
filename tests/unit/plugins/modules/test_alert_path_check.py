"""alert_path_check's HTTP side against a real local server that answers like Prometheus and Alertmanager."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.limen.monitoring.plugins.modules.alert_path_check import check, request

AM_USER, AM_PASSWORD = "limen-internal", "am-secret"


class Fake(BaseHTTPRequestHandler):
    state = {}

    def log_message(self, *args):
        pass

    def send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        s = self.state
        if self.path.startswith("/api/v1/targets"):
            return self.send(200, {"data": {"activeTargets": s["targets"]}})
        if self.path.startswith("/api/v1/query"):
            query = parse_qs(urlsplit(self.path).query)["query"][0]
            return self.send(200, {"status": "success", "data": {"resultType": "matrix",
                                                                 "result": s["queries"].get(query.split("[")[0], [])}})
        if self.path.startswith("/api/v1/alertmanagers"):
            return self.send(200, {"data": {"activeAlertmanagers": [{"url": s["am_url"] + "/api/v2/alerts"}]}})
        wanted = "Basic " + base64.b64encode(f"{AM_USER}:{AM_PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != wanted:
            return self.send(401, {})
        if self.path.startswith("/api/v2/status"):
            return self.send(200, {})
        if self.path.startswith("/api/v2/alerts"):
            return self.send(200, s["alerts"])
        return self.send(404, {})


@pytest.fixture()
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_port}"
    Fake.state = {"am_url": url, "alerts": [{"labels": {"alertname": "Watchdog", "monitor": "mon"}}],
                  "targets": [{"labels": {"job": j, "instance": "x:1"}, "health": "up"}
                              for j in ("prometheus", "alertmanager", "node")], "queries": {}}
    yield url
    srv.shutdown()


def params(url, tmp_path, password=AM_PASSWORD):
    secret = tmp_path / "alertmanager.password"
    secret.write_text(password + "\n")
    return {"prometheus": {"url": url, "username": "", "password": "", "ca_file": ""},
            "alertmanagers": [{"name": "am:9093", "url": url, "username": AM_USER, "password": AM_PASSWORD,
                               "ca_file": ""}],
            "delivery": {"username": AM_USER, "password_file": str(secret), "ca_file": ""},
            "jobs": ["prometheus", "alertmanager", "node"], "external_labels": {"monitor": "mon"},
            "receivers": [{"name": "mail", "integrations": ["email"]}], "notification_lookback": "1h"}


def test_a_healthy_path_has_no_problem(server, tmp_path):
    assert check(params(server, tmp_path), 0) == ([], False)


def test_a_receiver_whose_last_notification_failed_is_named_at_once(server, tmp_path):
    labels = {"instance": "am:9093", "integration": "email"}
    Fake.state["queries"] = {
        "alertmanager_notification_requests_total": [{"metric": labels, "values": [[1, "0"], [2, "1"]]}],
        "alertmanager_notification_requests_failed_total": [{"metric": labels, "values": [[1, "0"], [3, "1"]]}]}
    problems, definitive = check(params(server, tmp_path), 0)
    assert definitive
    assert problems == ["Alertmanager am:9093 cannot deliver to the email receiver(s) mail (this Alertmanager "
                        "version does not say which): its last notification failed — check that receiver in "
                        "alertmanager_receivers (server, credentials, CA); Alertmanager's log names the error"]


def test_a_wrong_delivery_password_is_named_at_once(server, tmp_path):
    problems, definitive = check(params(server, tmp_path, password="wrong"), 0)
    assert definitive
    assert problems == ["Prometheus cannot deliver to Alertmanager am:9093: 401 Unauthorized — check "
                        "alertmanager_web_users / alertmanager_internal_user (and "
                        "prometheus_alertmanager_settings, if set)"]


def test_a_missing_watchdog_and_a_down_target_are_waited_for(server, tmp_path):
    Fake.state["alerts"] = [{"labels": {"alertname": "Watchdog", "monitor": "other"}}]
    Fake.state["targets"][2].update(health="down", lastError="connection refused")
    problems, definitive = check(params(server, tmp_path), 5)
    assert not definitive
    assert any("node target x:1: connection refused" in p for p in problems)
    assert any("Watchdog alert did not reach Alertmanager am:9093 within 5 s" in p for p in problems)


def test_request_reports_connection_errors_in_words():
    body, err = request("http://127.0.0.1:9/nothing", timeout=2)
    assert body is None and "refused" in err.lower()
