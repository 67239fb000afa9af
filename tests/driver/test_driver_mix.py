"""A request mix, through both engines (`load-driver --engine native|curl
--bench`), against a recording server of this test's own:
- each send picks a request by weight (3:1 within 5% over 4000 sends);
- the server saw exactly the requests the report counts, per name;
- templates are expanded at each send: {{seq}} takes every number
  0..N-1 once, {{driver}} is 0, {{rand:A-B}} stays within A..B, {{uuid}}
  is a version-4 UUID, {{now_ms}} is the wall clock, in the URL, a header
  and the body alike; the test's own headers go with every request, as
  they are given (never expanded);
- checks: a status list, body_contains and a JSON field's value, passed
  and failed as the answers say, counted per request and per check, and in
  the report's checks_passed / checks_failed; a failed check still times
  its request;
- the native engine's per-thread request bytes equal libcurl's (the same
  requests, headers and bodies reach the server);
- a mix that sends to two hosts runs on the curl engine under auto;
- a test's data (given as --bench @FILE): the send numbered seq takes row
  seq % rows, its values percent-encoded in the URL and as they are in a
  header and the body;
- a template naming an unknown variable is refused before anything is
  sent, with the request and the name."""

import json
import os
import re
import subprocess
import tempfile
import time

from dlt import binary, check, log, run_test
from recorder import Recording

DB_DIR = tempfile.mkdtemp(prefix="driver-mix-")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def bench(engine, cfg, target):
    """load-driver --bench; a test with data goes as --bench @FILE."""
    text = json.dumps(cfg)
    if "data" in cfg:
        path = os.path.join(DB_DIR, "bench.json")
        with open(path, "w") as f:
            f.write(text)
        text = "@" + path
    args = [binary("load-driver"), "--db", os.path.join(DB_DIR, "mix.db"), "--log-level", "info",
            "--target", target, "--allow-target", "loopback", "--bench", text]
    if engine:
        args[1:1] = ["--engine", engine]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def report_of(p):
    check(p.returncode == 0, f"bench failed ({p.returncode}): {p.stderr[-1500:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    with Recording() as rec:
        scenarios(rec)


def scenarios(rec):
    base = rec.base
    n = 4000
    cfg = {
        "test_id": "mix", "test_type": "AVALANCHE", "message_count_per_driver": n,
        "concurrency": 4, "headers": {"X-Test": "mix {{seq}}"},
        "requests": [
            {"name": "page", "url": base + "/page?s={{seq}}&r={{rand:5-9}}", "weight": 3,
             "headers": {"X-Id": "{{uuid}}"},
             "checks": {"status": [200], "body_contains": "OK"}},
            {"name": "api", "method": "POST", "url": base + "/json/{{driver}}",
             "body": "{\"seq\": {{seq}}, \"at\": {{now_ms}}}",
             "headers": {"Content-Type": "application/json"},
             "checks": {"json": {"path": "user.tags.1", "equals": "b"},
                        "body_contains": "nothing like this"}},
        ]}
    for engine in ("native", "curl"):
        rec.take()
        t0 = int(time.time() * 1000)
        r = report_of(bench(engine, cfg, base + "/"))
        t1 = int(time.time() * 1000)
        check(r["engine"] == engine, f"{engine}: ran on {r['engine']}")
        seen = rec.take()
        by = r["by_request"]
        page = [x for x in seen if x["path"].startswith("/page")]
        api = [x for x in seen if x["path"].startswith("/json")]
        check(r["requests_sent"] == n and len(seen) == n, f"{engine}: {len(seen)} seen")
        check(by["page"]["requests_sent"] == len(page) and
              by["api"]["requests_sent"] == len(api),
              f"{engine}: by_request {by['page']['requests_sent']}/{by['api']['requests_sent']}"
              f" against the server's {len(page)}/{len(api)}")
        share = len(page) / n
        check(abs(share - 0.75) < 0.05, f"{engine}: page took {share:.3f} of the sends")
        # Templates.
        seqs = []
        for x in page:
            m = re.match(r"^/page\?s=(\d+)&r=(\d+)$", x["path"])
            check(m, f"{engine}: path {x['path']!r}")
            seqs.append(int(m.group(1)))
            check(5 <= int(m.group(2)) <= 9, f"{engine}: rand {m.group(2)}")
            check(UUID_RE.match(x["headers"].get("x-id", "")), f"{engine}: {x['headers']}")
            check(x["headers"].get("x-test") == "mix {{seq}}", f"{engine}: the test's header")
            check(x["method"] == "GET" and x["body"] == "", f"{engine}: {x['method']}")
        for x in api:
            check(x["path"] == "/json/0" and x["method"] == "POST", f"{engine}: {x['path']}")
            b = json.loads(x["body"])
            seqs.append(b["seq"])
            check(t0 - 1000 <= b["at"] <= t1 + 1000, f"{engine}: now_ms {b['at']}")
            check(x["headers"].get("content-type") == "application/json", f"{engine}: type")
            check(x["headers"].get("x-test") == "mix {{seq}}", f"{engine}: the test's header")
        check(sorted(seqs) == list(range(n)), f"{engine}: {{{{seq}}}} is not 0..{n - 1}")
        # Checks: page passes status and body; api passes json, fails body.
        p, a = by["page"], by["api"]
        check(p["checks_passed"] == 2 * len(page) and p["checks_failed"] == 0,
              f"{engine}: page checks {p}")
        check(a["checks_passed"] == 2 * len(api) and a["checks_failed"] == len(api) and
              a["checks_failed_by"] == {"status": 0, "body_contains": len(api), "json": 0},
              f"{engine}: api checks {a}")
        check(r["checks_passed"] == p["checks_passed"] + a["checks_passed"] and
              r["checks_failed"] == len(api), f"{engine}: report checks")
        check(p["responses_received"] == len(page) and p["histogram"] and a["histogram"],
              f"{engine}: per-request latencies")
        log(f"{engine}: {len(page)} page + {len(api)} api, checks "
            f"{r['checks_passed']} passed / {r['checks_failed']} failed")

    # A failing status and a failing json value.
    cfg2 = {"test_id": "mix2", "test_type": "AVALANCHE", "message_count_per_driver": 200,
            "concurrency": 2,
            "requests": [{"name": "gone", "url": base + "/gone",
                          "checks": {"status": [200, 204]}},
                         {"name": "json", "url": base + "/json",
                          "checks": {"json": {"path": "user.id", "equals": 8}}}]}
    for engine in ("native", "curl"):
        r = report_of(bench(engine, cfg2, base + "/"))
        g, j = r["by_request"]["gone"], r["by_request"]["json"]
        check(g["checks_failed_by"]["status"] == g["requests_sent"] and
              g["checks_passed"] == 0 and g["errors"] == g["requests_sent"],
              f"{engine}: gone {g}")
        check(j["checks_failed_by"] == {"status": 0, "body_contains": 0,
                                        "json": j["requests_sent"]},
              f"{engine}: json {j}")

    # Two hosts: auto runs it on curl; forced native is refused.
    cfg3 = {"test_id": "mix3", "test_type": "AVALANCHE", "message_count_per_driver": 20,
            "requests": [{"name": "a", "url": base + "/a"},
                         {"name": "b", "url": base.replace("127.0.0.1", "127.0.0.2") + "/b"}]}
    p = bench(None, cfg3, base + "/")
    check(" curl thread(s)" in p.stderr, f"two hosts under auto: {p.stderr[-500:]}")
    p = bench("native", cfg3, base + "/")
    check(p.returncode != 0 and "one scheme, host and port" in p.stderr,
          f"two hosts, forced native: {p.returncode} {p.stderr[-500:]}")

    # Data: each send takes the row of its number in turn; a value is
    # percent-encoded in the URL and sent as it is in a header and the
    # body, on both engines alike.
    cfg5 = {"test_id": "mix5", "test_type": "AVALANCHE", "message_count_per_driver": 300,
            "concurrency": 3,
            "data": {"csv": "user,q\nann,a b\nbo,x&y=z\ncy,\"p,q\"\n"},
            "requests": [{"name": "d", "method": "POST",
                          "url": base + "/d/{{user}}?q={{q}}&s={{seq}}",
                          "headers": {"X-Q": "{{q}}"}, "body": "{{user}}:{{q}}"}]}
    rows = [("ann", "a b", "a%20b"), ("bo", "x&y=z", "x%26y%3Dz"), ("cy", "p,q", "p%2Cq")]
    for engine in ("native", "curl"):
        rec.take()
        r = report_of(bench(engine, cfg5, base + "/"))
        seen = rec.take()
        check(r["requests_sent"] == 300 and len(seen) == 300,
              f"{engine}: data: {len(seen)} seen")
        for x in seen:
            m = re.match(r"^/d/(\w+)\?q=([^&]*)&s=(\d+)$", x["path"])
            check(m, f"{engine}: data: path {x['path']!r}")
            user, q, enc = rows[int(m.group(3)) % 3]
            check(m.group(1) == user and m.group(2) == enc, f"{engine}: data: {x['path']}")
            check(x["headers"].get("x-q") == q and x["body"] == f"{user}:{q}",
                  f"{engine}: data: {x['headers'].get('x-q')!r} {x['body']!r}")

    # An unknown variable: refused with the request and the name.
    before = rec.count()
    cfg4 = {"test_id": "mix4", "test_type": "AVALANCHE", "message_count_per_driver": 5,
            "requests": [{"name": "x", "url": base + "/x?u={{user}}"}]}
    p = bench(None, cfg4, base + "/")
    check(p.returncode != 0 and 'request 1 ("x")' in p.stderr and "{{user}}" in p.stderr,
          f"unknown variable: {p.returncode} {p.stderr[-500:]}")
    check(rec.count() == before, "a refused mix sent requests")


if __name__ == "__main__":
    run_test(main)
