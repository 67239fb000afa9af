"""load-client: an answer of another shape than docs/API.md is an error.

One field at a time is made wrong in the fake orchestrator's answers (a
state that is no state, a count that is a string, a list that is an
object, a missing test_id, a driver without node_id, a time series point
that is a number...). Each command that reads the answer (status, list,
drivers, stop, start with and without --wait, report, the questions, and
--json output too) then exits 1 with one line naming the call and the
field, and prints nothing on standard output; the same commands on the
unchanged answers succeed."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clientlib import client, expect_fail, expect_ok  # noqa: E402
from dlt import check, log, run_test  # noqa: E402
from fake_orchestrator import FakeOrchestrator  # noqa: E402


def on(path_part, method=None):
    """A mutation applied only to answers whose path holds path_part."""
    def wrap(fn):
        def mutate(m, path, doc):
            if path_part in path and (method is None or m == method):
                fn(doc)
            return doc
        return mutate
    return wrap


def setter(keys, value):
    def fn(doc):
        o = doc
        for k in keys[:-1]:
            o = o[k]
        if value is KeyError:
            del o[keys[-1]]
        else:
            o[keys[-1]] = value
    return fn


def main():
    with FakeOrchestrator(duration=0.3) as fake:
        u = fake.url
        tid = fake.create({"test_type": "AVALANCHE", "message_count_per_driver": 10})
        base = {"status": ["status", tid], "json-status": ["--json", "status", tid],
                "list": ["list"], "drivers": ["drivers"], "report": ["report", tid],
                "csv": ["report", tid, "--format", "csv"], "start": ["start", "--count", "5"],
                "wait": ["start", "--count", "5", "--wait"]}
        for name, argv in base.items():
            expect_ok(client(*argv, url=u))
        expect_ok(client(input="1\n5\n", url=u))

        # The nulls docs/API.md allows, each alone, are accepted everywhere.
        nullable = [["errors"], ["error_kinds"], ["status_codes"], ["late"], ["elapsed_ms"],
                    ["rps"], ["service_ms"]] + \
            [["latency_ms", k] for k in ("mode", "p90", "p95", "p99", "p999")]
        for keys in nullable:
            def nulls(m, path, doc, keys=keys):
                tests = doc.get("tests", [doc]) if isinstance(doc, dict) else []
                for t in tests:
                    if isinstance(t, dict) and isinstance(t.get("aggregate"), dict):
                        for fig in [t["aggregate"], *t.get("per_driver", [])]:
                            setter(keys, None)(fig)
                return doc
            fake.mutate = nulls
            try:
                for name, argv in base.items():
                    r = expect_ok(client(*argv, url=u))
                    check(r.err == "", f"{'.'.join(keys)} null, {name}: {r}")
            finally:
                fake.mutate = None
        log(f"null accepted for {len(nullable)} figures in {len(base)} commands")

        # Per-request figures as docs/API.md has them are accepted, and shown.
        req = {"requests_sent": 5, "responses_received": 5, "errors": 0, "rps": 2.5,
               "latency_ms": {"min": 1, "mean": 2, "median": 2, "mode": 2, "p90": 3, "p95": 3,
                              "p99": 4, "p999": 4, "max": 4},
               "checks_passed": 4, "checks_failed": 1,
               "checks_failed_by": {"status": 1, "body_contains": 0, "json": 0}}

        def with_req(d):
            if isinstance(d, dict) and isinstance(d.get("aggregate"), dict):
                d["aggregate"].update(checks_passed=4, checks_failed=1,
                                      by_request={"home": json.loads(json.dumps(req))})
            return d

        fake.mutate = lambda m, path, doc: with_req(doc)
        try:
            r = expect_ok(client(*base["status"], url=u))
            check("Per request" in r.out and "\nhome " in r.out, f"no per-request table: {r.out}")
            expect_ok(client(*base["csv"], url=u))
        finally:
            fake.mutate = None

        def bad_req(keys, value):
            def fn(doc):
                with_req(doc)
                setter(["aggregate", "by_request", "home"] + keys, value)(doc)
            return fn

        T = f"/api/tests/{tid}"
        cases = [
            ("by_request an array", base["status"],
             on(T)(setter(["aggregate", "by_request"], [1])),
             ["aggregate.by_request is an array, not an object"]),
            ("a request that is a number", base["status"],
             on(T)(setter(["aggregate", "by_request"], {"home": 3})),
             ["aggregate.by_request.home is a number, not an object"]),
            ("a request's count a string", base["status"],
             on(T)(bad_req(["requests_sent"], "x")),
             ["aggregate.by_request.home.requests_sent is a string, not a count"]),
            ("a request's checks missing", base["status"],
             on(T)(bad_req(["checks_failed"], KeyError)),
             ["aggregate.by_request.home.checks_failed is missing"]),
            ("a request's p99 a string", base["status"],
             on(T)(bad_req(["latency_ms", "p99"], "x")),
             ["aggregate.by_request.home.latency_ms.p99 is a string, not a number"]),
            ("a request's checks by kind", base["status"],
             on(T)(bad_req(["checks_failed_by", "json"], -2)),
             ["aggregate.by_request.home.checks_failed_by.json is -2, not a count"]),
            ("the fleet's checks a string", base["status"],
             on(T)(setter(["aggregate", "checks_passed"], "all")),
             ["aggregate.checks_passed is a string, not a count"]),
            # (what, argv, mutate, words in the error)
            ("state BANANA", base["status"], on(T)(setter(["state"], "BANANA")),
             [f"GET {T}", "state is 'BANANA', not one of CREATED, CONFIGURED, RUNNING"]),
            ("state BANANA, --json", base["json-status"], on(T)(setter(["state"], "BANANA")),
             ["state is 'BANANA'"]),
            ("state lower case", base["status"], on(T)(setter(["state"], "completed")),
             ["state is 'completed'"]),
            ("state with an escape", base["status"], on(T)(setter(["state"], "\x1b[31mX")),
             ["state is '?[31mX'"]),
            ("state missing", base["status"], on(T)(setter(["state"], KeyError)),
             ["state is missing"]),
            ("test_id missing", base["status"], on(T)(setter(["test_id"], KeyError)),
             ["test_id is missing"]),
            ("test_id not an id", base["status"], on(T)(setter(["test_id"], "../etc")),
             ["test_id is '../etc', not a test id"]),
            ("aggregate an array", base["status"], on(T)(setter(["aggregate"], [1, 2])),
             ["aggregate is an array, not an object"]),
            ("aggregate missing", base["status"], on(T)(setter(["aggregate"], KeyError)),
             ["aggregate is missing"]),
            ("a count as a string", base["status"],
             on(T)(setter(["aggregate", "requests_sent"], "many")),
             ["aggregate.requests_sent is a string, not a count"]),
            ("a negative count", base["status"], on(T)(setter(["aggregate", "errors"], -1)),
             ["aggregate.errors is -1, not a count"]),
            ("a latency as a string", base["status"],
             on(T)(setter(["aggregate", "latency_ms", "p99"], "fast")),
             ["aggregate.latency_ms.p99 is a string, not a number"]),
            # Null only where docs/API.md allows it (figures of the original
            # format); nowhere else.
            ("a minimum latency null", base["status"],
             on(T)(setter(["aggregate", "latency_ms", "min"], None)),
             ["aggregate.latency_ms.min is null, not a number"]),
            ("a driver's median null", base["status"],
             on(T)(setter(["per_driver", 1, "latency_ms", "median"], None)),
             ["per_driver[1].latency_ms.median is null, not a number"]),
            ("latency_ms null", base["status"], on(T)(setter(["aggregate", "latency_ms"], None)),
             ["aggregate.latency_ms is null, not an object"]),
            ("errors missing", base["status"], on(T)(setter(["aggregate", "errors"], KeyError)),
             ["aggregate.errors is missing"]),
            ("errors a string", base["status"], on(T)(setter(["aggregate", "errors"], "none")),
             ["aggregate.errors is a string, not a count"]),
            ("rps a string", base["status"], on(T)(setter(["per_driver", 0, "rps"], "n/a")),
             ["per_driver[0].rps is a string, not a number"]),
            ("error_kinds an array", base["status"],
             on(T)(setter(["aggregate", "error_kinds"], [])),
             ["aggregate.error_kinds is an array, not an object"]),
            ("created_ms null", base["status"], on(T)(setter(["created_ms"], None)),
             ["created_ms is null, not a number"]),
            ("report: a point's count null", base["csv"],
             on("/timeseries")(lambda d: d["aggregate"][0].update(requests_sent=None)),
             ["aggregate[0].requests_sent is null, not a number"]),
            ("per_driver an object", base["status"], on(T)(setter(["per_driver"], {"x": 1})),
             ["per_driver is an object, not an array"]),
            ("a driver without node_id", base["status"],
             on(T)(setter(["per_driver", 1, "node_id"], KeyError)),
             ["per_driver[1].node_id is missing"]),
            ("a driver's count", base["status"],
             on(T)(setter(["per_driver", 0, "responses_received"], None)),
             ["per_driver[0].responses_received is null, not a count"]),
            ("config an array", base["status"], on(T)(setter(["config"], [])),
             ["config is an array, not an object"]),
            ("drivers of numbers", base["status"], on(T)(setter(["drivers"], [1])),
             ["drivers[0] is a number, not a string"]),
            ("an empty object", base["status"], on(T)(lambda d: d.clear()),
             ["test_id is missing"]),
            ("not an object at all", base["status"],
             lambda m, p, d: [d] if p == T else d, ["the answer is an array, not an object"]),
            ("list: tests an object", base["list"],
             on("/api/tests?")(setter(["tests"], {})), ["tests is an object, not an array"]),
            ("list: a test's state", base["list"],
             on("/api/tests?")(lambda d: d["tests"][0].update(state="BANANA")),
             ["tests[0].state is 'BANANA'"]),
            ("drivers: a number", base["drivers"], on("/api/drivers")(setter(["drivers"], 7)),
             ["drivers is a number, not an array"]),
            ("drivers: node_id null", base["drivers"],
             on("/api/drivers")(lambda d: d["drivers"][1].update(node_id=None)),
             ["drivers[1].node_id is null, not a string"]),
            ("drivers: no liveness", base["drivers"],
             on("/api/drivers")(lambda d: d["drivers"][0].pop("liveness")),
             ["drivers[0].liveness is missing"]),
            ("report: a point that is a number", base["report"],
             on("/timeseries")(lambda d: d["aggregate"].insert(0, 3)),
             ["timeseries is not as documented", "aggregate[0] is a number, not an object"]),
            ("report: a driver's series", base["csv"],
             on("/timeseries")(lambda d: d["drivers"].update({"d-fake-1": "x"})),
             ["drivers.d-fake-1 is a string, not an array"]),
            ("report: the test's state", base["csv"], on(T)(setter(["state"], "BANANA")),
             ["state is 'BANANA'"]),
            ("start: the answer's state", base["start"],
             on("/api/tests", "POST")(setter(["state"], "BANANA")),
             ["POST /api/tests", "state is 'BANANA'"]),
            ("start --wait: a poll's state", base["wait"],
             on("/api/tests/t-fake-", "GET")(setter(["state"], "BANANA")),
             ["GET /api/tests/t-fake-", "state is 'BANANA'"]),
        ]
        for what, argv, mutate, words in cases:
            fake.mutate = mutate
            try:
                r = expect_fail(client(*argv, url=u), 1, *words)
            finally:
                fake.mutate = None
            check(r.out == "" or argv == base["wait"] and "BANANA" not in r.out,
                  f"{what}: printed {r.out!r}")
            log(f"{what}: {r.err.strip()}")

        # stop, and the questions.
        running = fake.create({"test_type": "AVALANCHE", "message_count_per_driver": 10})
        fake.duration = 3600
        fake.mutate = on("/stop")(setter(["state"], 3))
        try:
            expect_fail(client("stop", running, url=u), 1, f"POST /api/tests/{running}/stop",
                        "state is a number, not a state")
            fake.mutate = on("/startLoadTest")(setter(["test_id"], KeyError))
            expect_fail(client(input="1\n5\n", url=u), 1, "POST /startLoadTest",
                        "test_id is missing")
            fake.mutate = on("/startLoadTest")(setter(["message"], 5))
            expect_fail(client(input="1\n5\n", url=u), 1, "message is a number, not a string")
        finally:
            fake.mutate = None


if __name__ == "__main__":
    run_test(main)
