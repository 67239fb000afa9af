"""Mixed fleets: original drivers (tests/compat/original_driver.py) beside
dlt's load-driver, under dlt's orchestrator, 1+1 then 2+2.

Each test ends COMPLETED with exact merged counts (the aggregate equals the
target's own count: the original drivers' counts come from the config),
every driver's latencies are milliseconds matching the target's 40 ms
delay, whichever format it reports in (seconds on the wire, both), and the
aggregate's min, max and mean are those of the union (mean weighted by
count); it is flagged approximate (the original sends no histogram)."""

from compatlib import check_ms, driver_liveness, original_driver
from dlt import Cluster, check, log, run_test, wait_until
from orchlib import start_test, target_count, wait_test

COUNT = 30
DELAY_MS = 40


def run_fleet(c, orch, target, n):
    ours = [c.driver(target=target.url + "/ping") for _ in range(n)]
    orig = [original_driver(c, target.url + "/ping") for _ in range(n)]
    names = [d.node_id for d in ours + orig]
    wait_until(lambda: all(driver_liveness(orch.url, x) in ("alive", "quiet") for x in names),
               timeout=20, what="every driver known")
    before = target_count(target.url)
    tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": COUNT,
                                "drivers": names})
    t = wait_test(orch.url, tid, timeout=90)
    what = f"{n}+{n}"
    log(f"{what}: {t['state']}: {t['reason']!r}")
    check(t["state"] == "COMPLETED", f"{what}: {t['state']}: {t['reason']}")
    agg = t["aggregate"]
    served = target_count(target.url) - before
    check(agg["requests_sent"] == 2 * n * COUNT == agg["responses_received"] == served,
          f"{what}: sent {agg['requests_sent']}, target {served}")
    check(t["approximate"] is True, f"{what}: not flagged approximate")
    pd = {p["node_id"]: p for p in t["per_driver"]}
    lats = []
    for d in ours + orig:
        p = pd[d.node_id]
        check(p["final"] and p["requests_sent"] == COUNT == p["responses_received"],
              f"{what}: {d.name} {p}")
        check_ms(p["latency_ms"], DELAY_MS * 0.9, DELAY_MS * 12, f"{what} {d.name}")
        lats.append(p["latency_ms"])
    lat = agg["latency_ms"]
    check(abs(lat["min"] - min(x["min"] for x in lats)) < 0.01, f"{what}: min {lat['min']}")
    check(abs(lat["max"] - max(x["max"] for x in lats)) < 0.01, f"{what}: max {lat['max']}")
    want = sum(x["mean"] for x in lats) / len(lats)
    check(abs(lat["mean"] - want) < 0.05, f"{what}: mean {lat['mean']}, want {want:.3f}")
    check(pd[ours[0].node_id]["errors"] == 0 and pd[orig[0].node_id]["errors"] is None,
          f"{what}: errors known for dlt's driver only")
    for d in ours + orig:
        d.stop()


def main():
    with Cluster() as c:
        c.broker()
        target = c.target("--delay-ms", str(DELAY_MS))
        orch = c.orchestrator()
        run_fleet(c, orch, target, 1)
        run_fleet(c, orch, target, 2)
        check(orch.alive(), "the orchestrator died")


if __name__ == "__main__":
    run_test(main)
