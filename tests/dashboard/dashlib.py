"""Helpers of the dashboard's browser tests: a headless Chromium driven
through browser.mjs (playwright-core, installed by `npm ci` in this folder),
and an orchestrator that can be restarted on the same port and --db.

The Browser is a process of the test's Cluster: it is stopped by PID with
the rest, also when the test fails."""

import json
import os
import queue
import subprocess
import threading
import time

import dlt
from dlt import check, log

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_JS = os.path.join(HERE, "browser.mjs")


def artifact(name):
    os.makedirs(dlt.ARTIFACTS, exist_ok=True)
    return os.path.join(dlt.ARTIFACTS, name)


class BrowserProc(dlt.Proc):
    """browser.mjs as a dlt.Proc (so the Cluster stops it by PID), with a
    pipe on stdin for its commands."""

    def __init__(self, argv):
        os.makedirs(dlt.ARTIFACTS, exist_ok=True)
        self.name = "browser"
        self.ours = False
        self.killed = False
        self.argv = argv
        self.logpath = os.path.join(dlt.ARTIFACTS, f"browser-{os.getpid()}-{time.time_ns()}.log")
        self.logfile = open(self.logpath, "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.logfile, cwd=HERE)
        self.pid = self.p.pid
        self.lines = []
        self.answers = queue.Queue()
        self._cv = threading.Condition()
        self._reader = threading.Thread(target=self._read_answers, daemon=True)
        self._reader.start()

    def _read_answers(self):
        for raw in self.p.stdout:
            self.answers.put(raw.decode("utf-8", "replace"))
        self.answers.put(None)

    def stop(self, timeout=15):
        # Ask first: the browser closes Chromium and removes its profile.
        if self.alive():
            try:
                self.p.stdin.write(b'{"op": "close"}\n')
                self.p.stdin.flush()
                self.p.stdin.close()
                self.p.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        return super().stop(timeout)


class Browser:
    """A headless Chromium on one page. Every call raises on failure, with
    what the page was doing."""

    def __init__(self, cluster):
        if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
            raise RuntimeError("playwright-core is not installed: run `npm ci --no-audit "
                               f"--no-fund` in {HERE} (scripts/test.sh does)")
        self.proc = BrowserProc(["node", BROWSER_JS])
        cluster.procs.append(self.proc)
        first = self._answer(90, "start")
        check(first == "ready", f"browser said {first!r}")

    def _answer(self, timeout, what):
        try:
            line = self.proc.answers.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"browser: no answer to {what} in {timeout}s; log: "
                               f"{self.proc.stderr_tail()}") from None
        if line is None:
            raise RuntimeError(f"browser exited during {what}; log: {self.proc.stderr_tail()}")
        doc = json.loads(line)
        if not doc.get("ok"):
            raise AssertionError(f"browser: {what}: {doc.get('error')}")
        return doc.get("value")

    def call(self, op, timeout=60, **args):
        args["op"] = op
        self.proc.p.stdin.write((json.dumps(args) + "\n").encode())
        self.proc.p.stdin.flush()
        what = op + (f" {args['selector']}" if "selector" in args else "")
        return self._answer(timeout, what)

    def open(self, url, width=1400, height=900):
        return self.call("open", url=url, width=width, height=height)

    def eval(self, fn, arg=None, timeout=60):
        """The value of the JavaScript function fn (source) called with arg
        in the page (awaited when it is a promise)."""
        return self.call("eval", timeout=timeout, fn=fn, arg=arg)

    def wait(self, fn, arg=None, timeout=30, what=None):
        """Wait until fn(arg) is truthy in the page; returns its value."""
        args = {"op": "wait", "fn": fn, "arg": arg, "timeout": int(timeout * 1000)}
        self.proc.p.stdin.write((json.dumps(args) + "\n").encode())
        self.proc.p.stdin.flush()
        try:
            return self._answer(timeout + 30, "wait")
        except AssertionError as e:
            raise AssertionError(f"{what or fn}: {e}") from None

    def click(self, selector):
        return self.call("click", selector=selector)

    def fill(self, selector, value):
        return self.call("fill", selector=selector, value=value)

    def select(self, selector, value):
        return self.call("select", selector=selector, value=value)

    def set_checked(self, selector, checked):
        return self.call("check", selector=selector, checked=checked)

    def set_file(self, selector, name, content):
        """The file input at selector holding one file called name, of the
        text content; name None empties it."""
        return self.call("file", selector=selector, name=name, content=content)

    def screenshot(self, path, full_page=False):
        self.call("screenshot", path=path, fullPage=full_page)
        check(os.path.getsize(path) > 10000, f"screenshot {path} is nearly empty")
        log(f"screenshot: {path}")
        return path

    def page_errors(self):
        return self.call("errors")


# ---- page queries (JavaScript run in the page) -----------------------------

# {node_id: liveness} of the driver table.
JS_LIVENESS = """() => Object.fromEntries([...document.querySelectorAll(
    '#drivers-table tbody tr')].map((tr) => [tr.dataset.nodeId,
    tr.querySelector('[data-k=liveness]').textContent.trim()]))"""

# {test_id: state} of the test list.
JS_TEST_STATES = """() => Object.fromEntries([...document.querySelectorAll(
    '#tests-table tbody tr')].map((tr) => [tr.dataset.testId,
    tr.querySelector('[data-k=state]').textContent.trim()]))"""

# The connection indicator: 'connecting', 'live' or 'reconnecting'.
JS_CONN = "() => document.getElementById('conn').dataset.state"

# The selected test's statistics: {node: {key: text}}.
JS_STATS = """() => Object.fromEntries([...document.querySelectorAll(
    '#stats-table tbody tr')].map((tr) => [tr.dataset.node, Object.fromEntries(
    [...tr.querySelectorAll('td[data-k]')].map((td) => [td.dataset.k,
    td.textContent.trim()]))]))"""


def number(text):
    """A count as the page shows it ("1,234") -> 1234."""
    return int(text.replace(",", ""))


def wait_liveness(b, node_id, liveness, timeout=30):
    return b.wait("([id, want]) => { const tr = document.querySelector("
                  "`#drivers-table tr[data-node-id=\"${id}\"]`); "
                  "return tr && tr.querySelector('[data-k=liveness]').textContent.trim() === want; }",
                  [node_id, liveness], timeout=timeout,
                  what=f"driver {node_id} shown {liveness}")


def wait_test_state(b, test_id, states, timeout=60):
    """Wait until the test's row shows one of states; returns it."""
    if isinstance(states, str):
        states = [states]
    return b.wait("([id, want]) => { const tr = document.querySelector("
                  "`#tests-table tr[data-test-id=\"${id}\"]`); "
                  "const s = tr && tr.querySelector('[data-k=state]').textContent.trim(); "
                  "return want.includes(s) ? s : false; }",
                  [test_id, states], timeout=timeout,
                  what=f"test {test_id} shown {'/'.join(states)}")


def wait_conn(b, state, timeout=30):
    return b.wait(f"(want) => ({JS_CONN})() === want", state, timeout=timeout,
                  what=f"connection indicator '{state}'")


# ---- an orchestrator that restarts on the same port and --db ---------------

class Orchestrator:
    def __init__(self, cluster, *extra):
        self.c = cluster
        self.port = dlt.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = artifact(f"dashboard-orchestrator-{os.getpid()}-{time.time_ns()}.db")
        self.proc = None
        self.start(*extra)

    def start(self, *extra):
        argv = [dlt.binary("load-orchestrator"), "--kafka", self.c.kafka, "--listen",
                f"127.0.0.1:{self.port}", "--db", self.db, *extra]
        self.proc = self.c.start("load-orchestrator", argv, ready="ready ", timeout=30)
        return self.proc

    def stop(self):
        rc = self.proc.stop()
        check(rc == 0, f"load-orchestrator exited {rc} on SIGTERM")


def start_drivers(c, target, n=2):
    return [c.driver(target=target.url + "/ping", name=f"load-driver-{i + 1}") for i in range(n)]


def fill_form(b, fields=None, **kw):
    """Set the start form's fields by name, a dict or keyword arguments: a
    select or text to its value, a checkbox to a bool, a file input to
    (file name, text) or None."""
    for name, value in {**(fields or {}), **kw}.items():
        sel = f"#start-form [name={name}]"
        kind = b.eval("(s) => { const e = document.querySelector(s); "
                      "return e.tagName === 'INPUT' ? e.type : e.tagName; }", sel)
        if kind == "SELECT":
            b.select(sel, value)
        elif kind == "checkbox":
            b.set_checked(sel, value)
        elif kind == "file":
            b.set_file(sel, *(value or (None, None)))
        else:
            b.fill(sel, value)


def submit(b):
    b.click("#start-form button[type=submit]")


def open_dashboard(c, orch_url, drivers):
    """A browser on the dashboard at orch_url, once its event stream is live
    and it shows every one of drivers alive."""
    b = Browser(c)
    b.open(orch_url + "/", 1400, 900)
    wait_conn(b, "live")
    for d in drivers:
        wait_liveness(b, d.node_id, "alive", timeout=30)
    return b


# ---- the start form ----------------------------------------------------------

# Every field of the start form at the value that leaves it out of the test.
FORM_BLANK = {"count": "", "duration": "", "stages": "", "start_target": "", "delay": "",
              "rate": "", "concurrency": "", "timeout": "", "report": "", "min_drivers": "",
              "headers": "", "body": "", "drivers": "", "requests": "", "thresholds": "",
              "abort_on_fail": False, "keep_rate": False, "data_file": None,
              "data_mode": "split"}

# The POSTs to /api/tests the page has sent since this was evaluated in it.
JS_COUNT_POSTS = """() => {
    if (!window.__dltPosts) {
      window.__dltPosts = [];
      const real = window.fetch.bind(window);
      window.fetch = (url, opts) => {
        if (String(url).endsWith('/api/tests') && opts && opts.method === 'POST') {
          window.__dltPosts.push(opts.body);
        }
        return real(url, opts);
      };
    }
    return true; }"""
JS_POSTS = "() => window.__dltPosts"

# {field: message} of every field the form marks as wrong.
JS_FIELD_ERRORS = """() => Object.fromEntries([...document.querySelectorAll(
    '#start-form .field-error')].map((e) => [e.dataset.for, e.textContent]))"""

JS_FORM_ERROR = """() => { const e = document.getElementById('form-error');
    return e.hidden ? '' : e.textContent; }"""

# The config view of the selected test: {data-k: text}.
JS_CONFIG = """() => Object.fromEntries([...document.querySelectorAll(
    '#detail-config dd[data-k]')].map((dd) => [dd.dataset.k, dd.textContent.trim()]))"""


def api_tests(orch):
    return dlt.get_json(orch.url + "/api/tests")["tests"]


def check_form_refuses(b, orch, cases, base):
    """Each case (what, fields over base, the field marked, a part of its
    message) is marked on that field alone with its reason, and sends
    nothing; no test is created. JS_COUNT_POSTS must run in the page first."""
    for what, fields, field, part in cases:
        fill_form(b, {**base, **fields})
        # Typing in a field clears its mark.
        for name, value in fields.items():
            if isinstance(value, str) and value and name != "test_type":
                b.wait("(f) => !document.querySelector(`.field-error[data-for=${f}]`)", name,
                       timeout=20, what=f"{what}: the mark on {name} cleared by typing")
        # The marks left are tagged, so that only the submit's own count.
        b.eval("() => document.querySelectorAll('#start-form .field-error')"
               ".forEach((e) => { e.dataset.old = '1'; })")
        submit(b)
        errors = b.wait(f"(f) => {{ const e = ({JS_FIELD_ERRORS})(); return e[f] && "
                        "!document.querySelector('#start-form .field-error[data-old]') && e; }",
                        field, timeout=20, what=f"{what}: an error on the {field} field")
        check(list(errors) == [field], f"{what}: marked fields {errors}, want only {field}")
        check(part in errors[field], f"{what}: {field} error {errors[field]!r}, want {part!r}")
        box = b.eval(JS_FORM_ERROR)
        check(box == "Please correct the marked field.", f"{what}: form error {box!r}")
        invalid = b.eval("(f) => document.querySelector(`#start-form [name=${f}]`)"
                         ".getAttribute('aria-invalid')", field)
        check(invalid == "true", f"{what}: the {field} field is not aria-invalid")
        status = b.eval("() => document.getElementById('form-status').textContent")
        check(status == "", f"{what}: the form says {status!r}")
        posts = b.eval(JS_POSTS)
        check(posts == [], f"{what}: the page sent {posts}")
        log(f"refused by the form: {what}: {errors[field]}")
    tests = api_tests(orch)
    check(tests == [], f"the form created tests it should have refused: {tests}")


def check_orchestrator_refuses(b, orch, fields, cfg):
    """The form filled with fields sends cfg (compared after a JSON round
    trip); the orchestrator refuses it (400), the page shows the
    orchestrator's own reason, no field is marked and no test is created.
    Returns the reason."""
    status, _, body = dlt.http("POST", orch.url + "/api/tests", cfg)
    check(status == 400, f"API answered {status} for {cfg}: {body}")
    reason = json.loads(body)["error"]
    n = len(b.eval(JS_POSTS))
    b.eval("() => { const e = document.getElementById('form-error'); e.hidden = true; "
           "e.textContent = ''; }")
    fill_form(b, fields)
    submit(b)
    shown = b.wait(f"() => ({JS_FORM_ERROR})().startsWith('The orchestrator') && "
                   f"({JS_FORM_ERROR})()", timeout=30, what="the orchestrator's reason shown")
    check(reason in shown and "HTTP 400" in shown, f"page shows {shown!r}, API said {reason!r}")
    posts = [json.loads(p) for p in b.eval(JS_POSTS)[n:]]
    check(posts == [json.loads(json.dumps(cfg))], f"the page sent {posts}, want [{cfg}]")
    check(b.eval(JS_FIELD_ERRORS) == {}, "a field is marked for the orchestrator's refusal")
    tests = api_tests(orch)
    check(tests == [], f"a refused test was created: {tests}")
    log(f"the orchestrator's refusal shown: {shown}")
    return reason


def start_from_form(b, orch, fields):
    """Fill the form, start the test, and return its id once the orchestrator
    holds it and the page shows it."""
    before = {t["test_id"] for t in api_tests(orch)}
    fill_form(b, fields)
    submit(b)
    # The status of an earlier start does not count.
    test_id = b.wait("(old) => { const s = document.getElementById('form-status').textContent; "
                     "return s.startsWith('started ') && !old.includes(s.slice(8)) && "
                     "s.slice(8); }",
                     sorted(before), timeout=60, what="test started")
    now = {t["test_id"] for t in api_tests(orch)}
    check(now == before | {test_id}, f"tests {sorted(now)} after {sorted(before)} and {test_id}")
    b.wait("(id) => document.getElementById('detail-id').textContent === id", test_id,
           what="the new test selected")
    return test_id
