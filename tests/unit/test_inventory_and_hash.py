"""Secrets moved out of prometheus.yml, unknown job settings refused, stable bcrypt."""

from __future__ import annotations

import bcrypt
import pytest

from ansible_collections.limen.monitoring.plugins.module_utils.bcrypt_hash import HashError, stable_hash
from ansible_collections.limen.monitoring.plugins.module_utils.inventory_jobs import (
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


def test_stable_bcrypt_is_stable_valid_and_seeded():
    a = stable_hash("s3cret-pass", "mon/admin")
    assert a == stable_hash("s3cret-pass", "mon/admin")
    assert a != stable_hash("s3cret-pass", "mon/other")
    assert bcrypt.checkpw(b"s3cret-pass", a.encode())
    with pytest.raises(HashError):
        stable_hash("", "x")
