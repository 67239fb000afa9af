"""docker-compose.yml run for real: Debian's docker-compose 1.29 drives
podman through its Docker-compatible API (a `podman system service` this test
starts and stops by PID).

    test_compose_run.py single    the whole file: Kafka, target, orchestrator,
                                  2 drivers; then --scale driver=8 and a
                                  TSUNAMI test from the `client` service
    test_compose_run.py cluster   the same with docker-compose.cluster.yml:
                                  three Kafka nodes, replication 3

No image registry is reached. The base image is Debian bookworm from
debootstrap (its tarball cached in /var/cache/dlt-compose), the dlt image is
the project's Dockerfile, and Kafka is the stand-in of tests/compose/kafka:
the jars of kafka/pom.xml (scripts/kafka.sh install) started by the
apache/kafka image's environment rule, so the compose file's Kafka
environment is what runs. tests/compose/stand-in*.yml point compose at these
images.

Checks: the test ends COMPLETED with every request sent and answered
(drivers x count) and target-server served exactly that many; the dashboard
answers on the published port (127.0.0.1, a free port through
DLT_DASHBOARD_PORT); every service with a healthcheck is healthy. Without
systemd podman schedules no healthcheck, so the test runs each one at its
interval (`podman healthcheck run`) until it passes, then every 30 s, and
all of them again at the end. Everything is
removed at the end (`docker-compose down -v`, then any container, volume or
network left with the project's label), even on failure; the images stay,
under localhost/dlt-compose-test/, as the build cache.

Exit status 77 (skipped) only when not root or podman / docker-compose are
not installed (scripts/setup.sh installs them)."""

import fcntl
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from dlt import ARTIFACTS, check, free_port, get_json, http, log, run_test, wait_until

SRC = os.path.abspath(os.environ.get("DLT_SOURCE")
                      or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HERE = os.path.join(SRC, "tests", "compose")
SKIP = 77

IMAGE_PREFIX = "localhost/dlt-compose-test"
DLT_IMAGE = IMAGE_PREFIX + "/dlt:latest"
DLT_BUILD_STAGE = IMAGE_PREFIX + "/dlt-build:latest"
KAFKA_IMAGE = IMAGE_PREFIX + "/kafka:latest"
BASE_TAGS = ("docker.io/library/debian:bookworm", "docker.io/library/debian:bookworm-slim")
PROJECT_PREFIX = "dltcompose"

COUNT = 200          # requests per driver
SCALE = 8            # drivers after --scale (single)

# podman's defaults that fail in this kind of machine: rlimits it may not
# set, crun with hybrid cgroups (runc runs there), systemd's cgroup manager
# and journal when there is no systemd.
CONTAINERS_CONF = """\
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
{runtime}
[network]
network_backend = "netavark"
"""


def cache_dir():
    path = os.environ.get("DLT_COMPOSE_CACHE")
    if not path:
        path = "/var/cache/dlt-compose"
        try:
            os.makedirs(path, exist_ok=True)
        except OSError:
            path = os.path.join(os.path.expanduser("~"), ".cache", "dlt-compose")
    os.makedirs(path, exist_ok=True)
    return path


def run(argv, env=None, timeout=600, check_rc=True, quiet=False, **kw):
    t0 = time.time()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL, **kw)
    if not quiet:
        log(f"$ {' '.join(argv)} -> {r.returncode} ({time.time() - t0:.1f}s)")
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}:\n"
                           f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


class Podman:
    """The podman command line with this test's containers.conf, and the
    Docker-compatible service that docker-compose talks to."""

    def __init__(self, workdir):
        self.workdir = workdir
        conf = os.path.join(workdir, "containers.conf")
        runtime = 'runtime = "runc"\n' if shutil.which("runc") else ""
        with open(conf, "w") as f:
            f.write(CONTAINERS_CONF.format(runtime=runtime))
        self.env = dict(os.environ, CONTAINERS_CONF=conf)
        self.sock = os.path.join(workdir, "podman.sock")
        self.service = None

    def __call__(self, *args, **kw):
        return run(["podman", *args], env=self.env, **kw)

    def start_service(self):
        logf = open(os.path.join(self.workdir, "podman-service.log"), "wb")
        self.service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", "unix://" + self.sock],
            env=self.env, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        with open(os.path.join(self.workdir, "service.pid"), "w") as f:
            f.write(str(self.service.pid))
        log(f"podman system service pid {self.service.pid} on {self.sock}")

        def ping():
            if self.service.poll() is not None:
                raise RuntimeError(f"podman system service exited {self.service.returncode}")
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(5)
                    s.connect(self.sock)
                    s.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
                    return b"OK" in s.recv(4096)
            except OSError:
                return False
        wait_until(ping, timeout=60, interval=0.2, what="podman's API socket")

    def stop_service(self):
        p = self.service
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
        log(f"podman system service pid {p.pid} stopped")


def reap_stale(pm):
    """What a run killed before its cleanup (a ctest timeout) left behind:
    only projects and services whose test process is gone."""
    r = pm("ps", "-a", "--format", "{{.Labels}}", check_rc=False, quiet=True)
    projects = set(re.findall(r"com\.docker\.compose\.project:(" + PROJECT_PREFIX + r"\d+)",
                              r.stdout))
    for proj in projects:
        if not os.path.exists(f"/proc/{proj[len(PROJECT_PREFIX):]}"):
            log(f"removing the leftovers of {proj}")
            remove_project(pm, proj)
    for d in glob.glob(os.path.join(tempfile.gettempdir(), "dlt-compose-*")):
        owner = d.rsplit("-", 1)[-1]
        if not owner.isdigit() or os.path.exists(f"/proc/{owner}"):
            continue
        try:
            with open(os.path.join(d, "service.pid")) as f:
                pid = int(f.read())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            if os.path.join(d, "podman.sock").encode() in cmd:
                log(f"stopping a stale podman system service, pid {pid}")
                os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
        shutil.rmtree(d, ignore_errors=True)


def remove_project(pm, proj):
    label = f"label=com.docker.compose.project={proj}"
    ids = pm("ps", "-aq", "--filter", label, check_rc=False, quiet=True).stdout.split()
    if ids:
        pm("rm", "-f", "-t", "5", *ids, check_rc=False)
    vols = pm("volume", "ls", "-q", "--filter", label, check_rc=False, quiet=True).stdout.split()
    if vols:
        pm("volume", "rm", "-f", *vols, check_rc=False)
    nets = pm("network", "ls", "-q", "--filter", label, check_rc=False, quiet=True).stdout.split()
    nets += [n for n in pm("network", "ls", "--format", "{{.Name}}", check_rc=False,
                           quiet=True).stdout.split() if n == proj + "_default"]
    if nets:
        pm("network", "rm", "-f", *sorted(set(nets)), check_rc=False)


# ---- images -------------------------------------------------------------------

def debian_mirror():
    """The Debian archive of this machine's apt sources."""
    if os.environ.get("DLT_DEBIAN_MIRROR"):
        return os.environ["DLT_DEBIAN_MIRROR"]
    texts = []
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*")):
        try:
            with open(path) as f:
                texts.append(f.read())
        except OSError:
            pass
    for text in texts:
        for m in re.finditer(r"^(?:deb\s+(?:\[[^\]]*\]\s+)?|URIs:\s*)(\S+/debian)/?\s", text,
                             re.M):
            return m.group(1)
    return "http://deb.debian.org/debian"


def base_image(pm, cache):
    """docker.io/library/debian:bookworm(-slim), imported from a debootstrap
    tarball kept in the cache. An image already present is kept: importing
    again would give a new id and throw the build cache away."""
    have = [t for t in BASE_TAGS
            if pm("image", "exists", t, check_rc=False, quiet=True).returncode == 0]
    if len(have) == len(BASE_TAGS):
        return
    if not have:
        tarball = os.path.join(cache, "debian-bookworm-minbase.tar")
        if not os.path.exists(tarball):
            if not shutil.which("debootstrap"):
                raise RuntimeError("debootstrap not found (scripts/setup.sh installs it)")
            root = tempfile.mkdtemp(prefix="rootfs-", dir=cache)
            try:
                run(["debootstrap", "--variant=minbase", "bookworm", root, debian_mirror()],
                    timeout=900)
                for deb in glob.glob(os.path.join(root, "var/cache/apt/archives/*.deb")):
                    os.unlink(deb)
                run(["tar", "-C", root, "-cf", tarball + ".tmp", "."], timeout=300)
                os.rename(tarball + ".tmp", tarball)
            finally:
                shutil.rmtree(root, ignore_errors=True)
        pm("import", tarball, BASE_TAGS[0], timeout=300)
        have = [BASE_TAGS[0]]
    for t in BASE_TAGS:
        if t not in have:
            pm("tag", have[0], t)


def kafka_libs():
    r = run([os.path.join(SRC, "scripts", "kafka.sh"), "install"], timeout=900)
    m = re.search(r"^libs=(.+)$", r.stdout, re.M)
    check(m, f"scripts/kafka.sh install printed no libs= line: {r.stdout!r}")
    return m.group(1)


def pom_kafka_version():
    with open(os.path.join(SRC, "kafka", "pom.xml")) as f:
        m = re.search(r"<kafka.version>([^<]+)</kafka.version>", f.read())
    check(m, "no kafka.version in kafka/pom.xml")
    return m.group(1)


def kafka_tools_jar(libs, version, cache):
    """kafka-tools (bin/kafka-broker-api-versions.sh and the other commands
    of a release; the compose healthcheck calls one), the jar alone: what it
    needs beside is in the broker's jars."""
    out = os.path.join(cache, f"kafka-tools-{version}")
    jar = os.path.join(out, f"kafka-tools-{version}.jar")
    if not os.path.exists(jar):
        run(["mvn", "-B", "-q", "-Dstyle.color=never",
             "-Dmaven.repo.local=" + os.path.join(os.path.dirname(libs), "m2"),
             "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
             f"-Dartifact=org.apache.kafka:kafka-tools:{version}",
             "-DoutputDirectory=" + out], timeout=600, cwd=cache)
    check(os.path.exists(jar), f"Maven did not fetch {jar}")
    return jar


def build_images(pm, workdir):
    cache = cache_dir()
    with open(os.path.join(cache, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base_image(pm, cache)
        version = pom_kafka_version()
        libs = kafka_libs()
        tools = kafka_tools_jar(libs, version, cache)
        ctx = os.path.join(workdir, "kafka-image")
        os.makedirs(os.path.join(ctx, "libs"))
        for jar in glob.glob(os.path.join(libs, "*.jar")) + [tools]:
            shutil.copy2(jar, os.path.join(ctx, "libs"))
        for name in ("Dockerfile", "run.sh", "kafka-broker-api-versions.sh"):
            shutil.copy2(os.path.join(HERE, "kafka", name), ctx)
        shutil.copy2(os.path.join(SRC, "kafka", "log4j2.properties"), ctx)
        build(pm, KAFKA_IMAGE, ctx, os.path.join(ctx, "Dockerfile"))
        # The Dockerfile's build stage gets a name too, so that its image
        # from an earlier build is removed like the others.
        build(pm, DLT_BUILD_STAGE, SRC, os.path.join(SRC, "Dockerfile"), "--target", "build")
        build(pm, DLT_IMAGE, SRC, os.path.join(SRC, "Dockerfile"))
    return version


def build(pm, tag, ctx, dockerfile, *extra):
    """Build tag; the image it replaces is removed (the layers that did not
    change stay as the cache of the next build)."""
    def image_id():
        r = pm("image", "inspect", "--format", "{{.Id}}", tag, check_rc=False, quiet=True)
        return r.stdout.strip() if r.returncode == 0 else None
    old = image_id()
    pm("build", "--network", "host", "--pull=never", "-t", tag, "-f", dockerfile, *extra, ctx,
       timeout=900)
    if old and old != image_id():
        pm("rmi", old, check_rc=False, quiet=True)


# ---- healthchecks ---------------------------------------------------------------

class HealthChecks(threading.Thread):
    """Runs the healthcheck of every container of the project at its interval
    (what podman's systemd timers do where there is systemd): one thread per
    container, so that a slow check holds up no other."""

    def __init__(self, pm, project):
        super().__init__(daemon=True)
        self.pm = pm
        self.project = project
        self.stop_event = threading.Event()
        self.config = {}     # container id -> (interval s, timeout s), None: no healthcheck
        self.workers = {}

    def containers(self):
        r = self.pm("ps", "-q", "--no-trunc", "--filter",
                    f"label=com.docker.compose.project={self.project}",
                    check_rc=False, quiet=True, timeout=60)
        return r.stdout.split()

    def healthcheck(self, cid):
        if cid not in self.config:
            r = self.pm("inspect", "--format", "{{json .Config.Healthcheck}}", cid,
                        check_rc=False, quiet=True, timeout=60)
            hc = None
            try:
                hc = json.loads(r.stdout) if r.returncode == 0 else None
            except ValueError:
                pass
            if hc and hc.get("Test") and hc["Test"][0] != "NONE":
                self.config[cid] = (max(1.0, (hc.get("Interval") or 30e9) / 1e9),
                                    max(1.0, (hc.get("Timeout") or 30e9) / 1e9))
            else:
                self.config[cid] = None
        return self.config[cid]

    def run_once(self, cid):
        """podman healthcheck run: exit 0 healthy, 1 unhealthy (the check
        failed), 125 podman's own error (a check past its timeout)."""
        _, limit = self.healthcheck(cid)
        t0 = time.time()
        try:
            r = self.pm("healthcheck", "run", cid, check_rc=False, quiet=True,
                        timeout=limit + 60)
        except subprocess.TimeoutExpired:
            log(f"healthcheck of {cid[:12]}: no answer in {limit + 60:.0f}s")
            return 124
        took = time.time() - t0
        if r.returncode not in (0, 1) or took > limit:
            err = [ln for ln in r.stderr.splitlines() if "systemd" not in ln]
            log(f"healthcheck of {cid[:12]}: exit {r.returncode} in {took:.1f}s {err[-1:]}")
        return r.returncode

    def worker(self, cid):
        interval, _ = self.healthcheck(cid)
        while not self.stop_event.is_set():
            rc = self.run_once(cid)
            # Once healthy, a container stays so until its retries fail in
            # a row: checks every 30 s then keep the machine's CPUs for the
            # test (a Kafka check is a JVM). check_health runs them all again
            # at the end.
            self.stop_event.wait(max(interval, 30) if rc == 0 else interval)

    def run(self):
        while not self.stop_event.is_set():
            try:
                for cid in self.containers():
                    if cid not in self.workers and self.healthcheck(cid):
                        t = threading.Thread(target=self.worker, args=(cid,), daemon=True)
                        self.workers[cid] = t
                        t.start()
            except (OSError, subprocess.SubprocessError) as e:
                log(f"healthchecks: {e}")
            self.stop_event.wait(0.5)

    def stop(self):
        self.stop_event.set()
        if self.ident is not None:
            self.join(timeout=60)
        for t in self.workers.values():
            t.join(timeout=150)


# ---- the run --------------------------------------------------------------------

class Compose:
    def __init__(self, pm, project, files, port):
        self.pm = pm
        self.project = project
        self.files = files
        self.env = dict(pm.env, DOCKER_HOST="unix://" + pm.sock, DLT_DASHBOARD_PORT=str(port),
                        COMPOSE_HTTP_TIMEOUT="600")
        self.env.pop("COMPOSE_FILE", None)
        self.env.pop("COMPOSE_PROFILES", None)

    def __call__(self, *args, timeout=900, check_rc=True):
        argv = ["docker-compose", "--no-ansi", "-p", self.project, "--project-directory", SRC]
        for f in self.files:
            argv += ["-f", f]
        return run(argv + list(args), env=self.env, timeout=timeout, check_rc=check_rc)

    def containers(self, service):
        r = self.pm("ps", "--filter", "status=running", "--format", "{{.Names}}", "--filter",
                    f"label=com.docker.compose.project={self.project}", "--filter",
                    f"label=com.docker.compose.service={service}", quiet=True)
        return r.stdout.split()


def target_served(pm, container):
    """target-server's request count, from /metrics inside its container (the
    image has bash, whose /dev/tcp speaks HTTP well enough)."""
    r = pm("exec", container, "bash", "-c",
           "exec 3<>/dev/tcp/127.0.0.1/8081 && "
           "printf 'GET /metrics HTTP/1.0\\r\\nHost: target\\r\\n\\r\\n' >&3 && cat <&3",
           quiet=True, timeout=60)
    body = r.stdout[r.stdout.find("{"):]
    try:
        return json.loads(body)["total_requests"]
    except (ValueError, KeyError) as e:
        raise RuntimeError(f"target-server's /metrics: {r.stdout[:300]!r}") from e


def dashboard(url):
    """(status, body) of GET /, or None while nothing answers on the port."""
    try:
        status, _, body = http("GET", url + "/", timeout=30)
    except OSError:
        return None
    return status, body


def alive_drivers(url, n):
    def enough():
        try:
            ds = get_json(url + "/api/drivers")["drivers"]
        except (OSError, RuntimeError, ValueError):
            return None
        live = [d["node_id"] for d in ds if d["liveness"] == "alive"]
        return live if len(live) >= n else None
    return wait_until(enough, timeout=180, interval=0.5, what=f"{n} alive drivers")


def load_test(compose, pm, drivers):
    """One TSUNAMI run from the client service, COMPLETED with exact counts.
    Each request may take up to 60 s (the default 10 s was missed by a
    quarter of the requests once, while other work loaded the machine)."""
    target = compose.containers("target")
    check(len(target) == 1, f"target containers: {target}")
    before = target_served(pm, target[0])
    r = compose("run", "--rm", "client", "start", "--type", "tsunami", "--count", str(COUNT),
                "--delay", "5ms", "--timeout", "60s", "--min-drivers", str(drivers), "--wait",
                "--wait-timeout", "300s", timeout=600, check_rc=False)
    log("client start --wait:\n" + r.stdout + r.stderr[-2000:])
    check(r.returncode == 0, f"client exited {r.returncode}")
    check("State: COMPLETED" in r.stdout, "the test did not end COMPLETED")
    rows = [ln.split() for ln in r.stdout.splitlines() if ln.startswith(("all ", "d-"))]
    total = drivers * COUNT
    allrow = [x for x in rows if x[0] == "all"]
    check(allrow and allrow[0][1:4] == [str(total), str(total), "0"],
          f"summary row {allrow}: expected {total} sent, {total} received, 0 errors")
    per = [x for x in rows if x[0] != "all"]
    check(len(per) == drivers and all(x[1:4] == [str(COUNT), str(COUNT), "0"] for x in per),
          f"driver rows {per}")
    served = target_served(pm, target[0]) - before
    check(served == total, f"target-server served {served} requests, expected {total}")
    log(f"COMPLETED: {drivers} drivers x {COUNT} = {total} requests, target served {served}")


def check_health(pm, health, project, expect):
    """Every container with a healthcheck passes it now and is healthy, and
    the services expected to have one do. The scheduler is stopped first; a
    check that fails now is run again at its interval, for up to its retries
    (a busy machine can make one Kafka check miss its timeout)."""
    health.stop()
    seen = {}
    r = pm("ps", "-q", "--no-trunc", "--filter", f"label=com.docker.compose.project={project}",
           quiet=True)
    for cid in r.stdout.split():
        if health.healthcheck(cid) is None:
            continue
        interval, _ = health.healthcheck(cid)
        for _ in range(10):
            rc = health.run_once(cid)
            if rc == 0:
                break
            time.sleep(interval)
        out = pm("inspect", "--format",
                 '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Health.Status}}',
                 cid, quiet=True).stdout.split()
        seen[out[0]] = (rc, out[1] if len(out) > 1 else "")
    log(f"healthchecks: {seen}")
    check(sorted(seen) == sorted(expect), f"services with a healthcheck {sorted(seen)}, "
          f"expected {sorted(expect)}")
    bad = {k: v for k, v in seen.items() if v != (0, "healthy")}
    check(not bad, f"not healthy: {bad}")


def wait_in_sync(pm, compose):
    """On a cluster just formed, wait until no partition is under-replicated:
    with min.insync.replicas 2 and acks=all, a produce to a partition whose
    followers have not caught up yet waits, and a test config held up so
    long fails the test's ready wait. Production-like runs start once the
    cluster is whole."""
    kafka = compose.containers("kafka")[0]

    def in_sync():
        r = pm("exec", kafka, "java", "-Xmx256m", "-cp", "/opt/kafka/libs/*",
               "org.apache.kafka.tools.TopicCommand", "--bootstrap-server", "kafka:9092",
               "--describe", "--under-replicated-partitions", check_rc=False, quiet=True,
               timeout=120)
        lagging = [ln for ln in r.stdout.splitlines() if "Partition:" in ln]
        if r.returncode == 0 and not lagging:
            return True
        log(f"under-replicated partitions: {len(lagging)} (exit {r.returncode})")
        return False
    t0 = time.time()
    wait_until(in_sync, timeout=240, interval=1, what="every partition in sync")
    log(f"every partition in sync after {time.time() - t0:.1f}s")


def check_replication(pm, compose):
    """On the cluster the dlt topics have 3 copies, min.insync.replicas 2."""
    kafka = compose.containers("kafka")[0]
    r = pm("exec", kafka, "java", "-Xmx256m", "-cp", "/opt/kafka/libs/*",
           "org.apache.kafka.tools.TopicCommand", "--bootstrap-server", "kafka:9092",
           "--describe", "--topic", "register", quiet=True, timeout=120)
    first = r.stdout.splitlines()[0] if r.stdout else ""
    log(f"topic register: {first}")
    check("ReplicationFactor: 3" in first and "min.insync.replicas=2" in first,
          f"topic register is not replicated 3 / min ISR 2: {r.stdout[:500]}")
    r = pm("exec", kafka, "/opt/kafka/bin/kafka-broker-api-versions.sh",
           "--bootstrap-server", "kafka:9092", quiet=True, timeout=120)
    nodes = sorted(set(re.findall(r"^(kafka(?:-\d)?):9092 \(id: (\d)", r.stdout, re.M)))
    check(nodes == [("kafka", "1"), ("kafka-2", "2"), ("kafka-3", "3")], f"brokers {nodes}")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "single"
    check(mode in ("single", "cluster"), f"mode {mode}: single or cluster")
    if os.geteuid() != 0:
        print("SKIP: the compose test runs podman as root (this user is not)")
        sys.exit(SKIP)
    for tool in ("podman", "docker-compose"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} is not installed (scripts/setup.sh installs it)")
            sys.exit(SKIP)

    # SIGTERM (and SIGINT) end the test through its cleanup.
    def stop(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    t0 = time.time()
    # dlt-compose-MODE-PID: reap_stale reads the owner's PID from the name.
    workdir = os.path.join(tempfile.gettempdir(), f"dlt-compose-{mode}-{os.getpid()}")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    artifacts = os.path.join(ARTIFACTS, f"compose-{mode}")
    os.makedirs(artifacts, exist_ok=True)
    pm = Podman(workdir)
    reap_stale(pm)
    pm("info", "--format", "{{.Host.OCIRuntime.Name}} {{.Host.NetworkBackend}}")

    # The apache/kafka tag of the compose files is the Kafka of kafka/pom.xml.
    version = build_images(pm, workdir)
    log(f"images ready ({time.time() - t0:.0f}s)")
    files = [os.path.join(SRC, "docker-compose.yml")]
    if mode == "cluster":
        files.append(os.path.join(SRC, "docker-compose.cluster.yml"))
    for f in files:
        with open(f) as fh:
            tags = set(re.findall(r"image:\s*apache/kafka:(\S+)", fh.read()))
        check(tags == {version}, f"{os.path.basename(f)} runs apache/kafka {tags}, "
              f"kafka/pom.xml pins {version}")
    files.append(os.path.join(HERE, "stand-in.yml"))
    if mode == "cluster":
        files.append(os.path.join(HERE, "stand-in-cluster.yml"))

    project = f"{PROJECT_PREFIX}{os.getpid()}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    compose = Compose(pm, project, files, port)
    health = HealthChecks(pm, project)
    try:
        pm.start_service()
        health.start()
        t1 = time.time()
        compose("up", "-d", "--no-build")
        log(f"compose up: {time.time() - t1:.0f}s")
        kafkas = ["kafka"] + (["kafka-2", "kafka-3"] if mode == "cluster" else [])
        for svc in kafkas + ["target", "orchestrator"]:
            check(len(compose.containers(svc)) == 1, f"service {svc} is not running")
        check(len(compose.containers("driver")) == 2, "not 2 driver containers")

        t1 = time.time()
        status, body = wait_until(lambda: dashboard(url), timeout=120, interval=0.5,
                                  what=f"the dashboard on {url}/")
        check(status == 200 and b"<html" in body.lower(),
              f"the dashboard on {url}/ answered {status}: {body[:200]!r}")
        log(f"dashboard on {url}/: {status}, {len(body)} bytes, after {time.time() - t1:.1f}s")
        alive_drivers(url, 2)

        drivers = 2
        if mode == "cluster":
            wait_in_sync(pm, compose)
        if mode == "single":
            t1 = time.time()
            compose("up", "-d", "--no-build", "--scale", f"driver={SCALE}")
            check(len(compose.containers("driver")) == SCALE, f"not {SCALE} driver containers")
            alive_drivers(url, SCALE)
            log(f"scaled to {SCALE} drivers: {time.time() - t1:.0f}s")
            drivers = SCALE
        t1 = time.time()
        load_test(compose, pm, drivers)
        log(f"load test: {time.time() - t1:.0f}s")
        if mode == "cluster":
            check_replication(pm, compose)
        check_health(pm, health, project, kafkas + ["target", "orchestrator"])
    finally:
        health.stop()
        try:
            if pm.service and pm.service.poll() is None:
                r = compose("logs", "--no-color", timeout=120, check_rc=False)
                with open(os.path.join(artifacts, "compose.log"), "w") as f:
                    f.write(r.stdout + r.stderr)
                compose("down", "-v", "--remove-orphans", "-t", "10", timeout=300,
                        check_rc=False)
        finally:
            remove_project(pm, project)
            label = f"label=com.docker.compose.project={project}"
            left = (pm("ps", "-aq", "--filter", label, check_rc=False, quiet=True).stdout.split()
                    + pm("volume", "ls", "-q", "--filter", label, check_rc=False,
                         quiet=True).stdout.split()
                    + pm("network", "ls", "-q", "--filter", label, check_rc=False,
                         quiet=True).stdout.split())
            pm.stop_service()
            service_log = os.path.join(workdir, "podman-service.log")
            if os.path.exists(service_log):
                shutil.copy2(service_log, artifacts)
            shutil.rmtree(workdir, ignore_errors=True)
    check(not left, f"containers, volumes or networks left behind: {left}")
    log(f"{mode}: {time.time() - t0:.0f}s in all")


if __name__ == "__main__":
    run_test(main)
