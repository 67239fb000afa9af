#!/usr/bin/python3
"""An emulation of the original Python load driver, as its code behaves (not
as its README says), on kafka-python 2.0.2 (Debian's python3-kafka). Run it
with Debian's /usr/bin/python3.

    original_driver.py --kafka HOST:PORT --target URL [--report-id ID]

What it does, exactly as the original:
- node_id is str(int(time.time() * 1000)); it sends one `register`
  {"node_id", "node_ip" (lower case), "message_type": "DRIVER_NODE_REGISTER"}
  and nothing else until it sees a trigger: no heartbeat before that.
- It reads `test_config` and `test_trigger` (not `trigger`) from their log
  end, with no consumer group.
- A `test_config` starts the test at once, whatever its `drivers` list
  says and without waiting for a trigger: message_count_per_driver
  requests, one at a time (TSUNAMI sleeps test_message_delay seconds after
  each), each timed with time.time().
- At the end it sends one `metrics` message: {"node_id", "test_id",
  "report_id": str(int(time.time() * 1000)), "metrics": {"mean_latency",
  "median_latency", "min_latency", "max_latency"}}, in seconds. Nothing
  else: no seq, no counts, no histogram.
- About 2 s after each trigger it sees, it sends one heartbeat:
  {"node_id", "heartbeat": "YES", "timestamp": "time.time()"}, the
  timestamp a literal string.

--report-id forces the report_id (two drivers of the original can send the
same one; this makes that certain). It prints 'ready node_id=ID' once
registered and stops on SIGTERM."""

import argparse
import json
import signal
import socket
import statistics
import sys
import threading
import time
import urllib.request

from kafka import KafkaConsumer, KafkaProducer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kafka", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--report-id")
    a = ap.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    producer = KafkaProducer(bootstrap_servers=a.kafka,
                             value_serializer=lambda v: json.dumps(v).encode("utf-8"))
    consumer = KafkaConsumer("test_config", "test_trigger", bootstrap_servers=a.kafka,
                             value_deserializer=lambda v: json.loads(v.decode("utf-8")))
    # Wait for the assignment, so that a config sent after the register is
    # seen (kafka-python assigns on the first poll).
    while not consumer.assignment() and not stop.is_set():
        consumer.poll(timeout_ms=200)
    for tp in consumer.assignment():
        consumer.position(tp)  # blocks until the partition's log end is known
    node_id = str(int(time.time() * 1000))
    node_ip = socket.gethostbyname(socket.gethostname())
    producer.send("register", {"node_id": node_id, "node_ip": node_ip,
                               "message_type": "DRIVER_NODE_REGISTER"})
    producer.flush()
    print(f"ready node_id={node_id}", flush=True)

    def heartbeat_later():
        time.sleep(2)
        producer.send("heartbeat", {"node_id": node_id, "heartbeat": "YES",
                                    "timestamp": "time.time()"})
        producer.flush()

    def run_test(cfg):
        latencies = []
        count = int(cfg["message_count_per_driver"])
        delay = float(cfg.get("test_message_delay", 0))
        for _ in range(count):
            if stop.is_set():
                return
            start = time.time()
            try:
                with urllib.request.urlopen(a.target, timeout=30) as r:
                    r.read()
            except Exception as e:  # the original logs and goes on
                print(f"request failed: {e}", file=sys.stderr, flush=True)
            latencies.append(time.time() - start)
            if cfg["test_type"] == "TSUNAMI":
                time.sleep(delay)
        report = {"node_id": node_id, "test_id": cfg["test_id"],
                  "report_id": a.report_id or str(int(time.time() * 1000)),
                  "metrics": {"mean_latency": statistics.mean(latencies),
                              "median_latency": statistics.median(latencies),
                              "min_latency": min(latencies),
                              "max_latency": max(latencies)}}
        producer.send("metrics", report)
        producer.flush()
        print(f"test {cfg['test_id']} done: {count} requests, report {report['report_id']}",
              file=sys.stderr, flush=True)

    while not stop.is_set():
        batch = consumer.poll(timeout_ms=200)
        for _tp, msgs in batch.items():
            for m in msgs:
                v = m.value
                if m.topic == "test_config":
                    threading.Thread(target=run_test, args=(v,), daemon=True).start()
                elif m.topic == "test_trigger" and v.get("trigger") == "YES":
                    threading.Thread(target=heartbeat_later, daemon=True).start()
    consumer.close()
    producer.close(timeout=5)


if __name__ == "__main__":
    main()
