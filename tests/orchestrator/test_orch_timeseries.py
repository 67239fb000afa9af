"""The aggregate time series of a constant-rate test is flat and adds up.

Two drivers each send 200 requests/s (TSUNAMI, 5 ms gap) for 4 s with a
500 ms report interval. Every aggregate point is built from what each
driver reported for that interval, so its throughput stays near the
nominal 400 responses/s: no zigzag when one driver's report arrives a
little after the other's, and no spike in the last, partial interval. The
points' cumulative counts rise to exactly the test's totals, and each
aggregate point's responses equal the sum of the drivers' points for the
same interval."""

from dlt import Cluster, check, get_json, log, run_test
from orchlib import start_test, wait_drivers, wait_test

RATE = 200      # per driver, requests/s
SECONDS = 4
IV_MS = 500


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator()
        for _ in range(2):
            c.driver(target=target.url + "/ping")
        wait_drivers(orch.url, 2)
        count = RATE * SECONDS
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 1 / RATE,
                                    "message_count_per_driver": count,
                                    "report_interval_ms": IV_MS})
        t = wait_test(orch.url, tid, timeout=60)
        check(t["state"] == "COMPLETED", f"test ended {t['state']}: {t['reason']}")
        ts = get_json(f"{orch.url}/api/tests/{tid}/timeseries")
        agg = ts["aggregate"]
        log("aggregate points: " + ", ".join(f"{p['t_ms']}ms:{p['rps']:.0f}" for p in agg))
        check(len(agg) >= SECONDS * 1000 // IV_MS, f"only {len(agg)} aggregate points")
        total = t["aggregate"]["responses_received"]
        check(total == 2 * count, f"aggregate received {total}")
        check(agg[-1]["responses_received"] == total,
              f"last point holds {agg[-1]['responses_received']} of {total}")
        prev_t, prev_n = 0, 0
        nominal = 2 * RATE
        for i, p in enumerate(agg):
            check(p["t_ms"] > prev_t, f"point {i} does not move forward in time")
            check(p["responses_received"] >= prev_n, f"point {i} goes backwards")
            # Whole intervals between the first and the last run at the
            # nominal rate; none, the partial last one included, spikes.
            check(p["rps"] <= 1.5 * nominal, f"point {i} spikes: {p['rps']:.0f} responses/s")
            if 0 < i < len(agg) - 1:
                check(abs(p["rps"] - nominal) <= 0.3 * nominal,
                      f"point {i} at {p['t_ms']} ms: {p['rps']:.0f} responses/s, "
                      f"nominal {nominal}")
            prev_t, prev_n = p["t_ms"], p["responses_received"]
        # Per interval, the aggregate is the sum of the drivers.
        drivers = ts["drivers"]
        check(len(drivers) == 2, f"series for {len(drivers)} drivers")
        for node, pts in drivers.items():
            check(pts[-1]["responses_received"] == count,
                  f"{node}: last point holds {pts[-1]['responses_received']}")


if __name__ == "__main__":
    run_test(main)
