#!/usr/bin/env python3
"""The lab's mail server: SMTP with STARTTLS and authentication (aiosmtpd), standing in for a
company's mail relay. It keeps every message it accepts so tests can read it back.

  mail_server.py --bind ADDRESS --port 587 --dir DIR

DIR holds server.crt/server.key (its certificate), users ("login:password" lines, re-read at
every AUTH, so a test can change the password the server accepts) and messages/, where each
message lands as N.eml with N.json beside it (tls, login, sender, recipients).
AUTH is offered only after STARTTLS, and mail is refused without AUTH.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import ssl
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# AUTH LOGIN's challenges as mail servers send them (Postfix, Exim, Exchange); aiosmtpd's own
# ("User Name\0") are refused by Go's and Alertmanager's clients ("unexpected server challenge").
SMTP.AuthLoginUsernameChallenge = "Username:"
SMTP.AuthLoginPasswordChallenge = "Password:"


class Store:
    def __init__(self, directory: Path):
        self.directory = directory
        self.messages = directory / "messages"
        self.messages.mkdir(mode=0o700, exist_ok=True)
        self.counter = itertools.count(len(list(self.messages.glob("*.eml"))) + 1)

    def users(self) -> dict[str, str]:
        path = self.directory / "users"
        lines = path.read_text().splitlines() if path.exists() else []
        return dict(line.split(":", 1) for line in lines if ":" in line)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        n = next(self.counter)
        (self.messages / f"{n:05d}.eml").write_bytes(envelope.original_content or envelope.content)
        meta = {"received_at": time.time(), "tls": session.ssl is not None,
                "login": (session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None),
                "sender": envelope.mail_from, "recipients": envelope.rcpt_tos}
        (self.messages / f"{n:05d}.json").write_text(json.dumps(meta))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.users().get(login) == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=587)
    p.add_argument("--dir", type=Path, required=True)
    a = p.parse_args()
    store = Store(a.dir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(a.dir / "server.crt", a.dir / "server.key")
    controller = Controller(store, hostname=a.bind, port=a.port, server_hostname="lab-mail",
                            tls_context=context, require_starttls=True, auth_required=True,
                            auth_require_tls=True, authenticator=store.authenticate)
    controller.start()
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
