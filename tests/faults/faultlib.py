"""Helpers shared by the fault tests: restartable load-broker on a fixed
port, VmHWM of a process, the orchestrator's REST helpers (tests/orchestrator/
orchlib.py) and a few waits. Standard library only."""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "orchestrator"))
sys.path.insert(0, os.path.join(HERE, "..", "driver"))

from dlt import binary, check, get_json, http, log, wait_until  # noqa: E402


def broker_on(cluster, port, *extra):
    """load-broker listening on 127.0.0.1:port (so that a restart keeps the
    bootstrap address); sets cluster.kafka."""
    p = cluster.start("load-broker", [binary("load-broker"), "--listen", f"127.0.0.1:{port}",
                                      *extra], ready="ready ")
    cluster.kafka = p.wait_line("ready ").split("bootstrap=")[1].strip()
    p.bootstrap = cluster.kafka
    return p


def vm_hwm_kb(pid):
    """Peak resident set size of a live process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for pid {pid}")


def proc_state(pid):
    """The one-letter state of a process (R, S, T for stopped, Z...)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def target_total(target):
    return get_json(target.url + "/metrics")["total_requests"]


def prom(url, name):
    """The value of an unlabelled Prometheus sample in url's /metrics, or None."""
    text = http("GET", url + "/metrics")[2].decode()
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def check_exact(t, served, drivers, count, what="test"):
    """t (GET /api/tests/ID) is COMPLETED with every one of drivers x count
    requests sent and answered, as many as the target served (served), and
    every participant final and alive."""
    agg = t["aggregate"]
    log(f"{what}: {t['state']}, sent {agg['requests_sent']}, responses "
        f"{agg['responses_received']}, target {served}")
    check(t["state"] == "COMPLETED", f"{what}: state {t['state']}: {t['reason']}")
    check(agg["requests_sent"] == drivers * count == served == agg["responses_received"],
          f"{what}: counts {agg['requests_sent']}/{agg['responses_received']}, target {served}")
    for p in t["per_driver"]:
        check(p["final"] and p["requests_sent"] == count == p["responses_received"] and
              p["liveness"] == "alive", f"{what}: driver {p}")


def driver_view(orch_url, node_id):
    for d in get_json(orch_url + "/api/drivers")["drivers"]:
        if d["node_id"] == node_id:
            return d
    return None


def wait_liveness(orch_url, node_id, liveness, timeout=20):
    return wait_until(lambda: (lambda d: d if d and d["liveness"] == liveness else None)(
        driver_view(orch_url, node_id)), timeout=timeout, interval=0.1,
        what=f"{node_id} {liveness}")


def wait_quiet(fn, still_for=1.0, timeout=20, interval=0.2):
    """Wait until fn() returns the same value for still_for seconds; return it."""
    import time
    deadline = time.time() + timeout
    last, since = fn(), time.time()
    while time.time() < deadline:
        time.sleep(interval)
        v = fn()
        if v != last:
            last, since = v, time.time()
        elif time.time() - since >= still_for:
            return v
    raise TimeoutError(f"value kept changing for {timeout}s (last {last})")


__all__ = ["broker_on", "vm_hwm_kb", "proc_state", "target_total", "driver_view",
           "wait_liveness", "wait_quiet", "log"]
