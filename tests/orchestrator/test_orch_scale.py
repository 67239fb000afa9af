"""load-orchestrator with 64 real drivers: all are registered and alive, a
test runs on all 64 with one start (small start skew) and exact counts,
every driver has its time series, and the API keeps answering quickly
while it runs."""

import os
import statistics
import time

from dlt import ARTIFACTS, Cluster, binary, check, get_json, log, run_test
from orchlib import get_test, start_test, target_count, wait_drivers

N = 64
COUNT = 150
DELAY = 0.02  # 3 s per driver


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator()
        t0 = time.time()
        procs = []
        for i in range(N):
            db = os.path.join(ARTIFACTS, f"scale-driver-{os.getpid()}-{i}.db")
            procs.append(c.start("load-driver", [binary("load-driver"), "--kafka", c.kafka,
                                                 "--target", target.url + "/ping", "--db", db]))
        ids = [p.wait_line("ready ", 120).split("node_id=")[1].split()[0] for p in procs]
        wait_drivers(orch.url, N, timeout=60)
        log(f"{N} drivers alive {time.time() - t0:.1f}s after their start")

        before = target_count(target.url)
        t0 = time.time()
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                    "message_count_per_driver": COUNT})
        lat = []
        while time.time() - t0 < 90:
            a = time.perf_counter()
            t = get_test(orch.url, tid)
            lat.append(time.perf_counter() - a)
            if t["state"] not in ("CREATED", "CONFIGURED", "RUNNING"):
                break
            time.sleep(0.1)
        log(f"{t['state']} {time.time() - t0:.1f}s after the POST; GET /api/tests/ID median "
            f"{statistics.median(lat) * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms; "
            f"start skew {t['start_skew_ms']} ms")
        check(t["state"] == "COMPLETED", f"state {t['state']}: {t['reason']}")
        check(sorted(t["drivers"]) == sorted(ids), "not every driver took part")
        # Every request is accounted for: answered, or failed with a kind.
        # The target counts what it read: under overload a request can time
        # out at the driver before the target ever reads it.
        agg = t["aggregate"]
        served = target_count(target.url) - before
        kinds = agg["error_kinds"]
        unanswered = kinds["connect"] + kinds["timeout"] + kinds["other"]
        log(f"sent {agg['requests_sent']}, answered {agg['responses_received']}, "
            f"unanswered {unanswered}, target {served}")
        check(agg["requests_sent"] == N * COUNT == agg["responses_received"] + unanswered,
              f"counts {agg['requests_sent']} = {agg['responses_received']} + {unanswered}")
        check(agg["responses_received"] <= served <= agg["requests_sent"],
              f"the target served {served}")
        check(t["start_skew_ms"] is not None and t["start_skew_ms"] < 1000,
              f"start skew {t['start_skew_ms']}")
        check(statistics.median(lat) < 0.5, "the API answers slowly under 64 drivers")
        ts = get_json(f"{orch.url}/api/tests/{tid}/timeseries")
        check(len(ts["drivers"]) == N and all(len(v) >= 2 for v in ts["drivers"].values()),
              "a driver lacks its time series")


if __name__ == "__main__":
    run_test(main)
