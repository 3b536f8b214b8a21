#!/usr/bin/env python3
"""Demo service for the lab: exposes the company metric standard with live traffic.

Control (from the controller, for alert tests):
  POST /control/errors?seconds=N   answer 5xx to generated traffic for N seconds
  POST /control/slow?seconds=N     add 0.8 s latency for N seconds
  POST /control/down?seconds=N     report service_up 0 for N seconds
  POST /control/database?seconds=N report service_database_up 0 for N seconds
  POST /control/nonconformant?seconds=N  break the metric standard for N seconds: the latency
                                   histogram renamed, the status label renamed to code
  POST /control/reset              back to normal
Stopping the unit (systemctl stop limen-demo-service) takes the target down.

Options (environment): DEMO_TOKEN_FILE, a file holding a token that the metrics path then
requires as "Authorization: Bearer <token>" (401 otherwise); DEMO_TLS_CERT and DEMO_TLS_KEY,
PEM files with which it serves HTTPS instead of HTTP.
"""

import hmac
import os
import random
import resource
import ssl
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

NAME = os.environ.get("DEMO_NAME", "demo")
PORT = int(os.environ.get("DEMO_PORT", "8080"))
METRICS_PATH = os.environ.get("DEMO_PATH", "/metrics")
LIMEN = os.environ.get("DEMO_LIMEN", "0") == "1"
TOKEN_FILE = os.environ.get("DEMO_TOKEN_FILE", "")
TLS_CERT = os.environ.get("DEMO_TLS_CERT", "")
TLS_KEY = os.environ.get("DEMO_TLS_KEY", "")

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "path", "status"])
LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["method", "path"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
UP = Gauge("service_up", "1 when the service considers itself healthy", ["name"])
ERRORS = Counter("service_errors_total", "Errors by type", ["type"])
DATABASE = Gauge("service_database_up", "1 while connected to the database", ["database"])
CPU = Gauge("service_cpu_usage_percent", "Process CPU usage in percent")
MEM = Gauge("service_memory_usage_bytes", "Process resident memory in bytes")
if LIMEN:
    VM_TOTAL = Gauge("vm_total", "VMs defined")
    VM_RUNNING = Gauge("vm_running", "VMs running")
    VM_CPU = Gauge("vm_cpu_usage_percent", "VM CPU usage", ["vm"])
    VM_MEM = Gauge("vm_memory_usage_bytes", "VM memory usage", ["vm"])
    LIBVIRT = Gauge("libvirt_connection_status", "1 when connected to libvirt")

faults = {"errors": 0.0, "slow": 0.0, "down": 0.0, "database": 0.0, "nonconformant": 0.0}
for kind in ("timeout", "database", "validation"):
    ERRORS.labels(kind)  # expose every type from the start, at 0
for method, path, status in (("GET", "/api/items", "200"), ("POST", "/api/items", "201"),
                             ("GET", "/api/items", "500")):
    REQUESTS.labels(method, path, status)


def active(kind):
    return time.time() < faults[kind]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        if not TOKEN_FILE:
            return True
        with open(TOKEN_FILE, encoding="utf-8") as handle:  # read each time: rotation needs no restart
            token = handle.read().strip()
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == METRICS_PATH:
            if not self.authorized():
                self.send_response(401)
                self.send_header("WWW-Authenticate", "Bearer")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = generate_latest()
            if active("nonconformant"):
                body = body.replace(b"http_request_duration_seconds", b"http_request_latency_seconds")
                body = body.replace(b',status="', b',code="')
            self.reply(200, body, CONTENT_TYPE_LATEST)
            return
        self.serve_api("GET", url.path)

    def do_POST(self):
        url = urlparse(self.path)
        if url.path.startswith("/control/"):
            kind = url.path.rsplit("/", 1)[1]
            seconds = float(parse_qs(url.query).get("seconds", ["60"])[0])
            if kind == "reset":
                faults.update(dict.fromkeys(faults, 0.0))
            elif kind in faults:
                faults[kind] = time.time() + seconds
            else:
                self.reply(404, b"unknown control\n")
                return
            self.reply(200, f"{kind} for {seconds}s\n".encode())
            return
        self.serve_api("POST", url.path)

    def serve_api(self, method, path):
        route = path if path in ("/api/items", "/api/health") else "other"
        start = time.monotonic()
        time.sleep(random.uniform(0.002, 0.03) + (0.8 if active("slow") else 0))
        if active("errors"):
            status = 500
            ERRORS.labels("database").inc()
        else:
            status = 201 if method == "POST" else 200
        LATENCY.labels(method, route).observe(time.monotonic() - start)
        REQUESTS.labels(method, route, str(status)).inc()
        self.reply(status, b"ok\n" if status < 500 else b"error\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A plain-HTTP or untrusting client on the TLS port is expected in the tests.
        if not isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):
            super().handle_error(request, client_address)


def housekeeping():
    last_cpu, last_t = time.process_time(), time.monotonic()
    while True:
        time.sleep(2)
        cpu, now = time.process_time(), time.monotonic()
        CPU.set(100.0 * (cpu - last_cpu) / max(now - last_t, 1e-6))
        last_cpu, last_t = cpu, now
        MEM.set(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        UP.labels(NAME).set(0 if active("down") else 1)
        DATABASE.labels(NAME).set(0 if active("database") else 1)
        if LIMEN:
            VM_TOTAL.set(6)
            VM_RUNNING.set(4 if not active("down") else 1)
            for i in range(4):
                VM_CPU.labels(f"vm-{i}").set(random.uniform(5, 60))
                VM_MEM.labels(f"vm-{i}").set(random.uniform(0.5, 2.0) * 2**30)
            LIBVIRT.set(0 if active("down") else 1)


def traffic():
    """Real requests against ourselves so counters and histograms move."""
    base = f"{'https' if TLS_CERT else 'http'}://127.0.0.1:{PORT}"
    # Our own loopback traffic: the certificate names the host, not 127.0.0.1.
    context = ssl._create_unverified_context() if TLS_CERT else None
    while True:
        time.sleep(0.2)
        method = random.choice(["GET", "GET", "GET", "POST"])
        req = urllib.request.Request(base + random.choice(["/api/items", "/api/health"]),
                                     method=method, data=b"" if method == "POST" else None)
        try:
            urllib.request.urlopen(req, timeout=5, context=context).read()
        except Exception:
            ERRORS.labels("timeout").inc() if active("slow") else None


if __name__ == "__main__":
    UP.labels(NAME).set(1)
    threading.Thread(target=housekeeping, daemon=True).start()
    threading.Thread(target=traffic, daemon=True).start()
    server = Server(("0.0.0.0", PORT), Handler)
    if TLS_CERT:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(TLS_CERT, TLS_KEY)
        # The handshake runs in the request thread: a slow or plain-HTTP client blocks no one.
        server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.serve_forever()
