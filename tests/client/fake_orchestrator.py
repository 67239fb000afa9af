"""A stand-in for load-orchestrator's REST API (docs/API.md) that serves
canned, API-shaped answers, for testing load-client's behaviour and its error
paths without Kafka or drivers. Standard library only.

A test started through POST /api/tests goes CREATED -> CONFIGURED -> RUNNING
-> final_state on a timer, with two drivers whose figures grow while it runs.
Modes make every answer fail in a chosen way: "500", "badjson", "slow",
"html", "huge", "odd" (JSON of another shape). .mutate, when set, is called
as mutate(method, path, doc) on every 2xx JSON answer (a deep copy) and
returns the document to send instead: one field made wrong at a time. Every
request is recorded in .requests.

.original is how many of the drivers (the first ones) speak the original
Python format: as the real orchestrator reports them, their errors,
error_kinds, status_codes, late, elapsed_ms, rps and latency mode, p90, p95,
p99, p999 are null (unknown, never 0), so is each of these in the aggregate
when no participant sent it, and such a driver is "quiet" (in GET
/api/drivers, with no state and no heartbeat; in a test until its one
report at the end). Its time series is empty until that report.
"""

import copy

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DRIVERS = ["d-fake-1", "d-fake-2"]


class FakeOrchestrator:
    def __init__(self, duration=2.0, final_state="COMPLETED", reason="", p99=50.0,
                 errors_per_driver=0, token=None, original=0):
        self.duration = duration
        self.final_state = final_state
        self.reason = reason
        self.p99 = p99
        self.errors_per_driver = errors_per_driver
        self.token = token
        self.original = original
        self.mode = None
        self.mutate = None
        self.slow_s = 3.0
        self.tests = {}
        self.order = []
        self.requests = []
        self.lock = threading.Lock()
        self.counter = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False

    # ---- the simulated tests ---------------------------------------------

    def create(self, config):
        with self.lock:
            self.counter += 1
            tid = f"t-fake-{self.counter}"
            self.tests[tid] = {"id": tid, "config": config, "created": time.time(),
                               "stopped": None}
            self.order.insert(0, tid)
        return tid

    def _progress(self, t):
        """(state, fraction done, seconds running) of test t now."""
        age = time.time() - t["created"]
        if t["stopped"] is not None:
            run = max(0.0, t["stopped"] - t["created"] - 0.5)
            return "ABORTED", min(1.0, run / self.duration), run
        if age < 0.25:
            return "CREATED", 0.0, 0.0
        if age < 0.5:
            return "CONFIGURED", 0.0, 0.0
        run = age - 0.5
        if run < self.duration:
            return "RUNNING", run / self.duration, run
        return self.final_state, 1.0, self.duration

    def _stats(self, count, frac, run, p99):
        sent = int(count * frac)
        errors = min(sent, int(self.errors_per_driver * frac))
        received = sent - errors  # responses; the errors here are timeouts (no response)
        elapsed = max(run, 0.001)
        return {
            "requests_sent": sent, "responses_received": received, "errors": errors,
            "error_kinds": {"connect": 0, "timeout": errors, "http_4xx": 0, "http_5xx": 0,
                            "other": 0},
            "status_codes": {"200": received}, "late": 0, "elapsed_ms": int(run * 1000),
            "rps": received / elapsed if run > 0 else 0.0,
            "latency_ms": {"min": 0.4, "mean": 5.5, "median": 4.2, "mode": 4.1, "p90": 9.0,
                           "p95": 12.0, "p99": p99, "p999": p99 * 1.5, "max": p99 * 2},
            "service_ms": {"min": 0.3, "mean": 5.0, "median": 4.0, "mode": 4.0, "p90": 8.0,
                           "p95": 11.0, "p99": p99, "p999": p99, "max": p99},
            "updated_ms": int(time.time() * 1000),
        }

    UNKNOWN = ("errors", "error_kinds", "status_codes", "late", "elapsed_ms", "rps")
    UNKNOWN_LAT = ("mode", "p90", "p95", "p99", "p999")

    def _original_stats(self, s, frac):
        """s as a driver of the original format reports it: nothing until
        its one report at the end, and never the figures in UNKNOWN."""
        for k in self.UNKNOWN:
            s[k] = None
        for k in self.UNKNOWN_LAT:
            s["latency_ms"][k] = None
        s["service_ms"] = None
        if frac < 1.0:
            s["requests_sent"] = s["responses_received"] = 0
        return s

    def test_object(self, tid, per_driver=True):
        t = self.tests[tid]
        state, frac, run = self._progress(t)
        count = int(t["config"].get("message_count_per_driver", 0))
        per = []
        for i, d in enumerate(DRIVERS):
            s = self._stats(count, frac, run, self.p99 - i)
            live = "alive"
            if i < self.original:
                s = self._original_stats(s, frac)
                live = "alive" if frac >= 1.0 else "quiet"
            s.update({"node_id": d, "liveness": live, "final": frac >= 1.0, "failure": ""})
            per.append(s)
        agg = self._stats(count * len(DRIVERS), frac, run, self.p99)
        new = per[self.original:]
        if new:
            agg["errors"] = sum(p["errors"] for p in new)
            agg["error_kinds"]["timeout"] = agg["errors"]
        else:  # no participant sent them
            agg = self._original_stats(agg, 1.0)
        agg["responses_received"] = sum(p["responses_received"] for p in per)
        agg["requests_sent"] = sum(p["requests_sent"] for p in per)
        created_ms = int(t["created"] * 1000)
        cfg = dict(t["config"])
        cfg["test_id"] = tid
        obj = {"test_id": tid, "state": state,
               "reason": self.reason if state == self.final_state else "",
               "config": cfg, "created_ms": created_ms,
               "start_at_ms": created_ms + 500 if state not in ("CREATED", "CONFIGURED") else None,
               "ended_ms": created_ms + 500 + int(run * 1000) if frac >= 1.0 else None,
               "drivers": list(DRIVERS), "approximate": self.original > 0,
               "start_skew_ms": 1.5 if self.original < len(DRIVERS) else None,
               "aggregate": agg}
        if per_driver:
            obj["per_driver"] = per
        return obj

    def timeseries(self, tid):
        t = self.tests[tid]
        state, frac, run = self._progress(t)
        count = int(t["config"].get("message_count_per_driver", 0))

        def points(n_drivers, p99, original=False):
            pts = []
            steps = max(1, int(run))
            for k in range(1, steps + 1):
                f = min(1.0, k / max(run, 1e-9)) * frac
                sent = int(count * n_drivers * f)
                pt = {"t_ms": k * 1000, "requests_sent": sent, "responses_received": sent,
                      "errors": 0, "rps": count * n_drivers / max(self.duration, 1e-9),
                      "p50": 4.0 + k, "p90": 9.0 + k, "p99": p99 + k, "mean": 5.0,
                      "max": p99 * 2}
                if original and (k < steps or frac < 1.0):
                    # Nothing reported in this interval: no latencies.
                    pt.update(requests_sent=0, responses_received=0, rps=0,
                              p50=None, p90=None, p99=None, mean=None, max=None)
                pts.append(pt)
            return pts

        everyone_original = self.original >= len(DRIVERS)
        return {"test_id": tid,
                "aggregate": points(len(DRIVERS), self.p99, everyone_original),
                "drivers": {d: points(1, self.p99 - i, i < self.original)
                            for i, d in enumerate(DRIVERS)}}

    def drivers(self):
        now = int(time.time() * 1000)
        out = []
        for i, d in enumerate(DRIVERS):
            o = {"node_id": d, "node_ip": "127.0.0.1", "hostname": "fakehost",
                 "liveness": "alive", "state": "IDLE", "last_heartbeat_ms": now - 300,
                 "since_heartbeat_ms": 300, "listening": True, "test_id": "",
                 "requests_sent": 0, "registered_ms": now - 60000}
            if i < self.original:
                o.update(liveness="quiet", state="", last_heartbeat_ms=None,
                         since_heartbeat_ms=None, listening=None)
            out.append(o)
        return {"drivers": out}

    # ---- HTTP ---------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status, doc=None, raw=None, ctype="application/json"):
                if raw is None and fake.mutate and 200 <= status < 300:
                    doc = fake.mutate(self.command, self.path, copy.deepcopy(doc))
                body = raw if raw is not None else json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (a timeout or a size limit)

            def _error(self, status, msg):
                self._send(status, {"error": msg})

            def _handle(self, method):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with fake.lock:
                    fake.requests.append({"method": method, "path": self.path,
                                          "headers": dict(self.headers), "body": body})
                mode = fake.mode
                if mode == "slow":
                    time.sleep(fake.slow_s)
                if mode == "500":
                    return self._error(500, "database is locked")
                if mode == "badjson":
                    return self._send(200, raw=b'{"test_id": "t-1", "state": ')
                if mode == "html":
                    return self._send(502, raw=b"<html><body>Bad gateway</body></html>",
                                      ctype="text/html")
                if mode == "odd":  # JSON, but not of the documented shape
                    return self._send(201 if method == "POST" else 200,
                                      {"test_id": "t-odd", "state": 5, "per_driver": {"x": 1},
                                       "aggregate": [1, 2], "tests": "none", "drivers": 7,
                                       "config": [], "message": None})
                if mode == "huge":
                    return self._send(200, raw=b" " * (70 * 1024 * 1024))
                if method == "POST" and fake.token is not None and \
                        self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._error(401, "missing or wrong API token")
                path = self.path.split("?")[0]
                if method == "POST" and path in ("/api/tests", "/startLoadTest"):
                    try:
                        cfg = json.loads(body)
                    except ValueError:
                        return self._error(400, "body is not JSON")
                    if not isinstance(cfg, dict) or cfg.get("test_type") not in ("AVALANCHE",
                                                                                 "TSUNAMI"):
                        return self._error(400, "\"test_type\" must be AVALANCHE or TSUNAMI")
                    tid = fake.create(cfg)
                    if path == "/startLoadTest":
                        return self._send(200, {"message": f"Load test started with Test ID: "
                                                           f"{tid}", "test_id": tid})
                    return self._send(201, fake.test_object(tid))
                if method == "GET" and path == "/api/tests":
                    return self._send(200, {"tests": [fake.test_object(t, per_driver=False)
                                                      for t in fake.order]})
                if method == "GET" and path == "/api/drivers":
                    return self._send(200, fake.drivers())
                m = re.fullmatch(r"/api/tests/([^/]+)(/timeseries|/stop)?", path)
                if m and m.group(1) in fake.tests:
                    tid, sub = m.group(1), m.group(2)
                    if method == "GET" and sub is None:
                        return self._send(200, fake.test_object(tid))
                    if method == "GET" and sub == "/timeseries":
                        return self._send(200, fake.timeseries(tid))
                    if method == "POST" and sub == "/stop":
                        state, _, _ = fake._progress(fake.tests[tid])
                        if state not in ("CREATED", "CONFIGURED", "RUNNING"):
                            return self._error(409, f"test {tid} is not running")
                        fake.tests[tid]["stopped"] = time.time()
                        return self._send(200, fake.test_object(tid))
                    return self._error(405, "method not allowed")
                if m:
                    return self._error(404, f"no test {m.group(1)}")
                return self._error(404, "no such path")

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        return Handler

    def posted(self, path):
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests
                    if r["method"] == "POST" and r["path"] == path]
