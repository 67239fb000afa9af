"""load-orchestrator: while a 4 s TSUNAMI runs on two real drivers, polling
GET /api/tests/{id} shows each driver's requests_sent change at least every
1.2 s, each driver's statistics are never more than a second old (the
orchestrator asks for a report every 500 ms unless told otherwise), and
the live event stream carries the test (state changes and at
least once a second), a point per time-series interval, and the drivers
once a second. The windowed time series adds up to the totals."""

import time

from dlt import Cluster, check, get_json, log, run_test
from orchlib import EventStream, get_test, start_test, wait_drivers, wait_test

COUNT = 1600
DELAY = 0.0025  # seconds between requests: 1600 requests take 4 s
MAX_GAP = 1.2
MAX_AGE_MS = 1000


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator()
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)
        es = EventStream(orch.url)
        check(es.status == 200 and es.content_type.startswith("text/event-stream"),
              f"events: {es.status} {es.content_type}")

        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                    "message_count_per_driver": COUNT})
        last_value = {d.node_id: None for d in drivers}
        last_change = {}
        gaps = {d.node_id: 0.0 for d in drivers}
        polls = 0
        max_age = {d.node_id: 0 for d in drivers}
        deadline = time.time() + 40
        state = None
        while time.time() < deadline:
            t = get_test(orch.url, tid)
            now = time.time()
            polls += 1
            state = t["state"]
            if state not in ("CREATED", "CONFIGURED", "RUNNING"):
                break
            start_at = t.get("start_at_ms") or 0
            now_ms = int(now * 1000)
            for pd in t["per_driver"]:
                nid, sent = pd["node_id"], pd["requests_sent"]
                # Age of its statistics: when they were taken at the driver
                # (start_at + elapsed_ms of its latest report) to now. The
                # first report is due one interval after the start.
                if state == "RUNNING" and not pd["final"] and pd.get("elapsed_ms", 0) > 0:
                    max_age[nid] = max(max_age[nid], now_ms - (start_at + pd["elapsed_ms"]))
                if pd["final"] or sent >= COUNT:
                    last_change.pop(nid, None)
                    continue
                if sent != last_value[nid]:
                    if nid in last_change and last_value[nid]:
                        gaps[nid] = max(gaps[nid], now - last_change[nid])
                    if sent > 0:
                        last_change[nid] = now
                    last_value[nid] = sent
                elif nid in last_change:
                    gaps[nid] = max(gaps[nid], now - last_change[nid])
            time.sleep(0.05)
        log(f"{polls} polls; longest time without a new requests_sent per driver: "
            + ", ".join(f"{k}: {v:.2f}s" for k, v in gaps.items())
            + "; oldest statistics: " + ", ".join(f"{k}: {v} ms" for k, v in max_age.items()))
        t = wait_test(orch.url, tid, timeout=30)
        check(t["state"] == "COMPLETED", f"state {t['state']}: {t['reason']}")
        for nid, gap in gaps.items():
            check(gap <= MAX_GAP, f"{nid}: requests_sent went {gap:.2f}s without an update")
        for nid, age in max_age.items():
            check(0 < age <= MAX_AGE_MS, f"{nid}: statistics were {age} ms old")
        check(all(v is not None and v > 0 for v in last_value.values()),
              f"never saw a running count: {last_value}")
        check(t["aggregate"]["requests_sent"] == 2 * COUNT, f"aggregate {t['aggregate']}")

        # The time series: one aggregate point per 500 ms report interval.
        check(t["config"]["report_interval_ms"] == 500, f"config {t['config']}")
        ts = get_json(f"{orch.url}/api/tests/{tid}/timeseries")
        agg = ts["aggregate"]
        check(6 <= len(agg) <= 12, f"{len(agg)} aggregate points for a 4 s test")
        check([p["t_ms"] for p in agg] == sorted(p["t_ms"] for p in agg), "points out of order")
        check(agg[-1]["responses_received"] == 2 * COUNT, f"last point {agg[-1]}")
        mid = agg[1]
        check(mid["rps"] > 0.5 * 2 / DELAY, f"aggregate rps {mid['rps']} in {mid}")
        check(mid["p50"] is not None and mid["p50"] <= mid["p99"] <= mid["max"], f"point {mid}")
        for d in drivers:
            pts = ts["drivers"][d.node_id]
            check(len(pts) >= 3 and pts[-1]["requests_sent"] == COUNT, f"{d.node_id}: {pts}")

        # The event stream saw it all.
        time.sleep(1.2)
        tests = es.of("test")
        states = [d["state"] for _, d in tests if d and d["test_id"] == tid]
        for s in ("RUNNING", "COMPLETED"):
            check(s in states, f"no test event with state {s}: {sorted(set(states))}")
        running = [tt for tt, d in tests if d and d["test_id"] == tid and d["state"] == "RUNNING"]
        check(len(running) >= 4, f"only {len(running)} test events while running")
        spacing = max(b - a for a, b in zip(running, running[1:]))
        check(spacing <= 1.5, f"test events {spacing:.2f}s apart while running")
        check(all("per_driver" in d for _, d in tests if d), "test event without per_driver")
        points = [d for _, d in es.of("point") if d and d["test_id"] == tid]
        agg_points = [p for p in points if p["node_id"] == ""]
        check(len(agg_points) == len(agg), f"{len(agg_points)} aggregate point events, "
              f"{len(agg)} stored points")
        for d in drivers:
            n = len([p for p in points if p["node_id"] == d.node_id])
            check(n == len(ts["drivers"][d.node_id]), f"{d.node_id}: {n} point events")
        drv = es.of("drivers")
        check(len(drv) >= 5, f"{len(drv)} drivers events")
        check(all(len(d["drivers"]) == 2 for _, d in drv[-3:]), "drivers events lack a driver")
        es.close()


if __name__ == "__main__":
    run_test(main)
