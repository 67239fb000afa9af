"""load-client start --wait on the 3-node cluster: two drivers, a TSUNAMI
test followed to its end; the summary says COMPLETED with every request
sent and answered, and matches the orchestrator's figures and the target's
count. --threshold turns a breach into exit status 1."""

import subprocess

from dlt import Cluster, binary, check, get_json, log, run_test
from kafkalib import fleet, prefix, shared
from orchlib import target_count

COUNT = 500


def client(orch, *args, timeout=120):
    r = subprocess.run([binary("load-client"), "--orchestrator", orch.url, *args],
                       capture_output=True, text=True, timeout=timeout)
    return r


def main():
    kc = shared()
    pfx = prefix("client")
    with Cluster() as c:
        c.kafka = kc.bootstrap
        target, orch, drivers = fleet(c, pfx, 2)
        before = target_count(target.url)
        r = client(orch, "start", "--type", "tsunami", "--count", str(COUNT), "--delay", "5ms",
                   "--wait")
        log("start --wait:\n" + r.stdout + r.stderr)
        check(r.returncode == 0, f"exit {r.returncode}")
        check("State: COMPLETED" in r.stdout, "no COMPLETED in the summary")
        rows = [ln.split() for ln in r.stdout.splitlines() if ln.startswith(("all ", "d-"))]
        allrow = [x for x in rows if x[0] == "all"]
        check(allrow and allrow[0][1] == str(2 * COUNT) and allrow[0][2] == str(2 * COUNT)
              and allrow[0][3] == "0", f"summary row {allrow}")
        check(sorted(x[0] for x in rows if x[0] != "all") == sorted(d.node_id for d in drivers),
              f"driver rows {rows}")
        check(target_count(target.url) - before == 2 * COUNT, "target count")
        tid = get_json(orch.url + "/api/tests")["tests"][0]["test_id"]
        check(tid in r.stdout, f"test id {tid} not in the output")

        r = client(orch, "start", "--type", "tsunami", "--count", "50", "--delay", "1ms",
                   "--wait", "--threshold", "p99<0.001ms")
        log(f"breached threshold: exit {r.returncode}")
        check(r.returncode == 1, f"a breached threshold gave exit {r.returncode}: {r.stderr}")


if __name__ == "__main__":
    run_test(main)
