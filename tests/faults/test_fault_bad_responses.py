"""A target that misbehaves (tests/faults/badserver.py): a 100 MB body, an
endless chunked body, a garbage status line, a response cut mid-body, a
1 MB header, an HTTP/0.9-style reply, a server that accepts and never
answers, and a 204. Each request is counted as the right kind (success
where HTTP says so: the 100 MB body and the 204), every test ends with
requests_sent = responses_received + connect + timeout + other, the
driver's peak memory (VmHWM) grows by less than 48 MB although 400 MB of
bodies went through it, and it keeps serving (a normal test afterwards).

kcat plays the orchestrator (tests/driver/drvtest.py)."""

from badserver import BadServer
from dlt import Cluster, check, log, run_test
from faultlib import vm_hwm_kb  # noqa: I100 - puts tests/driver on the path first
from drvtest import Orchestra, check_report_shape

# path -> (requests, timeout_ms, what each must be)
CASES = [
    ("/ok", 20, 2000, "ok"),
    ("/204", 20, 2000, "ok"),
    ("/huge", 4, 20000, "ok"),
    ("/endless", 4, 1500, "timeout"),
    ("/garbage", 20, 2000, "other"),
    ("/cut", 20, 2000, "other"),
    ("/bigheader", 6, 2000, "other"),
    ("/http09", 20, 2000, "other"),
    ("/silent", 8, 1000, "timeout"),
]
HWM_GROWTH_KB = 48 * 1024


def main():
    with Cluster() as c, BadServer() as bad:
        c.broker()
        target = c.target()
        o = Orchestra(c)
        d = c.driver(target=target.url + "/ping")
        # Warm up: one normal test, so the baseline holds what any test needs.
        r = o.run({"test_id": "warm", "test_type": "AVALANCHE", "test_message_delay": 0,
                   "message_count_per_driver": 200, "concurrency": 4}, [d])[0]
        check(r["responses_received"] == 200, f"warm-up {r}")
        base = vm_hwm_kb(d.pid)
        log(f"driver VmHWM after warm-up: {base} KiB")

        for i, (path, n, tmo, want) in enumerate(CASES):
            tid = f"bad-{i}-{path.strip('/')}"
            r = o.run({"test_id": tid, "test_type": "AVALANCHE", "test_message_delay": 0,
                       "message_count_per_driver": n, "concurrency": 4, "timeout_ms": tmo,
                       "target_url": bad.url + path}, [d], timeout=90)[0]
            check_report_shape(r, d.node_id, tid)
            k = r["error_kinds"]
            done = r["responses_received"] + k["connect"] + k["timeout"] + k["other"]
            hwm = vm_hwm_kb(d.pid)
            log(f"{path}: sent {r['requests_sent']}, responses {r['responses_received']}, "
                f"kinds {k}, codes {r['status_codes']}, {r['elapsed_ms']} ms, "
                f"VmHWM {hwm} KiB (+{hwm - base})")
            check(r["requests_sent"] == n == done, f"{path}: {n} asked, {r['requests_sent']} "
                  f"sent, {done} accounted for")
            if want == "ok":
                check(r["responses_received"] == n and r["errors"] == 0, f"{path}: {r}")
            else:
                check(k[want] == n and r["responses_received"] == 0,
                      f"{path}: want {n} {want}, got {k}")
            check(hwm - base < HWM_GROWTH_KB, f"{path}: VmHWM grew by {hwm - base} KiB")
            check(d.alive(), f"the driver died on {path}")
        check(bad.hits("/huge") == 4, f"/huge served {bad.hits('/huge')} times")

        r = o.run({"test_id": "after", "test_type": "AVALANCHE", "test_message_delay": 0,
                   "message_count_per_driver": 500}, [d])[0]
        check(r["responses_received"] == 500 and r["errors"] == 0, f"after: {r}")


if __name__ == "__main__":
    run_test(main)
