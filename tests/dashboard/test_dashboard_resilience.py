"""The dashboard through an orchestrator restart, an API token and a driver
killed with SIGKILL, in headless Chromium against the real system:

1. the orchestrator stops: the page says it is disconnected and reconnecting;
   it starts again on the same port and --db: the page is live again, has
   fetched the state again, and still lists the test run before;
2. restarted with --api-token: starting a test from the form asks for the
   token (declining sends nothing; a wrong token is refused and asked for
   again; the right one is kept in sessionStorage and the test starts);
3. a driver killed with SIGKILL is shown dead (heartbeat timeout 3 s),
   the other stays alive, and each liveness has its own colour."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dashlib import (JS_LIVENESS, JS_TEST_STATES, Orchestrator, artifact,  # noqa: E402
                     open_dashboard, start_drivers, wait_conn, wait_liveness,
                     wait_test_state)
from dlt import Cluster, check, get_json, http, log, run_test  # noqa: E402

TOKEN = "s3cret-dashboard-token"
HB = ("--heartbeat-timeout", "3s")

# How many times the page fetched the test list (at load and on each reconnect).
JS_LIST_FETCHES = """() => performance.getEntriesByType('resource')
    .filter((e) => new URL(e.name).pathname === '/api/tests').length"""


def run_api_test(orch, target, count=50):
    status, _, body = http("POST", orch.url + "/api/tests",
                           {"test_type": "AVALANCHE", "message_count_per_driver": count,
                            "target_url": target.url + "/ping"})
    check(status == 201, f"POST /api/tests -> {status} {body[:200]!r}")
    return json.loads(body)["test_id"]


def check_restart(b, c, orch, target, ds):
    tid = run_api_test(orch, target)
    wait_test_state(b, tid, "COMPLETED", timeout=60)
    fetches = b.eval(JS_LIST_FETCHES)
    orch.stop()
    wait_conn(b, "reconnecting", timeout=15)
    log("orchestrator stopped: the page shows it is reconnecting")
    b.screenshot(artifact("dashboard-reconnecting.png"))
    time.sleep(3)  # a few failed reconnects while nothing listens
    check(b.eval("() => document.getElementById('conn').dataset.state") == "reconnecting",
          "the indicator left 'reconnecting' while the orchestrator was down")
    orch.start(*HB)
    wait_conn(b, "live", timeout=30)
    b.wait("(n) => (" + JS_LIST_FETCHES + ")() > n", fetches, timeout=15,
           what="the test list fetched again after the reconnect")
    states = b.eval(JS_TEST_STATES)
    check(states.get(tid) == "COMPLETED", f"the test run before the restart: {states}")
    for d in ds:
        wait_liveness(b, d.node_id, "alive", timeout=30)
    log("reconnected: live again, the state fetched again, the old test still listed")
    return tid


def check_token(b, orch, target, ds):
    orch.stop()
    wait_conn(b, "reconnecting", timeout=15)
    orch.start(*HB, "--api-token", TOKEN)
    wait_conn(b, "live", timeout=30)
    # A test starts with the drivers alive: wait until the new orchestrator
    # hears them again.
    for d in ds:
        wait_liveness(b, d.node_id, "alive", timeout=30)
    b.fill("#start-form [name=count]", "40")
    b.fill("#start-form [name=delay]", "0.01")
    b.fill("#start-form [name=url]", target.url + "/ping")
    before = len(get_json(orch.url + "/api/tests")["tests"])

    # Declined: nothing is sent, and the form says why.
    b.click("#start-form button[type=submit]")
    b.wait("() => document.getElementById('token-dialog').open", what="the token prompt")
    b.screenshot(artifact("dashboard-token-prompt.png"))
    b.click("#token-dialog button[value=cancel]")
    shown = b.wait("() => { const e = document.getElementById('form-error'); "
                   "return !e.hidden && e.textContent; }", what="the form's error box")
    check("token" in shown, f"after declining the prompt the page says {shown!r}")

    # A wrong token is refused and asked for again; the right one is kept.
    b.click("#start-form button[type=submit]")
    b.wait("() => document.getElementById('token-dialog').open", what="the token prompt")
    check(b.eval("() => document.getElementById('token-refused').hidden"),
          "the prompt says a token was refused before any was sent")
    b.fill("#token-input", "wrong-token")
    b.click("#token-dialog button[value=ok]")
    b.wait("() => document.getElementById('token-dialog').open && "
           "!document.getElementById('token-refused').hidden", what="the prompt again, refused")
    b.fill("#token-input", TOKEN)
    b.click("#token-dialog button[value=ok]")
    tid = b.wait("() => { const s = document.getElementById('form-status').textContent; "
                 "return s.startsWith('started ') && s.slice(8); }", what="test started")
    check(b.eval("() => sessionStorage.getItem('dlt.apiToken')") == TOKEN, "token not kept")
    check(len(get_json(orch.url + "/api/tests")["tests"]) == before + 1,
          "declined or refused tries created a test")
    wait_test_state(b, tid, "COMPLETED", timeout=60)

    # The kept token is sent at once: the next test starts without a prompt.
    b.click("#start-form button[type=submit]")
    tid2 = b.wait("(old) => { const s = document.getElementById('form-status').textContent; "
                  "return s.startsWith('started ') && s.slice(8) !== old && s.slice(8); }", tid,
                  what="a second test started")
    check(not b.eval("() => document.getElementById('token-dialog').open"), "asked again")
    wait_test_state(b, tid2, "COMPLETED", timeout=60)
    log("the token prompt: declined, refused, accepted and kept")


def check_dead(b, ds):
    victim, other = ds[1], ds[0]
    victim.kill()
    log(f"SIGKILL to {victim.node_id} (pid {victim.pid})")
    seen = b.eval("""async (id) => {
        const seen = [];
        const t0 = performance.now();
        while (performance.now() - t0 < 60000) {
          const s = (""" + JS_LIVENESS + """)()[id];
          if (s !== seen[seen.length - 1]) seen.push(s);
          if (s === 'dead') break;
          await new Promise((r) => setTimeout(r, 50));
        }
        return seen;
    }""", victim.node_id, timeout=120)
    log(f"{victim.node_id} shown as: {' -> '.join(seen)}")
    check(seen[-1] == "dead", f"the killed driver is shown {seen}")
    check(b.eval(JS_LIVENESS)[other.node_id] == "alive", "the other driver is not alive")
    colours = b.eval("""() => Object.fromEntries(['alive', 'suspect', 'dead'].map((l) => {
        const s = document.createElement('span'); s.className = `badge live-${l}`;
        document.body.append(s); const c = getComputedStyle(s);
        const r = [c.color, c.backgroundColor].join(' / '); s.remove(); return [l, r]; }))""")
    check(len(set(colours.values())) == 3, f"liveness colours {colours}")
    b.eval("() => window.scrollTo(0, 0)")
    b.screenshot(artifact("dashboard-driver-dead.png"))


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = Orchestrator(c, *HB)
        ds = start_drivers(c, target, 2)
        b = open_dashboard(c, orch.url, ds)
        check_restart(b, c, orch, target, ds)
        check_token(b, orch, target, ds)
        check_dead(b, ds)
        errors = b.page_errors()
        check(errors == [], f"the page threw: {errors}")


if __name__ == "__main__":
    run_test(main)
