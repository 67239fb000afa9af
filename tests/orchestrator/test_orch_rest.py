"""load-orchestrator REST API under bad input: bodies that are not JSON,
an unknown test type, a negative count, a non-numeric delay, a test_id,
bad min_drivers or drivers, an oversized body (sent in full, or announced
with Expect: 100-continue) each get a 4xx with a JSON {"error"} that says
why; unknown paths 404, wrong methods 405 with Allow, a second test while
one is active 409 naming it, stopping a finished test 409. With --api-token
every POST needs the Bearer token (401 otherwise) while reads stay open.
Keep-alive holds across answers. The server keeps serving throughout."""

import http.client
import json
import os
import subprocess
import time

from dlt import Cluster, check, get_json, http as dhttp, log, run_test
from orchlib import post, wait_test

TOKEN = "s3cret-token"
MAX_BODY = 64 * 1024


def expect_error(status, doc, want_status, words, what):
    check(status == want_status, f"{what}: status {status}, want {want_status}: {doc}")
    check(isinstance(doc, dict) and isinstance(doc.get("error"), str) and doc["error"],
          f"{what}: no JSON error: {doc!r}")
    for w in words:
        check(w in doc["error"], f"{what}: error {doc['error']!r} does not mention {w!r}")


def raw_post(url, body, token=TOKEN, ctype="application/json"):
    headers = {"Content-Type": ctype}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, hdrs, data = dhttp("POST", url, body=body, headers=headers)
    try:
        doc = json.loads(data)
    except ValueError:
        doc = data
    return status, hdrs, doc


def main():
    with Cluster() as c:
        c.broker()
        orch = c.orchestrator("--api-token", TOKEN, "--max-body", str(MAX_BODY),
                              "--ready-timeout", "30s")
        u = orch.url
        good = {"test_type": "AVALANCHE", "test_message_delay": 0, "message_count_per_driver": 5}

        cases = [
            (b"this is not json", 400, ["JSON"], "not JSON"),
            (b'{"test_type": "AVALANCHE"', 400, ["JSON"], "truncated JSON"),
            (b'{"a":1} trailing', 400, ["JSON"], "trailing data"),
            (b"[1,2,3]", 400, ["object"], "an array"),
            (b"", 400, ["empty"], "empty body"),
            (b'{"test_type":"AVALANCHE","message_count_per_driver":5}\x00', 400, ["JSON"], "NUL"),
            (json.dumps({**good, "test_type": "EARTHQUAKE"}).encode(), 400,
             ["test_type", "EARTHQUAKE"], "unknown type"),
            (json.dumps({**good, "message_count_per_driver": -5}).encode(), 400,
             ["message_count_per_driver"], "negative count"),
            (json.dumps({**good, "message_count_per_driver": 2.5}).encode(), 400,
             ["message_count_per_driver"], "fractional count"),
            (json.dumps({"test_type": "TSUNAMI", "test_message_delay": "soon",
                         "message_count_per_driver": 5}).encode(), 400,
             ["test_message_delay"], "non-numeric delay"),
            (json.dumps({"test_type": "TSUNAMI", "test_message_delay": -1,
                         "message_count_per_driver": 5}).encode(), 400,
             ["test_message_delay"], "negative delay"),
            (json.dumps({"test_type": "TSUNAMI", "message_count_per_driver": 5}).encode(), 400,
             ["test_message_delay", "seconds"], "missing delay"),
            (json.dumps({**good, "test_id": "mine"}).encode(), 400, ["test_id"], "a test_id"),
            (json.dumps({**good, "target_url": "ftp://x"}).encode(), 400, ["target_url"],
             "bad URL"),
        ]
        for path in ("/startLoadTest", "/api/tests"):
            for body, st, words, what in cases:
                status, _, doc = raw_post(u + path, body)
                expect_error(status, doc, st, words, f"{path} {what}")
        for body, words in ((dict(good, min_drivers=0), ["min_drivers"]),
                            (dict(good, min_drivers="two"), ["min_drivers"]),
                            (dict(good, drivers=[]), ["drivers"]),
                            (dict(good, drivers=["d-nobody"]), ["d-nobody"]),
                            (dict(good, drivers="d-1"), ["drivers"])):
            status, _, doc = raw_post(u + "/api/tests", json.dumps(body).encode())
            expect_error(status, doc, 400, words, f"/api/tests {body}")

        # Oversized: the whole body sent, and refused when announced.
        big = b'{"pad": "' + b"x" * (MAX_BODY + 10) + b'"}'
        status, _, doc = raw_post(u + "/api/tests", big)
        expect_error(status, doc, 413, ["limit"], "oversized body")
        r = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-H",
                            "Expect: 100-continue", "-H", f"Authorization: Bearer {TOKEN}",
                            "-H", "Content-Type: application/json", "--data-binary", "@-",
                            u + "/api/tests"], input=big * 20, capture_output=True, timeout=20)
        out = r.stdout.decode().rsplit("\n", 1)
        expect_error(int(out[1]), json.loads(out[0]), 413, ["limit"], "announced oversized body")
        # A body just under the limit is read (and judged on its content).
        fits = json.dumps({**good, "body": "y" * (MAX_BODY - 200)}).encode()
        check(len(fits) <= MAX_BODY, "test body too big")
        status, _, doc = raw_post(u + "/api/tests", fits)
        check(status == 201, f"a body under the limit: {status} {doc}")
        tid = doc["test_id"]

        # One test at a time: the one waiting for drivers blocks another.
        status, _, doc = raw_post(u + "/startLoadTest", json.dumps(good).encode())
        expect_error(status, doc, 409, [tid], "second test")
        status, _, doc = raw_post(u + f"/api/tests/{tid}/stop", b"")
        check(status == 200 and doc["state"] == "ABORTED", f"stop: {status} {doc}")
        t = wait_test(u, tid, timeout=5)
        check(t["state"] == "ABORTED" and "stopped" in t["reason"], f"stopped test {t}")
        status, _, doc = raw_post(u + f"/api/tests/{tid}/stop", b"")
        expect_error(status, doc, 409, [tid, "ABORTED"], "stop a finished test")
        status, _, doc = raw_post(u + "/api/tests/t-nonesuch/stop", b"")
        expect_error(status, doc, 404, ["t-nonesuch"], "stop an unknown test")

        # Tokens: missing, wrong, wrong scheme -> 401; reads need none.
        for hdrs in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"},
                     {"Authorization": f"Bearer {TOKEN}x"}):
            status, h, data = dhttp("POST", u + "/api/tests", body=good, headers=hdrs)
            expect_error(status, json.loads(data), 401, ["token"], f"token {hdrs}")
            check(h.get("WWW-Authenticate") == "Bearer", f"401 without WWW-Authenticate: {h}")
        status, doc = post(u + "/api/tests/t-x/stop", {}, token=None)
        expect_error(status, doc, 401, ["token"], "stop without token")
        check(get_json(u + "/api/tests")["tests"][0]["test_id"] == tid, "GET needs no token")

        # Paths and methods.
        for method, path, st in (("GET", "/nowhere", 404), ("GET", "/api/tests/t-none", 404),
                                 ("GET", "/api/tests/t-none/timeseries", 404),
                                 ("GET", "/api/tests/bad%20id", 404),
                                 ("GET", "/api/tests/" + "x" * 70, 404),
                                 ("GET", "/static/.hidden", 404),
                                 ("GET", "/static/missing.js", 404),
                                 ("GET", "/startLoadTest", 405), ("DELETE", "/api/tests", 405),
                                 ("PUT", "/api/drivers", 405), ("GET", f"/api/tests/{tid}/stop", 405),
                                 ("GET", "/api/tests?limit=abc", 400),
                                 ("GET", "/api/tests?limit=0", 400)):
            status, h, data = dhttp(method, u + path)
            expect_error(status, json.loads(data), st, [], f"{method} {path}")
            if st == 405:
                check(h.get("Allow"), f"{method} {path}: 405 without Allow")
        check(len(get_json(u + "/api/tests?limit=1")["tests"]) == 1, "limit=1")

        # Keep-alive: several answers, errors included, on one connection.
        conn = http.client.HTTPConnection("127.0.0.1", orch.port, timeout=10)
        for path in ("/api/drivers", "/nowhere", "/api/tests", "/metrics", "/"):
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            check(r.getheader("Connection", "").lower() != "close",
                  f"{path}: connection closed after {r.status}")
        sock = conn.sock
        conn.request("GET", "/api/drivers")
        conn.getresponse().read()
        check(conn.sock is sock, "a new connection was needed")
        conn.close()

        # The dashboard: / and /static/PATH serve src/orchestrator/web/
        # byte for byte, with a content type from the extension.
        web = os.path.join(os.environ.get("DLT_SOURCE") or
                           os.path.join(os.path.dirname(__file__), "..", ".."),
                           "src", "orchestrator", "web")
        types = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                 ".svg": "image/svg+xml", ".json": "application/json"}
        files = []
        for root, dirs, names in os.walk(web):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files += [os.path.relpath(os.path.join(root, n), web) for n in names
                      if not n.startswith(".")]
        check("index.html" in files, f"no index.html in {web}")
        for rel in sorted(files):
            path = "/" if rel == "index.html" else "/static/" + rel.replace(os.sep, "/")
            status, h, data = dhttp("GET", u + path)
            with open(os.path.join(web, rel), "rb") as f:
                want = f.read()
            check(status == 200 and data == want, f"{path}: {status}, {len(data)} bytes, "
                  f"file has {len(want)}")
            ext = os.path.splitext(rel)[1].lower()
            if ext in types:
                check(h["Content-Type"].startswith(types[ext]), f"{path}: {h['Content-Type']}")
        log(f"{len(files)} dashboard file(s) served as embedded")
        status, h, data = dhttp("GET", u + "/metrics")
        check(status == 200 and h["Content-Type"].startswith("text/plain") and
              b'dlt_tests{state="ABORTED"} 1' in data, f"metrics: {status} {data[:300]!r}")

        # API latency while idle: median of 50 GETs of a test.
        times = []
        for _ in range(50):
            t0 = time.perf_counter()
            get_json(f"{u}/api/tests/{tid}")
            times.append(time.perf_counter() - t0)
        times.sort()
        log(f"GET /api/tests/ID: median {times[25] * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms")
        check(orch.alive(), "the orchestrator died")


if __name__ == "__main__":
    run_test(main)
