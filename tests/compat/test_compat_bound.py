"""A participant of the original format that never reports cannot hold a
test: an original driver registers and is then killed (it never
unregisters, as the original never does); it stays quiet, so a test
includes it. With --report-grace 2s and a 1 s request timeout, 3 requests
give it config + 3 x (0 + 1 s) + 2 s: the test ends PARTIAL then, its reason
names the driver, dlt's driver's counts are exact, and the silent driver is
dead afterwards, so the next test runs without it and completes."""

import time

from compatlib import driver_liveness, original_driver
from dlt import Cluster, check, log, run_test, wait_until
from orchlib import start_test, target_count, wait_test

COUNT = 3


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator("--report-grace", "2s")
        ours = c.driver(target=target.url + "/ping")
        gone = original_driver(c, target.url + "/ping")
        wait_until(lambda: driver_liveness(orch.url, gone.node_id) in ("alive", "quiet"),
                   timeout=20, what="the original driver registered")
        gone.kill()
        wait_until(lambda: driver_liveness(orch.url, ours.node_id) == "alive", timeout=20,
                   what="dlt's driver alive")
        t0 = time.time()
        tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": COUNT,
                                    "timeout_ms": 1000})
        t = wait_test(orch.url, tid, timeout=30)
        took = time.time() - t0
        log(f"{t['state']} after {took:.1f}s: {t['reason']}")
        check(t["state"] == "PARTIAL", f"state {t['state']}: {t['reason']}")
        check(gone.node_id in t["reason"] and "no final report" in t["reason"],
              f"reason {t['reason']}")
        check(4.5 <= took <= 15, f"given up after {took:.1f}s (bound 5 s)")
        pd = {p["node_id"]: p for p in t["per_driver"]}
        check(pd[ours.node_id]["requests_sent"] == COUNT and pd[ours.node_id]["final"],
              f"dlt's driver {pd[ours.node_id]}")
        check(driver_liveness(orch.url, gone.node_id) == "dead", "the silent driver is not dead")
        before = target_count(target.url)
        tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": COUNT})
        t = wait_test(orch.url, tid, timeout=30)
        check(t["state"] == "COMPLETED" and len(t["per_driver"]) == 1,
              f"next test {t['state']} on {len(t['per_driver'])}: {t['reason']}")
        check(target_count(target.url) - before == COUNT, "counts")


if __name__ == "__main__":
    run_test(main)
