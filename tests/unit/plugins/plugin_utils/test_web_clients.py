"""Web clients: who calls which component with which user, scheme and CA."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.limen.monitoring.plugins.plugin_utils.web_clients import (
    ClientError,
    add_clients,
    alertmanager_clients,
    scrape_auth,
    tls_plan,
    web_client,
)


def client(users=None, internal="limen-internal", cert="", ca="/ca.crt", address="10.0.0.5", port=9093):
    return web_client("alertmanager", "host mon", users, internal, cert, ca, address, port)


def test_plain_component_needs_no_credentials():
    assert client() == {"scheme": "http", "target": "10.0.0.5:9093", "url": "http://10.0.0.5:9093",
                        "username": "", "password": "", "ca_file": ""}


def test_tls_and_users_give_https_the_internal_user_and_the_ca():
    c = client({"admin": "a" * 12, "limen-internal": "s3cret"}, cert="/etc/alertmanager/tls.crt")
    assert (c["url"], c["username"], c["password"], c["ca_file"]) == (
        "https://10.0.0.5:9093", "limen-internal", "s3cret", "/ca.crt")


def test_ipv6_address_is_bracketed():
    assert client(address="fd00::5")["target"] == "[fd00::5]:9093"


@pytest.mark.parametrize("users, internal, words", [
    ({"admin": "pw"}, "limen-internal", ["host mon", "alertmanager_internal_user", "'limen-internal'", "admin"]),
    ({"admin": "pw"}, "", ["alertmanager_internal_user is ''"]),
    ({"limen-internal": ""}, "limen-internal", ["alertmanager_web_users.limen-internal", "non-empty"]),
    ({"limen-internal": 5}, "limen-internal", ["non-empty password string"]),
    (["limen-internal"], "limen-internal", ["must be a mapping", "list"]),
])
def test_bad_credentials_are_refused_naming_the_variable(users, internal, words):
    with pytest.raises(ClientError) as exc:
        client(users, internal)
    for word in words:
        assert word in str(exc.value)


names = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)


@given(st.dictionaries(names, names, min_size=1, max_size=4), names)
def test_property_internal_user_is_used_exactly_when_listed(users, internal):
    if internal in users:
        c = client(users, internal)
        assert (c["username"], c["password"]) == (internal, users[internal])
    else:
        with pytest.raises(ClientError, match="alertmanager_internal_user"):
            client(users, internal)


@given(st.one_of(st.none(), st.integers(), st.lists(names), st.text()))
def test_property_non_mapping_users_never_pass_silently(users):
    if not users:
        assert client(users)["username"] == ""
    else:
        with pytest.raises(ClientError, match="must be a mapping"):
            client(users)


def topo_with(hosts):
    """A topology as the topology filter makes it, before add_clients."""
    topo = {"hosts": {h: {} for h in hosts}, "prometheus": {}, "alertmanager": {}, "node_exporter": {}}
    for h, scheme in hosts.items():
        for comp, port in (("prometheus", 9090), ("alertmanager", 9093), ("node_exporter", 9100)):
            topo[comp][h] = {"host": f"10.0.0.{len(topo[comp]) + 5}", "port": port, "scheme": scheme}
    return topo


DEFAULTS = {"pki_internal_ca": True, "pki_dir": "/ctl/pki", "pki_ca_cert_src": "", "pki_ca_key_src": "",
            "pki_ca_file": "/etc/limen-monitoring/ca.crt",
            **{f"{c}_{k}": v for c in ("prometheus", "alertmanager", "node_exporter")
               for k, v in (("web_users", {}), ("internal_user", "limen-internal"))}}


def test_clients_get_the_internal_user_and_the_ca():
    users = {"alertmanager_web_users": {"admin": "x" * 12, "limen-internal": "am-pw"}}
    topo = add_clients(topo_with({"mon1": "https", "mon2": "https"}), {"mon1": users, "mon2": users}, DEFAULTS)
    assert topo["clients"]["alertmanager"] == {"scheme": "https", "username": "limen-internal",
                                               "password": "am-pw", "ca_file": "/etc/limen-monitoring/ca.crt"}
    assert topo["alertmanager"]["mon2"]["username"] == "limen-internal"
    assert topo["prometheus"]["mon1"]["username"] == ""
    assert topo["tls"]["issued"]["mon2"] == {"cert": "/ctl/pki/hosts/mon2.crt", "key": "/ctl/pki/hosts/mon2.key"}
    assert topo["client_errors"] == []


def test_node_exporters_with_different_credentials_are_refused():
    hostvars = {"mon1": {}, "svc1": {"node_exporter_web_users": {"limen-internal": "other"}}}
    [msg] = add_clients(topo_with({"mon1": "https", "svc1": "https"}), hostvars, DEFAULTS)["client_errors"]
    assert "host svc1" in msg and "host mon1" in msg and "username, password" in msg


def test_a_missing_internal_user_is_reported_not_raised():
    hostvars = {"mon1": {"prometheus_web_users": {"admin": "x" * 12}}}
    topo = add_clients(topo_with({"mon1": "https"}), hostvars, DEFAULTS)
    [msg] = topo["client_errors"]
    assert "host mon1: prometheus_internal_user is 'limen-internal'" in msg
    assert topo["prometheus"]["mon1"]["username"] == ""


@pytest.mark.parametrize("settings, ca_src, ca_file", [
    ({"pki_internal_ca": False}, "", ""),
    ({"pki_internal_ca": False, "pki_ca_cert_src": "/own/ca.pem", "pki_ca_file": "/etc/ca.crt"}, "/own/ca.pem", "/etc/ca.crt"),
    ({"pki_internal_ca": True, "pki_dir": "/p", "pki_ca_cert_src": "/own/ca.pem", "pki_ca_key_src": "/own/ca.key",
      "pki_ca_file": "/etc/ca.crt"}, "/own/ca.pem", "/etc/ca.crt"),
    ({"pki_internal_ca": True, "pki_dir": "/p", "pki_ca_file": "/etc/ca.crt"}, "/p/ca.crt", "/etc/ca.crt"),
])
def test_tls_plan_trusts_the_right_ca(settings, ca_src, ca_file):
    plan = tls_plan(["h"], settings)
    assert (plan["ca_src"], plan["ca_file"]) == (ca_src, ca_file)
    assert bool(plan["issued"]) is bool(settings["pki_internal_ca"])


def test_internal_ca_without_a_directory_is_refused():
    with pytest.raises(ClientError, match="pki_dir"):
        tls_plan(["h"], {"pki_internal_ca": True, "pki_dir": ""})


def test_scrape_auth_keeps_secrets_in_files():
    c = {"scheme": "https", "username": "u", "password": "p", "ca_file": "/ca"}
    assert scrape_auth(c, "/s/f") == {"scheme": "https", "basic_auth": {"username": "u", "password_file": "/s/f"},
                                      "tls_config": {"ca_file": "/ca"}}
    assert scrape_auth(c)["basic_auth"] == {"username": "u", "password": "p"}
    assert scrape_auth({"scheme": "http", "username": "", "password": "", "ca_file": ""}) == {"scheme": "http"}
    assert alertmanager_clients(["10.0.0.5:9093"], c) == [
        {"name": "10.0.0.5:9093", "url": "https://10.0.0.5:9093", "username": "u", "password": "p", "ca_file": "/ca"}]
