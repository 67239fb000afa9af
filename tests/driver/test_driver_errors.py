"""Errors are counted by kind, never dropped: at --error-rate 0.1 about 10%
of requests are http_5xx (and show as status 500); with the target down
(a free port nobody listens on) a test still ends and every request is a
connect error; a request slower than timeout_ms is a timeout."""

from dlt import Cluster, check, free_port, run_test
from drvtest import Orchestra, check_report_shape, log_report, target_total, wait_target_quiet


def main():
    with Cluster() as c:
        c.broker()
        flaky = c.target("--error-rate", "0.1")
        o = Orchestra(c)
        d = c.driver("--threads", "2", target=flaky.url + "/ping")

        n = 2000
        r = o.run({"test_id": "err-rate", "test_type": "AVALANCHE", "test_message_delay": 0,
                   "message_count_per_driver": n, "concurrency": 16}, [d])[0]
        log_report(r)
        check_report_shape(r, d.node_id, "err-rate")
        k = r["error_kinds"]
        # Binomial(2000, 0.1): mean 200, sd 13.4; +-6 sd.
        check(120 <= k["http_5xx"] <= 280, f"http_5xx {k['http_5xx']} of {n}, want about 10%")
        check(k["connect"] == k["timeout"] == k["http_4xx"] == k["other"] == 0, f"kinds {k}")
        check(r["status_codes"].get("500") == k["http_5xx"], f"status codes {r['status_codes']}")
        check(r["status_codes"].get("200", 0) + k["http_5xx"] == n, f"codes {r['status_codes']}")
        check(r["errors"] == k["http_5xx"] and r["responses_received"] == n, f"{r}")
        wait_target_quiet(flaky)
        check(target_total(flaky) == n, f"target saw {target_total(flaky)}")

        # Target down: closed and open loop both end, all connect errors.
        down = f"http://127.0.0.1:{free_port()}/ping"
        for cfg in ({"test_id": "down-aval", "test_type": "AVALANCHE", "test_message_delay": 0,
                     "message_count_per_driver": 300, "target_url": down},
                    {"test_id": "down-tsu", "test_type": "TSUNAMI", "test_message_delay": 0.005,
                     "message_count_per_driver": 100, "target_url": down}):
            r = o.run(cfg, [d], timeout=60)[0]
            log_report(r)
            cnt = cfg["message_count_per_driver"]
            check(r["requests_sent"] == cnt and r["responses_received"] == 0, f"{r}")
            check(r["error_kinds"]["connect"] == cnt and r["errors"] == cnt,
                  f"{cfg['test_id']}: kinds {r['error_kinds']}")
            check(r["status_codes"] == {}, f"status codes {r['status_codes']}")
            check(r["elapsed_ms"] < 30000, f"took {r['elapsed_ms']} ms")

        # timeout_ms: a 2 s delay against a 300 ms timeout.
        slow = c.target("--delay-ms", "2000")
        r = o.run({"test_id": "tmo", "test_type": "AVALANCHE", "test_message_delay": 0,
                   "message_count_per_driver": 20, "concurrency": 10, "timeout_ms": 300,
                   "target_url": slow.url + "/ping"}, [d])[0]
        log_report(r)
        check(r["error_kinds"]["timeout"] == 20 and r["responses_received"] == 0, f"{r}")
        check(r["elapsed_ms"] < 1900, f"timeouts took {r['elapsed_ms']} ms")


if __name__ == "__main__":
    run_test(main)
