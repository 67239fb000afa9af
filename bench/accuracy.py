#!/usr/bin/env python3
"""Accuracy: do load-driver's latency figures agree with wrk's where they
should, and differ where wrk is wrong?

    bench/accuracy.py [--build DIR] [--reps 3] [--conns 50] [--secs 10]

1. Fixed delay. target-server --delay-ms 20; load-driver (AVALANCHE,
   `concurrency` C) and wrk -t1 -cC, both closed loops over the same
   number of connections, so they run at the same rate (about C / 20 ms).
   The median and p99 of each, and the driver's service time.
2. A 1 s stall. target-server --delay-ms 20 is stopped (SIGSTOP) 3 s into
   the run and resumed (SIGCONT) 1 s later. load-driver runs a TSUNAMI at
   a constant 500 requests/s (at most 25 in flight) and reports latency
   from each request's due time (corrected for coordinated omission) and
   service time from its actual send. wrk -t1 runs with 10 connections
   (about the same 500 requests/s) and with 25 (the same connections);
   being a closed loop it sends nothing while its connections wait, so
   the requests that would have been due during the stall are never made
   and never measured (coordinated omission).

Each repetition runs the tools back to back (paired); medians of --reps.
Bounded: about 4 minutes with the defaults, never more than 15. Results:
stdout and bench/results/accuracy-*.json."""

import argparse
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402

STALL_AT, STALL_S = 3.0, 1.0
RATE, INFLIGHT = 500, 25


def wrk_ms(text, key):
    """A latency of wrk's output in ms: key '50%', '99%' (--latency) or
    'Max' (the thread-stats line)."""
    if key == "Max":
        m = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", text)
        v = m.group(1) if m else None
    else:
        m = re.search(r"^\s*" + re.escape(key) + r"\s+(\S+)", text, re.M)
        v = m.group(1) if m else None
    if not v:
        return None
    num, unit = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(num) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def run_wrk(url, c, secs, stall_pid=None):
    stall = Staller(stall_pid) if stall_pid else None
    r = bl.run_measured(["wrk", "-t1", f"-c{c}", f"-d{secs}s", "--timeout", "10s", "--latency",
                         url], timeout=secs + 60, on_start=stall.start if stall else None)
    if stall:
        stall.join()
    return {"p50": wrk_ms(r.out, "50%"), "p99": wrk_ms(r.out, "99%"),
            "max": wrk_ms(r.out, "Max"),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", r.out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", r.out).group(1)),
            "errors": re.findall(r"(Socket errors:.*|Non-2xx.*)", r.out)}


def run_driver(build, url, config, stall_pid=None):
    stall = Staller(stall_pid) if stall_pid else None
    rep, r = bl.driver_bench(build, url, config, on_start=stall.start if stall else None)
    if stall:
        stall.join()
    # Latencies are seconds in a report; these figures are milliseconds.
    lat = {k: v * 1000.0 for k, v in rep["metrics"].items()}
    svc = {k: v * 1000.0 for k, v in rep.get("service_metrics", {}).items()}
    return {"p50": lat["median_latency"], "p99": lat["p99_latency"],
            "p999": lat["p999_latency"], "max": lat["max_latency"],
            "svc_p50": svc.get("median_latency"), "svc_p99": svc.get("p99_latency"),
            "svc_p999": svc.get("p999_latency"), "svc_max": svc.get("max_latency"),
            "rps": rep["responses_received"] / (rep["elapsed_ms"] / 1000.0),
            "requests": rep["responses_received"], "errors": rep["errors"],
            "late": rep.get("late")}


class Staller:
    """Stops a process STALL_AT seconds after start(), for STALL_S seconds."""

    def __init__(self, pid):
        self.pid = pid
        self.t = None

    def start(self, _tool_pid):
        def go():
            time.sleep(STALL_AT)
            os.kill(self.pid, signal.SIGSTOP)
            try:
                time.sleep(STALL_S)
            finally:
                os.kill(self.pid, signal.SIGCONT)
        self.t = threading.Thread(target=go, daemon=True)
        self.t.start()

    def join(self):
        if self.t:
            self.t.join()


def fmt(x, nd=1):
    return "-" if x is None else f"{x:,.{nd}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--conns", default="50")
    ap.add_argument("--secs", type=int, default=10)
    args = ap.parse_args()
    bl.deadline(15 * 60)
    bl.ensure_tools({"wrk": "wrk"})
    build = bl.build_dir(args.build)
    m = bl.machine()
    bl.print_machine(m)
    res = {"machine": m, "fixed": {}, "stall": {}}
    secs = args.secs

    # 1. Fixed 20 ms delay, closed loop on both sides.
    for c in [int(x) for x in args.conns.split(",")]:
        t = bl.Target(build, "--delay-ms", "20")
        runs = {"driver": [], "wrk": []}
        try:
            for rep in range(args.reps):
                n = int(c * (1000 / 20.3) * secs)
                for tool in (["driver", "wrk"] if rep % 2 == 0 else ["wrk", "driver"]):
                    if tool == "driver":
                        runs["driver"].append(run_driver(build, t.url, {
                            "test_type": "AVALANCHE", "test_message_delay": 0,
                            "message_count_per_driver": n, "concurrency": c}))
                    else:
                        runs["wrk"].append(run_wrk(t.url, c, secs))
                bl.log(f"20 ms, c={c}, rep {rep + 1}: driver p50 {runs['driver'][-1]['p50']} "
                       f"p99 {runs['driver'][-1]['p99']}; wrk p50 {runs['wrk'][-1]['p50']} "
                       f"p99 {runs['wrk'][-1]['p99']}")
        finally:
            t.stop()
        res["fixed"][c] = runs

    # 2. A 1 s stall in a constant-rate run.
    t = bl.Target(build, "--delay-ms", "20")
    runs = {"driver": [], "wrk10": [], "wrk25": []}
    try:
        for rep in range(args.reps):
            order = ["driver", "wrk10", "wrk25"]
            order = order[rep % 3:] + order[:rep % 3]
            for tool in order:
                if tool == "driver":
                    runs["driver"].append(run_driver(build, t.url, {
                        "test_type": "TSUNAMI", "test_message_delay": 1.0 / RATE,
                        "message_count_per_driver": RATE * secs, "concurrency": INFLIGHT},
                        stall_pid=t.pid))
                else:
                    runs[tool].append(run_wrk(t.url, int(tool[3:]), secs, stall_pid=t.pid))
                time.sleep(0.5)
            bl.log(f"stall rep {rep + 1}: driver p99 {runs['driver'][-1]['p99']} "
                   f"(service {runs['driver'][-1]['svc_p99']}); wrk -c10 p99 "
                   f"{runs['wrk10'][-1]['p99']}, -c25 p99 {runs['wrk25'][-1]['p99']}")
    finally:
        t.stop()
    res["stall"] = runs
    m["loadavg_after"] = bl.loadavg()

    def med(runs, k):
        return bl.median([r.get(k) for r in runs])

    bl.out("\n## target-server --delay-ms 20, closed loop, same connections (ms)\n")
    bl.out("| connections | tool | requests/s | p50 | p99 | service p50 | service p99 "
           "| driver ÷ wrk p50 | driver ÷ wrk p99 |")
    bl.out("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for c, runs in res["fixed"].items():
        d, w = runs["driver"], runs["wrk"]
        r50 = bl.median([a["p50"] / b["p50"] for a, b in zip(d, w)])
        r99 = bl.median([a["p99"] / b["p99"] for a, b in zip(d, w)])
        bl.out(f"| {c} | driver | {fmt(med(d, 'rps'), 0)} | {fmt(med(d, 'p50'), 2)} | "
               f"{fmt(med(d, 'p99'), 2)} | {fmt(med(d, 'svc_p50'), 2)} | "
               f"{fmt(med(d, 'svc_p99'), 2)} | {r50:.3f} | {r99:.3f} |")
        bl.out(f"| {c} | wrk | {fmt(med(w, 'rps'), 0)} | {fmt(med(w, 'p50'), 2)} | "
               f"{fmt(med(w, 'p99'), 2)} | | | | |")
    bl.out(f"\n## 1 s stall (SIGSTOP at {STALL_AT:.0f} s) in a {secs} s run, "
           "target-server --delay-ms 20 (ms)\n")
    bl.out("| tool | requests/s | requests | p50 | p99 | p99.9 | max |")
    bl.out("| --- | --- | --- | --- | --- | --- | --- |")
    d = res["stall"]["driver"]
    bl.out(f"| driver, TSUNAMI {RATE}/s, latency from the due time | {fmt(med(d, 'rps'), 0)} | "
           f"{fmt(med(d, 'requests'), 0)} | {fmt(med(d, 'p50'))} | {fmt(med(d, 'p99'))} | "
           f"{fmt(med(d, 'p999'))} | {fmt(med(d, 'max'))} |")
    bl.out(f"| driver, same run, service time (from the send) | | | {fmt(med(d, 'svc_p50'))} | "
           f"{fmt(med(d, 'svc_p99'))} | {fmt(med(d, 'svc_p999'))} | {fmt(med(d, 'svc_max'))} |")
    for k, label in (("wrk10", "wrk -c10 (same rate)"), ("wrk25", "wrk -c25 (same connections)")):
        w = res["stall"][k]
        bl.out(f"| {label} | {fmt(med(w, 'rps'), 0)} | {fmt(med(w, 'requests'), 0)} | "
               f"{fmt(med(w, 'p50'))} | {fmt(med(w, 'p99'))} | - | {fmt(med(w, 'max'))} |")
    bl.out(f"\ndriver late sends (more than 1 ms after due), median: {fmt(med(d, 'late'), 0)}")
    bl.out(f"load average after: {m['loadavg_after']}")
    bl.save_results("accuracy", res)


if __name__ == "__main__":
    sys.exit(main())
