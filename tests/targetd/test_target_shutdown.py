"""target-server: clean stops, and stalls.

SIGTERM with 50 requests waiting on a 3 s delay answers all 50 at once
(200 "OK", "Connection: close") and exits 0 well before the delay would
have ended; an idle keep-alive connection is closed. A request stuck
mid-upload is given --grace, then closed, and the exit status is still 0.
SIGSTOP/SIGCONT (as the driver's tests do) loses nothing: requests sent
while the server is stopped, and timers due meanwhile, are all answered."""

import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dlt import Cluster, check, get_json, log, run_test, wait_until  # noqa: E402
from rawhttp import close_all, connect_many, one_round, parse_one, request  # noqa: E402


def in_flight(url, n):
    return wait_until(lambda: (lambda m: m if m["in_flight"] == n else None)(
        get_json(url + "/metrics")), timeout=10, interval=0.02, what=f"in_flight == {n}")


def term_answers_delayed(c):
    t = c.target("--delay-ms", "3000")
    socks = connect_many(t.port, 50)
    idle = socket.create_connection(("127.0.0.1", t.port), timeout=10)
    idle.sendall(request("GET", "/metrics"))
    check(parse_one(idle.recv(65536))[0] == 200, "idle connection's first request")
    try:
        for s in socks:
            s.setblocking(True)
            s.settimeout(10)
            s.sendall(request("GET"))
        in_flight(t.url, 50)
        t0 = time.monotonic()
        t.signal(signal.SIGTERM)
        for s in socks:
            buf = b""
            while parse_one(buf) is None:
                chunk = s.recv(65536)
                check(chunk, "connection closed without an answer at shutdown")
                buf += chunk
            status, headers, body, _ = parse_one(buf)
            check(status == 200 and body == b"OK", f"answer at shutdown {status} {body!r}")
            check(headers.get("connection", "").lower() == "close",
                  f"no Connection: close at shutdown: {headers}")
        answered = time.monotonic() - t0
        rc = t.p.wait(10)
        took = time.monotonic() - t0
        check(idle.recv(4096) == b"", "the idle connection was left open")
    finally:
        close_all(socks)
        idle.close()
    log(f"SIGTERM: 50 delayed requests answered in {answered * 1000:.0f} ms, exit {rc} "
        f"after {took * 1000:.0f} ms")
    check(rc == 0, f"exit status {rc}")
    check(took < 2.0, f"stopping took {took:.2f}s with a 3 s delay pending")
    check("answering 50 delayed requests now" in t.stderr_text(), "no log line for early answers")


def grace_expires(c):
    t = c.target("--grace", "500ms")
    s = socket.create_connection(("127.0.0.1", t.port), timeout=10)
    s.sendall(b"POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly part")
    in_flight(t.url, 1)
    t0 = time.monotonic()
    t.signal(signal.SIGTERM)
    rc = t.p.wait(10)
    took = time.monotonic() - t0
    s.close()
    log(f"--grace 500ms with a stuck upload: exit {rc} after {took * 1000:.0f} ms")
    check(rc == 0, f"exit status {rc}")
    check(0.4 <= took < 3.0, f"stopped after {took:.2f}s with --grace 500ms")
    check("1 requests still under way" in t.stderr_text(), "no warning about the stuck request")


def stop_and_continue(c):
    t = c.target("--delay-ms", "50", "--threads", "2")
    socks = connect_many(t.port, 20)
    try:
        one_round(socks, request("GET"))
        t.signal(signal.SIGSTOP)
        t0 = time.monotonic()
        # Requests sent to a stopped server; timers due while it sleeps.
        def resume_later():
            time.sleep(0.5)
            t.signal(signal.SIGCONT)

        th = threading.Thread(target=resume_later)
        th.start()
        out = one_round(socks, request("GET"), timeout=20)
        th.join()
        took = time.monotonic() - t0
    finally:
        close_all(socks)
    check(out.bodies == {(200, b"OK"): 20}, f"after SIGCONT: {out.bodies}")
    check(took >= 0.5, "answered while stopped?")
    m = get_json(t.url + "/metrics")
    check(m["total_requests"] == 40 and m["total_responses"] == 40 and m["in_flight"] == 0,
          f"after SIGSTOP/SIGCONT: {m}")
    log(f"SIGSTOP 0.5s: 20 requests answered {took * 1000:.0f} ms after they were sent")


def main():
    with Cluster() as c:
        term_answers_delayed(c)
    with Cluster() as c:
        grace_expires(c)
    with Cluster() as c:
        stop_and_continue(c)


if __name__ == "__main__":
    run_test(main)
