"""A consumer group that has no full assignment is joined again.

An orchestrator's group can be joined while the brokers do not know all of
its topics yet: KRaft tells the other brokers of a topic just created a
moment later, and librdkafka 2.0 may then keep the group's empty assignment
for good (it happened to the first fleet of test_kafka_fleets). Here the
group (bustool, maintained as the orchestrator's consumer is) subscribes to
two topics of which only one exists: it must say within 10 s that it has no
full assignment and subscribe again, and once the second topic is created
it must be assigned it and read the message sent to it."""

import os
import queue
import subprocess
import threading
import time

from dlt import BUILD, check, log, run_test
from kafkalib import prefix, shared

BUSTOOL = os.path.join(BUILD, "tests", "bustool")

# Topics created by Debian's python3-kafka (run by /usr/bin/python3).
CREATE = """
import sys
from kafka.admin import KafkaAdminClient, NewTopic
a = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=15000)
a.create_topics([NewTopic(t, 6, 3) for t in sys.argv[2:]], timeout_ms=15000)
"""


def create(bootstrap, *topics):
    r = subprocess.run(["/usr/bin/python3", "-c", CREATE, bootstrap, *topics],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    check(r.returncode == 0, f"creating {topics}: {r.stderr[-1500:]}")


def main():
    kc = shared()
    pfx = prefix("groupjoin")
    have, later = pfx + "have", pfx + "later"
    create(kc.bootstrap, have)
    p = subprocess.Popen([BUSTOOL, "group", kc.bootstrap, pfx + "group", f"{have},{later}",
                          "1", "90000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, stdin=subprocess.DEVNULL)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in p.stderr], daemon=True).start()
    try:
        t0 = time.monotonic()
        said = None
        while said is None and time.monotonic() - t0 < 20:
            try:
                x = lines.get(timeout=1)
            except queue.Empty:
                continue
            if "no full assignment" in x:
                said = x.strip()
        check(said is not None, "the group without its second topic never said so")
        waited = time.monotonic() - t0
        log(f"after {waited:.1f} s: {said}")
        check(waited < 10, f"it took {waited:.1f} s to notice")
        create(kc.bootstrap, later)
        r = subprocess.run([BUSTOOL, "produce", kc.bootstrap, later, "k", "hello"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"produce: {r.stderr[-500:]}")
        t1 = time.monotonic()
        p.wait(timeout=90)
        out = p.stdout.read()
        check(p.returncode == 0 and "hello" in out.split(),
              f"bustool exited {p.returncode} with {out!r}")
        log(f"the message sent to the topic created later was read {time.monotonic() - t1:.1f} s "
            "after it was sent")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


if __name__ == "__main__":
    run_test(main)
