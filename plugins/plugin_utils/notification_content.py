# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""What a notification carries: the shipped templates put on the receivers, and the runbook pages.

PRIVATE to the collection: used by the `notification_templates` and `runbook_pages` filters.
Pure functions over plain values, unit-tested without Ansible (the templates with amtool).
"""

from __future__ import annotations

import html
import posixpath


def _tpl(name):
    return '{{ template "%s" . }}' % name


# Per integration: the fields the shipped templates (roles/alertmanager/files/limen.tmpl) fill
# when the receiver leaves them unset. Webhooks send Alertmanager's JSON, which has no template.
FIELDS = {
    "email_configs": {"html": _tpl("limen.email.html"), "text": _tpl("limen.email.text")},
    "slack_configs": {"title": _tpl("limen.chat.title"), "text": _tpl("limen.chat.text")},
    "msteams_configs": {"title": _tpl("limen.chat.title"), "text": _tpl("limen.chat.text")},
    "discord_configs": {"title": _tpl("limen.chat.title"), "message": _tpl("limen.chat.text")},
    "telegram_configs": {"message": _tpl("limen.chat.text")},
    "webex_configs": {"message": _tpl("limen.chat.text")},
    "pushover_configs": {"title": _tpl("limen.chat.title"), "message": _tpl("limen.chat.text")},
    "pagerduty_configs": {"description": _tpl("limen.page.description"),
                          "details": {"summary": _tpl("limen.page.details")}},
    "opsgenie_configs": {"message": _tpl("limen.page.description"), "description": _tpl("limen.page.details")},
    "victorops_configs": {"entity_display_name": _tpl("limen.page.description"),
                          "state_message": _tpl("limen.page.details")},
}
SUBJECT = _tpl("limen.email.subject")


def _with_defaults(kind, integration):
    if not isinstance(integration, dict):
        return integration
    result = dict(integration)
    for key, value in FIELDS[kind].items():
        result.setdefault(key, value)
    if kind == "email_configs":
        headers = dict(result.get("headers") or {})
        if not any(name.lower() == "subject" for name in headers):
            headers["Subject"] = SUBJECT
        result["headers"] = headers
    return result


def notification_templates(config):
    """CONFIG (Alertmanager's) with the shipped templates on every integration that sets none.

    Only fields the receiver leaves unset are filled: an operator's own text always wins.
    """
    receivers = []
    for receiver in config.get("receivers") or []:
        if isinstance(receiver, dict):
            receiver = {key: ([_with_defaults(key, i) for i in value] if key in FIELDS and isinstance(value, list)
                              else value)
                        for key, value in receiver.items()}
        receivers.append(receiver)
    return {**config, "receivers": receivers}


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body style="font-family: sans-serif; margin: 0; padding: 8px; max-width: 50em;">
<pre style="white-space: pre-wrap; font-family: inherit;">{body}</pre>
</body></html>
"""


def _text(value):
    # Prometheus expands console pages as Go templates: no "{" may reach it as such.
    return html.escape(value).replace("{", "&#123;").replace("}", "&#125;")


def runbook_page(markdown, name):
    """The HTML page of one runbook (Markdown, shown as written: it reads as plain text)."""
    first = next((line for line in markdown.splitlines() if line.strip()), name)
    title = first.lstrip("#").strip() or name
    return PAGE.format(title=_text(title), body=_text(markdown.rstrip() + "\n"))


def runbook_pages(contents, names, directory):
    """[{path, content}] of the pages: CONTENTS of the Markdown files NAMES ("Alert.md") in DIRECTORY."""
    if len(contents) != len(names):
        raise ValueError(f"runbook_pages: {len(contents)} contents for {len(names)} names")
    pages = []
    for index, name in enumerate(names):
        text = contents[index]
        if not name.endswith(".md") or "/" in name:
            raise ValueError(f"runbook_pages: {name!r} is not the name of a Markdown file (ALERT.md)")
        stem = name[:-3]
        pages.append({"path": posixpath.join(directory, stem + ".html"), "content": runbook_page(text, stem)})
    return pages


def receiver_integrations(receivers):
    """[{name, integrations}] of RECEIVERS: the integrations are the *_configs keys that hold any."""
    result = []
    for receiver in receivers or []:
        if isinstance(receiver, dict) and receiver.get("name"):
            kinds = sorted(key[: -len("_configs")] for key, value in receiver.items()
                           if key.endswith("_configs") and value)
            result.append({"name": str(receiver["name"]), "integrations": kinds})
    return result
