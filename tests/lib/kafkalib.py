"""Real Apache Kafka for the tests in tests/kafka: a 1- or 3-node KRaft
cluster on loopback run by scripts/kafka.sh, with its nodes' PIDs so that a
test can kill, freeze and restart brokers, and the partition leaders read
with kcat.

The suite shares one 3-node cluster (run dir $DLT_BUILD/kafka-suite, started
and stopped by the ctest fixture in tests/kafka/kafka_cluster.py); each test
isolates itself with its own topic prefix (prefix()). A test that stops
brokers brings them back with heal(), also when it fails.

Standard library only."""

import collections
import contextlib
import json
import os
import random
import shlex
import signal
import socket
import subprocess
import time

from dlt import BUILD, _ephemeral_range, log

SOURCE = os.environ.get("DLT_SOURCE") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
KAFKA_SH = os.path.join(SOURCE, "scripts", "kafka.sh")
SUITE_DIR = os.path.join(BUILD, "kafka-suite")


def _free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_base_port(nodes=3):
    """A base port P with P..P+nodes-1 and P+100..P+100+nodes-1 free, below
    the kernel's ephemeral range (see dlt.free_port)."""
    lo, hi = _ephemeral_range()
    first, last = (10000, lo - 200) if lo > 12000 else (hi + 1, 65000)
    rng = random.Random()
    for _ in range(200):
        base = rng.randint(first, last)
        if all(_free(base + off + i) for off in (0, 100) for i in range(nodes)):
            return base
    raise RuntimeError("no free port range for Kafka")


def metadata(bootstrap, topic=None, timeout=20):
    """The cluster's metadata (of one topic, or all), as kcat -L -J gives it."""
    argv = ["kcat", "-b", bootstrap, "-L", "-J", "-m", "10"]
    if topic:
        argv += ["-t", topic]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"kcat -L: {r.stderr[-500:]}")
    return json.loads(r.stdout)


def topic_of(bootstrap, name):
    """The metadata of the topic name, or None when the cluster lacks it."""
    for t in metadata(bootstrap, name).get("topics", []):
        if t["topic"] == name and not t.get("error"):
            return t
    return None


class KafkaCluster:
    """The nodes of one run dir of scripts/kafka.sh."""

    def __init__(self, run_dir, nodes=3, base_port=None, sets=()):
        self.run_dir = run_dir
        self.nodes = nodes
        self.base_port = base_port
        self.sets = list(sets)
        self._read_layout()

    def _read_layout(self):
        env = os.path.join(self.run_dir, "cluster.env")
        if os.path.exists(env):
            with open(env) as f:
                for line in f:
                    k, _, v = line.strip().partition("=")
                    if k == "NODES":
                        self.nodes = int(v)
                    elif k == "BASE_PORT":
                        self.base_port = int(v)

    @property
    def bootstrap(self):
        return ",".join(f"127.0.0.1:{self.base_port + i}" for i in range(self.nodes))

    def port(self, node):
        return self.base_port + node - 1

    def _sh(self, *args, timeout=240):
        argv = [KAFKA_SH, *args, "--run-dir", self.run_dir]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(map(shlex.quote, argv))} -> {r.returncode}:\n"
                               f"{r.stderr[-3000:]}")
        return r.stdout

    def start(self, node=None, timeout=180):
        """Start every node not running (or only `node`) and wait until
        ready. The first start formats the run dir."""
        args = ["start", "--timeout", str(timeout)]
        if not os.path.exists(os.path.join(self.run_dir, "cluster.env")):
            if self.base_port is None:
                self.base_port = choose_base_port(self.nodes)
            args += ["--nodes", str(self.nodes), "--base-port", str(self.base_port)]
            for kv in self.sets:
                args += ["--set", kv]
        if node is not None:
            args += ["--node", str(node)]
        t0 = time.time()
        self._sh(*args, timeout=timeout + 60)
        self._read_layout()
        log(f"kafka: {'node ' + str(node) if node else 'cluster'} ready in "
            f"{time.time() - t0:.1f}s at {self.bootstrap}")
        return self.bootstrap

    def stop(self, node=None):
        args = ["stop"] + (["--node", str(node)] if node else [])
        self._sh(*args)

    def pid(self, node):
        """The PID of a running node, or None."""
        path = os.path.join(self.run_dir, f"node-{node}.pid")
        try:
            with open(path) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return None
        return pid if f"node-{node}.properties" in cmd else None

    def alive(self, node):
        return self.pid(node) is not None

    def signal(self, node, sig):
        pid = self.pid(node)
        if pid is None:
            raise RuntimeError(f"kafka node {node} is not running")
        os.kill(pid, sig)
        return pid

    def kill(self, node):
        """SIGKILL one node and wait until it is gone."""
        pid = self.signal(node, signal.SIGKILL)
        deadline = time.time() + 10
        while time.time() < deadline and os.path.exists(f"/proc/{pid}"):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.05)
        return pid

    def heal(self):
        """SIGCONT every node and start those not running: the state a test
        must leave the shared cluster in."""
        for n in range(1, self.nodes + 1):
            pid = self.pid(n)
            if pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGCONT)
        if not all(self.alive(n) for n in range(1, self.nodes + 1)):
            self.start()

    def metadata(self, topic=None, timeout=20):
        return metadata(self.bootstrap, topic, timeout)

    def topic(self, name):
        return topic_of(self.bootstrap, name)

    def leaders(self, name):
        """partition -> leader node id of a topic."""
        t = self.topic(name)
        if t is None:
            raise RuntimeError(f"topic {name} not found")
        return {p["partition"]: p["leader"] for p in t["partitions"]}


def shared():
    """The suite's 3-node cluster (started by the fixture)."""
    kc = KafkaCluster(SUITE_DIR)
    if kc.base_port is None or not all(kc.alive(n) for n in range(1, kc.nodes + 1)):
        raise RuntimeError(f"the suite's Kafka cluster is not running in {SUITE_DIR} "
                           "(run the kafka_cluster_setup test, or ctest -L kafka)")
    return kc


def prefix(name):
    """A topic prefix of this test's own, so that tests sharing the cluster
    never see each other's messages or consumer groups."""
    return f"{name}-{os.getpid()}-{time.time_ns() % 10**9}."


def check_counts(t, served, drivers, count, what):
    """t is COMPLETED with drivers x count requests sent and answered, as
    many as the target served, every driver final and none dead (a broker
    fault may leave one 'suspect' for a while)."""
    from dlt import check
    agg = t["aggregate"]
    log(f"{what}: {t['state']}, sent {agg['requests_sent']}, responses "
        f"{agg['responses_received']}, target {served}, liveness "
        f"{[p['liveness'] for p in t['per_driver']]}")
    check(t["state"] == "COMPLETED", f"{what}: state {t['state']}: {t['reason']}")
    check(agg["requests_sent"] == drivers * count == served == agg["responses_received"],
          f"{what}: counts {agg['requests_sent']}/{agg['responses_received']}, target {served}")
    check(len(t["per_driver"]) == drivers, f"{what}: {len(t['per_driver'])} drivers")
    for p in t["per_driver"]:
        check(p["final"] and p["requests_sent"] == count == p["responses_received"]
              and p["liveness"] != "dead", f"{what}: driver {p}")


def fleet(c, pfx, n, *orch_args):
    """A target, an orchestrator (with orch_args) and n drivers firing at
    its /ping, all on topic prefix pfx in the Cluster c; returns (target,
    orchestrator, drivers) once the n drivers are alive."""
    target = c.target()
    orch = c.orchestrator("--topic-prefix", pfx, *orch_args)
    drivers = [c.driver("--topic-prefix", pfx, target=target.url + "/ping") for _ in range(n)]
    wait_fleet(c, pfx, orch, n)
    return target, orch, drivers


# A consumer group's state, members with their assignments, and committed
# offsets, by Debian's python3-kafka (run by /usr/bin/python3).
_DESCRIBE_GROUP = """
import sys
from kafka import KafkaAdminClient
a = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=10000)
for g in a.describe_consumer_groups([sys.argv[2]]):
    print("state", g.state, "protocol", g.protocol, "members", len(g.members))
    for m in g.members:
        print(" member", m.member_id, m.client_host, m.member_assignment)
for tp, o in sorted(a.list_consumer_group_offsets(sys.argv[2]).items()):
    print(" committed", tp.topic, tp.partition, o.offset)
"""


def describe_fleet(bootstrap, pfx, timeout=60):
    """Log what Kafka holds for the fleet on topic prefix pfx: its
    orchestrator's consumer group (state, members, assignments and
    committed offsets) and the messages in each partition of register and
    heartbeat. For a failure in which drivers did not reach their
    orchestrator."""
    group = f"{pfx}dlt-orchestrator"
    try:
        r = subprocess.run(["/usr/bin/python3", "-c", _DESCRIBE_GROUP, bootstrap, group],
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        log(f"group {group} -> {r.returncode}:\n{r.stdout[-3000:]}{r.stderr[-1500:]}")
    except (OSError, subprocess.SubprocessError) as e:
        log(f"group {group}: {e}")
    for name in ("register", "heartbeat"):
        try:
            t = topic_of(bootstrap, pfx + name)
            log(f"topic {pfx}{name}: " + (", ".join(
                f"[{p['partition']}] leader {p['leader']} isr {p.get('isrs')}"
                for p in t["partitions"]) if t else "not found"))
            r = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", pfx + name,
                                "-o", "beginning", "-e", "-q", "-f", "%p\n"],
                               capture_output=True, text=True, timeout=timeout)
            per = dict(collections.Counter(r.stdout.split()))
            log(f"topic {pfx}{name}: messages by partition {per} (kcat -> {r.returncode})")
        except (OSError, subprocess.SubprocessError, RuntimeError) as e:
            log(f"topic {pfx}{name}: {e}")


def wait_fleet(c, pfx, orch, n, timeout=60):
    """wait_drivers for the n drivers of the fleet on prefix pfx; on a time
    out, what Kafka holds for the fleet is logged before the failure."""
    from orchlib import wait_drivers
    try:
        return wait_drivers(orch.url, n, timeout=timeout)
    except TimeoutError:
        describe_fleet(c.kafka, pfx)
        raise
