"""load-orchestrator: per-request statistics (aggregate.by_request).

Two fake drivers run a test with three named requests, one against a slow
target and one whose check always fails; one driver also reports a name the
test does not have. The final reports are read from Kafka, each name's
histograms decoded with the independent Python port and merged: the
orchestrator's per-name counts, checks and percentiles must be exactly
those, the fleet's checks_passed/checks_failed their sum, the stray name
absent. The orchestrator is killed in the middle of the test and, once the
test is over, stopped and started again: the figures survive both. A test
without requests has no by_request and no checks figures, even from a
driver that sends checks for it. load-client's
status shows the per-request table of the real answer (and none for the
test without requests), and its CSV report a row per name."""

import csv
import io
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "client"))

from clientlib import client, expect_ok  # noqa: E402
from dlt import Cluster, KcatConsumer, check, get_json, log, run_test  # noqa: E402
from orchlib import (Hist, fake_driver, get_test, start_test, wait_drivers,  # noqa: E402
                     wait_test, wait_under_way)

COUNT = 240
DELAY = 0.02  # about 5 s per test
LAT_KEYS = ("min", "median", "p90", "p95", "p99", "p999", "max")


def merged_by_request(finals):
    """{name: (counts dict, merged Hist)} from the drivers' final reports."""
    out = {}
    for m in finals:
        for name, r in m.get("by_request", {}).items():
            cur = out.setdefault(name, ({"requests_sent": 0, "responses_received": 0,
                                         "errors": 0, "checks_passed": 0, "checks_failed": 0,
                                         "status": 0, "body_contains": 0, "json": 0}, Hist()))
            for k in ("requests_sent", "responses_received", "errors", "checks_passed",
                      "checks_failed"):
                cur[0][k] += r[k]
            for k in ("status", "body_contains", "json"):
                cur[0][k] += r.get("checks_failed_by", {}).get(k, 0)
            cur[1].merge(Hist.decode(r["histogram"]))
    return out


def check_by_request(t, want, names, what):
    agg = t["aggregate"]
    by = agg.get("by_request")
    check(isinstance(by, dict), f"{what}: aggregate.by_request is {by!r}")
    check(sorted(by) == sorted(names), f"{what}: by_request names {sorted(by)}, want {names}")
    for name in names:
        counts, h = want[name]
        got = by[name]
        for k in ("requests_sent", "responses_received", "errors", "checks_passed",
                  "checks_failed"):
            check(got[k] == counts[k], f"{what}: {name}.{k} {got[k]}, merged {counts[k]}")
        for k in ("status", "body_contains", "json"):
            check(got["checks_failed_by"][k] == counts[k],
                  f"{what}: {name}.checks_failed_by.{k} {got['checks_failed_by'][k]}, "
                  f"merged {counts[k]}")
        lat = got["latency_ms"]
        ref = {"min": h.min, "max": h.max, "median": h.percentile(50), "p90": h.percentile(90),
               "p95": h.percentile(95), "p99": h.percentile(99), "p999": h.percentile(99.9)}
        for k in LAT_KEYS:
            check(round(lat[k] * 1000) == ref[k],
                  f"{what}: {name} {k} {lat[k]} ms, merged {ref[k] / 1000} ms")
        check(abs(lat["mean"] - h.sum / h.total / 1000) < 0.0015, f"{what}: {name} mean")
        if agg.get("elapsed_ms"):
            rps = counts["responses_received"] * 1000 / agg["elapsed_ms"]
            check(abs(got["rps"] - rps) < 0.011, f"{what}: {name} rps {got['rps']} vs {rps}")
    passed = sum(want[n][0]["checks_passed"] for n in names)
    failed = sum(want[n][0]["checks_failed"] for n in names)
    check(agg.get("checks_passed") == passed and agg.get("checks_failed") == failed,
          f"{what}: aggregate checks {agg.get('checks_passed')}/{agg.get('checks_failed')}, "
          f"want {passed}/{failed}")
    total = sum(by[n]["requests_sent"] for n in names)
    check(total == agg["requests_sent"], f"{what}: by_request sums to {total} sent, "
          f"aggregate {agg['requests_sent']}")


def main():
    with Cluster() as c:
        c.broker()
        fast = c.target()
        slow = c.target("--delay-ms", "5-40")
        orch = c.orchestrator()
        d1 = fake_driver(c, "--checks-always", target=fast.url, name="fakedriver-1")
        d2 = fake_driver(c, "--stray-name", "ghost", target=fast.url, name="fakedriver-2")
        wait_drivers(orch.url, 2)
        metrics = KcatConsumer(c.kafka, "metrics", cluster=c)

        # A test without requests: no by_request, no checks figures (though
        # driver 1 sends checks for it).
        tid_a = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": 20})
        a = wait_test(orch.url, tid_a)
        check(a["state"] == "COMPLETED", f"test A {a['state']}: {a['reason']}")
        for where, o in [("aggregate", a["aggregate"])] + [
                (f"per_driver {p['node_id']}", p) for p in a["per_driver"]]:
            for k in ("by_request", "checks_passed", "checks_failed"):
                check(k not in o, f"test A {where} has {k}: {o.get(k)!r}")

        requests = [
            {"name": "home", "url": fast.url + "/ping", "weight": 2},
            {"name": "slow", "url": slow.url + "/ping", "weight": 1},
            {"name": "strict", "url": fast.url + "/ping", "weight": 1,
             "checks": {"body_contains": "NOPE"}},
        ]
        names = [r["name"] for r in requests]
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                    "message_count_per_driver": COUNT, "requests": requests})
        wait_under_way(orch.url, tid, 40)
        live = get_test(orch.url, tid)
        check(sorted(live["aggregate"].get("by_request", {})) == sorted(names),
              f"live by_request {live['aggregate'].get('by_request')}")
        orch.kill()
        orch = c.orchestrator(db=orch.db)
        t = wait_test(orch.url, tid, timeout=60)
        check(t["state"] == "COMPLETED", f"test {t['state']}: {t['reason']}")

        finals = []
        for d in (d1, d2):
            finals.append(metrics.wait_for(
                lambda m, n=d.node_id: m.get("test_id") == tid and m.get("node_id") == n and
                m.get("final") is True, timeout=15))
        check("ghost" in finals[1].get("by_request", {}), "driver 2 did not report the stray")
        want = merged_by_request(finals)
        want.pop("ghost", None)
        check(want["strict"][0]["checks_failed"] == want["strict"][0]["requests_sent"] > 0,
              f"strict: {want['strict'][0]}")
        check(want["home"][0]["requests_sent"] == 2 * want["slow"][0]["requests_sent"],
              "weights not followed")
        med = {n: want[n][1].percentile(50) for n in names}
        check(med["slow"] > med["home"] + 3000, f"names too alike: {med}")
        log("merged from Kafka: " + "; ".join(
            f"{n} {want[n][0]['requests_sent']} sent, p99 {want[n][1].percentile(99) / 1000} ms"
            for n in names))
        check_by_request(t, want, names, "after the kill")

        # Per driver: each its own figures.
        pd = {p["node_id"]: p for p in t["per_driver"]}
        for m in finals:
            mine = merged_by_request([m])
            mine.pop("ghost", None)
            got = pd[m["node_id"]].get("by_request", {})
            check(sorted(got) == sorted(names), f"per_driver by_request names {sorted(got)}")
            for n in names:
                check(got[n]["requests_sent"] == mine[n][0]["requests_sent"] and
                      round(got[n]["latency_ms"]["p99"] * 1000) == mine[n][1].percentile(99),
                      f"per_driver {m['node_id']} {n}")

        # A clean restart: the stored summary is served as it was.
        check(orch.stop() == 0, "orchestrator exit status")
        orch = c.orchestrator(db=orch.db)
        t2 = get_test(orch.url, tid)
        check(json.dumps(t2["aggregate"], sort_keys=True) ==
              json.dumps(t["aggregate"], sort_keys=True), "aggregate changed across the restart")
        check_by_request(t2, want, names, "after the restart")
        listed = [x for x in get_json(orch.url + "/api/tests")["tests"] if x["test_id"] == tid]
        check(listed and "by_request" in listed[0]["aggregate"], "the list lacks by_request")

        # load-client: the per-request table and the CSV rows, from the real answer.
        by = t2["aggregate"]["by_request"]
        out = expect_ok(client("status", tid, url=orch.url)).out
        check("Per request" in out, f"status has no per-request table:\n{out}")
        for n in names:
            row = [ln for ln in out.splitlines() if ln.startswith(n + " ")]
            check(row and row[0].split()[1:6] == [str(by[n][k]) for k in (
                "requests_sent", "responses_received", "errors", "checks_passed",
                "checks_failed")], f"status row of {n}: {row}")
        check(f"strict: checks failed on body_contains {by['strict']['checks_failed']}" in out,
              f"no failed-checks line:\n{out}")
        plain = expect_ok(client("status", tid_a, url=orch.url)).out
        check("Per request" not in plain and "Checks:" not in plain,
              f"a test without requests shows per-request figures:\n{plain}")
        text = expect_ok(client("report", tid, "--format", "csv", url=orch.url)).out
        rows = [r for r in csv.DictReader(io.StringIO(text)) if r["series"] == "request"]
        check(sorted(r["node_id"] for r in rows) == sorted(names), f"CSV request rows {rows}")
        for r in rows:
            n = r["node_id"]
            check(int(r["requests_sent"]) == by[n]["requests_sent"] and
                  abs(float(r["p99_ms"]) - by[n]["latency_ms"]["p99"]) < 0.0005,
                  f"CSV row of {n}: {r}")


if __name__ == "__main__":
    run_test(main)
