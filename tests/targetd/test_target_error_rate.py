"""target-server: --error-rate answers 500 to the right fraction of /ping.

P = 0.1 over 5000 requests: the number of 500s is within the binomial
5-sigma bound (500 +- 106), /metrics total_errors matches exactly and
total_responses counts them. P = 0 never fails, P = 1 always does, and
--seed makes the sequence of answers repeat (one thread, one connection,
requests in order) while another seed changes it."""

import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dlt import Cluster, check, get_json, log, run_test  # noqa: E402
from rawhttp import close_all, closed_loop, connect_many, request  # noqa: E402


def run(c, extra, n, conns=50):
    t = c.target(*extra)
    socks = connect_many(t.port, conns)
    try:
        out = closed_loop(socks, n, request("GET"))
    finally:
        close_all(socks)
    m = get_json(t.url + "/metrics")
    t.stop()
    return out, m


def rate(c, p, n):
    out, m = run(c, ["--error-rate", str(p)], n)
    fails = out.status.get(500, 0)
    check(set(out.status) <= {200, 500}, f"statuses {out.status}")
    check(out.count == n, f"{out.count} answers of {n}")
    sigma = math.sqrt(n * p * (1 - p))
    lo, hi = n * p - 5 * sigma, n * p + 5 * sigma
    log(f"P={p}: {fails} of {n} failed (expected {n * p:.0f}, 5 sigma [{lo:.0f}, {hi:.0f}])")
    check(lo <= fails <= hi, f"P={p}: {fails} of {n} failed, outside [{lo:.0f}, {hi:.0f}]")
    check(m["total_errors"] == fails, f"total_errors {m['total_errors']} != {fails} seen")
    check(m["total_requests"] == n and m["total_responses"] == n, f"counts {m}")
    for (status, body), _ in out.bodies.items():
        if status == 200:
            check(body == b"OK", f"200 body {body!r}")
        else:
            check(isinstance(json.loads(body).get("error"), str), f"500 body {body!r}")
    return fails


def sequence(c, seed, n=300):
    out, _ = run(c, ["--error-rate", "0.5", "--seed", str(seed)], n, conns=1)
    check(out.count == n, f"{out.count} answers")
    # One connection, one request at a time: the order of answers is the
    # order of draws.
    return tuple(s for s in out.statuses)


def main():
    with Cluster() as c:
        rate(c, 0.1, 5000)
        check(rate(c, 0.0, 1000) == 0, "P=0 failed some requests")
        check(rate(c, 1.0, 1000) == 1000, "P=1 let some through")
        rate(c, 0.5, 2000)
        a = sequence(c, 42)
        b = sequence(c, 42)
        d = sequence(c, 43)
        check(a == b, "the same --seed gave different answers")
        check(a != d, "different seeds gave the same 300 answers")
        check(200 in a and 500 in a, "P=0.5 gave one kind of answer only")


if __name__ == "__main__":
    run_test(main)
