"""load-client against a fake orchestrator (fake_orchestrator.py) that serves
API-shaped answers: every command's output and request, start --wait with a
summary and thresholds, the three report formats (the HTML rendered in
headless Chromium), and the error paths a real orchestrator rarely shows: 500s,
bodies that are not JSON or not of the documented shape, answers too slow or
too large, a refused connection, a wrong token."""

import csv
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clientlib import artifact, chromium_dom, client, expect_fail, expect_ok  # noqa: E402
from dlt import binary, check, log, run_test  # noqa: E402
from fake_orchestrator import DRIVERS, FakeOrchestrator  # noqa: E402


def table_rows(out):
    """The summary table's rows by their first cell."""
    rows = {}
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("driver ") and "received" in line:
            for row in lines[i + 1:]:
                if row.startswith("State:") or row.startswith("threshold "):
                    break
                cells = row.split()
                if cells and not set(cells[0]) <= {"-"}:
                    rows[cells[0]] = cells
            break
    return rows


def check_start_wait(fake):
    r = expect_ok(client("start", "--type", "tsunami", "--count", "40", "--delay", "50ms",
                         "--url", "http://127.0.0.1:9/ping", "--method", "post", "--header",
                         "X-Run: 7", "--body", '{"a":1}', "--concurrency", "8", "--timeout",
                         "1.5s", "--drivers", ",".join(DRIVERS), "--min-drivers", "2",
                         "--report-interval", "250ms", "--http2", "--wait", "--threshold",
                         "p99<200ms", "--threshold", "errors<1%", "--threshold", "rps>0",
                         url=fake.url))
    body = fake.posted("/api/tests")[-1]
    check(body == {"test_type": "TSUNAMI", "test_message_delay": 0.05,
                   "message_count_per_driver": 40, "target_url": "http://127.0.0.1:9/ping",
                   "method": "POST", "headers": {"X-Run": "7"}, "body": '{"a":1}',
                   "concurrency": 8, "timeout_ms": 1500, "drivers": DRIVERS,
                   "report_interval_ms": 250, "http2": True, "min_drivers": 2,
                   "thresholds": ["p99<200ms", "errors<1%", "rps>0"]},
          f"POST /api/tests body: {body}")
    m = re.search(r"^Load test started with Test ID: (\S+)$", r.out, re.M)
    check(m, f"no test id line: {r}")
    tid = m.group(1)
    # Not a terminal: plain lines, about one per second, no bar redraws.
    progress = [l for l in r.out.splitlines() if l.startswith("t=")]
    check(len(progress) >= 2, f"expected per-second lines: {r}")
    check("\r" not in r.out and "\033" not in r.out, f"terminal codes in piped output: {r}")
    check(any("state=RUNNING" in l for l in progress), f"never saw RUNNING: {r}")
    # One line per second means no gap over a second (plus a fetch).
    ts = [float(re.match(r"t=([0-9.]+)s", l).group(1)) for l in progress]
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    check(len(ts) >= 3 and max(gaps) <= 1.15, f"progress lines {ts}: a gap over 1.15 s")
    rows = table_rows(r.out)
    final = fake.test_object(tid)
    for d in final["per_driver"]:
        cells = rows.get(d["node_id"])
        check(cells is not None, f"no row for {d['node_id']}: {r}")
        check(cells[1:4] == [str(d["requests_sent"]), str(d["responses_received"]),
                             str(d["errors"])], f"row {cells} vs {d}")
    agg = final["aggregate"]
    check(rows["all"][1:4] == ["80", "80", "0"], f"aggregate row {rows.get('all')}")
    check(float(rows["all"][10]) == agg["latency_ms"]["p99"], f"p99 cell {rows['all']}")
    check("State: COMPLETED" in r.out, f"no final state: {r}")
    for t in ("p99<200ms: PASS", "errors<1%: PASS", "rps>0: PASS"):
        check(f"threshold {t}" in r.out, f"no verdict {t}: {r}")
    check(r.err == "", f"stderr on success: {r}")
    return tid


def check_thresholds(fake):
    r = expect_fail(client("start", "--count", "10", "--wait", "--threshold", "p99<10ms",
                           "--threshold", "p50<1s", url=fake.url), 1, "1 of 2 thresholds breached")
    check("threshold p99<10ms: FAIL (p99 = 50.000ms)" in r.out, f"verdict: {r}")
    check("threshold p50<1s: PASS" in r.out, f"verdict: {r}")
    # A bad expression is a usage error found before anything is sent.
    n = len(fake.posted("/api/tests"))
    for bad in ("p98<10ms", "p99<10parsecs", "p99", "errors<>1", "rps>fast"):
        expect_fail(client("start", "--wait", "--threshold", bad, url=fake.url), 2, "--threshold")
    expect_fail(client("start", "--abort-on-fail", url=fake.url), 2, "add --threshold")
    check(len(fake.posted("/api/tests")) == n, "a test was started despite a bad threshold")
    # Without --wait the thresholds go with the test, judged by the orchestrator.
    expect_ok(client("start", "--threshold", "p99 < 1s", "--threshold", "checks>99%",
                     "--abort-on-fail", url=fake.url))
    body = fake.posted("/api/tests")[-1]
    check(body.get("thresholds") == ["p99<1s", "checks>99%"] and body.get("abort_on_fail") is True,
          f"thresholds in the body: {body}")
    # Machine output carries the verdicts.
    r = client("--json", "start", "--count", "10", "--wait", "--threshold", "p99<10ms",
               url=fake.url)
    check(r.rc == 1, f"--json breached: {r}")
    doc = json.loads(r.out)
    check(doc["passed"] is False and doc["test"]["state"] == "COMPLETED", f"json {doc}")
    check(doc["thresholds"] == [{"threshold": "p99<10ms", "metric": "p99", "op": "<",
                                 "value": 10, "actual": 50, "passed": False}],
          f"thresholds {doc['thresholds']}")


def check_stored_verdict(fake):
    """start --wait takes its exit status from the verdict the orchestrator
    stored, whatever the client's own reading of the figures."""
    def with_verdict(passed, holds, value):
        def mutate(method, path, doc):
            if method == "GET" and path.startswith("/api/tests/t-") and \
                    doc.get("state") == "COMPLETED":
                doc["thresholds"] = ["p99<1s"]
                doc["abort_on_fail"] = False
                doc["verdict"] = {"passed": passed, "final": True,
                                  "thresholds": [{"expr": "p99<1s", "holds": holds,
                                                  "value": value}]}
            return doc
        return mutate

    try:
        # The figures the client sees say p99 = 50 ms; the stored verdict says no.
        fake.mutate = with_verdict(False, False, 1200.5)
        r = expect_fail(client("start", "--count", "10", "--wait", "--threshold", "p99<1s",
                               url=fake.url), 1, "1 of 1 threshold breached")
        check("threshold p99<1s: PASS" in r.out, f"the printed line changed: {r}")
        r = client("--json", "start", "--count", "10", "--wait", "--threshold", "p99<1s",
                   url=fake.url)
        check(r.rc == 1 and json.loads(r.out)["passed"] is False, f"--json: {r}")
        # And the other way round.
        fake.mutate = with_verdict(True, True, 5.0)
        r = expect_ok(client("start", "--count", "10", "--wait", "--threshold", "p99<10ms",
                             url=fake.url))
        check("threshold p99<10ms: FAIL" in r.out, f"the printed line changed: {r}")
        # A verdict of another shape is an error naming the field.
        fake.mutate = lambda m, p, doc: {**doc, "verdict": {"passed": "yes", "thresholds": []}} \
            if p.startswith("/api/tests/t-") else doc
        expect_fail(client("start", "--count", "10", "--wait", url=fake.url), 1, "verdict")
    finally:
        fake.mutate = None


def check_commands(fake, tid):
    r = expect_ok(client("status", tid, url=fake.url))
    check(f"Test {tid}: COMPLETED" in r.out and "all " in r.out, f"status: {r}")
    r = expect_ok(client("status", tid, "--json", url=fake.url))
    check(json.loads(r.out)["test_id"] == tid, f"status --json: {r}")
    r = client("status", tid, "--threshold", "p99<1ms", url=fake.url)
    expect_fail(r, 1, "threshold")
    # A request name the test does not have: unknown, so not met.
    r = expect_fail(client("status", tid, "--threshold", "home:p95<1s", url=fake.url), 1,
                    "1 on a figure that is unknown")
    check("threshold home:p95<1s: unknown (the test has no request named home)" in r.out,
          f"status with a request name: {r}")
    r = client("--json", "status", tid, "--threshold", "home:p95<1s", "--threshold", "checks>99%",
               url=fake.url)
    doc = json.loads(r.out)
    check(r.rc == 1 and doc["thresholds"][0]["actual"] is None and
          doc["thresholds"][0]["passed"] is False and doc["thresholds"][1]["passed"] is True,
          f"status --json with a request name: {r}")
    r = expect_ok(client("list", url=fake.url))
    check(tid in r.out and "COMPLETED" in r.out, f"list: {r}")
    r = expect_ok(client("list", "--limit", "5", "--json", url=fake.url))
    check(any(t["test_id"] == tid for t in json.loads(r.out)["tests"]), f"list --json: {r}")
    check(fake.requests[-1]["path"] == "/api/tests?limit=5", "list --limit not sent")
    r = expect_ok(client("drivers", url=fake.url))
    for d in DRIVERS:
        check(d in r.out, f"drivers: {r}")
    doc = json.loads(expect_ok(client("drivers", "--json", url=fake.url)).out)
    check([d["node_id"] for d in doc["drivers"]] == DRIVERS and
          set(doc["drivers"][0]) == set(fake.drivers()["drivers"][0]), f"drivers --json: {doc}")
    # stop: a running test, then a finished one (409).
    r = expect_ok(client("start", "--count", "10", url=fake.url))
    new = r.out.split("Test ID: ")[1].strip()
    r = expect_ok(client("stop", new, url=fake.url))
    check(f"Stop sent to test {new} (state ABORTED)" in r.out, f"stop: {r}")
    expect_fail(client("stop", new, url=fake.url), 1, "409", "not running")
    r = expect_fail(client("status", new, url=fake.url), 1, "ended ABORTED")
    expect_fail(client("status", "t-none", url=fake.url), 1, "404", "no test t-none")
    expect_fail(client("status", "bad/id", url=fake.url), 2, "not a test id")
    # The environment names the orchestrator; the token goes out as a bearer.
    r = expect_ok(client("list", env={"DLT_ORCHESTRATOR": fake.url}))
    expect_ok(client("--api-token", "s3cret", "start", "--count", "5", url=fake.url))
    check(fake.requests[-1]["headers"].get("Authorization") == "Bearer s3cret",
          f"no bearer token: {fake.requests[-1]['headers']}")
    expect_ok(client("start", "--count", "5", url=fake.url, env={"DLT_API_TOKEN": "tok2"}))
    check(fake.requests[-1]["headers"].get("Authorization") == "Bearer tok2", "DLT_API_TOKEN")


def check_reports(fake, tid):
    tmp = tempfile.mkdtemp(prefix="dlt-client-report-")
    # JSON: the test object and its time series in one document.
    r = expect_ok(client("report", tid, "--format", "json", url=fake.url))
    doc = json.loads(r.out)
    check(doc["test"]["test_id"] == tid and doc["test"]["per_driver"], f"json report: {doc}")
    check(doc["timeseries"]["aggregate"] and set(doc["timeseries"]["drivers"]) == set(DRIVERS),
          "json report timeseries")
    # CSV: a header and the same columns on every row.
    out = os.path.join(tmp, "r.csv")
    r = expect_ok(client("report", tid, "--output", out, url=fake.url))  # format from the name
    check(f"written to {out}" in r.out, f"report --output: {r}")
    rows = list(csv.reader(open(out, newline="")))
    check(rows[0] == ["test_id", "series", "node_id", "t_ms", "requests_sent",
                      "responses_received", "errors", "rps", "p50_ms", "p90_ms", "p99_ms",
                      "mean_ms", "max_ms"], f"csv header {rows[0]}")
    check(all(len(row) == len(rows[0]) for row in rows), "csv rows of different lengths")
    ts = fake.timeseries(tid)
    n_points = len(ts["aggregate"]) + sum(len(v) for v in ts["drivers"].values())
    check(len(rows) == 1 + n_points, f"csv has {len(rows)} rows for {n_points} points")
    check({row[2] for row in rows[1:] if row[1] == "driver"} == set(DRIVERS), "csv drivers")
    # HTML: self-contained, and Chromium renders its charts.
    out = os.path.join(tmp, "r.html")
    expect_ok(client("report", tid, "--format", "html", "--output", out, url=fake.url))
    html = open(out).read()
    for ref in ("<script", "<link", "src=", "href=", "url(", "@import"):
        check(ref not in html, f"the HTML report refers to something outside itself ({ref})")
    dom = chromium_dom(out, screenshot=artifact("client-fake-report.png"))
    svgs = re.findall(r"<svg class=\"chart\"", dom)
    check(len(svgs) == 2 + len(DRIVERS), f"{len(svgs)} charts in the rendered page")
    lines = re.findall(r'<polyline class="series" data-series="([^"]+)"[^>]* points="([^"]+)"', dom)
    check(len(lines) >= 3 + 3 * 3, f"series drawn: {len(lines)}")
    check(all(len(p.split()) >= 1 for _, p in lines), "a series without points")
    check({"p50", "p90", "p99", "all drivers"} <= {n for n, _ in lines}, "series names")
    for d in DRIVERS:
        check(d in dom, f"driver {d} not in the page")
    # A bad format or output path is a usage error; nothing half-written.
    expect_fail(client("report", tid, "--format", "pdf", url=fake.url), 2, "unknown format")
    expect_fail(client("report", tid, "--output", "/nonexistent/dir/r.html", url=fake.url), 2,
                "cannot write")
    expect_fail(client("report", "t-none", "--output", os.path.join(tmp, "x.json"),
                       url=fake.url), 1, "404")
    check(sorted(os.listdir(tmp)) == ["r.csv", "r.html"], f"leftovers: {os.listdir(tmp)}")


def check_interactive_pipe(fake):
    r = expect_ok(client(input="2\n10\n0.5\n", url=fake.url))
    tid = fake.posted("/startLoadTest")[-1]
    check(tid == {"test_type": "TSUNAMI", "test_message_delay": 0.5,
                  "message_count_per_driver": 10}, f"/startLoadTest body {tid}")
    check(re.fullmatch(r"Load test started with Test ID: t-fake-\d+\n", r.out), f"out: {r}")
    expect_ok(client(input="1\n25\n", url=fake.url))
    check(fake.posted("/startLoadTest")[-1] == {"test_type": "AVALANCHE", "test_message_delay": 0,
                                               "message_count_per_driver": 25}, "avalanche body")
    n = len(fake.posted("/startLoadTest"))
    expect_fail(client(input="3\n", url=fake.url), 2, "not a test type")
    expect_fail(client(input="1\n-5\n", url=fake.url), 2, "messages per driver")
    expect_fail(client(input="2\n5\n", url=fake.url), 2, "end of input")
    expect_fail(client(url=fake.url), 2, "end of input")  # stdin is /dev/null
    check(len(fake.posted("/startLoadTest")) == n, "a bad answer still started a test")


def check_interrupt():
    """Ctrl-C while following stops the test and still prints its summary."""
    with FakeOrchestrator(duration=30) as fake:
        p = subprocess.Popen([binary("load-client"), "--orchestrator", fake.url, "start",
                              "--count", "100", "--wait"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not any(r["path"].endswith("/api/tests/t-fake-1") for r in fake.requests):
            check(time.time() < deadline and p.poll() is None, "the client never polled")
            time.sleep(0.05)
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
        out, err = out.decode(), err.decode()
        check(p.returncode == 1, f"exit {p.returncode}: {out}\n{err}")
        check(any(r["method"] == "POST" and r["path"] == "/api/tests/t-fake-1/stop"
                  for r in fake.requests), "no stop request after Ctrl-C")
        check("State: ABORTED" in out, f"no summary after Ctrl-C:\n{out}")
        lines = err.strip().splitlines()
        check(len(lines) == 2 and "stopping test t-fake-1" in lines[0] and
              "ended ABORTED" in lines[1], f"stderr after Ctrl-C: {err!r}")
        check(not any(m in err for m in ("AddressSanitizer", "runtime error:")), err)


def check_failed_test():
    with FakeOrchestrator(duration=0.6, final_state="FAILED",
                          reason="no driver could run the test") as fake:
        r = expect_fail(client("start", "--wait", url=fake.url), 1, "ended FAILED",
                        "no driver could run the test")
        check("State: FAILED" in r.out and "Reason: no driver could run the test" in r.out,
              f"summary of a failed test: {r}")
    with FakeOrchestrator(duration=0.6, final_state="PARTIAL", reason="d-fake-2 died") as fake:
        expect_fail(client("start", "--wait", "--threshold", "p99<1s", url=fake.url), 1,
                    "ended PARTIAL")


def check_error_paths():
    with FakeOrchestrator(token="right") as fake:
        expect_fail(client("start", url=fake.url), 1, "answered 401", "token")
        expect_fail(client("--api-token", "wrong", "stop", "t-x", url=fake.url), 1, "401")
        fake.mode = "500"
        for argv in (["list"], ["drivers"], ["status", "t-1"], ["start"], ["stop", "t-1"],
                     ["report", "t-1"]):
            expect_fail(client(*argv, url=fake.url), 1, "answered 500", "database is locked")
        expect_fail(client(input="1\n5\n", url=fake.url), 1, "answered 500")
        fake.mode = "badjson"
        for argv in (["list"], ["status", "t-1"], ["start", "--wait"]):
            expect_fail(client(*argv, url=fake.url), 1, "not JSON")
        fake.mode = "odd"  # JSON of another shape: one line naming the field, exit 1
        for argv, words in ((["list"], ["GET /api/tests is not as documented",
                                        "tests is a string, not an array"]),
                            (["drivers"], ["drivers is a number, not an array"]),
                            (["status", "t-1"], ["state is a number"]),
                            (["stop", "t-1"], ["POST /api/tests/t-1/stop", "state"]),
                            (["report", "t-1", "--format", "html"], ["state is a number"]),
                            (["report", "t-1", "--format", "csv"], ["state is a number"]),
                            (["--json", "status", "t-1"], ["state is a number"]),
                            (["start", "--wait"], ["POST /api/tests", "state is a number"])):
            r = expect_fail(client(*argv, url=fake.url), 1, *words)
            check(r.out == "", f"odd answer printed something: {r}")
        expect_fail(client(input="2\n5\n1\n", url=fake.url), 1, "POST /startLoadTest",
                    "message is null, not a string")
        fake.mode = "html"
        expect_fail(client("drivers", url=fake.url), 1, "answered 502", "Bad gateway")
        fake.mode = "huge"
        expect_fail(client("list", url=fake.url), 1, "over 64 MiB")
        fake.mode = "slow"
        r = expect_fail(client("--timeout", "1", "list", url=fake.url), 1, "did not answer within 1s")
        check(r.secs < 2.9, f"the timeout did not bound the call: {r.secs:.1f}s")
        r = expect_fail(client("list", "--http-timeout", "500ms", url=fake.url), 1,
                        "did not answer within 0.5s")
    # Nothing listens: a refused connection.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for argv in (["list"], ["start", "--wait"], ["status", "t-1"]):
        expect_fail(client(*argv, url=f"http://127.0.0.1:{port}"), 1,
                    f"cannot reach the orchestrator at http://127.0.0.1:{port}")
    expect_fail(client(input="1\n5\n", url=f"http://127.0.0.1:{port}"), 1, "cannot reach")
    # A bad URL is a usage error.
    for bad in ("ftp://x", "127.0.0.1:8080", "http://", "http://a b", ""):
        expect_fail(client("list", url=bad), 2, "--orchestrator")


def check_usage():
    for argv, words in ((["--bogus"], ["unknown option '--bogus'"]),
                        (["frobnicate"], ["unknown command 'frobnicate'"]),
                        (["start", "--type", "flood"], ["unknown test type 'flood'"]),
                        (["start", "--count"], ["--count needs a value"]),
                        (["start", "--count", "0"], ["--count"]),
                        (["start", "--type", "tsunami"], ["needs --delay"]),
                        (["start", "--delay", "1s"], ["tsunami only"]),
                        (["start", "extra"], ["unexpected argument"]),
                        (["status"], ["needs a test ID"]),
                        (["status", "a", "b"], ["unexpected argument 'b'"]),
                        (["report", "t-1", "--format"], ["needs a value"]),
                        (["list", "--limit", "0"], ["--limit"]),
                        (["--timeout", "soon", "list"], ["--timeout"]),
                        (["help", "nope"], ["unknown command 'nope'"])):
        expect_fail(client(*argv, url="http://127.0.0.1:9"), 2, *words)
    r = expect_ok(client("--help"))
    for word in ("start", "status", "list", "drivers", "stop", "report", "--orchestrator",
                 "default http://127.0.0.1:8080", "DLT_API_TOKEN", "--json", "--timeout",
                 "Exit status"):
        check(word in r.out, f"--help lacks {word!r}")
    r = expect_ok(client("start", "--help"))
    for word in ("--type", "--count", "--delay", "--url", "--method", "--header", "--body",
                 "--body-file", "--concurrency", "--rate", "--timeout", "--drivers",
                 "--min-drivers", "--report-interval", "--http2", "--wait", "--threshold",
                 "(default 100)", "(default 64)"):
        check(word in r.out, f"start --help lacks {word!r}")
    for cmd in ("status", "list", "drivers", "stop", "report"):
        r = expect_ok(client(cmd, "--help"))
        check(r.out.startswith(f"Usage: load-client {cmd}"), f"{cmd} --help: {r}")
        check(expect_ok(client("help", cmd)).out == r.out, f"help {cmd}")
    check(re.fullmatch(r"load-client \d+\.\d+\.\d+\n", expect_ok(client("--version")).out),
          "--version")


def main():
    check_usage()
    with FakeOrchestrator(duration=2.5) as fake:
        tid = check_start_wait(fake)
        log("start --wait ok:", tid)
        check_thresholds(fake)
        check_stored_verdict(fake)
        check_commands(fake, tid)
        check_reports(fake, tid)
        check_interactive_pipe(fake)
    check_interrupt()
    check_failed_test()
    check_error_paths()


if __name__ == "__main__":
    run_test(main)
