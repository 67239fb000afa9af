#!/usr/bin/env python3
"""Stages: does the achieved rate follow the requested curve, second by
second, counted at the server?

    bench/stages.py [--build DIR] [--peak 4000] [--scale 1.0]

A TSUNAMI with three stages, fleet-wide: a ramp from 0 to PEAK requests/s
over 10 s, PEAK for 10 s, and down to PEAK/4 over 5 s (durations times
--scale). nginx logs the time of every request it answers ($msec), and the
run is cut into one-second intervals from the start of the first stage.
For each interval, the requests the curve asks for (the area under it) are
compared with the requests nginx answered. The goal: within 1% in every
interval that asks for at least 500 requests (below that, one request is
over 0.2%, and the millisecond resolution of the log is felt).

Three layouts of the same fleet-wide curve:
- one load-driver with one engine thread;
- one load-driver with two engine threads (they take turns, request by
  request);
- the whole system: load-broker, load-orchestrator and two load-drivers,
  the test sent to POST /api/tests; each driver takes every other request
  of the fleet's, from the orchestrator's common start (start_at_ms, from
  which the intervals are counted).

Bounded: each run lasts the stages (25 s at --scale 1) plus at most 60 s;
the whole bench about 1.5 minutes. Results: stdout and
bench/results/stages-*.json."""

import argparse
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402


def stages_of(peak, scale):
    return [{"duration": 10 * scale, "target": peak},
            {"duration": 10 * scale, "target": peak},
            {"duration": 5 * scale, "target": peak / 4}]


def area(stages, t):
    """Requests the curve asks for over [0, t]."""
    a, t0, lvl = 0.0, 0.0, 0.0
    for st in stages:
        d, l1 = st["duration"], st["target"]
        if t <= t0:
            break
        x = min(t - t0, d)
        a += lvl * x + (l1 - lvl) * x * x / (2 * d)
        t0 += d
        lvl = l1
    return a


def run_fleet(build, ng, cfg, n=2):
    """The whole system: load-broker, load-orchestrator and n load-drivers;
    the test through POST /api/tests. Returns (per-driver figures, start
    epoch s): the orchestrator's common start_at."""
    cl = bl.Cluster(build, ng.url, n)
    try:
        body = {k: v for k, v in cfg.items() if k != "test_id"}
        tid = cl.start_test(dict(body, min_drivers=n))
        total = sum(st["duration"] for st in cfg["stages"]) + 60
        t = cl.wait_over(tid, timeout=total)
    finally:
        cl.stop()
    if t["state"] != "COMPLETED":
        raise RuntimeError(f"test {tid} ended {t['state']}: {t.get('reason')}")
    return t["per_driver"], t["start_at_ms"] / 1000


def run_one(build, ng, cfg, threads):
    """One load-driver --bench. Returns ([report], start epoch s): its first
    request is the start of the curve."""
    argv = [bl.binary(build, "load-driver"), "--target", ng.url, "--log-level", "warn",
            "--db", os.path.join(bl.WORK, "bench-unused.db"), "--threads", str(threads),
            "--bench", json.dumps(cfg)]
    total = sum(st["duration"] for st in cfg["stages"]) + 60
    r = subprocess.run(argv, capture_output=True, text=True, timeout=total)
    if r.returncode != 0:
        raise RuntimeError(f"load-driver exit {r.returncode}: {r.stderr[-400:]}")
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    return [rep], rep["first_send_ms"] / 1000


def judge(stages, times, t0, min_asked):
    """Per one-second interval from t0: (second, asked, served, deviation)."""
    end = sum(st["duration"] for st in stages)
    rows = []
    for s in range(int(math.ceil(end))):
        hi = min(s + 1, end)
        asked = area(stages, hi) - area(stages, s)
        served = sum(1 for x in times if t0 + s <= x < t0 + hi)
        dev = served / asked - 1 if asked > 0 else None
        rows.append({"second": s, "asked": round(asked, 1), "served": served,
                     "deviation": dev, "judged": asked >= min_asked})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build")
    ap.add_argument("--peak", type=float, default=4000)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--min-asked", type=float, default=500)
    a = ap.parse_args()
    build = bl.build_dir(a.build)
    bl.deadline(15 * 60)
    bl.raise_nofile()
    m = bl.machine()
    bl.print_machine(m)
    stages = stages_of(a.peak, a.scale)
    cfg = {"test_id": "bench-stages", "test_type": "TSUNAMI", "stages": stages,
           "timeout_ms": 5000}
    results = {"machine": m, "stages": stages, "runs": []}
    worst_all = 0.0
    for layout in ("1 thread", "2 threads", "fleet"):
        ng = bl.Nginx(bl.private_loopback(), times_log=True)
        try:
            if layout == "fleet":
                reps, t0 = run_fleet(build, ng, cfg)
            else:
                reps, t0 = run_one(build, ng, cfg, 2 if layout == "2 threads" else 1)
        finally:
            ng.stop()
        times = sorted(x for x in ng.times() if x >= t0 - 0.002)
        rows = judge(stages, times, t0, a.min_asked)
        judged = [r for r in rows if r["judged"]]
        worst = max(abs(r["deviation"]) for r in judged)
        worst_all = max(worst_all, worst)
        sent = sum(r["requests_sent"] for r in reps)
        bl.out(f"\n{layout}: {sent} requests sent, {len(times)} served; "
               f"worst interval {worst * 100:.2f}%")
        bl.out("  second  asked   served  deviation")
        for r in rows:
            d = "" if r["deviation"] is None else f"{r['deviation'] * 100:+.2f}%"
            bl.out(f"  {r['second']:>6}  {r['asked']:>7.0f}  {r['served']:>6}  {d}"
                   f"{'' if r['judged'] else '  (not judged)'}")
        results["runs"].append({"layout": layout, "sent": sent, "served": len(times),
                                "worst": worst, "rows": rows})
    verdict = "PASS" if worst_all <= 0.01 else "FAIL"
    bl.out(f"\nworst interval of all layouts: {worst_all * 100:.2f}% "
           f"(goal: within 1%): {verdict}")
    results["worst"] = worst_all
    bl.save_results("stages", results)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
