"""load-orchestrator's HTTP framing against hostile requests, over raw
sockets (so that the bytes on the wire are what is checked):
- a Content-Length over --max-body, up to 2^64 - 1, is refused at once
  with a JSON 413 and the connection closes, before any body is sent (it
  used to wait for the body); the token check still comes first (401);
- two Content-Length headers (equal or not), or Content-Length with
  Transfer-Encoding, are a 400 and the connection closes: what follows is
  never answered as a second request (a conflicting pair used to be read
  by the first, and the rest of the body parsed as another request);
  a Transfer-Encoding other than chunked is a 501 (it used to hang);
- a path or query with an encoded NUL (%00) matches no route: a 400
  (/api/drivers%00.js used to answer 200); %2500 (a literal "%00") is a
  404, and other escapes still decode;
- libmicrohttpd's own replies for a Content-Length it cannot parse
  (letters, a minus, 2^64 or more) or a malformed request line: the status
  is right and the connection closes; what else is on the wire is logged
  (libmicrohttpd 0.9.75 repeats its status line and headers there).
The orchestrator keeps serving throughout."""

import json
import socket
import time

from dlt import Cluster, check, get_json, log, run_test

MAX_BODY = 4096
TOKEN = "fr4ming-token"


def exchange(port, data, wait=5.0):
    """Send data, read until the server closes or wait passes. Returns
    (bytes, closed, seconds until closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    t0 = time.time()
    out = b""
    closed = False
    try:
        s.sendall(data)
        s.settimeout(0.2)
        while time.time() - t0 < wait:
            try:
                b = s.recv(65536)
            except socket.timeout:
                continue
            if not b:
                closed = True
                break
            out += b
    except ConnectionResetError:
        closed = True
    finally:
        s.close()
    return out, closed, time.time() - t0


def responses(raw):
    """The status codes of every response in raw, in order."""
    codes = []
    for line in raw.split(b"\r\n"):
        if line.startswith(b"HTTP/1.1 ") and len(line) >= 12 and line[9:12].isdigit():
            codes.append(int(line[9:12]))
    return codes


def json_body(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    try:
        return json.loads(body)
    except ValueError:
        return None


def expect(port, what, data, status, words=(), closes=True, within=2.0):
    raw, closed, dt = exchange(port, data, wait=within + 3)
    codes = responses(raw)
    log(f"{what}: {codes} closed={closed} after {dt:.2f}s")
    check(codes[:1] == [status], f"{what}: first status {codes[:1]}, want {status}: {raw[:300]!r}")
    if closes:
        check(closed and dt < within, f"{what}: the connection did not close within {within}s")
    doc = json_body(raw)
    for w in words:
        check(doc and w in doc.get("error", ""), f"{what}: error {doc!r} lacks {w!r}")
    return raw


def main():
    with Cluster() as c:
        c.broker()
        orch = c.orchestrator("--max-body", str(MAX_BODY), "--api-token", TOKEN)
        p = orch.port
        auth = f"Authorization: Bearer {TOKEN}\r\n".encode()

        def post(extra, body=b"", token=True):
            return (b"POST /api/tests HTTP/1.1\r\nHost: x\r\n" + (auth if token else b"") +
                    extra + b"\r\n" + body)

        # Item: a declared length over the limit, refused before the body.
        for n in (MAX_BODY + 1, 2 ** 31, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1):
            expect(p, f"Content-Length {n}", post(f"Content-Length: {n}\r\n".encode()), 413,
                   ["limit"])
        expect(p, "Content-Length 2^63 without a token",
               post(b"Content-Length: 9223372036854775808\r\n", token=False), 401, ["token"])

        # Item: conflicting framing.
        smuggle = b"GET /api/drivers HTTP/1.1\r\nHost: x\r\n\r\n"
        body = b"{}" + smuggle
        for what, hdrs in (
                ("two Content-Lengths", f"Content-Length: 2\r\nContent-Length: {len(body)}\r\n"),
                ("two equal Content-Lengths", "Content-Length: 2\r\nContent-Length: 2\r\n"),
                ("Content-Length and chunked",
                 "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n")):
            raw = expect(p, what, post(hdrs.encode(), body), 400, ["Content-Length"])
            check(responses(raw) == [400], f"{what}: more than one answer: {responses(raw)}")
        raw = expect(p, "Transfer-Encoding gzip", post(b"Transfer-Encoding: gzip\r\n", b"x"), 501,
                     ["chunked"])
        check(get_json(orch.url + "/api/tests")["tests"] == [], "a framing attack made a test")

        # Item: %00 in the path or the query.
        for path in ("/api/drivers%00.js", "/api/drivers%00", "/api/tests/t-1%00/stop",
                     "/static/app.js%00.png", "/api/tests?limit=5%00"):
            expect(p, f"GET {path}", f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 400,
                   ["%00"])
        expect(p, "GET /api/drivers%2500", b"GET /api/drivers%2500 HTTP/1.1\r\nHost: x\r\n"
               b"Connection: close\r\n\r\n", 404)
        raw = expect(p, "GET /api/%64rivers", b"GET /api/%64rivers HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n", 200)
        check("drivers" in (json_body(raw) or {}), f"escapes no longer decode: {raw[:200]!r}")

        # Item: libmicrohttpd's own error replies.
        for what, data, status in (
                ("Content-Length: 12x", post(b"Content-Length: 12x\r\n"), 400),
                ("Content-Length: -1", post(b"Content-Length: -1\r\n"), 400),
                ("Content-Length: 2^64", post(b"Content-Length: 18446744073709551616\r\n"), 413),
                ("request line with 4 parts", b"GET / HTTP/1.1 x\r\nHost: x\r\n\r\n", 400)):
            raw = expect(p, f"library reply to {what}", data, status)
            blocks = raw.count(b"\r\nDate: ")
            log(f"  {what}: {blocks} header block(s) on the wire: {raw[:90]!r}...")

        # Still serving, keep-alive intact.
        s = socket.create_connection(("127.0.0.1", p), timeout=5)
        for _ in range(2):
            s.sendall(b"GET /api/drivers HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while b"}" not in got:
                got += s.recv(4096)
            check(responses(got) == [200], f"keep-alive: {got[:100]!r}")
        s.close()
        check(orch.alive(), "the orchestrator died")


if __name__ == "__main__":
    run_test(main)
