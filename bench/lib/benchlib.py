"""Shared helpers of the benchmark scripts in bench/: the machine, the tools,
processes started and stopped by PID, an nginx of our own, the project's
programs, CPU and memory of a process, medians, and the results folder.

Standard library only. Every process a script starts is registered here
and stopped by its PID when the script ends, however it ends (normal exit,
exception, SIGINT, SIGTERM or the script's own deadline)."""

import atexit
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(BENCH)
TOOLS = os.path.join(BENCH, "tools")
RESULTS = os.path.join(BENCH, "results")
TICK = os.sysconf("SC_CLK_TCK")


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def out(*args):
    """A line of the report (stdout)."""
    print(*args, flush=True)


# ---- the machine --------------------------------------------------------

def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    curl = "?"
    try:
        curl = subprocess.run(["pkg-config", "--modversion", "libcurl"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": os.uname().release,
            "libcurl": curl, "loadavg_before": loadavg(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def print_machine(m):
    out(f"machine: nproc={m['nproc']}, {m['cpu']}, kernel {m['kernel']}, libcurl {m['libcurl']}")
    out(f"load average before: {m['loadavg_before']}")


def ensure_tools(cmds):
    """cmds: {command: debian_package}. Installs the packages of missing
    commands with apt-get (as root, or through sudo)."""
    missing = sorted({pkg for cmd, pkg in cmds.items() if not shutil.which(cmd)})
    if not missing:
        return
    log("installing", " ".join(missing))
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(sudo + ["apt-get", "install", "-y", "--no-install-recommends", *missing],
                       env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        subprocess.run(sudo + ["apt-get", "update"], env=env, capture_output=True, timeout=600)
        subprocess.run(sudo + ["apt-get", "install", "-y", "--no-install-recommends", *missing],
                       env=env, check=True, timeout=600)
    still = [c for c in cmds if not shutil.which(c)]
    if still:
        raise SystemExit(f"missing after apt-get install: {', '.join(still)}")


def version(argv, pattern):
    """A tool's version, matched in what argv prints; "?" if none."""
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return "?"
    m = re.search(pattern, r.stdout + r.stderr)
    return m.group(1) if m else "?"


def build_dir(arg=None):
    """The release build folder holding the project's binaries."""
    d = arg or os.environ.get("DLT_BUILD") or os.path.join(ROOT, "build-bench")
    if not os.path.exists(os.path.join(d, "src/driver/load-driver")):
        raise SystemExit(f"no load-driver in {d}: build it first\n"
                         f"  cmake -S {ROOT} -B {d} -DCMAKE_BUILD_TYPE=Release -DDLT_WERROR=ON\n"
                         f"  cmake --build {d} -j2")
    return d


def binary(build, name):
    sub = {"load-driver": "driver", "target-server": "targetd", "load-broker": "broker",
           "load-orchestrator": "orchestrator", "load-client": "client"}[name]
    return os.path.join(build, "src", sub, name)


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def private_loopback():
    """A loopback address of its own (127.x.y.z, random, not 127.0.0.1):
    a server there is reached only by clients given its address, never by
    another program's client that happens to aim at a port it freed on
    127.0.0.1 and our server took."""
    import random
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(xs, p):
    """The p-th percentile (0..100) of xs, nearest rank."""
    xs = sorted(xs)
    if not xs:
        return None
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def save_results(name, data):
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    out(f"\nraw results: {os.path.relpath(path, ROOT)}")
    return path


# ---- processes ----------------------------------------------------------

_procs = []
_lock = threading.Lock()
WORK = tempfile.mkdtemp(prefix="dlt-bench-")


def _cleanup():
    with _lock:
        procs = list(_procs)
    for p in reversed(procs):
        p.stop()
    shutil.rmtree(WORK, ignore_errors=True)


def _on_signal(sig, frame):
    raise KeyboardInterrupt(f"signal {sig}")


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, _on_signal)


def raise_nofile(want=65536):
    """Raise this process's soft RLIMIT_NOFILE towards its hard limit (at
    most want), so that the tools it starts, which inherit it, can open
    1,000 connections and more. Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if new > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    return soft


class DeadlineExceeded(TimeoutError):
    """The script ran over its deadline()."""


def deadline(seconds):
    """Bound the whole script: after this many seconds it stops (SIGALRM,
    raising DeadlineExceeded), stopping everything it started."""
    def on_alarm(sig, frame):
        raise DeadlineExceeded(f"the script ran over its {seconds} s bound")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(seconds))


class Proc:
    """A long-running process of ours: stdout lines are collected, stderr
    goes to a log file in the work folder. Stopped by PID (SIGTERM, then
    SIGKILL after `grace` seconds)."""

    def __init__(self, name, argv, ready=None, timeout=20, env=None, grace=10):
        self.name = name
        self.grace = grace
        self.lines = []
        self.logpath = os.path.join(WORK, f"{name}-{len(_procs)}.log")
        self.logf = open(self.logpath, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.logf,
                                  stdin=subprocess.DEVNULL, env=full_env)
        self.pid = self.p.pid
        with _lock:
            _procs.append(self)
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        if ready:
            self.ready_line = self.wait_line(ready, timeout)

    def _read(self):
        for raw in self.p.stdout:
            with self._cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()

    def wait_line(self, prefix, timeout=20):
        end = time.time() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        return line
                left = end - time.time()
                if left <= 0 or self.p.poll() is not None:
                    raise RuntimeError(f"{self.name} printed no '{prefix}' line: "
                                       f"{self.stderr_tail()}")
                self._cond.wait(min(left, 0.2))

    def stderr_tail(self, n=5):
        try:
            with open(self.logpath, errors="replace") as f:
                return " | ".join(f.read().splitlines()[-n:])
        except OSError:
            return ""

    def cpu_s(self):
        return cpu_seconds(self.pid)

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def stop(self):
        if self.p.poll() is None:
            try:
                os.kill(self.pid, signal.SIGCONT)  # in case it was stopped
                os.kill(self.pid, signal.SIGTERM)
                self.p.wait(self.grace)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait(5)
            except ProcessLookupError:
                pass
        self.logf.close()
        with _lock:
            if self in _procs:
                _procs.remove(self)


def cpu_seconds(pid):
    """utime + stime of a live process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def vm_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Run:
    """The outcome of run_measured."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def run_measured(argv, timeout=120, env=None, cwd=None, on_start=None, check=True):
    """Run argv to its end, bounded by timeout. Returns a Run with out,
    err, rc, cpu (user+system seconds of the process and its children,
    from wait4), user, sys, wall (seconds), hwm_kb (its VmHWM, sampled
    every 20 ms; the last reading before it exited). on_start(pid) is
    called once it runs."""
    out_f = tempfile.TemporaryFile(dir=WORK)
    err_f = tempfile.TemporaryFile(dir=WORK)
    t0 = time.time()
    p = subprocess.Popen(argv, stdout=out_f, stderr=err_f, stdin=subprocess.DEVNULL,
                         env=env, cwd=cwd)
    holder = _Waited(p)
    with _lock:
        _procs.append(holder)
    try:
        if on_start:
            on_start(p.pid)
        hwm = None
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            h = vm_hwm_kb(p.pid)
            if h:
                hwm = h
            if time.time() - t0 > timeout:
                os.kill(p.pid, signal.SIGKILL)
                os.wait4(p.pid, 0)
                holder.done = True
                raise TimeoutError(f"{argv[0]} ran over {timeout} s")
            time.sleep(0.02)
        holder.done = True
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        with _lock:
            if holder in _procs:
                _procs.remove(holder)
    wall = time.time() - t0
    out_f.seek(0)
    err_f.seek(0)
    o, e = out_f.read().decode(errors="replace"), err_f.read().decode(errors="replace")
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} ... exited {p.returncode}: {e[-600:]}")
    return Run(out=o, err=e, rc=p.returncode, cpu=ru.ru_utime + ru.ru_stime, user=ru.ru_utime,
               sys=ru.ru_stime, wall=wall, hwm_kb=hwm)


class _Waited:
    """A process run_measured waits for; stopped by PID if the script ends
    before it does."""

    def __init__(self, p):
        self.p = p
        self.done = False

    def stop(self):
        if not self.done and self.p.poll() is None:
            try:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


# ---- HTTP -----------------------------------------------------------------

def http_json(method, url, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.loads(r.read() or b"null")


# ---- servers ----------------------------------------------------------------

class Nginx:
    """An nginx of our own on a free loopback port (of host, 127.0.0.1 unless
    told; see private_loopback): 1 worker, daemon off,
    keepalive_requests 1000000, /ping (any path) answering a 2-byte body
    "OK", and stub_status at /nginx_status so that a run can be counted at
    the server, independently of the tool that made it. Sized for 1,000
    connections and more: worker_connections 10000, worker_rlimit_nofile
    20000 (the worker raises its own RLIMIT_NOFILE), listen backlog 4096."""

    def __init__(self, host="127.0.0.1", times_log=False):
        """times_log: log each request's time ($msec, epoch seconds to the
        ms) to self.times_path, for counting a run per interval."""
        ensure_tools({"nginx": "nginx-light"})
        self.dir = tempfile.mkdtemp(prefix="nginx-", dir=WORK)
        self.host = host
        self.port = free_port(host)
        conf = os.path.join(self.dir, "nginx.conf")
        d = self.dir
        self.times_path = os.path.join(d, "times.log") if times_log else None
        access = (f"log_format t '$msec';\n  access_log {self.times_path} t buffer=256k flush=1s;"
                  if times_log else "access_log off;")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
worker_rlimit_nofile 20000;
events {{ worker_connections 10000; }}
http {{
  {access}
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen {host}:{self.port} backlog=4096;
    location = /nginx_status {{ stub_status; }}
    location / {{ default_type text/plain; return 200 "OK"; }}
  }}
}}
""")
        self.proc = Proc("nginx", ["nginx", "-c", conf, "-p", d])
        self.base = f"http://{host}:{self.port}"
        self.url = self.base + "/ping"
        for _ in range(200):
            try:
                self.status()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("nginx did not start: " + self.proc.stderr_tail())
        kids = open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read().split()
        self.worker = int(kids[0]) if kids else self.proc.pid

    def status(self):
        """(requests served so far, active connections), from stub_status.
        Each call is itself one request."""
        with urllib.request.urlopen(self.base + "/nginx_status", timeout=5) as r:
            text = r.read().decode()
        active = int(re.search(r"Active connections:\s*(\d+)", text).group(1))
        nums = re.search(r"\n\s*(\d+)\s+(\d+)\s+(\d+)", text)
        return int(nums.group(3)), active

    def stop(self):
        self.proc.stop()

    def times(self):
        """Epoch seconds of every request logged so far (times_log), our own
        /nginx_status polls included; nginx flushes its buffer within 1 s
        and at stop."""
        with open(self.times_path) as f:
            return [float(x) for x in f if x.strip()]


class ServerCounter:
    """Counts a run at nginx: samples stub_status every `period` seconds in
    a thread, with the CPU time of the tool's process (set .pid once it
    runs) and of nginx's worker. steady() gives, over the middle of the
    active period (from the first to the last sample that saw requests,
    minus a fifth at each end, so that start-up and ramp-up are left out),
    the server-side request rate and the tool's and the worker's CPU per
    request; max_active() is the most connections open at once."""

    def __init__(self, nginx, period=0.1):
        self.ng = nginx
        self.period = period
        self.pid = None
        self.samples = []  # (time, requests, active connections, tool cpu, nginx cpu)
        self.polls = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(5)

    def _run(self):
        while not self._stop.is_set():
            try:
                n, active = self.ng.status()
                self.polls += 1
                try:
                    tool = cpu_seconds(self.pid) if self.pid else None
                except OSError:
                    tool = None
                # Our own status requests are counted by nginx too.
                self.samples.append((time.time(), n - self.polls, active - 1, tool,
                                     cpu_seconds(self.ng.worker)))
            except OSError:
                pass
            self._stop.wait(self.period)

    def total(self):
        if len(self.samples) < 2:
            return 0
        return self.samples[-1][1] - self.samples[0][1]

    def max_active(self):
        return max((x[2] for x in self.samples), default=0)

    def steady(self):
        """{"rps", "tool_us", "nginx_us", "nginx_share"} over the steady
        window (None values when the run was too short to tell)."""
        s = self.samples
        res = {"rps": None, "tool_us": None, "nginx_us": None, "nginx_share": None}
        moving = [i for i in range(1, len(s)) if s[i][1] > s[i - 1][1]]
        if len(moving) < 3:
            return res
        a, b = moving[0] - 1, moving[-1]
        t0, t1 = s[a][0], s[b][0]
        lo, hi = t0 + (t1 - t0) * 0.2, t1 - (t1 - t0) * 0.2
        inner = [x for x in s[a:b + 1] if lo <= x[0] <= hi and x[3] is not None]
        if len(inner) < 3 or inner[-1][0] <= inner[0][0]:
            inner = [x for x in s[a:b + 1]]
        x0, x1 = inner[0], inner[-1]
        dt, dn = x1[0] - x0[0], x1[1] - x0[1]
        if dt <= 0 or dn <= 0:
            return res
        res["rps"] = dn / dt
        if x0[3] is not None and x1[3] is not None:
            res["tool_us"] = (x1[3] - x0[3]) * 1e6 / dn
        res["nginx_us"] = (x1[4] - x0[4]) * 1e6 / dn
        res["nginx_share"] = (x1[4] - x0[4]) / dt
        return res


class Target:
    """target-server on a free port (port 0, read back from its ready line)."""

    def __init__(self, build, *args):
        self.proc = Proc("target-server", [binary(build, "target-server"), "--listen",
                                           "127.0.0.1:0", "--log-level", "warn", *args],
                         ready="ready ")
        self.port = int(self.proc.ready_line.rsplit(":", 1)[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = self.base + "/ping"
        self.pid = self.proc.pid

    def metrics(self):
        with urllib.request.urlopen(self.base + "/metrics", timeout=5) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.stop()


class Cluster:
    """load-broker, load-orchestrator and n load-drivers, on free ports,
    their databases in the work folder."""

    def __init__(self, build, target_url, n_drivers, orch_args=(), driver_args=()):
        self.build = build
        self.broker = Proc("load-broker", [binary(build, "load-broker"), "--listen",
                                           "127.0.0.1:0", "--log-level", "warn"],
                           ready="ready ")
        self.kafka = self.broker.ready_line.split("bootstrap=")[1].strip()
        self.orch = Proc("load-orchestrator",
                         [binary(build, "load-orchestrator"), "--kafka", self.kafka, "--listen",
                          "127.0.0.1:0", "--db", os.path.join(WORK, f"orch-{time.time_ns()}.db"),
                          "--log-level", "warn", *orch_args], ready="ready ", timeout=30)
        self.api = "http://" + self.orch.ready_line.split("listen=")[1].strip()
        self.drivers = []
        for i in range(n_drivers):
            d = Proc(f"load-driver-{i}",
                     [binary(build, "load-driver"), "--kafka", self.kafka, "--target", target_url,
                      "--db", os.path.join(WORK, f"driver-{i}-{time.time_ns()}.db"),
                      "--log-level", "warn", *driver_args], ready="ready ", timeout=60)
            d.node_id = d.ready_line.split("node_id=")[1].split()[0]
            self.drivers.append(d)
        end = time.time() + 60
        while time.time() < end:
            _, r = http_json("GET", self.api + "/api/drivers")
            alive = [x for x in r["drivers"] if x["liveness"] == "alive"]
            if len(alive) >= n_drivers:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the orchestrator does not see {n_drivers} live drivers")

    def start_test(self, config):
        status, t = http_json("POST", self.api + "/api/tests", config)
        if status not in (200, 201):
            raise RuntimeError(f"POST /api/tests: {status} {t}")
        return t["test_id"]

    def test(self, test_id):
        return http_json("GET", f"{self.api}/api/tests/{test_id}")[1]

    def wait_over(self, test_id, timeout=120, period=0.2):
        end = time.time() + timeout
        while time.time() < end:
            t = self.test(test_id)
            if t["state"] in ("COMPLETED", "PARTIAL", "FAILED", "ABORTED"):
                return t
            time.sleep(period)
        raise TimeoutError(f"test {test_id} not over after {timeout} s")

    def stop(self):
        for d in self.drivers:
            d.stop()
        self.orch.stop()
        self.broker.stop()


def callgrind_ir(argv, env=None):
    """The instructions (user space) a run of argv executes under callgrind."""
    r = run_measured(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                      *argv], timeout=600, env=env)
    return int(re.search(r"refs:\s+([\d,]+)", r.err).group(1).replace(",", ""))


def bench_argv(build, url, config, threads=1, args=()):
    """The argv of load-driver --bench (a large config goes as @FILE)."""
    text = json.dumps(config)
    if len(text) > 100000:  # over what one argument may hold (128 KiB)
        path = os.path.join(WORK, f"bench-config-{len(text)}.json")
        with open(path, "w") as f:
            f.write(text)
        text = "@" + path
    return [binary(build, "load-driver"), "--target", url, "--threads", str(threads),
            "--log-level", "warn", "--db", os.path.join(WORK, "bench-unused.db"),
            *args, "--bench", text]


def driver_bench(build, url, config, threads=1, timeout=300, on_start=None, args=()):
    """load-driver --bench: one test_config without Kafka; args are extra
    load-driver arguments (e.g. ["--engine", "curl"]). Returns (report,
    Run)."""
    r = run_measured(bench_argv(build, url, config, threads, args), timeout=timeout,
                     on_start=on_start)
    rep = json.loads(r.out.strip().splitlines()[-1])
    return rep, r
