"""What a notification carries: the shipped templates on every receiver, checked and rendered by
Alertmanager's own amtool; the runbook pages; the receivers the self-check names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from receivers import RECEIVERS

from ansible_collections.limen.monitoring.plugins.plugin_utils.notification_content import (
    notification_templates,
    receiver_integrations,
    runbook_page,
    runbook_pages,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
RUNBOOKS = REPO / "docs" / "runbooks"


def test_the_input_is_not_modified():
    given = json.loads(json.dumps(RECEIVERS))
    notification_templates({"receivers": given})
    assert given == RECEIVERS


# ---- runbooks ----
def shipped_alerts():
    rules = "\n".join(p.read_text() for p in (REPO / "roles/prometheus/templates/rules").glob("*.j2"))
    return set(re.findall(r"- alert: (\w+)", rules)) | set(re.findall(r"thresholded\('(\w+)'", rules))


def test_every_shipped_alert_has_a_runbook_page():
    alerts = shipped_alerts()
    assert len(alerts) >= 15, alerts
    assert sorted(alerts - {p.stem for p in RUNBOOKS.glob("*.md")}) == []


def test_runbook_pages_escape_html_and_template_actions():
    page = runbook_page("# Disk <full>\n\nRun `du {{ .x }}` & see.\n", "DiskFilling")
    assert "<title>Disk &lt;full&gt;</title>" in page
    assert "{" not in page.split("<body", 1)[1] and "&amp; see." in page


def test_runbook_pages_name_files_and_refuse_other_names():
    pages = runbook_pages(["# A\n"], ["HostDown.md"], "/etc/prometheus/limen-consoles/runbooks")
    assert [p["path"] for p in pages] == ["/etc/prometheus/limen-consoles/runbooks/HostDown.html"]
    with pytest.raises(ValueError, match="'../x.md' is not the name of a Markdown file"):
        runbook_pages(["x"], ["../x.md"], "/d")


def test_receiver_integrations():
    assert receiver_integrations([{"name": "a", "email_configs": [{}], "webhook_configs": []}, {"name": "b"}, "x"]) == [
        {"name": "a", "integrations": ["email"]}, {"name": "b", "integrations": []}]
