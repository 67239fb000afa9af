"""The start form's duration and stages, in headless Chromium against the
real system (load-broker, target-server, load-orchestrator, two
load-drivers): bad input in those fields (a negative, zero or too long
duration, an unknown unit, garbage, a stage without a target or with a
negative one, a stage of 0 s, a trailing comma, a target over the limit, and
what goes with stages: no count nor duration nor stages, a TSUNAMI's delay,
an AVALANCHE's concurrency; a start for the stages that is garbage,
negative or without stages) is marked on its field with its reason, sends
no request and creates no test; stages the orchestrator refuses (over a week
in all) show its own 400 reason and create no test. A TSUNAMI and an
AVALANCHE started from the form with a duration and two stages, given with
units (the AVALANCHE's from a start of 1), are stored by the orchestrator
with exactly that duration, those stages in seconds and that start (GET
/api/tests/{id}), end COMPLETED at their duration,
and the config view shows the duration and the stages, and says that the
stages set a TSUNAMI's rate and an AVALANCHE's requests in flight."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dashlib import (FORM_BLANK, JS_CONFIG, JS_COUNT_POSTS, api_tests, artifact,  # noqa: E402
                     check_form_refuses, check_orchestrator_refuses, open_dashboard,
                     start_drivers, start_from_form, wait_test_state)
from dlt import Cluster, check, get_json, log, run_test  # noqa: E402

# (what, fields over FORM_BLANK, the field marked, a part of its message).
WEEK = "above 0, at most a week"
BAD = [
    ("a negative duration", {"duration": "-5"}, "duration", WEEK),
    ("a negative duration with a unit", {"duration": "-30s"}, "duration", WEEK),
    ("a zero duration", {"duration": "0s"}, "duration", WEEK),
    ("a garbage duration", {"duration": "soon"}, "duration", WEEK),
    ("a duration in an unknown unit", {"duration": "3d"}, "duration", WEEK),
    ("a duration over a week", {"duration": "169h"}, "duration", WEEK),
    ("a stage without a target", {"stages": "10s"}, "stages", '"10s" is not duration:target'),
    ("a stage with an empty target", {"stages": "10s:"}, "stages", '"10s:" is not duration:target'),
    ("a second stage without a target", {"stages": "10s:500, 5s"}, "stages",
     '"5s" is not duration:target'),
    ("garbage stages", {"stages": "garbage"}, "stages", '"garbage" is not duration:target'),
    ("a stage without a duration", {"stages": ":500"}, "stages", '":500" is not duration:target'),
    ("a stage of 0 s", {"stages": "0s:500"}, "stages", '"0s:500" is not duration:target'),
    ("a stage with a negative duration", {"stages": "-10s:500"}, "stages",
     '"-10s:500" is not duration:target'),
    ("a stage with a negative target", {"stages": "10s:-5"}, "stages",
     '"10s:-5" is not duration:target'),
    ("a stage with a garbage target", {"stages": "10s:1.2.3"}, "stages",
     '"10s:1.2.3" is not duration:target'),
    ("a stage over the target limit", {"stages": "10s:20000000"}, "stages",
     '"10s:20000000" is not duration:target'),
    ("a trailing comma", {"stages": "10s:500,"}, "stages", "stage 2 is empty: a comma too many?"),
    ("an empty stage", {"stages": "10s:500, ,20s:5"}, "stages", "stage 2 is empty"),
    ("a good duration with bad stages", {"duration": "30s", "stages": "30s:five"}, "stages",
     '"30s:five" is not duration:target'),
    ("a garbage start for the stages", {"stages": "10s:5", "start_target": "two"},
     "start_target", "the level the first stage starts from"),
    ("a negative start for the stages", {"stages": "10s:5", "start_target": "-1"},
     "start_target", "the level the first stage starts from"),
    ("a start without stages", {"duration": "5s", "start_target": "3"}, "start_target",
     "give the stages too"),
    ("nothing that ends the test", {}, "count", "a whole number 1..1,000,000,000"),
    ("stages with a TSUNAMI's delay", {"stages": "10s:500", "delay": "0.01"}, "delay",
     "the stages set a TSUNAMI's rate"),
    ("stages with a TSUNAMI's rate", {"stages": "10s:500", "rate": "100"}, "rate",
     "the stages set a TSUNAMI's rate"),
    ("stages with an AVALANCHE's concurrency",
     {"test_type": "AVALANCHE", "stages": "10s:5", "concurrency": "4"}, "concurrency",
     "the stages set an AVALANCHE's requests in flight"),
]


def check_server_refusal(b, orch, target):
    """Each stage within a week but over a week in all: the form sends it,
    the orchestrator refuses it, and the page shows its reason."""
    check_orchestrator_refuses(
        b, orch, {"test_type": "TSUNAMI", **FORM_BLANK, "url": target.url + "/ping",
                  "stages": "100h:5, 100h:5"},
        {"test_type": "TSUNAMI", "target_url": target.url + "/ping",
         "stages": [{"duration": 360000, "target": 5}, {"duration": 360000, "target": 5}]})


def check_started(b, orch, test_id, want, shown):
    """The test as the API stores it and as the config view shows it."""
    t = get_json(f"{orch.url}/api/tests/{test_id}")
    cfg = t["config"]
    log(f"{test_id} config: {json.dumps(cfg)}")
    check(cfg["test_type"] == want["test_type"], f"type {cfg['test_type']}")
    # Exactly, in seconds: no rounding residue from the units.
    check(cfg.get("duration") == want["duration"],
          f"duration {cfg.get('duration')!r}, want {want['duration']!r}")
    check(cfg.get("stages") == want["stages"],
          f"stages {cfg.get('stages')!r}, want {want['stages']!r}")
    check("message_count_per_driver" not in cfg, f"a count was sent: {cfg}")
    check(cfg.get("start_target") == want.get("start_target"),
          f"start_target {cfg.get('start_target')!r}, want {want.get('start_target')!r}")
    if want["test_type"] == "TSUNAMI":
        check(not cfg.get("test_message_delay") and "target_throughput" not in cfg,
              f"a TSUNAMI with stages was sent a delay or a rate: {cfg}")
    else:
        check("concurrency" not in cfg, f"an AVALANCHE with stages was sent a concurrency: {cfg}")
    view = b.wait(f"(want) => {{ const c = ({JS_CONFIG})(); "
                  "return c.duration === want.duration && c.stages === want.stages && c; }",
                  shown, timeout=30, what=f"the config view showing {shown}")
    check(view["message_count_per_driver"] == "no count: the duration or stages end it",
          f"count shown as {view['message_count_per_driver']!r}")
    check(view["test_type"] == want["test_type"], f"type shown as {view['test_type']!r}")
    # What the stages set is said to be theirs, not a 0 s delay, an
    # unbounded rate or the default concurrency.
    by_stages = (["test_message_delay", "target_throughput"] if want["test_type"] == "TSUNAMI"
                 else ["concurrency"])
    for k in by_stages:
        check(view[k] == "set by the stages", f"{k} shown as {view[k]!r}")
    if want["test_type"] == "TSUNAMI":
        check(view["concurrency"] == "64 (default)",
              f"concurrency shown as {view['concurrency']!r}")
    return t


def check_ended(b, orch, test_id, want_duration):
    wait_test_state(b, test_id, "COMPLETED", timeout=120)
    t = get_json(f"{orch.url}/api/tests/{test_id}")
    check(t["state"] == "COMPLETED", f"API says {t['state']}: {t.get('reason')}")
    ran = (t["ended_ms"] - t["start_at_ms"]) / 1000
    check(ran >= want_duration - 0.05, f"ran {ran} s, shorter than its duration {want_duration}")
    check(t["aggregate"]["requests_sent"] > 0, f"{test_id} sent nothing")
    log(f"{test_id} COMPLETED after {ran:.2f} s, {t['aggregate']['requests_sent']} requests")


def main():
    with Cluster() as c:
        c.broker()
        target = c.target()
        orch = c.orchestrator()
        ds = start_drivers(c, target, 2)
        b = open_dashboard(c, orch.url, ds)
        b.eval(JS_COUNT_POSTS)

        check_form_refuses(b, orch, BAD, {"test_type": "TSUNAMI", **FORM_BLANK,
                                          "url": target.url + "/ping"})
        log(f"{len(BAD)} bad inputs refused by the form, none sent")
        b.screenshot(artifact("dashboard-form-refused.png"))
        check_server_refusal(b, orch, target)

        # A TSUNAMI ramping up over 1.5 s and down over 0.7 s, 2.3 s long.
        # The units are the form's: ms here, converted to seconds exactly.
        tsunami = start_from_form(b, orch, {
            "test_type": "TSUNAMI", **FORM_BLANK, "url": target.url + "/ping", "report": "250ms",
            "duration": "2300ms", "stages": "1500ms:40, 700ms:10"})
        check_started(b, orch, tsunami, {
            "test_type": "TSUNAMI", "duration": 2.3,
            "stages": [{"duration": 1.5, "target": 40}, {"duration": 0.7, "target": 10}]}, {
            "duration": "2.3 s",
            "stages": "from 0: 1.5 s to 40, 0.7 s to 10 (requests/s, fleet-wide)"})
        b.screenshot(artifact("dashboard-form-stages.png"), full_page=True)
        check_ended(b, orch, tsunami, 2.3)

        # An AVALANCHE, its duration a bare number of seconds, a stage in
        # minutes: the levels are requests in flight.
        avalanche = start_from_form(b, orch, {
            "test_type": "AVALANCHE", **FORM_BLANK, "url": target.url + "/ping", "report": "250ms",
            "duration": "3", "stages": "0.02m:2, 1.1s:4", "start_target": "1"})
        check_started(b, orch, avalanche, {
            "test_type": "AVALANCHE", "duration": 3, "start_target": 1,
            "stages": [{"duration": 1.2, "target": 2}, {"duration": 1.1, "target": 4}]}, {
            "duration": "3 s",
            "stages": "from 1: 1.2 s to 2, 1.1 s to 4 (in flight, fleet-wide)"})
        check_ended(b, orch, avalanche, 3)

        # The stored test, read anew: a fresh page at its address.
        b.open(f"{orch.url}/#test={tsunami}", 1400, 900)
        b.wait("(id) => document.getElementById('detail-id').textContent === id", tsunami,
               what="the TSUNAMI selected from the address")
        b.wait(f"() => {{ const c = ({JS_CONFIG})(); return c.duration === '2.3 s' && "
               "c.stages === 'from 0: 1.5 s to 40, 0.7 s to 10 (requests/s, fleet-wide)'; }",
               timeout=30, what="the reloaded config view")
        check(len(api_tests(orch)) == 2, f"tests: {api_tests(orch)}")
        errors = b.page_errors()
        check(errors == [], f"the page threw: {errors}")


if __name__ == "__main__":
    run_test(main)
