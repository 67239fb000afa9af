#!/usr/bin/env python3
"""A driver written from docs/PROTOCOL.md alone, speaking Kafka through kcat
(a client this project did not write), for testing the orchestrator.

    fakedriver.py --kafka HOST:PORT [--target URL] [--mode ext|original]
                  [--node-id ID] [--refuse REASON] [--hb-interval S]

--mode ext       the extended protocol: heartbeats with state, READY, a
                 cumulative report with a histogram every report interval
                 and a final one.
--mode original  the original format only: heartbeats without state, never
                 READY, and one report at the end with just the four
                 latency figures (no seq, no counts, no histogram).
--refuse REASON  answer every test_config with a final report carrying
                 "failure" instead of READY.
--deaf-configs   read no test_config at all (a driver whose consumer
                 cannot hear): it heartbeats IDLE on.
--stray-name N   with a test's "requests", also report figures for the
                 request name N, which the test does not have.
--checks-always  send checks_passed/checks_failed also for a test without
                 "requests".
--garbage        also send, every heartbeat interval, messages that must be
                 rejected (not JSON, wrong types, a report for its current
                 test with a field of the wrong type) on each of its topics.

With "requests" in the test config, each send takes the next request of
the weighted cycle (each request weight times, in order), checks the
answer (status, default 200..399; body_contains; json path equals) and
reports cumulative "by_request" figures and checks_passed/checks_failed.

It sends real HTTP requests to the target (one at a time; AVALANCHE
sequentially, TSUNAMI on schedule), times them from the due time (open
loop) or the send (closed loop), prints 'ready node_id=ID' on stdout once
registered, and stops on SIGTERM (unregistering).
"""

import argparse
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "lib")]
from orchlib import Hist  # noqa: E402


class Kcat:
    """One long-lived 'kcat -P -K \\t' per topic."""

    def __init__(self, bootstrap, topic):
        self.p = subprocess.Popen(["kcat", "-b", bootstrap, "-P", "-K", "\t", "-t", topic,
                                   "-X", "linger.ms=1"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=sys.stderr)
        self.lock = threading.Lock()

    def send(self, key, value):
        self.send_raw(key, json.dumps(value, separators=(',', ':')))

    def send_raw(self, key, text):
        # kcat 1.7.1 reads its input in 1 KiB blocks and waits for a block
        # to fill before it produces: pad each line (JSON allows trailing
        # whitespace) to a whole number of blocks so it goes out at once.
        line = f"{key}\t{text}"
        line += " " * (-(len(line.encode()) + 1) % 1024) + "\n"
        line = line.encode()
        with self.lock:
            self.p.stdin.write(line)
            self.p.stdin.flush()

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(10)
        except Exception:  # noqa: BLE001 - best effort at exit
            self.p.kill()


def partition_count(bootstrap, topic, timeout=20):
    """The number of partitions of topic, from 'kcat -L' (the topic may not
    exist yet: it is asked again until it does)."""
    deadline = time.time() + timeout
    while True:
        r = subprocess.run(["kcat", "-b", bootstrap, "-L", "-t", topic], capture_output=True,
                           text=True, timeout=timeout)
        m = re.search(r'topic "[^"]+" with (\d+) partitions', r.stdout)
        if m and int(m.group(1)) > 0:
            return int(m.group(1))
        if time.time() > deadline:
            sys.exit(f"fakedriver: no partitions for {topic} on {bootstrap}: {r.stderr.strip()}")
        time.sleep(0.2)


class Consumer:
    """'kcat -C -o end' on one topic; messages go to a queue."""

    def __init__(self, bootstrap, topic, out):
        self.p = subprocess.Popen(["kcat", "-b", bootstrap, "-C", "-t", topic, "-o", "end", "-u",
                                   "-f", "%s\n"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL)
        self.ready = threading.Event()
        self.topic = topic
        self.partitions = partition_count(bootstrap, topic)
        self.at_end = set()
        threading.Thread(target=self._err, daemon=True).start()
        threading.Thread(target=self._out, args=(out,), daemon=True).start()

    def _err(self):
        for raw in self.p.stderr:
            line = raw.decode("utf-8", "replace")
            m = re.search(r"Reached end of topic \S+ \[(\d+)\]", line)
            if m:
                # ready once every partition is positioned at its end: a
                # message sent before that could be missed
                self.at_end.add(int(m.group(1)))
                if len(self.at_end) >= self.partitions:
                    self.ready.set()
            elif line.strip():
                sys.stderr.write(f"kcat {self.topic}: {line}")

    def _out(self, out):
        for raw in self.p.stdout:
            try:
                out.put((self.topic, json.loads(raw)))
            except ValueError:
                pass

    def close(self):
        self.p.terminate()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()


class Driver:
    def __init__(self, args):
        self.a = args
        self.ext = args.mode == "ext"
        self.node_id = args.node_id or f"fake-{uuid.uuid4().hex[:12]}"
        self.state = "IDLE"
        self.test_id = ""
        self.sent = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.abort = threading.Event()
        self.inbox = queue.Queue()
        self.prod = {t: Kcat(args.kafka, t) for t in ("register", "heartbeat", "metrics")}
        self.cons = [Consumer(args.kafka, t, self.inbox) for t in ("test_config", "trigger")]
        self.pending = None  # test_config waiting for its trigger
        self.runner = None

    def log(self, *msg):
        print(time.strftime("%H:%M:%S"), "fakedriver", self.node_id, *msg, file=sys.stderr,
              flush=True)

    # ---- messages --------------------------------------------------------

    def register(self, unregister=False):
        m = {"node_id": self.node_id, "node_IP": "127.0.0.1",
             "message_type": "DRIVER_NODE_UNREGISTER" if unregister else "DRIVER_NODE_REGISTER"}
        if self.ext:
            m.update(hostname=socket.gethostname(), pid=os.getpid(), version="fake",
                     timestamp=round(time.time(), 3))
        self.prod["register"].send(self.node_id, m)

    def heartbeat(self):
        m = {"node_id": self.node_id, "heartbeat": "YES", "timestamp": round(time.time(), 3)}
        if self.ext:
            with self.lock:
                m.update(state=self.state, requests_sent=self.sent)
                if self.test_id:
                    m["test_id"] = self.test_id
        self.prod["heartbeat"].send(self.node_id, m)

    def set_state(self, state, test_id=None):
        with self.lock:
            self.state = state
            if test_id is not None:
                self.test_id = test_id
        self.heartbeat()

    def report(self, test_id, seq, final, st, failure=None):
        lat = st["hist"]
        ms = lambda us: round(us / 1e6, 6)  # noqa: E731 (seconds on the wire)
        m = {"node_id": self.node_id, "test_id": test_id, "report_id": f"r-{uuid.uuid4().hex}",
             "metrics": {"mean_latency": ms(lat.sum / lat.total) if lat.total else 0,
                         "median_latency": ms(lat.percentile(50)),
                         "min_latency": ms(lat.min), "max_latency": ms(lat.max)}}
        if self.ext:
            m["metrics"].update(p90_latency=ms(lat.percentile(90)),
                                p99_latency=ms(lat.percentile(99)))
            m.update(seq=seq, final=final, requests_sent=st["sent"],
                     responses_received=st["recv"], errors=st["errors"],
                     error_kinds={"connect": st["errors"], "timeout": 0, "http_4xx": 0,
                                  "http_5xx": 0, "other": 0},
                     status_codes={str(k): v for k, v in st["codes"].items()},
                     elapsed_ms=int((time.time() - st["start"]) * 1000), late=0,
                     histogram=lat.encode())
            if st["first"]:
                m["first_send_ms"] = st["first"]
            if failure:
                m["failure"] = failure
            if st.get("by"):
                by = {}
                for name, r in st["by"].items():
                    by[name] = {"requests_sent": r["sent"], "responses_received": r["recv"],
                                "errors": r["errors"], "checks_passed": r["passed"],
                                "checks_failed": r["failed"],
                                "checks_failed_by": dict(r["failed_by"]),
                                "histogram": r["hist"].encode()}
                if self.a.stray_name:
                    by[self.a.stray_name] = {"requests_sent": 1, "responses_received": 1,
                                             "errors": 0, "checks_passed": 1, "checks_failed": 0,
                                             "histogram": Hist().encode()}
                m["by_request"] = by
                m["checks_passed"] = sum(r["passed"] for r in st["by"].values())
                m["checks_failed"] = sum(r["failed"] for r in st["by"].values())
            elif self.a.checks_always:
                m["checks_passed"], m["checks_failed"] = st["recv"], st["errors"]
        self.prod["metrics"].send(self.node_id, m)

    @staticmethod
    def check(req, code, body):
        """The first check the answer fails ("status", "body_contains",
        "json"), or None."""
        ck = req.get("checks") or {}
        want = ck.get("status")
        if code is None or (code not in want if want else not 200 <= code <= 399):
            return "status"
        if ck.get("body_contains") is not None and ck["body_contains"] not in body:
            return "body_contains"
        js = ck.get("json")
        if js:
            try:
                v = json.loads(body)
                for k in str(js["path"]).split("."):
                    v = v[int(k)] if isinstance(v, list) else v[k]
                if v != js.get("equals"):
                    return "json"
            except Exception:  # noqa: BLE001 - not there: failed
                return "json"
        return None

    # ---- the test ---------------------------------------------------------

    def run_test(self, cfg, start_at):
        tid = cfg["test_id"]
        if start_at:
            time.sleep(max(0.0, start_at / 1000.0 - time.time()))
        self.set_state("RUNNING", tid)
        url = (cfg.get("target_url") or self.a.target).rstrip("/")
        if cfg.get("target_url") is None:
            url += "/ping"
        count = int(cfg["message_count_per_driver"])
        delay = float(cfg.get("test_message_delay") or 0)
        tsunami = cfg["test_type"] == "TSUNAMI"
        interval = float(cfg.get("report_interval_ms") or 1000) / 1000.0
        st = {"hist": Hist(), "sent": 0, "recv": 0, "errors": 0, "codes": {},
              "start": time.time(), "first": 0, "by": {}}
        reqs = cfg.get("requests") or []
        cycle = [r for r in reqs for _ in range(int(r.get("weight") or 1))]
        for r in reqs:
            st["by"][r["name"]] = {"sent": 0, "recv": 0, "errors": 0, "passed": 0, "failed": 0,
                                   "failed_by": {"status": 0, "body_contains": 0, "json": 0},
                                   "hist": Hist()}
        seq = 0
        next_report = st["start"] + interval
        t0 = time.monotonic()
        for i in range(count):
            if self.abort.is_set() or self.stop.is_set():
                break
            due = t0 + i * delay if tsunami else time.monotonic()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if not st["first"]:
                st["first"] = int(time.time() * 1000)
            st["sent"] += 1
            with self.lock:
                self.sent = st["sent"]
            req = cycle[i % len(cycle)] if cycle else None
            body = ""
            try:
                with urllib.request.urlopen(req.get("url") or url if req else url,
                                            timeout=10) as r:
                    body = r.read().decode("utf-8", "replace")
                    code = r.status
            except urllib.error.HTTPError as e:
                code = e.code
            except Exception:  # noqa: BLE001 - a failed request is counted
                code = None
            took = (time.monotonic() - due) * 1e6
            if code is None:
                st["errors"] += 1
            else:
                st["recv"] += 1
                st["codes"][code] = st["codes"].get(code, 0) + 1
                st["hist"].record(took)
            if req:
                b = st["by"][req["name"]]
                b["sent"] += 1
                if code is None:
                    b["errors"] += 1
                else:
                    b["recv"] += 1
                    b["hist"].record(took)
                failed = self.check(req, code, body)
                if failed:
                    b["failed"] += 1
                    b["failed_by"][failed] += 1
                else:
                    b["passed"] += 1
            if self.ext and time.time() >= next_report:
                self.report(tid, seq, False, st)
                seq += 1
                next_report += interval
        self.report(tid, seq, True, st)
        self.log(f"test {tid} done: {st['sent']} sent, {st['recv']} received")
        self.set_state("IDLE", "")

    def on_config(self, cfg):
        if self.a.deaf_configs:
            return
        drivers = cfg.get("drivers")
        if drivers is not None and self.node_id not in drivers:
            return
        tid = cfg.get("test_id")
        if self.a.refuse:
            st = {"hist": Hist(), "sent": 0, "recv": 0, "errors": 0, "codes": {},
                  "start": time.time(), "first": 0}
            self.report(tid, 0, True, st, failure=self.a.refuse)
            return
        self.pending = cfg
        if self.ext:
            self.set_state("READY", tid)

    def on_trigger(self, tr):
        cfg = self.pending
        if not cfg or tr.get("test_id") != cfg.get("test_id"):
            return
        if tr.get("trigger") == "ABORT":
            self.abort.set()
            return
        if tr.get("trigger") != "YES" or (self.runner and self.runner.is_alive()):
            return
        self.abort.clear()
        self.runner = threading.Thread(target=self.run_test, args=(cfg, tr.get("start_at")),
                                       daemon=True)
        self.runner.start()

    # ---- main loop ---------------------------------------------------------

    def garbage(self):
        with self.lock:
            tid = self.test_id or "t-none"
        junk = ["not json", "[1, 2", "null", '{"node_id": 5}',
                {"node_id": self.node_id, "heartbeat": "NO", "timestamp": time.time()},
                {"node_id": self.node_id, "node_IP": ["x"],
                 "message_type": "DRIVER_NODE_REGISTER"},
                {"node_id": self.node_id, "test_id": tid, "report_id": f"r-{uuid.uuid4().hex}",
                 "seq": "first", "metrics": {"mean_latency": 1, "median_latency": 1,
                                             "min_latency": 1, "max_latency": 1}},
                {"node_id": self.node_id, "test_id": tid, "report_id": f"r-{uuid.uuid4().hex}",
                 "metrics": {"mean_latency": -4, "median_latency": 1, "min_latency": 1,
                             "max_latency": 1}}]
        for topic in self.prod:
            for j in junk:
                self.prod[topic].send_raw(self.node_id, j if isinstance(j, str) else
                                          json.dumps(j))

    def beat(self):
        while not self.stop.wait(self.a.hb_interval):
            self.heartbeat()
            if self.a.garbage:
                self.garbage()

    def main(self):
        deadline = time.time() + 20
        for c in self.cons:
            if not c.ready.wait(max(0.1, deadline - time.time())):
                self.log(f"{c.topic}: {len(c.at_end)} of {c.partitions} partitions at their end")
        self.register()
        self.heartbeat()
        threading.Thread(target=self.beat, daemon=True).start()
        print(f"ready node_id={self.node_id}", flush=True)
        while not self.stop.is_set():
            try:
                topic, msg = self.inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            if not isinstance(msg, dict):
                continue
            self.log(f"{topic}: test {msg.get('test_id')!r} {msg.get('trigger', '')}")
            if topic == "test_config":
                self.on_config(msg)
            else:
                self.on_trigger(msg)
        self.abort.set()
        if self.runner:
            self.runner.join(15)
        self.register(unregister=True)
        for c in self.cons:
            c.close()
        for p in self.prod.values():
            p.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kafka", required=True)
    ap.add_argument("--target", default="http://127.0.0.1:8081")
    ap.add_argument("--mode", choices=("ext", "original"), default="ext")
    ap.add_argument("--node-id")
    ap.add_argument("--refuse")
    ap.add_argument("--hb-interval", type=float, default=1.0)
    ap.add_argument("--garbage", action="store_true")
    ap.add_argument("--stray-name")
    ap.add_argument("--checks-always", action="store_true")
    ap.add_argument("--deaf-configs", action="store_true")
    d = Driver(ap.parse_args())
    signal.signal(signal.SIGTERM, lambda *_: d.stop.set())
    signal.signal(signal.SIGINT, lambda *_: d.stop.set())
    d.main()


if __name__ == "__main__":
    main()
