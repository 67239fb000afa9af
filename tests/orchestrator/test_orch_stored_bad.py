"""Stored tests that cannot be run as they are never stop the orchestrator
from serving.

The store is written by hand (sqlite3) between two runs of the orchestrator:
- an unfinished (CREATED) test whose stored config does not decode: at the
  next start it ends FAILED with a reason that says it cannot be resumed,
  the orchestrator serves, and it is not tried again at the start after;
- the newest unfinished test names a driver twice (["d-one","d-two",
  "d-one"], which the API now refuses, and which once overflowed a buffer
  and crashed the orchestrator again at every start): it resumes, runs on
  the two drivers once each, and ends COMPLETED with exact counts."""

import json
import sqlite3
import time

from dlt import Cluster, check, get_json, log, run_test
from orchlib import get_test, target_count, wait_drivers, wait_test

COUNT = 100


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator()
        db = orch.db
        orch.stop()
        now = int(time.time() * 1000)
        cfg = {"test_id": "t-dup-drivers", "test_type": "AVALANCHE",
               "test_message_delay": 0, "message_count_per_driver": COUNT,
               "drivers": ["d-one", "d-two", "d-one"]}
        with sqlite3.connect(db) as con:
            con.execute("INSERT INTO tests (test_id, created_ms, state, config) VALUES (?,?,?,?)",
                        ("t-bad-config", now - 2000, "CREATED", '{"test_id": "t-bad-config", '
                         '"test_type": "BANANA"}'))
            con.execute("INSERT INTO tests (test_id, created_ms, state, config, min_drivers) "
                        "VALUES (?,?,?,?,?)", ("t-dup-drivers", now, "CREATED", json.dumps(cfg), 3))
        con.close()

        drivers = [c.driver("--node-id", n, target=target.url + "/ping") for n in ("d-one", "d-two")]
        before = target_count(target.url)
        orch = c.orchestrator("--ready-timeout", "20s", db=db)
        t = get_test(orch.url, "t-bad-config")
        log(f"t-bad-config: {t['state']}: {t['reason']}")
        check(t["state"] == "FAILED" and "cannot be resumed" in t["reason"] and
              "BANANA" in t["reason"], f"t-bad-config {t['state']}: {t['reason']}")
        wait_drivers(orch.url, 2)
        t = wait_test(orch.url, "t-dup-drivers", timeout=40)
        log(f"t-dup-drivers: {t['state']}: {t['reason']}")
        check(t["state"] == "COMPLETED", f"t-dup-drivers {t['state']}: {t['reason']}")
        check(sorted(p["node_id"] for p in t["per_driver"]) == ["d-one", "d-two"],
              f"participants {[p['node_id'] for p in t['per_driver']]}")
        served = target_count(target.url) - before
        check(t["aggregate"]["requests_sent"] == 2 * COUNT == served,
              f"sent {t['aggregate']['requests_sent']}, target {served}")
        check(orch.alive(), "the orchestrator died")

        # Not tried again at the next start.
        orch.stop()
        orch = c.orchestrator(db=db)
        check(get_json(orch.url + "/api/tests/t-bad-config")["state"] == "FAILED", "state")
        check("t-bad-config" not in orch.stderr_text(), "the failed test was tried again")
        for p in [orch, target, *drivers]:
            check(p.alive(), f"{p.name} died")


if __name__ == "__main__":
    run_test(main)
