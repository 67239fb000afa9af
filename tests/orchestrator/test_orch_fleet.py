"""load-orchestrator as the fleet changes between tests: a test runs on the
two drivers alive; a third driver starts; the next test runs on all three
with exact counts; a test asking for more drivers (min_drivers) than are
alive waits, bounded, and fails with the reason; a test naming one driver
runs on that one alone; a driver that unregisters (SIGTERM) leaves the
registry and the next test runs without it; POST stop on a running test
sends ABORT and the test ends ABORTED once the drivers' final reports are
in, with the load stopped."""

import time

from dlt import Cluster, check, get_json, log, run_test
from orchlib import get_test, start_test, target_count, wait_drivers, wait_test

COUNT = 400
READY_S = 3.0


def run(orch, target, body, n_drivers, original=False):
    before = target_count(target.url)
    tid = start_test(orch.url, body, original=original)
    t = wait_test(orch.url, tid, timeout=40)
    check(t["state"] == "COMPLETED", f"{tid}: {t['state']}: {t['reason']}")
    check(len(t["drivers"]) == n_drivers, f"{tid} ran on {t['drivers']}")
    n = body["message_count_per_driver"]
    check(t["aggregate"]["requests_sent"] == n * n_drivers == target_count(target.url) - before,
          f"{tid} counts {t['aggregate']['requests_sent']}")
    return t


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator("--ready-timeout", f"{READY_S}s")
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)
        body = {"test_type": "AVALANCHE", "test_message_delay": 0,
                "message_count_per_driver": COUNT}
        t1 = run(orch, target, body, 2, original=True)

        drivers.append(c.driver(target=target.url + "/ping"))
        wait_drivers(orch.url, 3)
        t2 = run(orch, target, body, 3, original=True)
        check(sorted(t2["drivers"]) == sorted(d.node_id for d in drivers), "t2 drivers")
        check(len(get_test(orch.url, t1["test_id"])["drivers"]) == 2, "t1 changed")

        # Not enough drivers: waits up to the ready timeout, then FAILED.
        t0 = time.time()
        tid = start_test(orch.url, {**body, "min_drivers": 4})
        check(get_test(orch.url, tid)["state"] == "CREATED", "min_drivers 4 did not wait")
        t = wait_test(orch.url, tid, timeout=20)
        took = time.time() - t0
        check(t["state"] == "FAILED" and "3 of the 4" in t["reason"], f"{t['state']}: "
              f"{t['reason']}")
        check(READY_S - 0.3 <= took <= READY_S + 2.0, f"min_drivers wait took {took:.2f}s")

        # Named drivers: exactly those.
        one = drivers[1].node_id
        t4 = run(orch, target, {**body, "drivers": [one]}, 1)
        check(t4["drivers"] == [one] and t4["config"]["drivers"] == [one], f"t4 {t4['drivers']}")

        # A driver that stops cleanly unregisters and is gone.
        gone = drivers.pop(0)
        check(gone.stop() == 0, "driver exit status")
        def removed():
            ids = [d["node_id"] for d in get_json(orch.url + "/api/drivers")["drivers"]]
            return gone.node_id not in ids
        from dlt import wait_until
        wait_until(removed, timeout=10, what="the driver to unregister")
        log(f"{gone.node_id} unregistered")
        run(orch, target, body, 2)

        # Stop a running test.
        from orchlib import post
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.002,
                                    "message_count_per_driver": 10000})
        wait_until(lambda: get_test(orch.url, tid)["aggregate"]["responses_received"] > 500,
                   timeout=20, interval=0.05, what="the test under way")
        t0 = time.time()
        status, doc = post(f"{orch.url}/api/tests/{tid}/stop", {})
        check(status == 200 and doc["test_id"] == tid, f"stop -> {status} {doc}")
        t = wait_test(orch.url, tid, timeout=15)
        log(f"{t['state']} {time.time() - t0:.2f}s after the stop: {t['reason']}")
        check(t["state"] == "ABORTED" and "stopped on request" in t["reason"],
              f"{t['state']}: {t['reason']}")
        check(all(p["final"] for p in t["per_driver"]), "a final report is missing")
        sent = t["aggregate"]["requests_sent"]
        check(500 < sent < 2 * 10000, f"requests_sent {sent} after a stop")
        n1 = target_count(target.url)
        time.sleep(0.5)
        check(target_count(target.url) == n1, "load goes on after the stop")
        status, doc = post(f"{orch.url}/api/tests/{tid}/stop", {})
        check(status == 409, f"second stop -> {status} {doc}")


if __name__ == "__main__":
    run_test(main)
