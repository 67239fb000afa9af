"""Live fleet-wide thresholds on 2 drivers:
1. POST /api/tests refuses a malformed threshold (400 naming it and the
   reason), a threshold on a request name the test does not have, more than
   32 thresholds, and a bad abort_on_fail; nothing is created.
2. With abort_on_fail, a threshold that breaks (p99 < 1 us) stops the whole
   fleet: the test ends ABORTED with the breach as its reason, every
   driver's run ends soon after the interval the breach was seen in (far
   before its count), and nothing reaches the target after that.
3. Without abort_on_fail, a breached threshold (errors<1% against a path
   the target answers 404) lets the test COMPLETE, with verdict
   passed=false and the figures; a threshold that holds says so.
   load-client start --wait exits 1 on such a verdict and 0 on one that
   passed; a test without thresholds has a null verdict.
4. The orchestrator starts on a store made before thresholds existed (the
   tests table without the new columns) and adds them; the verdicts stay
   after a restart."""

import json
import os
import re
import sqlite3
import subprocess
import time

from dlt import ARTIFACTS, Cluster, binary, check, get_json, log, run_test, wait_until
from orchlib import get_test, post, start_test, target_count, wait_drivers, wait_test

# A store of the schema before thresholds: the tests table as it was.
OLD_TESTS = (
    "CREATE TABLE tests (test_id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL,"
    " state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', config TEXT NOT NULL,"
    " min_drivers INTEGER NOT NULL DEFAULT 1, participants TEXT NOT NULL DEFAULT '[]',"
    " start_at_ms INTEGER, ended_ms INTEGER, summary TEXT, per_driver TEXT)")

RATE_DELAY = 0.002  # 500 requests/s per driver
LONG_COUNT = 60000  # 120 s per driver unless stopped


def refused(orch, body, *words):
    status, doc = post(orch.url + "/api/tests", body)
    check(status == 400, f"{body.get('thresholds')}: status {status}: {doc}")
    msg = (doc or {}).get("error", "")
    for w in words:
        check(w in msg, f"the error '{msg}' does not say '{w}'")
    log(f"refused: {msg}")


def main():
    os.makedirs(ARTIFACTS, exist_ok=True)
    db = os.path.join(ARTIFACTS, f"orchestrator-old-{os.getpid()}-{time.time_ns()}.db")
    con = sqlite3.connect(db)
    con.execute(OLD_TESTS)
    con.commit()
    con.close()
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator(db=db)
        cols = [r[1] for r in sqlite3.connect(db).execute("PRAGMA table_info(tests)")]
        check("thresholds" in cols and "verdict" in cols, f"columns after open: {cols}")
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)

        # 1: refused at creation.
        base = {"test_type": "TSUNAMI", "test_message_delay": 0.01,
                "message_count_per_driver": 10}
        refused(orch, {**base, "thresholds": ["p99<"]}, "p99<", "no value")
        refused(orch, {**base, "thresholds": ["p99<200ms", "p98<1s"]}, "p98<1s", "unknown metric")
        refused(orch, {**base, "thresholds": ["home:p95<100ms"]}, "home:p95<100ms", "\"home\"",
                "no request")
        refused(orch, {**base, "thresholds": ["checks>101%"]}, "checks>101%")
        refused(orch, {**base, "thresholds": [f"p99<{i + 1}ms" for i in range(33)]}, "32")
        refused(orch, {**base, "thresholds": "p99<200ms"}, "array")
        refused(orch, {**base, "thresholds": [5]}, "[0]", "string")
        refused(orch, {**base, "abort_on_fail": "yes"}, "abort_on_fail")
        status, doc = post(orch.url + "/startLoadTest", {**base, "thresholds": ["p99<1s"]})
        check(status == 400 and "/api/tests" in doc.get("error", ""), f"original: {status} {doc}")
        check(get_json(orch.url + "/api/tests")["tests"] == [], "a refused test was created")

        # 2: abort_on_fail stops the fleet.
        before = target_count(target.url)
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": RATE_DELAY,
                                    "message_count_per_driver": LONG_COUNT,
                                    "thresholds": ["p99<0.001ms", "errors<50%"],
                                    "abort_on_fail": True})
        live = wait_until(lambda: (lambda t: t if t["state"] in ("RUNNING", "ABORTED") and
                                   t["verdict"]["thresholds"][0]["value"] is not None
                                   else None)(get_test(orch.url, tid)),
                          timeout=60, what="a live verdict")
        check(live["thresholds"] == ["p99<0.001ms", "errors<50%"] and live["abort_on_fail"],
              f"test view: {live['thresholds']} {live['abort_on_fail']}")
        t = wait_test(orch.url, tid, timeout=90)
        log(f"ended {t['state']}: {t['reason']}")
        check(t["state"] == "ABORTED", f"{t['state']}: {t['reason']}")
        m = re.search(r"threshold p99<0\.001ms breached: p99 = ([0-9.]+) ms at ([0-9.]+) s",
                      t["reason"])
        check(m, f"reason: {t['reason']}")
        at_ms = float(m.group(2)) * 1000
        v = t["verdict"]
        check(v["passed"] is False and v["final"] is True, f"verdict {v}")
        check([x["expr"] for x in v["thresholds"]] == ["p99<0.001ms", "errors<50%"], f"{v}")
        check(v["thresholds"][0]["holds"] is False and v["thresholds"][0]["value"] > 0.001,
              f"{v}")
        check(v["thresholds"][1]["holds"] is True and v["thresholds"][1]["value"] < 50, f"{v}")
        # Each driver stopped soon after the interval of the breach: its run
        # ended within the point's grace (1 s) plus the trigger's way, with
        # a wide margin for a busy machine, and far before its count.
        for pd in t["per_driver"]:
            log(f"{pd['node_id']}: {pd['requests_sent']} sent, ran {pd['elapsed_ms']} ms, "
                f"breach interval ended at {at_ms} ms")
            check(pd["final"] and pd["failure"] == "aborted", f"driver {pd}")
            check(pd["requests_sent"] < LONG_COUNT / 4, f"driver ran on: {pd['requests_sent']}")
            check(pd["elapsed_ms"] <= at_ms + 1000 + 4000,
                  f"driver {pd['node_id']} ran {pd['elapsed_ms']} ms, breach at {at_ms} ms")
        served = target_count(target.url) - before
        check(served == t["aggregate"]["requests_sent"],
              f"target served {served}, test sent {t['aggregate']['requests_sent']}")
        time.sleep(1.5)
        check(target_count(target.url) - before == served, "requests reached the target after")
        aborted_view = t

        # 3: without abort_on_fail, the test completes, judged failed.
        tid2 = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.005,
                                     "message_count_per_driver": 200,
                                     "target_url": target.url + "/nope",
                                     "thresholds": ["errors<1%", "checks>99%", "p99<30s",
                                                    "sent>=400"]})
        t2 = wait_test(orch.url, tid2, timeout=60)
        check(t2["state"] == "COMPLETED", f"{t2['state']}: {t2['reason']}")
        check(t2["abort_on_fail"] is False, "abort_on_fail")
        v2 = t2["verdict"]
        log(f"verdict: {json.dumps(v2)}")
        check(v2["passed"] is False and v2["final"] is True, f"verdict {v2}")
        got = {x["expr"]: (x["holds"], x["value"]) for x in v2["thresholds"]}
        check(got["errors<1%"] == (False, 100), f"errors: {got}")
        check(got["checks>99%"] == (False, 0), f"checks: {got}")
        check(got["p99<30s"][0] is True and got["p99<30s"][1] > 0, f"p99: {got}")
        check(got["sent>=400"] == (True, 400), f"sent: {got}")

        # load-client start --wait: the exit status is the stored verdict's.
        def client(*args):
            r = subprocess.run([binary("load-client"), "--orchestrator", orch.url, *args],
                               capture_output=True, text=True, timeout=120,
                               stdin=subprocess.DEVNULL)
            log(f"load-client {' '.join(args)}: exit {r.returncode}\n{r.stdout[-400:]}"
                f"{r.stderr[-400:]}")
            return r
        r = client("start", "--type", "tsunami", "--count", "100", "--delay", "5ms", "--url",
                   target.url + "/nope", "--wait", "--threshold", "errors<1%",
                   "--threshold", "p99<30s")
        check(r.returncode == 1 and "1 of 2 thresholds breached" in r.stderr,
              f"client exit {r.returncode}: {r.stderr}")
        check("threshold errors<1%: FAIL" in r.stdout and "threshold p99<30s: PASS" in r.stdout,
              f"client verdict lines: {r.stdout}")
        tid_c = re.search(r"Test ID: (\S+)", r.stdout).group(1)
        vc = get_test(orch.url, tid_c)["verdict"]
        check(vc["passed"] is False and vc["final"], f"stored verdict of the client's test: {vc}")
        r = client("start", "--type", "tsunami", "--count", "100", "--delay", "5ms", "--wait",
                   "--threshold", "errors<1%", "--threshold", "checks>=99%")
        check(r.returncode == 0 and "threshold checks>=99%: PASS" in r.stdout,
              f"client exit {r.returncode}: {r.stdout} {r.stderr}")
        # From a file: thresholds and abort_on_fail as fields.
        path = os.path.join(ARTIFACTS, f"thresholds-{os.getpid()}.json")
        with open(path, "w") as f:
            json.dump({"test_type": "TSUNAMI", "test_message_delay": RATE_DELAY,
                       "message_count_per_driver": LONG_COUNT,
                       "thresholds": ["p99<0.001ms"], "abort_on_fail": True}, f)
        r = client("start", "-f", path, "--wait")
        tid_f = re.search(r"Test ID: (\S+)", r.stdout).group(1)
        tf = get_test(orch.url, tid_f)
        check(r.returncode == 1 and tf["state"] == "ABORTED" and
              "threshold p99<0.001ms breached" in tf["reason"] and
              tf["thresholds"] == ["p99<0.001ms"] and tf["abort_on_fail"],
              f"start -f: exit {r.returncode}, {tf['state']}: {tf['reason']}")
        check("threshold p99<0.001ms: FAIL" in r.stdout, f"start -f lines: {r.stdout}")
        r = client("start", "--threshold", "home:p95<1s")
        check(r.returncode == 1 and "home" in r.stderr and "no request" in r.stderr,
              f"client with a request name: {r.returncode} {r.stderr}")

        # A test without thresholds has no verdict.
        tid3 = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.005,
                                     "message_count_per_driver": 20})
        t3 = wait_test(orch.url, tid3, timeout=60)
        check(t3["state"] == "COMPLETED" and t3["verdict"] is None and t3["thresholds"] == [],
              f"no thresholds: {t3['state']} {t3['verdict']} {t3['thresholds']}")

        # A mix: thresholds on request names are judged on each request's
        # figures, merged over the fleet; checks on the drivers' checks.
        tid4 = start_test(orch.url, {
            "test_type": "TSUNAMI", "test_message_delay": 0.005, "message_count_per_driver": 200,
            "requests": [{"name": "home", "url": target.url + "/ping", "weight": 3},
                         {"name": "gone", "url": target.url + "/nothere"}],
            "thresholds": ["home:errors<1%", "gone:errors<1%", "home:p99<5s", "checks<90%"]})
        t4 = wait_test(orch.url, tid4, timeout=60)
        got = {x["expr"]: x for x in t4["verdict"]["thresholds"]}
        br = t4["aggregate"]["by_request"]
        check(t4["state"] == "COMPLETED" and got["home:errors<1%"]["holds"] and
              got["home:errors<1%"]["value"] == 0 and not got["gone:errors<1%"]["holds"] and
              got["gone:errors<1%"]["value"] == 100 and got["home:p99<5s"]["holds"] and
              got["checks<90%"]["holds"] and not t4["verdict"]["passed"],
              f"by-name thresholds: {t4['state']} {t4['verdict']}")
        check(br["home"]["requests_sent"] + br["gone"]["requests_sent"] == 400 and
              br["gone"]["errors"] == br["gone"]["requests_sent"],
              f"by_request: {br}")
        r = client("status", tid4, "--threshold", "home:errors<1%", "--threshold",
                   "gone:errors<1%")
        check(r.returncode == 1 and "threshold home:errors<1%: PASS" in r.stdout and
              "threshold gone:errors<1%: FAIL" in r.stdout,
              f"status with request thresholds: {r.returncode} {r.stdout}")

        listed = {x["test_id"]: x for x in get_json(orch.url + "/api/tests")["tests"]}
        check(listed[tid2]["verdict"] == v2, "the list's verdict differs")

        # 4: stored, and still there after a restart.
        rows = dict(sqlite3.connect(db).execute("SELECT test_id, verdict FROM tests"))
        check(json.loads(rows[tid]) == v and json.loads(rows[tid2]) == v2,
              f"stored verdicts: {rows}")
        check(orch.stop() == 0, "orchestrator exit status")
        orch = c.orchestrator(db=db)
        a = get_test(orch.url, tid)
        check(a["verdict"] == v and a["reason"] == aborted_view["reason"] and
              a["state"] == "ABORTED", f"after restart: {a['state']} {a['verdict']}")
        check(get_test(orch.url, tid2)["verdict"] == v2, "verdict of the completed test changed")
        check(all(d.alive() for d in drivers), "a driver died")


if __name__ == "__main__":
    run_test(main)
