"""Where the run's own secrets may live, which passwords people may choose, and the internal
users the secure default adds (generated passwords) unless plain HTTP is chosen."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.limen.monitoring.plugins.plugin_utils.secrets_policy import (
    password_errors,
    secrets_dir_errors,
)
from ansible_collections.limen.monitoring.plugins.plugin_utils.web_clients import add_clients

BUILD_IGNORE = [".cache", "inventories/lab", "molecule", "*.tar.gz"]


@pytest.mark.parametrize("password", [None, "", "change-me-to-a-long-one", "CHANGE_ME_please_now",
                                      "replace-me-with-something", "my-example-password", "admin",
                                      "Password", "<your password here>", "short-pw"])
def test_missing_placeholder_default_or_short_passwords_are_refused(password):
    [msg] = password_errors("grafana_admin_password", password)
    assert msg.startswith("grafana_admin_password")
    assert not password or password not in msg.replace("grafana_admin_password", "")


@given(st.text(alphabet="abcdefghjkmnpqrstuvwyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=12, max_size=40))
def test_generated_looking_passwords_pass_and_no_message_shows_a_password(password):
    if "TODO" in password.upper() or "FIXME" in password.upper():
        return
    assert password_errors("prometheus_web_users.ops", password) == []


def test_lab_passwords_pass():
    assert password_errors("x", "lab-only-prometheus-admin") == []


@pytest.mark.parametrize("path, installed, fragment", [
    ("/coll/playbooks/pki", True, "inside the installed collection"),
    ("/coll", True, "inside the installed collection"),
    ("/coll/roles/pki/files", False, "puts into the artifact"),
    ("/coll/playbooks/pki", False, "puts into the artifact"),
    ("/coll/plugins/x", False, "puts into the artifact"),
    ("/coll/inventories/example/secrets", False, "puts into the artifact"),
    ("/coll", False, "puts into the artifact"),
    ("relative/dir", False, "relative path"),
    ("", False, "is empty"),
])
def test_directories_a_reinstall_deletes_or_a_build_ships_are_refused(path, installed, fragment):
    [msg] = secrets_dir_errors("pki_dir", path, "/coll", BUILD_IGNORE, installed)
    assert msg.startswith("pki_dir") and fragment in msg


@pytest.mark.parametrize("path", ["/root/.local/share/limen-monitoring/example-1a2b3c4d",
                                  "/coll/.cache/lab/secrets", "/coll/inventories/lab/pki", "/collection-other/pki"])
def test_directories_outside_the_artifact_are_fine(path):
    assert secrets_dir_errors("pki_secrets_dir", path, "/coll", BUILD_IGNORE, False) == []


def test_a_symlink_into_the_collection_is_refused(tmp_path):
    (tmp_path / "coll" / "playbooks").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "coll" / "playbooks")
    [msg] = secrets_dir_errors("pki_dir", str(tmp_path / "link" / "pki"), str(tmp_path / "coll"), [], True)
    assert "installed collection" in msg


def topo(hosts=("mon1",)):
    t = {"hosts": {h: {} for h in hosts}, "prometheus": {}, "alertmanager": {}, "node_exporter": {}}
    for h in hosts:
        for comp, port in (("prometheus", 9090), ("alertmanager", 9093), ("node_exporter", 9100)):
            t[comp][h] = {"host": "10.0.0.5", "port": port, "scheme": "https"}
    return t


GENERATED = {"prometheus": "P" * 32, "alertmanager": "A" * 32, "node_exporter": "N" * 32}
DEFAULTS = {"pki_internal_ca": True, "pki_dir": "/ctl/pki", "pki_ca_file": "/etc/limen-monitoring/ca.crt",
            "generated": GENERATED,
            **{f"{c}_{k}": v for c in ("prometheus", "alertmanager", "node_exporter")
               for k, v in (("web_users", {}), ("internal_user", "limen-internal"))}}


def test_the_secure_default_adds_each_internal_user_with_its_generated_password():
    t = add_clients(topo(), {"mon1": {}}, DEFAULTS)
    assert t["client_errors"] == []
    for comp in ("prometheus", "alertmanager", "node_exporter"):
        assert t[comp]["mon1"]["users"] == {"limen-internal": GENERATED[comp]}
        assert t[comp]["mon1"]["username"] == "limen-internal"
        assert t[comp]["mon1"]["password"] == GENERATED[comp]


def test_people_are_kept_and_an_internal_password_from_vault_wins():
    hv = {"mon1": {"prometheus_web_users": {"ops": "a-real-long-password", "limen-internal": "from-vault-1234"}}}
    t = add_clients(topo(), hv, DEFAULTS)
    assert t["prometheus"]["mon1"]["users"] == {"ops": "a-real-long-password", "limen-internal": "from-vault-1234"}
    assert t["prometheus"]["mon1"]["password"] == "from-vault-1234"


def test_a_placeholder_human_password_is_refused_naming_the_user_not_the_password():
    hv = {"mon1": {"alertmanager_web_users": {"ops": "change-me-to-a-long-one"}}}
    [msg] = add_clients(topo(), hv, DEFAULTS)["client_errors"]
    assert "host mon1: alertmanager_web_users.ops" in msg and "change-me" not in msg


def test_plain_http_adds_no_user():
    t = add_clients({**topo(), "prometheus": {"mon1": {"host": "10.0.0.5", "port": 9090, "scheme": "http"}}},
                    {"mon1": {}}, {**DEFAULTS, "plain_http": True})
    assert t["prometheus"]["mon1"]["users"] == {} and t["prometheus"]["mon1"]["username"] == ""
