"""Bad Kafka settings, each one clear line in the log within seconds, no
crash and no hang (the programs keep trying, as Kafka may come later, and
stop at once on SIGTERM with exit 0):
1. an unreachable bootstrap address (driver and orchestrator; the
   orchestrator still answers its REST API, and a test started then ends
   FAILED with a reason instead of hanging);
2. a wrong security protocol (SSL against a PLAINTEXT listener);
3. topics missing on a cluster with auto.create.topics.enable=false: a
   driver alone creates its seven topics (3 replicas each);
4. a replication factor larger than the brokers (DLT_TOPIC_REPLICATION=5
   on 3 brokers): the reason is logged, nothing is created."""

import time

import json
import os

from dlt import ARTIFACTS, Cluster, binary, check, free_port, http, log, run_test, wait_until
from kafkalib import prefix, shared
from orchlib import wait_test

SOON = 15  # seconds within which the reason must be in the log


def wait_log(p, *needles, timeout=SOON):
    t0 = time.time()
    wait_until(lambda: all(n in p.stderr_text() for n in needles), timeout=timeout,
               interval=0.2, what=f"{p.name} to log {needles}")
    took = time.time() - t0
    check(p.alive(), f"{p.name} exited: {p.stderr_tail()}")
    return took


def stop_ok(p):
    """Exit 0 on SIGTERM within 15 s: a driver that cannot reach Kafka looks
    at its stop flag between two Kafka calls of up to 5 s each (its connect
    loop), so up to about 10 s; seen 10.1 s under load."""
    t0 = time.time()
    rc = p.stop()
    took = time.time() - t0
    log(f"{p.name} stopped in {took:.1f}s")
    check(rc == 0 and took < 15, f"{p.name}: exit {rc} after {took:.1f}s on SIGTERM")
    return took


def scratch_db():
    os.makedirs(ARTIFACTS, exist_ok=True)
    return os.path.join(ARTIFACTS, f"bad-input-{os.getpid()}-{time.time_ns()}.db")


def start_unready(c, name, argv, env=None):
    """A process that is not expected to print its ready line."""
    return c.start(name, argv, env=env)


def main():
    kc = shared()
    with Cluster() as c:
        # 1. Nothing listens at the bootstrap address.
        dead = f"127.0.0.1:{free_port()}"
        c.kafka = dead
        d = start_unready(c, "load-driver", [binary("load-driver"), "--kafka", dead, "--db",
                                             scratch_db()])
        took = wait_log(d, dead, "Connection refused")
        log(f"unreachable: the driver says so after {took:.1f}s")
        orch = c.orchestrator()
        took = wait_log(orch, dead, "Connection refused")
        log(f"unreachable: the orchestrator says so after {took:.1f}s")
        t0 = time.time()
        st, _, body = http("POST", orch.url + "/api/tests",
                           {"test_type": "TSUNAMI", "test_message_delay": 0.01,
                            "message_count_per_driver": 10}, timeout=20)
        log(f"unreachable: POST /api/tests -> {st} in {time.time() - t0:.1f}s: {body[:200]!r}")
        check(time.time() - t0 < 15, "POST /api/tests hung")
        if st in (200, 201):
            # Accepted, and then ended with a reason, not left waiting.
            tid = json.loads(body)["test_id"]
            t = wait_test(orch.url, tid, timeout=30)
            log(f"unreachable: the test ended {t['state']}: {t['reason']}")
            check(t["state"] == "FAILED" and t["reason"], f"test {t['state']}: {t['reason']!r}")
        stop_ok(d)
        stop_ok(orch)

        # 2. SSL against a PLAINTEXT listener.
        c.kafka = kc.bootstrap
        d = start_unready(c, "load-driver", [binary("load-driver"), "--kafka", kc.bootstrap,
                                             "-X", "security.protocol=SSL", "--db",
                                             scratch_db()])
        took = wait_log(d, "SSL handshake failed")
        log(f"wrong protocol: the driver says so after {took:.1f}s")
        stop_ok(d)

        # 3. Auto-creation is off and the topics are missing: dlt creates them.
        pfx = prefix("autocreate")
        d = c.driver("--topic-prefix", pfx, timeout=40)
        for t in ("register", "heartbeat", "metrics", "test_config", "trigger", "test_trigger",
                  "test_data"):
            md = kc.topic(pfx + t)
            check(md is not None and all(len(p["replicas"]) == 3 for p in md["partitions"]),
                  f"topic {pfx}{t}: {md}")
        stop_ok(d)

        # 4. More replicas than brokers.
        pfx = prefix("rf5")
        env = {"DLT_TOPIC_REPLICATION": "5"}
        want = "cannot create topics with replication factor 5: the cluster has 3 broker(s) up"
        d = start_unready(c, "load-driver", [binary("load-driver"), "--kafka", kc.bootstrap,
                                             "--topic-prefix", pfx, "--db",
                                             scratch_db()], env=env)
        took = wait_log(d, want)
        log(f"replication 5 on 3 brokers: the driver says so after {took:.1f}s")
        port = free_port()
        o = start_unready(c, "load-orchestrator",
                          [binary("load-orchestrator"), "--kafka", kc.bootstrap, "--listen",
                           f"127.0.0.1:{port}", "--topic-prefix", pfx, "--db",
                           scratch_db()], env=env)
        took = wait_log(o, want)
        log(f"replication 5 on 3 brokers: the orchestrator says so after {took:.1f}s")
        time.sleep(2)
        made = [t["topic"] for t in kc.metadata()["topics"] if t["topic"].startswith(pfx)]
        check(not made, f"topics were created anyway: {made}")
        stop_ok(d)
        stop_ok(o)


if __name__ == "__main__":
    run_test(main)
