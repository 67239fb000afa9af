"""Two fleets share the 3-node cluster through --topic-prefix (4 and 2
drivers, each with its own orchestrator and target): each orchestrator
sees only its own drivers, and a test run in both at the same time
completes in each with exact counts at its own target."""

from dlt import Cluster, check, get_json, log, run_test
from faultlib import check_exact
from kafkalib import prefix, shared, wait_fleet
from orchlib import start_test, target_count, wait_test

COUNT = 300


def main():
    kc = shared()
    fleets = {prefix("fleetA"): 4, prefix("fleetB"): 2}
    with Cluster() as c:
        c.kafka = kc.bootstrap
        fleet = {}
        for pfx, n in fleets.items():
            target = c.target()
            orch = c.orchestrator("--topic-prefix", pfx)
            drivers = [c.driver("--topic-prefix", pfx, target=target.url + "/ping")
                       for _ in range(n)]
            fleet[pfx] = (target, orch, drivers)
        for pfx, (target, orch, drivers) in fleet.items():
            wait_fleet(c, pfx, orch, len(drivers))
            seen = sorted(d["node_id"] for d in get_json(orch.url + "/api/drivers")["drivers"])
            check(seen == sorted(d.node_id for d in drivers), f"{pfx}: sees {seen}")
        tests = {pfx: start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 0.005,
                                            "message_count_per_driver": COUNT})
                 for pfx, (target, orch, drivers) in fleet.items()}
        for pfx, (target, orch, drivers) in fleet.items():
            t = wait_test(orch.url, tests[pfx], timeout=90)
            check_exact(t, target_count(target.url), len(drivers), COUNT, pfx)
            check(sorted(t["drivers"]) == sorted(d.node_id for d in drivers),
                  f"{pfx}: participants {t['drivers']}")
            log(f"{pfx}: start skew {t.get('start_skew_ms')} ms")


if __name__ == "__main__":
    run_test(main)
