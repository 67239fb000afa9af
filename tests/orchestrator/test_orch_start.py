"""load-orchestrator: POST /startLoadTest with the original client's body
runs a test on two real drivers to COMPLETED. The aggregate counts equal the
sum of the drivers' and the target's own count of requests; every driver's
final report is in; the time series has points; the test also shows in the
list and in /metrics. Bad options exit 2 with one line."""

import os
import subprocess
import time

from dlt import BUILD, Cluster, check, get_json, http, log, run_test, wait_until
from orchlib import get_test, target_count, wait_drivers, wait_test

COUNT = 3000


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator("--heartbeat-timeout", "5s")
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)
        before = target_count(target.url)

        body = {"test_type": "AVALANCHE", "test_message_delay": 0,
                "message_count_per_driver": COUNT}
        t0 = time.time()
        status, _, raw = http("POST", orch.url + "/startLoadTest", body=body)
        import json
        doc = json.loads(raw)
        check(status == 200, f"startLoadTest -> {status} {doc}")
        tid = doc["test_id"]
        check(doc["message"] == f"Load test started with Test ID: {tid}", f"message: {doc}")
        log(f"POST answered in {time.time() - t0:.3f}s: {tid}")

        # Time from the POST to the first request at the target.
        wait_until(lambda: target_count(target.url) > before, timeout=15, interval=0.02,
                   what="first request at the target")
        log(f"first request at the target {time.time() - t0:.3f}s after the POST")

        t = wait_test(orch.url, tid, timeout=60)
        log(f"test {t['state']} {time.time() - t0:.2f}s after the POST; reason {t['reason']!r}")
        check(t["state"] == "COMPLETED", f"state {t['state']}: {t['reason']}")
        check(sorted(t["drivers"]) == sorted(d.node_id for d in drivers),
              f"participants {t['drivers']}")
        agg = t["aggregate"]
        check(agg["requests_sent"] == 2 * COUNT, f"aggregate requests_sent {agg['requests_sent']}")
        check(agg["responses_received"] == 2 * COUNT,
              f"aggregate responses_received {agg['responses_received']}")
        check(agg["errors"] == 0, f"errors {agg['errors']}")
        check(agg["status_codes"].get("200") == 2 * COUNT, f"status codes {agg['status_codes']}")
        served = target_count(target.url) - before
        check(agg["requests_sent"] == served,
              f"aggregate {agg['requests_sent']} != target's count {served}")
        check(t["approximate"] is False, "approximate with histograms from every driver")
        check(t["start_skew_ms"] is not None and t["start_skew_ms"] < 1000,
              f"start skew {t['start_skew_ms']}")
        lat = agg["latency_ms"]
        check(0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"],
              f"latency order {lat}")
        for pd in t["per_driver"]:
            check(pd["final"] is True, f"{pd['node_id']} has no final report")
            check(pd["requests_sent"] == COUNT, f"{pd['node_id']} sent {pd['requests_sent']}")
            check(pd["liveness"] == "alive", f"{pd['node_id']} is {pd['liveness']}")
        check(sum(pd["responses_received"] for pd in t["per_driver"]) ==
              agg["responses_received"], "per-driver responses do not add up")

        ts = get_json(f"{orch.url}/api/tests/{tid}/timeseries")
        check(len(ts["aggregate"]) >= 1, f"no aggregate points: {ts}")
        check(ts["aggregate"][-1]["responses_received"] == 2 * COUNT,
              f"last aggregate point {ts['aggregate'][-1]}")
        for d in drivers:
            pts = ts["drivers"].get(d.node_id, [])
            check(pts and pts[-1]["responses_received"] == COUNT, f"{d.node_id} points {pts}")

        listed = get_json(orch.url + "/api/tests")["tests"]
        check(listed and listed[0]["test_id"] == tid and "per_driver" not in listed[0],
              f"list: {listed[:1]}")
        prom = http("GET", orch.url + "/metrics")[2].decode()
        check('dlt_tests{state="COMPLETED"} 1' in prom, "metrics lack the completed test")
        check('dlt_drivers{liveness="alive"} 2' in prom, "metrics lack two alive drivers")

        # A second start while one runs is refused with the running id.
        tid2 = get_json(orch.url + "/api/tests")["tests"][0]["test_id"]
        check(tid2 == tid, "newest first")
        st, _, raw = http("POST", orch.url + "/api/tests",
                          body={"test_type": "TSUNAMI", "test_message_delay": 0.01,
                                "message_count_per_driver": 300})
        running = json.loads(raw)["test_id"]
        check(st == 201, f"second test -> {st}")
        st, _, raw = http("POST", orch.url + "/startLoadTest", body=body)
        check(st == 409 and running in json.loads(raw)["error"], f"conflict -> {st} {raw!r}")
        t = wait_test(orch.url, running, timeout=30)
        check(t["state"] == "COMPLETED", f"second test {t['state']}: {t['reason']}")

    exe = os.path.join(BUILD, "src/orchestrator/load-orchestrator")
    for argv in (["--listen", "nowhere"], ["--heartbeat-timeout", "soon"], ["--bogus"],
                 ["--heartbeat-timeout", "1s", "--heartbeat-interval", "2s"],
                 ["--max-body", "-1"], ["stray"], ["--api-token", ""]):
        r = subprocess.run([exe, *argv], capture_output=True, timeout=10)
        err = r.stderr.decode().strip()
        check(r.returncode == 2, f"{argv}: exit {r.returncode}")
        check(len(err.splitlines()) == 1 and err.startswith("load-orchestrator: "),
              f"{argv}: {err!r}")
    r = subprocess.run([exe, "--help"], capture_output=True, timeout=10)
    check(r.returncode == 0 and b"--heartbeat-timeout" in r.stdout and b"seconds" in r.stdout,
          "--help")


if __name__ == "__main__":
    run_test(main)
