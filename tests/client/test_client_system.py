"""load-client with the real system: load-broker, target-server,
load-orchestrator and two load-drivers. start --wait on a 2-driver test
prints a summary whose counts match the API and the target's /metrics;
thresholds decide the exit status; each report format is checked (the HTML
rendered in headless Chromium); bad usage and an unreachable orchestrator
give one clear line and the promised exit status; an orchestrator with an API
token refuses a POST without it."""

import csv
import io
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clientlib import (artifact, chromium_dom, client, expect_fail, expect_ok,  # noqa: E402
                       start_system, wait_test_final)
from dlt import Cluster, check, free_port, get_json, log, run_test  # noqa: E402

COUNT = 300


def table_rows(out):
    rows = {}
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("driver ") and "received" in line:
            for row in lines[i + 1:]:
                if row.startswith("State:") or row.startswith("threshold ") or row.startswith("  "):
                    break
                cells = row.split()
                if cells and not set(cells[0]) <= {"-"}:
                    rows[cells[0]] = cells
            break
    return rows


def test_id_of(out):
    m = re.search(r"^Load test started with Test ID: (\S+)$", out, re.M)
    check(m, f"no test id in:\n{out}")
    return m.group(1)


def check_wait_summary(target, orch, ds):
    before = get_json(target.url + "/metrics")["total_requests"]
    # About two seconds (a rate cap), so that progress lines and time-series
    # points exist.
    r = expect_ok(client("start", "--type", "avalanche", "--count", str(COUNT), "--concurrency",
                         "8", "--rate", "150", "--report-interval", "250ms", "--url",
                         target.url + "/ping", "--wait", "--threshold", "errors<1%",
                         "--threshold", f"sent>={2 * COUNT}", "--threshold", "p99<10s",
                         url=orch.url, timeout=120))
    tid = test_id_of(r.out)
    log("start --wait:\n" + r.out)
    test = get_json(f"{orch.url}/api/tests/{tid}")
    check(test["state"] == "COMPLETED", f"state {test['state']}")
    check(sorted(test["drivers"]) == sorted(d.node_id for d in ds), f"drivers {test['drivers']}")
    rows = table_rows(r.out)
    check(set(rows) == {d.node_id for d in ds} | {"all"}, f"table rows {sorted(rows)}")
    for pd in test["per_driver"]:
        cells = rows[pd["node_id"]]
        check(cells[1:4] == [str(pd["requests_sent"]), str(pd["responses_received"]),
                             str(pd["errors"])], f"row {cells} vs API {pd}")
        check(pd["requests_sent"] == COUNT, f"{pd['node_id']} sent {pd['requests_sent']}")
    agg = test["aggregate"]
    check(rows["all"][1:4] == [str(agg["requests_sent"]), str(agg["responses_received"]),
                               str(agg["errors"])], f"aggregate row {rows['all']} vs {agg}")
    check(agg["requests_sent"] == 2 * COUNT and agg["errors"] == 0, f"aggregate {agg}")
    after = get_json(target.url + "/metrics")
    check(after["total_requests"] - before == 2 * COUNT,
          f"target saw {after['total_requests'] - before} requests, expected {2 * COUNT}")
    # The latency cells are the API's, in ms, to the shown precision.
    lat = agg["latency_ms"]
    for col, key in ((5, "min"), (10, "p99"), (11, "max")):
        shown = float(rows["all"][col])
        check(abs(shown - lat[key]) <= max(0.006, lat[key] * 0.001 + 0.5 * (lat[key] >= 100)),
              f"{key}: table {shown} vs API {lat[key]}")
    check("State: COMPLETED" in r.out, "no final state")
    for t in ("errors<1%: PASS", f"sent>={2 * COUNT}: PASS", "p99<10s: PASS"):
        check(f"threshold {t}" in r.out, f"verdict {t} missing")
    progress = [l for l in r.out.splitlines() if l.startswith("t=")]
    check(len(progress) >= 2 and any("state=RUNNING" in l for l in progress),
          f"expected a progress line per second: {progress}")
    return tid


def check_thresholds(target, orch):
    r = expect_fail(client("start", "--count", "50", "--url", target.url + "/ping", "--wait",
                           "--threshold", "p99<1us", url=orch.url), 1,
                    "1 of 1 threshold breached")
    check("threshold p99<1us: FAIL" in r.out, f"verdict: {r}")
    r = expect_fail(client("start", "--count", "50", "--url", target.url + "/ping", "--wait",
                           "--threshold", "rps>1000000000", "--threshold", "p50<1h",
                           url=orch.url), 1, "1 of 2 thresholds breached")
    r = expect_ok(client("start", "--type", "tsunami", "--count", "40", "--delay", "10ms",
                         "--url", target.url + "/ping", "--wait", "--threshold", "p99<5s",
                         "--threshold", "received>=80", url=orch.url))
    test = get_json(f"{orch.url}/api/tests/{test_id_of(r.out)}")
    check(test["config"]["test_type"] == "TSUNAMI" and
          abs(test["config"]["test_message_delay"] - 0.01) < 1e-9, f"config {test['config']}")
    # --json: the final test object and the verdicts.
    r = client("--json", "start", "--count", "20", "--url", target.url + "/ping", "--wait",
               "--threshold", "p99<1us", url=orch.url)
    check(r.rc == 1, f"--json breached exit {r.rc}")
    doc = json.loads(r.out)
    check(doc["passed"] is False and doc["thresholds"][0]["passed"] is False and
          doc["test"]["state"] == "COMPLETED", f"--json doc {doc}")


def check_reports(orch, tid, ds):
    out_dir = artifact(f"client-reports-{os.getpid()}")
    os.makedirs(out_dir, exist_ok=True)
    # JSON
    r = expect_ok(client("report", tid, "--format", "json", url=orch.url))
    doc = json.loads(r.out)
    check(doc["test"]["test_id"] == tid and doc["test"]["state"] == "COMPLETED", "json test")
    check(doc["test"] == get_json(f"{orch.url}/api/tests/{tid}"), "json test differs from API")
    ts = doc["timeseries"]
    check(isinstance(ts.get("aggregate"), list) and isinstance(ts.get("drivers"), dict),
          f"json timeseries {ts}")
    # CSV
    path = os.path.join(out_dir, "report.csv")
    expect_ok(client("report", tid, "--format", "csv", "--output", path, url=orch.url))
    rows = list(csv.reader(open(path, newline="")))
    check(rows and rows[0][:4] == ["test_id", "series", "node_id", "t_ms"], f"csv header {rows[:1]}")
    check(all(len(x) == len(rows[0]) for x in rows), "csv rows of different lengths")
    n_points = len(ts["aggregate"]) + sum(len(v) for v in ts["drivers"].values())
    check(len(rows) - 1 == n_points, f"csv rows {len(rows) - 1} vs points {n_points}")
    check(all(x[0] == tid for x in rows[1:]), "csv test ids")
    # HTML in Chromium: the charts are there, with data.
    path = os.path.join(out_dir, "report.html")
    expect_ok(client("report", tid, "--output", path, url=orch.url))
    dom = chromium_dom(path, screenshot=os.path.join(out_dir, "report.png"))
    check(f"Load test {tid}" in dom, "title not rendered")
    charts = re.findall(r'<svg class="chart"', dom)
    lines = re.findall(r'<polyline class="series" data-series="([^"]+)"[^>]* points="([^"]*)"',
                       dom)
    check(len(ts["aggregate"]) >= 2, f"too few time-series points: {ts['aggregate']}")
    check(len(charts) == 2 + len(ts["drivers"]), f"{len(charts)} charts rendered")
    check(all(len(p.split()) >= 2 for _, p in lines), "a series with fewer than 2 points")
    check({"p50", "p90", "p99", "all drivers"} | {d.node_id for d in ds} <= {n for n, _ in lines},
          f"series {sorted({n for n, _ in lines})}")
    for d in ds:
        check(d.node_id in dom, f"driver {d.node_id} missing from the page")
    for ref in ("<script", "<link", "src=", "href="):
        check(ref not in open(path).read(), f"HTML refers outside itself: {ref}")


def check_commands(orch, tid, ds):
    r = expect_ok(client("status", tid, url=orch.url))
    check(f"Test {tid}: COMPLETED" in r.out, f"status: {r}")
    r = expect_ok(client("list", url=orch.url))
    check(tid in r.out, f"list: {r}")
    r = expect_ok(client("drivers", url=orch.url))
    for d in ds:
        check(d.node_id in r.out, f"drivers: {r}")
    doc = json.loads(expect_ok(client("--json", "drivers", url=orch.url)).out)
    api = get_json(orch.url + "/api/drivers")
    check(sorted(d["node_id"] for d in doc["drivers"]) == sorted(d["node_id"] for d in api["drivers"])
          and set(doc["drivers"][0]) == set(api["drivers"][0]), f"drivers --json: {doc}")
    expect_fail(client("status", "t-does-not-exist", url=orch.url), 1, "404")
    expect_fail(client("stop", tid, url=orch.url), 1, "409")


def check_bad_usage(orch):
    expect_fail(client("start", "--bogus", url=orch.url), 2, "unknown option '--bogus'")
    expect_fail(client("start", "--type", "earthquake", url=orch.url), 2,
                "unknown test type 'earthquake'")
    expect_fail(client("start", "--count", "-3", url=orch.url), 2, "--count")
    expect_fail(client("start", "--wait", "--threshold", "p99 < soon", url=orch.url), 2,
                "--threshold")
    port = free_port()
    expect_fail(client("start", "--wait", url=f"http://127.0.0.1:{port}"), 1,
                f"cannot reach the orchestrator at http://127.0.0.1:{port}")
    expect_fail(client("list", url=f"http://127.0.0.1:{port}"), 1, "cannot reach")


def check_failing_requests(orch, ds):
    """Requests to a closed port fail without a response: they count as
    errors (connect), the test still finishes, and errors<1% is breached."""
    url = f"http://127.0.0.1:{free_port()}/ping"
    r = expect_fail(client("start", "--count", "20", "--concurrency", "4", "--url", url,
                           "--timeout", "2s", "--wait", "--threshold", "errors<1%",
                           url=orch.url), 1, "1 of 1 threshold breached")
    progress = [l for l in r.out.splitlines() if l.startswith("t=")]
    check(progress and "done=40/40 (100.0%)" in progress[-1], f"progress: {progress}")
    rows = table_rows(r.out)
    for d in ds:
        check(rows[d.node_id][1:4] == ["20", "0", "20"], f"row {rows.get(d.node_id)}")
    check(rows["all"][1:4] == ["40", "0", "40"], f"aggregate row {rows.get('all')}")
    check("Errors by kind: connect 40" in r.out, f"error kinds: {r.out}")
    check("threshold errors<1%: FAIL (errors = 100.000% (40 of 40))" in r.out, f"verdict {r}")


def check_token(c):
    """An orchestrator with --api-token: POSTs need the bearer token, reads
    stay open. (Started last: it shares the cluster's consumer groups.)"""
    orch = c.orchestrator("--api-token", "s3cret")
    expect_fail(client("start", "--count", "5", url=orch.url), 1, "answered 401")
    expect_fail(client("--api-token", "wrong", "stop", "t-none", url=orch.url), 1, "answered 401")
    expect_ok(client("list", url=orch.url))
    # The right token gets past the check: the answer is about the test.
    expect_fail(client("stop", "t-none", url=orch.url, env={"DLT_API_TOKEN": "s3cret"}), 1,
                "answered 404")


def main():
    with Cluster() as c:
        target, orch, ds = start_system(c, drivers=2)
        tid = check_wait_summary(target, orch, ds)
        check_reports(orch, tid, ds)
        check_commands(orch, tid, ds)
        check_thresholds(target, orch)
        check_failing_requests(orch, ds)
        check_bad_usage(orch)
        check_token(c)


if __name__ == "__main__":
    run_test(main)
