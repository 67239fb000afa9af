"""Two fleets share one broker through --topic-prefix: fleet A has 8 drivers,
fleet B has 2, each with its own orchestrator and target. Each orchestrator
sees only its own drivers; a test runs in both fleets at the same time and
each completes on all of its drivers with exact counts at its own target,
and a start skew reported from the drivers' first requests."""

import os
import sys

from dlt import Cluster, check, get_json, log, run_test

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "orchestrator"))
from orchlib import get_test, start_test, target_count, wait_drivers, wait_test  # noqa: E402

FLEETS = {"fleetA.": 8, "fleetB.": 2}
COUNT = 300


def main():
    with Cluster() as c:
        c.broker(*[a for p in FLEETS for a in ("--topic-prefix", p)])
        fleet = {}
        for prefix, n in FLEETS.items():
            target = c.target()
            orch = c.orchestrator("--topic-prefix", prefix)
            drivers = [c.driver("--topic-prefix", prefix, target=target.url + "/ping")
                       for _ in range(n)]
            fleet[prefix] = (target, orch, drivers)
        for prefix, (target, orch, drivers) in fleet.items():
            wait_drivers(orch.url, len(drivers), timeout=30)
            seen = sorted(d["node_id"] for d in get_json(orch.url + "/api/drivers")["drivers"])
            check(seen == sorted(d.node_id for d in drivers),
                  f"{prefix}: orchestrator sees {seen}, not its own drivers")

        tests = {}
        for prefix, (target, orch, drivers) in fleet.items():
            tests[prefix] = start_test(orch.url, {"test_type": "TSUNAMI",
                                                  "test_message_delay": 0.005,
                                                  "message_count_per_driver": COUNT})
        for prefix, (target, orch, drivers) in fleet.items():
            t = wait_test(orch.url, tests[prefix], timeout=60)
            n = len(drivers)
            agg = t["aggregate"]
            log(f"{prefix}: {t['state']} on {len(t['drivers'])} drivers, sent "
                f"{agg['requests_sent']}, skew {t.get('start_skew_ms')} ms")
            check(t["state"] == "COMPLETED", f"{prefix}: test ended {t['state']}: {t['reason']}")
            check(sorted(t["drivers"]) == sorted(d.node_id for d in drivers),
                  f"{prefix}: participants {t['drivers']}")
            check(agg["requests_sent"] == n * COUNT and agg["responses_received"] == n * COUNT
                  and agg["errors"] == 0, f"{prefix}: aggregate {agg}")
            check(target_count(target.url) == n * COUNT,
                  f"{prefix}: target saw {target_count(target.url)}, want {n * COUNT}")
            skew = t.get("start_skew_ms")
            check(skew is not None and 0 <= skew < 1000, f"{prefix}: start skew {skew}")
            check(all(d["final"] for d in t["per_driver"]), f"{prefix}: a driver is not final")


if __name__ == "__main__":
    run_test(main)
