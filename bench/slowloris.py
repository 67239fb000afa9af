#!/usr/bin/env python3
"""Slowloris: the REST API's latency with no attack and while 500 sockets
send a request one header byte at a time, every 5 s.

    bench/slowloris.py [--build DIR] [--sockets 500] [--secs 25] [--base-secs 10]

Starts its own load-broker and load-orchestrator (defaults: 256
connections, a quarter per client address, a 10 s request deadline). A
client on 127.0.0.1 sends GET /api/drivers on a new connection every 20 ms
(a connection refused, reset or not answered within 2 s counts as failed)
and the script reports its p50, p99 and max latency and its failures:

- with no attack;
- while --sockets slow sockets come from 127.0.0.2 alone;
- while they come from 127.0.0.2..127.0.0.11 (a tenth from each);
- the same two with the defences off (--request-timeout 1h
  --max-conns-per-ip 0), which is how the orchestrator behaved before.

The attacker sends "GET /api/drivers HTTP/1.1\\r\\nHost: x\\r\\n" and then
one byte "X" per socket every 5 s; a socket the orchestrator closes is
opened again at its next 5 s tick, as slowloris does. Bounded: about
2.5 minutes with the defaults, never more than 10. Loopback only.
Results: stdout and bench/results/slowloris-*.json."""

import argparse
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402

TICK = 5.0
PARTIAL = b"GET /api/drivers HTTP/1.1\r\nHost: x\r\n"


class Attack:
    """n slow sockets spread over the given source addresses."""

    def __init__(self, port, n, sources):
        self.port = port
        self.slots = [{"src": sources[i % len(sources)], "s": None, "due": 0.0}
                      for i in range(n)]
        self.stop_ev = threading.Event()
        self.opened = self.cut = 0
        self.open_now = 0
        self.t = threading.Thread(target=self.run, daemon=True)

    def open(self, slot):
        s = socket.socket()
        try:
            s.bind((slot["src"], 0))
            s.settimeout(1)
            s.connect(("127.0.0.1", self.port))
            s.sendall(PARTIAL)
            s.setblocking(False)
            slot["s"] = s
            self.opened += 1
        except OSError:
            s.close()

    def run(self):
        while not self.stop_ev.is_set():
            now = time.time()
            live = 0
            for slot in self.slots:
                s = slot["s"]
                if s is not None:
                    try:
                        if s.recv(4096) == b"":
                            raise OSError("closed")
                        raise OSError("answered")  # a 408: the server is done with it
                    except BlockingIOError:
                        pass
                    except OSError:
                        s.close()
                        slot["s"] = s = None
                        self.cut += 1
                if now >= slot["due"]:
                    slot["due"] = now + TICK
                    if s is None:
                        self.open(slot)
                    else:
                        try:
                            s.send(b"X")
                        except OSError:
                            pass
                live += slot["s"] is not None
            self.open_now = live
            self.stop_ev.wait(0.1)

    def start(self):
        now = time.time()
        for i, slot in enumerate(self.slots):  # spread the ticks over TICK
            slot["due"] = now + TICK * i / len(self.slots)
        self.t.start()

    def stop(self):
        self.stop_ev.set()
        self.t.join(10)
        for slot in self.slots:
            if slot["s"] is not None:
                slot["s"].close()


def ask(port):
    t0 = time.time()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
            c.settimeout(2)
            c.sendall(b"GET /api/drivers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            got = b""
            while True:
                b = c.recv(4096)
                if not b:
                    break
                got += b
        ok = got.startswith(b"HTTP/1.1 200")
    except OSError:
        ok = False
    return time.time() - t0, ok


def client(port, secs):
    lat, failed = [], 0
    end = time.time() + secs
    while time.time() < end:
        dt, ok = ask(port)
        if ok:
            lat.append(dt * 1000)
        else:
            failed += 1
        time.sleep(max(0.0, 0.02 - dt))
    return {"requests": len(lat) + failed, "failed": failed,
            "p50_ms": bl.pct(lat, 50), "p99_ms": bl.pct(lat, 99),
            "max_ms": max(lat) if lat else None}


def fmt(v):
    return "-" if v is None else f"{v:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build")
    ap.add_argument("--sockets", type=int, default=500)
    ap.add_argument("--secs", type=float, default=25)
    ap.add_argument("--base-secs", type=float, default=10)
    args = ap.parse_args()
    bl.deadline(10 * 60)
    build = bl.build_dir(args.build)
    m = bl.machine()
    bl.print_machine(m)
    broker = bl.Proc("load-broker", [bl.binary(build, "load-broker"), "--listen",
                                     f"127.0.0.1:{bl.free_port()}"], ready="ready ")
    kafka = broker.ready_line.split("bootstrap=")[1].strip()
    one = ["127.0.0.2"]
    ten = [f"127.0.0.{i}" for i in range(2, 12)]
    rows = []
    for defences, extra in (("on", []),
                            ("off", ["--request-timeout", "1h", "--max-conns-per-ip", "0"])):
        port = bl.free_port()
        orch = bl.Proc("load-orchestrator", [
            bl.binary(build, "load-orchestrator"), "--kafka", kafka, "--listen",
            f"127.0.0.1:{port}", "--db", os.path.join(bl.WORK, f"orch-{defences}.db"),
            "--log-level", "error", *extra], ready="ready ")
        shapes = [("none", None)] if defences == "on" else []
        shapes += [("127.0.0.2", one), ("127.0.0.2..11", ten)]
        for name, sources in shapes:
            atk = None
            if sources:
                atk = Attack(port, args.sockets, sources)
                atk.start()
                time.sleep(TICK)  # every socket open before measuring
            r = client(port, args.base_secs if atk is None else args.secs)
            r.update(defences=defences, attack=name, sockets=0 if atk is None else args.sockets)
            if atk:
                r.update(attacker_open_at_end=atk.open_now, attacker_opened=atk.opened,
                         attacker_cut=atk.cut)
                atk.stop()
            rows.append(r)
            bl.log(f"defences {defences}, attack {name}: {r}")
            time.sleep(1)
        orch.stop()
    broker.stop()
    m["loadavg_after"] = bl.loadavg()
    bl.out(f"\n{'defences':9} {'attack from':14} {'requests':>8} {'failed':>6} "
           f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'held':>5}")
    for r in rows:
        bl.out(f"{r['defences']:9} {r['attack']:14} {r['requests']:8d} {r['failed']:6d} "
               f"{fmt(r['p50_ms']):>8} {fmt(r['p99_ms']):>8} {fmt(r['max_ms']):>8} "
               f"{r.get('attacker_open_at_end', 0):5d}")
    bl.out(f"load average after: {m['loadavg_after']}")
    bl.save_results("slowloris", {"machine": m, "args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
