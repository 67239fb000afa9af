"""Latency the driver measures against target-server:
- with a 20 ms delay no latency is below the delay and the median is
  between 20 and 40 ms: a clock, a unit or a start time taken wrongly
  shows far outside that; how close to the truth it is (1.02x of wrk's
  figures) is measured by bench/accuracy.py, not here, since a busy machine
  delays the target's own timers by several ms;
- target_throughput paces an AVALANCHE;
- AVALANCHE keeps at most `concurrency` requests in flight (the target's own
  in_flight, polled during a delayed run, never exceeds it, and reaches it);
- while the target is stalled for 1 s (SIGSTOP/SIGCONT) during a TSUNAMI,
  the corrected latency (from the due time) shows the stall in its p99 and
  the service time (from the send) does not; held-back sends count as late."""

import signal
import threading
import time

from dlt import Cluster, check, get_json, log, run_test
from drvtest import Orchestra, check_report_shape, log_report


def main():
    with Cluster() as c:
        c.broker()
        slow = c.target("--delay-ms", "20")
        o = Orchestra(c)
        d = c.driver(target=slow.url + "/ping")

        # Median of a 20 ms delay, closed and open loop.
        for cfg in ({"test_id": "lat-aval", "test_type": "AVALANCHE", "test_message_delay": 0,
                     "message_count_per_driver": 400, "concurrency": 16},
                    {"test_id": "lat-tsu", "test_type": "TSUNAMI", "test_message_delay": 0.005,
                     "message_count_per_driver": 200}):
            r = o.run(cfg, [d])[0]
            log_report(r)
            check_report_shape(r, d.node_id, cfg["test_id"])
            check(r["errors"] == 0 and r["responses_received"] == cfg["message_count_per_driver"],
                  f"{cfg['test_id']}: {r}")
            med = r["metrics"]["median_latency"]
            check(19.5 <= med <= 40.0, f"{cfg['test_id']}: median {med} ms, want 20..40")
            check(r["metrics"]["min_latency"] >= 19.0, f"min {r['metrics']['min_latency']} < delay")

        # target_throughput caps an AVALANCHE: 60 requests at 40/s take 1.5 s.
        r = o.run({"test_id": "rate", "test_type": "AVALANCHE", "test_message_delay": 0,
                   "message_count_per_driver": 60, "target_throughput": 40,
                   "target_url": slow.url + "/ping"}, [d])[0]
        log_report(r)
        check(r["responses_received"] == 60 and r["errors"] == 0, f"rate: {r}")
        check(1450 <= r["elapsed_ms"] <= 3000, f"60 at 40/s took {r['elapsed_ms']} ms")

        # Concurrency: poll the target's in_flight during a delayed AVALANCHE.
        conc = 8
        cfg = {"test_id": "conc", "test_type": "AVALANCHE", "test_message_delay": 0,
               "message_count_per_driver": 400, "concurrency": conc}
        seen = []
        done = threading.Event()

        def poll():
            while not done.is_set():
                seen.append(get_json(slow.url + "/metrics")["in_flight"])
                time.sleep(0.01)

        poller = threading.Thread(target=poll, daemon=True)
        o.config(cfg)
        o.wait_ready("conc", [d])
        poller.start()
        o.trigger("conc")
        r = o.final("conc", d)
        done.set()
        poller.join(5)
        log(f"in_flight samples: {len(seen)}, max {max(seen)}")
        check(r["responses_received"] == 400 and r["errors"] == 0, f"conc: {r}")
        check(len(seen) >= 20, f"only {len(seen)} in_flight samples")
        check(max(seen) <= conc, f"target saw {max(seen)} in flight, concurrency is {conc}")
        check(max(seen) >= conc // 2, f"never more than {max(seen)} in flight: not concurrent")
        # 400 requests of 20 ms, 8 at a time: at least 50 rounds.
        check(r["elapsed_ms"] >= 50 * 20, f"elapsed {r['elapsed_ms']} ms: too fast for {conc}")

        # Stall: TSUNAMI every 10 ms for 3 s, 2 in flight at most; the target
        # stops for 1 s after 1 s.
        fast = c.target()
        cfg = {"test_id": "stall", "test_type": "TSUNAMI", "test_message_delay": 0.01,
               "message_count_per_driver": 300, "concurrency": 2,
               "target_url": fast.url + "/ping"}
        o.config(cfg)
        o.wait_ready("stall", [d])
        o.trigger("stall")
        o.heartbeat.wait_for(lambda m: m.get("test_id") == "stall" and m.get("state") == "RUNNING")
        time.sleep(1.0)
        fast.signal(signal.SIGSTOP)
        time.sleep(1.0)
        fast.signal(signal.SIGCONT)
        r = o.final("stall", d)
        log_report(r)
        check(r["responses_received"] == 300 and r["errors"] == 0, f"stall: {r}")
        p99 = r["metrics"]["p99_latency"]
        sp99 = r["service_metrics"]["p99_latency"]
        check(p99 >= 600, f"corrected p99 {p99} ms does not show the 1 s stall")
        check(sp99 <= 300, f"service p99 {sp99} ms shows the stall (it should not)")
        check(r["service_metrics"]["max_latency"] >= 600, "no request saw the stall at all")
        check(r["late"] >= 40, f"only {r['late']} late sends during a 1 s stall at 100/s")


if __name__ == "__main__":
    run_test(main)
