"""What the driver refuses, and that it keeps serving afterwards:
- bad configs (a negative count, an unknown type, a non-numeric delay, not
  JSON at all) are logged once with their reason and skipped; those with a
  test_id get a final report with a failure; a good test after them runs;
- a target not allowed by --allow-target is refused in a final report and
  gets no request; so is a host outside the default (--target host +
  loopback);
- a config while busy is refused ("busy"); ABORT stops the running test (no
  new sends, final report), an ABORT for another test is ignored;
- a config naming other drivers is ignored; h2c with an old libcurl is refused;
- bad command lines: one line on stderr starting "load-driver: ", exit 2."""

import json
import os
import subprocess
import time

from dlt import BUILD, Cluster, check, kcat_produce, log, run_test
from drvtest import Orchestra, log_report, target_total

DRIVER = os.path.join(BUILD, "src/driver/load-driver")


def check_cli():
    for argv in (["--threads", "0"], ["--threads", "x"], ["--bogus"], ["extra"],
                 ["--target", "ftp://x/"], ["--target", "127.0.0.1:80"], ["--node-id", "a b"],
                 ["--node-ip", "300.1.1.1"], ["--heartbeat-interval", "5x"],
                 ["--max-in-flight", "-1"], ["-X", "no.such.property=1"], ["--kafka"],
                 ["--log-level", "loud"], ["--allow-target", "http://x/"], ["--db", ""]):
        r = subprocess.run([DRIVER, *argv], capture_output=True, timeout=10)
        err = r.stderr.decode().strip()
        check(r.returncode == 2, f"{argv}: exit {r.returncode} ({err})")
        check(len(err.splitlines()) == 1 and err.startswith("load-driver: "), f"{argv}: {err!r}")
    r = subprocess.run([DRIVER, "--help"], capture_output=True, timeout=10)
    text = r.stdout.decode()
    check(r.returncode == 0, "--help failed")
    for opt in ("--kafka", "-X", "--topic-prefix", "--target", "--orchestrator", "--db",
                "--threads", "--node-id", "--node-ip", "--allow-target", "--max-in-flight",
                "--heartbeat-interval", "--log-level", "--help", "--version", "default"):
        check(opt in text, f"--help does not mention {opt}")
    r = subprocess.run([DRIVER, "--version"], capture_output=True, timeout=10)
    check(r.returncode == 0 and r.stdout.decode().startswith("load-driver "), "--version")


def main():
    check_cli()
    with Cluster() as c:
        c.broker()
        t = c.target()
        o = Orchestra(c)
        d = c.driver(target=t.url + "/ping")
        picky = c.driver("--allow-target", "127.0.0.2", "--allow-target", "target.invalid",
                         target=t.url + "/ping", name="load-driver-picky")

        # Bad configs, each logged with its reason; the driver keeps serving.
        bad = {
            "bad-count": ({"test_id": "bad-count", "test_type": "AVALANCHE",
                           "test_message_delay": 0, "message_count_per_driver": -5},
                          "message_count_per_driver"),
            "bad-type": ({"test_id": "bad-type", "test_type": "HURRICANE",
                          "test_message_delay": 0, "message_count_per_driver": 5}, "test_type"),
            "bad-delay": ({"test_id": "bad-delay", "test_type": "TSUNAMI",
                           "test_message_delay": "soon", "message_count_per_driver": 5},
                          "test_message_delay"),
        }
        for cfg, _ in bad.values():
            o.config(cfg, key=cfg["test_id"])
        kcat_produce(c.kafka, "test_config", "this is not json {")
        kcat_produce(c.kafka, "trigger", '{"test_id": 5, "trigger": "MAYBE"}')
        for tid, (_, field) in bad.items():
            r = o.final(tid, d, 20)
            check(field in r.get("failure", "") and r["requests_sent"] == 0, f"{tid}: {r}")
        r = o.run({"test_id": "good", "test_type": "AVALANCHE", "test_message_delay": 0,
                   "message_count_per_driver": 50}, [d])[0]
        check(r["responses_received"] == 50 and r["errors"] == 0, f"good test after bad: {r}")
        text = d.stderr_text()
        for tid, (_, field) in bad.items():
            lines = [ln for ln in text.splitlines() if "test_config skipped" in ln and field in ln]
            check(len(lines) >= 1, f"no logged reason naming {field}")
        check(text.count("not valid JSON") == 1, "garbage config not logged exactly once")
        check("trigger skipped" in text, "bad trigger not logged")

        # --allow-target: the picky driver refuses a loopback target it was
        # not given, and sends nothing.
        before = target_total(t)
        o.config({"test_id": "deny", "test_type": "AVALANCHE", "test_message_delay": 0,
                  "message_count_per_driver": 20, "drivers": [picky.node_id]})
        r = o.final("deny", picky, 20)
        log(f"refusal: {r.get('failure')}")
        check(r["requests_sent"] == 0 and "not allowed" in r.get("failure", ""), f"deny: {r}")
        o.trigger("deny")
        time.sleep(1)
        check(target_total(t) == before, "a refused test sent requests")
        check(not any(m.get("node_id") == picky.node_id and m.get("state") == "READY"
                      for m in o.heartbeat.json_messages()), "refused test went READY")
        # The default allows only the --target host and loopback.
        o.config({"test_id": "deny2", "test_type": "AVALANCHE", "test_message_delay": 0,
                  "message_count_per_driver": 20, "drivers": [d.node_id],
                  "target_url": "http://192.0.2.1/ping"})
        r = o.final("deny2", d, 20)
        check(r["requests_sent"] == 0 and "not allowed" in r.get("failure", ""), f"deny2: {r}")

        # HTTP/2 over http:// is h2c prior knowledge, which libcurl before 8.0
        # breaks on connection reuse: refused with that reason there.
        ver = subprocess.run(["curl-config", "--vernum"], capture_output=True, timeout=10)
        if ver.returncode == 0 and int(ver.stdout.decode().strip(), 16) < 0x080000:
            o.config({"test_id": "h2c", "test_type": "AVALANCHE", "test_message_delay": 0,
                      "message_count_per_driver": 5, "http2": True, "drivers": [d.node_id]})
            r = o.final("h2c", d, 20)
            check("HTTP/2" in r.get("failure", "") and r["requests_sent"] == 0, f"h2c: {r}")

        # A config naming other drivers only is ignored.
        o.config({"test_id": "others", "test_type": "AVALANCHE", "test_message_delay": 0,
                  "message_count_per_driver": 5, "drivers": ["d-someone-else"]})

        # Busy, then ABORT.
        o.config({"test_id": "long", "test_type": "TSUNAMI", "test_message_delay": 0.01,
                  "message_count_per_driver": 1000, "drivers": [d.node_id]})
        o.wait_ready("long", [d])
        o.trigger("long")
        o.heartbeat.wait_for(lambda m: m.get("test_id") == "long" and m.get("state") == "RUNNING")
        o.config({"test_id": "second", "test_type": "AVALANCHE", "test_message_delay": 0,
                  "message_count_per_driver": 5, "drivers": [d.node_id]})
        r = o.final("second", d, 20)
        check("busy" in r.get("failure", "") and r["requests_sent"] == 0, f"busy: {r}")
        o.trigger("not-running", abort=True)  # ignored
        time.sleep(0.5)
        check(not o.reports("long", d.node_id) or not any(
            m["final"] for m in o.reports("long", d.node_id)), "ABORT of another test stopped it")
        o.trigger("long", abort=True)
        r = o.final("long", d, 20)
        log_report(r)
        check(0 < r["requests_sent"] < 1000 and r.get("failure") == "aborted", f"abort: {r}")
        sent = r["requests_sent"]
        time.sleep(0.5)
        total = target_total(t)
        time.sleep(0.5)
        check(target_total(t) == total, "requests kept coming after ABORT")
        o.heartbeat.wait_for(lambda m: m.get("node_id") == d.node_id and m.get("state") == "IDLE"
                             and m.get("timestamp", 0) > time.time() - 1)
        check(not o.reports("others"), "a test for other drivers got reports")
        log(f"aborted after {sent} requests")

        # Still serving after all that.
        r = o.run({"test_id": "after", "test_type": "TSUNAMI", "test_message_delay": 0.001,
                   "message_count_per_driver": 100}, [d])[0]
        check(r["responses_received"] == 100, f"after: {r}")


if __name__ == "__main__":
    run_test(main)
