#!/usr/bin/env python3
"""Records what Alertmanager sends (webhook receiver) so tests can read it back.

POST /alerts   store one notification (Alertmanager webhook JSON)
GET  /alerts   all stored notifications, as a JSON list, oldest first
DELETE /alerts forget them
POST /deadman  a heartbeat (the Watchdog's route of the dead-man's-switch recipe); stored too
GET  /deadman?grace=SECONDS  a dead-man's switch: 200 while a Watchdog arrived on /deadman within
               the grace period, 503 once it has not (the page it would send)
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

received = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            self.reply(400, {"error": "not JSON"})
            return
        with lock:
            received.append({"received_at": time.time(), "path": self.path,
                             "authorization": bool(self.headers.get("Authorization")),
                             "body": body})
        self.reply(200, {"ok": True})

    def do_GET(self):
        if self.path.startswith("/deadman"):
            self.deadman()
            return
        with lock:
            self.reply(200, list(received))

    def deadman(self):
        query = parse_qs(urlsplit(self.path).query)
        grace = float(query.get("grace", ["300"])[0])
        with lock:
            beats = [r["received_at"] for r in received if r["path"].startswith("/deadman")
                     and any(a.get("labels", {}).get("alertname") == "Watchdog" for a in r["body"].get("alerts", []))]
        last = max(beats, default=None)
        alive = last is not None and time.time() - last <= grace
        self.reply(200 if alive else 503, {"alive": alive, "last": last})

    def do_DELETE(self):
        with lock:
            received.clear()
        self.reply(200, {"ok": True})


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 9095), Handler).serve_forever()
