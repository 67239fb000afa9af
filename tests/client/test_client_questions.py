"""The original client's questions with the real system: answered through
a pipe, and typed by a person at a terminal (tmux: a wrong answer is asked
again); then start --wait on a terminal draws its progress bar and ends with
the summary. Every test started this way reaches the drivers with the
answers given."""

import os
import re
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clientlib import (Tmux, client, expect_fail, expect_ok, start_system,  # noqa: E402
                       wait_test_final)
from dlt import Cluster, binary, check, log, run_test  # noqa: E402


def started_id(text):
    m = re.search(r"Load test started with Test ID: (\S+)", text)
    check(m, f"no 'Load test started' line in:\n{text}")
    return m.group(1)


def check_pipe(orch, ds):
    r = expect_ok(client(input="1\n60\n", url=orch.url))
    check(re.fullmatch(r"Load test started with Test ID: \S+\n", r.out), f"output {r.out!r}")
    t = wait_test_final(orch.url, started_id(r.out))
    check(t["state"] == "COMPLETED", f"state {t['state']} {t.get('reason')}")
    check(t["config"]["test_type"] == "AVALANCHE" and
          t["config"]["message_count_per_driver"] == 60, f"config {t['config']}")
    check(t["aggregate"]["requests_sent"] == 60 * len(ds), f"sent {t['aggregate']}")

    r = expect_ok(client(input="2\n20\n0.01\n", url=orch.url))
    t = wait_test_final(orch.url, started_id(r.out))
    check(t["state"] == "COMPLETED", f"state {t['state']}")
    check(t["config"]["test_type"] == "TSUNAMI" and t["config"]["message_count_per_driver"] == 20
          and abs(t["config"]["test_message_delay"] - 0.01) < 1e-9, f"config {t['config']}")

    expect_fail(client(input="7\n", url=orch.url), 2, "not a test type")
    expect_fail(client(input="2\n20\n", url=orch.url), 2, "end of input")


def check_tmux_questions(orch, ds):
    cmd = (f"{shlex.quote(binary('load-client'))} --orchestrator {shlex.quote(orch.url)}; "
           f"echo EXIT=$?")
    with Tmux("ask", cmd) as tm:
        tm.wait_for("Test type (1 or 2): ")
        tm.type_line("tornado")
        s = tm.wait_for("please try again")
        check("'tornado' is not a test type" in s, f"screen:\n{s}")
        tm.type_line("2")
        tm.wait_for("Messages per driver: ")
        tm.type_line("0")
        tm.wait_for("out of range")
        tm.type_line("25")
        tm.wait_for("Delay between messages (seconds): ")
        tm.type_line("20ms")
        s = tm.wait_for("EXIT=", timeout=30)
        log("tmux screen:\n" + s)
        check("EXIT=0" in s, f"exit status on screen:\n{s}")
        tid = started_id(s)
    t = wait_test_final(orch.url, tid)
    check(t["state"] == "COMPLETED", f"state {t['state']}")
    check(t["config"]["test_type"] == "TSUNAMI" and t["config"]["message_count_per_driver"] == 25
          and abs(t["config"]["test_message_delay"] - 0.02) < 1e-9, f"config {t['config']}")
    check(t["aggregate"]["requests_sent"] == 25 * len(ds), f"aggregate {t['aggregate']}")


def check_tmux_progress(orch, target, ds):
    cmd = (f"{shlex.quote(binary('load-client'))} --orchestrator {shlex.quote(orch.url)} start "
           f"--type tsunami --count 150 --delay 20ms --url {shlex.quote(target.url + '/ping')} "
           f"--wait --threshold 'errors<1%'; echo EXIT=$?")
    with Tmux("wait", cmd, width=160) as tm:
        s = tm.wait_for("RUNNING", timeout=30)
        check(re.search(r"RUNNING \[[#-]{10,30}\] +\d+\.\d% +\d+/300 ", s), f"no bar:\n{s}")
        s = tm.wait_for("EXIT=", timeout=60)
        log("tmux screen:\n" + s)
        check("EXIT=0" in s, f"exit status:\n{s}")
        check("State: COMPLETED" in s and "threshold errors<1%: PASS" in s, f"summary:\n{s}")
        # Redrawn in place: the bar is not one line per poll.
        check(len(re.findall(r"RUNNING\s+\[", s)) <= 2, f"bar not redrawn in place:\n{s}")
        for d in ds:
            check(re.search(rf"^{re.escape(d.node_id)}\s+150\s+150\s+0\s", s, re.M),
                  f"no summary row for {d.node_id}:\n{s}")
        check(re.search(r"^all\s+300\s+300\s+0\s", s, re.M), f"no aggregate row:\n{s}")


def main():
    with Cluster() as c:
        target, orch, ds = start_system(c, drivers=2)
        check_pipe(orch, ds)
        check_tmux_questions(orch, ds)
        check_tmux_progress(orch, target, ds)


if __name__ == "__main__":
    run_test(main)
