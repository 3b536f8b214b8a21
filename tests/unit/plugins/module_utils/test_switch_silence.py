"""switch_silence: what a run switches in Prometheus' scrape settings, and the silence it sets meanwhile."""

from __future__ import annotations

import datetime
import re
import textwrap

import yaml
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.limen.monitoring.plugins.module_utils.switch_silence import (
    AVAILABILITY_ALERTS,
    CREATED_BY,
    changes,
    deployed_settings,
    ours,
    shortened,
    silence,
    silenced_jobs,
    still_switching,
)

# The shape the prometheus role renders (a secure lab's file, shortened).
SECURE = textwrap.dedent("""\
    global:
      scrape_interval: 2s
    alerting:
      alertmanagers:
        - path_prefix: /
          basic_auth:
            password_file: /etc/prometheus/secrets/self-alertmanager.password
            username: limen-internal
          scheme: https
          tls_config:
            ca_file: /etc/limen-monitoring/ca.crt
          static_configs:
            - targets: ["10.210.1.10:9093"]

    scrape_configs:
      - job_name: prometheus
        basic_auth:
          password_file: /etc/prometheus/secrets/self-prometheus.password
          username: limen-internal
        scheme: https
        tls_config:
          ca_file: /etc/limen-monitoring/ca.crt
        static_configs:
          - targets: ["10.210.1.10:9090"]
            labels:
              host: monitor
      # Probes through this server's blackbox_exporter.
      - job_name: blackbox
        metrics_path: /probe
        static_configs:
          - targets: ["10.210.1.10:9100"]
            labels: {__param_module: "tls", probed: "node_exporter", host: "monitor"}
        relabel_configs:
          - target_label: __address__
            replacement: "10.210.1.10:9115"
    # Jobs only services register
      - job_name: limen
        file_sd_configs:
        - files:
          - /etc/prometheus/file_sd/inventory/limen.json
        tls_config:
          ca_file: /etc/limen-monitoring/ca.crt
      - job_name: node
        file_sd_configs:
        - files:
          - /etc/prometheus/file_sd/inventory/node.json
        scheme: https
        basic_auth:
          username: limen-internal
          password_file: /etc/prometheus/secrets/node.password
        tls_config:
          ca_file: /etc/limen-monitoring/ca.crt
      - job_name: service2
        authorization:
          type: Bearer
          credentials_file: /etc/prometheus/secrets/service2.token
    """)
CA = "/etc/limen-monitoring/ca.crt"


def secure_job(name, password="node-secret"):
    return {"name": name, "scheme": "https", "username": "limen-internal", "password": password, "ca_file": CA}


def test_the_rendered_file_gives_each_jobs_and_alertmanagers_settings():
    deployed = deployed_settings(SECURE)
    assert deployed["jobs"]["node"] == {"scheme": "https", "username": "limen-internal",
                                        "password_file": "/etc/prometheus/secrets/node.password", "ca_file": CA}
    assert deployed["jobs"]["blackbox"] == {"scheme": "http", "username": "", "password_file": "", "ca_file": ""}
    assert deployed["jobs"]["limen"]["ca_file"] == CA and deployed["jobs"]["limen"]["scheme"] == "http"
    assert set(deployed["jobs"]) == {"prometheus", "blackbox", "limen", "node", "service2"}
    assert deployed["alerting"] == [{"scheme": "https", "username": "limen-internal", "ca_file": CA,
                                     "password_file": "/etc/prometheus/secrets/self-alertmanager.password",
                                     "path_prefix": "/", "targets": ["10.210.1.10:9093"]}]


SETTINGS = st.fixed_dictionaries({
    "scheme": st.sampled_from(["http", "https"]),
    "username": st.sampled_from(["", "limen-internal", "ops user"]),
    "password_file": st.sampled_from(["/etc/prometheus/secrets/a.password", "/etc/prometheus/secrets/b c.password"]),
    "ca_file": st.sampled_from(["", CA, "/etc/ssl/x #1.crt"])})
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)


def rendered(job):
    """A scrape job as the prometheus template renders it: to_nice_yaml(indent=2) | indent(4)."""
    auth = {"scheme": job["scheme"]}
    if job["username"]:
        auth["basic_auth"] = {"username": job["username"], "password_file": job["password_file"]}
    if job["ca_file"]:
        auth["tls_config"] = {"ca_file": job["ca_file"]}
    body = yaml.safe_dump(auth, indent=2, default_flow_style=False).rstrip("\n").replace("\n", "\n    ")
    return f"  - job_name: {job['name']}\n    {body}\n    static_configs:\n      - targets: [\"10.210.1.1:1\"]\n"


@given(st.dictionaries(NAMES, SETTINGS, min_size=1, max_size=4))
def test_any_rendered_job_reads_back_as_written(jobs):
    text = "global:\n  scrape_interval: 15s\nscrape_configs:\n" + "".join(
        rendered(dict(settings, name=name)) for name, settings in jobs.items())
    assert yaml.safe_load(text)  # the test's rendering is YAML Prometheus would read
    for name, got in deployed_settings(text)["jobs"].items():
        want = jobs[name]
        assert got == {"scheme": want["scheme"], "username": want["username"],
                       "password_file": want["password_file"] if want["username"] else "", "ca_file": want["ca_file"]}


def secrets(**files):
    return lambda path: files.get(path.rsplit("/", 1)[-1].replace(".password", ""))


def test_a_converged_server_has_nothing_to_switch():
    deployed = deployed_settings(SECURE)["jobs"]
    read = secrets(node="node-secret\n", **{"self-prometheus": "prom-secret"})
    assert changes(deployed, [secure_job("node"), secure_job("prometheus", "prom-secret")], read) == {}


def test_plain_to_secure_a_new_password_and_a_new_ca_file_are_each_a_switch():
    deployed = deployed_settings(SECURE)["jobs"]
    read = secrets(node="node-secret")
    plain = {"name": "node", "scheme": "http", "username": "", "password": "", "ca_file": ""}
    assert changes(deployed, [plain], read) == {"node": ["scheme https to http", "user"]}
    assert changes(deployed, [secure_job("node", "rotated")], read) == {"node": ["password"]}
    assert changes(deployed, [dict(secure_job("node"), ca_file="/etc/other-ca.crt")], read) == {"node": ["CA file"]}
    assert changes(deployed, [secure_job("node")], secrets()) == {"node": ["password"]}   # file gone or unreadable


def test_a_new_ca_certificate_switches_the_jobs_that_stay_on_tls():
    deployed = deployed_settings(SECURE)["jobs"]
    read = secrets(node="node-secret", **{"ca.crt": "-----BEGIN CERTIFICATE-----\nold\n-----END CERTIFICATE-----\n"})
    new_ca = "-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----"
    assert changes(deployed, [secure_job("node")], read, new_ca) == {"node": ["CA certificate"]}
    assert changes(deployed, [secure_job("node")], read, "a CA this run makes") == {"node": ["CA certificate"]}
    same = "-----BEGIN CERTIFICATE-----\nold\n-----END CERTIFICATE-----"   # lookup('file') strips the line end
    assert changes(deployed, [secure_job("node")], read, same) == {}
    assert changes(deployed, [secure_job("node")], read, "") == {}        # no CA installed by the run
    plain = {"name": "node", "scheme": "http", "username": "", "password": "", "ca_file": ""}
    assert changes(deployed, [plain], read, new_ca) == {"node": ["scheme https to http", "user"]}


def test_a_job_prometheus_does_not_scrape_yet_is_no_switch():
    assert changes(deployed_settings(SECURE)["jobs"], [secure_job("victoriametrics")], secrets()) == {}


@given(st.dictionaries(st.sampled_from(["node", "prometheus", "alertmanager", "blackbox", "a.b"]),
                       st.lists(st.sampled_from(["user", "password"]), min_size=1), min_size=1))
def test_the_silence_matches_exactly_the_availability_alerts_of_the_switched_jobs(switched):
    now = datetime.datetime(2026, 12, 5, 12, 0, tzinfo=datetime.timezone.utc)
    body = silence(switched, now, 15)
    assert (body["startsAt"], body["endsAt"]) == ("2026-12-05T12:00:00.000Z", "2026-12-05T12:15:00.000Z")
    assert body["createdBy"] == CREATED_BY and all(job in body["comment"] for job in switched)
    names, jobs = ({m["name"]: m for m in body["matchers"]}[k]["value"] for k in ("alertname", "job"))
    for alert in AVAILABILITY_ALERTS + ("Watchdog", "DiskFilling"):
        assert bool(re.fullmatch(names, alert)) == (alert in AVAILABILITY_ALERTS)
    for job in ("node", "node_exporter", "prometheus", "alertmanager", "blackbox", "a.b", "aXb", "limen"):
        wanted = job in switched or (job == "node_exporter" and "node" in switched)
        assert bool(re.fullmatch(jobs, job)) == wanted, (job, jobs)
    made = [{"id": "1", "createdBy": CREATED_BY, "status": {"state": "active"}, "matchers": body["matchers"]}]
    assert silenced_jobs(made) == set(switched) | ({"node_exporter"} if "node" in switched else set())


def test_only_the_runs_active_silences_are_its_own():
    listed = [{"id": "a", "createdBy": CREATED_BY, "status": {"state": "active"}},
              {"id": "b", "createdBy": CREATED_BY, "status": {"state": "expired"}},
              {"id": "c", "createdBy": "ops", "status": {"state": "active"}}]
    assert ours(listed) == ["a"]
    assert silenced_jobs(listed) == set()   # no job matcher in these


def reasons(*args, **kwargs):
    return still_switching(*args, **kwargs)[0]


def test_the_silence_stays_while_a_target_is_down_or_an_alert_pending():
    up = [{"labels": {"job": "node", "instance": "h:9100"}, "health": "up"},
          {"labels": {"job": "node", "instance": "g:9100"}, "health": "up"},
          {"labels": {"job": "limen", "instance": "s:1"}, "health": "down"}]   # not switched: not waited for
    assert still_switching({"node"}, up, [], []) == ([], [])
    down = up[:1] + [{"labels": {"job": "node", "instance": "g:9100"}, "health": "down"}]
    assert reasons({"node"}, down, [], []) == ["target node g:9100 is down"]
    pending = [{"labels": {"alertname": "HostDown", "job": "node", "instance": "g:9100", "severity": "critical"},
                "state": "pending"}]
    assert still_switching({"node"}, up, pending, []) == (["alert HostDown g:9100 is pending"], [])
    probes = [{"labels": {"job": "blackbox", "probed": "node_exporter", "instance": "g:9100"}, "health": "up"}]
    in_am = [{"labels": {"alertname": "ProbeFailed", "job": "node_exporter", "instance": "g:9100"},
              "status": {"state": "suppressed"}}]
    assert still_switching({"node", "node_exporter"}, up + probes, [], in_am) == (
        [], ["alert ProbeFailed g:9100 is suppressed"])   # ProbeFailed's job is the probed one: no such target
    assert still_switching({"node", "node_exporter"}, [], [], [], scraped={"node": {}, "limen": {}}) == (
        ["no target of job node yet"], [])   # Prometheus just started: its targets are not known yet
    probe = [dict(probes[0], health="down")]
    assert reasons({"node_exporter"}, probe, [], []) == ["target blackbox g:9100 is down"]


def test_alerts_on_series_of_former_targets_linger_and_are_not_waited_for():
    """A restarted Prometheus: the probe's module changed with the switch (tcp_tls to tcp), the old
    series' last sample (up 0) stays visible for the lookback delta though the new target is up."""
    now_up = [{"labels": {"job": "blackbox", "instance": "g:9100", "module": "tcp", "probed": "node_exporter"},
               "health": "up"}]
    old = {"alertname": "TargetDown", "job": "blackbox", "instance": "g:9100", "module": "tcp_tls",
           "probed": "node_exporter", "severity": "critical"}
    assert still_switching({"blackbox"}, now_up, [{"labels": old, "state": "firing"}], []) == (
        [], ["alert TargetDown g:9100 is firing"])
    current = dict(old, module="tcp", replica="a")   # Alertmanager's copy carries external labels too
    assert still_switching({"blackbox"}, now_up, [], [{"labels": current, "status": {"state": "suppressed"}}]) == (
        ["alert TargetDown g:9100 is suppressed"], [])


def test_a_lingering_silence_is_moved_to_end_after_the_lookback_delta():
    now = datetime.datetime(2026, 12, 5, 16, 0, tzinfo=datetime.timezone.utc)
    mine = {"id": "a", "createdBy": CREATED_BY, "status": {"state": "active"}, "matchers": [{"name": "job"}],
            "startsAt": "2026-12-05T15:58:00.000Z", "endsAt": "2026-12-05T16:13:00.000Z", "comment": "c"}
    soon = dict(mine, id="b", endsAt="2026-12-05T16:02:00.000Z")
    others = dict(mine, id="c", createdBy="ops")
    assert shortened([mine, soon, others], now) == [
        {"id": "a", "matchers": [{"name": "job"}], "startsAt": "2026-12-05T15:58:00.000Z", "createdBy": CREATED_BY,
         "comment": "c", "endsAt": "2026-12-05T16:06:00.000Z"}]
