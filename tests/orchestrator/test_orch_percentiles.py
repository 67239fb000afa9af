"""load-orchestrator: the aggregate's median and p99 (and min, max, p90,
p99.9, count) are exactly those of the union of both drivers' raw
latencies at the histogram's precision: each driver's final histogram is
read from the Kafka metrics topic with kcat, decoded with an independent
Python port of the wire format, merged, and its nearest-rank percentiles
compared with what the orchestrator serves. The drivers are made to differ
(one target is slow), so averaging their percentiles would not pass."""

from dlt import Cluster, KcatConsumer, check, log, run_test
from orchlib import Hist, get_test, start_test, wait_drivers, wait_test

COUNT = 1500


def main():
    with Cluster() as c:
        c.broker()
        fast = c.target()
        slow = c.target("--delay-ms", "2-30")
        orch = c.orchestrator()
        d_fast = c.driver(target=fast.url + "/ping")
        d_slow = c.driver(target=slow.url + "/ping")
        wait_drivers(orch.url, 2)
        metrics = KcatConsumer(c.kafka, "metrics", cluster=c)

        tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": COUNT,
                                    "concurrency": 16})
        t = wait_test(orch.url, tid, timeout=60)
        check(t["state"] == "COMPLETED", f"state {t['state']}: {t['reason']}")

        finals = {}
        for d in (d_fast, d_slow):
            m = metrics.wait_for(lambda m, n=d.node_id: m.get("test_id") == tid and
                                 m.get("node_id") == n and m.get("final") is True, timeout=15)
            finals[d.node_id] = m
        merged = Hist()
        for nid, m in finals.items():
            h = Hist.decode(m["histogram"])
            check(h.total == m["responses_received"] == COUNT,
                  f"{nid}: histogram holds {h.total}, report says {m['responses_received']}")
            merged.merge(h)
        agg = t["aggregate"]
        lat = agg["latency_ms"]
        want = {"median": merged.percentile(50), "p90": merged.percentile(90),
                "p99": merged.percentile(99), "p999": merged.percentile(99.9),
                "min": merged.min, "max": merged.max}
        log("merged from Kafka (ms): " + ", ".join(f"{k} {v / 1000:.3f}" for k, v in want.items()))
        log("orchestrator (ms):      " + ", ".join(f"{k} {lat[k]:.3f}" for k in want))
        for k, v in want.items():
            check(round(lat[k] * 1000) == v, f"{k}: orchestrator {lat[k]} ms, merged {v / 1000} ms")
        check(abs(lat["mean"] - merged.sum / merged.total / 1000) < 0.0015,
              f"mean {lat['mean']} vs {merged.sum / merged.total / 1000}")
        check(agg["responses_received"] == merged.total, "count")
        # The drivers really differ: the average of their medians is off.
        med = [Hist.decode(m["histogram"]).percentile(50) for m in finals.values()]
        check(abs(sum(med) / 2 - want["median"]) > 1000,
              f"drivers too alike to tell merging from averaging: {med}")
        # Per-driver figures are each driver's own.
        pd = {p["node_id"]: p for p in get_test(orch.url, tid)["per_driver"]}
        for nid, m in finals.items():
            h = Hist.decode(m["histogram"])
            check(round(pd[nid]["latency_ms"]["p99"] * 1000) == h.percentile(99), f"{nid} p99")


if __name__ == "__main__":
    run_test(main)
