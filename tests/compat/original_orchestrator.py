#!/usr/bin/python3
"""An emulation of the original Python orchestrator, as its code behaves, on
kafka-python 2.0.2 (Debian's python3-kafka). Run it with /usr/bin/python3.

    original_orchestrator.py --kafka HOST:PORT --listen PORT --target URL

- It reads `register`, `heartbeat` and `metrics` from their log end (no
  consumer group) and keeps what it read.
- POST /startLoadTest {"test_type", "test_message_delay",
  "message_count_per_driver"} sends `test_config` {"test_id" (a uuid4),
  "test_type", "test_message_delay", "message_count_per_driver"} and, at the
  same instant, `test_trigger` {"test_id", "trigger": "YES"}: no drivers
  list, no start time, no wait for READY. It answers {"test_id"}.
- Every `metrics` message it receives it POSTs, as JSON, to the target's
  /test (--target is the target's base URL), and reads the four latency
  fields of its "metrics" as seconds, as the original does (it prints them
  as ms).
- GET /state answers what it has read: {"drivers": [register...],
  "heartbeats": [...], "metrics": [...], "forwarded": [status...]}, for the
  tests.

It prints 'ready listen=127.0.0.1:PORT' once it serves and stops on
SIGTERM."""

import argparse
import json
import signal
import sys
import threading
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kafka import KafkaConsumer, KafkaProducer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kafka", required=True)
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--target", required=True)
    a = ap.parse_args()

    state = {"drivers": [], "heartbeats": [], "metrics": [], "forwarded": []}
    lock = threading.Lock()
    stop = threading.Event()
    producer = KafkaProducer(bootstrap_servers=a.kafka,
                             value_serializer=lambda v: json.dumps(v).encode("utf-8"))
    consumer = KafkaConsumer("register", "heartbeat", "metrics", bootstrap_servers=a.kafka,
                             value_deserializer=lambda v: json.loads(v.decode("utf-8")))
    while not consumer.assignment():
        consumer.poll(timeout_ms=200)
    consumer.poll(timeout_ms=200)

    def forward(report):
        req = urllib.request.Request(a.target + "/test", data=json.dumps(report).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        except Exception as e:
            status = str(e)
        with lock:
            state["forwarded"].append(status)

    def consume():
        while not stop.is_set():
            for _tp, msgs in consumer.poll(timeout_ms=200).items():
                for m in msgs:
                    with lock:
                        if m.topic == "register":
                            state["drivers"].append(m.value)
                        elif m.topic == "heartbeat":
                            state["heartbeats"].append(m.value)
                        else:
                            state["metrics"].append(m.value)
                    if m.topic == "metrics":
                        lat = m.value["metrics"]
                        print(f"metrics from {m.value['node_id']}: mean "
                              f"{lat['mean_latency'] * 1000:.1f} ms", file=sys.stderr, flush=True)
                        forward(m.value)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/state":
                return self.reply(404, {"error": "not found"})
            with lock:
                self.reply(200, state)

        def do_POST(self):
            if self.path != "/startLoadTest":
                return self.reply(404, {"error": "not found"})
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            test_id = str(uuid.uuid4())
            producer.send("test_config", {"test_id": test_id, "test_type": body["test_type"],
                                          "test_message_delay": body["test_message_delay"],
                                          "message_count_per_driver":
                                              body["message_count_per_driver"]})
            producer.send("test_trigger", {"test_id": test_id, "trigger": "YES"})
            producer.flush()
            self.reply(200, {"test_id": test_id})

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    srv = ThreadingHTTPServer(("127.0.0.1", a.listen), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    print(f"ready listen=127.0.0.1:{a.listen}", flush=True)
    srv.serve_forever()
    stop.set()
    t.join(5)
    consumer.close()
    producer.close(timeout=5)


if __name__ == "__main__":
    main()
