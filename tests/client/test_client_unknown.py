"""load-client on a test of drivers of the original format, whose figures the
orchestrator reports as unknown (null): errors, error_kinds, status_codes,
late, elapsed_ms, rps and the latency's mode, p90, p95, p99, p999.

The fake orchestrator serves such a test (FakeOrchestrator(original=N)).
Every human view shows an unknown figure as an en dash, never as 0: the
summary table of start --wait and of status, the progress lines, list,
drivers (a quiet driver, with no state and no heartbeat), the HTML report;
the CSV report leaves it empty and the JSON report keeps it null. Known
figures (sent, received, min, mean, median, max) still print. A threshold
on an unknown figure is not met: one line says the figure is unknown and the
exit status is that of a breach; a threshold on a known figure is judged as
usual. With one driver of each format, only the original one's row shows
dashes and the aggregate is judged on what the other sent."""

import csv
import io
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clientlib import client, expect_fail, expect_ok  # noqa: E402
from dlt import check, log, run_test  # noqa: E402
from fake_orchestrator import DRIVERS, FakeOrchestrator  # noqa: E402

DASH = "\u2013"
HEAD = ["driver", "sent", "received", "errors", "rps", "min", "mean", "median", "mode", "p90",
        "p99", "max"]
UNKNOWN_COLS = ["errors", "rps", "mode", "p90", "p99"]


def view_ms(v):
    """A latency as the summary table prints it."""
    if v >= 1000:
        return f"{v:.0f}"
    if v >= 100:
        return f"{v:.1f}"
    return f"{v:.2f}"


def summary_rows(out):
    """The summary table's rows, by driver, as {column: cell}."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.split() == HEAD:
            rows = {}
            for row in lines[i + 1:]:
                cells = row.split()
                if not cells or row.startswith(("State:", "threshold ", "  ")):
                    break
                if set(cells[0]) <= {"-"}:
                    continue
                check(len(cells) == len(HEAD), f"row {row!r} has {len(cells)} cells")
                rows[cells[0]] = dict(zip(HEAD, cells))
            return rows
    check(False, f"no summary table in:\n{out}")


def check_row(row, fig, unknown, what):
    """A summary row against the API's figures fig: unknown columns are a
    dash, the others the numbers."""
    check(row["sent"] == str(fig["requests_sent"]), f"{what}: sent {row}")
    check(row["received"] == str(fig["responses_received"]), f"{what}: received {row}")
    for k in ("min", "mean", "median", "max"):
        check(row[k] == view_ms(fig["latency_ms"][k]), f"{what}: {k} {row} vs {fig}")
    for k in UNKNOWN_COLS:
        if unknown:
            check(row[k] == DASH, f"{what}: {k} is {row[k]!r}, not {DASH!r}: {row}")
        else:
            check(row[k] != DASH, f"{what}: a known {k} shows as unknown: {row}")
    if not unknown:
        check(row["errors"] == str(fig["errors"]), f"{what}: errors {row}")
        check(row["p99"] == view_ms(fig["latency_ms"]["p99"]), f"{what}: p99 {row}")


def check_summary(out, final, unknown_drivers, agg_unknown, what):
    rows = summary_rows(out)
    for d in final["per_driver"]:
        check(d["node_id"] in rows, f"{what}: no row for {d['node_id']}:\n{out}")
        check_row(rows[d["node_id"]], d, d["node_id"] in unknown_drivers,
                  f"{what}, {d['node_id']}")
    check_row(rows["all"], final["aggregate"], agg_unknown, f"{what}, all")


def driver_rows(out):
    """The rows of 'drivers' by node id, as their cells."""
    return {l.split()[0]: l.split() for l in out.splitlines()[2:] if l.strip()}


def check_wait(fake):
    r = expect_ok(client("start", "--count", "20", "--wait", url=fake.url))
    tid = re.search(r"Test ID: (\S+)", r.out).group(1)
    progress = [l for l in r.out.splitlines() if l.startswith("t=")]
    running = [l for l in progress if "state=RUNNING" in l]
    check(running, f"no RUNNING progress line: {r}")
    for line in progress:
        if "state=CREATED" in line or "state=CONFIGURED" in line:
            continue
        for k in ("rps", "p99", "errors"):
            check(f" {k}={DASH}" in line, f"progress line shows a known {k}: {line!r}")
        check(re.search(r" p50=\d+\.\d\dms", line), f"p50 is known: {line!r}")
    final = fake.test_object(tid)
    check_summary(r.out, final, set(DRIVERS), True, "start --wait")
    check("State: COMPLETED" in r.out, f"no final state: {r}")
    log("start --wait: dashes for the unknown figures in the progress and the summary")
    return tid


def check_views(fake, tid):
    u = fake.url
    final = fake.test_object(tid)
    r = expect_ok(client("status", tid, url=u))
    check_summary(r.out, final, set(DRIVERS), True, "status")
    check("start skew" not in r.out, f"a start skew that is null: {r}")

    r = expect_ok(client("list", url=u))
    head = r.out.splitlines()[0].split()
    row = next(l.split() for l in r.out.splitlines() if l.startswith(tid + " "))
    cells = dict(zip(head, row))
    check(cells["sent"] == "40", f"list: sent {cells}")
    for k in ("errors", "rps", "p99_ms"):
        check(cells[k] == DASH, f"list: {k} is {cells[k]!r}: {r}")

    rows = driver_rows(expect_ok(client("drivers", url=u)).out)
    for d in DRIVERS:
        # node_id ip hostname liveness state heartbeat_age [test_id] sent
        check(rows[d][3:6] == ["quiet", DASH, DASH] and rows[d][-1] == "0",
              f"drivers: {rows[d]}")
    log("status, list, drivers: dashes, and the known figures")

    # JSON: the nulls stay null.
    r = expect_ok(client("report", tid, url=u))
    doc = json.loads(r.out)
    for fig in [doc["test"]["aggregate"], *doc["test"]["per_driver"]]:
        for k in FakeOrchestrator.UNKNOWN:
            check(fig[k] is None, f"json report: {k} is {fig[k]!r}")
        for k in FakeOrchestrator.UNKNOWN_LAT:
            check(fig["latency_ms"][k] is None, f"json report: latency {k}")
    check(doc["test"]["aggregate"]["latency_ms"]["median"]
          == final["aggregate"]["latency_ms"]["median"], "json report: the median")
    r = expect_ok(client("--json", "status", tid, url=u))
    agg = json.loads(r.out)["aggregate"]
    check(agg["rps"] is None and agg["latency_ms"]["p99"] is None, f"--json status: {agg}")

    # CSV: an empty cell, never 0.
    r = expect_ok(client("report", tid, "--format", "csv", url=u))
    rows = list(csv.DictReader(io.StringIO(r.out)))
    ts = fake.timeseries(tid)
    check(len(rows) == len(ts["aggregate"]) + sum(len(v) for v in ts["drivers"].values()),
          f"csv rows: {len(rows)}")
    empty = 0
    for row, pt in zip(rows, ts["aggregate"] + [p for d in DRIVERS for p in ts["drivers"][d]]):
        for k in ("p50", "p90", "p99", "mean", "max"):
            cell = row[f"{k}_ms"]
            if pt[k] is None:
                check(cell == "", f"csv: an unknown {k} is {cell!r}: {row}")
                empty += 1
            else:
                check(cell != "" and float(cell) == pt[k], f"csv: {k} {cell!r} vs {pt[k]}")
    check(empty > 0, "csv: the fake served no unknown point (the test checks nothing)")

    # HTML: the summary's cells.
    with tempfile.TemporaryDirectory(prefix="dlt-unknown-") as tmp:
        path = os.path.join(tmp, "r.html")
        expect_ok(client("report", tid, "--output", path, url=u))
        with open(path, encoding="utf-8") as f:
            html = f.read()
    keys = ["sent", "received", "errors", "rps", "min", "mean", "median", "mode", "p90",
            "p95", "p99", "p999", "max"]
    for name, fig in [*((d["node_id"], d) for d in final["per_driver"]),
                      ("all drivers", final["aggregate"])]:
        m = re.search(r'<th scope="row">' + re.escape(name) + r"</th>(.*?)</tr>", html)
        check(m, f"html: no summary row for {name}")
        cells = dict(zip(keys, re.findall(r"<td[^>]*>([^<]*)</td>", m.group(1))))
        for k in ("errors", "rps", "mode", "p90", "p95", "p99", "p999"):
            check(cells[k] == DASH, f"html {name}: {k} is {cells[k]!r}")
        check(float(cells["median"]) == fig["latency_ms"]["median"], f"html {name}: {cells}")
        check(cells["sent"] == str(fig["requests_sent"]), f"html {name}: {cells}")
    check("a figure that is not known" in html, "html: no word on what the dash means")
    log("reports: null in JSON, empty in CSV, a dash in HTML")


def check_thresholds(fake, tid):
    u = fake.url
    r = expect_fail(client("status", tid, "--threshold", "p99<200ms", "--threshold",
                           "sent>=40", "--threshold", "p50<1s", url=u), 1,
                    f"test {tid}: 1 of 3 thresholds breached (1 on a figure that is unknown)")
    check("threshold p99<200ms: unknown (no participant sent p99)\n" in r.out, f"{r}")
    check("threshold sent>=40: PASS (sent = 40)\n" in r.out, f"{r}")
    check("threshold p50<1s: PASS (p50 = 4.200ms)\n" in r.out, f"{r}")
    for expr, field in (("errors<1%", "errors"), ("errors<=0", "errors"),
                        ("error_rate<0.5", "errors"), ("rps>0", "rps"), ("p90<1s", "p90"),
                        ("p999<1s", "p999"), ("mode<1s", "mode"), ("p95>0", "p95")):
        r = expect_fail(client("status", tid, "--threshold", expr, url=u), 1,
                        "1 of 1 threshold breached (1 on a figure that is unknown)")
        check(f"threshold {expr}: unknown (no participant sent {field})\n" in r.out, f"{r}")
    # A known figure still judges as before, both ways.
    expect_ok(client("status", tid, "--threshold", "max<1s", "--threshold", "received>0",
                     url=u))
    expect_fail(client("status", tid, "--threshold", "min>1s", url=u), 1,
                "1 of 1 threshold breached")
    # --json: actual is null, and the test does not pass.
    r = client("--json", "status", tid, "--threshold", "p99<200ms", "--threshold", "sent>0",
               url=u)
    check(r.rc == 1, f"--json with an unknown figure: {r}")
    doc = json.loads(r.out)
    check(doc["passed"] is False, f"--json: {doc['passed']}")
    t0, t1 = doc["thresholds"]
    check(t0["actual"] is None and t0["passed"] is False, f"--json: {t0}")
    check(t1["actual"] == 40 and t1["passed"] is True, f"--json: {t1}")
    # report: the verdict goes to stderr, the exit status is a breach's.
    r = client("report", tid, "--format", "csv", "--threshold", "rps>1", url=u)
    check(r.rc == 1 and "threshold rps>1: unknown (no participant sent rps)" in r.err, f"{r}")
    # start --wait.
    r = expect_fail(client("start", "--count", "5", "--wait", "--threshold", "errors<1", url=u),
                    1, "1 of 1 threshold breached (1 on a figure that is unknown)")
    check("threshold errors<1: unknown (no participant sent errors)" in r.out, f"{r}")
    log("thresholds on unknown figures are not met, with a line saying why")


def check_mixed(fake):
    """One driver of each format: only the original one is unknown."""
    fake.original = 1
    r = expect_ok(client("start", "--count", "20", "--wait", "--threshold", "p99<200ms",
                         "--threshold", "errors<1%", url=fake.url))
    tid = re.search(r"Test ID: (\S+)", r.out).group(1)
    final = fake.test_object(tid)
    check_summary(r.out, final, {DRIVERS[0]}, False, "mixed")
    check("threshold p99<200ms: PASS" in r.out and "threshold errors<1%: PASS" in r.out,
          f"mixed thresholds: {r}")
    rows = driver_rows(expect_ok(client("drivers", url=fake.url)).out)
    check(rows[DRIVERS[0]][3:6] == ["quiet", DASH, DASH], f"drivers: {rows}")
    check(rows[DRIVERS[1]][3:6] == ["alive", "IDLE", "0.3s"], f"drivers: {rows}")
    log("mixed formats: dashes only where the original driver said nothing")


def main():
    with FakeOrchestrator(duration=2.5, original=len(DRIVERS)) as fake:
        tid = check_wait(fake)
        check_views(fake, tid)
        check_thresholds(fake, tid)
        check_mixed(fake)


if __name__ == "__main__":
    run_test(main)
