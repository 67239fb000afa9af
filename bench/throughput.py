#!/usr/bin/env python3
"""Raw throughput: one load-driver engine thread against nginx, compared
with wrk -t1, Locust (FastHttpUser, one process, headless), ab -k,
h2load --h1 and a bare libcurl multi loop (the ceiling of the library the
driver is built on), at 1, 64 and 256 connections.

    bench/throughput.py [--build DIR] [--reps 3] [--conns 1,64,256] [--quick]

Each repetition runs every tool once per connection count, back to back
(paired), in an order that rotates between repetitions. Every run is also
counted at the server: a thread samples nginx's stub_status and the CPU
time of the tool and of nginx's worker ten times a second, and the
"server" figures come from the middle 60% of the run (start-up and ramp-up
left out), the same way for every tool. That is the figure compared; each
tool's own count is shown beside it. Medians of --reps repetitions.

Bounded: about 6 minutes with the defaults, and never more than 20 (then
it stops everything it started, by PID). Results: stdout (markdown) and
bench/results/throughput-*.json."""

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402

TOOLS = ["driver", "curl_loop", "wrk", "locust", "ab", "h2load"]


def run_tool(tool, b, ng, c, secs, n):
    """One run of a tool; returns a dict of its figures."""
    with bl.ServerCounter(ng) as sc:
        def started(pid):
            sc.pid = pid
        if tool == "driver":
            rep, r = bl.driver_bench(b.build, ng.url, {
                "test_type": "AVALANCHE", "test_message_delay": 0,
                "message_count_per_driver": n, "concurrency": c}, on_start=started)
            if rep["errors"] or rep["responses_received"] != n:
                raise RuntimeError(f"driver errors: {rep['error_kinds']}")
            own_rps = rep["responses_received"] / (rep["elapsed_ms"] / 1000.0)
            total = rep["responses_received"]
        elif tool == "curl_loop":
            r = bl.run_measured([b.curl_loop, ng.url, str(n), str(c)], on_start=started)
            m = re.search(r"requests=(\d+) errors=(\d+) seconds=([\d.]+) rps=(\d+)", r.out)
            own_rps, total = float(m.group(4)), int(m.group(1))
        elif tool == "wrk":
            r = bl.run_measured(["wrk", "-t1", f"-c{c}", f"-d{secs}s", ng.url],
                                on_start=started, timeout=secs + 60)
            own_rps = float(re.search(r"Requests/sec:\s+([\d.]+)", r.out).group(1))
            total = int(re.search(r"(\d+) requests in", r.out).group(1))
        elif tool == "ab":
            # -n after -t: ab's -t alone would stop at 50,000 requests.
            r = bl.run_measured(["ab", "-q", "-k", "-c", str(c), "-t", str(secs), "-n",
                                 "100000000", ng.url], on_start=started, timeout=secs + 60)
            own_rps = float(re.search(r"Requests per second:\s+([\d.]+)", r.out).group(1))
            total = int(re.search(r"Complete requests:\s+(\d+)", r.out).group(1))
            failed = int(re.search(r"Failed requests:\s+(\d+)", r.out).group(1))
            if failed:
                raise RuntimeError(f"ab: {failed} failed requests")
        elif tool == "h2load":
            r = bl.run_measured(["h2load", "--h1", "-t", "1", "-c", str(c), "-D", str(secs),
                                 ng.url], on_start=started, timeout=secs + 60)
            own_rps = float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", r.out).group(1))
            m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                          r"(\d+) failed", r.out)
            total = int(m.group(4))
            if int(m.group(5)):
                raise RuntimeError(f"h2load: {m.group(5)} failed")
        elif tool == "locust":
            d = tempfile.mkdtemp(prefix="locust-", dir=bl.WORK)
            lsecs = secs + 4  # Python start-up and the spawning of users
            r = bl.run_measured(
                [b.locust, "-f", os.path.join(bl.TOOLS, "locustfile.py"), "--headless",
                 "-u", str(c), "-r", str(c), "--run-time", f"{lsecs}s", "-H", ng.base,
                 "--csv", os.path.join(d, "s"), "--only-summary", "--loglevel", "WARNING",
                 "--exit-code-on-error", "0"], on_start=started, timeout=lsecs + 60)
            with open(os.path.join(d, "s_stats.csv")) as f:
                row = [x for x in csv.DictReader(f) if x["Name"] == "Aggregated"][0]
            own_rps, total = float(row["Requests/s"]), int(row["Request Count"])
            if int(row["Failure Count"]):
                raise RuntimeError(f"locust: {row['Failure Count']} failures")
        else:
            raise ValueError(tool)
    st = sc.steady()
    return {"own_rps": own_rps, "own_total": total, "server_total": sc.total(),
            "server_rps": st["rps"], "cpu_us": st["tool_us"],
            "cpu_us_whole": r.cpu * 1e6 / max(total, 1), "user_s": r.user, "sys_s": r.sys,
            "wall_s": r.wall, "hwm_kb": r.hwm_kb, "conns": sc.max_active(),
            "nginx_us": st["nginx_us"], "nginx_share": st["nginx_share"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", help="release build folder (default build-bench)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--conns", default="1,64,256")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--quick", action="store_true", help="one short repetition")
    args = ap.parse_args()
    bl.deadline(20 * 60)
    bl.ensure_tools({"wrk": "wrk", "nginx": "nginx-light", "ab": "apache2-utils",
                     "h2load": "nghttp2-client", "locust": "python3-locust",
                     "make": "make", "cc": "gcc", "pkg-config": "pkg-config"})

    class B:
        build = bl.build_dir(args.build)
        curl_loop = os.path.join(bl.TOOLS, "curl_loop")
        locust = shutil.which("locust")

    subprocess.run(["make", "-s", "-C", bl.TOOLS, "curl_loop"], check=True)
    reps = 1 if args.quick else args.reps
    secs = 2 if args.quick else 3
    conns = [int(x) for x in args.conns.split(",")]
    tools = args.tools.split(",")
    m = bl.machine()
    m["tools"] = {
        "wrk": bl.version(["wrk", "-v"], r"wrk (\S+)"),
        "nginx": bl.version(["nginx", "-v"], r"nginx/(\S+)"),
        "locust": bl.version(["dpkg-query", "-W", "python3-locust"], r"\t(\S+)"),
        "h2load": bl.version(["h2load", "--version"], r"nghttp2/(\S+)"),
        "ab": bl.version(["ab", "-V"], r"Version (\S+)")}
    bl.print_machine(m)
    out_tools = ", ".join(f"{k} {v}" for k, v in m["tools"].items())
    bl.out(f"tools: {out_tools}; nginx: 1 worker, 2-byte body; medians of {reps}")
    res = {"machine": m, "reps": reps, "secs": secs, "runs": {}}
    ng = bl.Nginx()
    try:
        for c in conns:
            # The driver and curl_loop run a count of requests: about secs
            # seconds' worth at the rates seen here.
            n = {1: 60000, 64: 180000, 256: 150000}.get(c, 150000)
            if args.quick:
                n //= 3
            runs = {t: [] for t in tools}
            for rep in range(reps):
                order = tools[rep % len(tools):] + tools[:rep % len(tools)]
                for t in order:
                    runs[t].append(run_tool(t, B, ng, c, secs, n))
                bl.log(f"c={c} rep {rep + 1}: " + ", ".join(
                    f"{t} {runs[t][-1]['server_rps'] or 0:.0f}/s" for t in tools))
            res["runs"][c] = runs
    finally:
        ng.stop()
    m["loadavg_after"] = bl.loadavg()

    def med(c, t, k):
        return bl.median([r[k] for r in res["runs"][c][t]])

    bl.out("\n| connections | tool | requests/s (server, steady) | requests/s (tool's own) "
           "| CPU µs/request (steady) | peak RSS MB | connections seen | nginx worker CPU "
           "| driver ÷ tool |")
    bl.out("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    summary = {}
    for c in conns:
        d = med(c, "driver", "server_rps") if "driver" in tools else None
        for t in tools:
            rps = med(c, t, "server_rps")
            paired = [a["server_rps"] / b["server_rps"] for a, b in
                      zip(res["runs"][c].get("driver", []), res["runs"][c][t])
                      if a["server_rps"] and b["server_rps"]]
            ratio = bl.median(paired)
            summary.setdefault(c, {})[t] = {"rps": rps, "ratio": ratio,
                                            "cpu_us": med(c, t, "cpu_us")}
            hwm = med(c, t, "hwm_kb")
            bl.out(f"| {c} | {t} | {rps:,.0f} | {med(c, t, 'own_rps'):,.0f} | "
                   f"{med(c, t, 'cpu_us') or 0:.1f} | "
                   f"{(hwm or 0) / 1024:.1f} | {med(c, t, 'conns'):.0f} | "
                   f"{(med(c, t, 'nginx_share') or 0) * 100:.0f}% | "
                   f"{ratio if ratio is not None else float('nan'):.2f} |")
    res["summary"] = summary
    bl.out(f"\nload average after: {m['loadavg_after']}")
    bl.out("driver ÷ tool: median of the paired ratios of server-side rates.")
    bl.save_results("throughput", res)


if __name__ == "__main__":
    sys.exit(main())
