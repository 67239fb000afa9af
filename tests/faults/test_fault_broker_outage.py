"""load-broker is stopped (SIGTERM) for 5 s in the middle of a test and
started again on the same --listen port. It comes back empty, as a new
cluster on a new internal port; every client finds it again through the
bootstrap address:
- the drivers keep running the test against the target and keep their
  reports and heartbeats buffered; they reach the new broker;
- the orchestrator declares nobody dead while Kafka does not answer (its
  heartbeat timeout counts from when it can hear again), notices the
  replaced cluster and joins its consumer group anew, and consumes again;
- the test ends COMPLETED with exact counts (the target's own count);
- a driver stopped (SIGTERM) while Kafka is down stops within 13 s: it
  exits 0 when its last messages got through once the broker was back,
  else it gives up on them after 10 s, says so and exits 1 (nothing is
  lost silently, and it never hangs);
- a second test runs after the outage; every other process exits 0.

Timings: the test is 14 s per driver; the broker is down from about 2 s to
7 s into it; default heartbeat timeout (10 s)."""

import os
import time

from dlt import Cluster, check, free_port, get_json, log, run_test, wait_until
from faultlib import broker_on, target_total
from orchlib import get_test, start_test, wait_drivers, wait_test

COUNT = 3500
DELAY = 0.004  # 14 s per driver
OUTAGE_S = 5.0


def main():
    with Cluster() as c:
        port = free_port()
        broker = broker_on(c, port)
        target = c.target()
        orch = c.orchestrator()
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)

        before = target_total(target)
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                    "message_count_per_driver": COUNT})
        wait_until(lambda: get_test(orch.url, tid)["state"] == "RUNNING", timeout=20,
                   what="the test running")
        # A driver that is not taking part, to be stopped while Kafka is down.
        quitter = c.driver(target=target.url + "/ping", name="load-driver-quitter")
        time.sleep(2.0)

        rc = broker.stop()
        down_at = time.time()
        check(rc == 0, f"load-broker exited {rc} on SIGTERM")
        log("load-broker stopped")
        quitter.signal(15)
        time.sleep(OUTAGE_S)
        t = get_test(orch.url, tid)
        check(t["state"] == "RUNNING", f"during the outage the test is {t['state']}: {t['reason']}")
        broker = broker_on(c, port)
        # Stopped last, after the clients (the harness stops in reverse order).
        c.procs.remove(broker)
        c.procs.insert(0, broker)
        back_at = time.time()
        log(f"load-broker back after {back_at - down_at:.1f}s on the same port")

        # The quitter's stop is bounded: its final messages are delivered
        # if the broker is back within its 10 s flush (exit 0); otherwise it
        # gives up on them, says so, and exits 1.
        rc = quitter.p.wait(20)
        took = time.time() - down_at
        quitter.killed = True  # its status is judged here
        log(f"driver stopped during the outage: exit {rc} after {took:.1f}s")
        gave_up = "giving up on them" in quitter.stderr_text()
        check(took < 13.0, f"the quitter took {took:.1f}s to stop")
        check((rc == 0 and not gave_up) or (rc == 1 and gave_up),
              f"quitter exited {rc}, gave up: {gave_up}")

        def hearing():
            ds = get_json(orch.url + "/api/drivers")["drivers"]
            fresh = [d for d in ds if d["node_id"] in {x.node_id for x in drivers}
                     and d["liveness"] == "alive" and d["since_heartbeat_ms"] is not None
                     and d["since_heartbeat_ms"] < 1500 and d["last_heartbeat_ms"] >
                     back_at * 1000]
            return len(fresh) == 2
        wait_until(hearing, timeout=30, interval=0.1, what="heartbeats after the outage")
        log(f"orchestrator hears both drivers {time.time() - back_at:.1f}s after the restart")

        t = wait_test(orch.url, tid, timeout=60)
        log(f"test {t['state']} {time.time() - back_at:.1f}s after the restart: {t['reason']}")
        served = target_total(target) - before
        agg = t["aggregate"]
        check(t["state"] == "COMPLETED", f"state {t['state']}: {t['reason']}")
        check(agg["requests_sent"] == 2 * COUNT == served and
              agg["responses_received"] == 2 * COUNT,
              f"counts {agg['requests_sent']}/{agg['responses_received']}, target {served}")
        for p in t["per_driver"]:
            check(p["final"] and p["requests_sent"] == COUNT == p["responses_received"],
                  f"driver {p}")
        text = orch.stderr_text()
        check("kafka does not answer" in text, "the orchestrator did not notice the outage")
        check("the cluster was replaced" in text, "the orchestrator did not see the new cluster")
        check("declared dead" not in text, "a driver was declared dead during the outage")

        # The group works again: a second test.
        before = target_total(target)
        tid2 = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": 500})
        t2 = wait_test(orch.url, tid2, timeout=30)
        check(t2["state"] == "COMPLETED", f"second test {t2['state']}: {t2['reason']}")
        check(t2["aggregate"]["requests_sent"] == 1000 == target_total(target) - before,
              f"second test counts {t2['aggregate']['requests_sent']}")
        for p in [orch, target, *drivers]:
            check(p.alive(), f"{p.name} died")
        log(f"artifacts in {os.path.dirname(orch.logpath)}")


if __name__ == "__main__":
    run_test(main)
