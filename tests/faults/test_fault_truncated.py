"""Runs that did not run to their end are never called COMPLETED, reports
are believed only within what the test allows, and an orchestrator that
did not run for a while judges nobody by that silence.

1. The orchestrator is frozen (SIGSTOP) for 15 s in the middle of a test,
   then let go (SIGCONT): nobody is declared dead (the drivers heartbeated
   all along; the silence was the orchestrator's own), and the test ends
   COMPLETED with exact counts.
2. An ABORT trigger that the orchestrator did not send (kcat) stops the
   drivers mid-test: the test ends ABORTED, its reason says that the ABORT
   did not come from the orchestrator, and the counts are what was sent.
3. A driver stopped (SIGTERM) mid-test sends a final report short of its
   count: the test ends PARTIAL, with that driver, its count and its reason.
4. Forged reports for a running test, keyed as a participant: 10^12
   requests for a 1500-per-driver test, more responses than requests, a
   seq far ahead of the elapsed time, a mean below the min. Each is
   rejected (dlt_kafka_rejected_total{topic="metrics"} counts them), none
   is stored or counted, and the test ends COMPLETED with exact counts."""

import json
import re
import time

from dlt import Cluster, check, http, kcat_produce, log, run_test, wait_until
from faultlib import check_exact, proc_state, target_total
from orchlib import get_test, start_test, wait_drivers, wait_test

HB_TIMEOUT = 3.0


def rejected_metrics(orch):
    text = http("GET", orch.url + "/metrics")[2].decode()
    m = re.search(r'^dlt_kafka_rejected_total\{topic="metrics"\} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator("--heartbeat-timeout", f"{HB_TIMEOUT}s")
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)

        # 1. The orchestrator frozen for 15 s.
        before = target_total(target)
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.005,
                                    "message_count_per_driver": 4000})  # 20 s per driver
        wait_until(lambda: get_test(orch.url, tid)["aggregate"]["responses_received"] >= 200,
                   timeout=20, interval=0.05, what="the test under way")
        orch.signal(19)
        wait_until(lambda: proc_state(orch.p.pid) == "T", timeout=5, what="orchestrator stopped")
        time.sleep(15)
        orch.signal(18)
        log("orchestrator let go after 15 s")
        t = wait_test(orch.url, tid, timeout=60)
        check_exact(t, target_total(target) - before, 2, 4000, "after a frozen orchestrator")
        text = orch.stderr_text()
        check("declared dead" not in text, "a driver was declared dead after the freeze")
        check("did not run for" in text, "the orchestrator did not notice its own freeze")

        # 2. A forged ABORT.
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.005,
                                    "message_count_per_driver": 800})
        wait_until(lambda: get_test(orch.url, tid)["aggregate"]["responses_received"] >= 200,
                   timeout=20, interval=0.05, what="the second test under way")
        kcat_produce(c.kafka, "trigger", json.dumps({"test_id": tid, "trigger": "ABORT"}), key=tid)
        t = wait_test(orch.url, tid, timeout=30)
        log(f"forged ABORT: {t['state']}: {t['reason']}")
        check(t["state"] == "ABORTED", f"forged ABORT: state {t['state']}: {t['reason']}")
        check("did not send" in t["reason"], f"reason: {t['reason']}")
        sent = t["aggregate"]["requests_sent"]
        check(0 < sent < 1600, f"forged ABORT: {sent} sent")

        # 3. A driver stopped mid-test.
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.005,
                                    "message_count_per_driver": 600})
        wait_until(lambda: get_test(orch.url, tid)["aggregate"]["responses_received"] >= 200,
                   timeout=20, interval=0.05, what="the third test under way")
        quitter = drivers[1]
        quitter.signal(15)
        rc = quitter.p.wait(20)
        quitter.killed = True
        check(rc == 0, f"the stopped driver exited {rc}")
        t = wait_test(orch.url, tid, timeout=30)
        log(f"driver stopped: {t['state']}: {t['reason']}")
        check(t["state"] == "PARTIAL", f"stopped driver: state {t['state']}: {t['reason']}")
        check(quitter.node_id in t["reason"] and "of 600 requests" in t["reason"] and
              "driver shutting down" in t["reason"], f"reason: {t['reason']}")

        # 4. Forged reports.
        drivers[1] = c.driver(target=target.url + "/ping")
        wait_drivers(orch.url, 2)
        before = target_total(target)
        rej0 = rejected_metrics(orch)
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.004,
                                    "message_count_per_driver": 1500})  # 6 s per driver
        wait_until(lambda: get_test(orch.url, tid)["aggregate"]["responses_received"] >= 100,
                   timeout=20, interval=0.05, what="the fourth test under way")
        victim = drivers[0].node_id
        lat = {"mean_latency": 1.0, "median_latency": 1.0, "min_latency": 0.5,
               "max_latency": 2.0}
        forged = [
            dict(seq=1, requests_sent=10**12, responses_received=10**12),
            dict(seq=2, requests_sent=100, responses_received=200),
            dict(seq=100000, requests_sent=100, responses_received=100),
            dict(seq=3, requests_sent=100, responses_received=100,
                 lat={"mean_latency": 0.1, "median_latency": 1.0, "min_latency": 0.5,
                      "max_latency": 2.0}),
        ]
        for i, f in enumerate(forged):
            msg = {"node_id": victim, "test_id": tid, "report_id": f"forged-{i}",
                   "metrics": f.pop("lat", lat), "errors": 0, "final": False, **f}
            kcat_produce(c.kafka, "metrics", json.dumps(msg), key=victim)
        t = wait_test(orch.url, tid, timeout=40)
        check_exact(t, target_total(target) - before, 2, 1500, "with forged reports")
        rej = rejected_metrics(orch) - rej0
        check(rej == len(forged), f"{rej} forged report(s) rejected, not {len(forged)}")
        check("implausible report forged-" in orch.stderr_text(), "no rejection logged")
        for p in [orch, target, *drivers]:
            check(p.alive(), f"{p.name} died")


if __name__ == "__main__":
    run_test(main)
