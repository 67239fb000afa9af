"""load-client: output that cannot be written is an error.

With standard output on /dev/full (every write fails with ENOSPC), each
command that prints (status, list, drivers, start, stop, report, the
questions, --help, --version) exits 1 with one line on stderr naming
standard output; the same commands on /dev/null exit 0. A command that has
already failed keeps its own status and its one line."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clientlib import SANITIZER_MARKS  # noqa: E402
from dlt import binary, check, log, run_test  # noqa: E402
from fake_orchestrator import FakeOrchestrator  # noqa: E402


def run(argv, sink, input=None):
    env = {k: v for k, v in os.environ.items() if k not in ("DLT_ORCHESTRATOR", "DLT_API_TOKEN")}
    with open(sink, "wb") as out:
        p = subprocess.run([binary("load-client"), *argv], stdout=out, stderr=subprocess.PIPE,
                           input=input.encode() if input else None,
                           stdin=None if input else subprocess.DEVNULL, env=env, timeout=60)
    err = p.stderr.decode("utf-8", "replace")
    for mark in SANITIZER_MARKS:
        check(mark not in err, f"{argv}: sanitizer report: {err}")
    return p.returncode, err


def main():
    with FakeOrchestrator(duration=0.6) as fake:
        u = ["--orchestrator", fake.url]
        tid = fake.create({"test_type": "AVALANCHE", "message_count_per_driver": 10})
        running = fake.create({"test_type": "AVALANCHE", "message_count_per_driver": 10})
        fake.duration = 3600  # so that `running` can still be stopped
        cases = [
            (u + ["status", tid], None),
            (u + ["--json", "status", tid], None),
            (u + ["list"], None),
            (u + ["drivers"], None),
            (u + ["--json", "drivers"], None),
            (u + ["report", tid, "--format", "csv"], None),
            (u + ["report", tid, "--format", "html"], None),
            (u + ["start", "--count", "5"], None),
            (u + ["stop", running], None),
            (u, "1\n5\n"),
            (["--help"], None),
            (["start", "--help"], None),
            (["--version"], None),
        ]
        for argv, inp in cases:
            rc, err = run(argv, "/dev/null", inp)
            check(rc == 0 and err == "", f"{argv} > /dev/null: exit {rc}, stderr {err!r}")
            if argv[-2:] == ["stop", running]:
                running = fake.create({"test_type": "AVALANCHE", "message_count_per_driver": 1})
                argv[-1] = running
            rc, err = run(argv, "/dev/full", inp)
            lines = err.strip().splitlines()
            log(f"{' '.join(argv[2:] if argv[:1] == ['--orchestrator'] else argv)} > /dev/full:"
                f" exit {rc}, {lines}")
            check(rc == 1, f"{argv} > /dev/full: exit {rc}, stderr {err!r}")
            check(len(lines) == 1 and lines[0].startswith("load-client: ") and
                  "standard output" in lines[0] and "No space left on device" in lines[0],
                  f"{argv} > /dev/full: stderr {err!r}")
        # A command that failed anyway keeps its status and its one line.
        rc, err = run(u + ["status", "t-none"], "/dev/full")
        lines = err.strip().splitlines()
        check(rc == 1 and len(lines) == 1 and "no test t-none" in lines[0],
              f"a failed status > /dev/full: exit {rc}, {err!r}")
        rc, err = run(["--bogus"], "/dev/full")
        check(rc == 2 and len(err.strip().splitlines()) == 1, f"--bogus: {rc} {err!r}")


if __name__ == "__main__":
    run_test(main)
