"""Stop all three brokers (SIGTERM, by PID) while the orchestrator and two
drivers run idle, wait, start them again from their log dirs: the drivers
and the orchestrator reconnect on their own (no restart of theirs), the
topics and their messages are still there (each partition's end offset
is kept), a test run before the outage is still served unchanged, and a
new test completes with exact counts. Then the orchestrator is restarted
on its --db: its group's committed offsets survived the cluster restart,
so nothing is replayed into the finished tests (their figures stay
exact)."""

import subprocess
import time

from dlt import Cluster, check, get_json, log, run_test
from faultlib import check_exact
from kafkalib import fleet, prefix, shared
from orchlib import get_test, start_test, target_count, wait_drivers, wait_test

COUNT = 400


def end_offsets(kc, topic):
    """partition -> end offset, read with kcat (-o -1 reads the last one)."""
    r = subprocess.run(["kcat", "-b", kc.bootstrap, "-C", "-t", topic, "-o", "-1", "-e", "-q",
                        "-f", "%p %o\n"], capture_output=True, text=True, timeout=60)
    out = {}
    for line in r.stdout.split("\n"):
        if line.strip():
            p, o = line.split()
            out[int(p)] = int(o) + 1
    return out


def main():
    kc = shared()
    pfx = prefix("clusterrestart")
    try:
        with Cluster() as c:
            c.kafka = kc.bootstrap
            target, orch, drivers = fleet(c, pfx, 2)
            tid_a = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.002,
                                          "message_count_per_driver": COUNT})
            a = wait_test(orch.url, tid_a, timeout=60)
            check_exact(a, target_count(target.url), 2, COUNT, "before the outage")
            offs = end_offsets(kc, pfx + "metrics")
            log(f"metrics end offsets before: {offs}")

            t0 = time.time()
            kc.stop()
            log(f"all three brokers stopped in {time.time() - t0:.1f}s")
            time.sleep(5)
            t0 = time.time()
            kc.start()
            up = time.time() - t0
            after = end_offsets(kc, pfx + "metrics")
            log(f"cluster back in {up:.1f}s; metrics end offsets after: {after}")
            check(all(after.get(p, 0) >= o for p, o in offs.items()),
                  f"messages lost: {offs} -> {after}")
            t1 = time.time()
            wait_drivers(orch.url, 2, timeout=90)
            log(f"fleet alive {time.time() - t1:.1f}s after the cluster was ready")
            check(get_test(orch.url, tid_a)["aggregate"] == a["aggregate"], "test A changed")

            before = target_count(target.url)
            t1 = time.time()
            tid_b = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.002,
                                          "message_count_per_driver": COUNT})
            b = wait_test(orch.url, tid_b, timeout=90)
            log(f"test B after the restart took {time.time() - t1:.1f}s")
            check_exact(b, target_count(target.url) - before, 2, COUNT, "after the outage")

            check(orch.stop() == 0, "orchestrator exit status")
            orch = c.orchestrator("--topic-prefix", pfx, db=orch.db)
            wait_drivers(orch.url, 2, timeout=60)
            time.sleep(3)
            for tid, want in ((tid_a, a), (tid_b, b)):
                now = get_test(orch.url, tid)
                check(now["state"] == "COMPLETED" and now["aggregate"] == want["aggregate"],
                      f"{tid} after the orchestrator's restart: {now['state']} "
                      f"{now['aggregate']}")
            ids = [t["test_id"] for t in get_json(orch.url + "/api/tests")["tests"]]
            check(ids[:2] == [tid_b, tid_a], f"stored tests {ids}")
            check(all(d.alive() for d in drivers), "a driver died")
    finally:
        kc.heal()


if __name__ == "__main__":
    run_test(main)
