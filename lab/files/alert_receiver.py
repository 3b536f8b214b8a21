#!/usr/bin/env python3
"""Records what Alertmanager sends (webhook receiver) so tests can read it back.

POST /alerts   store one notification (Alertmanager webhook JSON)
GET  /alerts   all stored notifications, as a JSON list, oldest first
DELETE /alerts forget them
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
        with lock:
            self.reply(200, list(received))

    def do_DELETE(self):
        with lock:
            received.clear()
        self.reply(200, {"ok": True})


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 9095), Handler).serve_forever()
