"""load-orchestrator: garbage published with kcat on every topic (not JSON,
wrong types, missing fields, NUL bytes, deep nesting, values of about and
over 1 MB, a report with a corrupt histogram, a report for no known test,
replayed and far-future heartbeats) is logged and skipped: the process
stays up, counts what it rejected, learns no phantom driver, and the next
test runs to COMPLETED with exact counts. Then a test runs while one of
its participants (the fake driver, --garbage) sends invalid messages on
every one of its topics each second: the test completes with exact counts
and no approximation."""

import json
import os
import subprocess
import tempfile
import time

from dlt import Cluster, check, get_json, http, log, run_test, wait_until
from orchlib import fake_driver, start_test, target_count, wait_drivers, wait_test

TOPICS = ["register", "heartbeat", "metrics", "test_config", "trigger"]


def garbage(topic):
    now = time.time()
    big = 1024 * 1024
    out = [
        b"not json at all",
        b"",
        b"{",
        b"[]",
        b"null",
        b"{}",
        b'{"node_id": "d-x"} trailing',
        b'{"node_id": "d-\x00x", "heartbeat": "YES", "timestamp": 1}',
        b"[" * 100000 + b"]" * 100000,
        b'{"node_id": 12.5, "heartbeat": "YES", "timestamp": "soon"}',
        b'{"node_id": "bad id!", "node_IP": "1.2.3.4", "message_type": "DRIVER_NODE_REGISTER"}',
        b'{"node_id": "d-g1", "node_IP": 7, "message_type": "DRIVER_NODE_REGISTER"}',
        b'{"node_id": "d-g2", "node_IP": "x", "message_type": "HELLO"}',
        b'{"node_id": "d-g3", "heartbeat": "NO", "timestamp": 1}',
        b'{"node_id": "d-g4", "heartbeat": "YES", "timestamp": 1e300}',
        b'{"node_id": "d-g5", "heartbeat": "YES", "timestamp": NaN}',
        json.dumps({"node_id": "d-g6", "heartbeat": "YES", "timestamp": now - 3600}).encode(),
        json.dumps({"node_id": "d-g7", "heartbeat": "YES", "timestamp": now,
                    "state": "DANCING"}).encode(),
        json.dumps({"node_id": "d-g8", "test_id": "t-none", "report_id": "r-g8",
                    "metrics": {"mean_latency": "x", "median_latency": 1, "min_latency": 1,
                                "max_latency": 1}}).encode(),
        json.dumps({"node_id": "d-g9", "test_id": "t-none", "report_id": "r-g9", "seq": 0,
                    "metrics": {"mean_latency": 1, "median_latency": 1, "min_latency": 1,
                                "max_latency": 1}, "histogram": "!!!!"}).encode(),
        json.dumps({"node_id": "d-g10", "test_id": "t-none", "report_id": "r-g10", "seq": -1,
                    "metrics": {"mean_latency": 1, "median_latency": 1, "min_latency": 1,
                                "max_latency": 1}}).encode(),
        json.dumps({"test_id": "t-none", "test_type": "TSUNAMI", "test_message_delay": -1,
                    "message_count_per_driver": "lots"}).encode(),
        json.dumps({"test_id": "t-none", "trigger": "MAYBE"}).encode(),
        # About 1 MB of valid JSON with an over-long field, and over 1 MiB.
        json.dumps({"node_id": "d-big", "node_IP": "x" * 900000, "heartbeat": "MAYBE",
                    "message_type": "DRIVER_NODE_REGISTER", "timestamp": now}).encode(),
        b'{"pad": "' + b"y" * (big + 100) + b'"}',
        os.urandom(4096),
    ]
    return out


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator()
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)

        with tempfile.TemporaryDirectory() as tmp:
            sent = 0
            for topic in TOPICS:
                files = []
                for i, value in enumerate(garbage(topic)):
                    path = os.path.join(tmp, f"{topic}-{i}")
                    with open(path, "wb") as f:
                        f.write(value)
                    files.append(path)
                r = subprocess.run(["kcat", "-b", c.kafka, "-P", "-t", topic, "-k", "garbage",
                                    "-X", "message.max.bytes=4000000", *files],
                                   capture_output=True, timeout=60)
                check(r.returncode == 0, f"kcat -P {topic}: {r.stderr.decode()[-300:]}")
                sent += len(files)
            log(f"published {sent} garbage messages on {len(TOPICS)} topics")

        def all_seen():
            text = http("GET", orch.url + "/metrics")[2].decode()
            rejected = {}
            for line in text.splitlines():
                if line.startswith("dlt_kafka_rejected_total{"):
                    topic = line.split('"')[1]
                    rejected[topic] = int(line.split()[-1])
            n = len(garbage(""))
            # Every one is rejected but the two the decoders accept: the old
            # heartbeat (accepted, too old to count) and the reports for an
            # unknown test (t-none has no test: counted as stray).
            return rejected if (rejected.get("register", 0) >= n - 3 and
                                rejected.get("heartbeat", 0) >= n - 3 and
                                rejected.get("metrics", 0) >= n - 3) else None
        rejected = wait_until(all_seen, timeout=30, interval=0.2, what="garbage rejected")
        log(f"rejected: {rejected}")
        check(orch.alive(), "the orchestrator died")
        check(all(d.alive() for d in drivers), "a driver died of the garbage")
        ds = get_json(orch.url + "/api/drivers")["drivers"]
        check(sorted(d["node_id"] for d in ds) == sorted(d.node_id for d in drivers),
              f"phantom drivers: {[d['node_id'] for d in ds]}")
        check("skipped a message on" in orch.stderr_text(), "rejections were not logged")

        before = target_count(target.url)
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.002,
                                    "message_count_per_driver": 500})
        t = wait_test(orch.url, tid, timeout=40)
        check(t["state"] == "COMPLETED", f"state {t['state']}: {t['reason']}")
        check(t["aggregate"]["requests_sent"] == 1000 == target_count(target.url) - before,
              f"counts {t['aggregate']['requests_sent']}")

        # Garbage from a participant while the test runs.
        noisy = fake_driver(c, "--garbage", target=target.url)
        wait_drivers(orch.url, 3)
        rejected_before = sum(all_seen().values())
        before = target_count(target.url)
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.01,
                                    "message_count_per_driver": 300})
        t = wait_test(orch.url, tid, timeout=60)
        check(t["state"] == "COMPLETED", f"noisy test {t['state']}: {t['reason']}")
        check(noisy.node_id in t["drivers"], "the noisy driver did not take part")
        check(t["aggregate"]["requests_sent"] == 900 == target_count(target.url) - before,
              f"noisy test counts {t['aggregate']['requests_sent']}")
        check(t["approximate"] is False, "garbage made the aggregate approximate")
        more = sum(all_seen().values()) - rejected_before
        log(f"{more} messages rejected during the noisy test")
        check(more >= 3 * 8, f"only {more} rejected during the noisy test")


if __name__ == "__main__":
    run_test(main)
