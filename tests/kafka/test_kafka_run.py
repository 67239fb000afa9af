"""On the 3-node cluster (auto.create.topics.enable=false): the orchestrator
and three drivers create their seven topics themselves, each with 3
replicas (one per broker); a TSUNAMI test started through the original REST
call and an AVALANCHE test started through /api/tests both complete on
every driver with exact counts, as many as the target served; so does a
mix over 60,000 rows of data split among the drivers, its rows carried on
test_data in several chunks per driver."""

import subprocess

from dlt import Cluster, check, get_json, log, run_test
from faultlib import check_exact
from kafkalib import fleet, prefix, shared
from orchlib import start_test, target_count, wait_drivers, wait_test

DRIVERS = 3
COUNT = 400


def main():
    kc = shared()
    pfx = prefix("run")
    # Auto-creation is off on this cluster: a topic nobody created is refused.
    r = subprocess.run(["kcat", "-b", kc.bootstrap, "-P", "-t", pfx + "nobody", "-X",
                        "message.timeout.ms=3000"], input=b"x\n", capture_output=True,
                       timeout=30)
    check(not kc.topic(pfx + "nobody"), "a topic was auto-created")
    log(f"kcat to a missing topic: exit {r.returncode}")
    with Cluster() as c:
        c.kafka = kc.bootstrap
        target, orch, drivers = fleet(c, pfx, DRIVERS)
        broadcast = ("test_config", "trigger", "test_trigger", "test_data")
        for t in ("register", "heartbeat", "metrics") + broadcast:
            md = kc.topic(pfx + t)
            check(md is not None, f"topic {pfx}{t} missing")
            want = 1 if t in broadcast else 6
            check(len(md["partitions"]) == want, f"{t}: {len(md['partitions'])} partitions")
            for p in md["partitions"]:
                check(len(p["replicas"]) == 3 and len(p["isrs"]) == 3,
                      f"{t} partition {p['partition']}: replicas {p['replicas']} isrs {p['isrs']}")

        before = target_count(target.url)
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.005,
                                    "message_count_per_driver": COUNT}, original=True)
        t = wait_test(orch.url, tid, timeout=90)
        check_exact(t, target_count(target.url) - before, DRIVERS, COUNT, "tsunami")
        check(sorted(t["drivers"]) == sorted(d.node_id for d in drivers),
              f"participants {t['drivers']}")
        log(f"tsunami start skew {t.get('start_skew_ms')} ms")

        # Every driver takes part (a slow machine may leave one 'suspect'
        # for a moment, and a test is started on the drivers alive then).
        wait_drivers(orch.url, DRIVERS, timeout=30)
        before = target_count(target.url)
        tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": COUNT,
                                    "concurrency": 8, "min_drivers": DRIVERS})
        t = wait_test(orch.url, tid, timeout=90)
        check_exact(t, target_count(target.url) - before, DRIVERS, COUNT, "avalanche")
        ids = [x["test_id"] for x in get_json(orch.url + "/api/tests")["tests"]]
        check(tid in ids, f"test list {ids}")

        # Data: 60,000 rows split three ways, about 400 KB of chunks each.
        wait_drivers(orch.url, DRIVERS, timeout=30)
        before = target_count(target.url)
        csv = "user\n" + "".join(f"user-{i:07d}-{'x' * 8}\n" for i in range(60000))
        tid = start_test(orch.url, {
            "test_type": "AVALANCHE", "message_count_per_driver": COUNT, "concurrency": 8,
            "min_drivers": DRIVERS, "data": {"csv": csv, "mode": "split"},
            "requests": [{"name": "u", "url": target.url + "/ping?u={{user}}"}]})
        t = wait_test(orch.url, tid, timeout=120)
        check_exact(t, target_count(target.url) - before, DRIVERS, COUNT, "data")
        sent = [x for x in orch.stderr_text().splitlines() if tid in x and "chunk(s)" in x]
        check(sent and int(sent[-1].split("sent in ")[1].split()[0]) >= 2 * DRIVERS,
              f"data: the chunks sent: {sent}")
        log(sent[-1].split("]")[-1].strip())


if __name__ == "__main__":
    run_test(main)
