"""Security of the defaults and of the inputs that change state:
- load-orchestrator, target-server and load-broker bind to loopback when
  given no --listen (checked in /proc/net/tcp; each part is skipped, with a
  note, when its default port is taken on this machine);
- with --api-token every request that changes state (POST /startLoadTest,
  POST /api/tests, POST /api/tests/{id}/stop) needs "Authorization: Bearer
  TOKEN" (401 otherwise, before the body is looked at); reads stay open;
- bodies over --max-body are refused with 413, whether announced
  (Content-Length) or streamed (chunked, no length); a min_drivers of 1e300
  is a 400 (it once was undefined behaviour, found by fuzz_api);
- a test whose target_url names a host the drivers do not allow is refused
  by every driver and ends FAILED, with the refusal visible in GET
  /api/tests/{id}, and no request is sent;
- -X passes SASL settings to librdkafka: the orchestrator and the driver
  start with security.protocol=SASL_PLAINTEXT and mechanism PLAIN and try
  to authenticate (load-broker does not speak SASL, which they report),
  and stop cleanly."""

import http.client
import json
import os
import socket
import time

from dlt import (ARTIFACTS, Cluster, binary, check, free_port, get_json, http as dhttp, log,
                 run_test, wait_until)
from faultlib import target_total
from orchlib import start_test, wait_drivers, wait_test

TOKEN = "t0ken-for-tests"
MAX_BODY = 4096


def listening(port):
    """Local addresses (hex, as in /proc/net/tcp*) listening on port."""
    out = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    addr, st = parts[1], parts[3]
                    ip, p = addr.split(":")
                    if st == "0A" and int(p, 16) == port:
                        out.append(ip)
        except FileNotFoundError:
            pass
    return out


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def check_default_bind(c):
    loop4, loop6 = "0100007F", "00000000000000000000000001000000"
    for prog, port, argv in (
            ("target-server", 8081, []),
            ("load-broker", 9092, []),
            ("load-orchestrator", 8080,
             ["--kafka", c.kafka, "--db", os.path.join(ARTIFACTS, f"sec-{os.getpid()}.db")])):
        if not port_free(port):
            log(f"{prog}: default port {port} is taken here; default bind not checked")
            continue
        p = c.start(prog, [binary(prog), *argv], ready="ready ", timeout=20)
        addrs = listening(port)
        log(f"{prog} with no --listen: '{p.lines[0]}', listening on {addrs}")
        check(addrs and all(a in (loop4, loop6) for a in addrs),
              f"{prog} listens beyond loopback: {addrs}")
        check(p.stop() == 0, f"{prog} did not stop cleanly")


def raw(method, url, body=None, token=None, headers=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    status, _, data = dhttp(method, url, body=body, headers=h)
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data


def check_tokens_and_bodies(orch):
    u = orch.url
    good = {"test_type": "AVALANCHE", "message_count_per_driver": 5}
    # Every POST, without or with a wrong token: 401, nothing created.
    for path in ("/startLoadTest", "/api/tests", "/api/tests/t-any/stop"):
        for tok in (None, "wrong", TOKEN + "x", TOKEN[:-1]):
            st, doc = raw("POST", u + path, body=good, token=tok)
            check(st == 401 and "token" in doc.get("error", ""), f"POST {path} token {tok}: "
                  f"{st} {doc}")
        # Scheme other than Bearer.
        st, _ = raw("POST", u + path, body=good, headers={"Authorization": f"Basic {TOKEN}"})
        check(st == 401, f"POST {path} with Basic: {st}")
    check(get_json(u + "/api/tests")["tests"] == [], "a refused POST created a test")
    # An oversized body without a token is refused for the token, not read.
    st, _ = raw("POST", u + "/api/tests", body=b"x" * (MAX_BODY * 4))
    check(st == 401, f"oversized body without a token: {st}")
    # Reads need no token.
    for path in ("/api/tests", "/api/drivers", "/metrics", "/"):
        st, _, _ = dhttp("GET", u + path)
        check(st == 200, f"GET {path}: {st}")
    # 413, announced and streamed (chunked, no Content-Length).
    st, doc = raw("POST", u + "/api/tests", body=b'{"p":"' + b"x" * MAX_BODY + b'"}',
                  token=TOKEN)
    check(st == 413, f"oversized body: {st} {doc}")
    conn = http.client.HTTPConnection("127.0.0.1", orch.port, timeout=10)
    chunks = (b'{"pad":"' + b"y" * 1000 + b'",' for _ in range(20))
    conn.request("POST", "/api/tests", body=chunks, encode_chunked=True,
                 headers={"Authorization": f"Bearer {TOKEN}",
                          "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    check(r.status == 413, f"streamed oversized body: {r.status} {data[:200]!r}")
    # A number too big for any integer.
    st, doc = raw("POST", u + "/api/tests", body=b'{"test_type":"AVALANCHE",'
                  b'"message_count_per_driver":5,"min_drivers":1e300}', token=TOKEN)
    check(st == 400 and "min_drivers" in doc.get("error", ""), f"min_drivers 1e300: {st} {doc}")
    check(orch.alive(), "the orchestrator died of a request body")


def check_sasl(c):
    sasl = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
            "-X", "sasl.username=u", "-X", "sasl.password=p"]
    o = c.start("load-orchestrator-sasl", [
        binary("load-orchestrator"), "--kafka", c.kafka, "--listen", f"127.0.0.1:{free_port()}",
        "--db", os.path.join(ARTIFACTS, f"sasl-{os.getpid()}.db"), *sasl], ready="ready ")
    d = c.start("load-driver-sasl", [
        binary("load-driver"), "--kafka", c.kafka,
        "--db", os.path.join(ARTIFACTS, f"sasl-driver-{os.getpid()}.db"), *sasl])
    for p in (o, d):
        wait_until(lambda p=p: "SASL authentication" in p.stderr_text() and
                   "mechanism PLAIN" in p.stderr_text(), timeout=20,
                   what=f"{p.name} trying SASL PLAIN")
        check(p.alive(), f"{p.name} exited with SASL settings")
        check("sasl_plaintext://" in p.stderr_text(), f"{p.name}: no SASL_PLAINTEXT connection")
    log("orchestrator and driver tried SASL PLAIN (load-broker does not offer it)")
    for p in (d, o):
        t0 = time.time()
        rc = p.stop()
        check(rc == 0 and time.time() - t0 < 12, f"{p.name}: exit {rc} after "
              f"{time.time() - t0:.1f}s")


def main():
    with Cluster() as c:
        c.broker()
        check_default_bind(c)
        target = c.target()
        orch = c.orchestrator("--api-token", TOKEN, "--max-body", str(MAX_BODY))
        check_tokens_and_bodies(orch)

        drivers = [c.driver(target=target.url + "/ping") for _ in range(2)]
        wait_drivers(orch.url, 2)
        before = target_total(target)
        tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": 50,
                                    "target_url": "http://target.invalid:8081/ping"},
                         token=TOKEN)
        t = wait_test(orch.url, tid, timeout=30)
        log(f"forbidden target: {t['state']}: {t['reason']}")
        check(t["state"] == "FAILED", f"state {t['state']}")
        check("target host 'target.invalid' is not allowed" in t["reason"], t["reason"])
        for d in drivers:
            check(d.node_id in t["reason"], f"{d.node_id} not in the reason")
        for p in t["per_driver"]:
            check(p["requests_sent"] == 0 and "not allowed" in p["failure"], f"driver {p}")
        check(t["aggregate"]["requests_sent"] == 0, "requests counted")
        check(target_total(target) == before, "the target got requests")
        # A test the drivers allow still runs.
        tid = start_test(orch.url, {"test_type": "AVALANCHE", "message_count_per_driver": 50},
                         token=TOKEN)
        t = wait_test(orch.url, tid, timeout=30)
        check(t["state"] == "COMPLETED" and target_total(target) - before == 100,
              f"allowed test {t['state']}")

        check_sasl(c)


if __name__ == "__main__":
    run_test(main)
