"""Notifications as the alertmanager role writes them: amtool accepts the configuration and renders
every shipped template with the fields and links it promises."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from receivers import RECEIVERS

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
ENV = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")


def amtool():
    path = shutil.which("amtool")
    if not path:
        pytest.fail("amtool not found: run `make tools` (it is taken from Debian's alertmanager package)")
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """alertmanager.yml and templates/ as the role writes them (tests/unit/roles/alertmanager/render_notifications.yml)."""
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
