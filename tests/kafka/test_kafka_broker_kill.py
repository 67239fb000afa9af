"""SIGKILL the broker that leads the most `metrics` partitions in the
middle of a test on the 3-node cluster, and start it again 15 s later:
the test completes with exact counts (no report lost, none counted twice:
the idempotent producers and the orchestrator's report bookkeeping), no
driver is declared dead, and the restarted broker rejoins the ISR.

The rule this needs (docs/KAFKA.md): the partitions the killed broker led
take no writes until the controller fences it (broker.session.timeout.ms,
9 s; 23-28 s seen on a loaded 2-core machine), so the heartbeats of a
driver keyed to one of them stall that long. --heartbeat-timeout must be
longer than that window: 30 s here (the default 10 s suits load-broker)."""

import collections
import time

from dlt import Cluster, check, log, run_test, wait_until
from faultlib import check_exact
from kafkalib import check_counts, fleet, prefix, shared
from orchlib import start_test, target_count, wait_drivers, wait_test, wait_under_way

COUNT = 6000
DELAY = 0.002  # 12 s per test
DOWN = 15


def main():
    kc = shared()
    pfx = prefix("brokerkill")
    try:
        with Cluster() as c:
            c.kafka = kc.bootstrap
            target, orch, drivers = fleet(c, pfx, 2, "--heartbeat-timeout", "30s")
            leaders = kc.leaders(pfx + "metrics")
            victim = collections.Counter(leaders.values()).most_common(1)[0][0]
            log(f"metrics leaders {leaders}: killing node {victim}")
            before = target_count(target.url)
            t0 = time.time()
            tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                        "message_count_per_driver": COUNT})
            wait_under_way(orch.url, tid, 1000, timeout=60)
            kc.kill(victim)
            killed_at = time.time()
            # The other two elect new leaders; reports go on meanwhile.
            wait_until(lambda: victim not in kc.leaders(pfx + "metrics").values(), timeout=60,
                       interval=0.5, what="new metrics leaders")
            log(f"new leaders after {time.time() - killed_at:.1f}s: "
                f"{kc.leaders(pfx + 'metrics')}")
            time.sleep(max(0.0, DOWN - (time.time() - killed_at)))
            kc.start(node=victim)
            t = wait_test(orch.url, tid, timeout=120)
            took = time.time() - t0
            # A driver may be 'suspect' while its heartbeats stall, never 'dead'.
            check_counts(t, target_count(target.url) - before, 2, COUNT, "broker killed")
            wait_drivers(orch.url, 2, timeout=60)
            log(f"test ran {(t['ended_ms'] - t['start_at_ms']) / 1000:.1f}s from start_at to "
                f"its end (planned {COUNT * DELAY:.0f}s), broker down {DOWN}s, "
                f"{took:.1f}s from POST to seeing it ended")
            check(all(d.alive() for d in drivers) and orch.alive(), "a process died")
            wait_until(lambda: all(len(p["isrs"]) == 3 for p in
                                   kc.topic(pfx + "metrics")["partitions"]),
                       timeout=60, interval=1, what="the restarted broker back in the ISR")
            # And the cluster serves the next test as before.
            before = target_count(target.url)
            tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": 300})
            check_exact(wait_test(orch.url, tid, timeout=60), target_count(target.url) - before,
                        2, 300, "after the restart")
    finally:
        kc.heal()


if __name__ == "__main__":
    run_test(main)
