#!/usr/bin/env python3
"""bench/coordination.py on real Apache Kafka instead of load-broker.

    bench/coordination_kafka.py [--nodes 3] [coordination.py options...]

Starts a fresh 1- or 3-node KRaft cluster on loopback with scripts/kafka.sh
(its own run dir and free ports), runs bench/coordination.py unchanged
except that its load-broker is replaced by that cluster (each fleet on a
topic prefix of its own), and stops the cluster by PID at the end, whatever
happened. Same figures, same output table, results in
bench/results/coordination-*.json with "kafka_nodes" added. Bounded by
coordination.py's own 15 minutes plus the cluster's start and stop."""

import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import benchlib as bl  # noqa: E402
import coordination  # noqa: E402
from kafkalib import KafkaCluster  # noqa: E402


class _ExternalKafka:
    """Stands where coordination.py's load-broker Proc stood."""

    def __init__(self, bootstrap):
        self.ready_line = f"ready bootstrap={bootstrap}"
        self.name = "kafka"

    def stop(self):
        pass


def main():
    nodes = 3
    argv = sys.argv[1:]
    if "--nodes" in argv:
        i = argv.index("--nodes")
        nodes = int(argv[i + 1])
        del argv[i:i + 2]
    if nodes not in (1, 3):
        raise SystemExit("--nodes: 1 or 3")
    run_dir = tempfile.mkdtemp(prefix="dlt-bench-kafka-")
    kc = KafkaCluster(run_dir, nodes=nodes)
    real_proc = bl.Proc
    state = {"prefix": None, "n": 0}

    def proc(name, args, *a, **kw):
        if name == "load-broker":
            state["n"] += 1
            state["prefix"] = f"bench{os.getpid()}-{state['n']}."
            return _ExternalKafka(kc.bootstrap)
        if name.startswith(("load-orchestrator", "load-driver")):
            args = [*args, "--topic-prefix", state["prefix"]]
        return real_proc(name, args, *a, **kw)

    saved = bl.save_results

    def save(name, data):
        data["kafka_nodes"] = nodes
        data["kafka"] = "Apache Kafka 4.1.1 (scripts/kafka.sh)"
        return saved(name + f"-kafka{nodes}", data)

    try:
        t0 = time.time()
        kc.start()
        bl.log(f"kafka: {nodes} node(s) ready in {time.time() - t0:.1f}s at {kc.bootstrap}")
        bl.Proc = proc
        bl.save_results = save
        sys.argv = [sys.argv[0], *argv]
        return coordination.main()
    finally:
        bl.Proc = real_proc
        bl.save_results = saved
        try:
            if os.path.exists(os.path.join(run_dir, "cluster.env")):
                kc.stop()
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
