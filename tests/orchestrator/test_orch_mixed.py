"""load-orchestrator with a mixed fleet: a real load-driver and a driver
that speaks only the original format (fakedriver.py --mode original: no
state in its heartbeats, never READY, one report at the end with the four
latency figures and no seq, counts or histogram). The original driver
counts as ready once configured (it starts on the config and never says
READY), so the trigger is not held back for it: no "ready wait timed out".
The test completes, the aggregate is marked approximate, its min and max
are exact and the counts add up to what the target served. An orchestrator
stopped while such a test runs resumes it after its restart, the original
participant still judged by its report, not by heartbeats, and the test
completes with exact counts."""

from dlt import Cluster, KcatConsumer, check, get_json, log, run_test, wait_until
from orchlib import fake_driver, get_test, start_test, target_count, wait_drivers, wait_test

COUNT = 300


def main():
    with Cluster() as c:
        c.broker()
        target = c.target("--delay-ms", "1-3")
        orch = c.orchestrator("--ready-timeout", "3s")
        real = c.driver(target=target.url + "/ping")
        orig = fake_driver(c, target=target.url, mode="original")
        wait_drivers(orch.url, 2)
        ds = {d["node_id"]: d for d in get_json(orch.url + "/api/drivers")["drivers"]}
        check(ds[orig.node_id]["state"] == "", f"original driver shows a state: {ds}")
        metrics = KcatConsumer(c.kafka, "metrics", cluster=c)

        before = target_count(target.url)
        tid = start_test(orch.url, {"test_type": "AVALANCHE", "test_message_delay": 0,
                                    "message_count_per_driver": COUNT}, original=True)
        t = wait_test(orch.url, tid, timeout=60)
        log(f"{t['state']}: {t['reason']}")
        check(t["state"] == "COMPLETED", f"state {t['state']}: {t['reason']}")
        check("ready wait timed out" not in t["reason"], f"reason {t['reason']!r}")
        check(t["approximate"] is True, "approximate is not set")
        agg = t["aggregate"]
        served = target_count(target.url) - before
        check(agg["requests_sent"] == 2 * COUNT == served, f"requests {agg['requests_sent']}, "
              f"target served {served}")
        check(agg["responses_received"] == 2 * COUNT, f"responses {agg['responses_received']}")
        pd = {p["node_id"]: p for p in t["per_driver"]}
        check(pd[orig.node_id]["final"] and pd[orig.node_id]["approximate"],
              f"original driver {pd[orig.node_id]}")
        check(pd[real.node_id]["final"] and not pd[real.node_id]["approximate"],
              f"real driver {pd[real.node_id]}")
        # The engine each driver used: the original's is not known.
        check(pd[real.node_id]["engine"] == "native" and pd[orig.node_id]["engine"] is None,
              f"engines {pd[real.node_id]['engine']!r} {pd[orig.node_id]['engine']!r}")
        check(pd[orig.node_id]["requests_sent"] == COUNT, f"original {pd[orig.node_id]}")

        # The original report really is the original format.
        rep = metrics.wait_for(lambda m: m.get("node_id") == orig.node_id and
                               m.get("test_id") == tid, timeout=10)
        check("seq" not in rep and "histogram" not in rep and "requests_sent" not in rep,
              f"fake original report carries extensions: {sorted(rep)}")
        lat = agg["latency_ms"]
        ol = {k: v * 1000.0 for k, v in rep["metrics"].items()}  # seconds on the wire
        real_lat = pd[real.node_id]["latency_ms"]
        check(abs(lat["min"] - min(real_lat["min"], ol["min_latency"])) < 0.002, f"min {lat['min']}")
        check(abs(lat["max"] - max(real_lat["max"], ol["max_latency"])) < 0.002, f"max {lat['max']}")
        want_mean = (real_lat["mean"] + ol["mean_latency"]) / 2
        check(abs(lat["mean"] - want_mean) < 0.01, f"mean {lat['mean']} want {want_mean}")
        check(lat["min"] <= lat["median"] <= lat["p99"] <= lat["max"], f"order {lat}")

        # Restart while the test runs.
        before = target_count(target.url)
        tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": COUNT})
        wait_until(lambda: get_test(orch.url, tid)["state"] == "RUNNING", timeout=10,
                   what="the test running")
        check(orch.stop() == 0, "exit status")
        orch = c.orchestrator("--ready-timeout", "3s", db=orch.db)
        check(get_test(orch.url, tid)["state"] in ("RUNNING", "COMPLETED"),
              "the test did not resume")
        t = wait_test(orch.url, tid, timeout=60)
        check(t["state"] == "COMPLETED", f"after the restart: {t['state']}: {t['reason']}")
        check(t["aggregate"]["requests_sent"] == 2 * COUNT == target_count(target.url) - before,
              f"counts after the restart {t['aggregate']['requests_sent']}")


if __name__ == "__main__":
    run_test(main)
