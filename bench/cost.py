#!/usr/bin/env python3
"""Cost: what load-driver spends per request and holds in memory, and what
the orchestrator spends while a fleet reports.

    bench/cost.py [--build DIR] [--reps 3] [--conns 64,1000] [--minute 60]
                  [--drivers 8] [--skip-fleet]

1. load-driver --bench (one engine thread, AVALANCHE) against an nginx of
   our own, 300,000 requests at 64 and at 1,000 connections: CPU seconds
   (user + system, from wait4) per million requests, and peak RSS (VmHWM
   from /proc/PID/status, sampled every 20 ms until it exits). wrk -t1 at
   the same connections for reference (paired, back to back).
2. load-orchestrator while 8 load-drivers report: a steady TSUNAMI of
   `minute` seconds (10 ms gap, 100 requests/s per driver, so 800/s in
   all) against target-server, through load-broker. The CPU time of the
   orchestrator, of the broker and of each driver over the RUNNING phase
   (from /proc/PID/stat before and after), as a share of one core, and
   the orchestrator's CPU per metrics report received. Nothing polls the
   API meanwhile, so this is the cost of taking reports and heartbeats,
   merging histograms and storing them.

Medians of --reps. Bounded: about 6 minutes with the defaults, never more
than 25. Results: stdout and bench/results/cost-*.json."""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402


def driver_cost(build, url, c, n):
    rep, r = bl.driver_bench(build, url, {"test_type": "AVALANCHE", "test_message_delay": 0,
                                          "message_count_per_driver": n, "concurrency": c})
    if rep["errors"] or rep["responses_received"] != n:
        raise RuntimeError(f"driver errors: {rep['error_kinds']}")
    return {"cpu_s_per_m": r.cpu * 1e6 / n, "user_s_per_m": r.user * 1e6 / n,
            "sys_s_per_m": r.sys * 1e6 / n, "hwm_mb": (r.hwm_kb or 0) / 1024,
            "rps": n / (rep["elapsed_ms"] / 1000.0)}


def wrk_cost(url, c, secs=3):
    r = bl.run_measured(["wrk", "-t1", f"-c{c}", f"-d{secs}s", url], timeout=secs + 60)
    n = int(re.search(r"(\d+) requests in", r.out).group(1))
    return {"cpu_s_per_m": r.cpu * 1e6 / n, "user_s_per_m": r.user * 1e6 / n,
            "sys_s_per_m": r.sys * 1e6 / n, "hwm_mb": (r.hwm_kb or 0) / 1024,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", r.out).group(1))}


def fleet_cost(cl, secs, n_drivers):
    count = int(secs * 100)
    test_id = cl.start_test({"test_type": "TSUNAMI", "test_message_delay": 0.01,
                             "message_count_per_driver": count, "min_drivers": n_drivers})
    # Wait for RUNNING (polling is light until then), then measure.
    end = time.time() + 30
    while cl.test(test_id)["state"] != "RUNNING":
        if time.time() > end:
            raise TimeoutError("test not RUNNING after 30 s")
        time.sleep(0.05)
    procs = {"orchestrator": cl.orch, "broker": cl.broker,
             **{f"driver{i}": d for i, d in enumerate(cl.drivers)}}
    c0 = {k: p.cpu_s() for k, p in procs.items()}
    t0 = time.time()
    # No API traffic while the test runs: sleep through it, then wait.
    time.sleep(max(0.0, secs - 1.0))
    t = cl.wait_over(test_id, timeout=secs + 60, period=0.1)
    dt = time.time() - t0
    c1 = {k: p.cpu_s() for k, p in procs.items()}
    share = {k: (c1[k] - c0[k]) / dt for k in procs}
    if t["state"] != "COMPLETED":
        raise RuntimeError(f"test ended {t['state']}: {t.get('reason')}")
    drivers = [share[f"driver{i}"] for i in range(n_drivers)]
    # One report per driver per second (report_interval_ms 1000) plus the
    # final one; heartbeats come at the same rate.
    reports = n_drivers * (dt + 1)
    return {"seconds": dt, "orch_share": share["orchestrator"],
            "orch_ms_per_report": (c1["orchestrator"] - c0["orchestrator"]) * 1e3 / reports,
            "broker_share": share["broker"], "driver_share_mean": sum(drivers) / len(drivers),
            "driver_share_max": max(drivers), "orch_hwm_mb": (bl.vm_hwm_kb(cl.orch.pid) or 0) / 1024,
            "responses": t["aggregate"]["responses_received"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--conns", default="64,1000")
    ap.add_argument("--requests", type=int, default=300000)
    ap.add_argument("--minute", type=float, default=60)
    ap.add_argument("--drivers", type=int, default=8)
    ap.add_argument("--skip-fleet", action="store_true")
    args = ap.parse_args()
    bl.deadline(25 * 60)
    bl.ensure_tools({"wrk": "wrk", "nginx": "nginx-light"})
    build = bl.build_dir(args.build)
    m = bl.machine()
    bl.print_machine(m)
    res = {"machine": m, "driver": {}, "fleet": []}
    ng = bl.Nginx()
    try:
        for c in [int(x) for x in args.conns.split(",")]:
            runs = {"driver": [], "wrk": []}
            for rep in range(args.reps):
                runs["driver"].append(driver_cost(build, ng.url, c, args.requests))
                runs["wrk"].append(wrk_cost(ng.url, c))
                bl.log(f"c={c} rep {rep + 1}: driver {runs['driver'][-1]['cpu_s_per_m']:.1f} s/M "
                       f"{runs['driver'][-1]['hwm_mb']:.1f} MB; wrk "
                       f"{runs['wrk'][-1]['cpu_s_per_m']:.1f} s/M")
            res["driver"][c] = runs
    finally:
        ng.stop()
    if not args.skip_fleet:
        target = bl.Target(build)
        cl = None
        try:
            cl = bl.Cluster(build, target.url, args.drivers)
            time.sleep(2)
            for rep in range(args.reps):
                r = fleet_cost(cl, args.minute, args.drivers)
                res["fleet"].append(r)
                bl.log(f"fleet rep {rep + 1}: orchestrator {r['orch_share'] * 100:.1f}% of a core, "
                       f"{r['orch_ms_per_report']:.2f} ms/report; broker "
                       f"{r['broker_share'] * 100:.1f}%; driver {r['driver_share_mean'] * 100:.1f}%")
                time.sleep(1)
        finally:
            if cl:
                cl.stop()
            target.stop()
    m["loadavg_after"] = bl.loadavg()

    def med(runs, k):
        return bl.median([r[k] for r in runs])

    bl.out(f"\n## load-driver, one engine thread, AVALANCHE of {args.requests:,} requests "
           "against nginx (wrk -t1 for reference)\n")
    bl.out("| connections | tool | CPU s per million requests (user + system) | peak RSS (VmHWM) "
           "| requests/s |")
    bl.out("| --- | --- | --- | --- | --- |")
    for c, runs in res["driver"].items():
        for tool in ("driver", "wrk"):
            x = runs[tool]
            bl.out(f"| {c} | {tool} | {med(x, 'user_s_per_m'):.1f} + {med(x, 'sys_s_per_m'):.1f} "
                   f"= {med(x, 'cpu_s_per_m'):.1f} | {med(x, 'hwm_mb'):.1f} MB | "
                   f"{med(x, 'rps'):,.0f} |")
    if res["fleet"]:
        f = res["fleet"]
        bl.out(f"\n## {args.drivers} drivers reporting, TSUNAMI of {args.minute:.0f} s, "
               f"100 requests/s per driver\n")
        bl.out("| orchestrator CPU | per report | orchestrator peak RSS | load-broker CPU "
               "| each driver CPU (mean / max) |")
        bl.out("| --- | --- | --- | --- | --- |")
        bl.out(f"| {med(f, 'orch_share') * 100:.1f}% of a core | {med(f, 'orch_ms_per_report'):.2f} "
               f"ms | {med(f, 'orch_hwm_mb'):.1f} MB | {med(f, 'broker_share') * 100:.1f}% | "
               f"{med(f, 'driver_share_mean') * 100:.1f}% / {med(f, 'driver_share_max') * 100:.1f}% |")
    bl.out(f"\nload average after: {m['loadavg_after']}")
    bl.save_results("cost", res)


if __name__ == "__main__":
    sys.exit(main())
