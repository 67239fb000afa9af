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
