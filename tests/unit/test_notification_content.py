"""What a notification carries: the shipped templates on every receiver, checked and rendered by
Alertmanager's own amtool; the runbook pages; the receivers the self-check names."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.limen.monitoring.plugins.module_utils.alert_path import failing_receivers
from ansible_collections.limen.monitoring.plugins.plugin_utils.notification_content import (
    notification_templates,
    receiver_integrations,
    runbook_page,
    runbook_pages,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ENV = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
RUNBOOKS = REPO / "docs" / "runbooks"
# Every integration Debian 12's Alertmanager (0.25, the oldest the collection runs) knows.
RECEIVERS = [
    {"name": "mail", "email_configs": [{"to": "ops@example.org", "from": "am@example.org",
                                        "smarthost": "mail.example.org:587", "auth_username": "am",
                                        "auth_password": "secret"}]},
    {"name": "mail-own", "email_configs": [{"to": "ops@example.org", "from": "am@example.org",
                                            "smarthost": "mail.example.org:587", "text": "mine",
                                            "headers": {"subject": "own subject"}}]},
    {"name": "chat", "slack_configs": [{"api_url": "https://chat.example.org/hooks/x", "channel": "#ops"}]},
    {"name": "pager", "pagerduty_configs": [{"routing_key": "k"}]},
    {"name": "genie", "opsgenie_configs": [{"api_key": "k", "api_url": "https://api.example.org/"}]},
    {"name": "tg", "telegram_configs": [{"bot_token": "t", "chat_id": 1}]},
    {"name": "discord", "discord_configs": [{"webhook_url": "https://discord.example.org/api/webhooks/1/x"}]},
    {"name": "hook", "webhook_configs": [{"url": "https://hook.example.org/"}]},
]


def amtool():
    path = shutil.which("amtool")
    if not path:
        pytest.fail("amtool not found: run `make tools` (it is taken from Debian's alertmanager package)")
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """alertmanager.yml and templates/ as the role writes them (tests/unit/render_notifications.yml)."""
    out = tmp_path_factory.mktemp("notifications")
    extra = {"out": str(out), "alertmanager_receivers": RECEIVERS,
             "alertmanager_route": {"receiver": "mail"},
             "alertmanager_runbook_urls": {"HostDown": "https://wiki.example.org/hostdown"},
             "alertmanager_service_runbook_urls": {"limen": "https://wiki.example.org/limen"}}
    r = subprocess.run(["ansible-playbook", "-i", "localhost,", str(HERE / "render_notifications.yml"),
                        "-e", json.dumps(extra)], cwd=REPO, capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def render(out, text, data=None):
    """TEXT rendered by amtool with the shipped templates (amtool's example alerts)."""
    r = subprocess.run([amtool(), "template", "render", f"--template.glob={out}/templates/*.tmpl",
                        f"--template.text={text}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_alertmanager_accepts_the_configuration_with_every_receiver(rendered):
    r = subprocess.run([amtool(), "check-config", str(rendered / "alertmanager.yml")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # 8 receivers and the end of the failure announcements; the templates glob parses.
    assert " - 9 receivers\n - 1 templates\n" in r.stdout, r.stdout


def test_receivers_get_the_shipped_templates_and_keep_their_own(rendered):
    receivers = {r["name"]: r for r in yaml.safe_load((rendered / "alertmanager.yml").read_text())["receivers"]}
    mail = receivers["mail"]["email_configs"][0]
    assert mail["html"] == '{{ template "limen.email.html" . }}' and mail["text"] == '{{ template "limen.email.text" . }}'
    assert mail["headers"] == {"Subject": '{{ template "limen.email.subject" . }}'}
    own = receivers["mail-own"]["email_configs"][0]
    assert own["text"] == "mine" and own["headers"] == {"subject": "own subject"}   # kept, no second Subject
    assert receivers["chat"]["slack_configs"][0]["text"] == '{{ template "limen.chat.text" . }}'
    assert receivers["pager"]["pagerduty_configs"][0]["description"] == '{{ template "limen.page.description" . }}'
    assert receivers["genie"]["opsgenie_configs"][0]["description"] == '{{ template "limen.page.details" . }}'
    assert receivers["hook"] == RECEIVERS[-1]                                     # JSON: nothing to template


def test_the_input_is_not_modified():
    given = json.loads(json.dumps(RECEIVERS))
    notification_templates({"receivers": given})
    assert given == RECEIVERS


@pytest.mark.parametrize("name", ["limen.email.subject", "limen.email.text", "limen.email.html", "limen.chat.title",
                                  "limen.chat.text", "limen.page.description", "limen.page.details"])
def test_every_template_renders(rendered, name):
    assert render(rendered, '{{ template "%s" . }}' % name).strip()


def test_the_chat_text_carries_every_field_and_link_from_the_external_urls(rendered):
    text = render(rendered, '{{ template "limen.chat.text" . }}')
    first = text.split("\n\n")[0]
    assert re.search(r"^Since: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", first, re.M), first
    assert "Instance: foo.bar:1234" in first
    links = dict(re.findall(r"^(Dashboard|Query|Runbook|Silence): (\S+)$", first, re.M))
    # amtool's example alert has no job: the servers' dashboard; never http:// nor a bare host name.
    assert re.fullmatch(r"https://192\.0\.2\.5:3000/d/limen-server-health\?orgId=1&var-instance=foo\.bar%3A1234"
                        r"&from=\d{13}&to=now", links["Dashboard"]), links
    assert links["Runbook"] == "https://192.0.2.5:9090/consoles/runbooks/.html"
    assert links["Silence"] == ("https://192.0.2.5:9093/#/silences/new?filter="
                                "%7Balertname%3D%22%22%2Cinstance%3D%22foo.bar%3A1234%22%7D")


@pytest.mark.parametrize("labels, dashboard, runbook", [
    ({"alertname": "TargetDown", "job": "service2"}, "/d/svc-service2?var-job=service2",
     "https://192.0.2.5:9090/consoles/runbooks/TargetDown.html"),
    ({"alertname": "TargetDown", "job": "limen"}, "/d/svc-limen?var-job=limen", "https://wiki.example.org/limen"),
    ({"alertname": "HostDown", "job": "node"}, "/d/limen-server-health?orgId=1", "https://wiki.example.org/hostdown"),
    ({"alertname": "Own", "job": "registered"}, "/d/limen-service?var-job=registered",
     "https://192.0.2.5:9090/consoles/runbooks/Own.html"),
])
def test_dashboard_and_runbook_per_service_and_alert(rendered, labels, dashboard, runbook):
    base = render(rendered, _substituted("limen.dashboard.base", rendered, labels))
    book = render(rendered, _substituted("limen.link.runbook", rendered, labels))
    assert (base, book) == (f"https://192.0.2.5:3000{dashboard}", runbook)


def _substituted(name, rendered, labels):
    """The body of define NAME (limen-links.tmpl) with .Labels.KEY replaced by the literal values
    (amtool renders only its own example alerts)."""
    text = (rendered / "templates" / "limen-links.tmpl").read_text()
    body = re.search(r'\{\{ define "%s" \}\}(.*?)\{\{ end \}\}\n' % re.escape(name), text, re.S).group(1)
    for key in ("alertname", "job", "instance"):
        body = body.replace(f".Labels.{key}", json.dumps(labels.get(key, "")))
    return body


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


# ---- the self-check: receivers whose last notification failed ----
def series(labels, *points):
    return {"metric": labels, "values": [[t, str(v)] for t, v in points]}


MAIL = {"instance": "m:9093", "integration": "email", "receiver_name": "mail"}
OLD_MAIL = {"instance": "m:9093", "integration": "email"}          # Alertmanager before 0.27


@pytest.mark.parametrize("totals, failures, reloads, named", [
    # never used: counters at 0 throughout
    ([series(MAIL, (1, 0), (2, 0))], [series(MAIL, (1, 0), (2, 0))], {}, []),
    # last attempt failed
    ([series(MAIL, (1, 0), (2, 1))], [series({**MAIL, "reason": "other"}, (1, 0), (3, 1))], {}, ["receiver mail (email)"]),
    # failed, then delivered
    ([series(MAIL, (1, 0), (2, 1), (5, 2))], [series(MAIL, (1, 0), (3, 1), (5, 1))], {}, []),
    # delivered, then failed; a second reason's series counts too
    ([series(MAIL, (1, 0), (2, 1), (5, 2))],
     [series({**MAIL, "reason": "a"}, (1, 0), (5, 0)), series({**MAIL, "reason": "b"}, (1, 0), (6, 1))], {},
     ["receiver mail (email)"]),
    # the failure came before the last configuration load: not counted
    ([series(MAIL, (1, 0), (2, 1))], [series(MAIL, (1, 0), (3, 1))], {"m:9093": "4"}, []),
    # a restart reset the counters, then one failure
    ([series(MAIL, (1, 5), (2, 0), (3, 1))], [series(MAIL, (1, 2), (2, 0), (3, 1))], {}, ["receiver mail (email)"]),
    # old Alertmanager: named through the receivers with that integration
    ([series(OLD_MAIL, (1, 0), (2, 1))], [series(OLD_MAIL, (1, 0), (2, 1))], {},
     ["the email receiver(s) mail, mail2 (this Alertmanager version does not say which)"]),
])
def test_failing_receivers(totals, failures, reloads, named):
    receivers = receiver_integrations([{"name": "mail", "email_configs": [{}]}, {"name": "mail2", "email_configs": [{}]},
                                       {"name": "hook", "webhook_configs": [{}]}, {"name": "none"}])
    problems = failing_receivers(totals, failures, reloads, receivers)
    assert [p.split(" cannot deliver to ")[1].split(": its last")[0] for p in problems] == named, problems
    assert all(p.startswith("Alertmanager m:9093 cannot deliver to ") for p in problems)


def test_receiver_integrations():
    assert receiver_integrations([{"name": "a", "email_configs": [{}], "webhook_configs": []}, {"name": "b"}, "x"]) == [
        {"name": "a", "integrations": ["email"]}, {"name": "b", "integrations": []}]
