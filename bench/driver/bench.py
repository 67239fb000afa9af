#!/usr/bin/env python3
"""Benchmark load-driver against a bare libcurl multi loop, wrk and Locust,
all hitting the same nginx (1 worker, 2-byte body, keepalive_requests
1000000) started here on a free loopback port. Paired runs in one script,
medians of 3. See docs/bench-driver.md.

    python3 bench/driver/bench.py [--build DIR] [--reps 3] [--quick]

CPU per request is user+system time of the load generator's process (the
utime+stime of /proc/PID/stat, taken from wait4's rusage, which holds the
same counters for a child that has exited); peak RSS comes from GNU time.
Results go to stdout and bench/driver/results/."""

import argparse
import csv
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_measured(argv, timeout=120, env=None, cwd=None):
    """Start argv, wait for it with wait4, and return (stdout, stderr,
    cpu_seconds, maxrss_kb)."""
    out_f = tempfile.TemporaryFile()
    err_f = tempfile.TemporaryFile()
    # GNU time reports the peak RSS: ru_maxrss of a child forked from this
    # Python process would start at Python's own size (it survives exec).
    rss_f = tempfile.NamedTemporaryFile(prefix="bench-rss-")
    argv = ["/usr/bin/time", "-o", rss_f.name, "-f", "%M", *argv]
    p = subprocess.Popen(argv, stdout=out_f, stderr=err_f, env=env, cwd=cwd)
    deadline = time.time() + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.time() > deadline:
            os.kill(p.pid, signal.SIGKILL)
            pid, status, ru = os.wait4(p.pid, 0)
            raise TimeoutError(f"{argv[0]} ran over {timeout}s")
        time.sleep(0.02)
    p.returncode = os.waitstatus_to_exitcode(status)
    out_f.seek(0)
    err_f.seek(0)
    out, err = out_f.read().decode(), err_f.read().decode()
    if p.returncode != 0:
        raise RuntimeError(f"{argv} exited {p.returncode}: {err[-500:]}")
    with open(rss_f.name) as f:
        rss_kb = int(f.read().split()[-1])
    return out, err, ru.ru_utime + ru.ru_stime, rss_kb


class Nginx:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bench-nginx-")
        self.port = free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
worker_rlimit_nofile 20000;
events {{ worker_connections 10000; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    location / {{ return 200 "OK"; }}
  }}
}}
""")
        self.p = subprocess.Popen(["nginx", "-c", conf, "-p", self.dir],
                                  stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}/ping"
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()  # our own instance, by its PID
            self.p.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def avalanche(n, c):
    return json.dumps({"test_type": "AVALANCHE", "test_message_delay": 0,
                       "message_count_per_driver": n, "concurrency": c})


def tool_driver(b, url, c, n, threads=1):
    out, err, cpu, rss = spawn_measured([b.driver, "--target", url, "--threads", str(threads),
                                         "--log-level", "warn", "--bench", avalanche(n, c)])
    r = json.loads(out.strip().splitlines()[-1])
    if r["errors"] or r["responses_received"] != n:
        raise RuntimeError(f"driver errors: {r['error_kinds']}")
    return {"rps": n / (r["elapsed_ms"] / 1000.0), "cpu_us": cpu * 1e6 / n, "rss_kb": rss,
            "p50_ms": r["metrics"]["median_latency"], "p99_ms": r["metrics"]["p99_latency"]}


def tool_curl(b, url, c, n):
    out, err, cpu, rss = spawn_measured([b.curl_loop, url, str(n), str(c)])
    m = re.search(r"requests=(\d+) errors=(\d+) seconds=([\d.]+) rps=(\d+)", out)
    return {"rps": float(m.group(4)), "cpu_us": cpu * 1e6 / n, "rss_kb": rss}


def tool_wrk(b, url, c, secs):
    out, err, cpu, rss = spawn_measured(["wrk", "-t1", f"-c{c}", f"-d{secs}s", url])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": rps, "cpu_us": cpu * 1e6 / total, "rss_kb": rss}


def tool_locust(b, url, c, secs):
    d = tempfile.mkdtemp(prefix="bench-locust-")
    try:
        base = url.rsplit("/", 1)[0]
        out, err, cpu, rss = spawn_measured(
            [b.locust, "-f", os.path.join(HERE, "locustfile.py"), "--headless", "-u", str(c),
             "-r", str(max(c, 1)), "--run-time", f"{secs}s", "-H", base, "--csv",
             os.path.join(d, "s"), "--only-summary", "--loglevel", "WARNING",
             "--exit-code-on-error", "0"], timeout=secs + 60)
        with open(os.path.join(d, "s_stats.csv")) as f:
            rows = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"]
        total = int(rows[0]["Request Count"])
        return {"rps": float(rows[0]["Requests/s"]), "cpu_us": cpu * 1e6 / max(total, 1),
                "rss_kb": rss}
    finally:
        shutil.rmtree(d, ignore_errors=True)


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("DLT_BUILD",
                                                      os.path.join(ROOT, "build-driver")))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="short runs, one repetition")
    args = ap.parse_args()

    class B:
        driver = os.path.join(args.build, "src/driver/load-driver")
        curl_loop = os.path.join(HERE, "curl_loop")
        locust = shutil.which("locust") or "/usr/bin/locust"

    subprocess.run(["make", "-s", "-C", HERE, "curl_loop"], check=True)
    reps = 1 if args.quick else args.reps
    n = 30000 if args.quick else 120000
    secs = 2 if args.quick else 3
    lsecs = 4 if args.quick else 6
    cpu_model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    results = {"nproc": os.cpu_count(), "cpu": cpu_model, "requests": n, "reps": reps,
               "tools": {}, "threads": {}, "rss": {}}
    print(f"machine: {os.cpu_count()} cores, {cpu_model}; nginx 1 worker; medians of {reps}",
          flush=True)
    ng = Nginx()
    try:
        for c in (1, 64, 256):
            runs = {"driver": [], "curl": [], "wrk": [], "locust": []}
            for rep in range(reps):
                runs["driver"].append(tool_driver(B, ng.url, c, n))
                runs["curl"].append(tool_curl(B, ng.url, c, n))
                runs["wrk"].append(tool_wrk(B, ng.url, c, secs))
                runs["locust"].append(tool_locust(B, ng.url, c, lsecs))
                print(f"c={c} rep {rep + 1}: " + ", ".join(
                    f"{k} {v[-1]['rps']:.0f}/s {v[-1]['cpu_us']:.1f}us" for k, v in runs.items()),
                    flush=True)
            results["tools"][c] = {k: {"rps": med(v, "rps"), "cpu_us": med(v, "cpu_us"),
                                       "rss_kb": med(v, "rss_kb"), "runs": v}
                                   for k, v in runs.items()}
        for c in (64, 256):
            t = {1: [], 2: []}
            for rep in range(reps):
                for th in (1, 2):
                    t[th].append(tool_driver(B, ng.url, c, n, threads=th))
            results["threads"][c] = {th: {"rps": med(v, "rps"), "cpu_us": med(v, "cpu_us")}
                                     for th, v in t.items()}
            print(f"threads c={c}: 1 -> {results['threads'][c][1]['rps']:.0f}/s, "
                  f"2 -> {results['threads'][c][2]['rps']:.0f}/s", flush=True)
        for count in (n, 5 * n):
            r = tool_driver(B, ng.url, 1000, count)
            results["rss"][count] = r
            print(f"1000 connections, {count} requests: peak RSS {r['rss_kb'] / 1024:.1f} MB, "
                  f"{r['rps']:.0f}/s", flush=True)
    finally:
        ng.stop()

    print("\n| connections | tool | requests/s | CPU µs/request | peak RSS MB | driver ÷ tool |")
    print("| --- | --- | --- | --- | --- | --- |")
    for c, tools in results["tools"].items():
        d = tools["driver"]["rps"]
        for k, v in tools.items():
            print(f"| {c} | {k} | {v['rps']:.0f} | {v['cpu_us']:.1f} | "
                  f"{v['rss_kb'] / 1024:.1f} | {d / v['rps']:.2f} |")
    print("\n| connections | --threads 1 | --threads 2 | ratio |")
    print("| --- | --- | --- | --- |")
    for c, t in results["threads"].items():
        print(f"| {c} | {t[1]['rps']:.0f} | {t[2]['rps']:.0f} | {t[2]['rps'] / t[1]['rps']:.2f} |")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", time.strftime("bench-%Y%m%d-%H%M%S.json"))
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    sys.exit(main())
