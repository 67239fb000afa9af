#!/usr/bin/env python3
"""Coordination: how long the system takes to start a test, how well its
drivers start together, how long the final aggregate takes to appear, and
how fresh the live figures are, with 2 and with 8 drivers.

    bench/coordination.py [--build DIR] [--reps 3] [--drivers 2,8] [--secs 3]

Starts its own load-broker, load-orchestrator, target-server (no delay)
and N load-drivers, and captures the target's traffic on lo with dumpcap
(every TCP segment with a payload, to or from the target's port). Each
test is a TSUNAMI of `secs` seconds per driver at a 10 ms gap (100
requests/s per driver), started with POST /api/tests, while the test is
polled with GET /api/tests/{id} every 20 ms. Per test:

- POST to first request: from sending the POST to the first request on
  the wire. It includes the orchestrator's --start-delay (500 ms by
  default), the margin it leaves between the trigger and the common
  start_at, which is shown apart.
- start skew: the orchestrator's start_skew_ms (the spread of the
  drivers' first-send times), and the same spread measured on the wire.
- last response to final aggregate: from the last response on the wire to
  the first poll that sees the test COMPLETED with every driver final
  (poll period 20 ms).
- freshness of the live per-driver figures while the test runs: a
  driver's requests_sent (or responses_received) shown at time T is the
  count the driver had reached at first_send + (count - 1) × 10 ms, so its
  age is T minus that (the driver's schedule is exact to well under a
  millisecond, see bench/fidelity.py); also T - updated_ms (when the
  orchestrator last heard from the driver). Median and max over all polls
  and drivers, from the common start_at on (a count still 0 is as old as
  the time since the start).

Medians over --reps tests. Bounded: about 3 minutes with the defaults,
never more than 15. Results: stdout and bench/results/coordination-*.json."""

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402
from fidelity import Capture  # noqa: E402

GAP_MS = 10.0
POLL_S = 0.02


def run_test(cl, target_port, n_drivers, secs):
    count = int(secs * 1000 / GAP_MS)
    cap = Capture(f"tcp port {target_port} and "
                  "(((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0)")
    polls = []
    done = threading.Event()
    try:
        t_post = time.time()
        test_id = cl.start_test({"test_type": "TSUNAMI", "test_message_delay": GAP_MS / 1000.0,
                                 "message_count_per_driver": count, "min_drivers": n_drivers})
        t_end = time.time() + secs + 60
        final_seen = None
        while time.time() < t_end:
            t0 = time.time()
            t = cl.test(test_id)
            t1 = time.time()
            polls.append((t0, t1, t))
            if t["state"] in ("COMPLETED", "PARTIAL", "FAILED", "ABORTED"):
                final_seen = t1
                break
            time.sleep(max(0.0, POLL_S - (time.time() - t0)))
        done.set()
    finally:
        cap.stop()
    rows = cap.fields("frame.time_epoch", "tcp.srcport", "tcp.dstport")
    cap.remove()
    final = polls[-1][2]
    if final["state"] != "COMPLETED":
        raise RuntimeError(f"test {test_id} ended {final['state']}: {final.get('reason')}")
    reqs = sorted(float(r[0]) for r in rows if int(r[2]) == target_port)
    resps = sorted(float(r[0]) for r in rows if int(r[1]) == target_port)
    # The wire's start skew: the first request of each driver. Drivers are
    # told apart by the first request of each connection's source port
    # group, which the capture cannot attribute, so take the spread of the
    # first N connections' first requests instead.
    first_by_port = {}
    for r in rows:
        if int(r[2]) == target_port:
            first_by_port.setdefault(int(r[1]), float(r[0]))
    firsts = sorted(first_by_port.values())[:n_drivers]
    res = {"test_id": test_id,
           "post_to_first_request_ms": (reqs[0] - t_post) * 1e3,
           "post_to_start_at_ms": final["start_at_ms"] - t_post * 1e3,
           "start_at_to_first_request_ms": reqs[0] * 1e3 - final["start_at_ms"],
           "start_skew_ms": final.get("start_skew_ms"),
           "wire_skew_ms": (firsts[-1] - firsts[0]) * 1e3 if len(firsts) == n_drivers else None,
           "last_response_to_final_ms": (final_seen - resps[-1]) * 1e3,
           "requests_on_wire": len(reqs), "responses_on_wire": len(resps),
           "requests_expected": count * n_drivers}
    ages_sent, ages_recv, ages_upd = [], [], []
    for t0, t1, t in polls:
        if t["state"] != "RUNNING":
            continue
        now_ms = t1 * 1e3
        for d in t.get("per_driver", []):
            # Until its first report the orchestrator does not know when a
            # driver sent its first request: the common start_at stands in
            # (the drivers start within a millisecond of it, see the skew).
            base = d.get("first_send_ms") or t.get("start_at_ms")
            if d.get("final") or not base or now_ms < base:
                continue
            s, rcv = d.get("requests_sent", 0), d.get("responses_received", 0)
            # A count of k was reached at base + (k - 1) × gap; a count of 0
            # is as old as the time since the start.
            if s < count:
                ages_sent.append(now_ms - (base + (s - 1) * GAP_MS if s else base))
            if rcv < count:
                ages_recv.append(now_ms - (base + (rcv - 1) * GAP_MS if rcv else base))
            if d.get("updated_ms"):
                ages_upd.append(now_ms - d["updated_ms"])
    for name, xs in (("sent", ages_sent), ("recv", ages_recv), ("updated", ages_upd)):
        res[f"age_{name}_median_ms"] = bl.median(xs)
        res[f"age_{name}_max_ms"] = max(xs) if xs else None
        res[f"age_{name}_n"] = len(xs)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--drivers", default="2,8")
    ap.add_argument("--secs", type=float, default=3)
    args = ap.parse_args()
    bl.deadline(15 * 60)
    bl.ensure_tools({"dumpcap": "tshark", "tshark": "tshark"})
    build = bl.build_dir(args.build)
    m = bl.machine()
    bl.print_machine(m)
    res = {"machine": m, "runs": {}}
    for n in [int(x) for x in args.drivers.split(",")]:
        target = bl.Target(build)
        cl = None
        try:
            cl = bl.Cluster(build, target.url, n)
            time.sleep(2)  # heartbeats settle
            runs = []
            for rep in range(args.reps):
                r = run_test(cl, target.port, n, args.secs)
                runs.append(r)
                bl.log(f"{n} drivers rep {rep + 1}: POST->first {r['post_to_first_request_ms']:.0f}"
                       f" ms, skew {r['start_skew_ms']} ms, last->final "
                       f"{r['last_response_to_final_ms']:.0f} ms, sent age median "
                       f"{r['age_sent_median_ms']} max {r['age_sent_max_ms']}")
                time.sleep(1)
            res["runs"][n] = runs
        finally:
            if cl:
                cl.stop()
            target.stop()
    m["loadavg_after"] = bl.loadavg()

    def med(runs, k):
        return bl.median([r[k] for r in runs])

    def f(x, nd=0):
        return "-" if x is None else f"{x:,.{nd}f}"

    bl.out("\n| drivers | POST → first request | of which POST → start_at | start_at → first "
           "request | start skew (orchestrator / wire) | last response → final aggregate "
           "| age of live requests_sent (median / max) | age of live responses_received "
           "(median / max) | since last heard (median / max) |")
    bl.out("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n, runs in res["runs"].items():
        bl.out(f"| {n} | {f(med(runs, 'post_to_first_request_ms'))} ms | "
               f"{f(med(runs, 'post_to_start_at_ms'))} ms | "
               f"{f(med(runs, 'start_at_to_first_request_ms'), 1)} ms | "
               f"{f(med(runs, 'start_skew_ms'), 1)} / {f(med(runs, 'wire_skew_ms'), 1)} ms | "
               f"{f(med(runs, 'last_response_to_final_ms'))} ms | "
               f"{f(med(runs, 'age_sent_median_ms'))} / {f(med(runs, 'age_sent_max_ms'))} ms | "
               f"{f(med(runs, 'age_recv_median_ms'))} / {f(med(runs, 'age_recv_max_ms'))} ms | "
               f"{f(med(runs, 'age_updated_median_ms'))} / {f(med(runs, 'age_updated_max_ms'))} "
               f"ms |")
    bl.out("\nmax columns: the median over tests of each test's largest age.")
    bl.out(f"load average after: {m['loadavg_after']}")
    bl.save_results("coordination", res)


if __name__ == "__main__":
    sys.exit(main())
