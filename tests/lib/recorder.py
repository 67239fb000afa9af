"""A recording HTTP/1.1 server for tests that must see exactly what the
drivers sent: every request's method, path, headers (names in lower case)
and body, in arrival order. It answers /json with a small JSON document,
/gone with 410, and everything else with "hello OK". Standard library only.

    with Recording() as rec:
        ... load aimed at rec.base ...
        seen = rec.take()      # the requests so far, and forget them
"""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, delayed ACKs
        # hold each answer for tens of milliseconds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        self.server.record({"method": self.command, "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body})
        if self.path.startswith("/json"):
            out, ctype, status = json.dumps({"user": {"id": 7, "tags": ["a", "b"]}}), \
                "application/json", 200
        elif self.path.startswith("/gone"):
            out, ctype, status = "gone", "text/plain", 410
        else:
            out, ctype, status = "hello OK", "text/plain", 200
        data = out.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.seen = []

    def record(self, r):
        with self.lock:
            self.seen.append(r)


class Recording:
    """The server on a free loopback port; base is its URL. Stopped on
    leaving the with block, whatever happened in it."""

    def __enter__(self):
        self.srv = _Server()
        self.base = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()
        return False

    def take(self):
        """The requests recorded so far, which are then forgotten."""
        with self.srv.lock:
            out, self.srv.seen = self.srv.seen, []
        return out

    def count(self):
        with self.srv.lock:
            return len(self.srv.seen)
