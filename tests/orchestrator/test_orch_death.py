"""load-orchestrator: a driver killed with SIGKILL in the middle of a test
makes the test PARTIAL within the heartbeat timeout plus one second; the
killed driver is shown dead (in the test and in /api/drivers); the
survivors' results are complete; a trigger ABORT for the test follows, so a
driver that was only frozen stops when it resumes. A later test runs on the
survivors alone."""

import time

from dlt import Cluster, KcatConsumer, check, get_json, log, run_test, wait_until
from orchlib import get_test, start_test, target_count, wait_drivers, wait_test

TIMEOUT_S = 3.0
COUNT = 1500
DELAY = 0.002  # 3 s of requests per driver


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator("--heartbeat-timeout", f"{TIMEOUT_S}s")
        drivers = [c.driver(target=target.url + "/ping") for _ in range(3)]
        wait_drivers(orch.url, 3)
        triggers = KcatConsumer(c.kafka, "trigger", cluster=c)
        time.sleep(0.5)

        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                    "message_count_per_driver": COUNT})
        victim, survivors = drivers[0], drivers[1:]

        # Kill the victim once it is well into the test.
        def victim_running():
            t = get_test(orch.url, tid)
            pd = {p["node_id"]: p for p in t["per_driver"]}
            return t["state"] == "RUNNING" and pd.get(victim.node_id, {}).get(
                "requests_sent", 0) >= 200
        wait_until(victim_running, timeout=20, interval=0.05, what="the victim running")
        victim.kill()
        killed_at = time.time()
        log(f"killed {victim.node_id}")

        t = wait_test(orch.url, tid, timeout=30)
        took = time.time() - killed_at
        log(f"test {t['state']} {took:.2f}s after the kill: {t['reason']}")
        check(t["state"] == "PARTIAL", f"state {t['state']}: {t['reason']}")
        check(took <= TIMEOUT_S + 1.0, f"PARTIAL {took:.2f}s after the kill "
              f"(heartbeat timeout {TIMEOUT_S}s)")
        check(victim.node_id in t["reason"] and "dead" in t["reason"], f"reason {t['reason']!r}")
        pd = {p["node_id"]: p for p in t["per_driver"]}
        check(pd[victim.node_id]["liveness"] == "dead", f"victim {pd[victim.node_id]}")
        check(pd[victim.node_id]["final"] is False, "the victim has a final report")
        for s in survivors:
            p = pd[s.node_id]
            check(p["final"] is True and p["requests_sent"] == COUNT and
                  p["responses_received"] == COUNT and p["errors"] == 0,
                  f"survivor {s.node_id} incomplete: {p}")
        agg = t["aggregate"]
        check(agg["requests_sent"] == sum(p["requests_sent"] for p in pd.values()),
              f"aggregate {agg['requests_sent']} is not the sum of the drivers'")
        check(agg["requests_sent"] >= 2 * COUNT + 200, f"aggregate {agg['requests_sent']}")

        ds = {d["node_id"]: d for d in get_json(orch.url + "/api/drivers")["drivers"]}
        check(ds[victim.node_id]["liveness"] == "dead", f"/api/drivers: {ds[victim.node_id]}")
        check(all(ds[s.node_id]["liveness"] == "alive" for s in survivors), "survivors not alive")

        abort = triggers.wait_for(lambda m: m.get("test_id") == tid and
                                  m.get("trigger") == "ABORT", timeout=10)
        check(abort is not None, "no trigger ABORT after PARTIAL")

        # The next test takes the survivors only.
        before = target_count(target.url)
        tid2 = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": 500})
        t2 = wait_test(orch.url, tid2, timeout=30)
        check(t2["state"] == "COMPLETED", f"second test {t2['state']}: {t2['reason']}")
        check(sorted(t2["drivers"]) == sorted(s.node_id for s in survivors),
              f"second test drivers {t2['drivers']}")
        check(t2["aggregate"]["requests_sent"] == 1000 == target_count(target.url) - before,
              f"second test counts {t2['aggregate']['requests_sent']}")


if __name__ == "__main__":
    run_test(main)
