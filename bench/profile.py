#!/usr/bin/env python3
"""Profile: what one request costs load-driver, before and after a change,
against a bare libcurl loop and wrk, all hitting the same nginx.

    bench/profile.py [--revs REV,REV,...] [--conns 1,64,256,1000] [--reps 3]
                     [--annotate DIR_OF_A_LIBCURL_WITH_SYMBOLS]

For each git revision (default: the engine before this round of work,
214241f, and HEAD) it builds load-driver (Release) from `git archive` in a
temporary folder, then measures at each connection count:

1. Instructions per request, with valgrind's callgrind: the difference
   between a run of 25,000 and a run of 5,000 requests, divided by 20,000,
   so start-up and connection set-up cancel out (wrk: a 6 s and a 2 s run,
   divided by the difference of their requests). Deterministic up to the
   loop's timing (±2% between repetitions); median of --reps.
2. System calls per request (perf's syscall tracepoints), when perf can
   use them here.
3. CPU µs per request (user and system) and requests/s of real runs:
   each repetition runs every build, the bare libcurl loop and wrk back to
   back (paired); medians.

--annotate DIR runs one more callgrind of the last revision with
LD_LIBRARY_PATH=DIR (a libcurl 7.88.1 built with -g, see
docs/BENCHMARKS.md) and prints the functions that cost the most, by
library. Bounded: about 12 minutes with the defaults, never more than 40.
Results: stdout and bench/results/profile-*.json."""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402

BEFORE = "214241f"  # HEAD before the engine's profile-driven changes


def build_rev(rev):
    """Build load-driver of a git revision in the work folder; its path."""
    sha = subprocess.run(["git", "-C", bl.ROOT, "rev-parse", "--short", rev], check=True,
                         capture_output=True, text=True).stdout.strip()
    src = os.path.join(bl.WORK, f"src-{sha}")
    os.makedirs(src)
    archive = subprocess.Popen(["git", "-C", bl.ROOT, "archive", sha], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", src], stdin=archive.stdout, check=True)
    archive.wait()
    b = os.path.join(src, "build")
    bl.log(f"building {rev} ({sha})")
    subprocess.run(["cmake", "-S", src, "-B", b, "-DCMAKE_BUILD_TYPE=Release"], check=True,
                   capture_output=True, timeout=300)
    subprocess.run(["cmake", "--build", b, "-j2", "--target", "load-driver"], check=True,
                   capture_output=True, timeout=900)
    return sha, os.path.join(b, "src/driver/load-driver")


def avalanche(n, c):
    return json.dumps({"test_type": "AVALANCHE", "test_message_delay": 0,
                       "message_count_per_driver": n, "concurrency": c})


def driver_argv(exe, url, n, c):
    return [exe, "--target", url, "--log-level", "warn", "--bench", avalanche(n, c)]


def wrk_ir_per_request(url, c, reps):
    """wrk runs for a time, not a count: the difference between a 6 s and
    a 2 s run under callgrind, divided by the difference of the requests
    it made."""
    vals = []
    for _ in range(reps):
        pts = []
        for secs in (2, 6):
            r = bl.run_measured(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                                 "wrk", "-t1", f"-c{c}", f"-d{secs}s", url], timeout=120)
            ir = int(re.search(r"refs:\s+([\d,]+)", r.err).group(1).replace(",", ""))
            pts.append((ir, int(re.search(r"(\d+) requests in", r.out).group(1))))
        vals.append((pts[1][0] - pts[0][0]) / (pts[1][1] - pts[0][1]))
    return bl.median(vals), vals


def ir_per_request(mk, reps):
    """mk(n) -> argv of a run of n requests."""
    vals = [(bl.callgrind_ir(mk(25000)) - bl.callgrind_ir(mk(5000))) / 20000 for _ in range(reps)]
    return bl.median(vals), vals


SYSCALLS = ["poll", "epoll_wait", "epoll_ctl", "sendto", "recvfrom", "write", "read"]


def perf_syscalls(argv, per):
    """System calls by name per request, or None when perf cannot count."""
    if not shutil.which("perf"):
        return None
    ev = ",".join(f"syscalls:sys_enter_{s}" for s in SYSCALLS)
    r = bl.run_measured(["perf", "stat", "-x,", "-e", ev, *argv], timeout=300, check=False)
    counts = {}
    for line in r.err.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[2].startswith("syscalls:sys_enter_") and f[0].isdigit():
            counts[f[2].split("sys_enter_")[1]] = int(f[0])
    if not counts:
        return None
    n = per(r) if callable(per) else per
    return {k: v / n for k, v in counts.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--revs", default=f"{BEFORE},HEAD")
    ap.add_argument("--conns", default="1,64,256,1000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--annotate", metavar="LIBCURL_DIR")
    ap.add_argument("--ir-only", action="store_true",
                    help="instructions per request only (no system calls, no timed runs)")
    args = ap.parse_args()
    bl.deadline(40 * 60)
    bl.ensure_tools({"valgrind": "valgrind", "wrk": "wrk", "nginx": "nginx-light",
                     "make": "make", "cc": "gcc", "cmake": "cmake"})
    subprocess.run(["make", "-s", "-C", bl.TOOLS, "curl_loop"], check=True)
    curl_loop = os.path.join(bl.TOOLS, "curl_loop")
    m = bl.machine()
    bl.print_machine(m)
    builds = [build_rev(r) for r in args.revs.split(",")]
    conns = [int(x) for x in args.conns.split(",")]
    res = {"machine": m, "revs": [s for s, _ in builds], "ir": {}, "syscalls": {}, "cpu": {}}
    ng = bl.Nginx()
    try:
        # 1. Instructions per request.
        for c in conns:
            for sha, exe in builds:
                med, vals = ir_per_request(lambda n: driver_argv(exe, ng.url, n, c), args.reps)
                res["ir"].setdefault(c, {})[sha] = {"median": med, "runs": vals}
                bl.log(f"c={c} {sha}: {med:,.0f} instructions/request")
            med, vals = ir_per_request(lambda n: [curl_loop, ng.url, str(n), str(c)], args.reps)
            res["ir"][c]["curl_loop"] = {"median": med, "runs": vals}
            bl.log(f"c={c} curl_loop: {med:,.0f} instructions/request")
            med, vals = wrk_ir_per_request(ng.url, c, args.reps)
            res["ir"][c]["wrk"] = {"median": med, "runs": vals}
            bl.log(f"c={c} wrk: {med:,.0f} instructions/request")
        if args.ir_only:
            conns_cpu = []
        else:
            conns_cpu = conns
        # 2. System calls per request, at 64 connections.
        n = 100000
        for sha, exe in (builds if conns_cpu else []):
            res["syscalls"][sha] = perf_syscalls(driver_argv(exe, ng.url, n, 64), n)
        if conns_cpu:
            res["syscalls"]["curl_loop"] = perf_syscalls([curl_loop, ng.url, str(n), "64"], n)

        def wrk_total(r):
            return int(re.search(r"(\d+) requests in", r.out).group(1))
        if conns_cpu:
            res["syscalls"]["wrk"] = perf_syscalls(["wrk", "-t1", "-c64", "-d2s", ng.url],
                                                   wrk_total)
        # 3. CPU per request, paired real runs.
        for c in conns_cpu:
            n = 150000 if c < 1000 else 200000
            runs = {}
            for rep in range(args.reps):
                for sha, exe in builds:
                    r = bl.run_measured(driver_argv(exe, ng.url, n, c), timeout=300)
                    rep_ = json.loads(r.out.strip().splitlines()[-1])
                    runs.setdefault(sha, []).append({
                        "user_us": r.user * 1e6 / n, "sys_us": r.sys * 1e6 / n,
                        "cpu_us": r.cpu * 1e6 / n,
                        "rps": rep_["responses_received"] / (rep_["elapsed_ms"] / 1000.0)})
                r = bl.run_measured([curl_loop, ng.url, str(n), str(c)], timeout=300)
                rps = float(re.search(r"rps=(\d+)", r.out).group(1))
                runs.setdefault("curl_loop", []).append({
                    "user_us": r.user * 1e6 / n, "sys_us": r.sys * 1e6 / n,
                    "cpu_us": r.cpu * 1e6 / n, "rps": rps})
                r = bl.run_measured(["wrk", "-t1", f"-c{c}", "-d3s", ng.url], timeout=60)
                total = wrk_total(r)
                runs.setdefault("wrk", []).append({
                    "user_us": r.user * 1e6 / total, "sys_us": r.sys * 1e6 / total,
                    "cpu_us": r.cpu * 1e6 / total,
                    "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", r.out).group(1))})
            res["cpu"][c] = {k: {f: bl.median([x[f] for x in v]) for f in v[0]} | {"runs": v}
                             for k, v in runs.items()}
            bl.log(f"c={c} cpu: " + ", ".join(f"{k} {v['cpu_us']:.1f}us" for k, v in
                                              res["cpu"][c].items()))
        if args.annotate:
            sha, exe = builds[-1]
            out = os.path.join(bl.WORK, "callgrind.out")
            env = dict(os.environ, LD_LIBRARY_PATH=args.annotate)
            bl.run_measured(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                             *driver_argv(exe, ng.url, 20000, 64)], timeout=600, env=env)
            ann = subprocess.run(["callgrind_annotate", "--inclusive=no", out],
                                 capture_output=True, text=True).stdout
            res["annotate"] = ann
    finally:
        ng.stop()
    m["loadavg_after"] = bl.loadavg()

    names = [s for s, _ in builds] + ["curl_loop"]
    bl.out("\n## Instructions per request (callgrind, median of %d)\n" % args.reps)
    bl.out("| connections | " + " | ".join(names + ["wrk"]) + " |")
    bl.out("| --- |" + " --- |" * (len(names) + 1))
    for c in conns:
        bl.out(f"| {c} | " + " | ".join(f"{res['ir'][c][k]['median']:,.0f}"
                                        for k in names + ["wrk"]) + " |")
    if args.ir_only:
        bl.out(f"\nload average after: {m['loadavg_after']}")
        bl.save_results("profile", res)
        return
    bl.out("\n## System calls per request, 64 connections\n")
    cols = [k for k in names + ["wrk"] if res["syscalls"].get(k)]
    bl.out("| syscall | " + " | ".join(cols) + " |")
    bl.out("| --- |" + " --- |" * len(cols))
    for s in SYSCALLS:
        bl.out(f"| {s} | " + " | ".join(f"{res['syscalls'][k].get(s, 0):.2f}" for k in cols)
               + " |")
    bl.out("\n## CPU per request (user + system µs) and requests/s, median of %d\n" % args.reps)
    cols = names + ["wrk"]
    bl.out("| connections | " + " | ".join(cols) + " |")
    bl.out("| --- |" + " --- |" * len(cols))
    for c in conns:
        bl.out(f"| {c} | " + " | ".join(
            f"{res['cpu'][c][k]['user_us']:.1f} + {res['cpu'][c][k]['sys_us']:.1f} = "
            f"{res['cpu'][c][k]['cpu_us']:.1f} µs, {res['cpu'][c][k]['rps']:,.0f}/s"
            for k in cols) + " |")
    if res.get("annotate"):
        bl.out("\n## Where the instructions go (last revision, 64 connections)\n")
        lines = [x for x in res["annotate"].splitlines() if re.match(r"^\s*[\d,]+ \(", x)]
        for x in lines[:40]:
            bl.out("    " + x.strip())
    bl.out(f"\nload average after: {m['loadavg_after']}")
    bl.save_results("profile", res)


if __name__ == "__main__":
    sys.exit(main())
