"""The start form's request mix, data file, thresholds, abort_on_fail and
keep_rate, in headless Chromium against the real system (load-broker,
target-server, a recording server, load-orchestrator, two load-drivers).

- Bad input in those fields (a mix that is not JSON, not a list, empty,
  over 100 requests or not of objects; a threshold over 127 characters, 33
  thresholds; abort_on_fail without a threshold; keep_rate on an AVALANCHE
  or without a rate; an empty data file, one over 8 MiB) is marked on its
  field with its reason, sends nothing and creates no test.
- What only the orchestrator can judge (a template naming an unknown
  variable, a malformed threshold, a CSV row of the wrong width) is sent,
  refused with its 400 reason shown on the page, and creates no test.
- A TSUNAMI started from the form with a two-request mix (POST login with a
  body, GET browse, headers, weights, checks) over a CSV file of 10 users
  split between the drivers, thresholds and keep_rate is stored with
  exactly those requests, the data's shape, the thresholds and keep_rate.
  The recording server sees every request: each user from one driver only,
  5 users a driver, the password of the user's own row, 200 requests in
  all. It ends COMPLETED with a passing verdict, shown with its per-request
  table and its config.
- An AVALANCHE whose check never passes, with "checks>99%" and
  abort_on_fail, ends ABORTED with the breach as its reason, on the page
  and in the API."""

import collections
import json
import os
import sys
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "lib")]

from dashlib import (FORM_BLANK, JS_CONFIG, JS_COUNT_POSTS, api_tests, artifact,  # noqa: E402
                     check_form_refuses, check_orchestrator_refuses, fill_form, number,
                     open_dashboard, start_drivers, start_from_form, wait_test_state)
from dlt import Cluster, check, get_json, log, run_test  # noqa: E402
from recorder import Recording  # noqa: E402

USERS = [(f"user{i:02d}", f"pw-{i * 7919 % 1000:03d}") for i in range(10)]
CSV = "user,pass\n" + "".join(f"{u},{p}\n" for u, p in USERS)

# The per-request table: {name: {key: text}}.
JS_BYREQ = """() => Object.fromEntries([...document.querySelectorAll(
    '#byreq-table tbody tr')].map((tr) => [tr.dataset.request, Object.fromEntries(
    [...tr.querySelectorAll('td[data-k]')].map((td) => [td.dataset.k,
    td.textContent.trim()]))]))"""

# The verdict shown: [badge, [[expr, holds], ...]].
JS_VERDICT = """() => { const v = document.getElementById('verdict');
    return !v.hidden && [document.getElementById('verdict-badge').textContent.trim(),
      [...document.querySelectorAll('#verdict-list li')].map((li) => [li.dataset.expr,
      li.dataset.holds])]; }"""

BAD = [
    ("a mix that is not JSON", {"requests": "[{name: home}]"}, "requests", "not JSON"),
    ("a mix that is an object", {"requests": '{"name": "home"}'}, "requests",
     "a JSON list of 1..100 requests"),
    ("an empty mix", {"requests": "[]"}, "requests", "a JSON list of 1..100 requests"),
    ("a mix of strings", {"requests": '["home"]'}, "requests", "each an object"),
    ("a mix with a null", {"requests": '[{"name": "a"}, null]'}, "requests", "each an object"),
    ("a mix of 101 requests",
     {"requests": json.dumps([{"name": f"r{i}"} for i in range(101)])}, "requests",
     "a JSON list of 1..100 requests"),
    ("a threshold over 127 characters", {"thresholds": "p99<" + "9" * 122 + "ms"}, "thresholds",
     "is over 127 characters"),
    ("33 thresholds", {"thresholds": "\n".join(["p99<1s"] * 33)}, "thresholds",
     "at most 32 thresholds"),
    ("abort_on_fail without a threshold", {"abort_on_fail": True}, "abort_on_fail",
     "Give a threshold"),
    ("keep_rate on an AVALANCHE", {"test_type": "AVALANCHE", "keep_rate": True}, "keep_rate",
     "an AVALANCHE has no rate to keep"),
    ("keep_rate without a rate", {"delay": "", "count": "", "duration": "5s", "keep_rate": True},
     "keep_rate", "needs a rate"),
    ("an empty data file", {"data_file": ("empty.csv", "")}, "data_file", "empty.csv is empty"),
    ("a data file over 8 MiB", {"data_file": ("big.csv", "v\n" + ("x" * 1023 + "\n") * 8192)},
     "data_file", "big.csv is 8,388,610 bytes: at most 8 MiB (8,388,608)"),
]


def check_refusals(b, orch, rec):
    base = {"test_type": "TSUNAMI", **FORM_BLANK, "url": rec.base + "/ping", "count": "10",
            "delay": "0.01"}
    check_form_refuses(b, orch, BAD, base)
    log(f"{len(BAD)} bad inputs refused by the form, none sent")
    b.screenshot(artifact("dashboard-mix-refused.png"), full_page=True)
    sent = {"test_type": "TSUNAMI", "target_url": rec.base + "/ping",
            "message_count_per_driver": 10, "test_message_delay": 0.01}
    mix = [{"name": "home", "url": rec.base + "/ping?u={{nobody}}"}]
    reason = check_orchestrator_refuses(b, orch, {**base, "requests": json.dumps(mix)},
                                        {**sent, "requests": mix})
    check("nobody" in reason, f"the unknown variable is not named: {reason}")
    reason = check_orchestrator_refuses(b, orch, {**base, "thresholds": "p99<1s\np98<1s"},
                                        {**sent, "thresholds": ["p99<1s", "p98<1s"]})
    check("p98<1s" in reason, f"the bad threshold is not named: {reason}")
    bad_csv = "user,pass\nann,x\nbo\n"
    reason = check_orchestrator_refuses(
        b, orch, {**base, "data_file": ("short.csv", bad_csv), "data_mode": "shared"},
        {**sent, "data": {"csv": bad_csv, "mode": "shared"}})
    check("line 3" in reason, f"the bad row's line is not given: {reason}")
    fill_form(b, {"data_file": None})


def check_mix(b, orch, rec, ds):
    requests = [
        {"name": "login", "method": "POST", "url": rec.base + "/login?u={{user}}",
         "headers": {"Content-Type": "application/x-www-form-urlencoded",
                     "X-Driver": "{{driver}}"},
         "body": "user={{user}}&pass={{pass}}", "checks": {"status": [200], "body_contains": "OK"}},
        {"name": "browse", "url": rec.base + "/page/{{seq}}?u={{user}}", "weight": 3,
         "headers": {"X-Driver": "{{driver}}"}},
    ]
    thresholds = ["errors<1%", "checks>99%", "login:p99<5s"]
    rec.take()
    tid = start_from_form(b, orch, {
        "test_type": "TSUNAMI", **FORM_BLANK, "url": rec.base + "/ping", "count": "100",
        "delay": "0.01", "report": "250ms", "headers": "X-Suite: {{plain}}",
        "requests": json.dumps(requests, indent=2), "data_file": ("users.csv", CSV),
        "data_mode": "split", "thresholds": "\n".join(thresholds), "keep_rate": True})
    t = get_json(f"{orch.url}/api/tests/{tid}")
    cfg = t["config"]
    log(f"{tid} config: {json.dumps(cfg)}")
    check(cfg["requests"] == requests, f"requests stored as {cfg['requests']}")
    check(cfg.get("data") == {"mode": "split", "columns": ["user", "pass"], "rows": 10},
          f"data stored as {cfg.get('data')}")
    check(cfg.get("keep_rate") is True, f"keep_rate stored as {cfg.get('keep_rate')!r}")
    check(t["thresholds"] == thresholds and t["abort_on_fail"] is False,
          f"thresholds stored as {t['thresholds']}, abort_on_fail {t['abort_on_fail']}")
    wait_test_state(b, tid, "COMPLETED", timeout=120)
    t = get_json(f"{orch.url}/api/tests/{tid}")
    check(t["state"] == "COMPLETED", f"{tid} {t['state']}: {t.get('reason')}")
    check(t["verdict"] and t["verdict"]["passed"] is True, f"verdict {t['verdict']}")

    seen = rec.take()
    check(len(seen) == 200, f"the recorder saw {len(seen)} requests, want 200")
    by_user = collections.defaultdict(set)
    for r in seen:
        u = parse_qs(urlsplit(r["path"]).query)["u"][0]
        by_user[u].add(r["headers"].get("x-driver"))
        check(r["headers"].get("x-suite") == "{{plain}}", f"the test's header: {r['headers']}")
        if r["method"] == "POST":
            want = f"user={u}&pass={dict(USERS)[u]}"
            check(r["body"] == want, f"login body {r['body']!r}, want {want!r}")
    check(sorted(by_user) == [u for u, _ in USERS], f"users seen {sorted(by_user)}")
    per_driver = collections.Counter()
    for u, drivers in by_user.items():
        check(len(drivers) == 1, f"{u} came from drivers {drivers}: not split")
        per_driver[next(iter(drivers))] += 1
    check(sorted(per_driver.items()) == [("0", 5), ("1", 5)], f"users a driver: {per_driver}")
    by = t["aggregate"]["by_request"]
    posts = sum(r["method"] == "POST" for r in seen)
    check(by["login"]["requests_sent"] == posts and by["browse"]["requests_sent"] == 200 - posts,
          f"by_request {by}, {posts} logins recorded")
    log(f"{tid}: {posts} logins and {200 - posts} browses over 10 users, 5 a driver")

    shown = b.wait(f"(n) => {{ const t = ({JS_BYREQ})(); return t.login && "
                   "Number(t.login.requests_sent.replace(/,/g, '')) === n && t; }",
                   posts, timeout=30, what="the per-request table's final figures")
    check(number(shown["browse"]["requests_sent"]) == 200 - posts, f"browse shown {shown}")
    verdict = b.wait(f"() => ({JS_VERDICT})()", timeout=30, what="the verdict shown")
    check(verdict[1] == [[x, "true"] for x in thresholds], f"verdict shown {verdict}")
    log(f"verdict shown: {verdict}")
    view = b.wait(f"() => {{ const c = ({JS_CONFIG})(); return c.data && c; }}", timeout=30,
                  what="the config view")
    check(view["data"] == "10 rows, split: each driver its own slice; columns user, pass",
          f"data shown {view['data']!r}")
    check(view["requests"] == "login ×1, browse ×3", f"requests shown {view['requests']!r}")
    check(view.get("keep_rate", "").startswith("yes"), f"keep_rate shown {view.get('keep_rate')!r}")
    b.screenshot(artifact("dashboard-mix.png"), full_page=True)


def check_abort(b, orch, target):
    requests = [{"name": "strict", "url": target.url + "/ping",
                 "checks": {"body_contains": "NOPE"}}]
    tid = start_from_form(b, orch, {
        "test_type": "AVALANCHE", **FORM_BLANK, "url": target.url + "/ping", "count": "200000",
        "concurrency": "2", "report": "250ms", "requests": json.dumps(requests),
        "thresholds": "checks>99%", "abort_on_fail": True})
    wait_test_state(b, tid, "ABORTED", timeout=60)
    t = get_json(f"{orch.url}/api/tests/{tid}")
    check(t["state"] == "ABORTED" and t["abort_on_fail"] is True, f"{t['state']} {t}")
    check("checks>99%" in (t.get("reason") or "") and "breached" in t["reason"],
          f"reason {t.get('reason')!r}")
    shown = b.wait("(r) => { const p = document.getElementById('detail-reason'); "
                   "return !p.hidden && p.textContent.includes(r) && p.textContent; }",
                   "checks>99%", timeout=30, what="the breach shown as the reason")
    log(f"{tid} ABORTED after {t['aggregate']['requests_sent']} requests: {shown}")


def main():
    with Cluster() as c, Recording() as rec:
        c.broker()
        target = c.target()
        orch = c.orchestrator()
        ds = start_drivers(c, target, 2)
        b = open_dashboard(c, orch.url, ds)
        b.eval(JS_COUNT_POSTS)
        check_refusals(b, orch, rec)
        check_mix(b, orch, rec, ds)
        check_abort(b, orch, target)
        check(len(api_tests(orch)) == 2, f"tests: {api_tests(orch)}")
        errors = b.page_errors()
        check(errors == [], f"the page threw: {errors}")


if __name__ == "__main__":
    run_test(main)
