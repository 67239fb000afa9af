"""The orchestrator restarts on the same --db while a test runs on the
3-node cluster: after SIGTERM, and after SIGKILL (its consumer-group member
then stays until the session times out, 6 s). Each time the test completes
with exact counts: reports stored but not committed come again and change
nothing, nothing is lost, and no driver is declared dead. The time from the
restart to the new process holding its partitions is logged."""

import time

from dlt import Cluster, check, get_json, log, run_test
from kafkalib import check_counts, fleet, prefix, shared
from orchlib import get_test, start_test, target_count, wait_drivers, wait_test, wait_under_way

COUNT = 2500
DELAY = 0.002  # 5 s per test


def main():
    kc = shared()
    pfx = prefix("orchrestart")
    with Cluster() as c:
        c.kafka = kc.bootstrap
        target, orch, drivers = fleet(c, pfx, 2)
        for how in ("SIGTERM", "SIGKILL"):
            before = target_count(target.url)
            tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                        "message_count_per_driver": COUNT})
            wait_under_way(orch.url, tid, 800, timeout=60)
            if how == "SIGTERM":
                check(orch.stop() == 0, "exit status after SIGTERM")
            else:
                orch.kill()
            t0 = time.time()
            orch = c.orchestrator("--topic-prefix", pfx, db=orch.db)
            state = get_test(orch.url, tid)["state"]
            check(state in ("RUNNING", "COMPLETED"), f"{how}: test after restart {state}")
            t = wait_test(orch.url, tid, timeout=90)
            took = time.time() - t0
            # Right after a restart the new process has not heard every
            # heartbeat yet: a driver may show 'suspect', never 'dead'.
            check_counts(t, target_count(target.url) - before, 2, COUNT, f"after {how}")
            log(f"{how}: restarted orchestrator saw the test end {took:.1f}s after its start")
            dv = get_json(orch.url + "/api/drivers")["drivers"]
            check(sorted(d["node_id"] for d in dv) == sorted(d.node_id for d in drivers),
                  f"{how}: fleet {dv}")
            wait_drivers(orch.url, 2, timeout=30)
        check(all(d.alive() for d in drivers), "a driver died")


if __name__ == "__main__":
    run_test(main)
