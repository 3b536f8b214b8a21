"""A receiver that cannot deliver is announced on every other receiver: the routes the alertmanager
role puts ahead of alertmanager_route, checked with amtool's own router."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from ansible_collections.limen.monitoring.plugins.plugin_utils.notification_routes import (
    ALERT,
    END_RECEIVER,
    notification_failure_routes,
)

RECEIVERS = [
    {"name": "default"},                                             # no integration: delivers nowhere
    {"name": "mail", "email_configs": [{"to": "ops@example.org", "from": "am@example.org",
                                        "smarthost": "mail.example.org:25"}]},
    {"name": "pager", "webhook_configs": [{"url": "http://pager.example.org/hook"}]},
    {"name": "deadman", "webhook_configs": [{"url": "http://deadman.example.org/ping"}]},
]
ROUTE = {"receiver": "mail", "group_by": ["alertname", "job"],
         "routes": [{"matchers": ['alertname="Watchdog"'], "receiver": "deadman", "repeat_interval": "1m"},
                    {"matchers": ['severity="critical"'], "receiver": "pager"}]}
ROUTES_GIVEN = [dict(r) for r in ROUTE["routes"]]   # to prove the input is not modified


def receivers_for(tmp_path, config, *labels):
    """The receivers Alertmanager's router picks for an alert with LABELS (amtool)."""
    amtool = shutil.which("amtool")
    if not amtool:
        pytest.fail("amtool not found: run `make tools` (it is taken from Debian's alertmanager package)")
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    check = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    r = subprocess.run([amtool, "config", "routes", "test", f"--config.file={path}", *labels],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip().split(",")


@pytest.fixture
def config():
    return notification_failure_routes({"route": ROUTE, "receivers": RECEIVERS})


@pytest.mark.parametrize("failing, expected", [
    ("mail", ["pager", "deadman", END_RECEIVER]),
    ("pager", ["mail", "deadman", END_RECEIVER]),
    # Alertmanager before 0.27: no receiver_name label, so every receiver that delivers.
    (None, ["mail", "pager", "deadman", END_RECEIVER]),
])
def test_the_failure_reaches_every_other_receiver_once(tmp_path, config, failing, expected):
    labels = [f"alertname={ALERT}", "severity=critical", "integration=email"]
    labels += [f"receiver_name={failing}"] if failing else []
    assert receivers_for(tmp_path, config, *labels) == expected


def test_the_operators_routes_are_unchanged(tmp_path, config):
    assert receivers_for(tmp_path, config, "alertname=Watchdog", "severity=none") == ["deadman"]
    assert receivers_for(tmp_path, config, "alertname=TargetDown", "severity=critical") == ["pager"]
    assert receivers_for(tmp_path, config, "alertname=DiskFilling", "severity=warning") == ["mail"]
    assert config["route"]["routes"][-2:] == ROUTE["routes"]
    assert config["receivers"][:-1] == RECEIVERS and ROUTE["routes"] == ROUTES_GIVEN


def test_nothing_to_announce_on_without_a_receiver_that_delivers():
    given = {"route": {"receiver": "default"}, "receivers": [{"name": "default"}]}
    assert notification_failure_routes(given) == given
