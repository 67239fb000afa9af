"""Shared harness for integration tests: start the project's processes on
loopback, wait until they are ready, talk to them, and stop every process the
test started (by PID), even when the test fails.

Usage:
    from dlt import Cluster
    with Cluster() as c:
        broker = c.broker()            # load-broker on a free port
        target = c.target()            # target-server on a free port
        ...

Binaries are found in $DLT_BUILD (the CMake build folder, set by ctest).
Standard library only.
"""

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

BUILD = os.environ.get("DLT_BUILD") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
ARTIFACTS = os.environ.get("DLT_ARTIFACTS") or os.path.join(BUILD, "test-artifacts")

BINARIES = {
    "load-broker": "src/broker/load-broker",
    "target-server": "src/targetd/target-server",
    "load-driver": "src/driver/load-driver",
    "load-orchestrator": "src/orchestrator/load-orchestrator",
    "load-client": "src/client/load-client",
}


def binary(name):
    path = os.path.join(BUILD, BINARIES[name])
    if not os.path.exists(path):
        raise FileNotFoundError(f"{name} not built at {path}")
    return path


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago, outside the
    kernel's ephemeral range. A port from that range (what bind to port 0
    gives) can be taken at any moment as the source port of an outgoing
    connection; a client that keeps reconnecting to a stopped server on such
    a port may even connect to itself and hold it, so a server restarted on
    it fails with "Address already in use"."""
    lo, hi = _ephemeral_range()
    # Below the ephemeral range when there is room, else above it.
    first, last = (10000, lo - 1) if lo > 12000 else (hi + 1, 65535)
    rng = random.Random()
    for _ in range(200):
        port = rng.randint(first, last)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}..{last}")


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


class Proc:
    """A started process; its stderr goes to a log file under ARTIFACTS and
    its stdout lines are collected in self.lines."""

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

    def __init__(self, name, argv, env=None, logdir=ARTIFACTS, ours=True):
        os.makedirs(logdir, exist_ok=True)
        self.name = name
        # ours: one of the project's binaries, which must exit 0 on SIGTERM
        # and print no sanitizer report.
        self.ours = ours
        self.killed = False
        self.argv = argv
        self.logpath = os.path.join(logdir, f"{name}-{os.getpid()}-{time.time_ns()}.log")
        self.logfile = open(self.logpath, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.logfile,
                                  stdin=subprocess.DEVNULL, env=full_env)
        self.pid = self.p.pid
        self.lines = []
        self._cv = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.p.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cv:
                self.lines.append(line)
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def wait_line(self, prefix, timeout=15):
        """Wait for a stdout line starting with prefix; return it."""
        deadline = time.time() + timeout
        with self._cv:
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        return line
                if self.p.poll() is not None and not self._reader.is_alive():
                    raise RuntimeError(f"{self.name} exited ({self.p.returncode}) before "
                                       f"printing '{prefix}'; log: {self.stderr_tail()}")
                left = deadline - time.time()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: no '{prefix}' line in {timeout}s; "
                                       f"log: {self.stderr_tail()}")
                self._cv.wait(min(left, 0.2))

    def stderr_text(self):
        if not self.logfile.closed:
            self.logfile.flush()
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr_tail(self, n=30):
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, timeout=15):
        """SIGTERM, wait, then SIGKILL. Returns the exit status."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} pid {self.pid} ignored SIGTERM for {timeout}s; killing")
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait()
        self._reader.join(2)
        self.logfile.close()
        return self.p.returncode

    def kill(self):
        """SIGKILL on purpose: the exit status is then not held against it."""
        self.killed = True
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            self.p.wait()
        return self.p.returncode

    def problems(self):
        """What is wrong with how this process ended, or None."""
        if not self.ours:
            return None
        text = self.stderr_text()
        for mark in self.SANITIZER_MARKS:
            if mark in text:
                return f"{self.name} (pid {self.pid}) printed a sanitizer report ({mark})"
        rc = self.p.returncode
        if not self.killed and rc not in (0, None):
            return f"{self.name} (pid {self.pid}) exited with status {rc}"
        return None


class Cluster:
    """Owns every process a test starts. Leaving the with-block stops them
    all in reverse order of start, whatever happened."""

    def __init__(self):
        self.procs = []
        self.kafka = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()
        problems = [m for m in (p.problems() for p in self.procs) if m]
        if exc[0] is not None or problems:
            for p in self.procs:
                log(f"--- {p.name} (pid {p.pid}) log tail:\n{p.stderr_tail(15)}")
        if exc[0] is None and problems:
            raise AssertionError("; ".join(problems))
        return False

    def stop_all(self):
        for p in reversed(self.procs):
            with contextlib.suppress(Exception):
                p.stop()

    def start(self, name, argv, env=None, ready=None, timeout=15, ours=True):
        p = Proc(name, argv, env=env, ours=ours)
        self.procs.append(p)
        if ready:
            p.wait_line(ready, timeout)
        return p

    # ---- the project's processes ------------------------------------------

    def broker(self, *extra):
        port = free_port()
        p = self.start("load-broker", [binary("load-broker"), "--listen", f"127.0.0.1:{port}",
                                       *extra], ready="ready ")
        self.kafka = p.wait_line("ready ").split("bootstrap=")[1].strip()
        p.bootstrap = self.kafka
        return p

    def target(self, *extra):
        """target-server on a free port; p.url is its base URL."""
        port = free_port()
        p = self.start("target-server", [binary("target-server"), "--listen",
                                         f"127.0.0.1:{port}", *extra], ready="ready ")
        p.url = f"http://127.0.0.1:{port}"
        p.port = port
        return p

    def driver(self, *extra, target=None, db=None, name="load-driver", timeout=20):
        """A load-driver on self.kafka. It prints 'ready node_id=ID' once
        registered; p.node_id holds ID. target: its --target URL."""
        argv = [binary("load-driver"), "--kafka", self.kafka]
        if target:
            argv += ["--target", target]
        if db is None:
            db = os.path.join(ARTIFACTS, f"driver-{os.getpid()}-{time.time_ns()}.db")
        argv += ["--db", db, *extra]
        p = self.start(name, argv, ready="ready ", timeout=timeout)
        p.node_id = p.wait_line("ready ").split("node_id=")[1].split()[0]
        p.db = db
        return p

    def orchestrator(self, *extra, db=None, timeout=20):
        """load-orchestrator on self.kafka and a free port; p.url is its base
        URL. It prints 'ready listen=HOST:PORT' once it serves."""
        port = free_port()
        if db is None:
            db = os.path.join(ARTIFACTS, f"orchestrator-{os.getpid()}-{time.time_ns()}.db")
        argv = [binary("load-orchestrator"), "--kafka", self.kafka, "--listen",
                f"127.0.0.1:{port}", "--db", db, *extra]
        p = self.start("load-orchestrator", argv, ready="ready ", timeout=timeout)
        p.url = f"http://127.0.0.1:{port}"
        p.port = port
        p.db = db
        return p


# ---- HTTP ---------------------------------------------------------------

def http(method, url, body=None, headers=None, timeout=10):
    """Returns (status, headers dict, body bytes); never raises on HTTP errors."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url, timeout=10):
    status, _, body = http("GET", url, timeout=timeout)
    if status != 200:
        raise RuntimeError(f"GET {url} -> {status}: {body[:200]!r}")
    return json.loads(body)


# ---- Kafka through kcat (a client this project did not write) -------------

def kcat_produce(bootstrap, topic, value, key=None, timeout=20):
    argv = ["kcat", "-b", bootstrap, "-P", "-t", topic, "-X", "enable.idempotence=true",
            "-X", "acks=all"]
    if key is not None:
        argv += ["-K", "\t"]
        value = f"{key}\t{value}"
    data = value if isinstance(value, bytes) else value.encode()
    subprocess.run(argv, input=data, check=True, timeout=timeout)


class KcatConsumer:
    """kcat -C from the log end (or an offset), collecting messages as they
    arrive. Each message is one line: its value as JSON must not hold a
    newline (the project's encoders never emit one)."""

    def __init__(self, bootstrap, topic, offset="end", cluster=None):
        argv = ["kcat", "-b", bootstrap, "-C", "-t", topic, "-o", offset, "-u", "-q",
                "-f", "%k\t%s\n"]
        self.proc = Proc(f"kcat-{topic}", argv, ours=False)
        if cluster is not None:
            cluster.procs.append(self.proc)
        self.topic = topic

    def messages(self):
        out = []
        for line in list(self.proc.lines):
            key, _, value = line.partition("\t")
            out.append((key, value))
        return out

    def json_messages(self):
        res = []
        for _, v in self.messages():
            with contextlib.suppress(ValueError):
                res.append(json.loads(v))
        return res

    def wait_for(self, pred, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for m in self.json_messages():
                if pred(m):
                    return m
            time.sleep(0.05)
        raise TimeoutError(f"no matching message on {self.topic} in {timeout}s; "
                           f"saw {len(self.messages())}")

    def stop(self):
        self.proc.stop()


def wait_until(pred, timeout=15, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def check(cond, msg):
    """An assertion that survives python -O and says what failed."""
    if not cond:
        raise AssertionError(msg)


def run_test(fn):
    """Entry point for a test script: run fn, print PASS/FAIL, exit status."""
    t0 = time.time()
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - report every failure the same way
        import traceback
        traceback.print_exc()
        print(f"FAIL {os.path.basename(sys.argv[0])}: {e} ({time.time() - t0:.1f}s)")
        sys.exit(1)
    print(f"PASS {os.path.basename(sys.argv[0])} ({time.time() - t0:.1f}s)")
