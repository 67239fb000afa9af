"""SIGSTOP all three brokers for 10 s in the middle of a test, then
SIGCONT: no process crashes, the test ends COMPLETED with exact counts,
and both drivers are alive again within 30 s of SIGCONT (the drivers keep
their reports until Kafka takes them). Liveness is sampled every 0.25 s
throughout: no driver is shown dead, since the silence while the brokers
answer nothing is the orchestrator's own."""

import signal
import threading
import time

from dlt import Cluster, check, get_json, log, run_test
from kafkalib import check_counts, fleet, prefix, shared
from orchlib import start_test, target_count, wait_drivers, wait_test, wait_under_way

COUNT = 5000
DELAY = 0.002  # 10 s per test
FROZEN = 10


def main():
    kc = shared()
    pfx = prefix("freeze")
    try:
        with Cluster() as c:
            c.kafka = kc.bootstrap
            target, orch, drivers = fleet(c, pfx, 2)
            seen = {}
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    try:
                        for d in get_json(orch.url + "/api/drivers", timeout=2)["drivers"]:
                            seen.setdefault(d["liveness"], set()).add(d["node_id"])
                    except Exception as e:  # noqa: BLE001 - a slow answer is noted, not fatal
                        seen.setdefault("unanswered", set()).add(str(e)[:60])
                    stop.wait(0.25)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            before = target_count(target.url)
            tid = start_test(orch.url, {"test_type": "TSUNAMI", "test_message_delay": DELAY,
                                        "message_count_per_driver": COUNT})
            wait_under_way(orch.url, tid, 1000, timeout=60)
            for n in (1, 2, 3):
                kc.signal(n, signal.SIGSTOP)
            log(f"all brokers stopped for {FROZEN}s")
            time.sleep(FROZEN)
            for n in (1, 2, 3):
                kc.signal(n, signal.SIGCONT)
            t_cont = time.time()
            t = wait_test(orch.url, tid, timeout=120)
            log(f"test ended {t['state']} {time.time() - t_cont:.1f}s after SIGCONT, "
                f"{(t['ended_ms'] - t['start_at_ms']) / 1000:.1f}s after its start_at "
                f"(planned {COUNT * DELAY:.0f}s)")
            time.sleep(3)
            stop.set()
            sampler.join(5)
            log(f"liveness seen: { {k: len(v) for k, v in seen.items()} }")
            check_counts(t, target_count(target.url) - before, 2, COUNT, "brokers frozen")
            # While the brokers answer nothing the orchestrator cannot hear:
            # that silence is nobody's, so no driver is shown dead.
            check("dead" not in seen, f"declared dead during the freeze: {seen.get('dead')}")
            wait_drivers(orch.url, 2, timeout=30)
            check(orch.alive() and all(d.alive() for d in drivers), "a process died")
    finally:
        kc.heal()


if __name__ == "__main__":
    run_test(main)
