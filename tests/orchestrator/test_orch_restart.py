"""load-orchestrator restarts on the same --db:
1. After SIGTERM (exit 0, at once, event streams open or not) and a new start, earlier tests and their results,
   time series and the list are served as before, and the fleet is known.
2. A test RUNNING when the orchestrator stops continues: the new process
   rebuilds each driver's state from the stored reports, takes the rest
   from Kafka, and the test completes with exact counts.
3. The same after SIGKILL: reports that were stored but whose offsets were
   not committed come again from Kafka and change nothing (exact counts),
   and no participant is declared dead for the time the orchestrator could
   not hear it."""

import json
import signal
import time

from dlt import Cluster, check, get_json, log, run_test, wait_until
from orchlib import (EventStream, get_test, start_test, target_count, wait_drivers, wait_test,
                     wait_under_way)

COUNT = 2500
DELAY = 0.002  # 5 s per test


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator()
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)

        # A finished test to find again.
        tid_a = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": 700},
                           original=True)
        a = wait_test(orch.url, tid_a)
        check(a["state"] == "COMPLETED", f"test A {a['state']}: {a['reason']}")
        ts_a = get_json(f"{orch.url}/api/tests/{tid_a}/timeseries")

        # 1 + 2: SIGTERM in the middle of test B.
        before = target_count(target.url)
        tid_b = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                      "message_count_per_driver": COUNT})
        wait_under_way(orch.url, tid_b, 600)
        streams = [EventStream(orch.url) for _ in range(3)]  # open while it stops
        wait_until(lambda: all(s.of("drivers") for s in streams), timeout=5,
                   what="event streams under way")
        t0 = time.time()
        rc = orch.stop()
        took = time.time() - t0
        log(f"SIGTERM with {len(streams)} event streams open: exit {rc} in {took:.2f}s")
        check(rc == 0, f"exit status {rc} after SIGTERM")
        check(took < 3.0, f"stopping took {took:.2f}s with event streams open")
        wait_until(lambda: all(s.ended for s in streams), timeout=5, what="the streams to end")
        orch = c.orchestrator(db=orch.db)
        b_now = get_test(orch.url, tid_b)
        check(b_now["state"] in ("RUNNING", "COMPLETED"), f"test B after restart: {b_now['state']}")
        b = wait_test(orch.url, tid_b, timeout=40)
        check(b["state"] == "COMPLETED", f"test B {b['state']}: {b['reason']}")
        served = target_count(target.url) - before
        check(b["aggregate"]["requests_sent"] == 2 * COUNT == served and
              b["aggregate"]["responses_received"] == 2 * COUNT,
              f"test B counts {b['aggregate']['requests_sent']}/"
              f"{b['aggregate']['responses_received']}, target {served}")
        for pd in b["per_driver"]:
            check(pd["final"] and pd["requests_sent"] == COUNT, f"test B driver {pd}")
        ts_b = get_json(f"{orch.url}/api/tests/{tid_b}/timeseries")
        check(ts_b["aggregate"] and ts_b["aggregate"][-1]["responses_received"] == 2 * COUNT,
              f"test B series ends {ts_b['aggregate'][-1:]}")

        # Earlier results are served unchanged.
        a2 = get_test(orch.url, tid_a)
        check(a2["state"] == "COMPLETED", f"test A after restart: {a2['state']}")
        for k in ("aggregate", "per_driver", "drivers", "config", "start_at_ms", "ended_ms"):
            va, vb = json.dumps(a[k], sort_keys=True), json.dumps(a2[k], sort_keys=True)
            if k == "per_driver":
                # Liveness is judged now, not then; everything else is kept.
                va = json.dumps([{**p, "liveness": ""} for p in a[k]], sort_keys=True)
                vb = json.dumps([{**p, "liveness": ""} for p in a2[k]], sort_keys=True)
            check(va == vb, f"test A {k} changed across the restart")
        check(get_json(f"{orch.url}/api/tests/{tid_a}/timeseries") == ts_a, "series of A changed")
        ids = [t["test_id"] for t in get_json(orch.url + "/api/tests")["tests"]]
        check(ids[:2] == [tid_b, tid_a], f"list after restart: {ids}")
        wait_drivers(orch.url, 2)

        # 3: SIGKILL in the middle of test C.
        before = target_count(target.url)
        tid_c = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                      "message_count_per_driver": COUNT})
        wait_under_way(orch.url, tid_c, 1000)
        orch.kill()
        log("orchestrator killed with SIGKILL")
        orch = c.orchestrator(db=orch.db)
        cc = wait_test(orch.url, tid_c, timeout=60)
        check(cc["state"] == "COMPLETED", f"test C {cc['state']}: {cc['reason']}")
        served = target_count(target.url) - before
        check(cc["aggregate"]["requests_sent"] == 2 * COUNT == served and
              cc["aggregate"]["responses_received"] == 2 * COUNT,
              f"test C counts {cc['aggregate']['requests_sent']}, target {served}")
        prom = json.dumps(get_json(orch.url + "/api/drivers"))
        check(all(d.node_id in prom for d in drivers), "fleet not re-learnt")
        check(orch.alive() and all(d.alive() for d in drivers), "a process died")
        orch.signal(signal.SIGINT)
        check(orch.p.wait(15) == 0, "exit status after SIGINT")


if __name__ == "__main__":
    run_test(main)
