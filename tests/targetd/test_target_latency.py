"""target-server: delays are accurate and cost no thread.

--delay-ms 20 with 500 keep-alive connections, each round sending one
request on every connection, spread over 20 ms so that all 500 are in flight
together at its end: no answer comes before 20 ms, the median latency seen
by the client is between 20 and 40 ms (a delay taken in the wrong unit,
or a thread blocked per request, shows far outside that; how close to 20 ms
it is, within 2 ms on a quiet machine, is bench/targetd's figure, since a
busy machine delays the server's own timers), and the thread count stays at
--threads + 1 (the main thread) whether 0 or 500 requests wait. The same
with --threads 2, and a uniform 10-30 ms range stays inside its bounds with
a mean near 20 ms. A burst round (500 sent at once) is measured and logged
too: there the server's queueing is part of the latency.

How the client measures: one thread, non-blocking sockets and epoll
(rawhttp.one_round). The send time is read just before send(); the receive
time is the kernel's receive timestamp of the response (SO_TIMESTAMPNS),
so a Python client busy parsing the other 499 responses, or waiting for a
CPU, does not add its own delay to the server's. Latency as the client's
code saw it is logged next to it. On a loaded machine the test can still be
slowed (the server itself descheduled), which only ever adds latency: the
lower bounds (nothing early) are exact, the upper one is wide."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dlt import Cluster, check, get_json, log, run_test  # noqa: E402
from rawhttp import (close_all, connect_many, median, one_round, request,  # noqa: E402
                     threads_of)

CONNS = 500
ROUNDS = 6


def measure(t, threads_expected):
    socks = connect_many(t.port, CONNS)
    lat = []
    user = []
    threads_seen = set()
    try:
        one_round(socks, request("GET"))  # warm-up: connections accepted, buffers sized
        for _ in range(ROUNDS):
            out = one_round(socks, request("GET"), spread=0.020,
                            during=lambda: threads_seen.add(threads_of(t.pid)))
            check(out.bodies == {(200, b"OK"): CONNS}, f"answers {out.bodies}")
            lat += out.latencies
            user += out.user_latencies
    finally:
        close_all(socks)
    check(threads_seen == {threads_expected},
          f"threads with {CONNS} delayed requests: {threads_seen}, expected {threads_expected}")
    log(f"as the client code saw it: median {median(user) * 1000:.2f} ms")
    return sorted(x * 1000 for x in lat)


def burst(t):
    socks = connect_many(t.port, CONNS)
    try:
        one_round(socks, request("GET"))
        out = one_round(socks, request("GET"))
    finally:
        close_all(socks)
    lat = sorted(x * 1000 for x in out.latencies)
    log(f"burst of {CONNS}: min={lat[0]:.2f} p50={median(lat):.2f} max={lat[-1]:.2f} ms")
    check(lat[0] >= 20.0, f"burst: a response came after {lat[0]:.3f} ms")


def fixed_delay(c, threads):
    t = c.target("--delay-ms", "20", "--threads", str(threads))
    idle = threads_of(t.pid)
    check(idle == threads + 1, f"--threads {threads}: {idle} threads when idle")
    lat = measure(t, idle)
    p50 = median(lat)
    p99 = lat[int(len(lat) * 0.99)]
    log(f"--threads {threads}: n={len(lat)} min={lat[0]:.2f} "
        f"p50={p50:.2f} p99={p99:.2f} max={lat[-1]:.2f} ms")
    check(lat[0] >= 20.0, f"a response came {lat[0]:.3f} ms after its request (< 20 ms)")
    check(20.0 <= p50 <= 40.0, f"median {p50:.2f} ms for a 20 ms delay (want 20..40)")
    burst(t)
    m = get_json(t.url + "/metrics")
    check(m["in_flight"] == 0 and m["total_requests"] == m["total_responses"], f"{m}")


def uniform_range(c):
    t = c.target("--delay-ms", "10-30", "--seed", "7")
    lat = measure(t, threads_of(t.pid))
    mean = sum(lat) / len(lat)
    p10 = lat[len(lat) // 10]
    p90 = lat[len(lat) * 9 // 10]
    log(f"10-30 ms: n={len(lat)} min={lat[0]:.2f} p10={p10:.2f} mean={mean:.2f} "
        f"p90={p90:.2f} max={lat[-1]:.2f} ms")
    check(lat[0] >= 10.0, f"a response came after {lat[0]:.3f} ms (< 10 ms)")
    # Uniform on [10, 30]: p10 12, mean 20, p90 28 (the mean's sd over 3000
    # samples is 0.1 ms). Time lost on a busy machine only adds, so the
    # upper sides are wider; a fixed or narrow delay fails the spread.
    check(19.5 <= mean <= 24.5, f"mean {mean:.2f} ms for a 10-30 ms uniform delay")
    check(p10 < 15.5, f"p10 {p10:.2f} ms: too few short delays")
    check(p90 > 26.0, f"p90 {p90:.2f} ms: too few long delays")
    check(p90 - p10 >= 12.0, f"p10..p90 spans {p90 - p10:.2f} ms, not a 10-30 ms spread")


def main():
    with Cluster() as c:
        fixed_delay(c, 1)
    with Cluster() as c:
        fixed_delay(c, 2)
    with Cluster() as c:
        uniform_range(c)


if __name__ == "__main__":
    run_test(main)
