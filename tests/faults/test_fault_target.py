"""The target dies (SIGKILL) or hangs (SIGSTOP) in the middle of a test run
by the orchestrator on two drivers. Every request is accounted for: after
the kill the rest are connect errors (and those cut in flight are "other"),
after the hang they time out; for every driver requests_sent =
responses_received + connect + timeout + other, the test ends (COMPLETED:
the drivers did their part) in bounded time, and the drivers and the
orchestrator stay up and run the next test.

Timings: each test is 4 s long per driver; timeout_ms 1000 for the hang."""

import signal
import time

from dlt import Cluster, check, log, run_test, wait_until
from faultlib import proc_state, target_total
from orchlib import start_test, wait_drivers, wait_test, wait_under_way

COUNT = 2000
DELAY = 0.002  # 4 s per driver


def accounted(t, what):
    for p in t["per_driver"]:
        k = p["error_kinds"]
        done = p["responses_received"] + k["connect"] + k["timeout"] + k["other"]
        log(f"{what} {p['node_id']}: sent {p['requests_sent']}, responses "
            f"{p['responses_received']}, kinds {k}")
        check(p["final"] and p["requests_sent"] == COUNT == done,
              f"{what}: {p['node_id']} sent {p['requests_sent']}, accounted {done}: {k}")
        check(p["errors"] == sum(k.values()), f"{what}: errors {p['errors']} != {k}")
    agg = t["aggregate"]
    check(agg["requests_sent"] == 2 * COUNT, f"{what}: aggregate {agg['requests_sent']}")


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator()
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)
        cfg = {"test_type": "TSUNAMI", "test_message_delay": DELAY,
               "message_count_per_driver": COUNT, "timeout_ms": 1000}

        # 1. The target dies.
        tid = start_test(orch.url, cfg)
        wait_under_way(orch.url, tid, 600, timeout=20)
        target.kill()
        t0 = time.time()
        log("target killed")
        t = wait_test(orch.url, tid, timeout=30)
        log(f"test {t['state']} {time.time() - t0:.1f}s after the kill")
        check(t["state"] == "COMPLETED", f"state {t['state']}: {t['reason']}")
        accounted(t, "killed target")
        agg = t["aggregate"]
        check(agg["error_kinds"]["connect"] > 0, f"no connect errors: {agg['error_kinds']}")

        # 2. The target hangs: accepted connections are never answered.
        target = c.target()
        cfg["target_url"] = target.url + "/ping"
        tid = start_test(orch.url, cfg)
        wait_under_way(orch.url, tid, 600, timeout=20)
        target.signal(signal.SIGSTOP)
        wait_until(lambda: proc_state(target.pid) == "T", timeout=5, what="the target stopped")
        t0 = time.time()
        t = wait_test(orch.url, tid, timeout=40)
        log(f"test {t['state']} {time.time() - t0:.1f}s after the target hung")
        check(t["state"] == "COMPLETED", f"state {t['state']}: {t['reason']}")
        accounted(t, "hung target")
        check(t["aggregate"]["error_kinds"]["timeout"] > 0,
              f"no timeouts: {t['aggregate']['error_kinds']}")
        target.signal(signal.SIGCONT)

        # The fleet serves the next test.
        time.sleep(1)
        before = target_total(target)
        tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": 300,
                                    "target_url": target.url + "/ping"})
        t = wait_test(orch.url, tid, timeout=30)
        check(t["state"] == "COMPLETED" and t["aggregate"]["errors"] == 0,
              f"next test {t['state']}: {t['aggregate']['error_kinds']}")
        check(target_total(target) - before == 600, "next test counts")
        for p in [orch, *drivers]:
            check(p.alive(), f"{p.name} died")


if __name__ == "__main__":
    run_test(main)
