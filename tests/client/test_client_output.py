"""load-client report --output: what is at the path decides how it is written.

A regular file, or a path that does not exist, gets a temporary file renamed
into place (an existing file keeps its permissions). Nothing else is ever
replaced: a symlink is written through (the link stays), a FIFO is written
in place when a reader is there and refused at once when none is, a
character device is written in place (a device like /dev/full: one line
"No space left on device", exit 1, the node still a device), and
--output /dev/stdout puts the report on standard output. A directory, a
dangling symlink or a socket is refused with one line, and no temporary
file is ever left behind."""

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clientlib import client, expect_fail, expect_ok  # noqa: E402
from dlt import check, log, run_test  # noqa: E402
from fake_orchestrator import FakeOrchestrator  # noqa: E402


def is_report(data, tid, what):
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    check(isinstance(doc, dict) and doc.get("test", {}).get("test_id") == tid,
          f"{what}: not the JSON report: {data[:200]!r}")


def full_device(tmp):
    """A character device that fails every write with ENOSPC: a node of our
    own (so that a client that replaced it would harm nothing), or
    /dev/full itself when nodes cannot be made (then not as root, so the
    client could not replace it either)."""
    path = os.path.join(tmp, "full")
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        return path
    except OSError as e:
        log(f"cannot make a device node ({e}); using /dev/full")
        check(os.geteuid() != 0, "root that cannot make a device node")
        return "/dev/full"


def main():
    tmp = tempfile.mkdtemp(prefix="dlt-client-output-")
    try:
        with FakeOrchestrator(duration=0.3) as fake:
            tid = fake.create({"test_type": "AVALANCHE", "message_count_per_driver": 10})
            u = fake.url

            # A new path, then an existing regular file with its own mode.
            path = os.path.join(tmp, "r.json")
            r = expect_ok(client("report", tid, "--output", path, url=u))
            check(f"written to {path}" in r.out, f"new file: {r}")
            is_report(open(path).read(), tid, "new file")
            os.chmod(path, 0o600)
            ino = os.stat(path).st_ino
            expect_ok(client("report", tid, "--output", path, url=u))
            st = os.stat(path)
            check(stat.S_IMODE(st.st_mode) == 0o600, f"mode now {oct(st.st_mode)}")
            check(st.st_ino != ino, "a regular file was not replaced by a rename")

            # A symlink to a regular file: written through, the link stays.
            target = os.path.join(tmp, "target.json")
            open(target, "w").write("old")
            link = os.path.join(tmp, "link.json")
            os.symlink(target, link)
            expect_ok(client("report", tid, "--output", link, url=u))
            check(os.path.islink(link) and os.readlink(link) == target, "the symlink was replaced")
            is_report(open(target).read(), tid, "through a symlink")

            # A dangling symlink is refused and stays.
            dangling = os.path.join(tmp, "dangling.json")
            os.symlink(os.path.join(tmp, "nowhere", "x.json"), dangling)
            expect_fail(client("report", tid, "--output", dangling, url=u), 2, "cannot write",
                        dangling)
            check(os.path.islink(dangling), "the dangling symlink was replaced")

            # A FIFO with a reader: the report arrives through it. The read
            # end is open before the client starts (so it finds a reader),
            # and drained meanwhile (so a large report cannot fill the pipe).
            fifo = os.path.join(tmp, "pipe.json")
            os.mkfifo(fifo)
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            got = bytearray()
            done = threading.Event()

            def reader():
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        chunk = os.read(fd, 65536)
                    except BlockingIOError:
                        chunk = None
                    if chunk:
                        got.extend(chunk)
                    elif chunk == b"" and done.is_set():
                        return  # no writer left, and the client has exited
                    else:
                        time.sleep(0.01)

            th = threading.Thread(target=reader, daemon=True)
            th.start()
            try:
                expect_ok(client("report", tid, "--output", fifo, "--format", "json", url=u))
            finally:
                done.set()
                th.join(10)
                os.close(fd)
            check(not th.is_alive(), "the FIFO's reader did not finish")
            is_report(bytes(got), tid, "through a FIFO")
            check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced")
            # A FIFO nobody reads: refused at once, not a hang.
            r = expect_fail(client("report", tid, "--output", fifo, url=u, timeout=20), 2,
                            "no process reads", fifo)
            check(r.secs < 10, f"waited {r.secs:.1f}s on a FIFO without a reader")
            check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced")

            # A character device that is full: one line, exit 1, node intact.
            dev = full_device(tmp)
            r = expect_fail(client("report", tid, "--output", dev, "--format", "json", url=u), 1,
                            "No space left on device", dev)
            check(stat.S_ISCHR(os.lstat(dev).st_mode), f"{dev} is no longer a device")
            # /dev/null takes it and stays a device.
            expect_ok(client("report", tid, "--output", "/dev/null", url=u))
            check(stat.S_ISCHR(os.lstat("/dev/null").st_mode), "/dev/null replaced")

            # --output /dev/stdout: the report on standard output, nothing else.
            r = expect_ok(client("report", tid, "--output", "/dev/stdout", "--format", "json",
                                 url=u))
            is_report(r.out, tid, "/dev/stdout")

            # A directory and a socket are refused.
            expect_fail(client("report", tid, "--output", tmp, url=u), 2, "directory")
            sock_path = os.path.join(tmp, "s.sock")
            s = socket.socket(socket.AF_UNIX)
            s.bind(sock_path)
            try:
                expect_fail(client("report", tid, "--output", sock_path, url=u), 2, "socket")
            finally:
                s.close()
            check(stat.S_ISSOCK(os.lstat(sock_path).st_mode), "the socket was replaced")

            left = sorted(n for n in os.listdir(tmp) if ".tmp." in n)
            check(not left, f"temporary files left: {left}")
            log(f"in {tmp}: {sorted(os.listdir(tmp))}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_test(main)
