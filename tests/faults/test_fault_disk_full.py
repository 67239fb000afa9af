"""The orchestrator's disk fills up in the middle of a test, and is freed
again 3 s later.

Its --db lives on a small tmpfs of its own (this test mounts one; it needs
root and is skipped, saying so, without). A file fills the rest of it while
two drivers run a 6 s TSUNAMI, and is removed 3 s later:
- no count is lost: the test ends COMPLETED with exact counts;
- the aggregate time series stays true: its points move forward in time,
  none lies after the end of the run, and none spikes above 1.5x the
  nominal rate (the batches the store refused are applied again once it
  takes writes, and they must not be counted as a burst);
- the store errors are logged a few times, not hundreds of times a second."""

import os
import subprocess
import tempfile
import time

from dlt import Cluster, check, get_json, log, run_test, wait_until
from faultlib import check_exact, target_total
from orchlib import get_test, start_test, wait_drivers, wait_test

RATE = 250  # per driver
SECONDS = 6


def main():
    mnt = tempfile.mkdtemp(prefix="dlt-tmpfs-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        log(f"SKIP: cannot mount a tmpfs here ({r.stderr.strip()}); this test needs root")
        os.rmdir(mnt)
        return
    try:
        run(mnt)
    finally:
        subprocess.run(["umount", "-l", mnt], check=False)
        os.rmdir(mnt)


def run(mnt):
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator(db=os.path.join(mnt, "orch.db"))
        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)
        before = target_total(target)
        count = RATE * SECONDS
        tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": 1 / RATE,
                                    "message_count_per_driver": count})
        wait_until(lambda: get_test(orch.url, tid)["aggregate"]["responses_received"] >= 300,
                   timeout=20, interval=0.05, what="the test under way")
        filler = os.path.join(mnt, "filler")
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        log("disk full")
        time.sleep(3.0)
        os.unlink(filler)
        log("disk freed")
        t = wait_test(orch.url, tid, timeout=60)
        check_exact(t, target_total(target) - before, 2, count, "across a full disk")
        ts = get_json(f"{orch.url}/api/tests/{tid}/timeseries")
        agg = ts["aggregate"]
        log("aggregate points: " + ", ".join(f"{p['t_ms']}ms:{p['rps']:.0f}" for p in agg))
        check(len(agg) >= SECONDS * 2 - 2, f"only {len(agg)} aggregate points")
        end_ms = max(p["elapsed_ms"] for p in t["per_driver"])
        prev = -1
        for i, p in enumerate(agg):
            check(p["t_ms"] > prev, f"point {i} at {p['t_ms']} ms does not move forward")
            check(p["t_ms"] <= end_ms + 1000, f"point {i} at {p['t_ms']} ms: after the end "
                  f"of the run ({end_ms} ms)")
            check(p["rps"] <= 1.5 * 2 * RATE, f"point {i} at {p['t_ms']} ms spikes: "
                  f"{p['rps']:.0f} responses/s")
            prev = p["t_ms"]
        check(agg[-1]["responses_received"] == 2 * count, "the last point is not the total")
        lines = orch.stderr_text().count("store: ")
        log(f"{lines} store error line(s) logged")
        check(0 < lines <= 20, f"{lines} store error lines")
        for p in [orch, target, *drivers]:
            check(p.alive(), f"{p.name} died")


if __name__ == "__main__":
    run_test(main)
