"""The dashboard's per-request table, in headless Chromium: two fake drivers
(tests/orchestrator/fakedriver.py) run a test with three named requests, one
of whose check always fails. While the test runs the table shows every name
with a sent count that rises; once it is COMPLETED each cell is the API's
aggregate.by_request figure, the failed checks are named by kind, and the
fleet's checks are given. A test without requests shows no such table.
The test's data (CSV rows for {{column}}) is shown in its config view by
its shape: rows, mode and columns."""

import os
import sys
from decimal import ROUND_HALF_UP, Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "orchestrator")]

from dashlib import Browser, artifact, number, wait_test_state  # noqa: E402
from dlt import Cluster, check, log, run_test  # noqa: E402
from orchlib import fake_driver, get_test, start_test, wait_drivers  # noqa: E402

# The per-request table: {name: {key: text}}.
JS_BYREQ = """() => Object.fromEntries([...document.querySelectorAll(
    '#byreq-table tbody tr')].map((tr) => [tr.dataset.request, Object.fromEntries(
    [...tr.querySelectorAll('td[data-k]')].map((td) => [td.dataset.k,
    td.textContent.trim()]))]))"""

JS_SHOWN = "() => !document.getElementById('byreq').hidden"


def fmt_ms(v):
    """format.js fmtMs: toFixed rounds the double's exact value, ties up."""
    def fixed(d):
        return str(Decimal(v).quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP))
    if v == 0:
        return "0"
    if v < 1:
        return fixed(3)
    if v < 10:
        return fixed(2)
    if v < 100:
        return fixed(1)
    return f"{int(fixed(0)):,}"


def main():
    with Cluster() as c:
        c.broker()
        fast = c.target()
        slow = c.target("--delay-ms", "5-20")
        orch = c.orchestrator()
        for i in range(2):
            fake_driver(c, target=fast.url, name=f"fakedriver-{i + 1}")
        wait_drivers(orch.url, 2)
        b = Browser(c)
        b.open(orch.url + "/", 1400, 900)

        plain = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": 10})
        b.open(f"{orch.url}/#test={plain}", 1400, 900)
        wait_test_state(b, plain, "COMPLETED")
        b.wait("(id) => document.getElementById('detail-id').textContent === id", plain)
        check(not b.eval(JS_SHOWN), "a test without requests shows a per-request table")

        requests = [
            {"name": "home", "url": fast.url + "/ping?u={{user}}", "weight": 2},
            {"name": "slow", "url": slow.url + "/ping"},
            {"name": "strict", "url": fast.url + "/ping", "checks": {"body_contains": "NOPE"}},
        ]
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.02,
                                    "message_count_per_driver": 300, "requests": requests,
                                    "data": {"csv": "user,pass\nann,x\nbo,y\ncy,z\n",
                                             "mode": "shared"}})
        b.open(f"{orch.url}/#test={tid}", 1400, 900)
        shape = b.wait("() => { const d = document.querySelector('dd[data-k=\"data\"]'); "
                       "return d && d.textContent; }", timeout=30, what="the config's data")
        check(shape == "3 rows, shared: every driver uses them all; columns user, pass",
              f"the config view's data: {shape!r}")
        first = b.wait(f"() => {{ const t = ({JS_BYREQ})(); return t.home && "
                       "Number(t.home.requests_sent.replace(/,/g, '')) > 0 && t; }",
                       timeout=30, what="the per-request table filling")
        check(sorted(first) == ["home", "slow", "strict"], f"rows {sorted(first)}")
        b.wait(f"(n) => {{ const t = ({JS_BYREQ})(); return t.home && "
               "Number(t.home.requests_sent.replace(/,/g, '')) > n; }",
               number(first["home"]["requests_sent"]), timeout=10,
               what="the per-request sent count rising live")
        b.screenshot(artifact("dashboard-byrequest-running.png"))
        wait_test_state(b, tid, "COMPLETED", timeout=60)
        t = get_test(orch.url, tid)
        by = t["aggregate"]["by_request"]
        shown = b.wait(f"(want) => {{ const t = ({JS_BYREQ})(); return t.home && "
                       "Number(t.home.requests_sent.replace(/,/g, '')) === want && t; }",
                       by["home"]["requests_sent"], timeout=10, what="the final figures")
        for name, r in by.items():
            row = shown[name]
            for k in ("requests_sent", "responses_received", "errors", "checks_passed",
                      "checks_failed"):
                check(number(row[k]) == r[k], f"{name} {k}: page {row[k]}, API {r[k]}")
            for k, api_k in (("median", "median"), ("p90", "p90"), ("p99", "p99"),
                             ("max", "max"), ("mean", "mean")):
                check(row[k] == fmt_ms(r["latency_ms"][api_k]),
                      f"{name} {k}: page {row[k]}, API {r['latency_ms'][api_k]}")
        check(by["strict"]["checks_failed"] > 0 and
              shown["strict"]["checks_failed_by"] ==
              f"body contains {by['strict']['checks_failed']:,}",
              f"strict failed on: {shown['strict']['checks_failed_by']!r}")
        check(shown["home"]["checks_failed_by"] == "–", "home failed on something")
        total = b.eval("() => document.getElementById('byreq-checks').textContent")
        agg = t["aggregate"]
        check(f"{agg['checks_passed']:,} passed, {agg['checks_failed']:,} failed" in total,
              f"fleet checks shown {total!r}, API {agg['checks_passed']}/{agg['checks_failed']}")
        b.screenshot(artifact("dashboard-byrequest.png"), full_page=True)
        errors = b.page_errors()
        check(not errors, f"page errors: {errors}")
        log("per-request table: " + ", ".join(f"{n} {r['requests_sent']}" for n, r in by.items()))


if __name__ == "__main__":
    run_test(main)
