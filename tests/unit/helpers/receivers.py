"""Receivers the notification tests configure."""

from __future__ import annotations

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
