"""Helpers shared by load-client's integration tests: run the client and
check that it ended as the project promises (an exit status, one clean line
on stderr when it failed, no sanitizer report), and render an HTML report in
headless Chromium."""

import os
import shutil
import subprocess
import tempfile
import time

from dlt import ARTIFACTS, binary, check, log

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class Result:
    def __init__(self, argv, rc, out, err, secs):
        self.argv, self.rc, self.out, self.err, self.secs = argv, rc, out, err, secs

    def __repr__(self):
        return (f"load-client {' '.join(self.argv)} -> {self.rc} in {self.secs:.1f}s\n"
                f"stdout:\n{self.out[-3000:]}\nstderr:\n{self.err[-2000:]}")


def client(*argv, input=None, env=None, timeout=120, url=None):
    """Run load-client with argv; returns a Result. The environment is the
    test's own less DLT_ORCHESTRATOR/DLT_API_TOKEN, plus env."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("DLT_ORCHESTRATOR", "DLT_API_TOKEN")}
    full.update(env or {})
    args = list(argv)
    if url is not None:
        args = ["--orchestrator", url, *args]
    t0 = time.time()
    p = subprocess.run([binary("load-client"), *args], input=input.encode() if input else None,
                       stdin=None if input else subprocess.DEVNULL, capture_output=True,
                       env=full, timeout=timeout)
    r = Result(args, p.returncode, p.stdout.decode("utf-8", "replace"),
               p.stderr.decode("utf-8", "replace"), time.time() - t0)
    for mark in SANITIZER_MARKS:
        check(mark not in r.err, f"sanitizer report: {r}")
    check(r.rc in (0, 1, 2), f"exit status {r.rc} (a crash?): {r}")
    return r


def expect_ok(r):
    check(r.rc == 0, f"expected success: {r}")
    return r


def expect_fail(r, rc, *words):
    """r failed with status rc and exactly one stderr line 'load-client: ...'
    holding every word."""
    check(r.rc == rc, f"expected exit {rc}: {r}")
    lines = r.err.strip().splitlines()
    check(len(lines) == 1, f"expected one line on stderr: {r}")
    check(lines[0].startswith("load-client: "), f"stderr line lacks the program name: {r}")
    for w in words:
        check(w in lines[0], f"stderr does not say {w!r}: {r}")
    return r


def chromium_dom(html_path, screenshot=None, timeout=90):
    """The DOM of html_path after headless Chromium loaded it (no network).
    screenshot: also save a PNG there."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    check(exe is not None, "chromium is not installed")
    base = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage"]
    url = "file://" + os.path.abspath(html_path)
    with tempfile.TemporaryDirectory(prefix="dlt-chromium-") as prof:
        p = subprocess.run([exe, *base, f"--user-data-dir={prof}", "--dump-dom", url],
                           capture_output=True, timeout=timeout)
        check(p.returncode == 0, f"chromium --dump-dom exited {p.returncode}: "
                                 f"{p.stderr.decode()[-1500:]}")
        dom = p.stdout.decode("utf-8", "replace")
    if screenshot:
        os.makedirs(os.path.dirname(screenshot), exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="dlt-chromium-") as prof:
            p = subprocess.run([exe, *base, f"--user-data-dir={prof}", f"--screenshot={screenshot}",
                                "--window-size=1000,1800", "--hide-scrollbars", url],
                               capture_output=True, timeout=timeout)
            if p.returncode != 0 or not os.path.exists(screenshot):
                log("chromium screenshot failed:", p.stderr.decode()[-500:])
    return dom


def artifact(name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    return os.path.join(ARTIFACTS, name)


def start_system(c, drivers=2, target_args=()):
    """On cluster c: load-broker, target-server, load-orchestrator and
    `drivers` load-drivers aimed at the target, and wait until the
    orchestrator lists every driver alive. Returns (target, orchestrator,
    [drivers])."""
    from dlt import get_json, wait_until
    c.broker()
    target = c.target(*target_args)
    orch = c.orchestrator()
    ds = [c.driver(target=target.url + "/ping", name=f"load-driver-{i + 1}")
          for i in range(drivers)]
    ids = {d.node_id for d in ds}

    def all_alive():
        doc = get_json(orch.url + "/api/drivers")
        alive = {d["node_id"] for d in doc.get("drivers", []) if d.get("liveness") == "alive"}
        return ids <= alive

    wait_until(all_alive, timeout=30, what="every driver alive at the orchestrator")
    return target, orch, ds


def wait_test_final(orch_url, tid, timeout=60):
    """The test object once the test is COMPLETED, PARTIAL, FAILED or ABORTED."""
    from dlt import get_json, wait_until

    def final():
        t = get_json(f"{orch_url}/api/tests/{tid}")
        return t if t.get("state") in ("COMPLETED", "PARTIAL", "FAILED", "ABORTED") else None

    return wait_until(final, timeout=timeout, interval=0.2, what=f"test {tid} to end")


class Tmux:
    """A private tmux server (its own -L socket) running one command in a
    detached session; only this server is ever killed."""

    def __init__(self, name, command, width=150, height=50, env=None):
        self.sock = f"dlt-client-{name}-{os.getpid()}-{time.time_ns()}"
        self.session = "s"
        argv = ["tmux", "-L", self.sock, "-f", "/dev/null", "new-session", "-d", "-s",
                self.session, "-x", str(width), "-y", str(height)]
        for k, v in (env or {}).items():
            argv += ["-e", f"{k}={v}"]
        subprocess.run([*argv, command], check=True, timeout=20)
        subprocess.run(["tmux", "-L", self.sock, "set-option", "-t", self.session,
                        "remain-on-exit", "on"], timeout=20)

    def send(self, *keys):
        subprocess.run(["tmux", "-L", self.sock, "send-keys", "-t", self.session, *keys],
                       check=True, timeout=20)

    def type_line(self, text):
        self.send("-l", text)
        self.send("Enter")

    def screen(self):
        p = subprocess.run(["tmux", "-L", self.sock, "capture-pane", "-p", "-J", "-S", "-200",
                            "-t", self.session], capture_output=True, timeout=20)
        return p.stdout.decode("utf-8", "replace")

    def wait_for(self, text, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.screen()
            if text in s:
                return s
            time.sleep(0.1)
        raise TimeoutError(f"tmux: {text!r} not on screen in {timeout}s; screen:\n{self.screen()}")

    def close(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], capture_output=True, timeout=20)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
