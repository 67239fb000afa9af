"""Helpers shared by the orchestrator's integration tests: a port of the
histogram wire format (docs/PROTOCOL.md "Histogram encoding") with
nearest-rank percentiles, REST helpers, and starting the fake driver.
Standard library only."""

import base64
import json
import os
import sys
import time

from dlt import check, get_json, http, log, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
FAKEDRIVER = os.path.join(HERE, "fakedriver.py")

# ---- histogram (src/common/hist.c) -----------------------------------------

SUB_HALF_MAG = 10
SUB_HALF = 1 << SUB_HALF_MAG
SUB_MASK = 2 * SUB_HALF - 1
BUCKETS = 22
COUNTS_LEN = (BUCKETS + 1) * SUB_HALF
HIST_MAX_US = 3600000000


def _bucket_of(v):
    return (v | SUB_MASK).bit_length() - 1 - SUB_HALF_MAG


def hist_index(v):
    b = _bucket_of(v)
    return ((b + 1) << SUB_HALF_MAG) + ((v >> b) - SUB_HALF)


def value_at(i):
    b = (i >> SUB_HALF_MAG) - 1
    sub = (i & (SUB_HALF - 1)) + SUB_HALF
    if b < 0:
        sub -= SUB_HALF
        b = 0
    return sub << b


def highest_at(i):
    lo = value_at(i)
    return lo + (1 << _bucket_of(lo)) - 1


class Hist:
    """Sparse histogram: bucket index -> count, exact min/max/sum (µs)."""

    def __init__(self):
        self.counts = {}
        self.total = 0
        self.min = 0
        self.max = 0
        self.sum = 0

    def record(self, v, n=1):
        v = max(0, min(HIST_MAX_US, int(v)))
        i = hist_index(v)
        self.counts[i] = self.counts.get(i, 0) + n
        if self.total == 0 or v < self.min:
            self.min = v
        if self.total == 0 or v > self.max:
            self.max = v
        self.total += n
        self.sum += v * n

    def merge(self, other):
        if other.total == 0:
            return
        for i, n in other.counts.items():
            self.counts[i] = self.counts.get(i, 0) + n
        if self.total == 0 or other.min < self.min:
            self.min = other.min
        if self.total == 0 or other.max > self.max:
            self.max = other.max
        self.total += other.total
        self.sum += other.sum

    def percentile(self, p):
        """Nearest rank, as hist_percentile: µs."""
        if self.total == 0:
            return 0
        want = p / 100.0 * self.total - 1e-9
        rank = int(want)
        if rank < want:
            rank += 1
        rank = max(rank, 1)
        seen = 0
        for i in sorted(self.counts):
            seen += self.counts[i]
            if seen >= rank:
                return max(self.min, min(self.max, highest_at(i)))
        return self.max

    def encode(self):
        out = bytearray()

        def varint(v):
            while v >= 0x80:
                out.append((v & 0x7F) | 0x80)
                v >>= 7
            out.append(v)

        def zigzag(v):
            return (v << 1) ^ (v >> 63) if v >= 0 else ((-v) << 1) - 1

        varint(1)
        varint(self.min if self.total else 0)
        varint(self.max if self.total else 0)
        varint(self.sum)
        idx = 0
        for i in sorted(self.counts):
            if self.counts[i] == 0:
                continue
            if i > idx:
                varint(zigzag(-(i - idx)))
            varint(zigzag(self.counts[i]))
            idx = i + 1
        return base64.b64encode(bytes(out)).decode()

    @classmethod
    def decode(cls, text):
        raw = base64.b64decode(text, validate=True)
        pos = 0

        def varint():
            nonlocal pos
            r, shift = 0, 0
            while True:
                c = raw[pos]
                pos += 1
                r |= (c & 0x7F) << shift
                shift += 7
                if not c & 0x80:
                    return r

        h = cls()
        check(varint() == 1, "histogram version is not 1")
        mn, mx, total_sum = varint(), varint(), varint()
        idx = 0
        while pos < len(raw):
            z = varint()
            v = (z >> 1) ^ -(z & 1)
            if v < 0:
                idx += -v
            else:
                h.counts[idx] = v
                h.total += v
                idx += 1
        h.min, h.max, h.sum = mn, mx, total_sum
        return h


# ---- REST ------------------------------------------------------------------


def post(url, body, token=None, timeout=10):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, _, data = http("POST", url, body=body, headers=headers, timeout=timeout)
    try:
        doc = json.loads(data) if data else None
    except ValueError:
        doc = None
    return status, doc


def start_test(orch_url, body, token=None, original=False):
    """Start a test; return its id (asserts success)."""
    path = "/startLoadTest" if original else "/api/tests"
    status, doc = post(orch_url + path, body, token)
    check(status == (200 if original else 201), f"POST {path} -> {status}: {doc}")
    return doc["test_id"]


TERMINAL = ("COMPLETED", "PARTIAL", "FAILED", "ABORTED")


def get_test(orch_url, test_id):
    return get_json(f"{orch_url}/api/tests/{test_id}")


def wait_test(orch_url, test_id, timeout=60, states=TERMINAL):
    def done():
        t = get_test(orch_url, test_id)
        return t if t["state"] in states else None

    return wait_until(done, timeout=timeout, interval=0.1, what=f"test {test_id} in {states}")


def wait_under_way(orch_url, test_id, at_least, timeout=30):
    """Wait until the test is RUNNING with at_least responses counted."""
    def ok():
        t = get_test(orch_url, test_id)
        return t["state"] == "RUNNING" and t["aggregate"]["responses_received"] >= at_least

    wait_until(ok, timeout=timeout, interval=0.05, what=f"test {test_id} under way")


def wait_drivers(orch_url, n, timeout=20, liveness="alive"):
    def enough():
        ds = get_json(orch_url + "/api/drivers")["drivers"]
        live = [d for d in ds if d["liveness"] == liveness]
        return live if len(live) >= n else None

    return wait_until(enough, timeout=timeout, interval=0.1, what=f"{n} {liveness} driver(s)")


def target_count(target_url):
    return get_json(target_url + "/metrics")["total_requests"]


# ---- the fake driver ---------------------------------------------------------


def fake_driver(cluster, *extra, target=None, mode="ext", name="fakedriver", timeout=30):
    """Start tests/orchestrator/fakedriver.py on cluster.kafka; p.node_id."""
    argv = [sys.executable, "-u", FAKEDRIVER, "--kafka", cluster.kafka, "--mode", mode]
    if target:
        argv += ["--target", target]
    argv += list(extra)
    p = cluster.start(name, argv, ready="ready ", timeout=timeout, ours=False)
    p.node_id = p.wait_line("ready ").split("node_id=")[1].split()[0]
    return p


def have_binary(name):
    from dlt import BINARIES, BUILD
    return os.path.exists(os.path.join(BUILD, BINARIES[name]))


def note(*args):
    log(*args)


def elapsed(t0):
    return f"{time.time() - t0:.2f}s"


# ---- server-sent events --------------------------------------------------------


class EventStream:
    """Reads GET /api/events in a thread: self.events holds (time, event,
    data) with data parsed as JSON; comments are counted in self.comments."""

    def __init__(self, orch_url, timeout=30):
        import http.client
        import threading
        import urllib.parse
        u = urllib.parse.urlparse(orch_url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        self.conn.request("GET", "/api/events", headers={"Accept": "text/event-stream"})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.content_type = self.resp.getheader("Content-Type")
        self.events = []
        self.comments = 0
        self.ended = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        name, data = "message", []
        try:
            for raw in self.resp:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line == "":
                    if data:
                        try:
                            doc = json.loads("\n".join(data))
                        except ValueError:
                            doc = None
                        with self.lock:
                            self.events.append((time.time(), name, doc))
                    name, data = "message", []
                elif line.startswith(":"):
                    with self.lock:
                        self.comments += 1
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
        except Exception:  # noqa: BLE001 - the stream ends when the server stops
            pass
        self.ended = True

    def of(self, name):
        with self.lock:
            return [(t, d) for t, n, d in self.events if n == name]

    def close(self):
        try:
            self.conn.sock.shutdown(2)
        except Exception:  # noqa: BLE001
            pass
        self.conn.close()
