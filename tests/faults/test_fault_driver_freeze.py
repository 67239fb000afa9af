"""A driver frozen with SIGSTOP in the middle of a TSUNAMI is shown suspect
after 2 missed heartbeats and dead after the heartbeat timeout; the test
ends PARTIAL once the other driver is done, and a trigger ABORT follows.
When the frozen driver resumes (SIGCONT) it finds its test over: before any
request made overdue by the freeze goes out it reads the trigger topic, acts
on the ABORT that was published while it was frozen, sends its final report
("aborted") and goes back to IDLE. The target's request count does not grow
after SIGCONT. A later test runs on both drivers. Every process exits 0.

Timings: heartbeat timeout 3 s; the test is 6 s long per driver."""

import signal
import time

from dlt import Cluster, KcatConsumer, check, log, run_test, wait_until
from faultlib import driver_view, proc_state, target_total, wait_liveness, wait_quiet
from orchlib import get_test, start_test, wait_drivers, wait_test

HB_TIMEOUT = 3.0
COUNT = 3000
DELAY = 0.002  # 6 s per driver


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator("--heartbeat-timeout", f"{HB_TIMEOUT}s")
        victim = c.driver(target=target.url + "/ping")
        survivor = c.driver(target=target.url + "/ping")
        wait_drivers(orch.url, 2)
        metrics = KcatConsumer(c.kafka, "metrics", cluster=c)
        heartbeats = KcatConsumer(c.kafka, "heartbeat", cluster=c)
        triggers = KcatConsumer(c.kafka, "trigger", cluster=c)
        time.sleep(0.5)

        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                    "message_count_per_driver": COUNT})

        def victim_sent():
            t = get_test(orch.url, tid)
            pd = {p["node_id"]: p for p in t["per_driver"]}
            return pd.get(victim.node_id, {}).get("requests_sent", 0)
        wait_until(lambda: victim_sent() >= 300, timeout=20, interval=0.05,
                   what="the victim under way")
        victim.signal(signal.SIGSTOP)
        stopped_at = time.time()
        wait_until(lambda: proc_state(victim.pid) == "T", timeout=5, what="the victim stopped")
        log(f"froze {victim.node_id} after {victim_sent()} requests")

        wait_liveness(orch.url, victim.node_id, "suspect", timeout=HB_TIMEOUT + 2)
        suspect_after = time.time() - stopped_at
        wait_liveness(orch.url, victim.node_id, "dead", timeout=HB_TIMEOUT + 2)
        dead_after = time.time() - stopped_at
        log(f"suspect {suspect_after:.2f}s and dead {dead_after:.2f}s after SIGSTOP")
        check(suspect_after <= HB_TIMEOUT, f"suspect only after {suspect_after:.2f}s")
        check(HB_TIMEOUT - 1.2 <= dead_after <= HB_TIMEOUT + 1.5, f"dead after {dead_after:.2f}s")

        t = wait_test(orch.url, tid, timeout=30)
        check(t["state"] == "PARTIAL", f"state {t['state']}: {t['reason']}")
        check(victim.node_id in t["reason"] and "dead" in t["reason"], f"reason {t['reason']!r}")
        pd = {p["node_id"]: p for p in t["per_driver"]}
        s = pd[survivor.node_id]
        check(s["final"] and s["requests_sent"] == COUNT == s["responses_received"],
              f"survivor {s}")
        triggers.wait_for(lambda m: m.get("test_id") == tid and m.get("trigger") == "ABORT",
                          timeout=10)
        check(proc_state(victim.pid) == "T", "the victim resumed too early")

        before = wait_quiet(lambda: target_total(target), still_for=0.5)
        frozen_for = time.time() - stopped_at
        victim.signal(signal.SIGCONT)
        resumed_at = time.time()
        final = metrics.wait_for(lambda m: m.get("test_id") == tid and
                                 m.get("node_id") == victim.node_id and m.get("final") is True,
                                 timeout=10)
        took = time.time() - resumed_at
        log(f"frozen {frozen_for:.1f}s; final report {took:.2f}s after SIGCONT: "
            f"sent {final['requests_sent']}, failure {final.get('failure')!r}")
        check(final.get("failure") == "aborted", f"victim final report {final}")
        check(final["requests_sent"] < COUNT, f"the victim sent all {COUNT}")
        check(took < 5, f"the victim took {took:.2f}s to stop after SIGCONT")
        heartbeats.wait_for(lambda m: m.get("node_id") == victim.node_id and
                            m.get("state") == "IDLE" and m.get("timestamp", 0) >= resumed_at,
                            timeout=10)
        after = wait_quiet(lambda: target_total(target), still_for=1.0)
        log(f"target requests: {before} before SIGCONT, {after} after")
        check(after == before, f"{after - before} request(s) reached the target after SIGCONT")

        # Both drivers serve the next test.
        wait_liveness(orch.url, victim.node_id, "alive", timeout=10)
        before = target_total(target)
        tid2 = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": 500})
        t2 = wait_test(orch.url, tid2, timeout=30)
        check(t2["state"] == "COMPLETED", f"next test {t2['state']}: {t2['reason']}")
        check(sorted(t2["drivers"]) == sorted([victim.node_id, survivor.node_id]),
              f"next test drivers {t2['drivers']}")
        check(t2["aggregate"]["requests_sent"] == 1000 == target_total(target) - before,
              f"next test counts {t2['aggregate']['requests_sent']}")
        check(driver_view(orch.url, victim.node_id)["state"] == "IDLE", "victim not IDLE")
        for p in (orch, victim, survivor, target):
            check(p.alive(), f"{p.name} died")


if __name__ == "__main__":
    run_test(main)
