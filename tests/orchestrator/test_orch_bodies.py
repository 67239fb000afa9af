"""load-orchestrator validates a test request body in full before anything
is stored, on POST /api/tests and POST /startLoadTest alike:
- a "drivers" list naming a driver twice (["a","b","a"], ["a","a"], or
  1024 entries of two ids) is a 400 whose error names the duplicate;
- a key given twice in the body or in "headers" (cJSON would take the
  first silently), a min_drivers above the drivers named, a target_url
  with a port outside 1..65535 or a broken [IPv6] host, a HEAD with a
  body, a Content-Length or Transfer-Encoding header (the driver frames
  the body itself), a control character in a header value: each a 400
  that says what is wrong;
- \\u0000 in any JSON string (value or key: headers, body, target_url, a
  driver id, test_type) is a 400 that says so, where it used to cut the
  string short; an escaped backslash before "u0000" is plain text and
  accepted;
- over Kafka, a register message whose node_IP or node_id holds \\u0000
  is rejected: the node never shows in GET /api/drivers (a clean register
  sent after it does).
No refused request creates a test, and the orchestrator stays up."""

import json

from dlt import Cluster, check, get_json, kcat_produce, log, run_test, wait_until
from orchlib import post, wait_drivers, wait_test


def refused(url, path, body, words, what):
    """POST a raw body (bytes) or a dict; expect a 400 naming words."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, doc = post(url + path, data)
    check(status == 400, f"{what}: status {status}, want 400: {doc}")
    err = (doc or {}).get("error", "")
    for w in words:
        check(w in err, f"{what}: error {err!r} does not mention {w!r}")
    log(f"{what}: 400 {err}")


def main():
    with Cluster() as c:
        c.broker()
        orch = c.orchestrator()
        d1, d2 = c.driver(), c.driver()
        wait_drivers(orch.url, 2)
        a, b = d1.node_id, d2.node_id
        u = orch.url
        base = {"test_type": "AVALANCHE", "message_count_per_driver": 5,
                "target_url": "http://127.0.0.1:9/ping"}

        # Duplicate drivers, on both endpoints.
        for path in ("/api/tests", "/startLoadTest"):
            for drivers in ([a, b, a], [a, a], [a, b] * 512):
                refused(u, path, dict(base, drivers=drivers), ["drivers", a, "more than once"],
                        f"{path} drivers {len(drivers)} with a duplicate")

        # A key given twice: the raw text, since json.dumps cannot.
        refused(u, "/api/tests", b'{"test_type":"AVALANCHE","message_count_per_driver":5,'
                b'"message_count_per_driver":1000000000}', ["message_count_per_driver", "twice"],
                "a key twice")
        refused(u, "/api/tests", b'{"test_type":"AVALANCHE","message_count_per_driver":5,'
                b'"headers":{"X-A":"1","X-A":"2"}}', ["X-A", "twice"], "a header twice")
        refused(u, "/api/tests", dict(base, drivers=[a, b], min_drivers=3),
                ["min_drivers", "2"], "min_drivers above the drivers named")
        for url in ("http://127.0.0.1:99999/ping", "http://127.0.0.1:0/", "http://[::1/ping",
                    "http://127.0.0.1:8x/", "http://ho$t/"):
            refused(u, "/api/tests", dict(base, target_url=url), ["target_url"], f"url {url}")
        refused(u, "/api/tests", dict(base, method="HEAD", body="x"), ["HEAD", "body"],
                "HEAD with a body")
        for h in ("Content-Length", "transfer-encoding"):
            refused(u, "/api/tests", dict(base, headers={h: "5"}), [h], f"header {h}")
        refused(u, "/api/tests", dict(base, headers={"X-A": "a\u0001b"}),
                ["X-A", "control character"], "a control character in a header")

        # \u0000 anywhere in a string: raw JSON text with the escape.
        nul = "\\u0000"
        for what, text in (
                ("header value", f'"headers":{{"X-A":"ok{nul}evil"}}'),
                ("header name", f'"headers":{{"X-A{nul}":"1"}}'),
                ("body", f'"method":"POST","body":"abc{nul}def"'),
                ("target_url", f'"target_url":"http://127.0.0.1:9/ping{nul}.evil"'),
                ("driver id", f'"drivers":["{a}{nul}"]'),
                ("key", f'"concurrency{nul}x":3'),
        ):
            text = '{"test_type":"AVALANCHE","message_count_per_driver":5,' + text + "}"
            refused(u, "/api/tests", text.encode(), ["\\u0000"], f"\\u0000 in {what}")
        refused(u, "/startLoadTest", f'{{"test_type":"TSUNAMI{nul}","test_message_delay":0,'
                f'"message_count_per_driver":5}}'.encode(), ["\\u0000"], "\\u0000 in test_type")

        check(get_json(u + "/api/tests")["tests"] == [], "a refused body created a test")
        check(orch.alive(), "the orchestrator died")

        # Accepted: distinct drivers, min_drivers within them, and an escaped
        # backslash before u0000 (plain text, kept whole).
        text = ('{"test_type":"AVALANCHE","message_count_per_driver":5,'
                '"target_url":"http://127.0.0.1:9/ping","min_drivers":2,'
                f'"drivers":["{a}","{b}"],"headers":{{"X-A":"a\\\\u0000b"}}}}')
        status, doc = post(u + "/api/tests", text.encode())
        check(status == 201, f"a good body: {status} {doc}")
        check(doc["config"]["headers"]["X-A"] == "a\\u0000b",
              f"the header changed: {doc['config']['headers']!r}")
        check(sorted(doc["config"]["drivers"]) == sorted([a, b]), f"drivers: {doc['config']}")
        post(u + f"/api/tests/{doc['test_id']}/stop", {})
        wait_test(u, doc["test_id"], timeout=60)

        # Kafka: a register whose strings hold \u0000 is rejected.
        kcat_produce(c.kafka, "register", '{"node_id":"d-nul1","node_IP":"127.0.0.1' + nul +
                     'evil","message_type":"DRIVER_NODE_REGISTER"}', key="d-nul1")
        kcat_produce(c.kafka, "register", '{"node_id":"d-nul2' + nul + 'x","node_IP":"1.2.3.4",'
                     '"message_type":"DRIVER_NODE_REGISTER"}', key="d-nul2")
        kcat_produce(c.kafka, "register", '{"node_id":"d-clean","node_IP":"127.0.0.1",'
                     '"message_type":"DRIVER_NODE_REGISTER"}', key="d-clean")

        def ids():
            got = {d["node_id"] for d in get_json(u + "/api/drivers")["drivers"]}
            return got if "d-clean" in got else None
        got = wait_until(ids, timeout=30, what="the clean register")
        check("d-nul1" not in got and "d-nul2" not in got, f"a \\u0000 register was taken: {got}")
        check(orch.alive(), "the orchestrator died")


if __name__ == "__main__":
    run_test(main)
