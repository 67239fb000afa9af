"""A slow name server stops no heartbeat, and a test to a target already
looked up waits for no lookup (src/driver/resolve.h).

The driver runs with tests/driver/slowdns.c preloaded: every lookup of its
target's name takes SLOW_MS, as when a name server lost the first queries
(podman's aardvark-dns does while it reloads; lookups of 10 to 40 s were
seen there). The name then stands for 127.0.0.1.

1. A config arrives while the driver's first lookup of its --target (begun
   at start) is still running. The driver waits for it before READY, and
   heartbeats every second meanwhile: no gap between two heartbeats is over
   2.5 s (waiting in getaddrinfo on the main loop made a gap of SLOW_MS).
   The test then runs: every request answered, counted at the target.
2. A second config right after: READY with no lookup ended in between (the
   answer is fresh), and again every request answered.
3. A test on the curl engine (the URL has credentials): libcurl is handed
   the answer (CURLOPT_RESOLVE) and looks nothing up itself. Every lookup
   of the name, all along, was the resolver's (its threads are named
   dlt-resolve)."""

import os
import subprocess
import time

from dlt import BUILD, ARTIFACTS, Cluster, binary, check, log, run_test
from drvtest import Orchestra, target_total, wait_target_quiet

NAME = "slow.dlt.test"
SLOW_MS = 6000
COUNT = 50


def preload():
    """The shim, after a sanitizer's runtime (which must come first)."""
    shim = os.path.join(BUILD, "tests", "driver", "libslowdns.so")
    check(os.path.exists(shim), f"{shim} not built")
    out = subprocess.run(["ldd", binary("load-driver")], capture_output=True, text=True).stdout
    first = [ln.split("=>")[1].split()[0] for ln in out.splitlines()
             if "=>" in ln and ("libasan" in ln or "libubsan" in ln)]
    return ":".join(first + [shim])


def lookups(path):
    """[[start_ms, end_ms or None, thread]] of the slow lookups so far."""
    res = []
    if not os.path.exists(path):
        return res
    with open(path) as f:
        for line in f:
            what, ms, thread = line.split(maxsplit=2)
            if what == "start":
                res.append([int(ms), None, thread.strip()])
            else:
                open_ = [x for x in res if x[1] is None and x[2] == thread.strip()]
                check(open_, f"an end with no start in {path}")
                open_[0][1] = int(ms)
    return res


def heartbeats(o, node_id, since_s):
    return [m["timestamp"] for m in o.heartbeat.json_messages()
            if m.get("node_id") == node_id and m.get("timestamp", 0) >= since_s]


def max_gap(ts):
    return max((b - a for a, b in zip(ts, ts[1:])), default=0.0)


def run_one(o, d, target, test_id, url=None):
    cfg = {"test_id": test_id, "test_type": "TSUNAMI", "test_message_delay": 0.005,
           "message_count_per_driver": COUNT}
    if url:
        cfg["target_url"] = url
    before = target_total(target)
    sent_at = time.time()
    o.config(cfg)
    o.wait_ready(test_id, [d], timeout=60)
    ready = o.heartbeat.wait_for(lambda m: m.get("node_id") == d.node_id
                                 and m.get("state") == "READY" and m.get("test_id") == test_id)
    o.trigger(test_id)
    r = o.final(test_id, d)
    check(r.get("engine") == ("curl" if url else "native"), f"{test_id}: engine {r.get('engine')}")
    check(r["requests_sent"] == COUNT and r["responses_received"] == COUNT and r["errors"] == 0,
          f"{test_id}: {r}")
    wait_target_quiet(target)
    served = target_total(target) - before
    check(served == COUNT, f"{test_id}: the target served {served}, expected {COUNT}")
    return sent_at, ready["timestamp"]


def main():
    log_path = os.path.join(ARTIFACTS, f"slowdns-{os.getpid()}.log")
    with Cluster() as c:
        c.broker()
        target = c.target()
        o = Orchestra(c)
        env = {"LD_PRELOAD": preload(), "DLT_SLOWDNS_NAME": NAME,
               "DLT_SLOWDNS_MS": str(SLOW_MS), "DLT_SLOWDNS_LOG": log_path}
        url = f"http://{NAME}:{target.port}/ping"
        d = c.start("load-driver", [binary("load-driver"), "--kafka", c.kafka, "--target", url,
                                    "--db", os.path.join(ARTIFACTS, f"driver-dns-{os.getpid()}.db")],
                    env=env, ready="ready ", timeout=30)
        d.node_id = d.wait_line("ready ").split("node_id=")[1].split()[0]
        started = lookups(log_path)
        check(len(started) == 1 and started[0][1] is None,
              f"the driver's first lookup of {NAME} should be running now: {started}")

        # 1. A config while that lookup runs.
        sent_at, ready_at = run_one(o, d, target, "dns-wait")
        first = lookups(log_path)[0]
        check(first[1] is not None and ready_at * 1000 >= first[1] - 50,
              f"READY at {ready_at * 1000:.0f} ms, before the lookup ended: {first}")
        hb = heartbeats(o, d.node_id, sent_at - 1)
        gap = max_gap([t for t in hb if t <= ready_at + 1])
        log(f"dns-wait: READY {ready_at - sent_at:.1f} s after the config; "
            f"{len(hb)} heartbeats, longest gap {gap:.2f} s while the lookup ran")
        check(gap <= 2.5, f"a heartbeat gap of {gap:.2f} s while the target was looked up")

        # 2. A fresh answer: no lookup waited for.
        ended_before = [x for x in lookups(log_path) if x[1] is not None]
        sent_at, ready_at = run_one(o, d, target, "dns-fresh")
        ended = [x for x in lookups(log_path)
                 if x[1] is not None and sent_at * 1000 <= x[1] <= ready_at * 1000]
        log(f"dns-fresh: READY {ready_at - sent_at:.2f} s after the config; "
            f"lookups: {lookups(log_path)}")
        check(not ended, f"a lookup ended between the config and READY: {ended} "
              f"(before: {ended_before})")

        # 3. The curl engine, handed the answer.
        run_one(o, d, target, "dns-curl", url=f"http://user:pw@{NAME}:{target.port}/ping")
        seen = lookups(log_path)
        log(f"dns-curl: lookups {seen}")
        others = [x for x in seen if x[2] != "dlt-resolve"]
        check(not others, f"lookups of {NAME} by other threads than the resolver's: {others}")


if __name__ == "__main__":
    run_test(main)
