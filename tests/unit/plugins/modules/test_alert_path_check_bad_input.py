"""alert_path_check on bad input: FIFOs, bad arguments, strange answers, a missing CA.

Each case runs for real: hangs are caught by a timeout (a FIFO or /dev/zero that is opened
blocks or never ends), tracebacks by run_module, "nothing changed" by a digest of the whole tree.
"""

from __future__ import annotations

import os

from module_runner import run_module

from ansible_collections.limen.monitoring.plugins.modules import alert_path_check


def test_alert_path_check_secret_and_ca_fifos_are_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for args, option in (({"delivery": {"password_file": str(tmp_path / "fifo")}}, "delivery.password_file"),
                         ({"prometheus": {"url": "https://127.0.0.1:9", "ca_file": str(tmp_path / "fifo")}},
                          "prometheus.ca_file")):
        failed, r = run_module("alert_path_check", {"prometheus": {"url": "http://127.0.0.1:9"}, "timeout": 0,
                                                    **args}, timeout=20)
        assert failed and f"{option}: {tmp_path}/fifo is a FIFO (named pipe)" in r["msg"], r


def test_alert_path_check_bad_arguments_are_messages(tmp_path):
    cases = [({"delivery": {"password_file": str(tmp_path / "missing")}},
              f"delivery.password_file: {tmp_path}/missing does not exist"),
             ({"delivery": {"password_file": str(tmp_path)}}, f"delivery.password_file: {tmp_path} is a directory"),
             ({"interval": -1}, "interval: -1.0 must be a number of seconds above 0"),
             ({"prometheus": {"url": "http://127.0.0.1:9", "ca_file": str(tmp_path / "ca.crt")}},
              f"prometheus.ca_file: {tmp_path}/ca.crt does not exist")]
    for args, message in cases:
        failed, r = run_module("alert_path_check", {"prometheus": {"url": "http://127.0.0.1:9"}, "timeout": 0, **args})
        assert failed and message in r["msg"], r


def test_alert_path_check_check_survives_a_strange_answer(monkeypatch):
    monkeypatch.setattr(alert_path_check, "request", lambda url, *a, **k: ({"status": "success"}, None))
    p = {"prometheus": {"url": "http://p:9090", "username": "", "password": "", "ca_file": ""}, "alertmanagers": [],
         "delivery": {}, "jobs": ["node"], "external_labels": {}}
    problems, definitive = alert_path_check.check(p, 0, "")
    assert definitive and problems == ["Prometheus at http://p:9090/api/v1/targets?state=active answered JSON of an "
                                       "unexpected shape: the answer is a mapping with keys 'status', where a "
                                       "mapping with 'data' was expected"]


def test_a_missing_ca_file_is_named(tmp_path):
    failed, r = run_module("alert_path_check", {
        "prometheus": {"url": "https://127.0.0.1:9"}, "timeout": 0,
        "alertmanagers": [{"name": "am", "url": "https://127.0.0.1:9", "ca_file": str(tmp_path / "am-ca.crt")}]})
    assert failed and f"alertmanagers[0].ca_file: {tmp_path}/am-ca.crt does not exist" in r["msg"]
