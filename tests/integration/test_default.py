"""The whole stack on the converged lab, checked by behaviour and real connections."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from conftest import INTERNAL_USER, LAB_INVENTORY, REPO, http_json, notifications, playbook, wait_for


def lab_py(*args):
    r = subprocess.run([sys.executable, str(REPO / "lab" / "lab.py"), *args], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, f"lab.py {' '.join(args)}: {r.stderr}{r.stdout}"


def inventory_targets(lab):
    """(job, address) pairs the inventory asks Prometheus to scrape."""
    wanted = {("prometheus", f"{lab.monitor}:9090"), ("node", f"{lab.monitor}:9100")}
    for host in lab.groups["monitored_services"]:
        for ep in lab.hosts[host]["monitoring_endpoints"]:
            wanted.add((ep["job"], f"{lab.addr(host)}:{ep['port']}"))
        wanted.add(("node", f"{lab.addr(host)}:9100"))
    return wanted


def test_every_inventory_target_is_up(lab):
    wanted = inventory_targets(lab)

    def all_up():
        up = {(r["metric"]["job"], r["metric"]["instance"]) for r in lab.query("up == 1")}
        return wanted <= up and up

    up = wait_for(all_up, 90, what=f"up == 1 for {sorted(wanted)}")
    assert ("limen", f"{lab.addr('svc1')}:18443") in up


def test_limen_is_scraped_on_its_own_metrics_path(lab):
    target = next(t for t in lab.targets() if t["labels"]["job"] == "limen")
    assert target["scrapeUrl"].endswith(":18443/api/metrics")
    assert lab.query('vm_total{job="limen"}')[0]["value"][1] == "6"


def test_prometheus_listens_on_the_internal_address_only(lab):
    r = lab.ssh("monitor", "ss -Hltn 'sport = :9090'")
    listeners = {line.split()[3] for line in r.stdout.splitlines()}
    assert listeners == {f"{lab.monitor}:9090"}


# ---- the secure default (or, in the opt-out scenario, what plain HTTP opens) ----
def web_endpoints(lab):
    """(component, url) of every web endpoint the collection serves in the lab."""
    yield "prometheus", lab.prometheus
    yield "alertmanager", lab.alertmanager
    for host in ["monitor", *lab.groups["monitored_services"]]:
        yield "node_exporter", f"{lab.scheme}://{lab.addr(host)}:9100"


def status(url, context=None, auth=None):
    req = urllib.request.Request(url + ("/metrics" if url.endswith(":9100") else "/-/ready"))
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_every_component_asks_for_credentials_over_tls_verified_by_the_generated_ca(lab):
    if not lab.secure:
        # The explicit opt-out (monitoring_plain_http): anyone who reaches a port reads it.
        for component, url in web_endpoints(lab):
            assert url.startswith("http://") and status(url) == 200, (component, url)
        return
    verified = ssl.create_default_context(cafile=str(lab.ca))
    for component, url in web_endpoints(lab):
        assert url.startswith("https://"), url
        assert status(url, verified) == 401, f"{url} answers without credentials"
        assert status(url, verified, (INTERNAL_USER, "wrong-password-123")) == 401, url
        assert status(url, verified, (INTERNAL_USER, lab.password(component))) == 200, url
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            status(url, ssl.create_default_context())  # the system's CAs do not know the lab's CA
        assert status("http://" + url.removeprefix("https://")) == 400, f"{url} answers plain HTTP"
    # Made by the run on the controller, private, outside the checkout's built tree.
    assert oct(lab.secrets.stat().st_mode & 0o777) == "0o700"
    for name in ("prometheus", "alertmanager", "node_exporter", "victoriametrics", "grafana_secret_key"):
        path = lab.secrets / name
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
        assert len(path.read_text().strip()) == 32
    assert oct((lab.ca.parent / "ca.key").stat().st_mode & 0o777) == "0o600"
    ini = lab.ssh("monitor", "cat /etc/grafana/grafana.ini").stdout
    assert "protocol = https" in ini and "cert_file = /etc/grafana/tls.crt" in ini
    assert lab.password("grafana_secret_key") in ini


def test_check_diff_on_converged_lab_reports_no_change(lab):
    _, out, recap = playbook("site.yml", "--check", "--diff")
    assert recap, out[-3000:]
    assert "lab-only" not in out, "a secret from the inventory appeared in the output"
    if lab.secure:
        for name in ("prometheus", "alertmanager", "node_exporter", "grafana_secret_key"):
            assert lab.password(name) not in out, f"the generated {name} secret appeared in the output"
    for host, counts in recap.items():
        assert counts["changed"] == 0 and counts["failed"] == 0, (host, counts, out[-4000:])


def test_broken_rule_file_is_refused_and_prometheus_keeps_running(lab, tmp_path):
    bad = tmp_path / "broken.yml"
    bad.write_text("groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: rate(up[5m]\n")
    before = lab.ssh("monitor", "systemctl show -p MainPID --value prometheus").stdout.strip()
    rc, out, _ = playbook("site.yml", "--limit", "monitoring_servers", "-e",
                          json.dumps({"prometheus_rule_files": [str(bad)]}), check=False)
    assert rc != 0, "a broken rule file must fail the run"
    assert "promtool" in out or "failed to validate" in out, out[-3000:]
    assert lab.ssh("monitor", "test -e /etc/prometheus/rules/extra_broken.yml", check=False).returncode == 1
    after = lab.ssh("monitor", "systemctl show -p MainPID --value prometheus").stdout.strip()
    assert before == after, "Prometheus must not be restarted"
    assert lab.query("up")  # still answering with the old config


def test_removing_a_host_from_the_inventory_removes_its_targets(lab, tmp_path):
    inv = tmp_path / "inventory"
    shutil.copytree(LAB_INVENTORY, inv)
    doc = json.loads((inv / "hosts.yml").read_text().split("\n", 1)[1])
    del doc["all"]["children"]["monitored_services"]["hosts"]["svc2"]
    (inv / "hosts.yml").write_text(json.dumps(doc))
    try:
        playbook("site.yml", inventory=inv)

        def svc2_gone():
            jobs = {(t["labels"]["job"], t["labels"]["instance"]) for t in lab.targets()}
            return not any(inst.startswith(lab.addr("svc2") + ":") for _, inst in jobs) and jobs

        jobs = wait_for(svc2_gone, 60, what="svc2's targets to disappear")
        assert ("limen", f"{lab.addr('svc1')}:18443") in jobs
        assert not any(job == "service2" for job, _ in jobs)
        dashboards = lab.ssh("monitor", "ls /var/lib/grafana/dashboards/Services").stdout.split()
        assert "svc-limen.json" in dashboards and "svc-service2.json" not in dashboards
    finally:
        playbook("site.yml")
    wait_for(lambda: lab.query('up{job="service2"} == 1'), 60, what="service2 back")


# ---- alerting, end to end: demo service -> Prometheus -> Alertmanager -> receiver ----
def test_watchdog_heartbeat_reaches_the_receiver(lab):
    wait_for(lambda: notifications(lab, "Watchdog", "firing"), 60, what="the Watchdog notification")


def test_stopped_service_fires_then_resolves_target_down(lab):
    instance = f"{lab.addr('svc2')}:8080"
    http_json(lab.receiver, method="DELETE")
    lab.ssh("svc2", "systemctl stop limen-demo-service")
    try:
        firing = wait_for(lambda: notifications(lab, "TargetDown", "firing", job="service2"), 60,
                          what="a firing TargetDown for service2")
        alert = firing[0]
        assert alert["labels"]["instance"] == instance
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["host"] == "svc2"
        assert "service2 target" in alert["annotations"]["summary"]
    finally:
        lab.ssh("svc2", "systemctl start limen-demo-service")
    wait_for(lambda: notifications(lab, "TargetDown", "resolved", job="service2"), 90,
             what="the resolved TargetDown for service2")


def test_error_burst_fires_the_error_ratio_alert(lab):
    url = f"http://{lab.addr('svc1')}:18443/control/errors?seconds=40"
    http_json(lab.receiver, method="DELETE")
    urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5).read()
    alert = wait_for(lambda: notifications(lab, "HighErrorRatio", "firing", job="limen"), 60,
                     what="a firing HighErrorRatio for limen")[0]
    assert alert["labels"]["severity"] == "warning"
    assert "5xx" in alert["annotations"]["summary"]


# ---- internal network only: real connections from inside and outside ----
PROBE = ("python3 -c \"import socket,sys; s=socket.socket(); s.settimeout(3); "
         "sys.exit(s.connect_ex(('{addr}', {port})))\"")


def can_connect(lab, source, addr, port):
    return lab.ssh(source, PROBE.format(addr=addr, port=port), check=False).returncode == 0


def test_monitoring_ports_answer_internal_hosts_only(lab):
    # Grafana cannot be installed here: a listener stands in on its port.
    lab.ssh("monitor", "systemd-run --unit=grafana-stand-in python3 -m http.server 3000 "
                       f"--bind {lab.monitor}")
    try:
        wait_for(lambda: can_connect(lab, "svc1", lab.monitor, 3000), 15, what="the stand-in")
        for port in (9090, 9093, 9100, 3000):
            assert can_connect(lab, "svc1", lab.monitor, port), f"internal host cannot reach {port}"
            assert not can_connect(lab, "outside", lab.monitor, port), f"outside host reaches {port}"
    finally:
        lab.ssh("monitor", "systemctl stop grafana-stand-in", check=False)


def test_ssh_from_the_admin_network_still_works(lab):
    assert lab.ssh("monitor", "true").returncode == 0
    assert not can_connect(lab, "outside", lab.monitor, 22)


def test_metrics_port_answers_the_monitoring_server_only(lab):
    for host, port in (("svc2", 8080), ("svc1", 9100)):
        addr = lab.addr(host)
        assert can_connect(lab, "monitor", addr, port), f"the server cannot scrape {host}:{port}"
        assert not can_connect(lab, "outside", addr, port), f"outside reaches {host}:{port}"
        other = "svc1" if host == "svc2" else "svc2"
        assert not can_connect(lab, other, addr, port), f"{other} reaches {host}:{port}"


def test_a_port_shared_with_an_api_stays_open_under_default_deny(lab):
    # LIMEN's 18443 serves its API beside /api/metrics (firewall: shared): nftables cannot tell
    # the paths apart, so the port stays open; every other unmanaged port is dropped.
    svc1 = lab.addr("svc1")
    for source in ("svc2", "outside"):
        assert can_connect(lab, source, svc1, 18443), f"{source} cannot reach LIMEN's API"
    lab.ssh("svc1", f"systemd-run --unit=unmanaged-port python3 -m http.server 8999 --bind {svc1}")
    try:
        wait_for(lambda: lab.ssh("svc1", f"{PROBE.format(addr=svc1, port=8999)}", check=False).returncode == 0,
                 15, what="the unmanaged listener")
        assert not can_connect(lab, "monitor", svc1, 8999), "default deny let an unmanaged port through"
    finally:
        lab.ssh("svc1", "systemctl stop unmanaged-port", check=False)


def test_ruleset_survives_an_nftables_restart(lab):
    lab.ssh("monitor", "systemctl restart nftables")
    out = lab.ssh("monitor", "nft list table inet limen_monitoring").stdout
    assert "tcp dport { 3000, 9090, 9093, 9100 } drop" in out
    assert not can_connect(lab, "outside", lab.monitor, 9090)
    # nftables.service is Debian's again: stop it so it stays as the collection found it.
    lab.ssh("monitor", "systemctl stop nftables")
    assert "tcp dport { 3000, 9090, 9093, 9100 } drop" in lab.ssh("monitor", "nft list ruleset").stdout


# ---- a busy host: LIMEN's runs libvirt and Docker, whose tables must survive everything ----
# libvirt is Debian's real package with its default NAT network; Docker cannot run here, so a lab
# unit adds dockerd's iptables rules (lab/files/lab-neighbour-tables.service).
OURS = "inet limen_monitoring"
OLD_INCLUDE = 'include "/etc/nftables.d/*.nft"'
GUEST = "guest1"
GUEST_DHCP = f"ip netns exec {GUEST} dhcpcd --oneshot --ipv4only --noipv4ll --persistent --script /bin/true --timeout 30 eth0"


def tables(lab, host):
    """Every table of the host as nft lists it without counters (libvirt's and Docker's
    iptables-nft tables too: their xtables matches are printed, not loaded), its chains and
    sets in name order (nft lists them in creation order, which a restore may change)."""
    names = lab.ssh(host, "nft list tables").stdout.replace("table ", "").split("\n")
    out = {}
    for name in filter(None, names):
        body = lab.ssh(host, f"nft -s list table {name}").stdout.strip().split("\n")[1:-1]
        # iptables-restore also makes the built-in chains nobody used: empty, accepting, no-ops
        blocks = [b for b in "\n".join(body).split("\n\n")
                  if not (b.count("\n") == 2 and "policy accept;" in b)]
        out[name] = "\n\n".join(sorted(blocks))
    return out


def start_guest(lab):
    """A guest on libvirt's bridge (a network namespace with a veth on virbr0) takes a DHCP lease
    from libvirt's dnsmasq through the firewall's default deny; returns its address."""
    lab.ssh("svc1", f"ip netns del {GUEST} 2>/dev/null; ip link del {GUEST}-port 2>/dev/null; "
                    f"ip netns add {GUEST} && ip link add {GUEST}-port type veth peer name eth0 netns {GUEST} "
                    f"&& ip link set {GUEST}-port master virbr0 up && ip -n {GUEST} link set eth0 up "
                    f"&& {GUEST_DHCP} >/dev/null 2>&1", timeout=90)
    return guest_address(lab)


def guest_address(lab):
    out = lab.ssh("svc1", f"ip -n {GUEST} -4 -o addr show dev eth0").stdout.split()
    net = ipaddress.ip_network(lab.vars["lab_guest_network"])
    leased = [a.split("/")[0] for a in out if "/" in a and ipaddress.ip_address(a.split("/")[0]) in net]
    assert leased, f"the guest has no address from libvirt's DHCP: {out}"
    return leased[0]


@pytest.fixture(scope="module")
def libvirt_guest(lab):
    """Debian's libvirt-daemon-system on LIMEN's host, its default NAT network (moved into the
    lab's guest subnet, autostarted) and a guest holding a DHCP lease; Docker's rules beside."""
    net = ipaddress.ip_network(lab.vars["lab_guest_network"])
    lab.ssh("svc1", "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
                    "libvirt-daemon-system dnsmasq-base dhcpcd-base >/dev/null", timeout=600)
    xml = (f"<network><name>default</name><forward mode='nat'/><bridge name='virbr0'/>"
           f"<ip address='{net[1]}' netmask='{net.netmask}'><dhcp><range start='{net[2]}' end='{net[254]}'/>"
           "</dhcp></ip></network>")
    lab.ssh("svc1", "virsh -q net-destroy default >/dev/null 2>&1; virsh -q net-undefine default >/dev/null 2>&1; "
                    "cat > /run/lab-default-net.xml && virsh -q net-define /run/lab-default-net.xml "
                    "&& virsh -q net-autostart default && virsh -q net-start default", stdin=xml)
    lab.ssh("svc1", "systemctl restart lab-neighbour-tables")
    return start_guest(lab)


def assert_in_force(lab, before, guest, what):
    after = tables(lab, "svc1")
    # (nftables.service's own: the table Debian's stock nftables.conf declares, while it runs)
    assert set(before) <= set(after) <= set(before) | {"inet filter"}, \
        f"after {what}: tables {sorted(before)} became {sorted(after)}"
    for table, listing in before.items():
        assert after[table] == listing, f"after {what}: table {table} changed:\n{after[table]}"
    svc1 = lab.addr("svc1")
    assert can_connect(lab, "monitor", svc1, 9100), f"after {what}: the server cannot scrape svc1"
    assert not can_connect(lab, "outside", svc1, 9100), f"after {what}: svc1's metrics are open"
    # The guest: its lease still known to libvirt, renewed through the default deny, and its
    # traffic NATed out by libvirt's rules (the monitoring server answers only svc1's address).
    assert guest in lab.ssh("svc1", "virsh -q net-dhcp-leases default").stdout, f"after {what}: lease gone"
    assert lab.ssh("svc1", f"{GUEST_DHCP} >/dev/null 2>&1", check=False, timeout=90).returncode == 0, \
        f"after {what}: the guest cannot renew its lease"
    assert lab.ssh("svc1", f"ip netns exec {GUEST} {PROBE.format(addr=lab.monitor, port=9090)}",
                   check=False).returncode == 0, f"after {what}: the guest cannot reach the network (NAT)"


def test_an_older_versions_nftables_include_is_removed(lab):
    # What the previous version left: its include appended to Debian's stock nftables.conf, the
    # file it included, and nftables.service enabled for it.
    lab.ssh("svc1", f"echo '{OLD_INCLUDE}' >> /etc/nftables.conf && mkdir -p /etc/nftables.d"
                    " && nft list table inet limen_monitoring > /etc/nftables.d/limen_monitoring.nft"
                    " && systemctl enable nftables")
    playbook("site.yml", "--limit", "svc1", "--tags", "firewall")
    conf = lab.ssh("svc1", "cat /etc/nftables.conf").stdout
    assert OLD_INCLUDE not in conf and "flush ruleset" in conf
    assert lab.ssh("svc1", "test -e /etc/nftables.d/limen_monitoring.nft", check=False).returncode != 0
    # The stock file loads nothing of the collection's: the service existed for it only.
    assert lab.ssh("svc1", "systemctl is-enabled nftables", check=False).stdout.strip() == "disabled"
    _, _, recap = playbook("site.yml", "--limit", "svc1", "--tags", "firewall")
    assert recap["svc1"]["changed"] == 0


def test_nftables_lifecycle_leaves_every_table_in_force(lab, libvirt_guest):
    """nftables.service stop, start, reload, package upgrade; limen-firewall restart and reload;
    a reboot of the host: libvirt's and Docker's tables, the guest's lease and ours stay."""
    guest = libvirt_guest
    lab.ssh("svc1", "systemctl stop nftables")   # as Debian installs it (a no-op unless started)
    before = tables(lab, "svc1")
    listing = "\n".join(before.values())
    for chain in ("LIBVIRT_FWO", "DOCKER-USER", "tcp dport 9100"):
        assert chain in listing, f"{chain} is not in svc1's ruleset:\n{listing}"
    assert OURS in before
    # Debian's stock nftables.conf starts with "flush ruleset": start, reload and stop all flush.
    assert "flush ruleset" in lab.ssh("svc1", "cat /etc/nftables.conf").stdout
    for command in ("systemctl restart nftables",    # loads nftables.conf, its flush first
                    "systemctl reload nftables",
                    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall nftables >/dev/null",
                    "systemctl stop nftables",       # active: nft flush ruleset
                    "systemctl restart limen-firewall && systemctl reload limen-firewall"):
        lab.ssh("svc1", command, timeout=300)
        assert_in_force(lab, before, guest, command)
    lab_py("stop", "svc1")
    try:
        assert not can_connect(lab, "monitor", lab.addr("svc1"), 9100)
    finally:
        lab_py("up")
    wait_for(lambda: lab.ssh("svc1", "systemctl is-system-running --wait", check=False, timeout=60)
             .stdout.strip() in ("running", "degraded"), 90, what="svc1 booted")
    # The guest's namespace went with the reboot (as a VM stops with its host): a new one
    # gets a lease again under the rules loaded at boot.
    guest = start_guest(lab)
    # node_exporter binds the host's internal address: booted before the address is back, it
    # fails and systemd restarts it (Restart=always, 5 s); it must answer again, not at once.
    wait_for(lambda: can_connect(lab, "monitor", lab.addr("svc1"), 9100), 60,
             what="node_exporter on svc1 answering the server again after the reboot")
    assert_in_force(lab, before, guest, "a reboot")


def test_a_policy_rc_d_left_by_an_aborted_run_is_removed_and_an_admins_kept(lab):
    # Left behind, it would keep every later upgrade (security fixes) from restarting services.
    lab.ssh("svc2", "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d")
    try:
        playbook("site.yml", "--limit", "svc2")
        assert lab.ssh("svc2", "test -e /usr/sbin/policy-rc.d", check=False).returncode != 0
        admins = "#!/bin/sh\n# the admin's own\nexit 0\n"
        lab.ssh("svc2", "cat > /usr/sbin/policy-rc.d", stdin=admins)
        _, _, recap = playbook("site.yml", "--limit", "svc2")
        assert recap["svc2"]["changed"] == 0
        assert lab.ssh("svc2", "cat /usr/sbin/policy-rc.d").stdout == admins
    finally:
        lab.ssh("svc2", "rm -f /usr/sbin/policy-rc.d")


def test_a_rollback_that_fired_before_the_confirmation_fails_the_run(lab):
    before = lab.ssh("monitor", "nft -s list table inet limen_monitoring").stdout
    confirmed = lab.ssh("monitor", "sha1sum /etc/limen-firewall/limen_monitoring.nft").stdout
    # Every new SSH connection waits 2 s (a slow link): the reconnection after the apply
    # outlasts the 1 s rollback, so the rollback surely fires before the disarm.
    key = lab.vars["ansible_ssh_private_key_file"]
    opts = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    slow = {"firewall_extra_ports": [9999], "firewall_rollback_timeout": 1,
            "ansible_ssh_common_args": f"{opts} -o ProxyCommand=\"sh -c 'sleep 2; exec ssh -i {key} {opts} "
                                       f"-W %h:%p root@%h'\""}
    rc, out, _ = playbook("site.yml", "--limit", "monitor", "--tags", "firewall", "-e", json.dumps(slow),
                          check=False)
    assert rc != 0 and "the rollback fired" in out, out[-3000:]
    assert lab.ssh("monitor", "nft -s list table inet limen_monitoring").stdout == before
    assert lab.ssh("monitor", "sha1sum /etc/limen-firewall/limen_monitoring.nft").stdout == confirmed


def test_a_second_run_waits_for_anothers_pending_rollback(lab):
    # Another run's armed rollback (a stand-in timer): this run's change waits for it to end
    # instead of cancelling it and saving its unconfirmed table as the rollback point.
    lab.ssh("monitor", "systemd-run --unit=limen-firewall-rollback --on-active=30s "
                       "--property=RemainAfterExit=yes /bin/true")
    started = time.monotonic()
    extra = {"firewall_extra_ports": [9998]}
    try:
        _, out, _ = playbook("site.yml", "--limit", "monitor", "--tags", "firewall", "-e", json.dumps(extra))
        assert time.monotonic() - started >= 30, "the run did not wait for the pending rollback"
        assert "Drop the existing SSH connection" in out, "no ruleset was applied"
        assert "does not support when conditional" not in out, "the reset_connection warning is back"
        assert "9998" in lab.ssh("monitor", "nft list table inet limen_monitoring").stdout
    finally:
        playbook("site.yml", "--limit", "monitor", "--tags", "firewall")
    assert "9998" not in lab.ssh("monitor", "nft list table inet limen_monitoring").stdout


def test_lock_out_is_rolled_back_by_the_host(lab):
    wrong = {"firewall_admin_networks": [lab.vars["lab_outside_network"]],
             "firewall_allow_controller": False}
    try:
        rc, out, _ = playbook("site.yml", "--limit", "monitoring_servers", "-e", json.dumps(wrong),
                              check=False)
        failed_at = time.monotonic()
        assert rc != 0, "a run that locks the controller out must fail"
        assert "could not open a new connection" in out, out[-3000:]
        assert lab.ssh("monitor", "true", check=False, timeout=10).returncode != 0, "SSH should be locked"
        wait_for(lambda: lab.ssh("monitor", "true", check=False, timeout=5).returncode == 0,
                 int(lab.vars.get("firewall_rollback_timeout", 30)) + 30, what="the host's rollback")
        print(f"rollback restored SSH {time.monotonic() - failed_at:.1f}s after the failed run")
    finally:   # the next tests need the converged lab, also after a failure here
        wait_for(lambda: lab.ssh("monitor", "true", check=False, timeout=5).returncode == 0,
                 int(lab.vars.get("firewall_rollback_timeout", 30)) + 30, what="SSH back")
        _, _, recap = playbook("site.yml", "--limit", "monitoring_servers")
    assert recap["monitor"]["failed"] == 0


# ---- Grafana: files rendered right, and every dashboard query returns data ----
def dashboards(lab):
    listing = lab.ssh("monitor", "find /var/lib/grafana/dashboards -name '*.json'").stdout.split()
    return {path: json.loads(lab.ssh("monitor", f"cat {path}").stdout) for path in listing}


def test_grafana_files_are_rendered_owned_and_private(lab):
    out = lab.ssh("monitor", "stat -c '%n %U %G %a' /etc/grafana/grafana.ini "
                             "/etc/grafana/provisioning/datasources/limen.yml").stdout.split("\n")
    assert "/etc/grafana/grafana.ini root grafana 640" in out
    assert "/etc/grafana/provisioning/datasources/limen.yml root grafana 640" in out
    ini = lab.ssh("monitor", "cat /etc/grafana/grafana.ini").stdout
    for line in (f"http_addr = {lab.monitor}", "allow_sign_up = false", "reporting_enabled = false",
                 "check_for_updates = false"):
        assert line in ini
    assert "[auth.anonymous]\nenabled = false" in ini
    assert "admin_password = admin\n" not in ini


def test_one_dashboard_per_inventory_service(lab):
    uids = {d["uid"] for d in dashboards(lab).values()}
    jobs = {ep["job"] for h in lab.groups["monitored_services"] for ep in lab.hosts[h]["monitoring_endpoints"]}
    assert {f"svc-{job}" for job in jobs} <= uids
    assert {"limen-overview", "limen-alerts", "limen-comparison", "limen-vms", "limen-server-health"} <= uids
    assert not any(u == "svc-node" for u in uids)


def substitute(expr, dash):
    """EXPR as Grafana sends it: $__rate_interval and the dashboard's variables filled in
    (a variable with "All" selected becomes its allValue, the others their current value)."""
    values = {"__rate_interval": "1m"}
    for var in dash.get("templating", {}).get("list", []):
        current = var.get("current", {}).get("value")
        values[var["name"]] = var["allValue"] if current == "$__all" else current
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    # ($1 is a label_replace capture group: Grafana leaves what names no variable as it is.)
    assert not re.search(r"\$(?!\d)", expr), f"unsubstituted variable in {expr}"
    return expr


def queries(dash):
    """(where, PromQL) of every panel query, variable query and annotation of DASH."""
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "limen-prometheus"
            yield f"panel {panel['title']}", target["expr"]
    for var in dash.get("templating", {}).get("list", []):
        if var["type"] == "query":
            assert var["datasource"]["uid"] == "limen-prometheus"
            selector = re.fullmatch(r"label_values\((.+), *(\w+)\)", var["query"])
            assert selector, var["query"]
            yield f"variable {var['name']}", selector[1]


def test_every_dashboard_query_returns_data(lab):
    empty = []
    count = 0
    for path, dash in dashboards(lab).items():
        for where, expr in queries(dash):
            expr = substitute(expr, dash)
            count += 1
            if not lab.query(expr):
                empty.append(f"{path} / {where}: {expr}")
    assert count >= 55
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)


def test_firing_alerts_are_annotations_on_the_service_dashboards(lab):
    by_uid = {d["uid"]: d for d in dashboards(lab).values()}
    annotated = [d for d in by_uid.values() if d["annotations"]["list"]]
    assert {"svc-limen", "svc-service2", "limen-vms"} <= {d["uid"] for d in annotated}
    for dash in annotated:
        for note in dash["annotations"]["list"]:
            assert note["datasource"]["uid"] == "limen-prometheus"
            lab.query(substitute(note["target"]["expr"], dash))  # valid PromQL (status success)
    url = f"http://{lab.addr('svc1')}:18443/control/errors?seconds=40"
    urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5).read()
    for uid in ("svc-limen", "limen-vms"):
        dash = by_uid[uid]
        expr = substitute(dash["annotations"]["list"][0]["target"]["expr"], dash)
        firing = wait_for(lambda expr=expr: lab.query(expr), 60, what=f"a firing alert on {uid}: {expr}")
        assert all(a["metric"]["job"] == "limen" and a["metric"]["alertstate"] == "firing" for a in firing)


def test_a_host_run_by_firewalld_is_refused_with_a_clear_message(lab):
    # A stand-in unit named firewalld.service is enough: the role asks systemd what runs.
    lab.ssh("svc2", "systemd-run --unit=firewalld sleep 600")
    try:
        rc, out, _ = playbook("site.yml", "--limit", "svc2", check=False)
        assert rc != 0
        assert "svc2: firewalld is active" in out, out[-3000:]
        assert "firewall_allow_other_managers" in out
    finally:
        lab.ssh("svc2", "systemctl stop firewalld", check=False)


# One bad input per role: each fails the run with a message naming the variable, and no
# host changes (the services keep their processes, the firewall keeps its ruleset).
BAD_INPUTS = [
    ("topology", {"monitoring_node_exporter": "maybe"}, "monitoring_node_exporter: 'maybe' is not a boolean"),
    ("prometheus", {"prometheus_alert_thresholds": {"cpu_percnt": 80}},
     "prometheus_alert_thresholds.cpu_percnt: unknown key"),
    ("prometheus", {"prometheus_job_settings": {"limn": {"bearer_token": "t0k3n-lab"}}},
     "prometheus_job_settings.limn: no inventory host defines this job"),
    ("alertmanager", {"alertmanager_web_users": {"ops": "p" * 73}},
     "alertmanager_web_users.ops: the password is longer than 72 bytes"),
    ("grafana", {"grafana_admin_password": "admin"}, "grafana_admin_password"),
    ("firewall", {"firewall_internal_networks": []}, "firewall_internal_networks is empty"),
    ("firewall", {"firewall_admin_networks": ["10.0.0.0/8", "admin.example.org"]},
     'firewall_admin_networks holds "admin.example.org"'),
]
SERVICES = {"monitor": ["prometheus", "prometheus-alertmanager", "prometheus-node-exporter"],
            "svc1": ["prometheus-node-exporter"]}


def service_state(lab):
    state = {}
    for host, units in SERVICES.items():
        pids = lab.ssh(host, "systemctl show -p MainPID --value " + " ".join(units)).stdout.split()
        ruleset = lab.ssh(host, "nft list table inet limen_monitoring | sha256sum").stdout
        state[host] = (pids, ruleset)
    return state


@pytest.mark.parametrize("role,extra,message", BAD_INPUTS, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(BAD_INPUTS)])
def test_bad_input_fails_the_run_and_changes_nothing(lab, role, extra, message):
    before = service_state(lab)
    rc, out, recap = playbook("site.yml", "-e", json.dumps(extra), check=False)
    assert rc != 0, f"{role}: {extra} must fail the run"
    assert message in out, out[-4000:]
    assert "t0k3n-lab" not in out and "p" * 73 not in out
    for host, counts in recap.items():
        assert counts["changed"] == 0, (role, host, counts, out[-4000:])
    assert service_state(lab) == before


def test_targets_a_service_registers_itself_survive_the_inventory_run(lab, tmp_path):
    """Direct module use (a service's own playbook) and the inventory run never fight."""
    play = tmp_path / "register.yml"
    play.write_text(json.dumps([{
        "hosts": "monitoring_servers", "gather_facts": False,
        "tasks": [{"limen.monitoring.prometheus_targets": {
            "directory": "/etc/prometheus/file_sd/services", "job": "selfreg",
            "targets": [f"{lab.addr('svc2')}:8080"]}}]}]))
    playbook(str(play))
    playbook("site.yml", "--tags", "targets")

    def registered_up():
        return lab.query('up{job="selfreg"} == 1')

    up = wait_for(registered_up, 60, what="the self-registered target up")
    assert up[0]["metric"]["instance"] == f"{lab.addr('svc2')}:8080"
    assert lab.ssh("monitor", "test -e /etc/prometheus/file_sd/services/selfreg.json").returncode == 0
    play.write_text(play.read_text().replace('"targets"', '"state": "absent", "targets"'))
    playbook(str(play))
    wait_for(lambda: not lab.query('up{job="selfreg"}'), 60, what="the deregistered target gone")


# ---- the metric standard and the probes (docs/metric-standard.md, docs/probes.md) ----
def control(lab, host, port, kind, seconds):
    url = f"http://{lab.addr(host)}:{port}/control/{kind}?seconds={seconds}"
    urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5).read()


def conformance_run(*extra):
    """The check on every service (not only new ones), as site.yml runs it; (rc, output)."""
    rc, out, _ = playbook("site.yml", "--limit", "monitoring_servers", "--tags", "conformance", "-e",
                          json.dumps({"prometheus_conformance_check_all": True}), *extra, check=False)
    return rc, out


def test_a_non_conformant_service_is_named_metric_by_metric_and_enforce_refuses_it(lab):
    svc2 = f"http://{lab.addr('svc2')}:8080/metrics"
    http_json(lab.receiver, method="DELETE")
    control(lab, "svc2", 8080, "nonconformant", 240)
    try:
        rc, out = conformance_run()
        assert rc == 0, out[-3000:]
        text = " ".join(out.split())  # the callback wraps long lines
        assert f"service2 {svc2} (host svc2, policy warn): NOT CONFORMANT: " in text, out[-3000:]
        assert "http_request_duration_seconds: missing (exported instead: http_request_latency_seconds?)" in text
        assert "http_requests_total: samples without the label status" in text
        assert f"limen http://{lab.addr('svc1')}:18443/api/metrics (host svc1, policy warn): conformant" in text
        # The job's own credentials: a login or certificate problem would read NOT REACHABLE.
        assert "NOT REACHABLE" not in text

        # The whole site.yml, with a change pending (a longer retention): refused before any
        # host changes, the service hosts included.
        unit = lab.ssh("monitor", "systemctl cat prometheus").stdout
        rc, out, _ = playbook("site.yml", "-e", json.dumps({"prometheus_conformance_check_all": True,
                                                            "monitoring_conformance": "enforce",
                                                            "prometheus_retention_time": "16d"}), check=False)
        text = " ".join(out.split())
        assert rc != 0
        refused = text.split("monitoring_conformance is enforce and these services are not conformant")[1]
        assert f"service2 {svc2} (host svc2, policy enforce): NOT CONFORMANT" in refused
        assert "limen http" not in refused
        recap = dict(re.findall(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)", out, re.M))
        assert set(recap) >= {"monitor", "svc1", "svc2"} and set(recap.values()) == {"0"}, recap
        assert lab.ssh("monitor", "systemctl cat prometheus").stdout == unit
    finally:
        control(lab, "svc2", 8080, "reset", 0)
    # Resolved before the next test breaks it again (a re-break within a scrape would be one alert).
    wait_for(lambda: notifications(lab, "StandardMetricMissing", "resolved", job="service2"), 90,
             what="the resolved StandardMetricMissing for service2")


def test_breaking_the_standard_at_run_time_fires_standard_metric_missing(lab):
    http_json(lab.receiver, method="DELETE")
    control(lab, "svc2", 8080, "nonconformant", 120)
    try:
        firing = wait_for(lambda: notifications(lab, "StandardMetricMissing", "firing", job="service2"), 90,
                          what="a firing StandardMetricMissing for service2")
        assert {a["labels"]["metric"] for a in firing} >= {"http_request_duration_seconds", "http_requests_total"}
        assert all(a["labels"]["severity"] == "warning" for a in firing)
    finally:
        control(lab, "svc2", 8080, "reset", 0)
    wait_for(lambda: notifications(lab, "StandardMetricMissing", "resolved", job="service2"), 90,
             what="the resolved StandardMetricMissing for service2")


def test_a_lost_database_fires_service_database_down(lab):
    http_json(lab.receiver, method="DELETE")
    control(lab, "svc2", 8080, "database", 60)
    try:
        alert = wait_for(lambda: notifications(lab, "ServiceDatabaseDown", "firing", job="service2"), 60,
                         what="a firing ServiceDatabaseDown for service2")[0]
        assert alert["labels"]["database"] == "service2"
    finally:
        control(lab, "svc2", 8080, "reset", 0)


def test_every_service_and_component_is_probed_from_the_monitoring_server(lab):
    wanted = {f"http://{lab.addr('svc1')}:18443/api/metrics", f"http://{lab.addr('svc2')}:8080/metrics",
              f"{lab.monitor}:9090", f"{lab.monitor}:9093",
              *(f"{lab.addr(h)}:9100" for h in ["monitor", *lab.groups["monitored_services"]])}

    def all_succeed():
        ok = {r["metric"]["instance"] for r in lab.query('probe_success{job="blackbox"} == 1')}
        return wanted <= ok and ok

    wait_for(all_succeed, 90, what=f"probe_success == 1 for {sorted(wanted)}")
    # The components serve TLS: the expiry of the verified chain (leaf and CA) is measured; the
    # collection's certificates are issued for 397 days.
    expiry = lab.query('(probe_ssl_last_chain_expiry_timestamp_seconds{probed="prometheus"} - time()) / 86400')
    assert expiry and 300 < float(expiry[0]["value"][1]) <= 398, expiry
    # blackbox_exporter itself asks for credentials over TLS, like the other components.
    if lab.secure:
        assert status(f"https://{lab.monitor}:9115", ssl.create_default_context(cafile=str(lab.ca))) == 401


def test_a_stopped_service_fires_probe_failed(lab):
    http_json(lab.receiver, method="DELETE")
    lab.ssh("svc2", "systemctl stop limen-demo-service")
    try:
        alert = wait_for(lambda: notifications(lab, "ProbeFailed", "firing", probed="service2"), 60,
                         what="a firing ProbeFailed for service2")[0]
        assert alert["labels"]["host"] == "svc2" and alert["labels"]["module"] == "job_service2"
        assert alert["labels"]["job"] == "service2" and alert["labels"]["severity"] == "critical"
    finally:
        lab.ssh("svc2", "systemctl start limen-demo-service")
    wait_for(lambda: notifications(lab, "ProbeFailed", "resolved", probed="service2"), 90,
             what="the resolved ProbeFailed for service2")


def short_lived_copy(lab, cert_pem, days):
    """CERT_PEM reissued by the lab's CA (same subject and names) for DAYS, with a new key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ca_cert = x509.load_pem_x509_certificate(lab.ca.read_bytes())
    ca_key = serialization.load_pem_private_key((lab.ca.parent / "ca.key").read_bytes(), None)
    old = x509.load_pem_x509_certificate(cert_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days)))
    for ext in old.extensions:
        if not isinstance(ext.value, (x509.SubjectKeyIdentifier, x509.AuthorityKeyIdentifier)):
            builder = builder.add_extension(ext.value, ext.critical)
    cert = builder.sign(ca_key, hashes.SHA256())
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def test_a_certificate_near_its_end_fires_certificate_expires_soon(lab):
    # Nobody ran site.yml for a year: node_exporter on svc2 serves a certificate with three days
    # left (it reads its files on each handshake). The probe measures it and the critical
    # expiry alert reaches the receiver; the renewed certificate resolves it.
    files = {"/etc/node_exporter/tls.crt": None, "/etc/node_exporter/tls.key": None}
    for path in files:
        files[path] = base64.b64decode(lab.ssh("svc2", f"base64 -w0 {path}").stdout)
    cert, key = short_lived_copy(lab, files["/etc/node_exporter/tls.crt"], days=3)
    http_json(lab.receiver, method="DELETE")
    instance = f"{lab.addr('svc2')}:9100"
    try:
        # Key first, then the certificate: a handshake in between fails once, nothing more.
        lab.ssh("svc2", "cat > /etc/node_exporter/tls.key", stdin=key.decode())
        lab.ssh("svc2", "cat > /etc/node_exporter/tls.crt", stdin=cert.decode())
        alert = wait_for(lambda: notifications(lab, "CertificateExpiresSoon", "firing", instance=instance), 90,
                         what=f"a firing CertificateExpiresSoon for {instance}")[0]
        assert alert["labels"]["severity"] == "critical", alert
        assert alert["annotations"]["summary"].endswith(("expires in 2 days", "expires in 3 days")), alert
    finally:
        lab.ssh("svc2", "cat > /etc/node_exporter/tls.key", stdin=files["/etc/node_exporter/tls.key"].decode())
        lab.ssh("svc2", "cat > /etc/node_exporter/tls.crt", stdin=files["/etc/node_exporter/tls.crt"].decode())
    wait_for(lambda: notifications(lab, "CertificateExpiresSoon", "resolved", instance=instance), 90,
             what=f"the resolved CertificateExpiresSoon for {instance}")
