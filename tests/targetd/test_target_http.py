"""target-server: the endpoints and the command line.

/ping answers GET and POST with 200 "OK" over keep-alive, HEAD with the same
headers and no body; unknown paths get 404 and wrong methods 405 with Allow,
both with a JSON error body; /metrics (GET, POST, HEAD)
counts /ping exactly (and not itself) as JSON or Prometheus text; bodies over
--max-body get 413; --listen with port 0 reports the real port; --help,
--version; bad options exit 2 with one line; a taken port exits 1; SIGINT
and SIGTERM exit 0."""

import http.client as httpclient
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dlt import Cluster, binary, check, http, log, run_test  # noqa: E402
from rawhttp import exchange, parse_one  # noqa: E402


def metrics(url):
    status, headers, body = http("GET", url + "/metrics")
    check(status == 200, f"/metrics -> {status}")
    check(headers.get("Content-Type", "").startswith("application/json"), f"headers {headers}")
    return json.loads(body)


def check_error_body(body, what):
    doc = json.loads(body)
    check(isinstance(doc.get("error"), str) and doc["error"], f"{what}: error body {body!r}")


def endpoints(c):
    t = c.target()
    url = t.url
    check(t.lines[0] == f"ready listen=127.0.0.1:{t.port}", f"ready line {t.lines[0]!r}")

    m0 = metrics(url)
    for key in ("total_requests", "total_responses", "in_flight", "uptime_s"):
        check(key in m0, f"/metrics lacks {key}: {m0}")
    check(m0["total_requests"] == 0 and m0["total_responses"] == 0 and m0["in_flight"] == 0,
          f"fresh server counts {m0}")

    # Keep-alive: several requests over one connection, none closing it.
    conn = httpclient.HTTPConnection("127.0.0.1", t.port, timeout=10)
    for i in range(5):
        if i % 2:
            conn.request("POST", "/ping", body=b"x" * 1000 * i,
                         headers={"Content-Type": "application/octet-stream"})
        else:
            conn.request("GET", "/ping")
        r = conn.getresponse()
        body = r.read()
        check(r.status == 200 and body == b"OK", f"/ping #{i} -> {r.status} {body!r}")
        check(r.getheader("Connection", "").lower() != "close", "keep-alive was refused")
        check(r.getheader("Content-Length") == "2", "Content-Length is not 2")
    sock_before = conn.sock
    conn.request("GET", "/ping")
    conn.getresponse().read()
    check(conn.sock is sock_before, "the connection was not reused")
    conn.close()

    # Chunked POST body, read and discarded.
    raw = exchange(t.port, b"POST /ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   b"Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    p = parse_one(raw)
    check(p is not None and p[0] == 200 and p[2] == b"OK", f"chunked POST -> {raw[:200]!r}")

    # 404 and 405, JSON bodies, Allow headers.
    for path in ("/", "/nope", "/ping/x", "/pingx", "/metrics/"):
        status, headers, body = http("GET", url + path)
        check(status == 404, f"GET {path} -> {status}")
        check(headers.get("Content-Type") == "application/json", f"404 type {headers}")
        check_error_body(body, f"GET {path}")
    for path in ("/ping", "/metrics"):
        for method in ("DELETE", "PUT", "PATCH", "OPTIONS"):
            status, headers, body = http(method, url + path)
            check(status == 405, f"{method} {path} -> {status}")
            check(headers.get("Allow") == "GET, HEAD, POST", f"{method} {path} Allow {headers}")
            check_error_body(body, f"{method} {path}")

    # HEAD: the headers GET would get, Content-Length included, and no body
    # (the next response on the same connection starts right after them).
    for path in ("/ping", "/metrics", "/metrics?format=prometheus"):
        req = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        raw = exchange(t.port, req.replace(b"GET", b"HEAD", 1) + req, read_timeout=1)
        head_end = raw.find(b"\r\n\r\n")
        check(raw.startswith(b"HTTP/1.1 200 ") and head_end > 0, f"HEAD {path}: {raw[:200]!r}")
        hh = {}
        for line in raw[:head_end].decode("latin-1").split("\r\n")[1:]:
            k, _, v = line.partition(":")
            hh[k.strip().lower()] = v.strip()
        rest = raw[head_end + 4:]
        check(rest.startswith(b"HTTP/1.1 200 "), f"HEAD {path} sent a body: {rest[:80]!r}")
        g = parse_one(rest)
        check(g is not None and g[3] == len(rest), f"GET after HEAD {path}: {rest[:200]!r}")
        check(hh.get("content-type") == g[1].get("content-type"), f"HEAD {path} {hh} vs {g[1]}")
        if path == "/ping":
            check(hh.get("content-length") == "2" and g[2] == b"OK", f"HEAD /ping: {hh}")
        else:
            check(int(hh.get("content-length", "0")) > 0, f"HEAD {path}: {hh}")
    status, headers, body = http("POST", url + "/metrics", body=b"{}")
    check(status == 200 and json.loads(body)["total_requests"] == 9, f"POST /metrics {status}")

    # Counts: 6 GET/POST /ping above + 1 chunked + HEAD and GET; /metrics,
    # 404 and 405 not.
    m = metrics(url)
    check(m["total_requests"] == 9 and m["total_responses"] == 9 and m["in_flight"] == 0,
          f"counts after 9 pings: {m}")
    m2 = metrics(url)
    check(m2["total_requests"] == 9, f"/metrics counted itself: {m2}")
    check(m2["total_rejected"] == 13, f"rejected (404 and 405) {m2}")
    check(m2["uptime_s"] >= m["uptime_s"] >= 0, f"uptime {m['uptime_s']} -> {m2['uptime_s']}")

    # Prometheus, asked two ways; ?format=json wins over Accept.
    for path, hdrs in (("/metrics?format=prometheus", {}),
                       ("/metrics", {"Accept": "text/plain"}),
                       ("/metrics", {"Accept": "application/openmetrics-text; version=1.0.0,"
                                               "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"})):
        status, headers, body = http("GET", url + path, headers=hdrs)
        check(status == 200, f"{path} {hdrs} -> {status}")
        check(headers.get("Content-Type", "").startswith("text/plain"), f"type {headers}")
        text = body.decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.split(" ")
                values[name] = float(value)
                check(f"# TYPE {name} " in text and f"# HELP {name} " in text, f"{name} untyped")
        check(values.get("dlt_target_requests_total") == 9, f"prometheus {values}")
        check(values.get("dlt_target_responses_total") == 9, f"prometheus {values}")
        check(values.get("dlt_target_in_flight") == 0, f"prometheus {values}")
    status, headers, body = http("GET", url + "/metrics?format=json",
                                 headers={"Accept": "text/plain"})
    check(status == 200 and json.loads(body)["total_requests"] == 9, f"format=json {body!r}")
    status, _, body = http("GET", url + "/metrics?format=xml")
    check(status == 400, f"format=xml -> {status}")
    check_error_body(body, "format=xml")

    # Bodies over --max-body (default 1 MiB): 413 when declared, and the
    # server goes on serving.
    big = exchange(t.port, b"POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n")
    p = parse_one(big)
    check(p is not None and p[0] == 413, f"declared 1 MiB + 1 -> {big[:120]!r}")
    check_error_body(p[2], "413")
    status, _, body = http("POST", url + "/ping", body=b"y" * 1048576)
    check(status == 200 and body == b"OK", f"POST of exactly 1 MiB -> {status}")
    m = metrics(url)
    check(m["total_requests"] == 11 and m["total_responses"] == 11 and m["in_flight"] == 0,
          f"counts after 413: {m}")
    rc = t.stop()
    check(rc == 0, f"SIGTERM: exit {rc}")


def small_body_limit(c):
    t = c.target("--max-body", "10")
    status, _, _ = http("POST", t.url + "/ping", body=b"0123456789")
    check(status == 200, f"10-byte body with --max-body 10 -> {status}")
    status, _, body = http("POST", t.url + "/ping", body=b"0123456789A")
    check(status == 413, f"11-byte body with --max-body 10 -> {status}")
    # A chunked body that grows past the limit: the connection is dropped.
    raw = exchange(t.port, b"POST /ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n")
    check(not raw.startswith(b"HTTP/1.1 200"), f"chunked over the limit answered {raw[:60]!r}")
    status, _, body = http("GET", t.url + "/ping")
    check(status == 200 and body == b"OK", "server stopped serving after a big chunked body")
    m = metrics(t.url)
    check(m["in_flight"] == 0 and m["total_aborted"] == 1, f"after the dropped body: {m}")
    check(m["total_requests"] == m["total_responses"] + m["total_aborted"], f"counts {m}")


def port_zero_and_sigint(c):
    p = c.start("target-server", [binary("target-server"), "--listen", "127.0.0.1:0"],
                ready="ready ")
    line = p.wait_line("ready ")
    check(line.startswith("ready listen=127.0.0.1:"), f"ready line {line!r}")
    port = int(line.rsplit(":", 1)[1])
    check(port > 0, f"port {port}")
    status, _, body = http("GET", f"http://127.0.0.1:{port}/ping")
    check(status == 200 and body == b"OK", f"port 0 server -> {status}")
    check(len(p.lines) == 1, f"more than one line on stdout: {p.lines}")

    # The same port again: exit 1, a clear message.
    r = subprocess.run([binary("target-server"), "--listen", f"127.0.0.1:{port}"],
                       capture_output=True, timeout=20)
    err = r.stderr.decode()
    check(r.returncode == 1, f"taken port: exit {r.returncode}: {err!r}")
    check("cannot listen on 127.0.0.1:" in err and "in use" in err, f"taken port: {err!r}")
    check(r.stdout == b"", f"taken port printed {r.stdout!r}")

    p.signal(signal.SIGINT)
    rc = p.p.wait(15)
    check(rc == 0, f"SIGINT: exit {rc}")


def ipv6(c):
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        log("no IPv6 loopback here; skipping the [::1] check")
        return
    p = c.start("target-server", [binary("target-server"), "--listen", "[::1]:0"], ready="ready ")
    line = p.wait_line("ready ")
    check(line.startswith("ready listen=[::1]:"), f"ready line {line!r}")
    port = int(line.rsplit(":", 1)[1])
    status, _, body = http("GET", f"http://[::1]:{port}/ping")
    check(status == 200 and body == b"OK", f"[::1] -> {status}")


def command_line():
    exe = binary("target-server")
    r = subprocess.run([exe, "--help"], capture_output=True, timeout=10)
    text = r.stdout.decode()
    check(r.returncode == 0, f"--help exit {r.returncode}")
    for opt in ("--listen", "--threads", "--delay-ms", "--error-rate", "--seed",
                "--max-connections", "--timeout", "--conn-memory", "--max-body", "--grace",
                "--log-level", "--help", "--version"):
        check(opt in text, f"--help does not mention {opt}")
    check(text.count("default") >= 10, "--help does not give the defaults")
    check("127.0.0.1:8081" in text, "--help does not show the default address")
    r = subprocess.run([exe, "--version"], capture_output=True, timeout=10)
    check(r.returncode == 0 and r.stdout.decode().startswith("target-server "),
          f"--version: {r.stdout!r}")

    bad = [["--listen", "nowhere"], ["--listen", "127.0.0.1:70000"], ["--threads", "0"],
           ["--threads", "x"], ["--delay-ms", "500-100"], ["--delay-ms", "abc"],
           ["--delay-ms", "-5"], ["--delay-ms", ""], ["--error-rate", "1.5"],
           ["--error-rate", "-0.1"], ["--error-rate", "nan"], ["--seed", "-1"],
           ["--max-connections", "0"], ["--timeout", "5x"], ["--conn-memory", "10"],
           ["--max-body", "-1"], ["--grace", "forever"], ["--log-level", "loud"],
           ["--bogus"], ["extra"], ["--listen"], ["--delay-ms"], ["-x"]]
    for argv in bad:
        r = subprocess.run([exe, *argv], capture_output=True, timeout=10)
        err = r.stderr.decode().strip()
        check(r.returncode == 2, f"{argv}: exit {r.returncode} ({err!r})")
        check(len(err.splitlines()) == 1 and err.startswith("target-server: "),
              f"{argv}: stderr {err!r}")
        check(r.stdout == b"", f"{argv}: stdout {r.stdout!r}")


def main():
    command_line()
    with Cluster() as c:
        endpoints(c)
    with Cluster() as c:
        small_body_limit(c)
    with Cluster() as c:
        port_zero_and_sigint(c)
        ipv6(c)


if __name__ == "__main__":
    run_test(main)
