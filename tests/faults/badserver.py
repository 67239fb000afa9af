"""A misbehaving HTTP server for the driver's fault tests, on loopback, in
threads of the test process. Each path misbehaves its own way:

    /ok            200 with a 2-byte body (for reference)
    /huge          200 with a 100 MB body, sent as fast as the socket takes it
    /endless       200 with a chunked body that never ends
    /garbage       a status line that is not HTTP
    /cut           Content-Length 1000, 10 bytes, then the connection closes
    /bigheader     a 1 MB header line
    /http09        an HTTP/0.9-style reply: the body alone, then close
    /silent        reads the request and never answers
    /204           204 No Content (a success without a body)
    /304           304 Not Modified with a Content-Length and no body
    /slowhead      a 200 whose status line and headers come a byte at a time
    /chunks        a chunked 200 (extensions, a trailer) sent in 1-3 byte pieces
    /continue      100 Continue, then a 200
    /close         a 200 with Connection: close, then the connection closes
    /early         closes the connection at once, without a byte

Every connection is served by its own thread and ends when the server
stops. Standard library only."""

import random
import socket
import socketserver
import threading
import time

HUGE = 100 * 1024 * 1024


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(0.5)
        buf = b""
        while not self.server.stopping.is_set():
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\r\n\r\n" in buf:
                head, buf = buf.split(b"\r\n\r\n", 1)
                path = head.split(b" ", 2)[1].decode("latin-1") if b" " in head else "/"
                with self.server.lock:
                    self.server.hits[path] = self.server.hits.get(path, 0) + 1
                if not self.answer(sock, path):
                    return

    def send(self, sock, data):
        sock.settimeout(5)
        sock.sendall(data)
        sock.settimeout(0.5)

    def answer(self, sock, path):
        """Answer one request; False closes the connection."""
        stop = self.server.stopping
        try:
            if path == "/ok":
                self.send(sock, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                return True
            if path == "/204":
                self.send(sock, b"HTTP/1.1 204 No Content\r\n\r\n")
                return True
            if path == "/304":
                self.send(sock, b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n")
                return True
            if path == "/slowhead":
                head = b"HTTP/1.1 200 OK\r\nX-Slow: yes\r\nContent-Length: 4\r\n\r\n"
                for i in range(len(head)):
                    self.send(sock, head[i:i + 1])
                    time.sleep(0.002)
                self.send(sock, b"slow")
                return True
            if path == "/chunks":
                rnd = random.Random(len(path))
                body = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"5;ext=1\r\nhello\r\n1A\r\n" + b"c" * 26 + b"\r\n"
                        b"0\r\nX-Trailer: t\r\n\r\n")
                i = 0
                while i < len(body):
                    n = rnd.randint(1, 3)
                    self.send(sock, body[i:i + n])
                    i += n
                    time.sleep(0.0005)
                return True
            if path == "/continue":
                self.send(sock, b"HTTP/1.1 100 Continue\r\n\r\n")
                time.sleep(0.002)
                self.send(sock, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                return True
            if path == "/close":
                self.send(sock, b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                          b"Content-Length: 2\r\n\r\nok")
                return False
            if path == "/early":
                return False
            if path == "/huge":
                self.send(sock, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % HUGE)
                block = memoryview(bytes(1024 * 1024))
                for _ in range(HUGE // len(block)):
                    if stop.is_set():
                        return False
                    self.send(sock, block)
                return True
            if path == "/endless":
                self.send(sock, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                chunk = b"400\r\n" + b"z" * 1024 + b"\r\n"
                while not stop.wait(0.001):
                    self.send(sock, chunk)
                return False
            if path == "/garbage":
                self.send(sock, b"HTTQ/9.9 banana split\r\nfoo\r\n\r\n")
                return False
            if path == "/cut":
                self.send(sock, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
                return False
            if path == "/bigheader":
                self.send(sock, b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * (1024 * 1024) +
                          b"\r\nContent-Length: 2\r\n\r\nok")
                return False
            if path == "/http09":
                self.send(sock, b"hello from 1991\n")
                return False
            if path == "/silent":
                stop.wait(120)
                return False
            self.send(sock, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return True
        except OSError:
            return False


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class BadServer:
    """with BadServer() as s: s.url + "/huge" ..."""

    def __init__(self):
        self.srv = _Server(("127.0.0.1", 0), _Handler)
        self.srv.stopping = threading.Event()
        self.srv.lock = threading.Lock()
        self.srv.hits = {}
        self.port = self.srv.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)

    def hits(self, path):
        with self.srv.lock:
            return self.srv.hits.get(path, 0)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.srv.stopping.set()
        self.srv.shutdown()
        self.srv.server_close()
        return False
