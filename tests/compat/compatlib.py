"""The emulations of the original Python programs (original_driver.py and
original_orchestrator.py, on kafka-python 2.0.2 from Debian's python3-kafka,
run by Debian's /usr/bin/python3), started and stopped like the project's
own processes. Standard library only."""

import json
import os
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "orchestrator"))
sys.path.insert(0, os.path.join(HERE, "..", "faults"))

from dlt import check, free_port, get_json, log  # noqa: E402

# kafka-python comes from Debian (python3-kafka): its own interpreter.
ORIGINAL_PYTHON = "/usr/bin/python3"


def original_driver(cluster, target_url, report_id=None, name="original-driver"):
    """An original driver on cluster.kafka firing at target_url (its /ping);
    p.node_id is its id (a millisecond timestamp)."""
    argv = [ORIGINAL_PYTHON, "-u", os.path.join(HERE, "original_driver.py"),
            "--kafka", cluster.kafka, "--target", target_url]
    if report_id:
        argv += ["--report-id", report_id]
    p = cluster.start(name, argv, ready="ready ", timeout=30, ours=False)
    p.node_id = p.wait_line("ready ").split("node_id=")[1].split()[0]
    # Two started within the same millisecond would share an id, as the
    # original's would: keep them apart here.
    time.sleep(0.01)
    return p


def original_orchestrator(cluster, target_url):
    """The original orchestrator on cluster.kafka; p.url is its base URL;
    it forwards every report to target_url's /test."""
    port = free_port()
    argv = [ORIGINAL_PYTHON, "-u", os.path.join(HERE, "original_orchestrator.py"),
            "--kafka", cluster.kafka, "--listen", str(port), "--target", target_url]
    p = cluster.start("original-orchestrator", argv, ready="ready ", timeout=30, ours=False)
    p.url = f"http://127.0.0.1:{port}"
    return p


def start_original(orch_url, test_type, delay, count):
    """POST /startLoadTest as the original client does (whole-number delay)."""
    body = json.dumps({"test_type": test_type, "test_message_delay": int(delay),
                       "message_count_per_driver": count}).encode()
    req = urllib.request.Request(orch_url + "/startLoadTest", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def check_ms(lat, lo, hi, what):
    """Every latency figure of lat (ms; null allowed for unknowns) within lo..hi."""
    for k in ("min", "mean", "median", "max"):
        check(lo <= lat[k] <= hi, f"{what}: latency {k} {lat[k]} ms not in {lo}..{hi}")


def driver_liveness(orch_url, node_id):
    for d in get_json(orch_url + "/api/drivers")["drivers"]:
        if d["node_id"] == node_id:
            return d["liveness"]
    return None


__all__ = ["original_driver", "original_orchestrator", "start_original", "check_ms",
           "driver_liveness", "log"]
