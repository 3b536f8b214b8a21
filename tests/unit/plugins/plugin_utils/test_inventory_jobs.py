"""Inventory jobs: scrape configs and pass-through settings, secrets written to files, never to the config."""

from __future__ import annotations

import pytest

from ansible_collections.limen.monitoring.plugins.plugin_utils.inventory_jobs import (
    InventoryError,
    scrape_configs,
)


def test_secrets_go_to_files_not_to_the_config():
    jobs = [{"name": "limen", "targets": []}]
    out = scrape_configs(jobs, {"limen": {"bearer_token": "t0k", "scrape_interval": "10s",
                                          "basic_auth": {"username": "u", "password": "pw"}}},
                         "/etc/p/sd", "/etc/p/secrets")
    conf = out["scrape_configs"][0]
    assert "t0k" not in str(conf) and "pw" not in str(conf)
    assert conf["authorization"]["credentials_file"] == "/etc/p/secrets/limen.token"
    assert conf["basic_auth"] == {"username": "u", "password_file": "/etc/p/secrets/limen.password"}
    assert conf["scrape_interval"] == "10s"
    assert {s["name"] for s in out["secrets"]} == {"limen.token", "limen.password"}


def test_settings_for_an_unknown_job_are_refused():
    with pytest.raises(InventoryError, match="prometheus_job_settings names jobs no inventory host defines: limn"):
        scrape_configs([{"name": "limen", "targets": []}], {"limn": {"bearer_token": "t"}}, "/d", "/s")


def test_passthrough_secrets_land_in_files_and_the_config_holds_none():
    from ansible_collections.limen.monitoring.plugins.plugin_utils.inventory_jobs import passthrough_secrets
    entries = [{"url": "https://vm/api/v1/write", "basic_auth": {"username": "w", "password": "pw-1"}},
               {"url": "https://other/write", "authorization": {"credentials": "tok-2"},
                "oauth2": {"client_id": "id", "client_secret": "cs-3", "token_url": "https://idp/token"}},
               {"url": "https://third/write", "bearer_token": "tok-4"}]
    out = passthrough_secrets(entries, "prometheus_remote_write", "/etc/p/secrets")
    text = repr(out["entries"])
    for secret in ("pw-1", "tok-2", "cs-3", "tok-4"):
        assert secret not in text
    assert out["entries"][0]["basic_auth"] == {"username": "w",
                                               "password_file": "/etc/p/secrets/prometheus_remote_write-0.password"}
    assert out["entries"][1]["authorization"] == {"credentials_file": "/etc/p/secrets/prometheus_remote_write-1.token"}
    assert out["entries"][1]["oauth2"]["client_secret_file"].endswith("prometheus_remote_write-1.oauth2-client-secret")
    assert out["entries"][2]["authorization"]["type"] == "Bearer"
    assert sorted(s["value"] for s in out["secrets"]) == ["cs-3", "pw-1", "tok-2", "tok-4"]
    assert entries[0]["basic_auth"]["password"] == "pw-1"  # the input is not changed


def test_job_settings_authorization_and_oauth2_go_to_files_too():
    jobs = [{"name": "limen", "targets": []}]
    out = scrape_configs(jobs, {"limen": {"authorization": {"type": "Bearer", "credentials": "t-1"},
                                          "oauth2": {"client_id": "i", "client_secret": "c-2", "token_url": "u"}}},
                         "/fsd", "/etc/p/secrets")
    assert "t-1" not in repr(out["scrape_configs"]) and "c-2" not in repr(out["scrape_configs"])
    assert {s["name"] for s in out["secrets"]} == {"limen.token", "limen.oauth2-client-secret"}


def test_a_secret_and_its_file_together_are_refused_naming_the_variable():
    from ansible_collections.limen.monitoring.plugins.plugin_utils.inventory_jobs import passthrough_secrets
    with pytest.raises(InventoryError, match=r"prometheus_remote_read\[0\].basic_auth: set password or password_file"):
        passthrough_secrets([{"url": "u", "basic_auth": {"username": "a", "password": "p", "password_file": "/f"}}],
                            "prometheus_remote_read", "/s")
