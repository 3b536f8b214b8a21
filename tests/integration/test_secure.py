"""The secure configuration (molecule/secure) on the converged lab, proven with real connections.

Every component serves TLS with a certificate of the internal CA and asks for basic auth;
the collection's clients use the internal users; LIMEN serves HTTPS and service2 wants a token.
Grafana cannot run here: its rendered configuration is checked, and the data source's exact
path (URL, user, password, CA) is used to run every dashboard query against Prometheus.
"""

from __future__ import annotations

import base64
import datetime
import email
import email.policy
import html
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collection"))
import example_inventory  # the example inventory mapped to the lab
import readme_install  # noqa: E402  (tests/collection: docs/install.md's "From a built collection" block)
from test_default import dashboards, queries, substitute  # the queries Grafana sends, variables filled in

from conftest import ANSI, LAB_INVENTORY, RECAP, REPO, http_json, notifications, playbook, wait_for

SCENARIO_INVENTORY = REPO / "molecule" / "secure" / "inventory"
SECRETS = yaml.safe_load((SCENARIO_INVENTORY / "group_vars" / "all" / "lab_secrets.yml").read_text())
INTERNAL = "limen-internal"


def run(*args, check=True):
    return playbook(*args, "-i", str(LAB_INVENTORY), "-i", str(SCENARIO_INVENTORY), check=check)


@pytest.fixture(scope="module")
def ca(lab):
    return Path(lab.vars["lab_pki_dir"]) / "ca.crt"


def get(url, user=None, password=None, token=None, cafile=None, cadata=None, context=None, data=None):
    """(status, body) of a real request; TLS verified against CAFILE/CADATA unless CONTEXT."""
    req = urllib.request.Request(url, data=data)
    if user:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if context is None and url.startswith("https"):
        context = ssl.create_default_context(cafile=cafile, cadata=cadata)
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Api:
    def __init__(self, lab, ca):
        self.lab, self.ca = lab, str(ca)
        self.prometheus = f"https://{lab.monitor}:9090"
        self.alertmanager = f"https://{lab.monitor}:9093"

    def prom(self, path):
        status, body = get(self.prometheus + path, INTERNAL, SECRETS["vault_prometheus_internal_password"],
                           cafile=self.ca)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)["data"]

    def query(self, promql):
        return self.prom("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))["result"]


@pytest.fixture(scope="module")
def api(lab, ca):
    return Api(lab, ca)


# ---- targets, through authentication and verified TLS ----
def test_every_inventory_target_is_up_including_https_and_token(lab, api):
    m, s1, s2 = lab.monitor, lab.addr("svc1"), lab.addr("svc2")
    wanted = {("prometheus", f"{m}:9090"), ("alertmanager", f"{m}:9093"), ("node", f"{m}:9100"),
              ("node", f"{s1}:9100"), ("node", f"{s2}:9100"), ("limen", f"{s1}:18443"),
              ("service2", f"{s2}:8080")}

    def all_up():
        up = {(r["metric"]["job"], r["metric"]["instance"]) for r in api.query("up == 1")}
        return wanted <= up and up

    wait_for(all_up, 90, what=f"up == 1 for {sorted(wanted)}")
    urls = {t["labels"]["job"]: t["scrapeUrl"] for t in api.prom("/api/v1/targets")["activeTargets"]}
    assert urls["limen"] == f"https://{s1}:18443/api/metrics"
    assert urls["prometheus"].startswith("https://") and urls["node"].startswith("https://")
    config = api.prom("/api/v1/status/config")["yaml"]
    assert "insecure_skip_verify: true" not in config, "every TLS scrape must verify"
    assert api.query('vm_total{job="limen"}')[0]["value"][1] == "6"


def test_prometheus_yml_holds_no_secret_and_secrets_are_private(lab):
    text = lab.ssh("monitor", "cat /etc/prometheus/prometheus.yml").stdout
    for secret in secret_values(lab):
        assert secret not in text
    assert "password_file: /etc/prometheus/secrets/self-alertmanager.password" in text
    assert "credentials_file: /etc/prometheus/secrets/service2.token" in text
    out = lab.ssh("monitor", "stat -c '%n %U %a' /etc/prometheus/secrets/*").stdout.split("\n")
    for name in ("self-prometheus.password", "self-alertmanager.password", "node.password", "service2.token"):
        assert f"/etc/prometheus/secrets/{name} prometheus 600" in out, out


OWN_USERS = {"prometheus": "prometheus", "prometheus-alertmanager": "alertmanager",
             "prometheus-node-exporter": "node-exporter"}
KEYS = {"/etc/prometheus/tls.key": "prometheus", "/etc/alertmanager/tls.key": "alertmanager",
        "/etc/node_exporter/tls.key": "node-exporter"}


def test_key_files_are_0600_and_owned_by_the_service_user(lab):
    keys = {"monitor": {**KEYS, "/etc/grafana/tls.key": "grafana"},
            "svc1": {"/etc/node_exporter/tls.key": "node-exporter"},
            "svc2": {"/etc/node_exporter/tls.key": "node-exporter"}}
    for host, files in keys.items():
        out = lab.ssh(host, "stat -c '%n %U %a' " + " ".join(files)).stdout.split("\n")
        for path, user in files.items():
            assert f"{path} {user} 600" in out, (host, out)


def test_each_component_runs_as_its_own_user_and_reads_no_other_ones_secrets(lab):
    for unit, user in OWN_USERS.items():
        pid = lab.ssh("monitor", f"systemctl show -p MainPID --value {unit}").stdout.strip()
        assert lab.ssh("monitor", f"stat -c %U /proc/{pid}").stdout.strip() == user, unit
    state = lab.ssh("monitor", "find /var/lib/alertmanager ! -user alertmanager").stdout.split()
    assert not state, f"Alertmanager's state must be its own: {state}"
    for path, owner in KEYS.items():
        for user in set(OWN_USERS.values()) - {owner}:
            denied = lab.ssh("monitor", f"runuser -u {user} -- cat {path}", check=False)
            assert denied.returncode != 0 and "Permission denied" in denied.stderr, (user, path)
    for path, user in {"/etc/alertmanager/alertmanager.yml": "node-exporter",
                       "/etc/prometheus/secrets/node.password": "alertmanager"}.items():
        denied = lab.ssh("monitor", f"runuser -u {user} -- cat {path}", check=False)
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, (user, path)
    ca = Path(lab.vars["lab_pki_dir"])
    assert oct(ca.stat().st_mode & 0o777) == "0o700"
    assert oct((ca / "ca.key").stat().st_mode & 0o777) == "0o600"


# ---- what an attacker on the network gets ----
def endpoints(lab):
    m, s1, s2 = lab.monitor, lab.addr("svc1"), lab.addr("svc2")
    return {"prometheus": f"https://{m}:9090/api/v1/query?query=up", "alertmanager": f"https://{m}:9093/api/v2/status",
            "node monitor": f"https://{m}:9100/metrics", "node svc1": f"https://{s1}:9100/metrics",
            "node svc2": f"https://{s2}:9100/metrics"}


def test_unauthenticated_requests_get_401(lab, ca):
    for name, url in endpoints(lab).items():
        assert get(url, cafile=str(ca))[0] == 401, name
        assert get(url, INTERNAL, "wrong-password", cafile=str(ca))[0] == 401, name
    token_url = f"http://{lab.addr('svc2')}:8080/metrics"
    assert get(token_url)[0] == 401
    assert get(token_url, token="wrong-token")[0] == 401
    status, body = get(token_url, token=lab.vars["lab_demo_token"])
    assert status == 200 and b"service_up" in body


def test_plain_http_to_a_tls_port_is_refused(lab):
    urls = {name: url.replace("https://", "http://") for name, url in endpoints(lab).items()}
    urls["limen"] = f"http://{lab.addr('svc1')}:18443/api/metrics"
    for name, url in urls.items():
        try:
            status, body = get(url, INTERNAL, "x")
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            print(f"{name}: plain HTTP refused ({exc})")
            continue
        assert status == 400 and b"HTTPS" in body, (name, status, body[:200])


def test_a_wrong_ca_fails(lab):
    urls = dict(endpoints(lab), limen=f"https://{lab.addr('svc1')}:18443/api/metrics")
    for name, url in urls.items():
        with pytest.raises(urllib.error.URLError) as exc:
            get(url, context=ssl.create_default_context())   # the system's CAs, not ours
        assert isinstance(exc.value.reason, ssl.SSLCertVerificationError), (name, exc.value)


# ---- alerts end to end ----
def test_watchdog_reaches_the_receiver(lab):
    wait_for(lambda: notifications(lab, "Watchdog", "firing"), 90, what="the Watchdog notification")


def test_stopped_service_alert_reaches_the_receiver(lab):
    http_json(lab.receiver, method="DELETE")
    lab.ssh("svc2", "systemctl stop limen-demo-service")
    try:
        alert = wait_for(lambda: notifications(lab, "TargetDown", "firing", job="service2"), 60,
                         what="a firing TargetDown for service2")[0]
        assert alert["labels"]["instance"] == f"{lab.addr('svc2')}:8080"
    finally:
        lab.ssh("svc2", "systemctl start limen-demo-service")
    wait_for(lambda: notifications(lab, "TargetDown", "resolved", job="service2"), 90,
             what="the resolved TargetDown for service2")


# ---- Grafana: HTTPS configured; every dashboard query through the data source's own path ----
def test_grafana_is_configured_for_https(lab):
    ini = lab.ssh("monitor", "cat /etc/grafana/grafana.ini").stdout
    for line in ("protocol = https", "cert_file = /etc/grafana/tls.crt", "cert_key = /etc/grafana/tls.key",
                 "cookie_secure = true", "strict_transport_security = true"):
        assert line in ini


def datasource(lab, name):
    doc = yaml.safe_load(lab.ssh("monitor", "cat /etc/grafana/provisioning/datasources/limen.yml").stdout)
    return next(d for d in doc["datasources"] if d["name"] == name)


def test_datasources_authenticate_and_verify(lab):
    for name, port, password in (("Prometheus", 9090, "vault_prometheus_internal_password"),
                                 ("Alertmanager", 9093, "vault_alertmanager_internal_password")):
        ds = datasource(lab, name)
        assert ds["url"] == f"https://{lab.monitor}:{port}"
        assert ds["basicAuth"] is True and ds["basicAuthUser"] == INTERNAL
        assert ds["jsonData"]["tlsAuthWithCACert"] is True
        assert ds["secureJsonData"]["basicAuthPassword"] == SECRETS[password]
        assert "BEGIN CERTIFICATE" in ds["secureJsonData"]["tlsCACert"]
        assert "basicAuthPassword" not in ds["jsonData"]


def test_every_dashboard_query_returns_data_through_the_datasource_path(lab):
    ds = datasource(lab, "Prometheus")
    secure = ds["secureJsonData"]
    listing = lab.ssh("monitor", "find /var/lib/grafana/dashboards -name '*.json'").stdout.split()
    empty, count = [], 0
    for path in listing:
        dash = json.loads(lab.ssh("monitor", f"cat {path}").stdout)
        for where, expr in queries(dash):
            expr = substitute(expr, dash)
            status, body = get(ds["url"] + "/api/v1/query", ds["basicAuthUser"], secure["basicAuthPassword"],
                               cadata=secure["tlsCACert"],
                               data=urllib.parse.urlencode({"query": expr}).encode())   # POST, as httpMethod
            assert status == 200, (expr, body[:300])
            count += 1
            if not json.loads(body)["data"]["result"]:
                empty.append(f"{path} / {where}: {expr}")
    assert count >= 40
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)


# ---- DNS service discovery: a service announces itself (SRV, TSIG-signed update) ----
ZONE = "lab.internal"
SRV = f"_announced._tcp.{ZONE}"
ANNOUNCED_PORT = 8081
KEY_FILE = "/root/limen-announce.key"
# The scenario's second demo service on svc2: not in the inventory, token-protected like service2.
ANNOUNCED_UNIT = "limen-announced"


def nsupdate(lab, *updates, key=True, check=True):
    """Run `nsupdate` on svc2 (the service's own host) against the lab's DNS server."""
    script = "\n".join([f"server {lab.monitor}", f"zone {ZONE}", *updates, "send", ""])
    return lab.ssh("svc2", f"nsupdate {'-k ' + KEY_FILE if key else ''}", stdin=script, check=check)


def srv(target, port=ANNOUNCED_PORT):
    return f"{SRV} 60 SRV 0 0 {port} {target}"


def announced_targets(api):
    return [t for t in api.prom("/api/v1/targets?state=active")["activeTargets"] if t["labels"]["job"] == "announced"]


def dropped_announced(api):
    return {t["discoveredLabels"].get("__meta_dns_srv_record_target", "") + ":"
            + t["discoveredLabels"].get("__meta_dns_srv_record_port", "")
            for t in api.prom("/api/v1/targets?state=dropped")["droppedTargets"]
            if t["discoveredLabels"].get("job") == "announced"}


def assert_its_dashboard_link_resolves_with_data(lab, api, job):
    """The overview's tile for JOB links (its `dashboard` label) to a dashboard Grafana has,
    and every panel of that dashboard, with JOB selected, returns data."""
    by_uid = {d["uid"]: d for d in dashboards(lab).values()}
    overview = by_uid["limen-overview"]
    linked = set()
    for _, expr in queries(overview):
        if "dashboard" in expr:
            linked |= {r["metric"]["dashboard"] for r in api.query(substitute(expr, overview))
                       if r["metric"].get("job") == job}
    assert len(linked) == 1 and linked <= by_uid.keys(), (job, linked)
    dash = json.loads(json.dumps(by_uid[linked.pop()]))
    for var in dash.get("templating", {}).get("list", []):
        if var["name"] == "job":
            var["current"] = {"text": job, "value": job}
    empty = [f"{where}: {expr}" for where, expr in queries(dash) if not api.query(substitute(expr, dash))]
    assert not empty, f"{dash['uid']} has no data for {job}:\n" + "\n".join(empty)


@pytest.fixture()
def announcing_host(lab):
    """svc2 with a second service (not in the inventory) and the TSIG key from the vault."""
    lab.ssh("svc2", f"umask 077; cat > {KEY_FILE}",
            stdin=f'key "limen-announce" {{ algorithm hmac-sha256; secret "{SECRETS["vault_dns_announce_key"]}"; }};\n')
    lab.ssh("svc2", f"systemd-run --unit={ANNOUNCED_UNIT} -p DynamicUser=yes "
                    f"-p LoadCredential=token:/etc/limen-demo/token -E DEMO_NAME=announced -E DEMO_PORT={ANNOUNCED_PORT} "
                    f"-E DEMO_TOKEN_FILE=/run/credentials/{ANNOUNCED_UNIT}.service/token "
                    "/usr/bin/python3 /usr/local/bin/limen-demo-service")
    try:
        yield
    finally:
        nsupdate(lab, f"update delete {SRV} SRV", check=False)
        lab.ssh("svc2", f"systemctl stop {ANNOUNCED_UNIT}; rm -f {KEY_FILE}", check=False)


def test_an_announced_service_is_scraped_alerted_on_shown_and_leaves_when_withdrawn(lab, api, announcing_host):
    http_json(lab.receiver, method="DELETE")
    nsupdate(lab, f"update add {srv('svc2.' + ZONE + '.')}")
    # Within one refresh interval (5 s) plus a scrape: up, with the token of its job settings.
    target = wait_for(lambda: [t for t in announced_targets(api) if t["health"] == "up"], 30,
                      what="the announced target up")[0]
    assert target["labels"]["host"] == "svc2"
    assert target["scrapeUrl"] == f"http://svc2.{ZONE}:{ANNOUNCED_PORT}/metrics"
    # The overview's availability query lists it.
    assert any(r["metric"]["job"] == "announced" and r["metric"]["host"] == "svc2"
               for r in api.query('up{job!~"prometheus|alertmanager|node"}'))
    assert_its_dashboard_link_resolves_with_data(lab, api, "announced")
    # A stop reaches the receiver as the standard TargetDown.
    lab.ssh("svc2", f"systemctl kill --signal=STOP {ANNOUNCED_UNIT}")
    try:
        alert = wait_for(lambda: notifications(lab, "TargetDown", "firing", job="announced"), 60,
                         what="a firing TargetDown for the announced service")[0]
        assert alert["labels"]["host"] == "svc2"
    finally:
        lab.ssh("svc2", f"systemctl kill --signal=CONT {ANNOUNCED_UNIT}")
    # Withdrawn: the target leaves.
    nsupdate(lab, f"update delete {srv('svc2.' + ZONE + '.')}")
    wait_for(lambda: not announced_targets(api), 30, what="the withdrawn target to leave")


def test_hostile_or_malformed_records_are_not_scraped_and_are_reported(lab, api, announcing_host):
    http_json(lab.receiver, method="DELETE")
    outside = lab.addr("outside")
    hostile = {f"svc2.{ZONE}.:0": srv(f"svc2.{ZONE}.", 0),                   # port 0
               "svc2.elsewhere.example.:8081": srv("svc2.elsewhere.example."),  # outside the watched zone
               f"{outside}.:8081": srv(f"{outside}.")}                          # outside the internal networks
    nsupdate(lab, *(f"update add {record}" for record in hostile.values()))
    wait_for(lambda: set(hostile) <= dropped_announced(api), 30, what="the hostile records among the dropped targets")
    assert not announced_targets(api)
    alert = wait_for(lambda: notifications(lab, "DiscoveredTargetsRefused", "firing", job="announced"), 60,
                     what="DiscoveredTargetsRefused at the receiver")[0]
    assert alert["annotations"]["summary"] == "announced: 3 announced targets are not scraped"
    # Without the key, or outside its zone, the DNS server refuses the update.
    assert nsupdate(lab, f"update add {srv('svc2.' + ZONE + '.')}", key=False, check=False).returncode != 0
    assert lab.ssh("svc2", f"nsupdate -k {KEY_FILE}", check=False,
                   stdin=f"server {lab.monitor}\nzone other.internal\nupdate add _x._tcp.other.internal 60 SRV 0 0 1 a.other.internal.\nsend\n").returncode != 0


def test_a_self_registered_target_of_a_declared_job_gets_its_settings(lab, api, announcing_host):
    """prometheus_targets from a service's own play, in file_sd/services: the job's token applies."""
    module = ["-m", "limen.monitoring.prometheus_targets", "-a",
              json.dumps({"directory": "/etc/prometheus/file_sd/services", "job": "announced",
                          "targets": [f"{lab.addr('svc2')}:{ANNOUNCED_PORT}"]})]
    adhoc = ["ansible", "monitor", "-i", str(LAB_INVENTORY), "-i", str(SCENARIO_INVENTORY)]
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    subprocess.run(adhoc + module, cwd=REPO, check=True, capture_output=True, env=env)
    try:
        target = wait_for(lambda: [t for t in announced_targets(api) if t["health"] == "up"], 30,
                          what="the self-registered target up with the job's token")[0]
        assert target["labels"]["instance"] == f"{lab.addr('svc2')}:{ANNOUNCED_PORT}"
    finally:
        subprocess.run(adhoc + module[:3] + [json.dumps({"directory": "/etc/prometheus/file_sd/services",
                                                         "job": "announced", "state": "absent"})],
                       cwd=REPO, check=True, capture_output=True, env=env)
    wait_for(lambda: not announced_targets(api), 30, what="the deregistered target to leave")


# ---- runs: no secret in the output, no change; renewal; a broken link fails the run ----
def secret_values(lab):
    values = [v for k, v in SECRETS.items() if k.startswith("vault_") and "{{" not in str(v)]
    values.append(lab.vars["lab_demo_token"])
    pki = Path(lab.vars["lab_pki_dir"])
    for key in [pki / "ca.key", *sorted((pki / "hosts").glob("*.key"))]:
        body = "".join(line for line in key.read_text().splitlines() if "-----" not in line)
        values.append(body[10:60])
    return values


def test_check_diff_vvv_shows_no_secret_and_no_change(lab):
    _, out, recap = run("site.yml", "--check", "--diff", "-vvv")
    assert recap, out[-3000:]
    for secret in secret_values(lab):
        assert secret not in out, "a secret appeared in the output of --check --diff -vvv"
    for host, counts in recap.items():
        assert counts["changed"] == 0 and counts["failed"] == 0, (host, counts)


def test_self_check_costs_one_poll_on_a_converged_server(lab):
    # --tags selfcheck runs the topology and the check alone: also a cheap probe for operators.
    _, out, recap = run("site.yml", "--tags", "selfcheck", "-v")
    task = out[out.index("TASK [limen.monitoring.prometheus : Prove the alert path"):]
    assert re.search(r"^\s*polls: 1$", task[:2000], re.M), task[:2000]
    assert recap["monitor"]["changed"] == 0 and recap["monitor"]["failed"] == 0


def served_not_after(host, port, ca):
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection((host, port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert()["notAfter"]


def test_certificate_renewal_is_idempotent_until_the_window(lab, ca):
    svc2 = lab.addr("svc2")
    before = served_not_after(svc2, 9100, ca)
    # --tags pki: issue and hand out certificates only (what a renewal touches). A certificate is
    # always issued for longer than pki_renew_before (a shorter one is refused before any host
    # changes, as it would be renewed on every run).
    short = ["site.yml", "--tags", "pki", "--limit", "svc2"]
    # The 397-day certificate is inside a 400-day window: re-issued, for 401 days.
    _, _, recap = run(*short, "-e", "pki_renew_before=400d", "-e", "pki_cert_validity=+401d")
    assert recap["svc2"]["changed"] > 0
    renewed = served_not_after(svc2, 9100, ca)
    assert renewed != before, "node_exporter must serve the new certificate"
    _, _, recap = run(*short, "-e", "pki_renew_before=400d", "-e", "pki_cert_validity=+401d")
    assert recap["svc2"]["changed"] == 0, "outside the renewal window nothing changes"
    _, _, recap = run(*short, "-e", "pki_renew_before=402d", "-e", "pki_cert_validity=+403d")
    assert recap["svc2"]["changed"] > 0, "inside the renewal window the certificate is renewed"
    assert served_not_after(svc2, 9100, ca) != renewed
    _, _, recap = run(*short)    # the defaults: the longer certificate is outside their window
    assert recap["svc2"]["changed"] == 0


def test_a_certificate_shorter_than_the_renewal_window_is_refused_before_the_host_changes(lab, ca):
    served = served_not_after(lab.addr("svc2"), 9100, ca)
    # The served certificate (401 or 403 days left) is inside a 500-day window: re-issued for 2 hours.
    code, out, _ = run("site.yml", "--tags", "pki", "--limit", "svc2", "-e", "pki_renew_before=500d",
                       "-e", "pki_cert_validity=+2h", check=False)
    assert code != 0 and "svc2.crt: expires" in out and "within pki_renew_before (500d)" in out, out[-3000:]
    assert served_not_after(lab.addr("svc2"), 9100, ca) == served, "the host must keep its certificate"
    run("site.yml", "--tags", "pki", "--limit", "svc2", "-e", "pki_renew_before=400d", "-e", "pki_cert_validity=+401d")


def test_a_wrong_alertmanager_password_fails_the_run_and_services_keep_running(lab, api):
    broken = {"prometheus_alertmanager_settings": {"basic_auth": {"username": INTERNAL, "password": "wrong"}}}
    try:
        rc, out, _ = run("site.yml", "--limit", "monitoring_servers", "-e", json.dumps(broken), check=False)
        assert rc != 0, "a broken alert path must fail the run"
        flat = re.sub(r"\s+", " ", out)   # the callback may fold long messages
        expected = f"Prometheus cannot deliver to Alertmanager {lab.monitor}:9093: 401 Unauthorized"
        assert expected in flat and "check alertmanager_web_users" in flat, out[-3000:]
        for unit in ("prometheus", "prometheus-alertmanager", "prometheus-node-exporter"):
            assert lab.ssh("monitor", f"systemctl is-active {unit}").stdout.strip() == "active"
        assert api.query('up{job="node"} == 1')
    finally:
        run("site.yml", "--limit", "monitoring_servers")   # repaired; its self-check passes


def test_the_docs_show_exactly_what_this_scenario_runs():
    readme = (REPO / "docs" / "security.md").read_text()
    example = (SCENARIO_INVENTORY / "group_vars" / "all" / "security.yml").read_text()
    assert example.strip() in readme


def test_the_readmes_offline_install_converges_without_a_warning(lab):
    # docs/install.md's block, last line included: the lab was converged from this installed copy by
    # molecule; its re-run changes nothing and prints no warning (host patterns, deprecations).
    home = Path(os.environ["LIMEN_OPERATOR_HOME"])
    r = readme_install.run(home, [LAB_INVENTORY, SCENARIO_INVENTORY])
    out = ANSI.sub("", r.stdout + r.stderr)
    assert r.returncode == 0, out[-6000:]
    assert "TASK [limen.monitoring.topology" in out, out[-3000:]
    recap = {m[0]: (int(m[2]), int(m[4])) for m in RECAP.findall(out)}
    assert set(recap) >= {"monitor", "svc1", "svc2"} and set(recap.values()) == {(0, 0)}, recap
    warnings = [line for line in out.splitlines() if "[WARNING]" in line]
    assert not warnings, warnings


# ---- email over STARTTLS with AUTH; links that open; a receiver that cannot deliver ----
# The lab's mail server (lab.py mail, started by prepare.yml) keeps each message it accepted,
# with whether it came over TLS and which login sent it. The receiver "oncall-mail" uses the
# shipped templates (roles/alertmanager/files/limen.tmpl); these tests run after the others (the
# failing receiver's test breaks mail delivery for a while) and before the example inventory's.
MAIL_RECEIVER = "oncall-mail"
LINK_LINE = re.compile(r"^(Dashboard|Query|Runbook|Silence): (\S+)$", re.M)


def mails(lab):
    """[(meta, message)] the mail server accepted, oldest first."""
    found = []
    for meta in sorted((Path(lab.vars["lab_mail_dir"]) / "messages").glob("*.json")):
        message = email.message_from_bytes(meta.with_suffix(".eml").read_bytes(), policy=email.policy.default)
        found.append((json.loads(meta.read_text()), message))
    return found


def mail_about(lab, status, alertname, job, after=0.0):
    return [(meta, m) for meta, m in mails(lab) if meta["received_at"] > after
            and m["Subject"].startswith(f"[{status.upper()}") and f"] {alertname} ({job})" in m["Subject"]]


class Viewer:
    """A person with the viewer's login (the admin users of the secure inventory), verifying TLS."""

    def __init__(self, lab, ca):
        self.ca = str(ca)
        self.logins = {f"https://{lab.monitor}:9090": ("admin", SECRETS["vault_prometheus_admin_password"]),
                       f"https://{lab.monitor}:9093": ("admin", SECRETS["vault_alertmanager_admin_password"])}

    def open(self, url, data=None):
        """(status, body) of URL opened as the viewer; DATA is posted as JSON."""
        base = next((b for b in self.logins if url.startswith(b + "/")), None)
        assert base, f"{url} is not on a server of the lab a person logs in to"
        if data is None:
            return get(url, *self.logins[base], cafile=self.ca)
        user, password = self.logins[base]
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
        try:
            with urllib.request.urlopen(req, timeout=10, context=ssl.create_default_context(cafile=self.ca)) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def parts(message):
    """(text, HTML) of a mail, with the line ends of SMTP (CRLF) made plain."""
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    html_body = message.get_body(preferencelist=("html",)).get_content().replace("\r\n", "\n")
    return text, html_body


def test_a_stopped_service_is_mailed_over_starttls_with_auth_and_every_link_opens(lab, api, ca):
    start = time.time()
    lab.ssh("svc2", "systemctl stop limen-demo-service")
    try:
        meta, message = wait_for(lambda: mail_about(lab, "firing", "TargetDown", "service2", start), 90,
                                 what="the TargetDown mail for service2")[0]
    finally:
        lab.ssh("svc2", "systemctl start limen-demo-service")
    assert meta["tls"] and meta["login"] == "alertmanager", meta      # STARTTLS, then AUTH
    assert meta["recipients"] == ["oncall@lab.internal"], meta
    text, html_body = parts(message)
    instance = f"{lab.addr('svc2')}:8080"
    for expected in ("[CRITICAL] service2 target", f"Service: service2   Instance: {instance}", "Since: 20"):
        assert expected in text, text
    links = dict(LINK_LINE.findall(text))
    assert set(links) == {"Dashboard", "Query", "Runbook", "Silence"}, text
    hrefs = {html.unescape(h) for h in re.findall(r'href="([^"]+)"', html_body)}
    assert set(links.values()) <= hrefs, (links, hrefs)      # the HTML part links the same pages
    viewer = Viewer(lab, ca)

    # The alert's query: Prometheus' graph page, through TLS and the viewer's login, and the
    # expression it shows finds the stopped target.
    query = urllib.parse.urlsplit(links["Query"])
    assert links["Query"].startswith(f"https://{lab.monitor}:9090/graph?"), links["Query"]
    status, body = viewer.open(links["Query"])
    assert status == 200 and b"Prometheus" in body, (status, body[:200])
    expr = urllib.parse.parse_qs(query.query)["g0.expr"][0]
    status, body = viewer.open(f"https://{lab.monitor}:9090/api/v1/query?"
                               + urllib.parse.urlencode({"query": expr, "time": meta["received_at"]}))
    assert status == 200 and instance in body.decode(), (expr, body[:300])

    # The runbook: the shipped page, served by Prometheus.
    assert links["Runbook"] == f"https://{lab.monitor}:9090/consoles/runbooks/TargetDown.html", links["Runbook"]
    status, body = viewer.open(links["Runbook"])
    assert status == 200 and b"<title>TargetDown</title>" in body and b"What to do" in body, (status, body[:300])

    # The silence: Alertmanager's UI (its form reads the filter in the page's fragment); the
    # filter holds exactly the alert's matchers, which Alertmanager accepts as a silence.
    silence = urllib.parse.urlsplit(links["Silence"])
    assert links["Silence"].startswith(f"https://{lab.monitor}:9093/#/silences/new?filter="), links["Silence"]
    status, body = viewer.open(links["Silence"])
    assert status == 200 and b"Alertmanager" in body, (status, body[:200])
    matchers = dict(re.findall(r'(\w+)="([^"]*)"', urllib.parse.unquote(silence.fragment.split("filter=", 1)[1])))
    assert matchers == {"alertname": "TargetDown", "job": "service2", "instance": instance}, matchers
    new = {"matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in matchers.items()],
           "startsAt": datetime.datetime.now(datetime.timezone.utc).isoformat(), "createdBy": "test",
           "comment": "from the notification's link",
           "endsAt": (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)).isoformat()}
    status, body = viewer.open(f"https://{lab.monitor}:9093/api/v2/silences", data=json.dumps(new).encode())
    assert status == 200, body[:300]
    expire_silence(lab, ca, json.loads(body)["silenceID"])

    # The dashboard: Grafana cannot run in the lab, so the link is checked against what the role
    # wrote: Grafana's scheme, address and port (grafana.ini), the service's provisioned dashboard
    # (uid svc-service2) with its job and instance, and a time range from an hour before the start.
    dashboard = urllib.parse.urlsplit(links["Dashboard"])
    ini = lab.ssh("monitor", "cat /etc/grafana/grafana.ini").stdout
    assert "protocol = https" in ini and "http_port = 3000" in ini and f"http_addr = {lab.monitor}" in ini, ini
    assert (dashboard.scheme, dashboard.netloc, dashboard.path) == ("https", f"{lab.monitor}:3000", "/d/svc-service2")
    lab.ssh("monitor", "grep -rlq '\"uid\": \"svc-service2\"' /var/lib/grafana/dashboards /etc/grafana 2>/dev/null"
            " || grep -rlq 'svc-service2' /var/lib/grafana /etc/grafana")
    params = urllib.parse.parse_qs(dashboard.query)
    assert params["var-job"] == ["service2"] and params["var-instance"] == [instance], params
    assert params["to"] == ["now"] and 0 < start * 1000 - int(params["from"][0]) <= 3600 * 1000 + 120_000, params

    # Resolved mail follows, with the end time.
    _, resolved = wait_for(lambda: mail_about(lab, "resolved", "TargetDown", "service2", start), 90,
                           what="the resolved TargetDown mail for service2")[0]
    assert "Resolved: 20" in parts(resolved)[0]


def deadman_alive(lab, grace=15):
    try:
        with urllib.request.urlopen(lab.receiver.replace("/alerts", f"/deadman?grace={grace}"), timeout=10) as resp:
            return resp.status == 200
    except urllib.error.HTTPError as exc:
        assert exc.code == 503, exc
        return False


def test_the_dead_mans_switch_hears_the_watchdog_and_notices_its_absence(lab, ca):
    # docs/alerting.md's recipe on the lab (heartbeat every 10 s, grace 15 s): the stand-in switch
    # (the lab's receiver) is fed by the Watchdog's own route, and a silenced Watchdog is noticed.
    wait_for(lambda: deadman_alive(lab), 60, what="the Watchdog's heartbeat at the dead-man's switch")
    viewer = Viewer(lab, ca)
    now = datetime.datetime.now(datetime.timezone.utc)
    silence = {"matchers": [{"name": "alertname", "value": "Watchdog", "isRegex": False, "isEqual": True}],
               "startsAt": now.isoformat(), "endsAt": (now + datetime.timedelta(minutes=5)).isoformat(),
               "createdBy": "test", "comment": "the mistake the dead-man's switch is there for"}
    status, body = viewer.open(f"https://{lab.monitor}:9093/api/v2/silences", data=json.dumps(silence).encode())
    assert status == 200, body[:300]
    silence_id = json.loads(body)["silenceID"]
    try:
        wait_for(lambda: not deadman_alive(lab), 60, what="the dead-man's switch noticing the missing Watchdog")
    finally:
        expire_silence(lab, ca, silence_id)
    wait_for(lambda: deadman_alive(lab), 60, what="the heartbeat again once the silence expired")


def expire_silence(lab, ca, silence_id):
    req = urllib.request.Request(f"https://{lab.monitor}:9093/api/v2/silence/{silence_id}", method="DELETE")
    req.add_header("Authorization", "Basic " + base64.b64encode(
        f"admin:{SECRETS['vault_alertmanager_admin_password']}".encode()).decode())
    with urllib.request.urlopen(req, timeout=10, context=ssl.create_default_context(cafile=str(ca))) as resp:
        assert resp.status == 200


def test_a_receiver_that_cannot_deliver_is_announced_and_named_by_the_self_check(lab):
    users = Path(lab.vars["lab_mail_dir"]) / "users"
    good = users.read_text()
    http_json(lab.receiver, method="DELETE")
    users.write_text("alertmanager:a-rotated-password\n")     # the mail server no longer accepts ours
    try:
        lab.ssh("svc2", "systemctl stop limen-demo-service")   # something to mail about
        alert = wait_for(lambda: notifications(lab, "AlertmanagerNotificationsFailing", "firing", integration="email"),
                         120, what="AlertmanagerNotificationsFailing for email at the webhook receiver")[0]
        assert alert["labels"]["severity"] == "critical", alert
        rc, out, _ = run("site.yml", "--tags", "selfcheck", check=False)
        assert rc != 0, out[-3000:]
        assert f"the email receiver(s) {MAIL_RECEIVER}" in out and "last notification failed" in out, out[-3000:]
    finally:
        users.write_text(good)
        lab.ssh("svc2", "systemctl start limen-demo-service")
    # Delivered again: the self-check passes once a notification went through.
    since = time.time()
    wait_for(lambda: mail_about(lab, "resolved", "TargetDown", "service2", since), 120,
             what="a mail delivered after the password was restored")
    run("site.yml", "--tags", "selfcheck")


# ---- the example inventory, from the installed collection (last: it replaces the lab's CA) ----
# The lab's components served plain (the opt-out), from the same inventory: no TLS, no login.
PLAIN = {"monitoring_plain_http": True, "grafana_tls_cert_file": "", "grafana_tls_key_file": "",
         **{f"{c}_web_tls_{f}_file": "" for c in ("prometheus", "alertmanager", "node_exporter") for f in ("cert", "key")},
         **{f"{c}_web_users": {} for c in ("prometheus", "alertmanager", "node_exporter")}}


@pytest.mark.replaces_lab
def test_secure_to_plain_to_secure_and_a_password_rotation_page_nobody(lab, api, ca):
    """Each switch changes the exporters some tasks before Prometheus: the run silences the
    availability alerts of the switched jobs meanwhile, and at its end expires the silence, or
    ends it just after the old targets' last samples stop being seen (a restarted Prometheus)."""
    def silences():
        status, body = get(f"https://{lab.monitor}:9093/api/v2/silences", INTERNAL,
                           SECRETS["vault_alertmanager_internal_password"], cafile=str(ca))
        assert status == 200, body[:300]
        return [s for s in json.loads(body) if s["createdBy"] == "limen.monitoring switch_silence"]

    def converge(label, *args):
        _, out, _ = run("site.yml", *args)
        # The run ends its silence once the switched targets are up; when it cannot, it says why.
        stays = re.findall(r"silence of the switched jobs stays.{0,1500}", " ".join(out.split()))
        assert not stays, (label, stays)

    http_json(lab.receiver, method="DELETE")
    done = False
    try:
        converge("secure to plain", "-e", json.dumps(PLAIN))
        converge("plain to secure")
        (lab.secrets / "blackbox_exporter").unlink()   # a generated password: the run makes a new one
        converge("a new blackbox_exporter password", "--limit", "monitoring_servers")   # where it runs
        done = True
    finally:
        if not done:
            run("site.yml", check=False)   # the lab's secure state for the tests after this one
    made = silences()
    assert len(made) >= 3, made
    # Every silence of the switches is over within minutes (expired, or ending after the lookback
    # delta); once the last is, no availability alert of the switches reaches the receiver.
    wait_for(lambda: {s["status"]["state"] for s in silences()} == {"expired"}, 420,
             interval=10, what="the switches' silences to end")
    time.sleep(20)   # the lab's for: is 4s, group_wait 1s: an alert the silence held back is delivered by now
    false_alerts = [(a["labels"]["alertname"], a["labels"].get("job"), a["labels"].get("instance"))
                    for name in ("HostDown", "TargetDown", "ProbeFailed") for a in notifications(lab, name, "firing")]
    assert not false_alerts, false_alerts
    down = [(t["labels"]["job"], t["labels"]["instance"], t["lastError"])
            for t in api.prom("/api/v1/targets?state=active")["activeTargets"] if t["health"] != "up"]
    assert not down, down


@pytest.mark.replaces_lab
def test_the_example_with_two_hosts_on_one_address_is_refused_before_any_host_changes(lab):
    home = Path(os.environ["LIMEN_OPERATOR_HOME"])
    example_inventory.copy_mapped(lab, home, merged=False)   # service2-api and service3-api on svc2
    code, out, recap = example_inventory.converge(home)
    flat = re.sub(r"\s+", " ", out)
    assert code != 0, out[-3000:]
    assert f"hosts service2-api and service3-api: both are the address {lab.addr('svc2')}" in flat, out[-3000:]
    # Nothing but the controller's directory for the secrets (made before the inventory is read).
    assert set(re.findall(r"^changed: \[(.+?)\]", out, re.M)) <= {"monitor -> localhost"}, out[-3000:]
    assert set(recap) == {"monitor", "limen-api", "service2-api", "service3-api"}, recap
    assert not re.search(r"^TASK \[(?!Gathering Facts|limen\.monitoring\.topology :)", out, re.M), out[-3000:]


@pytest.mark.replaces_lab
def test_the_example_converges_secure_and_keeps_its_ca_and_secrets_across_a_reinstall(lab):
    home = Path(os.environ["LIMEN_OPERATOR_HOME"])
    vault = example_inventory.copy_mapped(lab, home, merged=True)
    code, out, recap = example_inventory.converge(home)
    assert code == 0, out[-6000:]
    assert not [line for line in out.splitlines() if "[WARNING]" in line], out[-6000:]
    assert set(recap) == {"monitor", "limen-api", "service2-api"}, recap

    # The run made its CA and internal users' passwords in the default place, outside the
    # collection, private; every component answers only with credentials, over verified TLS.
    made = example_inventory.secrets_dir(home)
    assert made.parent == home / ".local" / "share" / "limen-monitoring"
    assert oct(made.stat().st_mode & 0o777) == "0o700"
    assert oct((made / "pki" / "ca.key").stat().st_mode & 0o777) == "0o600"
    ca = made / "pki" / "ca.crt"
    assert ca.read_bytes() != Path(lab.vars["lab_pki_dir"], "ca.crt").read_bytes()
    m, s1 = lab.monitor, lab.addr("svc1")
    # (limen-api's node_exporter answers the monitoring server only: its scrape is checked below.)
    urls = [f"https://{m}:9090/api/v1/query?query=up", f"https://{m}:9093/api/v2/status", f"https://{m}:9100/metrics"]
    for url in urls:
        assert get(url, cafile=str(ca))[0] == 401, url
    targets = f"https://{m}:9090/api/v1/targets?state=active"
    own = {("prometheus", f"{m}:9090"), ("alertmanager", f"{m}:9093"), ("node", f"{m}:9100"), ("node", f"{s1}:9100")}

    def own_targets_up():
        # The targets API, not `up`: series of the lab's earlier configuration stay queryable for
        # five minutes after a restart and say nothing about what is scraped now.
        status, body = get(targets, "admin", vault["vault_prometheus_admin_password"], cafile=str(ca))
        assert status == 200, (status, body[:300])
        seen = {(t["labels"]["job"], t["labels"]["instance"]): (t["health"], t["lastError"])
                for t in json.loads(body)["data"]["activeTargets"]
                if t["labels"]["job"] in {"prometheus", "alertmanager", "node"}}
        assert set(seen) == own and all(h == "up" for h, _ in seen.values()), seen
        return seen
    wait_for(own_targets_up, 90, what="the example's own targets up, scraped with the new CA")

    # Its mail reaches the lab's mail server over STARTTLS with the example's login and password,
    # so the self-check ending the converge below judges a receiver that has delivered. (The
    # example mutes its route for the Watchdog from 02:00 to 03:00 UTC: nothing is sent then.)
    mapped = yaml.safe_load((home / "limen" / "inventories" / "prod" / "group_vars" / "monitoring_servers.yml").read_text())
    login = mapped["alertmanager_global"]["smtp_auth_username"]
    if datetime.datetime.now(datetime.timezone.utc).hour != 2:
        wait_for(lambda: [meta for meta, _ in mails(lab) if meta["tls"] and meta["login"] == login
                          and meta["recipients"] == ["ops@example.internal"]], 180,
                 what="the example's first mail at the lab's mail server")

    # An upgrade: the artifacts installed again over the installed copy (the README's command
    # with --force); the collection's directory is replaced, what the run made is kept.
    before = example_inventory.snapshot(made)
    installed = home / "limen" / "collections" / "ansible_collections" / "limen" / "monitoring"
    (installed / "left-by-the-old-install").write_text("")
    code, out, _ = example_inventory.run(home, "bash", "-c", "ansible-galaxy collection install --offline --force *.tar.gz")
    assert code == 0, out
    assert not (installed / "left-by-the-old-install").exists(), "the reinstall must replace the collection"
    code, out, recap = example_inventory.converge(home)
    assert code == 0, out[-6000:]
    assert {h: r["changed"] for h, r in recap.items()} == dict.fromkeys(recap, 0), recap
    assert not [line for line in out.splitlines() if "[WARNING]" in line], out[-6000:]
    assert example_inventory.snapshot(made) == before, "the CA or a secret changed across the reinstall"
