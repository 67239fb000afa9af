"""The native engine and the libcurl engine give the same results.

Each case runs once through `load-driver --engine native --bench` and once
through `--engine curl`, against target-server (GET, HEAD, POST with a
body, a custom method, error statuses, keep-alive at 1 and 32 connections,
a TSUNAMI) and against the hostile server of tests/faults (a garbage status
line, a body cut short, a 1 MB header, HTTP/0.9, no answer, no byte at all,
headers a byte at a time, a chunked body in 1-3 byte pieces, 100 Continue,
Connection: close, 204 and 304). Both must give the same requests sent,
responses, status codes and error kinds; the engine the driver used is
checked from its log. A refused forced engine (https with --engine native)
and auto's choice of curl for https are checked too.

No Kafka: --bench runs one test_config in the driver process."""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "faults"))
from badserver import BadServer  # noqa: E402
from dlt import Cluster, binary, check, log  # noqa: E402

DB_DIR = tempfile.mkdtemp(prefix="engine-diff-")


def bench(engine, url, cfg, timeout=60):
    c = {"test_type": "AVALANCHE", "test_message_delay": 0, "target_url": url}
    c.update(cfg)
    args = [binary("load-driver"), "--db", os.path.join(DB_DIR, "diff.db"), "--log-level",
            "info", "--allow-target", "loopback", "--bench", json.dumps(c)]
    if engine:
        args[1:1] = ["--engine", engine]
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    return p


def figures(p, engine):
    check(p.returncode == 0, f"bench failed ({p.returncode}): {p.stderr[-2000:]}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    check(r.get("engine") == engine, f"the report says engine {r.get('engine')!r}")
    return {k: r[k] for k in ("requests_sent", "responses_received", "errors", "error_kinds",
                              "status_codes")}


def same(name, url, cfg, expect=None):
    got = {}
    for engine in ("native", "curl"):
        p = bench(engine, url, cfg)
        check(f" {engine} thread(s)" in p.stderr, f"{name}: {engine} engine not used: "
              f"{p.stderr[-800:]}")
        got[engine] = figures(p, engine)
    log(f"{name}: {json.dumps(got['native'], sort_keys=True)}")
    check(got["native"] == got["curl"], f"{name}: the engines differ:\n native {got['native']}"
          f"\n curl   {got['curl']}")
    if expect:
        for k, v in expect.items():
            have = got["native"]["error_kinds"].get(k) if k in got["native"]["error_kinds"] \
                else got["native"].get(k)
            check(have == v, f"{name}: {k} is {have}, expected {v}")


def main():
    with Cluster() as c, BadServer() as bad:
        t = c.target()
        base = t.url
        n = 400
        same("GET keep-alive c=1", base + "/ping", {"message_count_per_driver": n,
             "concurrency": 1}, {"responses_received": n})
        same("GET c=32", base + "/ping", {"message_count_per_driver": 3000, "concurrency": 32},
             {"responses_received": 3000})
        same("HEAD", base + "/ping", {"message_count_per_driver": n, "concurrency": 4,
             "method": "HEAD"}, {"responses_received": n})
        same("POST with a body", base + "/ping", {
            "message_count_per_driver": n, "concurrency": 4, "method": "POST",
            "body": "x" * 3000, "headers": {"Content-Type": "text/plain", "X-A": "1"}},
            {"responses_received": n})
        same("custom method", base + "/ping", {"message_count_per_driver": 50,
             "concurrency": 2, "method": "DELETE"})
        same("404s", base + "/nothing-here", {"message_count_per_driver": n, "concurrency": 4},
             {"http_4xx": n})
        same("TSUNAMI", base + "/ping", {"test_type": "TSUNAMI", "test_message_delay": 0.002,
             "message_count_per_driver": 300}, {"responses_received": 300})
        same("refused", "http://127.0.0.1:1/x", {"message_count_per_driver": 20,
             "concurrency": 2}, {"connect": 20})
        b = bad.url
        for path, count, timeout_ms, kind in [
                ("/ok", 50, 2000, None), ("/204", 50, 2000, None), ("/304", 50, 2000, None),
                ("/slowhead", 10, 5000, None), ("/chunks", 20, 5000, None),
                ("/continue", 20, 2000, None), ("/close", 30, 2000, None),
                ("/garbage", 20, 2000, "other"), ("/cut", 20, 2000, "other"),
                ("/bigheader", 4, 3000, "other"), ("/http09", 20, 2000, "other"),
                ("/early", 20, 2000, "other"), ("/silent", 4, 500, "timeout")]:
            exp = {kind: count} if kind else {"responses_received": count}
            same(path, b + path, {"message_count_per_driver": count, "concurrency": 2,
                 "timeout_ms": timeout_ms}, exp)

        # A forced engine that cannot serve the test is refused with the reason.
        p = bench("native", "https://127.0.0.1:1/x", {"message_count_per_driver": 1})
        check(p.returncode != 0 and "native engine cannot run this test" in p.stderr,
              f"https forced native: {p.returncode} {p.stderr[-500:]}")
        # auto: https goes to libcurl, plain HTTP/1.1 to the native engine.
        p = bench(None, "https://127.0.0.1:1/x", {"message_count_per_driver": 2})
        check(" curl thread(s)" in p.stderr, f"auto with https: {p.stderr[-500:]}")
        p = bench(None, base + "/ping", {"message_count_per_driver": 5})
        check(" native thread(s)" in p.stderr, f"auto: {p.stderr[-500:]}")
    log("ok")


if __name__ == "__main__":
    main()
