"""target-server: the counters are exact under concurrency.

2000 requests over 100 keep-alive connections (GET and POST mixed), then
total_requests == total_responses == 2000 and in_flight == 0, every answer
200 "OK". The same with a thread pool and random delays (requests suspended
and resumed across threads), and 2000 connections each holding one request
in flight at once: in_flight reaches exactly 2000 while the thread count
does not move."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dlt import Cluster, check, get_json, log, run_test, wait_until  # noqa: E402
from rawhttp import (close_all, closed_loop, connect_many, one_round, request,  # noqa: E402
                     threads_of)


def exact_counts(c, extra, n_conn=100, total=2000):
    t = c.target(*extra)
    socks = connect_many(t.port, n_conn)
    try:
        half = total // 2
        out = closed_loop(socks, half, request("GET"))
        out2 = closed_loop(socks, total - half, request("POST", body=b"payload" * 20))
    finally:
        close_all(socks)
    for o in (out, out2):
        check(o.bodies == {(200, b"OK"): o.count}, f"{extra}: answers {o.bodies}")
    check(out.count + out2.count == total, f"{extra}: {out.count + out2.count} answers")
    m = wait_until(lambda: (lambda m: m if m["connections"] <= 1 else None)(
        get_json(t.url + "/metrics")), timeout=10, what="connections to close")
    check(m["total_requests"] == total and m["total_responses"] == total,
          f"{extra}: counters {m} after {total}")
    check(m["in_flight"] == 0 and m["total_aborted"] == 0 and m["total_errors"] == 0,
          f"{extra}: {m}")
    log(f"{extra}: {total} requests over {n_conn} connections counted exactly")
    rc = t.stop()
    check(rc == 0, f"exit {rc}")


def many_in_flight(c, n=2000, delay_ms=1500):
    """n requests suspended at once cost no thread."""
    t = c.target("--delay-ms", str(delay_ms))
    idle_threads = threads_of(t.pid)
    socks = connect_many(t.port, n)
    seen = {}

    def observe():
        # All n are sent; the delay is long enough to look at them in flight.
        m = wait_until(lambda: (lambda m: m if m["in_flight"] == n else None)(
            get_json(t.url + "/metrics")), timeout=delay_ms / 1000 * 0.8,
            interval=0.02, what=f"in_flight == {n}")
        seen["metrics"] = m
        seen["threads"] = threads_of(t.pid)

    try:
        t0 = time.monotonic()
        out = one_round(socks, request("GET"), timeout=60, during=observe)
        elapsed = time.monotonic() - t0
    finally:
        close_all(socks)
    check(out.bodies == {(200, b"OK"): n}, f"answers {out.bodies}")
    m = seen["metrics"]
    check(m["total_requests"] == n and m["total_responses"] == 0,
          f"while delayed: {m}")
    check(seen["threads"] == idle_threads,
          f"threads went from {idle_threads} idle to {seen['threads']} with {n} in flight")
    check(min(out.latencies) >= delay_ms / 1000, f"answered early: {min(out.latencies)}")
    log(f"{n} in flight on {seen['threads']} threads; round took {elapsed:.2f}s")
    m = get_json(t.url + "/metrics")
    check(m["total_responses"] == n and m["in_flight"] == 0, f"after the round: {m}")


def main():
    with Cluster() as c:
        exact_counts(c, [])
        exact_counts(c, ["--threads", "2", "--delay-ms", "0-3"])
        exact_counts(c, ["--threads", "3", "--delay-ms", "1"], n_conn=300, total=3000)
    with Cluster() as c:
        many_in_flight(c)


if __name__ == "__main__":
    run_test(main)
