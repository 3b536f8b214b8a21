"""An HA pair and long-term storage (lab topology "ha"), checked with real connections.

Two monitoring servers (monitor, monitor2), VictoriaMetrics on `storage`, the service hosts
and the outside host with the alert receiver. The tests run in file order: normal
operation first, then `monitor` is killed (its container's init, network unplugged), then
brought back and converged again.

With LIMEN_LAB_SECURE=1 (molecule/ha) the pair runs the secure configuration
(molecule/secure/inventory): every request here, as every client of the collection, goes
over TLS verified against the internal CA and logs in as the component's internal user.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import LAB_INVENTORY, REPO, http_json, playbook, wait_for

SERVERS = ("monitor", "monitor2")
KILLED, SURVIVOR = "monitor", "monitor2"
# Alertmanager's second peer waits --cluster.peer-timeout (15 s) before it sends; a
# duplicate would arrive within that. Counting happens after this much quiet.
SETTLE = 25
PROBE = ("python3 -c \"import socket,sys; s=socket.socket(); s.settimeout(3); "
         "sys.exit(s.connect_ex(('{addr}', {port})))\"")
SECURE = os.environ.get("LIMEN_LAB_SECURE") == "1"
SCHEME = "https" if SECURE else "http"
SECURE_INVENTORY = REPO / "molecule" / "secure" / "inventory"
# What the scenario converged with; the re-runs below use the same.
INVENTORIES = [LAB_INVENTORY, *([SECURE_INVENTORY] if SECURE else []), REPO / "molecule" / "ha" / "inventory"]
SECRETS = (yaml.safe_load((SECURE_INVENTORY / "group_vars" / "all" / "lab_secrets.yml").read_text())
           if SECURE else {})
# The internal user of the component on each port (secure configuration).
PASSWORDS = {9090: "vault_prometheus_internal_password", 9093: "vault_alertmanager_internal_password",
             8428: "vault_victoriametrics_internal_password"}
HOST_CA = "/etc/limen-monitoring/ca.crt"   # pki_ca_file on every host
# Runs on a lab host (no curl there): GET argv[1] with the Authorization header argv[2],
# TLS verified against the host's copy of the CA, and print the body.
FETCH = ("python3 -c \"import ssl,sys,urllib.request as u; r=u.Request(sys.argv[1]); "
         "sys.argv[2] and r.add_header('Authorization', sys.argv[2]); "
         "c=ssl.create_default_context(cafile='" + HOST_CA + "') if sys.argv[1].startswith('https') else None; "
         "print(u.urlopen(r, timeout=10, context=c).read().decode())\" {url} {auth}")
STATE: dict = {}


def prom(lab, server):
    return f"{SCHEME}://{lab.addr(server)}:9090"


def am(lab, server):
    return f"{SCHEME}://{lab.addr(server)}:9093"


def vm(lab):
    return f"{SCHEME}://{lab.addr('storage')}:8428"


def authorization(url):
    """The Basic header of the internal user of the component at URL ('' without security)."""
    if not SECURE:
        return ""
    secret = SECRETS[PASSWORDS[urllib.parse.urlsplit(url).port]]
    return "Basic " + base64.b64encode(f"limen-internal:{secret}".encode()).decode()


def api(lab, url):
    """JSON from a component, as the collection's clients reach it."""
    req = urllib.request.Request(url)
    if SECURE:
        req.add_header("Authorization", authorization(url))
    context = ssl.create_default_context(cafile=str(Path(lab.vars["lab_pki_dir"]) / "ca.crt")) if SECURE else None
    with urllib.request.urlopen(req, timeout=10, context=context) as resp:
        return json.loads(resp.read())


def fetch_from(lab, host, url):
    return lab.ssh(host, FETCH.format(url=json.dumps(url), auth=json.dumps(authorization(url))), timeout=30).stdout


def query(lab, url, promql, **params):
    body = json.loads(get(lab, url + "/api/v1/query?" + urllib.parse.urlencode({"query": promql, **params})))
    assert body["status"] == "success", body
    return body["data"]["result"]


def get(lab, url):
    """VictoriaMetrics answers the monitoring servers only: ask it from the survivor."""
    if url.startswith(vm(lab)):
        return fetch_from(lab, SURVIVOR, url)
    return json.dumps(api(lab, url))


def can_connect(lab, source, addr, port):
    return lab.ssh(source, PROBE.format(addr=addr, port=port), check=False).returncode == 0


def groups_notified(lab, alertname, status, **labels):
    """Notifications (not alerts) the receiver got for the alert group ALERTNAME/labels."""
    found = []
    for note in http_json(lab.receiver):
        body = note["body"]
        group = body.get("groupLabels", {})
        if (group.get("alertname") == alertname and body["status"] == status
                and all(group.get(k) == v for k, v in labels.items())):
            found.append(note)
    return found


def sequence(lab, job):
    """The TargetDown group's notifications for JOB in arrival order: (status, sender, received)."""
    notes = [n for n in http_json(lab.receiver) if n["body"].get("groupLabels") == {"alertname": "TargetDown", "job": job}]
    return [(n["body"]["status"], n["body"]["externalURL"], round(n["received_at"], 3)) for n in notes]


def stop_service_and_count(lab, host, job, *, rejoined=False):
    """Stop HOST's demo service: exactly one firing and one resolved notification.

    REJOINED (a peer has just come back): the returned Alertmanager's groups flush out of step
    with its partner's. A flush decides on the alerts as they were when it began, then waits its
    turn (the peer timeout); when the partner notifies a change during that wait, the returned
    one sends the old state again, and the partner then sends the new one again. So: every
    notification differs from the one before it (never the same news twice), and the group
    fires and ends resolved."""
    http_json(lab.receiver, method="DELETE")
    started = time.monotonic()
    lab.ssh(host, "systemctl stop limen-demo-service")
    try:
        wait_for(lambda: groups_notified(lab, "TargetDown", "firing", job=job), 120,
                 what=f"a firing TargetDown for {job}")
        delay = time.monotonic() - started
        time.sleep(SETTLE)
        firing = groups_notified(lab, "TargetDown", "firing", job=job)
    finally:
        lab.ssh(host, "systemctl start limen-demo-service")
    wait_for(lambda: groups_notified(lab, "TargetDown", "resolved", job=job), 120,
             what=f"the resolved TargetDown for {job}")
    time.sleep(SETTLE)
    resolved = groups_notified(lab, "TargetDown", "resolved", job=job)
    seen = sequence(lab, job)
    statuses = [status for status, _, _ in seen]
    if rejoined:
        verdict = ("firing" in statuses and statuses[-1] == "resolved"
                   and all(a != b for a, b in itertools.pairwise(statuses)))
    else:
        verdict = len(firing) == 1 and len(resolved) == 1
    # Each peer's view is asked only now: during the failure one server does not answer.
    assert verdict, f"in order (status, sender, received): {seen}; each peer's view: {cluster_views(lab)}"
    alerts = firing[0]["body"]["alerts"]
    assert len(alerts) == 1, f"the replicas' copies of the alert were not merged: {alerts}"
    assert "monitor" not in alerts[0]["labels"], "the replica label reached Alertmanager"
    return delay


def inventories():
    return [arg for inv in INVENTORIES for arg in ("-i", str(inv))]


def lab_py(*args):
    r = subprocess.run([sys.executable, str(REPO / "lab" / "lab.py"), *args], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr + r.stdout


def wanted_targets(lab):
    wanted = {("victoriametrics", f"{lab.addr('storage')}:8428")}
    for server in SERVERS:
        addr = lab.addr(server)
        wanted |= {("prometheus", f"{addr}:9090"), ("alertmanager", f"{addr}:9093"), ("node", f"{addr}:9100")}
    for host in lab.groups["monitored_services"]:
        for ep in lab.hosts[host]["monitoring_endpoints"]:
            wanted.add((ep["job"], f"{lab.addr(host)}:{ep['port']}"))
        wanted.add(("node", f"{lab.addr(host)}:9100"))
    return wanted


def cluster_peers(lab, server):
    status = api(lab, am(lab, server) + "/api/v2/status")["cluster"]
    return status["status"], sorted(p["address"] for p in status.get("peers") or [])


def cluster_views(lab):
    """Each Alertmanager's name and the peers it sees: what decides which one waits."""
    views = {}
    for server in SERVERS:
        try:
            status = api(lab, am(lab, server) + "/api/v2/status")["cluster"]
        except OSError as error:   # the killed server
            views[server] = str(error)
            continue
        views[server] = (status.get("name"), sorted((p["name"], p["address"]) for p in status.get("peers") or []))
    return views


def both_peers(lab):
    return sorted(f"{lab.addr(s)}:9094" for s in SERVERS)


def datasources(lab, server):
    doc = yaml.safe_load(lab.ssh(server, "cat /etc/grafana/provisioning/datasources/limen.yml").stdout)
    return {d["name"]: d for d in doc["datasources"]}


# ---- normal operation -------------------------------------------------------------
def test_the_lab_has_the_ha_topology(lab):
    assert lab.groups["monitoring_servers"] == list(SERVERS)
    assert lab.groups["victoriametrics"] == ["storage"]


def test_both_prometheus_have_every_target_up(lab):
    wanted = wanted_targets(lab)
    for server in SERVERS:
        def all_up(server=server):
            up = {(r["metric"]["job"], r["metric"]["instance"]) for r in query(lab, prom(lab, server), "up == 1")}
            return wanted <= up and up
        wait_for(all_up, 120, what=f"up == 1 on {server} for {sorted(wanted)}")


def test_each_replica_carries_its_own_external_label(lab):
    for server in SERVERS:
        config = yaml.safe_load(api(lab, prom(lab, server) + "/api/v1/status/config")["data"]["yaml"])
        assert config["global"]["external_labels"]["monitor"] == server
        managers = {t for am_conf in config["alerting"]["alertmanagers"]
                    for sc in am_conf["static_configs"] for t in sc["targets"]}
        assert managers == {f"{lab.addr(s)}:9093" for s in SERVERS}, managers


def test_every_prometheus_sends_to_every_alertmanager(lab):
    for server in SERVERS:
        found = api(lab, prom(lab, server) + "/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
        assert {a["url"] for a in found} == {f"{am(lab, s)}/api/v2/alerts" for s in SERVERS}, found


def test_the_alertmanager_cluster_reports_both_peers(lab):
    for server in SERVERS:
        wait_for(lambda server=server: cluster_peers(lab, server) == ("ready", both_peers(lab)), 60,
                 what=f"both peers in {server}'s cluster status")


def test_gossip_listens_on_the_internal_address_only(lab):
    for server in SERVERS:
        out = lab.ssh(server, "ss -Hltun 'sport = :9094'").stdout
        listeners = {line.split()[4] for line in out.splitlines()}
        assert listeners == {f"{lab.addr(server)}:9094"}, out


def test_cluster_port_answers_the_other_peer_only(lab):
    assert can_connect(lab, "monitor2", lab.addr("monitor"), 9094)
    assert can_connect(lab, "monitor", lab.addr("monitor2"), 9094)
    for source in ("svc1", "outside", "storage"):
        for server in SERVERS:
            assert not can_connect(lab, source, lab.addr(server), 9094), f"{source} reaches {server}:9094"
    rules = lab.ssh("monitor", "nft list table inet limen_monitoring").stdout
    assert "udp dport 9094" in rules, "gossip over UDP is not restricted"


def test_storage_port_answers_the_monitoring_servers_only(lab):
    storage = lab.addr("storage")
    for server in SERVERS:
        assert can_connect(lab, server, storage, 8428)
    for source in ("svc1", "svc2", "outside"):
        assert not can_connect(lab, source, storage, 8428), f"{source} reaches the storage port"
    out = lab.ssh("storage", "ss -Hltn 'sport = :8428'").stdout
    assert {line.split()[3] for line in out.splitlines()} == {f"{storage}:8428"}


def test_victoriametrics_holds_one_deduplicated_series_per_target(lab):
    instance = f"{lab.addr('svc1')}:18443"
    series = wait_for(lambda: query(lab, vm(lab), f'up{{job="limen",instance="{instance}"}}'), 120,
                      what="the limen target's series in VictoriaMetrics")
    assert len(series) == 1, series
    assert "monitor" not in series[0]["metric"], series
    # Two replicas scrape every 2 s: without deduplication a minute holds about 60 samples.
    past = time.time() - 40
    count = query(lab, vm(lab), f'count_over_time(up{{job="limen",instance="{instance}"}}[30s])', time=past)
    assert count and float(count[0]["value"][1]) <= 20, count


def test_both_grafanas_default_to_the_same_deduplicated_store(lab):
    provisioned = {server: datasources(lab, server) for server in SERVERS}
    defaults = {server: [d for d in ds.values() if d.get("isDefault")] for server, ds in provisioned.items()}
    assert defaults["monitor"] == defaults["monitor2"]
    default = defaults["monitor"]
    assert [d["url"] for d in default] == [vm(lab)], default
    if SECURE:   # Grafana reads the store as its internal user, over TLS verified with the CA
        assert default[0]["basicAuthUser"] == "limen-internal", default
        assert default[0]["secureJsonData"]["basicAuthPassword"] == SECRETS["vault_victoriametrics_internal_password"]
        assert "BEGIN CERTIFICATE" in default[0]["secureJsonData"]["tlsCACert"]
    # each server keeps its own Prometheus as a further datasource
    for server in SERVERS:
        assert provisioned[server]["Prometheus"]["url"] == prom(lab, server)
    uids = {t["datasource"]["uid"] for server in SERVERS
            for path in lab.ssh(server, "find /var/lib/grafana/dashboards -name '*.json'").stdout.split()
            for panel in json.loads(lab.ssh(server, f"cat {path}").stdout)["panels"]
            for t in panel.get("targets", [])}
    assert uids == {default[0]["uid"]}, uids


@pytest.mark.skipif(not SECURE, reason="the store has no user without the secure configuration")
def test_the_store_wants_its_user_over_tls_and_keeps_the_password_off_the_command_line(lab):
    url = vm(lab) + "/api/v1/query?query=up"
    refused = lab.ssh(SURVIVOR, FETCH.format(url=json.dumps(url), auth='""'), check=False)
    assert refused.returncode != 0 and "401" in refused.stderr, refused.stderr
    assert json.loads(fetch_from(lab, SURVIVOR, url))["status"] == "success"
    password = SECRETS["vault_victoriametrics_internal_password"]
    visible = lab.ssh("storage", "ps -eo args; systemctl cat victoria-metrics").stdout
    assert password not in visible
    mode = lab.ssh("storage", "stat -c '%a %U' /etc/victoria-metrics/credentials.env").stdout.split()
    assert mode == ["600", "root"], mode


def test_a_stopped_service_is_notified_exactly_once(lab):
    stop_service_and_count(lab, "svc2", "service2")


# ---- one monitoring server dies -----------------------------------------------------
def test_kill_a_server_and_a_service_stopped_after_is_notified_exactly_once(lab):
    http_json(lab.receiver, method="DELETE")
    STATE["killed_at"] = time.time()
    lab_py("stop", KILLED)
    assert not can_connect(lab, SURVIVOR, lab.addr(KILLED), 9093)
    STATE["delay"] = stop_service_and_count(lab, "svc1", "limen")


def test_the_watchdog_keeps_arriving_after_the_kill(lab):
    def watchdog_after_kill():
        return [n for n in http_json(lab.receiver)
                if n["body"]["groupLabels"].get("alertname") == "Watchdog"
                and n["received_at"] > STATE["killed_at"]]
    # The lab repeats the Watchdog every minute; the receiver was cleared at the kill.
    wait_for(watchdog_after_kill, 100, interval=2, what="a Watchdog notification after the kill")


def test_victoriametrics_has_no_gap_across_the_failure(lab):
    instance = f"{lab.addr('svc2')}:8080"
    start = STATE["killed_at"] - 60
    url = (vm(lab) + "/api/v1/export?" + urllib.parse.urlencode(
        {"match[]": f'up{{job="service2",instance="{instance}"}}', "start": int(start), "end": int(time.time())}))
    lines = [json.loads(line) for line in get(lab, url).splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one series without the replica label, got {len(lines)}"
    stamps = sorted(lines[0]["timestamps"])
    assert stamps[0] / 1000 <= STATE["killed_at"] - 30 and stamps[-1] / 1000 >= STATE["killed_at"] + 60
    gaps = [(b - a) / 1000 for a, b in itertools.pairwise(stamps)]
    assert max(gaps) <= 6, f"largest gap {max(gaps):.1f} s (scrape interval 2 s)"


def test_the_survivors_grafana_datasource_still_answers(lab):
    default = next(d for d in datasources(lab, SURVIVOR).values() if d.get("isDefault"))
    url = default["url"] + "/api/v1/query?" + urllib.parse.urlencode({"query": 'up{job="limen"}'})
    body = json.loads(fetch_from(lab, SURVIVOR, url))
    assert body["status"] == "success" and body["data"]["result"], body
    assert query(lab, prom(lab, SURVIVOR), 'up{job="limen"} == 1')


# ---- it comes back -------------------------------------------------------------------
def test_the_server_comes_back_and_site_yml_changes_nothing_the_outage_did_not(lab):
    lab_py("up")
    _, out, recap = playbook("site.yml", *inventories())
    assert recap, out[-3000:]
    changed = {host: counts["changed"] for host, counts in recap.items() if counts["changed"]}
    assert not changed, f"changes after the outage: {changed}\n{out[-4000:]}"


def test_it_rejoins_the_cluster_and_scrapes_again(lab):
    for server in SERVERS:
        wait_for(lambda server=server: cluster_peers(lab, server) == ("ready", both_peers(lab)), 90,
                 what=f"both peers in {server}'s cluster status")
    wanted = wanted_targets(lab)
    wait_for(lambda: wanted <= {(r["metric"]["job"], r["metric"]["instance"])
                                for r in query(lab, prom(lab, KILLED), "up == 1")}, 120,
             what=f"every target up on {KILLED} again")


def test_no_duplicates_after_the_return(lab):
    stop_service_and_count(lab, "svc2", "service2", rejoined=True)
    watchdogs = sorted(n["received_at"] for n in http_json(lab.receiver)
                       if n["body"]["groupLabels"].get("alertname") == "Watchdog")
    assert all(b - a > 30 for a, b in itertools.pairwise(watchdogs)), f"Watchdog twice: {watchdogs}"


def test_victoriametrics_from_a_local_tarball_keeps_the_history(lab, tmp_path):
    """Package -> upstream tarball of the same version (built from Debian's binary in upstream's layout)."""
    package = lab.ssh("storage", "dpkg-query -W -f '${Version}' victoria-metrics").stdout
    version = package.split("+")[0]
    subprocess.run([sys.executable, str(REPO / "lab" / "release_tarballs.py"), str(tmp_path),
                    f"victoria-metrics={version}"], check=True, capture_output=True)
    archive = tmp_path / "victoria-metrics" / f"v{version}" / f"victoria-metrics-linux-amd64-v{version}.tar.gz"
    history = 'count_over_time(up{job="service2"}[2m])'
    at = STATE["killed_at"] + 60
    before = query(lab, vm(lab), history, time=at)
    assert before, "no history across the failure to compare with"
    playbook("site.yml", *inventories(), "--limit", "storage", "-e", json.dumps(
        {"victoriametrics_install_method": "local", "victoriametrics_local_archive": str(archive),
         "victoriametrics_version": version}))
    exec_start = lab.ssh("storage", "systemctl show -p ExecStart --value victoria-metrics").stdout
    assert "/usr/local/bin/victoria-metrics-prod " in exec_start, exec_start
    link = lab.ssh("storage", "readlink /usr/local/bin/victoria-metrics-prod").stdout.strip()
    assert link == f"/opt/limen-monitoring/victoria-metrics/{version}/victoria-metrics-prod"
    assert query(lab, vm(lab), history, time=at) == before
