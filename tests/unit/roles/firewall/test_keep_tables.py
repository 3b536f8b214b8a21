"""The firewall's keep-tables helper (run by its nftables.service drop-in) on a real nft, in a
private network namespace of the test machine: Debian's start, reload and stop flush the whole
ruleset; the helper puts back exactly the tables nftables.conf does not declare."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
TEMPLATE = REPO / "roles" / "firewall" / "templates" / "keep-tables.sh.j2"
FOREIGN = """table ip libvirt_network {
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tiifname "virbr0" accept
\t}
}
table inet limen_monitoring {
\tchain input {
\t\ttype filter hook input priority -10; policy accept;
\t\ttcp dport 9100 drop
\t}
}
"""
STOCK_CONF = "flush ruleset\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter;\n\t}\n}\n"


@pytest.fixture
def helper(tmp_path):
    """The rendered helper with its nftables.conf and state directory under tmp_path."""
    if os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("unshare"):
        pytest.fail("needs root, nft (Debian package nftables) and unshare")
    text = TEMPLATE.read_text().replace("{{ ansible_managed | comment }}", "#")
    text = text.replace("conf=/etc/nftables.conf", f"conf={tmp_path}/nftables.conf")
    text = text.replace("state=/run/limen-firewall/nftables-keep", f"state={tmp_path}/state")
    assert str(tmp_path) in text, "the helper's paths moved; update this test"
    script = tmp_path / "keep-tables"
    script.write_text(text)
    script.chmod(0o755)
    (tmp_path / "foreign.nft").write_text(FOREIGN)
    return tmp_path


def in_namespace(tmp_path, steps):
    """Run shell STEPS in a fresh network namespace; returns `nft list tables` afterwards."""
    script = " && ".join([*steps, "nft list tables"])
    r = subprocess.run(["unshare", "--net", "sh", "-ec", script], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return sorted(line.removeprefix("table ") for line in r.stdout.splitlines())


START = ["./keep-tables save", "nft -f nftables.conf", "./keep-tables restore"]
STOP = ["./keep-tables save", "nft flush ruleset", "./keep-tables restore"]


def test_start_of_the_stock_file_keeps_every_other_table(helper):
    (helper / "nftables.conf").write_text(STOCK_CONF)
    tables = in_namespace(helper, ["nft -f foreign.nft", *START])
    assert tables == ["inet filter", "inet limen_monitoring", "ip libvirt_network"]


def test_stop_removes_the_files_tables_only(helper):
    (helper / "nftables.conf").write_text(STOCK_CONF)
    tables = in_namespace(helper, ["nft -f foreign.nft", *START, *STOP])
    assert tables == ["inet limen_monitoring", "ip libvirt_network"]


def test_a_table_taken_out_of_the_file_goes_on_reload(helper):
    conf = helper / "nftables.conf"
    conf.write_text(STOCK_CONF + "table inet old {\n}\n")
    edit = f"printf '%s' '{STOCK_CONF}' > {conf}"
    tables = in_namespace(helper, ["nft -f foreign.nft", *START, edit, *START])
    assert tables == ["inet filter", "inet limen_monitoring", "ip libvirt_network"]


def test_without_the_helper_the_stock_file_removes_them(helper):
    # What the drop-in prevents: Debian's start alone.
    (helper / "nftables.conf").write_text(STOCK_CONF)
    assert in_namespace(helper, ["nft -f foreign.nft", "nft -f nftables.conf"]) == ["inet filter"]


def test_the_firewall_unit_is_rated_safe_by_systemd_analyze(tmp_path):
    # It needs CAP_NET_ADMIN in the host's network namespace, so it cannot reach the components'
    # level (docs/hardening.md); everything else is shut.
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.fail("systemd-analyze not found (Debian package systemd)")
    template = REPO / "roles" / "firewall" / "templates" / "limen-firewall.service.j2"
    text = template.read_text().replace("{{ ansible_managed | comment }}", "#")
    text = text.replace("{{ __firewall_file }}", "/etc/limen-firewall/limen_monitoring.nft")
    text = text.replace("{{ firewall_table }}", "limen_monitoring")
    assert "{{" not in text
    unit = tmp_path / "limen-firewall.service"
    unit.write_text(text)
    r = subprocess.run([analyze, "security", "--offline=true", str(unit)], capture_output=True, text=True)
    score = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout).group(1))
    assert score <= 3.0, r.stdout
