#!/usr/bin/env python3
"""RSS over a long run: does the driver's memory stay flat in the number of
requests? One load-driver engine thread against nginx, as in
bench/throughput.py, for many requests, its resident set sampled from
/proc every few seconds.

    bench/rss.py [--build DIR] [--requests 20000000] [--conns 256]
                 [--every 5] [--engine native|curl|auto]

Each sample is (seconds since the start, requests nginx has served so
far, the driver's VmRSS). The first sample is taken once the driver has
sent its first 5% of requests (start-up, connections and buffers set up),
the last just before it ends. Prints the samples as a table and the
growth from the first to the last, per million requests.

Bounded: the driver runs at most --max-seconds (default 600; then it is
stopped by PID and the samples so far are reported), the whole script
at most 60 s more. Results: stdout and bench/results/rss-*.json."""

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402


def vm_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", help="release build folder (default build-bench)")
    ap.add_argument("--requests", type=int, default=20000000)
    ap.add_argument("--conns", type=int, default=256)
    ap.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--max-seconds", type=int, default=600)
    args = ap.parse_args()
    bl.deadline(args.max_seconds + 60)
    bl.raise_nofile()
    build = bl.build_dir(args.build)
    m = bl.machine()
    m["commit"] = bl.version(["git", "-C", bl.ROOT, "rev-parse", "--short", "HEAD"], r"(\S+)")
    bl.print_machine(m)
    ng = bl.Nginx(bl.private_loopback())
    samples = []
    stop = threading.Event()
    served0 = ng.status()[0]

    def sample(pid):
        t0 = time.time()
        first = max(1, args.requests // 20)
        while not stop.is_set() and time.time() - t0 < args.max_seconds:
            served = ng.status()[0] - served0
            rss = vm_rss_kb(pid)
            if rss is None:
                break
            if served >= first:
                samples.append({"s": round(time.time() - t0, 1), "requests": served,
                                "rss_kb": rss})
            stop.wait(args.every if served >= first else 0.2)

    def started(pid):
        threading.Thread(target=sample, args=(pid,), daemon=True).start()

    try:
        rep, r = bl.driver_bench(build, ng.url, {
            "test_type": "AVALANCHE", "test_message_delay": 0,
            "message_count_per_driver": args.requests, "concurrency": args.conns},
            on_start=started, args=["--engine", args.engine], timeout=args.max_seconds)
    finally:
        stop.set()
        ng.stop()
    m["loadavg_after"] = bl.loadavg()
    secs = rep["elapsed_ms"] / 1000.0
    bl.out(f"load-driver at {m['commit']}, engine {rep.get('engine', args.engine)}, "
           f"{args.conns} connections, {rep['responses_received']:,} responses, "
           f"{rep['errors']} errors, {secs:.0f} s ({rep['responses_received'] / secs:,.0f}/s), "
           f"peak RSS {r.hwm_kb / 1024:.1f} MB")
    bl.out("\n| seconds | requests (server) | RSS MB |")
    bl.out("| --- | --- | --- |")
    for s in samples:
        bl.out(f"| {s['s']:.0f} | {s['requests']:,} | {s['rss_kb'] / 1024:.2f} |")
    res = {"machine": m, "args": vars(args), "report": rep, "samples": samples,
           "hwm_kb": r.hwm_kb}
    if len(samples) >= 2:
        a, b = samples[0], samples[-1]
        per_m = (b["rss_kb"] - a["rss_kb"]) / max(1, b["requests"] - a["requests"]) * 1e6
        res["growth_kb_per_million"] = per_m
        bl.out(f"\nfirst {a['rss_kb']} kB at {a['requests']:,} requests, last {b['rss_kb']} kB "
               f"at {b['requests']:,}: {b['rss_kb'] - a['rss_kb']:+d} kB "
               f"({per_m:+.2f} kB per million requests); "
               f"min {min(s['rss_kb'] for s in samples)} kB, "
               f"max {max(s['rss_kb'] for s in samples)} kB")
    bl.out(f"load average after: {m['loadavg_after']}")
    bl.save_results("rss", res)


if __name__ == "__main__":
    sys.exit(main())
