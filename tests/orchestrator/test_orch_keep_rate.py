"""keep_rate: in an open-loop test, when a participant is declared dead,
the survivors take over its share of the fleet-wide rate from then on.

Three drivers run a TSUNAMI at 300 requests/s for the fleet, once as
fleet-wide stages and once as target_throughput 100 per driver, both with
keep_rate. One driver is killed (SIGKILL) 4 s in; once the orchestrator
declares it dead, it sends the two survivors a RESHARE, and they carry on
at 150 requests/s each. Counted at the target: the fleet's rate over the
seconds after the reshare is within 10% of 300 (without keep_rate it would
be 200), and the test records the reshare (its reason and "reshares"). A
RESHARE for a test without keep_rate is ignored by the drivers; a
keep_rate AVALANCHE is refused with 400."""

import time

from dlt import Cluster, check, get_json, log, run_test, wait_until
from orchlib import get_test, post, start_test, wait_drivers, wait_test

TIMEOUT_S = 3.0
RATE = 300.0  # the fleet's
SECS = 18


def rate_between(samples, t0, t1):
    """The target's request rate over [t0, t1] from (time, count) samples."""
    inside = [s for s in samples if t0 <= s[0] <= t1]
    if len(inside) < 2:
        return None
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


def run(c, orch, target, drivers, body, victim):
    tid = start_test(orch.url, dict(body, keep_rate=True, min_drivers=3,
                                    drivers=[d.node_id for d in drivers]))
    samples = []

    def sample():
        samples.append((time.time(), get_json(target.url + "/metrics")["total_requests"]))

    wait_until(lambda: get_test(orch.url, tid)["state"] == "RUNNING", timeout=20,
               what="the test running")
    started = time.time()
    while time.time() < started + 4:
        sample()
        time.sleep(0.25)
    victim.kill()
    killed = time.time()
    reshared = None
    while time.time() < started + SECS + 5:
        sample()
        t = get_test(orch.url, tid)
        if reshared is None and t.get("reshares", 0) >= 1:
            reshared = time.time()
            log(f"reshared {reshared - killed:.2f}s after the kill")
        if t["state"] not in ("CREATED", "CONFIGURED", "RUNNING"):
            break
        time.sleep(0.25)
    t = wait_test(orch.url, tid, timeout=60)
    check(reshared is not None, f"no reshare recorded: {t.get('reason')}")
    check(t["reshares"] == 1 and "keep_rate: the 2 surviving driver(s)" in t["reason"],
          f"reshare not recorded: {t.get('reshares')} {t['reason']}")
    before = rate_between(samples, started + 1, killed)
    after = rate_between(samples, reshared + 1, min(reshared + 6, started + SECS - 1))
    log(f"fleet rate {before:.0f}/s before the kill, {after:.0f}/s after the reshare")
    check(before is not None and abs(before / RATE - 1) < 0.10, f"before: {before}")
    check(after is not None and abs(after / RATE - 1) < 0.10,
          f"after the reshare the fleet ran at {after:.0f}/s, not {RATE:.0f}")
    check(t["state"] == "PARTIAL", f"state {t['state']}")
    return t


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator("--heartbeat-timeout", f"{TIMEOUT_S}s")
        status, doc = post(orch.url + "/api/tests", {"test_type": "AVALANCHE", "duration": 1,
                                                      "keep_rate": True})
        check(status == 400 and "open-loop" in doc.get("error", ""), f"{status} {doc}")

        drivers = [c.driver(target=target.url + "/ping") for _ in range(3)]
        wait_drivers(orch.url, 3)
        run(c, orch, target, drivers,
            {"test_type": "TSUNAMI", "start_target": RATE,
             "stages": [{"duration": SECS, "target": RATE}]}, drivers[2])

        wait_drivers(orch.url, 2)
        fresh = c.driver(target=target.url + "/ping")
        wait_drivers(orch.url, 3)
        three = [drivers[0], drivers[1], fresh]
        run(c, orch, target, three,
            {"test_type": "TSUNAMI", "target_throughput": RATE / 3, "duration": SECS},
            drivers[0])


if __name__ == "__main__":
    run_test(main)
