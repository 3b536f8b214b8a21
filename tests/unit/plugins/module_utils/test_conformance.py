"""The conformance check: the exposition parser (round trip, Hypothesis), the validator metric
by metric (table-driven), which targets count as new or changed, and the policies."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.limen.monitoring.plugins.module_utils.conformance import (
    ConformanceError,
    check_families,
    conformant,
    fetch,
    run,
)
from ansible_collections.limen.monitoring.plugins.module_utils.exposition import parse
from ansible_collections.limen.monitoring.plugins.module_utils.metric_standard import STANDARD

FAST = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# A conformant service as prometheus_client writes it (text format 0.0.4).
GOOD = """\
# HELP http_requests_total HTTP requests
# TYPE http_requests_total counter
http_requests_total{method="GET",path="/api/items",status="200"} 12.0
# HELP http_requests_created HTTP requests
# TYPE http_requests_created gauge
http_requests_created{method="GET",path="/api/items",status="200"} 1.7e9
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1",method="GET",path="/api/items"} 3.0
http_request_duration_seconds_bucket{le="+Inf",method="GET",path="/api/items"} 4.0
http_request_duration_seconds_count{method="GET",path="/api/items"} 4.0
http_request_duration_seconds_sum{method="GET",path="/api/items"} 0.3
# TYPE service_up gauge
service_up{name="billing"} 1.0
# TYPE service_errors_total counter
service_errors_total{type="timeout"} 0.0
# TYPE service_cpu_usage_percent gauge
service_cpu_usage_percent 2.5
# TYPE service_memory_usage_bytes gauge
service_memory_usage_bytes 1.2e7
"""


def report_of(text):
    return {item["metric"]: item for item in check_families(parse(text))}


def test_a_conformant_service_is_conformant_and_optional_metrics_are_absent():
    report = report_of(GOOD)
    assert conformant(report.values())
    assert report["http_requests_total"]["status"] == "conformant"
    assert report["service_database_up"]["status"] == "absent"
    assert report["vm_total"]["status"] == "absent"


@pytest.mark.parametrize("change, metric, expected", [
    # renamed histogram: missing, with the name it was probably renamed to
    (("http_request_duration_seconds", "http_request_latency_seconds"), "http_request_duration_seconds",
     "http_request_duration_seconds: missing (exported instead: http_request_latency_seconds"),
    # service_up as a counter
    (("# TYPE service_up gauge", "# TYPE service_up counter"), "service_up",
     "service_up: type counter, the standard says gauge"),
    # the status label dropped
    ((',status="200"', ""), "http_requests_total", "http_requests_total: samples without the label status"),
    # service_up 2
    (('service_up{name="billing"} 1.0', 'service_up{name="billing"} 2.0'), "service_up",
     "service_up: values 2; only 0 or 1"),
    # a histogram without buckets
    (('http_request_duration_seconds_bucket{le="0.1",method="GET",path="/api/items"} 3.0\n'
      'http_request_duration_seconds_bucket{le="+Inf",method="GET",path="/api/items"} 4.0\n', ""),
     "http_request_duration_seconds", "a histogram without buckets"),
    # no +Inf bucket
    (('http_request_duration_seconds_bucket{le="+Inf",method="GET",path="/api/items"} 4.0\n', ""),
     "http_request_duration_seconds", 'no le="+Inf" bucket'),
    # a gauge without a TYPE line is untyped
    (("# TYPE service_cpu_usage_percent gauge\n", ""), "service_cpu_usage_percent",
     "service_cpu_usage_percent: type untyped, the standard says gauge"),
])
def test_each_defect_is_named_for_its_metric(change, metric, expected):
    old, new = change
    assert old in GOOD
    report = report_of(GOOD.replace(old, new))
    assert any(expected in d for d in report[metric]["defects"]), report[metric]
    assert report[metric]["status"] in ("missing", "defective")
    assert not conformant(report.values())
    others = {name: item for name, item in report.items() if name != metric and item["status"] not in ("conformant", "absent")}
    assert others == {}


def test_a_unit_in_a_name_is_named_even_outside_the_standard():
    report = report_of(GOOD + "# TYPE queue_wait_milliseconds gauge\nqueue_wait_milliseconds 3\n")
    assert report["queue_wait_milliseconds"]["defects"] == [
        "queue_wait_milliseconds: the name carries the unit milliseconds; the standard uses base units (seconds)"]


def test_an_optional_metric_when_exported_is_checked():
    bad = GOOD + '# TYPE service_database_up gauge\nservice_database_up 3\n'
    item = report_of(bad)["service_database_up"]
    assert item["status"] == "defective"
    assert item["defects"] == [
        "service_database_up: samples without the label database (the standard's labels: database)",
        "service_database_up: values 3; only 0 or 1"]


def test_openmetrics_counters_are_read_as_prometheus_reads_them():
    text = GOOD.replace("# TYPE http_requests_total counter", "# TYPE http_requests counter") + "# EOF\n"
    assert report_of(text)["http_requests_total"]["status"] == "conformant"


@FAST
@given(st.sampled_from([e for e in STANDARD if e["required"]]))
def test_dropping_any_required_metric_is_reported_missing_and_nothing_else(entry):
    fams = parse(GOOD)
    fams = {n: f for n, f in fams.items() if n != entry["name"]}
    report = {item["metric"]: item for item in check_families(fams)}
    assert report[entry["name"]]["status"] == "missing"
    assert [n for n, item in report.items() if item["status"] not in ("conformant", "absent")] == [entry["name"]]


@FAST
@given(st.sampled_from([e for e in STANDARD if e["labels"]]), st.data())
def test_dropping_a_standard_label_is_reported_for_that_metric(entry, data):
    label = data.draw(st.sampled_from(list(entry["labels"])))
    sample = entry["name"] + "_bucket" if entry["type"] == "histogram" else entry["name"]
    labels = {lab: "x" for lab in entry["labels"] if lab != label}
    if entry["type"] == "histogram":
        labels["le"] = "+Inf"
    fams = {entry["name"]: {"type": entry["type"], "help": "", "samples": [(sample, labels, 1.0)]}}
    item = {i["metric"]: i for i in check_families(fams)}[entry["name"]]
    assert any(f"without the label {label}" in d or f"labels {label}" in d or label in d for d in item["defects"])


# --- which targets are checked, and the policies
JOB = {"name": "billing", "targets": [{"host": "10.0.0.7", "port": 8080, "labels": {"host": "b1"}},
                                      {"host": "10.0.0.8", "port": 8080, "labels": {"host": "b2"}}]}
REGISTERED = json.dumps([{"labels": {"host": "b1"}, "targets": ["10.0.0.7:8080"]}])


def fake_fetch(bodies):
    seen = []

    def fetcher(url, settings_):
        seen.append((url, settings_))
        return bodies.get(url, (None, "connection refused"))
    return fetcher, seen


def test_only_new_or_changed_targets_are_scraped_with_the_jobs_scheme_path_and_token(tmp_path):
    token = tmp_path / "billing.token"
    token.write_text("s3cret\n")
    fetcher, seen = fake_fetch({"https://10.0.0.8:8080/m": (GOOD, None)})
    out = run([JOB], [{"job_name": "billing", "scheme": "https", "metrics_path": "/m",
                       "authorization": {"credentials_file": str(token)}, "tls_config": {"ca_file": "/ca"}}],
              "/dir", {}, "warn", fetcher=fetcher, reader=lambda path: REGISTERED)
    assert [r["target"] for r in out["results"]] == ["10.0.0.8:8080"]
    assert seen[0][1] == {"headers": {"Authorization": "Bearer s3cret"}, "ca_file": "/ca", "insecure": False,
                          "server_name": ""}
    assert out["results"][0]["summary"] == "billing https://10.0.0.8:8080/m (host b2, policy warn): conformant"
    assert "s3cret" not in json.dumps(out)
    assert out["refused"] == []


def test_enforce_refuses_a_non_conformant_host_and_off_skips_one(tmp_path):
    bad = GOOD.replace("http_request_duration_seconds", "http_request_latency_seconds")
    fetcher, _seen = fake_fetch({"http://10.0.0.7:8080/metrics": (bad, None),
                                 "http://10.0.0.8:8080/metrics": (bad, None)})
    out = run([JOB], [], "/dir", {"b1": "enforce", "b2": "off"}, "warn", check_all=True, fetcher=fetcher)
    assert [r["host"] for r in out["results"]] == ["b1"]
    assert [r["host"] for r in out["refused"]] == ["b1"]
    assert "NOT CONFORMANT: http_request_duration_seconds: missing (exported instead: " \
           "http_request_latency_seconds" in out["refused"][0]["summary"]


def test_an_unreachable_target_is_named_with_the_reason():
    fetcher, _seen = fake_fetch({})
    out = run([JOB], [], "/dir", {}, "enforce", fetcher=fetcher, reader=lambda path: None)
    assert [r["summary"] for r in out["results"]] == [
        "billing http://10.0.0.7:8080/metrics (host b1, policy enforce): NOT REACHABLE from the monitoring "
        "server: connection refused",
        "billing http://10.0.0.8:8080/metrics (host b2, policy enforce): NOT REACHABLE from the monitoring "
        "server: connection refused"]
    assert len(out["refused"]) == 2


@pytest.mark.parametrize("policies, default, message", [
    ({}, "strict", "monitoring_conformance: 'strict' is not one of enforce, warn, off"),
    ({"b1": "yes"}, "warn", "host b1: monitoring_conformance: 'yes' is not one of enforce, warn, off"),
])
def test_a_bad_policy_is_refused_naming_where(policies, default, message):
    with pytest.raises(ConformanceError, match=message):
        run([JOB], [], "/dir", policies, default, fetcher=fake_fetch({})[0])


def test_a_missing_secret_file_fails_naming_it_except_in_check_mode(tmp_path):
    config = [{"job_name": "billing", "basic_auth": {"username": "u", "password_file": str(tmp_path / "none")}}]
    with pytest.raises(ConformanceError, match=r"job billing.basic_auth.password_file: cannot read .*none"):
        run([JOB], config, "/dir", {}, "warn", fetcher=fake_fetch({})[0], reader=lambda path: None)
    out = run([JOB], config, "/dir", {}, "enforce", fetcher=fake_fetch({})[0], reader=lambda path: None,
              unreadable_ok=True)
    assert out["refused"] == [] and "not checked in check mode" in out["results"][0]["summary"]


# --- fetch against a real HTTP server on loopback: basic auth sent, a 401 reported as such
class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.headers.get("Authorization") != "Basic dTpw":  # u:p
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = GOOD.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/metrics"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_sends_the_jobs_login_and_reports_a_refusal(server):
    plain = {"headers": {}, "ca_file": "", "insecure": False, "server_name": ""}
    assert fetch(server, plain) == (None, "HTTP 401 Unauthorized")
    body, error = fetch(server, {**plain, "headers": {"Authorization": "Basic dTpw"}})
    assert error is None and body == GOOD


def test_fetch_reports_a_closed_port_without_raising():
    body, error = fetch("http://127.0.0.1:1/metrics", {"headers": {}, "ca_file": "", "insecure": False,
                                                       "server_name": ""})
    assert body is None and "refused" in error.lower()


def test_a_missing_ca_file_is_not_checked_in_check_mode_and_named_otherwise(tmp_path, server):
    missing = str(tmp_path / "ca.crt")
    config = [{"job_name": "billing", "scheme": "https", "tls_config": {"ca_file": missing}}]
    out = run([JOB], config, "/dir", {}, "enforce", fetcher=fake_fetch({})[0], reader=lambda path: None,
              unreadable_ok=True)
    assert out["refused"] == [] and "not checked in check mode" in out["results"][0]["summary"]
    body, error = fetch(server.replace("http://", "https://"), {"headers": {}, "ca_file": missing,
                                                                 "insecure": False, "server_name": ""})
    assert body is None and missing in error


def test_pending_files_stand_in_for_secrets_and_a_ca_the_run_has_not_written_yet(tmp_path):
    """The check runs before any host changes: a new password and a first run's CA are taken as
    the run will write them, not from the (absent or old) files on the host."""
    old = tmp_path / "billing.password"
    old.write_text("old-password\n")
    config = [{"job_name": "billing", "scheme": "https",
               "basic_auth": {"username": "u", "password_file": str(old)},
               "tls_config": {"ca_file": "/etc/ssl/limen/ca.crt"}}]
    fetcher, seen = fake_fetch({"https://10.0.0.8:8080/metrics": (GOOD, None)})  # b1 is registered
    materialised = []

    def pending_ca(path):
        materialised.append(path)
        return str(tmp_path / "pending-ca-0.crt")

    out = run([JOB], config, "/dir", {}, "enforce", fetcher=fetcher, reader=lambda path: REGISTERED,
              pending={str(old): "p\n", "/etc/ssl/limen/ca.crt": "CA"}, pending_ca=pending_ca)
    assert seen[0][1]["headers"] == {"Authorization": "Basic dTpw"}  # u:p, not the old password
    assert seen[0][1]["ca_file"] == str(tmp_path / "pending-ca-0.crt")
    assert materialised == ["/etc/ssl/limen/ca.crt"]
    assert out["refused"] == [] and "old-password" not in json.dumps(out)


def test_check_mode_on_a_first_run_checks_a_job_whose_secrets_are_pending():
    config = [{"job_name": "billing", "basic_auth": {"username": "u", "password_file": "/nowhere/billing.password"}}]
    fetcher, seen = fake_fetch({"http://10.0.0.7:8080/metrics": (GOOD, None)})
    out = run([JOB], config, "/dir", {}, "enforce", fetcher=fetcher, reader=lambda path: REGISTERED,
              unreadable_ok=True, pending={"/nowhere/billing.password": "p"})
    assert [r["summary"] for r in out["results"]] == [
        "billing http://10.0.0.8:8080/metrics (host b2, policy enforce): NOT REACHABLE from the monitoring "
        "server: connection refused"]
    assert seen[0][1]["headers"] == {"Authorization": "Basic dTpw"}
