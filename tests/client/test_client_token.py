"""load-client --api-token-file FILE: the token from a file, off the command line.

The first line of FILE is the token (a trailing LF or CRLF stripped) and is
sent as the bearer; the command line, and so /proc/PID/cmdline, never holds
it. It wins over DLT_API_TOKEN, and the last of --api-token and
--api-token-file wins. A missing, unreadable, empty or oversized file, a
directory, a FIFO with no writer, or a token with spaces or control
characters is one usage error (exit 2) naming the file, without quoting the
token, and nothing is sent."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clientlib import client, expect_fail, expect_ok  # noqa: E402
from dlt import binary, check, run_test  # noqa: E402
from fake_orchestrator import FakeOrchestrator  # noqa: E402


def main():
    tmp = tempfile.mkdtemp(prefix="dlt-client-token-")
    try:
        def write(name, data):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            return path

        with FakeOrchestrator(token="s3cret-tok") as fake:
            u = fake.url

            def bearer():
                return fake.requests[-1]["headers"].get("Authorization")

            for name, data in (("lf", b"s3cret-tok\n"), ("crlf", b"s3cret-tok\r\n"),
                               ("bare", b"s3cret-tok"), ("two", b"s3cret-tok\nother\n")):
                path = write(name, data)
                expect_ok(client("--api-token-file", path, "start", "--count", "5", url=u))
                check(bearer() == "Bearer s3cret-tok", f"{name}: sent {bearer()!r}")
            good = os.path.join(tmp, "lf")
            # After the command too; over DLT_API_TOKEN; the last option wins.
            expect_ok(client("start", "--count", "5", "--api-token-file", good, url=u,
                             env={"DLT_API_TOKEN": "wrong"}))
            check(bearer() == "Bearer s3cret-tok", f"over DLT_API_TOKEN: {bearer()!r}")
            expect_ok(client("--api-token", "wrong", "--api-token-file", good, "start",
                             "--count", "5", url=u))
            check(bearer() == "Bearer s3cret-tok", f"last wins: {bearer()!r}")
            expect_fail(client("--api-token-file", good, "--api-token", "wrong", "start",
                               "--count", "5", url=u), 1, "401")

            # The token is nowhere on the command line of a running client.
            fake.mode = "slow"
            fake.slow_s = 1.5
            p = subprocess.Popen([binary("load-client"), "--orchestrator", u,
                                  "--api-token-file", good, "list"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(0.5)
                with open(f"/proc/{p.pid}/cmdline", "rb") as f:
                    cmdline = f.read()
                check(b"s3cret-tok" not in cmdline and good.encode() in cmdline,
                      f"cmdline {cmdline!r}")
            finally:
                p.kill()
                p.wait(10)
            fake.mode = None

            n = len(fake.requests)
            fifo = os.path.join(tmp, "fifo")
            os.mkfifo(fifo)
            bad = [("missing", os.path.join(tmp, "nope"), "No such file"),
                   ("empty", write("empty", b""), "empty"),
                   ("blank line", write("blank", b"\nsecond\n"), "empty"),
                   ("a directory", tmp, "directory"),
                   ("a FIFO with no writer", fifo, "empty"),
                   ("too long", write("long", b"x" * 5000 + b"\n"), "too long"),
                   ("a space", write("space", b"s3cret tok\n"), "spaces or control"),
                   ("a control byte", write("ctl", b"s3cret\x01tok\n"), "spaces or control"),
                   ("a NUL", write("nul", b"s3cret\x00tok\n"), "spaces or control"),
                   ("over 512", write("513", b"a" * 513 + b"\n"), "1..512")]
            for what, path, word in bad:
                t0 = time.monotonic()
                r = expect_fail(client("--api-token-file", path, "list", url=u, timeout=20), 2,
                                "--api-token-file", path, word)
                check(time.monotonic() - t0 < 10, f"{what}: took {r.secs:.1f}s")
                check("s3cret" not in r.err, f"{what}: the token is quoted: {r.err!r}")
            expect_fail(client("list", "--api-token-file", url=u), 2, "needs a value")
            check(len(fake.requests) == n, "a bad --api-token-file still sent a request")

            r = expect_ok(client("--help"))
            check("--api-token-file FILE" in r.out, f"--help lacks --api-token-file: {r.out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_test(main)
