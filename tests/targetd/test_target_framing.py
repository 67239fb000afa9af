"""target-server: a request whose body length is ambiguous is refused.

Two Content-Length headers (equal or not), Content-Length beside
Transfer-Encoding, two Transfer-Encoding headers, or a Transfer-Encoding
other than chunked: each gets one 400 with a JSON error and the connection
is closed, so whatever follows on it (here a smuggled request) is never
served. None of them counts as a /ping request. A plain request with one
Content-Length, or one chunked body, still works over keep-alive.

It also pins the replies libmicrohttpd sends by itself for a Content-Length
it cannot parse: their status line is right and the connection closes, and
the log says whether the library repeated the header block (0.9.75 does)."""

import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dlt import Cluster, check, get_json, http, log, run_test  # noqa: E402
from rawhttp import parse_one  # noqa: E402

SMUGGLED = b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"


def talk(port, data, timeout=5):
    """Send data; return (bytes received, closed by the server)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = bytearray()
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return bytes(got), True
                got += chunk
        except ConnectionResetError:
            return bytes(got), True
        except socket.timeout:
            return bytes(got), False


def responses(raw):
    out = []
    while raw:
        p = parse_one(raw)
        if not p:
            break
        out.append(p)
        raw = raw[p[3]:]
    return out


def refused(t, what, head, body=b""):
    raw, closed = talk(t.port, head + b"\r\n" + body + SMUGGLED)
    got = responses(raw)
    log(f"{what}: {[p[0] for p in got]}, closed={closed}")
    check(len(got) == 1, f"{what}: {len(got)} responses: {raw[:400]!r}")
    status, headers, payload, used = got[0]
    check(status == 400, f"{what}: status {status}")
    check(used == len(raw), f"{what}: bytes after the response: {raw[used:][:200]!r}")
    check(headers.get("content-type") == "application/json", f"{what}: headers {headers}")
    check(headers.get("connection", "").lower() == "close", f"{what}: headers {headers}")
    doc = json.loads(payload)
    check(isinstance(doc.get("error"), str) and doc["error"], f"{what}: body {payload!r}")
    check(closed, f"{what}: the connection stayed open")
    return doc["error"]


def main():
    with Cluster() as c:
        t = c.target()
        base = b"POST /ping HTTP/1.1\r\nHost: x\r\n"
        err = refused(t, "two different Content-Length",
                      base + b"Content-Length: 5\r\nContent-Length: 30\r\n", b"hello")
        check("Content-Length" in err, f"error {err!r}")
        refused(t, "two equal Content-Length",
                base + b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello")
        refused(t, "Content-Length 0 twice on a GET",
                b"GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\ncontent-length: 0\r\n")
        err = refused(t, "Content-Length and chunked",
                      base + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                      b"0\r\n\r\n")
        check("Transfer-Encoding" in err, f"error {err!r}")
        refused(t, "chunked and Content-Length",
                base + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n")
        refused(t, "two Transfer-Encoding",
                base + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                b"0\r\n\r\n")
        refused(t, "Transfer-Encoding gzip", base + b"Transfer-Encoding: gzip\r\n", b"hello")
        refused(t, "Transfer-Encoding gzip, chunked",
                base + b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n")
        refused(t, "duplicate Content-Length on /metrics",
                b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                b"Content-Length: 2\r\n", b"ab")

        # One Content-Length, or chunked alone, stays fine over keep-alive.
        raw, closed = talk(t.port, base + b"Content-Length: 5\r\n\r\nhello" + base +
                           b"transfer-encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" +
                           SMUGGLED, timeout=1)
        got = [p[0] for p in responses(raw)]
        check(got == [200, 200, 404], f"well-framed requests: {got}")
        check(not closed, "a well-framed keep-alive connection was closed")

        m = get_json(t.url + "/metrics")
        log(f"counters: {m}")
        check(m["total_requests"] == 2 and m["total_responses"] == 2, f"counters {m}")
        check(m["total_aborted"] == 0 and m["in_flight"] == 0, f"counters {m}")
        check(m["total_rejected"] == 10, f"9 refused + one 404: {m}")

        # libmicrohttpd's own reply to a Content-Length it cannot parse (the
        # route is never called): the status is right and the connection
        # closes; nothing after it is served.
        for what, value, want in (("letters", b"12a", 400), ("empty", b"", 400),
                                  ("past 2^64", b"99999999999999999999999", 413)):
            raw, closed = talk(t.port, base + b"Content-Length: " + value + b"\r\n\r\nhello" +
                               SMUGGLED)
            check(raw.startswith(b"HTTP/1.1 %d " % want), f"{what}: {raw[:100]!r}")
            check(closed, f"{what}: the connection stayed open")
            check(b"404 Not Found" not in raw, f"{what}: the next request was served")
            head = raw.split(b"\r\n", 1)[0]
            log(f"Content-Length {what}: {head.decode()}, status line sent "
                f"{raw.count(head)} time(s) (libmicrohttpd's own reply)")
        status, _, body = http("GET", t.url + "/ping")
        check(status == 200 and body == b"OK", f"/ping after all that -> {status}")


if __name__ == "__main__":
    run_test(main)
