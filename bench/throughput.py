#!/usr/bin/env python3
"""Raw throughput: one load-driver engine thread against nginx, compared
with the load generators an engineer would pick instead (wrk -t1, ab -k,
h2load --h1, Vegeta, bombardier, oha, the current Locust and Debian's
Locust 2.12, FastHttpUser) and a bare libcurl multi loop (the ceiling of
the library the driver is built on), at 1, 64, 256 and 1000 connections.

    bench/throughput.py [--build DIR] [--reps 3] [--conns 1,64,256,1000]
                        [--tools driver,wrk,...] [--quick]

Vegeta, bombardier, oha and the current Locust come from
bench/tools/peers.sh (run by this script when one of them is missing),
installed outside the tree ($DLT_PEERS, default /var/cache/dlt-peers).
"driver" is the load-driver as built; "driver_curl" the same with
--engine curl, left out (with a note) where the load-driver has no
--engine option.

Each repetition runs every tool once per connection count, back to back
(paired), in an order that rotates between repetitions. Every run is also
counted at the server: a thread samples nginx's stub_status and the CPU
time of the tool and of nginx's worker ten times a second, and the
"server" figures come from the middle 60% of the run (start-up and ramp-up
left out), the same way for every tool. That is the figure compared; each
tool's own count (its JSON output where it has one) is shown beside it.
Medians of --reps repetitions.

Bounded: about 9 minutes with the defaults, and never more than 25 (then
it stops everything it started, by PID); every run of a tool has its own
time-out. Results: stdout (markdown) and bench/results/throughput-*.json."""

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

TOOLS = ["driver", "driver_curl", "curl_loop", "wrk", "ab", "h2load", "vegeta", "bombardier",
         "oha", "locust", "locust_debian"]
# Installed by bench/tools/peers.sh.
PEERS = os.environ.get("DLT_PEERS", "/var/cache/dlt-peers")
PEER_BIN = {"vegeta": os.path.join(PEERS, "bin", "vegeta"),
            "bombardier": os.path.join(PEERS, "bin", "bombardier"),
            "oha": os.path.join(PEERS, "bin", "oha"),
            "locust": os.path.join(PEERS, "venv", "bin", "locust")}
PEERS_SH = os.path.join(bl.TOOLS, "peers.sh")
# The driver and curl_loop run a count of requests, not a duration: this
# many requests/s times secs to start with, then each tool's own rate at
# that connection count, measured in the repetition before.
FIGURES = ("own_rps", "own_total", "server_total", "server_rps", "cpu_us", "cpu_us_whole",
           "user_s", "sys_s", "wall_s", "hwm_kb", "conns", "nginx_us", "nginx_share")
RATE_GUESS = {1: 20000, 64: 80000, 256: 80000, 1000: 70000}


def run_locust(binary, output_opt, ng, c, secs, started):
    """One headless Locust run of c users writing its stats with output_opt
    (--json-file or --csv) into a new folder; returns (folder, Run)."""
    d = tempfile.mkdtemp(prefix="locust-", dir=bl.WORK)
    lsecs = secs + 4  # Python start-up and the spawning of users
    r = bl.run_measured(
        [binary, "-f", os.path.join(bl.TOOLS, "locustfile.py"), "--headless",
         "-u", str(c), "-r", str(c), "--run-time", f"{lsecs}s", "-H", ng.base,
         output_opt, os.path.join(d, "s"), "--only-summary", "--loglevel", "WARNING",
         "--exit-code-on-error", "0"], on_start=started, timeout=lsecs + 60)
    return d, r


def run_tool(tool, b, ng, c, secs, n):
    """One run of a tool; returns a dict of its figures."""
    bound = secs + 60  # every run's time-out
    with bl.ServerCounter(ng) as sc:
        def started(pid):
            sc.pid = pid
        if tool in ("driver", "driver_curl"):
            args = ["--engine", "curl"] if tool == "driver_curl" else []
            rep, r = bl.driver_bench(b.build, ng.url, {
                "test_type": "AVALANCHE", "test_message_delay": 0,
                "message_count_per_driver": n, "concurrency": c}, on_start=started,
                args=args, timeout=max(120, secs * 20))
            if rep["errors"] or rep["responses_received"] != n:
                raise RuntimeError(f"{tool} errors: {rep['error_kinds']}")
            own_rps = rep["responses_received"] / (rep["elapsed_ms"] / 1000.0)
            total = rep["responses_received"]
        elif tool == "curl_loop":
            r = bl.run_measured([b.curl_loop, ng.url, str(n), str(c)], on_start=started,
                                timeout=max(120, secs * 20))
            m = re.search(r"requests=(\d+) errors=(\d+) seconds=([\d.]+) rps=(\d+)", r.out)
            own_rps, total = float(m.group(4)), int(m.group(1))
        elif tool == "wrk":
            r = bl.run_measured(["wrk", "-t1", f"-c{c}", f"-d{secs}s", ng.url],
                                on_start=started, timeout=bound)
            own_rps = float(re.search(r"Requests/sec:\s+([\d.]+)", r.out).group(1))
            total = int(re.search(r"(\d+) requests in", r.out).group(1))
        elif tool == "ab":
            # -n after -t: ab's -t alone would stop at 50,000 requests.
            r = bl.run_measured(["ab", "-q", "-k", "-c", str(c), "-t", str(secs), "-n",
                                 "100000000", ng.url], on_start=started, timeout=bound)
            own_rps = float(re.search(r"Requests per second:\s+([\d.]+)", r.out).group(1))
            total = int(re.search(r"Complete requests:\s+(\d+)", r.out).group(1))
            failed = int(re.search(r"Failed requests:\s+(\d+)", r.out).group(1))
            if failed:
                raise RuntimeError(f"ab: {failed} failed requests")
        elif tool == "h2load":
            r = bl.run_measured(["h2load", "--h1", "-t", "1", "-c", str(c), "-D", str(secs),
                                 ng.url], on_start=started, timeout=bound)
            own_rps = float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", r.out).group(1))
            m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                          r"(\d+) failed", r.out)
            total = int(m.group(4))
            if int(m.group(5)):
                raise RuntimeError(f"h2load: {m.group(5)} failed")
        elif tool == "vegeta":
            # -rate=0 (as fast as it can) needs -max-workers: C workers, each
            # sending its requests one after the other, as C connections.
            d = tempfile.mkdtemp(prefix="vegeta-", dir=bl.WORK)
            targets, results = os.path.join(d, "targets"), os.path.join(d, "results.bin")
            with open(targets, "w") as f:
                f.write(f"GET {ng.url}\n")
            r = bl.run_measured([b.vegeta, "-cpus", "1", "attack", "-rate=0",
                                 f"-workers={c}", f"-max-workers={c}", f"-connections={c}",
                                 f"-max-connections={c}", f"-duration={secs}s",
                                 f"-targets={targets}", f"-output={results}"],
                                on_start=started, timeout=bound)
            rj = json.loads(subprocess.run([b.vegeta, "report", "-type=json", results],
                                           capture_output=True, text=True, check=True,
                                           timeout=120).stdout)
            total = int(rj["requests"])
            own_rps = total / (rj["duration"] / 1e9)
            bad = total - int(rj["status_codes"].get("200", 0))
            if bad:
                raise RuntimeError(f"vegeta: {bad} failed: {rj.get('errors', [])[:3]}")
        elif tool == "bombardier":
            # GOMAXPROCS=1: one core, as wrk -t1; fasthttp is its default client.
            r = bl.run_measured([b.bombardier, "-c", str(c), "-d", f"{secs}s", "-p", "r",
                                 "-o", "json", ng.url], on_start=started, timeout=bound,
                                env=dict(os.environ, GOMAXPROCS="1"))
            res = json.loads(r.out)["result"]
            total = sum(int(res[k]) for k in ("req1xx", "req2xx", "req3xx", "req4xx",
                                              "req5xx", "others"))
            own_rps = total / res["timeTakenSeconds"]
            if total != int(res["req2xx"]):
                raise RuntimeError(f"bombardier: {total - int(res['req2xx'])} failed")
        elif tool == "oha":
            # -z: a duration; in-flight requests at its end are aborted and
            # reported apart ("aborted due to deadline"), not failures.
            # --worker-threads 1: one thread of tokio's runtime, as wrk -t1.
            r = bl.run_measured([b.oha, "-z", f"{secs}s", "-c", str(c), "--no-tui",
                                 "--worker-threads", "1", "--output-format", "json", ng.url],
                                on_start=started, timeout=bound)
            oj = json.loads(r.out)
            total = sum(int(v) for v in oj["statusCodeDistribution"].values())
            own_rps = float(oj["summary"]["requestsPerSec"])
            errs = {k: v for k, v in (oj.get("errorDistribution") or {}).items()
                    if "deadline" not in k}
            if errs or total != int(oj["statusCodeDistribution"].get("200", 0)):
                raise RuntimeError(f"oha: errors {errs}, codes {oj['statusCodeDistribution']}")
        elif tool == "locust":
            # The current Locust: its final stats as JSON (--json-file).
            d, r = run_locust(b.locust, "--json-file", ng, c, secs, started)
            with open(os.path.join(d, "s.json")) as f:
                stats = json.load(f)
            total = sum(int(x["num_requests"]) for x in stats)
            failed = sum(int(x["num_failures"]) for x in stats)
            span = (max(x["last_request_timestamp"] for x in stats)
                    - min(x["start_time"] for x in stats))
            own_rps = total / span if span > 0 else 0.0
            if failed:
                raise RuntimeError(f"locust: {failed} failures")
        elif tool == "locust_debian":
            # Debian's python3-locust 2.12 (no JSON output): the Aggregated
            # row of --csv.
            d, r = run_locust(b.locust_debian, "--csv", ng, c, secs, started)
            with open(os.path.join(d, "s_stats.csv")) as f:
                row = [x for x in csv.DictReader(f) if x["Name"] == "Aggregated"][0]
            own_rps, total = float(row["Requests/s"]), int(row["Request Count"])
            if int(row["Failure Count"]):
                raise RuntimeError(f"locust: {row['Failure Count']} failures")
        else:
            raise ValueError(tool)
    st = sc.steady()
    if sc.total() > max(total * 1.1, total + 500):
        # Locust 2.12's --csv misses the last requests of a run; anything
        # else would mean another client reached the server.
        bl.log(f"{tool} c={c}: nginx counted {sc.total()} requests, the tool {total}")
    return {"own_rps": own_rps, "own_total": total, "server_total": sc.total(),
            "server_rps": st["rps"], "cpu_us": st["tool_us"],
            "cpu_us_whole": r.cpu * 1e6 / max(total, 1), "user_s": r.user, "sys_s": r.sys,
            "wall_s": r.wall, "hwm_kb": r.hwm_kb, "conns": sc.max_active(),
            "nginx_us": st["nginx_us"], "nginx_share": st["nginx_share"]}


def engine_option(build):
    """Whether this load-driver takes --engine (its --help names it)."""
    try:
        r = subprocess.run([bl.binary(build, "load-driver"), "--help"], capture_output=True,
                           text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--engine" in r.stdout + r.stderr


def peer_versions():
    """{tool: version} of the peers installed by peers.sh."""
    try:
        r = subprocess.run([PEERS_SH, "--versions"], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, DLT_PEERS=PEERS))
    except (OSError, subprocess.SubprocessError):
        return {}
    return dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", help="release build folder (default build-bench)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--conns", default="1,64,256,1000")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--quick", action="store_true", help="one short repetition")
    args = ap.parse_args()
    bl.deadline(25 * 60)
    nofile = bl.raise_nofile()
    bl.ensure_tools({"wrk": "wrk", "nginx": "nginx-light", "ab": "apache2-utils",
                     "h2load": "nghttp2-client", "locust": "python3-locust",
                     "make": "make", "cc": "gcc", "pkg-config": "pkg-config"})
    tools = args.tools.split(",")
    notes = []
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        raise SystemExit(f"unknown tools: {', '.join(unknown)} (known: {', '.join(TOOLS)})")
    missing = [t for t in tools if t in PEER_BIN and not os.access(PEER_BIN[t], os.X_OK)]
    if missing:
        bl.log(f"{', '.join(missing)} missing: running {os.path.relpath(PEERS_SH, bl.ROOT)}")
        r = subprocess.run([PEERS_SH], env=dict(os.environ, DLT_PEERS=PEERS), timeout=1800)
        for t in missing:
            if not os.access(PEER_BIN[t], os.X_OK):
                notes.append(f"{t}: not installed (peers.sh exited {r.returncode}); left out")
                tools.remove(t)

    class B:
        build = bl.build_dir(args.build)
        curl_loop = os.path.join(bl.TOOLS, "curl_loop")
        locust_debian = "/usr/bin/locust" if os.path.exists("/usr/bin/locust") \
            else shutil.which("locust")
        vegeta, bombardier = PEER_BIN["vegeta"], PEER_BIN["bombardier"]
        oha, locust = PEER_BIN["oha"], PEER_BIN["locust"]

    if "driver_curl" in tools and not engine_option(B.build):
        tools.remove("driver_curl")
        notes.append("driver_curl: this load-driver has no --engine option (its --help does "
                     "not name it); left out")
    subprocess.run(["make", "-s", "-C", bl.TOOLS, "curl_loop"], check=True)
    reps = 1 if args.quick else args.reps
    secs = 2 if args.quick else 3
    conns = [int(x) for x in args.conns.split(",")]
    m = bl.machine()
    m["commit"] = bl.version(["git", "-C", bl.ROOT, "rev-parse", "--short", "HEAD"], r"(\S+)")
    m["nofile"] = nofile
    pv = peer_versions()
    m["tools"] = {
        "wrk": bl.version(["wrk", "-v"], r"wrk (\S+)"),
        "nginx": bl.version(["nginx", "-v"], r"nginx/(\S+)"),
        "locust_debian": bl.version(["dpkg-query", "-W", "python3-locust"], r"\t(\S+)"),
        "h2load": bl.version(["h2load", "--version"], r"nghttp2/(\S+)"),
        "ab": bl.version(["ab", "-V"], r"Version (\S+)"),
        **{t: pv.get(t, "?") for t in ("vegeta", "bombardier", "oha", "locust")}}
    bl.print_machine(m)
    out_tools = ", ".join(f"{k} {v}" for k, v in m["tools"].items())
    bl.out(f"driver: load-driver as built at commit {m['commit']}, one engine thread")
    bl.out(f"tools: {out_tools}; nginx: 1 worker, 2-byte body; medians of {reps}")
    for note in notes:
        bl.out(f"note: {note}")
    res = {"machine": m, "reps": reps, "secs": secs, "notes": notes, "runs": {}}
    counted = ("driver", "driver_curl", "curl_loop")
    # On an address of its own: other programs' tests on this machine aim at
    # ports of 127.0.0.1 that may be nginx's by the time they connect.
    ng = bl.Nginx(bl.private_loopback())
    try:
        for c in conns:
            # The tools that run a count of requests get about secs seconds'
            # worth: a guess first, then their own rate of the run before.
            n = {t: int(RATE_GUESS.get(c, 70000) * secs) for t in counted}
            runs = {t: [] for t in tools}
            for rep in range(reps):
                order = tools[rep % len(tools):] + tools[:rep % len(tools)]
                for t in order:
                    try:
                        runs[t].append(run_tool(t, B, ng, c, secs, n.get(t, 0)))
                    except bl.DeadlineExceeded:
                        raise
                    except Exception as e:  # one failed run: noted, the rest go on
                        bl.log(f"{t} c={c} rep {rep + 1} failed: {e}")
                        notes.append(f"{t} at {c} connections, repetition {rep + 1}: "
                                     f"{str(e)[:300]}")
                        runs[t].append(dict.fromkeys(FIGURES))
                        continue
                    if t in counted:
                        rate = runs[t][-1]["own_rps"]
                        n[t] = max(1000, int(rate * secs))
                bl.log(f"c={c} rep {rep + 1}: " + ", ".join(
                    f"{t} {runs[t][-1]['server_rps'] or 0:.0f}/s" for t in tools))
            res["runs"][c] = runs
    finally:
        ng.stop()
    m["loadavg_after"] = bl.loadavg()

    def med(c, t, k):
        return bl.median([r[k] for r in res["runs"][c][t]])

    def fmt(x, spec, scale=1.0):
        return "–" if x is None else format(x * scale, spec)

    bl.out("\n| connections | tool | requests/s (server, steady) | requests/s (tool's own) "
           "| CPU µs/request (steady) | peak RSS MB | connections seen | nginx worker CPU "
           "| driver ÷ tool |")
    bl.out("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    summary = {}
    for c in conns:
        for t in tools:
            rps = med(c, t, "server_rps")
            paired = [a["server_rps"] / b["server_rps"] for a, b in
                      zip(res["runs"][c].get("driver", []), res["runs"][c][t])
                      if a["server_rps"] and b["server_rps"]]
            ratio = bl.median(paired)
            summary.setdefault(c, {})[t] = {"rps": rps, "ratio": ratio,
                                            "cpu_us": med(c, t, "cpu_us")}
            bl.out(f"| {c} | {t} | {fmt(rps, ',.0f')} | {fmt(med(c, t, 'own_rps'), ',.0f')} | "
                   f"{fmt(med(c, t, 'cpu_us'), '.1f')} | "
                   f"{fmt(med(c, t, 'hwm_kb'), '.1f', 1 / 1024)} | "
                   f"{fmt(med(c, t, 'conns'), '.0f')} | "
                   f"{fmt(med(c, t, 'nginx_share'), '.0%')} | {fmt(ratio, '.2f')} |")
    res["summary"] = summary
    bl.out(f"\nload average after: {m['loadavg_after']}")
    bl.out("driver ÷ tool: median of the paired ratios of server-side rates.")
    for note in notes:
        bl.out(f"note: {note}")
    bl.save_results("throughput", res)


if __name__ == "__main__":
    sys.exit(main())
