"""dlt's drivers and target-server under the original orchestrator
(tests/compat/original_orchestrator.py), as its code behaves: it sends
test_config and, at the same instant, test_trigger (no drivers list, no
start time, no wait for READY), and POSTs every metrics message it reads to
the target's /test.

- Both of dlt's drivers run the test: the target counts exactly 2 x the
  count;
- every report the original orchestrator read has the four latency
  figures it reads, in seconds: they match the target's 30 ms delay as
  0.03 s, not as 30;
- each forward to target-server's /test was answered 200, and GET /test
  returns what was merged: the latest report's fields."""

import time

from compatlib import original_orchestrator, start_original
from dlt import Cluster, check, get_json, log, run_test, wait_until
from orchlib import target_count

COUNT = 40
DELAY_MS = 30


def main():
    with Cluster() as c:
        c.broker()
        target = c.target("--delay-ms", str(DELAY_MS))
        orig = original_orchestrator(c, target.url)
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_until(lambda: len(get_json(orig.url + "/state")["drivers"]) >= 2, timeout=20,
                   what="the original orchestrator seeing both registrations")
        before = target_count(target.url)
        tid = start_original(orig.url, "AVALANCHE", 0, COUNT)["test_id"]
        log(f"original orchestrator started test {tid}")

        def finals():
            ms = [m for m in get_json(orig.url + "/state")["metrics"] if m["test_id"] == tid]
            done = {m["node_id"] for m in ms if m.get("final")}
            return ms if done == {d.node_id for d in drivers} else None
        reports = wait_until(finals, timeout=60, what="both final reports at the original")
        served = target_count(target.url) - before
        check(served == 2 * COUNT, f"the target served {served}, not {2 * COUNT}")
        for m in reports:
            lat = m["metrics"]
            for k in ("mean_latency", "median_latency", "min_latency", "max_latency"):
                check(isinstance(lat[k], float), f"{k} is {lat[k]!r}")
            if m.get("responses_received"):
                check(DELAY_MS / 1000 * 0.9 <= lat["min_latency"] <= lat["mean_latency"] <
                      DELAY_MS / 1000 * 10, f"latencies are not seconds: {lat}")
        final = [m for m in reports if m.get("final")]
        check(all(m["requests_sent"] == COUNT for m in final), f"finals {final}")

        wait_until(lambda: len(get_json(orig.url + "/state")["forwarded"]) >= len(reports),
                   timeout=20, what="every report forwarded")
        fwd = get_json(orig.url + "/state")["forwarded"]
        check(all(s == 200 for s in fwd), f"forwards to /test answered {sorted(set(map(str, fwd)))}")
        held = get_json(target.url + "/test")
        check(held.get("test_id") == tid and "metrics" in held and "node_id" in held,
              f"/test holds {sorted(held)}")
        time.sleep(0.5)
        for p in [target, *drivers]:
            check(p.alive(), f"{p.name} died")


if __name__ == "__main__":
    run_test(main)
