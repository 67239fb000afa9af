"""A driver whose broadcast positions belong to a cluster that is gone.

load-broker (one partition per topic, so positions are known) runs two
tests with two drivers: each driver then stands at offset 2 of test_config
and of trigger. One driver is frozen (SIGSTOP), load-broker is restarted
empty on the same port, and a test is started: its config is offset 0 of
the new log. Two configs for another driver follow (offsets 1 and 2), so
when the frozen driver is let go (SIGCONT) the new log already reaches past
its old position, and nothing tells librdkafka that the position is stale.

- The driver notices that the cluster was replaced and reads test_config
  and trigger again from the beginning: it takes the test, which ends
  COMPLETED on both drivers with exact counts, and it runs none of the two
  earlier tests again, nor the configs it re-reads.
- Before the fix it stayed at offset 2 and the test ended PARTIAL: "ready
  wait timed out" for it, though it was alive and heartbeating.

Then the orchestrator's side: a fake driver that heartbeats IDLE but never
reads configs is left out of the next test early, with a reason that says
so, instead of a silent ready timeout."""

import json
import time

from dlt import Cluster, check, get_json, kcat_produce, log, run_test, wait_until, free_port
from faultlib import broker_on, driver_view, target_total
from orchlib import fake_driver, get_test, start_test, wait_drivers, wait_test

COUNT = 200


def main():
    with Cluster() as c:
        port = free_port()
        broker = broker_on(c, port, "--partitions", "1")
        target = c.target()
        # Liveness is not what this test is about: a frozen driver stays
        # alive for 20 s of silence (2 missed 10 s heartbeats).
        orch = c.orchestrator("--heartbeat-interval", "10s", "--heartbeat-timeout", "60s",
                              "--ready-timeout", "20s")
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)
        for _ in range(2):
            tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": 20})
            t = wait_test(orch.url, tid, timeout=30)
            check(t["state"] == "COMPLETED", f"warm-up test {t['state']}: {t['reason']}")

        frozen = drivers[1]
        frozen.signal(19)  # SIGSTOP
        rc = broker.stop()
        check(rc == 0, f"load-broker exited {rc}")
        broker = broker_on(c, port, "--partitions", "1")
        c.procs.remove(broker)
        c.procs.insert(0, broker)
        back_ms = time.time() * 1000
        log("load-broker restarted empty; one driver frozen")

        def heard_again():
            d = driver_view(orch.url, drivers[0].node_id)
            return d and d["last_heartbeat_ms"] and d["last_heartbeat_ms"] > back_ms
        wait_until(heard_again, timeout=30, what="the orchestrator hearing the running driver")
        # A driver not heard since the orchestrator could hear again may
        # have gone, and gets no new test. The frozen one is made heard on
        # the new cluster, as if it had frozen just after its next
        # heartbeat: the stale position is this test's subject.
        kcat_produce(c.kafka, "heartbeat", json.dumps(
            {"node_id": frozen.node_id, "heartbeat": "YES", "timestamp": round(time.time(), 3),
             "state": "IDLE", "requests_sent": 0, "listening": True}), key=frozen.node_id)
        wait_until(lambda: driver_view(orch.url, frozen.node_id)["liveness"] == "alive",
                   timeout=10, what="the frozen driver heard on the new cluster")

        before = target_total(target)
        tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": COUNT})
        wait_until(lambda: get_test(orch.url, tid)["state"] != "CREATED", timeout=20,
                   what="the test configured")
        t = get_test(orch.url, tid)
        check(t["state"] == "CONFIGURED", f"test {t['state']}: {t['reason']}")
        for i in range(2):
            kcat_produce(c.kafka, "test_config", json.dumps(
                {"test_id": f"t-other-{i}", "test_type": "AVALANCHE",
                 "message_count_per_driver": 1, "drivers": ["d-nobody"]}))
        frozen.signal(18)  # SIGCONT
        log("frozen driver let go")

        t = wait_test(orch.url, tid, timeout=60)
        log(f"test {t['state']}: {t['reason']}")
        check(t["state"] == "COMPLETED", f"state {t['state']}: {t['reason']}")
        agg = t["aggregate"]
        served = target_total(target) - before
        check(agg["requests_sent"] == 2 * COUNT == served,
              f"sent {agg['requests_sent']}, target {served}")
        text = frozen.stderr_text()
        check("the cluster was replaced" in text, "the driver did not notice the new cluster")
        check(text.count("ready") >= 1, "no ready line")
        # Read again, nothing ran twice: 3 tests, each run once.
        runs = text.count(" done: sent ")
        check(runs == 3, f"the frozen driver ran {runs} tests, not 3")
        # It says so within a check or two (each second) of reading up to date.
        wait_until(lambda: driver_view(orch.url, frozen.node_id)["listening"] is True,
                   timeout=10, what="the driver saying it listens again")

        # A participant that heartbeats but does not read configs.
        deaf = fake_driver(c, "--deaf-configs", target=target.url + "/ping", name="deaf-driver")
        wait_drivers(orch.url, 3)
        t0 = time.time()
        tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": 50})
        t = wait_test(orch.url, tid, timeout=40)
        took = time.time() - t0
        log(f"with a deaf participant: {t['state']} in {took:.1f}s: {t['reason']}")
        check(t["state"] == "PARTIAL", f"state {t['state']}: {t['reason']}")
        check("had not read the test config" in t["reason"] and deaf.node_id in t["reason"],
              f"reason: {t['reason']}")
        check("ready wait timed out" not in t["reason"], f"reason: {t['reason']}")
        check(took < 18, f"the deaf participant held the test {took:.1f}s (ready timeout 20s)")
        check(t["aggregate"]["requests_sent"] == 100, f"sent {t['aggregate']['requests_sent']}")
        for p in [orch, target, *drivers]:
            check(p.alive(), f"{p.name} died")
        check(get_json(orch.url + "/api/drivers") is not None, "drivers view")


if __name__ == "__main__":
    run_test(main)
