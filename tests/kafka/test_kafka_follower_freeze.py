"""SIGSTOP one broker of the 3-node cluster that follows the `test_config`
partition, just before a test is started: the test completes with exact
counts.

A frozen follower stays in the partition's ISR until the controller fences
it (broker.session.timeout.ms, 9 s; longer on a loaded machine), so with
acks=all Kafka acknowledges the config only then, and no driver can read
it before. A ready wait counted from the send (5 s) ran out first: the
test ended with "ready wait timed out" and drivers that never saw their
config. The ready wait now counts from Kafka's acknowledgement, and the
orchestrator says how long that took.

Heartbeats stall as long (every partition has a replica on each broker),
so --heartbeat-timeout is 30 s, as in test_kafka_broker_kill."""

import re
import signal
import time

from dlt import Cluster, check, log, run_test, wait_until
from kafkalib import check_counts, fleet, prefix, shared
from orchlib import start_test, target_count, wait_drivers, wait_test

COUNT = 300
DELAY = 0.005


def main():
    kc = shared()
    pfx = prefix("followerfreeze")
    try:
        with Cluster() as c:
            c.kafka = kc.bootstrap
            target, orch, drivers = fleet(c, pfx, 2, "--heartbeat-timeout", "30s")
            part = kc.topic(pfx + "test_config")["partitions"][0]
            victim = next(r["id"] if isinstance(r, dict) else r for r in part["replicas"]
                          if (r["id"] if isinstance(r, dict) else r) != part["leader"])
            log(f"test_config leader {part['leader']}, replicas {part['replicas']}: "
                f"freezing node {victim}")
            before = target_count(target.url)
            kc.signal(victim, signal.SIGSTOP)
            frozen_at = time.time()
            tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                        "message_count_per_driver": COUNT})
            # The config is acknowledged once the controller fenced the
            # frozen broker; the broker comes back after the test ended.
            t = wait_test(orch.url, tid, timeout=120)
            took = time.time() - frozen_at
            kc.signal(victim, signal.SIGCONT)
            check_counts(t, target_count(target.url) - before, 2, COUNT, "follower frozen")
            acked = re.findall(r"test " + re.escape(tid) + r": Kafka acknowledged its "
                               r"test_config ([0-9.]+) s after", orch.stderr_text())
            log(f"test_config acknowledged after {acked[0] if acked else '<1'} s; "
                f"{took:.1f} s from the freeze to the end of the test")
            check(bool(acked), "no slow acknowledgement of test_config was logged "
                  "(the freeze did not hold the config back)")
            check(all(d.alive() for d in drivers) and orch.alive(), "a process died")
            wait_until(lambda: all(len(p["isrs"]) == 3 for p in
                                   kc.topic(pfx + "test_config")["partitions"]),
                       timeout=90, interval=1, what="the frozen broker back in the ISR")
            wait_drivers(orch.url, 2, timeout=60)
    finally:
        kc.heal()


if __name__ == "__main__":
    run_test(main)
