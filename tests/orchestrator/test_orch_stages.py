"""Durations and stages through the REST API on two real drivers:
- a TSUNAMI of two stages (a ramp from 0 to 200 requests/s over 2 s, then
  200/s for 2 s) is fleet-wide: the fleet sends exactly the area under the
  curve, 600 requests, split 300 and 300, as the target counts them, and
  the test ends with its last stage;
- an AVALANCHE given only a duration runs for that long on every driver,
  then ends COMPLETED;
- a count and a duration together: whichever comes first ends it;
- the config is stored as given ("2s" becomes 2), and what cannot end or
  mixes stages with a rate is refused with 400 and its reason."""

import time

from dlt import Cluster, check, log, run_test
from orchlib import get_test, post, start_test, target_count, wait_drivers, wait_test


def per_driver(t):
    return {d["node_id"]: d for d in t["per_driver"]}


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator("--heartbeat-timeout", "5s")
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)

        # Refused: nothing ends the test; stages with a rate; a bad stage.
        for body, want in (
                ({"test_type": "AVALANCHE"}, "duration"),
                ({"test_type": "TSUNAMI", "target_throughput": 10,
                  "stages": [{"duration": 1, "target": 5}]}, "stages set a TSUNAMI's rate"),
                ({"test_type": "AVALANCHE", "stages": [{"duration": 0, "target": 5}]},
                 "stage 1"),
                ({"test_type": "AVALANCHE", "stages": [{"duration": "1x", "target": 5}]},
                 "stage 1"),
                ({"test_type": "AVALANCHE", "stages": [{"duration": 1}]}, "target"),
                ({"test_type": "AVALANCHE", "duration": -1}, "duration")):
            status, doc = post(orch.url + "/api/tests", body)
            check(status == 400 and want in doc.get("error", ""), f"{body}: {status} {doc}")

        # A fleet-wide ramp.
        before = target_count(target.url)
        t0 = time.monotonic()
        tid = start_test(orch.url, {
            "test_type": "TSUNAMI", "report_interval_ms": 200,
            "stages": [{"duration": "2s", "target": 200}, {"duration": 2, "target": 200}]})
        t = wait_test(orch.url, tid, timeout=60)
        took = time.monotonic() - t0
        check(t["state"] == "COMPLETED", f"ramp: {t['state']} {t.get('reason')}")
        agg = t["aggregate"]
        check(agg["requests_sent"] == 600 and agg["responses_received"] == 600,
              f"ramp: the fleet sent {agg['requests_sent']}, not 600")
        sent = sorted(d["requests_sent"] for d in t["per_driver"])
        check(sent == [300, 300], f"ramp: per driver {sent}")
        check(target_count(target.url) - before == 600, "ramp: the target's count")
        check(t["config"]["stages"][0]["duration"] == 2, f"stored stages {t['config']['stages']}")
        check(3.9 <= took, f"ramp ended after {took:.2f}s, before its last stage")
        log(f"ramp: 600 requests, 300 + 300, in {took:.2f}s")

        # A duration alone.
        tid = start_test(orch.url, {"test_type": "AVALANCHE", "duration": "2s",
                                    "concurrency": 2})
        t = wait_test(orch.url, tid, timeout=60)
        check(t["state"] == "COMPLETED", f"duration: {t['state']} {t.get('reason')}")
        for node, d in per_driver(t).items():
            check(d["requests_sent"] > 0, f"duration: {node} sent nothing")
            # It stops sending at 2 s and waits for what is in flight.
            check(1900 <= d["elapsed_ms"] <= 2000 + 5000,
                  f"duration: {node} ran {d['elapsed_ms']} ms")
        check("message_count_per_driver" not in t["config"], f"config {t['config']}")
        log(f"duration: {t['aggregate']['requests_sent']} requests in 2 s")

        # A count and a duration: the count comes first.
        t0 = time.monotonic()
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "target_throughput": 100,
                                    "message_count_per_driver": 50, "duration": 60})
        t = wait_test(orch.url, tid, timeout=60)
        check(t["state"] == "COMPLETED" and t["aggregate"]["requests_sent"] == 100,
              f"count first: {t['state']} {t['aggregate']['requests_sent']}")
        check(time.monotonic() - t0 < 30, "count first: it waited for the duration")
        # The duration comes first.
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "target_throughput": 50,
                                    "message_count_per_driver": 1000, "duration": 1})
        t = wait_test(orch.url, tid, timeout=60)
        check(t["state"] == "COMPLETED", f"duration first: {t['state']} {t.get('reason')}")
        check(t["aggregate"]["requests_sent"] == 100,
              f"duration first: {t['aggregate']['requests_sent']} sent, not 2 x 50")
        for d in drivers:
            check(d.alive(), "a driver died")


if __name__ == "__main__":
    run_test(main)
