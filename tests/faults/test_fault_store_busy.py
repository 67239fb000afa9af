"""Nothing lost when the metrics store refuses writes for a while.

Another process holds SQLite's write lock on the orchestrator's database
(BEGIN IMMEDIATE) for 12 s, from the middle of a test until well after
every driver has sent its final report: longer than the orchestrator's busy
timeout (5 s) twice over, and longer than its heartbeat timeout (10 s). The
orchestrator cannot store what it reads, so it commits no offset past it
and reads the same messages again a second later, until the store takes
them; meanwhile it judges nobody dead, since it hears nothing it can keep.
The test then ends COMPLETED with every response accounted for, both final
reports are in the database, and an orchestrator restarted on the same
database shows the same result."""

import sqlite3
import time

from dlt import Cluster, check, log, run_test, wait_until
from faultlib import check_exact, prom, target_total
from orchlib import get_test, start_test, wait_drivers, wait_test

COUNT = 300
DELAY = 0.01  # 3 s per driver
LOCK_S = 12.0


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator()
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)
        before = target_total(target)
        errors0 = prom(orch.url, "dlt_store_errors_total")

        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                    "message_count_per_driver": COUNT})
        wait_until(lambda: get_test(orch.url, tid)["aggregate"]["responses_received"] >= 100,
                   timeout=20, interval=0.05, what="the test under way")
        db = sqlite3.connect(orch.db, timeout=10, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            log(f"holding the store's write lock for {LOCK_S} s")
            t0 = time.time()
            wait_until(lambda: target_total(target) - before >= 2 * COUNT, timeout=LOCK_S,
                       interval=0.1, what="every request served while the store is locked")
            time.sleep(max(0.0, LOCK_S - (time.time() - t0)))
        finally:
            db.execute("ROLLBACK")
            db.close()
        log("lock released")

        t = wait_test(orch.url, tid, timeout=30)
        served = target_total(target) - before
        check_exact(t, served, 2, COUNT, "after the lock")
        check(prom(orch.url, "dlt_store_errors_total") > errors0,
              "the store never refused a write: the fault did not happen")
        check("will be read again" in orch.stderr_text(), "no batch was read again")
        check("declared dead" not in orch.stderr_text(), "a driver was declared dead")

        with sqlite3.connect(orch.db, timeout=10) as ro:
            finals = ro.execute("SELECT COUNT(DISTINCT node_id) FROM node_reports WHERE test_id = ? "
                                "AND final = 1", (tid,)).fetchone()[0]
            state = ro.execute("SELECT state FROM tests WHERE test_id = ?", (tid,)).fetchone()[0]
        check(finals == 2, f"{finals} final report(s) stored, want 2")
        check(state == "COMPLETED", f"stored state {state}")

        orch.stop()
        orch = c.orchestrator(db=orch.db)
        check_exact(get_test(orch.url, tid), served, 2, COUNT, "after a restart")
        for p in [orch, target, *drivers]:
            check(p.alive(), f"{p.name} died")


if __name__ == "__main__":
    run_test(main)
