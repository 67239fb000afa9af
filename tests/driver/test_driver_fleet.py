"""Two drivers with kcat as an orchestrator speaking the original format (no
extension fields): an AVALANCHE of 2 x 500 puts exactly 1,000 requests on
the target, a TSUNAMI of 2 x 50 at 20 ms exactly 100 in about a second. One
driver runs two engine threads. Also: a common start_at,  register (with its extensions) and
heartbeats, cumulative reports, the SQLite store surviving a restart, and
SIGTERM mid-test (final report, unregister, exit 0)."""

import json
import os
import sqlite3
import time

from dlt import Cluster, check, log, run_test, wait_until
from drvtest import (Orchestra, check_report_shape, log_report, now_ms, target_total,
                     wait_target_quiet)


def db_rows(path):
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT test_id, node_id, requests_sent, report_json "
                           "FROM driver_tests ORDER BY test_id").fetchall()
    finally:
        con.close()


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        o = Orchestra(c)
        d1 = c.driver(target=target.url + "/ping")
        d2 = c.driver("--threads", "2", target=target.url + "/ping")
        nodes = [d1, d2]
        check(d1.node_id != d2.node_id, "node ids must differ")

        # register: original fields plus the extensions.
        for d in nodes:
            reg = o.register.wait_for(lambda m, d=d: m.get("node_id") == d.node_id)
            check(reg["message_type"] == "DRIVER_NODE_REGISTER", f"register {reg}")
            check(reg["node_IP"] and reg["hostname"] and reg["pid"] == d.pid
                  and reg["version"] and reg["timestamp"] > 0, f"register {reg}")
            o.heartbeat.wait_for(lambda m, d=d: m.get("node_id") == d.node_id
                                 and m.get("heartbeat") == "YES" and m.get("state") == "IDLE")

        # AVALANCHE 2 x 500, original format.
        cfg = {"test_id": "aval-1", "test_type": "AVALANCHE", "test_message_delay": 0,
               "message_count_per_driver": 500}
        finals = o.run(cfg, nodes)
        for d, r in zip(nodes, finals):
            log_report(r)
            check_report_shape(r, d.node_id, "aval-1")
            check(r["requests_sent"] == 500 and r["responses_received"] == 500
                  and r["errors"] == 0 and r["status_codes"] == {"200": 500}, f"report {r}")
        wait_target_quiet(target)
        total = target_total(target)
        check(total == 1000, f"target saw {total} requests, want exactly 1000")

        # TSUNAMI 2 x 50 at 20 ms (numbers as strings, as the original sent them).
        cfg = {"test_id": "tsu-1", "test_type": "TSUNAMI", "test_message_delay": "0.02",
               "message_count_per_driver": "50"}
        t0 = time.time()
        finals = o.run(cfg, nodes)
        took = time.time() - t0
        for d, r in zip(nodes, finals):
            log_report(r)
            check_report_shape(r, d.node_id, "tsu-1")
            check(r["requests_sent"] == 50 and r["responses_received"] == 50 and r["errors"] == 0,
                  f"report {r}")
            # 49 gaps of 20 ms: the last request is due at 980 ms.
            check(950 <= r["elapsed_ms"] <= 2500, f"elapsed {r['elapsed_ms']} ms, want ~1000")
            check(r["first_send_ms"] > 0, "first_send_ms missing")
        check(took < 10, f"TSUNAMI took {took:.1f}s end to end")
        wait_target_quiet(target)
        total = target_total(target)
        check(total == 1100, f"target saw {total} requests in all, want exactly 1100")

        # start_at: both drivers start at the common instant, not on receipt.
        start_at = now_ms() + 1500
        cfg = {"test_id": "start-at", "test_type": "TSUNAMI", "test_message_delay": 0.01,
               "message_count_per_driver": 20}
        finals = o.run(cfg, nodes, start_at_ms=start_at)
        firsts = [r["first_send_ms"] for r in finals]
        log(f"start_at {start_at}, first sends {[f - start_at for f in firsts]} ms after it")
        for f in firsts:
            check(start_at - 5 <= f <= start_at + 250, f"first send {f - start_at} ms off start_at")
        check(max(firsts) - min(firsts) <= 250, f"start skew {max(firsts) - min(firsts)} ms")
        wait_target_quiet(target)
        check(target_total(target) == 1140, f"target saw {target_total(target)}, want 1140")

        # Cumulative reports during a run: seq 0, 1, ... then the final one.
        cfg = {"test_id": "tsu-2", "test_type": "TSUNAMI", "test_message_delay": 0.01,
               "message_count_per_driver": 250, "report_interval_ms": 500,
               "drivers": [d1.node_id]}
        r = o.run(cfg, [d1])[0]
        reps = o.reports("tsu-2", d1.node_id)
        seqs = [m["seq"] for m in reps]
        check(seqs == list(range(len(seqs))) and len(seqs) >= 4, f"seqs {seqs}")
        check([m["final"] for m in reps] == [False] * (len(reps) - 1) + [True],
              f"final flags {[m['final'] for m in reps]}")
        sent = [m["requests_sent"] for m in reps]
        check(sent == sorted(sent) and 0 < sent[0] < 250, f"requests_sent not cumulative: {sent}")
        check(len({m["report_id"] for m in reps}) == len(reps), "report ids repeat")
        check(not o.reports("tsu-2", d2.node_id), "d2 ran a test that named only d1")
        hb = [m for m in o.heartbeat.json_messages() if m.get("node_id") == d1.node_id
              and m.get("test_id") == "tsu-2" and m.get("state") == "RUNNING"]
        check(hb and max(m["requests_sent"] for m in hb) > 0, f"RUNNING heartbeats {hb}")

        # SIGTERM in the middle of a test: final report, unregister, exit 0.
        cfg = {"test_id": "tsu-3", "test_type": "TSUNAMI", "test_message_delay": 0.01,
               "message_count_per_driver": 1000, "drivers": [d2.node_id]}
        o.config(cfg)
        o.wait_ready("tsu-3", [d2])
        o.trigger("tsu-3")
        o.heartbeat.wait_for(lambda m: m.get("node_id") == d2.node_id
                             and m.get("state") == "RUNNING")
        time.sleep(0.5)
        rc = d2.stop()
        check(rc == 0, f"driver exited {rc} on SIGTERM")
        r = o.final("tsu-3", d2, 10)
        check(0 < r["requests_sent"] < 1000 and r.get("failure"), f"report after SIGTERM {r}")
        o.register.wait_for(lambda m: m.get("node_id") == d2.node_id
                            and m.get("message_type") == "DRIVER_NODE_UNREGISTER", 10)

        # The store: each test's final report, surviving a restart.
        rows = db_rows(d2.db)
        check([r[0] for r in rows] == ["aval-1", "start-at", "tsu-1", "tsu-3"], f"d2 rows {[r[:3] for r in rows]}")
        check(json.loads(rows[0][3])["requests_sent"] == 500, "stored report differs")
        d2b = c.driver(target=target.url + "/ping", db=d2.db)
        check(d2b.node_id != d2.node_id, "a restarted driver gets a new node id")
        r = o.run({"test_id": "aval-2", "test_type": "AVALANCHE", "test_message_delay": 0,
                   "message_count_per_driver": 10, "drivers": [d2b.node_id]}, [d2b])[0]
        check(r["requests_sent"] == 10, f"after restart {r}")
        d2b.stop()
        rows = db_rows(d2.db)
        check([r[0] for r in rows] == ["aval-1", "aval-2", "start-at", "tsu-1", "tsu-3"], f"rows {[r[:3] for r in rows]}")
        check(os.path.getsize(d2.db) > 0, "db file empty")


if __name__ == "__main__":
    run_test(main)
