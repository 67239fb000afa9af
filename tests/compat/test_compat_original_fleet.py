"""Original drivers alone, under dlt's orchestrator, as the original code
behaves (tests/compat/original_driver.py):

- two original drivers register and then say nothing (no heartbeat before
  a trigger); 15 s later they are still there, shown "quiet", not dead,
  and a test started then runs on both;
- they start on the config (ignoring the trigger), send one report each in
  seconds: the test ends COMPLETED with the exact count (from the config,
  and at the target), latencies in ms that match the target's 50 ms delay
  (not 0.05 ms), and the figures they never send (errors, status codes,
  p90 ... p999, rps) null, not 0;
- their heartbeat ("timestamp": "time.time()") is taken as one;
- a second test 12 s after the first, on the same drivers, completes too;
- two original drivers that send the same report_id (the original's ids
  are millisecond timestamps) are both counted."""

import time

from compatlib import check_ms, driver_liveness, original_driver
import re

from dlt import Cluster, check, get_json, http, log, run_test, wait_until
from orchlib import start_test, target_count, wait_test

COUNT = 20
DELAY_MS = 50


def prom_labelled(url, name, labels):
    text = http("GET", url + "/metrics")[2].decode()
    m = re.search(rf"^{name}\{{{labels}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def run_one(orch, target, drivers, what, named=False):
    before = target_count(target.url)
    t0 = time.time()
    body = {"test_type": "TSUNAMI", "test_message_delay": 0, "message_count_per_driver": COUNT}
    if named:
        body["drivers"] = [d.node_id for d in drivers]
    tid = start_test(orch.url, body, original=not named)
    t = wait_test(orch.url, tid, timeout=60)
    log(f"{what}: {t['state']} in {time.time() - t0:.1f}s: {t['reason']!r}")
    check(t["state"] == "COMPLETED", f"{what}: {t['state']}: {t['reason']}")
    agg = t["aggregate"]
    served = target_count(target.url) - before
    n = len(drivers)
    check(agg["requests_sent"] == n * COUNT == agg["responses_received"] == served,
          f"{what}: sent {agg['requests_sent']}, received {agg['responses_received']}, "
          f"target {served}")
    check_ms(agg["latency_ms"], DELAY_MS * 0.9, DELAY_MS * 10, what)
    for k in ("p90", "p95", "p99", "p999", "mode"):
        check(agg["latency_ms"][k] is None, f"{what}: aggregate {k} is {agg['latency_ms'][k]}")
    pd = {p["node_id"]: p for p in t["per_driver"]}
    for d in drivers:
        p = pd[d.node_id]
        check(p["final"] and p["requests_sent"] == COUNT, f"{what}: {p}")
        check_ms(p["latency_ms"], DELAY_MS * 0.9, DELAY_MS * 10, f"{what} {d.node_id}")
        for k in ("errors", "status_codes", "error_kinds", "rps", "elapsed_ms"):
            check(p[k] is None, f"{what}: {d.node_id} {k} is {p[k]!r}, not unknown")
        check(p["latency_ms"]["p99"] is None, f"{what}: p99 {p['latency_ms']['p99']}")
    return t


def main():
    with Cluster() as c:
        c.broker()
        target = c.target("--delay-ms", str(DELAY_MS))
        orch = c.orchestrator()
        drivers = [original_driver(c, target.url + "/ping") for _ in range(2)]
        wait_until(lambda: all(driver_liveness(orch.url, d.node_id) for d in drivers),
                   timeout=20, what="the original drivers registered")
        time.sleep(15)
        for d in drivers:
            lv = driver_liveness(orch.url, d.node_id)
            check(lv == "quiet", f"{d.node_id} is {lv} 15 s after registering")
        run_one(orch, target, drivers, "first test")
        # Their heartbeat comes ~2 s after the trigger, its timestamp a string.
        def heard():
            ds = {x["node_id"]: x for x in get_json(orch.url + "/api/drivers")["drivers"]}
            return all(ds[d.node_id]["last_heartbeat_ms"] for d in drivers)
        wait_until(heard, timeout=10, what="the original drivers' heartbeats")
        rejected = prom_labelled(orch.url, "dlt_kafka_rejected_total", 'topic="heartbeat"')
        check(rejected == 0, f"{rejected} heartbeat(s) rejected")
        time.sleep(12)
        run_one(orch, target, drivers, "second test, 12 s later")

        # Colliding report ids. The drivers above stay known (an original
        # driver never unregisters), so the test names the two.
        for d in drivers:
            d.stop()
        twins = [original_driver(c, target.url + "/ping", report_id="1712345678901",
                                 name=f"original-twin-{i}") for i in range(2)]
        time.sleep(1)
        t = run_one(orch, target, twins, "same report_id", named=True)
        check(len(t["per_driver"]) >= 2, "participants")
        check(orch.alive(), "the orchestrator died")


if __name__ == "__main__":
    run_test(main)
