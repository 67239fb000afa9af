"""No lost results when the orchestrator is killed, and a report applied
twice changes nothing (tests/orchestrator/test_orch_restart.py covers one
SIGKILL with the default heartbeat timeout; this goes further):
- the orchestrator is killed (SIGKILL) twice in one test, the second time
  while the restarted one is still waiting for its partitions; the drivers
  finish while nobody consumes; the last orchestrator (same --db) reads
  what waited in Kafka and the test ends COMPLETED with every response
  accounted for (aggregate = the target's own count, per driver = the
  configured count). With a 3 s heartbeat timeout nobody is declared dead
  although the orchestrator could not hear for over 10 s at a time: the
  deafness rule holds across restarts;
- every metrics report of a running test published so far is published
  again (kcat): each is recognised as a duplicate and the test still ends
  with exact counts.

Timings measured: the orchestrator has its partitions back about 11 s after
a SIGKILL (group session timeout 6 s, plus the join)."""

import json
import subprocess
import time

from dlt import Cluster, check, log, run_test, wait_until
from faultlib import check_exact, prom, target_total
from orchlib import get_test, start_test, wait_drivers, wait_test

HB_TIMEOUT = 3.0
COUNT = 2000
DELAY = 0.004  # 8 s per driver


def consuming(p):
    return "consuming register, heartbeat and metrics" in p.stderr_text()


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator("--heartbeat-timeout", f"{HB_TIMEOUT}s")
        drivers = [c.driver(target=target.url + "/ping") for _ in range(3)]
        wait_drivers(orch.url, 3)

        before = target_total(target)
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                    "message_count_per_driver": COUNT})
        wait_until(lambda: get_test(orch.url, tid)["aggregate"]["responses_received"] >= 1000,
                   timeout=20, interval=0.05, what="the test under way")
        orch.kill()
        log("orchestrator killed (1)")
        orch = c.orchestrator("--heartbeat-timeout", f"{HB_TIMEOUT}s", db=orch.db)
        t0 = time.time()
        time.sleep(2.0)
        check(not consuming(orch), "rejoined too fast to kill it while deaf")
        check(get_test(orch.url, tid)["state"] == "RUNNING", "the test did not resume")
        orch.kill()
        log("orchestrator killed (2) before it had its partitions back")
        orch = c.orchestrator("--heartbeat-timeout", f"{HB_TIMEOUT}s", db=orch.db)
        t0 = time.time()
        wait_until(lambda: consuming(orch), timeout=40, interval=0.1, what="partitions back")
        rejoin = time.time() - t0
        log(f"partitions back {rejoin:.1f}s after the restart")
        check(rejoin < 20, f"rejoin took {rejoin:.1f}s")
        t = wait_test(orch.url, tid, timeout=40)
        check_exact(t, target_total(target) - before, 3, COUNT)
        check("declared dead" not in orch.stderr_text(), "a driver was declared dead")

        # Every report published twice.
        dup0 = prom(orch.url, "dlt_reports_duplicate_total")
        before = target_total(target)
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                    "message_count_per_driver": 1000})
        wait_until(lambda: get_test(orch.url, tid)["aggregate"]["responses_received"] >= 1500,
                   timeout=20, interval=0.05, what="the second test under way")
        out = subprocess.run(["kcat", "-b", c.kafka, "-C", "-t", "metrics", "-o", "beginning",
                              "-e", "-q", "-f", "%k\t%s\n"], capture_output=True, timeout=30,
                             check=True).stdout.decode().splitlines()
        again = [ln for ln in out if json.loads(ln.split("\t", 1)[1]).get("test_id") == tid]
        check(len(again) >= 3, f"only {len(again)} report(s) to publish again")
        subprocess.run(["kcat", "-b", c.kafka, "-P", "-t", "metrics", "-K", "\t"],
                       input=("\n".join(again) + "\n").encode(), timeout=30, check=True)
        log(f"published {len(again)} report(s) of the running test again")
        t = wait_test(orch.url, tid, timeout=30)
        served = target_total(target) - before
        check(t["state"] == "COMPLETED", f"second test {t['state']}: {t['reason']}")
        check(t["aggregate"]["requests_sent"] == 3000 == served ==
              t["aggregate"]["responses_received"], f"second test counts {t['aggregate']}")
        wait_until(lambda: prom(orch.url, "dlt_reports_duplicate_total") - dup0 >= len(again),
                   timeout=10, what="the copies counted as duplicates")
        for p in [orch, target, *drivers]:
            check(p.alive(), f"{p.name} died")


if __name__ == "__main__":
    run_test(main)
