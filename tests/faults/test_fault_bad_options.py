"""Bad command lines for every program: each answers with exit status 2
and exactly one line on stderr starting with its name, never a crash (nor a
sanitizer report), whatever the value: wrong types, out of range, empty,
over-long (64 KiB), non-UTF-8 bytes, unknown options and -X properties,
missing values, stray arguments."""

import os
import subprocess

from dlt import BUILD, BINARIES, check, log, run_test

LONG = "9" * 65536
BIN = b"\xff\xfe\x00x".decode("latin-1").replace("\x00", "")

COMMON_KAFKA = [
    ["-X", "no.such.property=1"], ["-X", "security.protocol=carrier-pigeon"], ["-X", "novalue"],
    ["-X", "=1"], ["-X"], ["--kafka"], ["--kafka", ""], ["--kafka", "a b"],
    ["--topic-prefix", "bad prefix!"], ["--topic-prefix", "x" * 60],
    ["--log-level", "loud"], ["--log-level", ""],
]

TABLE = {
    "load-broker": [
        ["--listen", "nowhere"], ["--listen", "127.0.0.1:99999"], ["--listen", ""],
        ["--listen", LONG], ["--partitions", "0"], ["--partitions", "65"],
        ["--partitions", "x"], ["--partitions", LONG], ["--topic-prefix", "x" * 60],
        ["--log-level", "loud"], ["--bogus"], ["extra"], ["--listen"], ["-Z"],
    ],
    "target-server": [
        ["--listen", "nowhere"], ["--listen", "127.0.0.1:-1"], ["--threads", "0"],
        ["--threads", "x"], ["--threads", LONG], ["--delay-ms", "x"], ["--delay-ms", "500-100"],
        ["--delay-ms", "-5"], ["--delay-ms", "1e9"], ["--error-rate", "2"],
        ["--error-rate", "nan"], ["--error-rate", "-0.1"], ["--error-rate", BIN],
        ["--bogus"], ["extra"], ["--threads"], ["--log-level", "loud"],
    ],
    "load-driver": COMMON_KAFKA + [
        ["--threads", "0"], ["--threads", "65"], ["--threads", "x"], ["--target", "ftp://x/"],
        ["--target", "127.0.0.1:80"], ["--target", ""], ["--target", "http://" + LONG],
        ["--node-id", "a b"], ["--node-id", "x" * 64], ["--node-id", BIN],
        ["--node-ip", "300.1.1.1"], ["--heartbeat-interval", "5x"],
        ["--heartbeat-interval", "1ms"], ["--heartbeat-interval", "1h"],
        ["--max-in-flight", "-1"], ["--max-in-flight", "0"], ["--max-in-flight", LONG],
        ["--allow-target", "http://x/"], ["--allow-target", ""], ["--db", ""],
        ["--bench"], ["--bogus"], ["extra"],
    ],
    "load-orchestrator": COMMON_KAFKA + [
        ["--listen", "nowhere"], ["--listen", "127.0.0.1:70000"], ["--db", ""],
        ["--heartbeat-timeout", "0"], ["--heartbeat-timeout", "x"],
        ["--heartbeat-timeout", "1s", "--heartbeat-interval", "2s"],
        ["--heartbeat-interval", "1ns"], ["--ready-timeout", "-1s"], ["--ready-timeout", LONG],
        ["--start-delay", "99h"], ["--api-token", ""], ["--api-token", "has space"],
        ["--api-token", "x" * 600], ["--max-body", "1"], ["--max-body", "1e99"],
        ["--max-body", "x"], ["--bogus"], ["extra"],
    ],
    "load-client": [
        ["--bogus"], ["frobnicate"], ["--orchestrator", "ftp://x", "list"],
        ["--orchestrator", "", "list"], ["status"], ["status", "bad id!"], ["stop"],
        ["report"], ["report", "t-1", "--format", "pdf"], ["list", "--limit", "0"],
        ["start", "--count", "-5"], ["start", "--count", LONG], ["start", "--delay", "5x"],
        ["start", "--type", "earthquake"], ["start", "--concurrency", "0"],
        ["start", "--threshold", "p99"], ["start", "--threshold", "p99<<1ms"],
        ["start", "--timeout", "x"], ["start", "--bogus"], ["drivers", "extra"],
    ],
}


def main():
    total = 0
    for prog, cases in TABLE.items():
        path = os.path.join(BUILD, BINARIES[prog])
        for argv in cases:
            r = subprocess.run([path, *argv], capture_output=True, timeout=20,
                               stdin=subprocess.DEVNULL)
            err = r.stderr.decode("utf-8", "replace")
            shown = [a[:40] for a in argv]
            check("Sanitizer" not in err and "runtime error" not in err,
                  f"{prog} {shown}: sanitizer report: {err[:500]}")
            check(r.returncode == 2, f"{prog} {shown}: exit {r.returncode}: {err[:300]!r}")
            lines = err.strip("\n").split("\n")
            check(len(lines) == 1 and lines[0].startswith(prog + ": "),
                  f"{prog} {shown}: stderr is not one line: {err[:300]!r}")
            check(len(lines[0]) < 1000, f"{prog} {shown}: a {len(lines[0])}-character line")
            total += 1
    log(f"{total} bad command lines, each refused with one line and status 2")


if __name__ == "__main__":
    run_test(main)
