"""target-server: garbage on the socket is refused and the server goes on.

A malformed request line, an unknown HTTP version, binary junk, 1 MB of
headers, 20,000 headers, a 100 KB URL, a broken chunked body, a body cut
short, connections reset mid-request, a client that drips a request one byte
at a time and then leaves: each is refused (an error status or a closed
connection, never a 200) and a normal /ping works right after. A slow client
does not hold up the others, and --timeout closes stalled and idle
connections. At the end the counters add up and no connection is left."""

import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dlt import Cluster, check, get_json, http, log, run_test, wait_until  # noqa: E402
from rawhttp import exchange, parse_one  # noqa: E402


def ping_ok(t, what):
    t0 = time.monotonic()
    status, _, body = http("GET", t.url + "/ping", timeout=10)
    check(status == 200 and body == b"OK", f"after {what}: /ping -> {status} {body!r}")
    check(t.alive(), f"target-server died after {what}")
    return time.monotonic() - t0


def refused(t, what, data, read_timeout=5):
    reply = exchange(t.port, data, read_timeout=read_timeout)
    status = None
    if reply:
        try:
            p = parse_one(reply)
            status = p[0] if p else None
        except ValueError:
            status = "unparsable"
    log(f"{what}: {len(data)} bytes -> {status if reply else 'closed without a reply'}")
    check(not reply or (isinstance(status, int) and status >= 400),
          f"{what}: answered {reply[:80]!r}")
    ping_ok(t, what)
    return status


def drip(t):
    """One byte every 20 ms for about 1.5 s, never finishing the request;
    meanwhile other clients are served at once. Then the dripper leaves."""
    s = socket.create_connection(("127.0.0.1", t.port), timeout=5)
    partial = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 60
    worst = 0.0
    for i, byte in enumerate(partial[:75]):
        s.send(bytes([byte]))
        time.sleep(0.02)
        if i % 10 == 0:
            worst = max(worst, ping_ok(t, "dripping"))
    s.close()
    log(f"drip: 75 bytes over {75 * 0.02:.1f}s; other clients' worst /ping took "
        f"{worst * 1000:.1f} ms")
    check(worst < 1.0, f"a /ping took {worst:.2f}s while one client dripped")
    ping_ok(t, "a dripping client leaving")


def resets(t, n=200):
    """n connections send half a request and reset (RST, not FIN)."""
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", t.port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.send(b"GET /ping HTTP/1.1\r\nHost: x\r\n" if i % 2 else b"POST /ping HTTP/1.1\r\n"
               b"Host: x\r\nContent-Length: 1000\r\n\r\nabc")
        socks.append(s)
    time.sleep(0.2)
    for s in socks:
        s.close()
    ping_ok(t, f"{n} connections reset mid-request")


def main():
    rnd = random.Random(1)
    with Cluster() as c:
        t = c.target()
        refused(t, "malformed request line", b"GARBAGE\r\n\r\n")
        refused(t, "request line without version", b"GET /ping\r\n\r\n")
        refused(t, "unknown HTTP version", b"GET /ping HTTP/9.9\r\nHost: x\r\n\r\n")
        refused(t, "binary junk", rnd.randbytes(8192))
        refused(t, "NUL bytes", b"\x00" * 4096, read_timeout=1)
        refused(t, "1 MB of headers",
                b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Fill: " + b"a" * (1 << 20) + b"\r\n\r\n")
        refused(t, "20,000 headers",
                b"GET /ping HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 20000 + b"\r\n")
        refused(t, "a 100 KB URL", b"GET /ping?" + b"q" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        refused(t, "header without a colon", b"GET /ping HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n")
        refused(t, "bad chunk size", b"POST /ping HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
        refused(t, "bad Content-Length", b"POST /ping HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: -5\r\n\r\nhello")
        refused(t, "huge Content-Length", b"POST /ping HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: 99999999999999999999999\r\n\r\nhello")

        # A body cut short: the request was counted, it is then aborted.
        before = get_json(t.url + "/metrics")
        reply = exchange(t.port, b"POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                         b"\r\n0123456789", read_timeout=0.3)
        check(reply == b"", f"a body cut short was answered: {reply[:80]!r}")
        m = wait_until(lambda: (lambda m: m if m["total_aborted"] == before["total_aborted"] + 1
                                else None)(get_json(t.url + "/metrics")),
                       timeout=10, what="the cut-short request to count as aborted")
        check(m["in_flight"] == 0, f"after a cut-short body: {m}")

        # HTTP/1.0 without Host is valid; pipelined requests are answered in order.
        reply = exchange(t.port, b"GET /ping HTTP/1.0\r\n\r\n")
        check(reply.startswith(b"HTTP/1") and parse_one(reply)[0] == 200, f"HTTP/1.0: {reply!r}")
        reply = exchange(t.port, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n" * 2 +
                         b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        statuses = []
        buf = reply
        while buf:
            p = parse_one(buf)
            if not p:
                break
            statuses.append(p[0])
            buf = buf[p[3]:]
        check(statuses == [200, 200, 404], f"pipelined: {statuses}")

        # Connections that open and close at once, and resets mid-request.
        for _ in range(200):
            socket.create_connection(("127.0.0.1", t.port), timeout=5).close()
        ping_ok(t, "200 empty connections")
        resets(t)
        drip(t)

        m = wait_until(lambda: (lambda m: m if m["connections"] <= 1 else None)(
            get_json(t.url + "/metrics")), timeout=15, what="every connection to close")
        check(m["in_flight"] == 0, f"in flight at the end: {m}")
        check(m["total_requests"] == m["total_responses"] + m["total_aborted"],
              f"counts do not add up: {m}")
        log(f"final counters: {m}")

    # --timeout: a client stalled mid-request, and an idle keep-alive
    # connection, are both closed by the server.
    with Cluster() as c:
        t = c.target("--timeout", "1")
        stalled = socket.create_connection(("127.0.0.1", t.port), timeout=8)
        stalled.send(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
        idle = socket.create_connection(("127.0.0.1", t.port), timeout=8)
        idle.send(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        first = idle.recv(4096)
        check(parse_one(first)[0] == 200, f"idle connection's first answer {first!r}")
        t0 = time.monotonic()
        for name, s in (("stalled", stalled), ("idle", idle)):
            try:
                got = s.recv(4096)
            except ConnectionResetError:
                got = b""
            took = time.monotonic() - t0
            check(got == b"", f"{name} connection got {got!r}")
            log(f"{name} connection closed by the server after {took:.1f}s")
            check(took < 6, f"{name} connection lived {took:.1f}s with --timeout 1")
            s.close()
        ping_ok(t, "timeouts")


if __name__ == "__main__":
    run_test(main)
