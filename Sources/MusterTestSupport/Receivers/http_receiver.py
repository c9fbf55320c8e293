#!/usr/bin/env python3
"""HTTP receiver for MusterNotifyTests: records every request and answers as told.

Usage: http_receiver.py CONFIG_JSON PORT_FILE RECORD_FILE

CONFIG_JSON (a JSON text) says how each path answers; paths not listed answer 200 "ok":
  {"routes": {"/flaky": {"statuses": [500, 200]},          # one status per attempt, the last repeats
              "/slow": {"delay": 5.0},                       # seconds before answering
              "/stall": {"delays": [30.0, 0]},               # one delay per attempt, the last repeats
              "/drop": {"drop": "mid-response"},             # or "before-response"
              "/limited": {"status": 429, "headers": {"Retry-After": "7"}, "body": "slow down"}},
   "tls": {"cert": "cert.pem", "key": "key.pem"},            # optional: serve HTTPS
   "lifetime": 120,                                          # seconds before exiting on its own
   "port": 0}                                                # optional: a fixed port (0: ephemeral)

Listens on 127.0.0.1 with an ephemeral port, written to PORT_FILE once it accepts connections. Each
request is appended to RECORD_FILE as one JSON line (JSON Lines) before the answer is sent. Exits on
SIGTERM, when its parent process goes away, or after `lifetime` seconds.
"""
import base64
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A parent that blocks signals in its threads (Foundation's Process does) passes the mask on: unblock
# SIGTERM so that the tests can stop this process at once.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
signal.signal(signal.SIGTERM, signal.SIG_DFL)

config = json.loads(sys.argv[1])
port_file = sys.argv[2]
record_file = sys.argv[3]
routes = config.get("routes", {})
lock = threading.Lock()
counts = {}
sequence = [0]


class Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True
    allow_reuse_address = True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so that connection reuse can be seen

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        route = routes.get(path, {})
        with lock:
            counts[path] = counts.get(path, 0) + 1
            attempt = counts[path]
            sequence[0] += 1
            record = {
                "seq": sequence[0],
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "header_list": [[k, v] for k, v in self.headers.items()],
                "body": body.decode("utf-8", errors="replace"),
                "body_base64": base64.b64encode(body).decode("ascii"),
                "client_port": self.client_address[1],
                "attempt": attempt,
            }
            with open(record_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        delays = route.get("delays")
        delay = float(delays[min(attempt - 1, len(delays) - 1)] if delays else route.get("delay", 0))
        if delay > 0:
            time.sleep(delay)
        drop = route.get("drop")
        if drop == "before-response":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        statuses = route.get("statuses") or [route.get("status", 200)]
        status = statuses[min(attempt - 1, len(statuses) - 1)]
        payload = route.get("body", "ok").encode("utf-8")
        if drop == "mid-response":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\npartial")
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(status)
        for name, value in route.get("headers", {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def watchdog(parent, lifetime):
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline and os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


def main():
    server = Server(("127.0.0.1", int(config.get("port", 0))), Handler)
    tls = config.get("tls")
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls["cert"], tls["key"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=watchdog, args=(os.getppid(), float(config.get("lifetime", 120))), daemon=True).start()
    open(record_file, "a").close()
    temporary = port_file + ".tmp"
    with open(temporary, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(temporary, port_file)
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
