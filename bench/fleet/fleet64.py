#!/usr/bin/env python3
"""64 drivers, one orchestrator, on loopback through load-broker (or a real
Apache Kafka cluster with --kafka-nodes).

For each run: start the fleet, wait until all 64 are alive, run a TSUNAMI on
all of them for RUN_S seconds, and measure
  - the drivers' start skew (the orchestrator's start_skew_ms: the spread of
    their first request times around the common start_at),
  - the orchestrator's CPU while 64 drivers report (every 500 ms, the
    orchestrator's default) and beat every second (utime+stime
    from /proc over the running phase),
  - REST latency while it runs: GET /api/tests/ID, GET /api/drivers and
    GET /metrics, polled 10 times a second (p50, p99, max),
  - exact counts at the target.
Runs 3 times and prints the medians. Everything it starts is stopped by PID.

    bench/fleet/fleet64.py [--build DIR] [--runs 3] [--drivers 64] [--seconds 30]
                           [--kafka-nodes 1|3]

--kafka-nodes N runs the fleet on a fresh N-node KRaft cluster started with
scripts/kafka.sh (its own run dir and free ports, each run on a topic prefix
of its own), stopped by PID at the end, whatever happened.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "orchestrator"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]


def one_run(dlt, orchlib, n, seconds, kafka=None, prefix=None):
    delay = 0.02
    count = int(seconds / delay)
    with dlt.Cluster() as c:
        bus = []
        if kafka:
            c.kafka = kafka
            bus = ["--topic-prefix", prefix]
        else:
            c.broker()
        target = c.target()
        orch = c.orchestrator("--log-level", "warn", *bus)
        t0 = time.time()
        procs = []
        for i in range(n):
            db = os.path.join(dlt.ARTIFACTS, f"fleet64-{os.getpid()}-{i}.db")
            procs.append(c.start("load-driver", [dlt.binary("load-driver"), "--kafka", c.kafka,
                                                 "--target", target.url + "/ping", "--db", db,
                                                 "--log-level", "warn", *bus]))
        for p in procs:
            p.wait_line("ready ", 180)
        orchlib.wait_drivers(orch.url, n, timeout=120)
        up = time.time() - t0
        before = orchlib.target_count(target.url)
        t_post = time.time()
        tid = orchlib.start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": delay,
                                            "message_count_per_driver": count})
        lat = {"test": [], "drivers": [], "metrics": []}
        urls = {"test": f"{orch.url}/api/tests/{tid}", "drivers": f"{orch.url}/api/drivers",
                "metrics": f"{orch.url}/metrics"}
        cpu0 = None
        state = "CREATED"
        while time.time() - t_post < seconds + 60:
            for k, u in urls.items():
                a = time.perf_counter()
                status, _, body = dlt.http("GET", u)
                lat[k].append((time.perf_counter() - a) * 1000)
                if k == "test":
                    t = json.loads(body)
                    state = t["state"]
            if state == "RUNNING" and cpu0 is None:
                cpu0, w0 = cpu_seconds(orch.pid), time.time()
            if state not in ("CREATED", "CONFIGURED", "RUNNING"):
                break
            time.sleep(0.1)
        cpu1, w1 = cpu_seconds(orch.pid), time.time()
        t = orchlib.get_test(orch.url, tid)
        return {
            "state": t["state"],
            "fleet_up_s": up,
            "skew_ms": t["start_skew_ms"],
            "orch_cpu_pct": 100 * (cpu1 - cpu0) / (w1 - w0) if cpu0 is not None else float("nan"),
            "orch_rss_mb": vm_hwm_kb(orch.pid) / 1024,
            "sent": t["aggregate"]["requests_sent"],
            "at_target": orchlib.target_count(target.url) - before,
            "want": n * count,
            **{f"{k}_p50": statistics.median(v) for k, v in lat.items()},
            **{f"{k}_p99": pct(v, 99) for k, v in lat.items()},
            **{f"{k}_max": max(v) for k, v in lat.items()},
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build-bench"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--drivers", type=int, default=64)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--kafka-nodes", type=int, choices=(1, 3),
                    help="run on a fresh real Kafka cluster of this many nodes")
    a = ap.parse_args()
    os.environ["DLT_BUILD"] = os.path.abspath(a.build)
    import dlt
    import orchlib
    dlt.BUILD = os.environ["DLT_BUILD"]
    kc, run_dir = None, None
    if a.kafka_nodes:
        from kafkalib import KafkaCluster
        run_dir = tempfile.mkdtemp(prefix="dlt-bench-kafka-")
        kc = KafkaCluster(run_dir, nodes=a.kafka_nodes)
    results = []
    try:
        if kc:
            t0 = time.time()
            kc.start()
            print(f"kafka: {a.kafka_nodes} node(s) ready in {time.time() - t0:.1f}s at "
                  f"{kc.bootstrap}", flush=True)
        for i in range(a.runs):
            r = one_run(dlt, orchlib, a.drivers, a.seconds, kafka=kc.bootstrap if kc else None,
                        prefix=f"fleet{os.getpid()}-{i}.")
            print(f"run {i + 1}: " + ", ".join(f"{k}={v:.1f}" if isinstance(v, float)
                                               else f"{k}={v}" for k, v in r.items()), flush=True)
            results.append(r)
    finally:
        if kc:
            try:
                if os.path.exists(os.path.join(run_dir, "cluster.env")):
                    kc.stop()
            finally:
                shutil.rmtree(run_dir, ignore_errors=True)
    bus = f"Kafka, {a.kafka_nodes} node(s)" if kc else "load-broker"
    print(f"\nmedians of {a.runs} runs, {a.drivers} drivers on {bus}, TSUNAMI at 50 requests/s "
          f"per driver for {a.seconds} s; nproc {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    for k in results[0]:
        if isinstance(results[0][k], (int, float)):
            print(f"  {k:16s} {statistics.median(r[k] for r in results):10.1f}")
    print("  states           " + " ".join(r["state"] for r in results))
    ok = all(r["state"] == "COMPLETED" and r["at_target"] == r["want"] for r in results)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
