"""target-server: /test, the original target's JSON store.

GET returns the object held ({} at start), HEAD its headers; POST merges a
JSON object into it key by key at the top level and returns the result.
Bad JSON, a non-object or bytes that are not UTF-8 get 400 with a JSON
error; a body over --max-body, or a merge whose result would pass it, gets
413 and nothing is merged; other methods get 405 with Allow. With four
event loops, 400 merges from 8 connections at once all land. /test never
touches the /ping counters."""

import http.client as httpclient
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dlt import Cluster, check, get_json, http, log, run_test  # noqa: E402
from rawhttp import exchange, parse_one  # noqa: E402


def post(url, body):
    status, headers, raw = http("POST", url + "/test", body=body,
                                headers={"Content-Type": "application/json"})
    check(headers.get("Content-Type") == "application/json", f"POST {body[:40]!r}: {headers}")
    return status, json.loads(raw)


def held(url):
    status, headers, raw = http("GET", url + "/test")
    check(status == 200 and headers.get("Content-Type") == "application/json",
          f"GET /test -> {status} {headers}")
    return json.loads(raw)


def bad(url, body, want, what):
    before = held(url)
    status, doc = post(url, body)
    check(status == want, f"{what}: status {status} {doc}")
    check(isinstance(doc.get("error"), str) and doc["error"] and len(doc) == 1,
          f"{what}: body {doc}")
    check(held(url) == before, f"{what}: the object changed")
    log(f"{what}: {status} {doc['error']}")


def basics(c):
    t = c.target("--max-body", "200", "--delay-ms", "200")
    url = t.url
    check(held(url) == {}, "not {} at start")
    status, doc = post(url, b'{"a": 1, "b": {"c": [1, 2]}}')
    check(status == 200 and doc == {"a": 1, "b": {"c": [1, 2]}}, f"first merge {status} {doc}")
    status, doc = post(url, b'{"b": {"d": null}, "e": "\xc3\xa9"}')
    check(status == 200 and doc == {"a": 1, "b": {"d": None}, "e": "\u00e9"},
          f"second merge {status} {doc}")
    check(held(url) == doc, "GET does not return what POST did")

    for body, what in ((b"", "an empty body"), (b"[1, 2]", "an array"), (b'"x"', "a string"),
                       (b"null", "null"), (b'{"a": ', "cut JSON"), (b"{a: 1}", "bare keys"),
                       (b'{"a": 1} trailing', "trailing bytes"),
                       (b'{"caf\xe9": 1}', "Latin-1 bytes")):
        bad(url, body, 400, what)
    # 413: a body past --max-body, and a merge whose result would pass it.
    bad(url, b'{"big": "' + b"x" * 300 + b'"}', 413, "a body over --max-body")
    bad(url, b'{"f": "' + b"x" * 180 + b'"}', 413, "a merge past --max-body")
    status, doc = post(url, b'{"f": "' + b"x" * 100 + b'"}')
    check(status == 200 and len(json.dumps(doc, separators=(",", ":"))) <= 200,
          f"a merge under the limit {status} {doc}")

    # HEAD: the GET headers, no body; wrong methods: 405 with Allow.
    req = b"GET /test HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = exchange(t.port, req.replace(b"GET", b"HEAD", 1) + req, read_timeout=1)
    end = raw.find(b"\r\n\r\n")
    rest = raw[end + 4:]
    check(raw.startswith(b"HTTP/1.1 200 ") and rest.startswith(b"HTTP/1.1 200 "),
          f"HEAD /test then GET: {raw[:300]!r}")
    g = parse_one(rest)
    check(b"\r\nContent-Length: %d\r\n" % len(g[2]) in raw[:end + 2],
          f"HEAD /test headers {raw[:end]!r}")
    for method in ("PUT", "DELETE", "PATCH"):
        status, headers, body = http(method, url + "/test", body=b"{}")
        check(status == 405 and headers.get("Allow") == "GET, HEAD, POST",
              f"{method} /test -> {status} {headers}")
        check(isinstance(json.loads(body).get("error"), str), f"{method} /test body {body!r}")

    # The /ping counters never see /test (and --delay-ms does not apply to it).
    m = get_json(url + "/metrics")
    check(m["total_requests"] == 0 and m["total_responses"] == 0, f"/test was counted: {m}")
    check(m["total_rejected"] == 13, f"10 refused merges and 3 wrong methods: {m}")


def threads(c):
    t = c.target("--threads", "4")
    errors = []

    def worker(n):
        try:
            conn = httpclient.HTTPConnection("127.0.0.1", t.port, timeout=30)
            for i in range(50):
                conn.request("POST", "/test", body=json.dumps({f"k{n}_{i}": i, "last": n}))
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or json.loads(body).get(f"k{n}_{i}") != i:
                    errors.append((n, i, r.status, body[:80]))
            conn.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((n, repr(e)))

    ts = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for th in ts:
        th.start()
    for th in ts:
        th.join(60)
    check(not any(th.is_alive() for th in ts), "a worker is still running after 60 s")
    check(not errors, f"merges failed: {errors[:5]}")
    doc = held(t.url)
    check(len(doc) == 8 * 50 + 1, f"{len(doc)} keys, not 401")
    check(all(doc[f"k{n}_{i}"] == i for n in range(8) for i in range(50)), "a merge was lost")
    log(f"8 connections x 50 merges over 4 loops: {len(doc)} keys held")


def main():
    with Cluster() as c:
        basics(c)
    with Cluster() as c:
        threads(c)


if __name__ == "__main__":
    run_test(main)
