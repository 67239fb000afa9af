"""The kafka suite's shared cluster: `setup` starts 3 KRaft nodes (fresh
log dirs, auto.create.topics.enable=false so that every test shows that
dlt creates its topics itself) in $DLT_BUILD/kafka-suite; `cleanup` stops
them by PID. Registered as the ctest fixture kafka3."""

import os
import shutil
import sys

from dlt import check, log, run_test
from kafkalib import SUITE_DIR, KafkaCluster


def setup():
    old = KafkaCluster(SUITE_DIR)
    if old.base_port is not None:
        log(f"stopping what an earlier run left in {SUITE_DIR}")
        old.stop()
    shutil.rmtree(SUITE_DIR, ignore_errors=True)
    kc = KafkaCluster(SUITE_DIR, nodes=3, sets=["auto.create.topics.enable=false"])
    kc.start()
    md = kc.metadata()
    check(len(md["brokers"]) == 3, f"brokers: {md['brokers']}")


def cleanup():
    kc = KafkaCluster(SUITE_DIR)
    check(kc.base_port is not None, f"no cluster in {SUITE_DIR}")
    kc.stop()
    check(not any(kc.alive(n) for n in range(1, kc.nodes + 1)), "a node is still running")
    # The logs stay for a look after a failure; the data goes.
    for n in range(1, kc.nodes + 1):
        shutil.rmtree(os.path.join(SUITE_DIR, f"data-{n}"), ignore_errors=True)


if __name__ == "__main__":
    run_test({"setup": setup, "cleanup": cleanup}[sys.argv[1]])
