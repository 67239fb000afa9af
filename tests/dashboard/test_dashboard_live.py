"""The dashboard in headless Chromium against the real system (load-broker,
target-server, load-orchestrator, two load-drivers): both drivers are shown
alive; the form refuses bad input itself and shows the orchestrator's own
reason for a 400; a TSUNAMI started from the form (a delay with a unit, a
header, every option that changes the run) is sent as configured, its sent
counter rises live, its row ends COMPLETED and its statistics and charts
match the API; a test is stopped with the stop button; a test whose
threshold breaks with abort_on_fail shows its verdict and the breach as its
reason; the page reads at
1400x900 and 390x844 (screenshots in the test artifacts)."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dashlib import (JS_STATS, artifact, fill_form, number, open_dashboard,  # noqa: E402
                     start_drivers, submit, wait_test_state)
from dlt import Cluster, check, get_json, http, log, run_test  # noqa: E402

COUNT = 800  # per driver; at 10 ms a request, 8 s


def check_client_validation(b, orch):
    fill_form(b, count="0", url="")
    submit(b)
    msg = b.wait("() => document.querySelector('.field-error[data-for=count]')?.textContent",
                 what="an error on the count field")
    check("1..1,000,000,000" in msg, f"count error: {msg!r}")
    fill_form(b, count="10", delay="soon")
    submit(b)
    b.wait("() => document.querySelector('.field-error[data-for=delay]')", what="delay error")
    check(b.eval("() => !document.querySelector('.field-error[data-for=count]')"),
          "the fixed count field still shows its error")
    fill_form(b, delay="0.01", headers="not a header line")
    submit(b)
    b.wait("() => document.querySelector('.field-error[data-for=headers]')", what="headers error")
    fill_form(b, headers="", report="5ms")
    submit(b)
    b.wait("() => document.querySelector('.field-error[data-for=report]')", what="report error")
    fill_form(b, report="")
    tests = get_json(orch.url + "/api/tests")["tests"]
    check(tests == [], f"the form sent a test it should have refused: {tests}")


def check_server_reason(b, orch, target):
    """A node id the orchestrator has never seen passes the form's checks;
    the orchestrator's 400 reason is shown as it gave it."""
    cfg = {"test_type": "TSUNAMI", "message_count_per_driver": 10, "test_message_delay": 0.01,
           "target_url": target.url + "/ping", "drivers": ["d-nobody"]}
    status, _, body = http("POST", orch.url + "/api/tests", cfg)
    check(status == 400, f"API answered {status} for an unknown driver")
    reason = json.loads(body)["error"]
    fill_form(b, count="10", delay="0.01", url=target.url + "/ping", drivers="d-nobody")
    submit(b)
    shown = b.wait("() => { const e = document.getElementById('form-error'); "
                   "return !e.hidden && e.textContent; }", what="the form's error box")
    check(reason in shown and "400" in shown, f"page shows {shown!r}, API said {reason!r}")
    fill_form(b, drivers="")


def watch_sent(b, test_id):
    """The aggregate sent counter of the running test rises at least twice
    within 3 s. The 3 s start at a rise, so that they hold whole update
    intervals (the orchestrator sends a running test at least once a second)."""
    samples = b.eval("""async () => {
        const cell = () => document.querySelector(
          '#stats-table tr[data-node=all] td[data-k=requests_sent]');
        const value = () => { const c = cell(); const t = c ? c.textContent.replace(/,/g, '') : '';
          return /^[0-9]+$/.test(t) ? Number(t) : null; };
        const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
        let t0 = performance.now();
        while (!(value() > 0)) {
          if (performance.now() - t0 > 60000) return {error: 'no request sent in 60 s'};
          await sleep(20);
        }
        const first = value();
        t0 = performance.now();
        while (value() === first) {
          if (performance.now() - t0 > 10000) return {error: `stuck at ${first} for 10 s`};
          await sleep(20);
        }
        const out = [[0, value()]];
        t0 = performance.now();
        while (performance.now() - t0 < 3000) {
          await sleep(20);
          const v = value();
          if (v !== out[out.length - 1][1]) out.push([Math.round(performance.now() - t0), v]);
        }
        return {first, out};
    }""", timeout=120)
    check("error" not in samples, f"sent counter: {samples.get('error')}")
    values = [v for _, v in samples["out"]]
    rises = sum(1 for a, b_ in zip(values, values[1:]) if b_ > a)
    log(f"sent counter from {samples['first']}: (ms, value) {samples['out']}, {rises} rises in 3 s")
    check(rises >= 2, f"the sent counter rose {rises} times in 3 s: {samples['out']}")
    check(values == sorted(values), "the sent counter went down")
    # The driver table shows the drivers running the test meanwhile.
    b.wait("(id) => [...document.querySelectorAll('#drivers-table tbody tr')].some((tr) => "
           "tr.querySelector('[data-k=test]').textContent === id)", test_id, timeout=10,
           what="a driver shown running the test")


def check_completed(b, orch, test_id, ds):
    wait_test_state(b, test_id, "COMPLETED", timeout=90)
    test = get_json(f"{orch.url}/api/tests/{test_id}")
    check(test["state"] == "COMPLETED", f"API says {test['state']}")
    b.wait("() => document.getElementById('detail').dataset.state === 'COMPLETED'",
           what="the detail shows COMPLETED")
    stats = b.wait(f"""() => {{ const s = ({JS_STATS})();
        return s.all && s.all.requests_sent === '{2 * COUNT:,}' ? s : false; }}""",
                   what="final statistics")
    check(set(stats) == {"all"} | {d.node_id for d in ds}, f"stats rows {sorted(stats)}")
    agg = test["aggregate"]
    check(number(stats["all"]["responses_received"]) == agg["responses_received"] == 2 * COUNT,
          f"received {stats['all']} vs {agg}")
    check(number(stats["all"]["errors"]) == agg["errors"] == 0, "errors")
    # Latencies are the API's, in ms, to the shown precision.
    for k in ("min", "median", "p90", "p99", "max"):
        shown, real = float(stats["all"][k].replace(",", "")), agg["latency_ms"][k]
        check(abs(shown - real) <= max(0.0011, real * 0.01), f"{k}: page {shown} vs API {real}")
    for pd in test["per_driver"]:
        row = stats[pd["node_id"]]
        check(number(row["requests_sent"]) == pd["requests_sent"] == COUNT, f"row {row} vs {pd}")
    # The configuration as sent: the delay in seconds, units converted.
    cfg = test["config"]
    check(cfg["test_type"] == "TSUNAMI" and abs(cfg["test_message_delay"] - 0.01) < 1e-9 and
          cfg["report_interval_ms"] == 250 and cfg["timeout_ms"] == 5000 and
          cfg["concurrency"] == 16 and cfg["headers"] == {"X-Dlt-Test": "dashboard"} and
          cfg["method"] == "GET" and test["min_drivers"] == 2, f"config {cfg}")
    shown = b.eval("() => document.querySelector('#detail-config [data-k=test_message_delay]')"
                   ".textContent")
    check(shown.startswith("0.01 s") and "seconds" in shown, f"delay shown as {shown!r}")
    # The charts: throughput of all drivers and each, latencies of all and one.
    series = get_json(f"{orch.url}/api/tests/{test_id}/timeseries")
    charts = b.wait("""(n) => { const c = (id) => document.getElementById(id);
        const r = {}; for (const id of ['chart-rps', 'chart-lat', 'chart-lat-driver']) {
          if (!c(id).querySelector('canvas')) return false;
          r[id] = [Number(c(id).dataset.series), Number(c(id).dataset.points)]; }
        return r['chart-lat'][1] === n && r; }""", len(series["aggregate"]),
                    what="three charts drawn with every point")
    log(f"charts (series, points): {charts}")
    check(charts["chart-rps"][0] == 3, f"throughput series {charts['chart-rps']}")
    check(charts["chart-rps"][1] >= len(series["aggregate"]) >= 4,
          f"throughput points {charts['chart-rps']} vs {len(series['aggregate'])} in the API")
    check(charts["chart-lat"] == [3, len(series["aggregate"])], f"latency chart {charts}")
    check(charts["chart-lat-driver"][0] == 3 and charts["chart-lat-driver"][1] >= 4,
          f"driver latency chart {charts}")
    return test


def check_layout(b, test_id):
    b.eval("() => window.scrollTo(0, 0)")
    b.call("viewport", width=1400, height=900)
    time.sleep(0.5)
    wide = b.screenshot(artifact("dashboard-1400x900.png"))
    # Wide: drivers above, tests and form on the left, the test on the right.
    box = b.eval("""() => { const r = (id) => document.getElementById(id).getBoundingClientRect();
        return {tests: r('tests-card').x, detail: r('detail').x, docw: document.documentElement.scrollWidth}; }""")
    check(box["detail"] > box["tests"] + 300 and box["docw"] <= 1400, f"wide layout {box}")
    b.call("viewport", width=390, height=844)
    time.sleep(0.8)
    narrow = b.screenshot(artifact("dashboard-390x844.png"))
    b.screenshot(artifact("dashboard-390x844-full.png"), full_page=True)
    # Narrow: one column, nothing wider than the screen but the scrolling tables.
    box = b.eval("""() => { const r = (id) => document.getElementById(id).getBoundingClientRect();
        const charts = [...document.querySelectorAll('.chart canvas')].map((c) => c.getBoundingClientRect().right);
        return {tests: r('tests-card').x, detail: r('detail').x, docw: document.documentElement.scrollWidth,
                chartRight: Math.max(...charts)}; }""")
    check(box["docw"] <= 390 and abs(box["tests"] - box["detail"]) < 2 and box["chartRight"] <= 390,
          f"narrow layout {box}")
    b.call("viewport", width=1400, height=900)
    return wide, narrow


def check_stop(b, orch, target):
    # A closed-loop test of many minutes at 20 requests/s: stopped by hand.
    fill_form(b, test_type="AVALANCHE", count="100000", delay="", rate="20",
              url=target.url + "/ping", concurrency="", timeout="", report="", min_drivers="")
    submit(b)
    test_id = b.wait("() => { const s = document.getElementById('form-status').textContent; "
                     "return s.startsWith('started ') && s.slice(8); }", what="test started")
    wait_test_state(b, test_id, "RUNNING", timeout=60)
    b.wait("() => !document.getElementById('stop-btn').hidden", what="a stop button")
    b.click("#stop-btn")
    wait_test_state(b, test_id, "ABORTED", timeout=60)
    check(get_json(f"{orch.url}/api/tests/{test_id}")["state"] == "ABORTED", "API state")
    check(b.eval("() => document.getElementById('stop-btn').hidden"),
          "the stop button is still shown for a test that is over")


def check_verdict(b, orch, target):
    """A test with thresholds shows their verdict; one that breaks with
    abort_on_fail ends ABORTED with the breach as its reason."""
    body = {"test_type": "TSUNAMI", "test_message_delay": 0.002, "message_count_per_driver": 50000,
            "target_url": target.url + "/ping", "thresholds": ["p99<0.001ms", "errors<50%"],
            "abort_on_fail": True}
    status, _, data = http("POST", orch.url + "/api/tests", body=body)
    check(status == 201, f"POST /api/tests -> {status}: {data}")
    test_id = json.loads(data)["test_id"]
    b.wait("(id) => document.querySelector(`#tests-table tr[data-test-id=\"${id}\"]`)", test_id,
           what="the test listed")
    b.click(f'#tests-table tr[data-test-id="{test_id}"]')
    wait_test_state(b, test_id, "ABORTED", timeout=90)
    shown = b.wait("""() => { const box = document.getElementById('verdict');
        if (box.hidden) return false;
        const items = [...document.querySelectorAll('#verdict-list li')].map((li) =>
            [li.dataset.expr, li.dataset.holds, li.textContent]);
        const badge = document.getElementById('verdict-badge').textContent;
        return badge === 'failed' && items.length === 2 ? {items, badge,
            reason: document.getElementById('detail-reason').textContent} : false; }""",
                   what="the verdict shown")
    log(f"verdict shown: {shown}")
    b.eval("() => document.getElementById('verdict').scrollIntoView({block: 'center'})")
    b.screenshot(artifact("dashboard-verdict.png"))
    check(shown["items"][0][:2] == ["p99<0.001ms", "false"] and "breached" in shown["items"][0][2],
          f"the breached threshold: {shown}")
    check(shown["items"][1][:2] == ["errors<50%", "true"] and "holds" in shown["items"][1][2],
          f"the threshold that held: {shown}")
    check("threshold p99<0.001ms breached" in shown["reason"], f"reason shown: {shown}")


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator("--heartbeat-timeout", "3s")
        ds = start_drivers(c, target, 2)
        b = open_dashboard(c, orch.url, ds)
        log("both drivers shown alive")

        check_client_validation(b, orch)
        check_server_reason(b, orch, target)
        log("the form's checks and the orchestrator's 400 reason are shown")

        fill_form(b, test_type="TSUNAMI", count=str(COUNT), delay="10ms", rate="",
                  url=target.url + "/ping", method="GET", concurrency="16", timeout="5s",
                  report="250ms", headers="X-Dlt-Test: dashboard", min_drivers="2")
        hint = b.eval("() => document.getElementById('delay-hint').textContent")
        check(hint.startswith("= 0.01 s"), f"delay hint {hint!r}")
        submit(b)
        test_id = b.wait("() => { const s = document.getElementById('form-status').textContent; "
                         "return s.startsWith('started ') && s.slice(8); }", what="test started")
        log(f"started {test_id} from the form")
        b.wait("(id) => document.getElementById('detail-id').textContent === id", test_id,
               what="the new test selected")
        watch_sent(b, test_id)
        check_completed(b, orch, test_id, ds)
        log("COMPLETED, statistics and charts match the API")
        check_layout(b, test_id)
        check_stop(b, orch, target)
        log("stopped a test with the stop button")
        check_verdict(b, orch, target)
        log("the thresholds' verdict is shown")
        errors = b.page_errors()
        check(errors == [], f"the page threw: {errors}")


if __name__ == "__main__":
    run_test(main)
