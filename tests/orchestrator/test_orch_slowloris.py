"""load-orchestrator under a slowloris attack: 300 sockets from 127.0.0.2
each send a partial request and then one header byte every 2 s, while a
client on 127.0.0.1 keeps asking GET /api/drivers. With the defaults
(256 connections, a quarter of them per client address, a 10 s request
deadline):
- the client gets every answer, each within a second (before, the slow
  sockets held every connection slot and nothing was answered);
- 127.0.0.2 holds at most --max-conns-per-ip (64) connections: the rest
  are closed at once;
- every slow socket it holds is answered 408 and closed at the request
  deadline (10 s after its connection, give or take the 250 ms sweep);
- a keep-alive connection idle for longer than the deadline still serves
  its next request, and an /api/events stream outlives it;
- a body that trickles in is cut at the deadline as well;
- then 300 slow sockets from six addresses (50 each, under the share of
  one address) take every connection: while more than 3/4 of them are
  open, slow requests are cut about a second after they began instead of
  at the deadline, so from 1.5 s on the client is answered within a second
  again and at most 3/4 of the connections stay held.
Every socket is closed at the end, and the loops are bounded by time."""

import socket
import time

from dlt import Cluster, check, log, run_test

N_SLOW = 300
DEADLINE = 10.0
PER_IP = 64


def slow_socket(port, src="127.0.0.2"):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(3)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /api/drivers HTTP/1.1\r\nHost: x\r\n")
    s.setblocking(False)
    return s


def ask(port):
    """One GET /api/drivers on a new connection: (seconds, status or error)."""
    t0 = time.time()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as c:
            t_conn = time.time() - t0
            if t_conn > 0.5:
                log(f"slow connect: {t_conn:.2f}s")
            c.sendall(b"GET /api/drivers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            got = b""
            while True:
                b = c.recv(4096)
                if not b:
                    break
                got += b
        return time.time() - t0, got[:12].decode(errors="replace")
    except OSError as e:
        return time.time() - t0, f"error {e}"


def main():
    with Cluster() as c:
        c.broker()
        orch = c.orchestrator()
        port = orch.port
        slow, ends = [], {}
        ka = ev = trickle = None
        t0 = time.time()
        try:
            failed = 0
            for _ in range(N_SLOW):
                try:
                    slow.append((slow_socket(port), time.time()))
                except OSError:
                    failed += 1  # closed at once, before the first bytes went
            log(f"{len(slow)} slow sockets open in {time.time() - t0:.1f}s, {failed} closed "
                "while connecting")
            # A keep-alive connection that idles past the deadline, and an
            # event stream.
            try:
                ka = socket.create_connection(("127.0.0.1", port), timeout=5)
                ka.sendall(b"GET /api/drivers HTTP/1.1\r\nHost: x\r\n\r\n")
                first = ka.recv(4096)
            except OSError as e:
                first = f"error {e}".encode()
            check(b"200 OK" in first, f"a client on 127.0.0.1 was not served: {first[:60]!r}")
            ev = socket.create_connection(("127.0.0.1", port), timeout=5)
            ev.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
            trickle = socket.create_connection(("127.0.0.1", port), timeout=5)
            trickle.sendall(b"POST /api/tests HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{")
            trickle.setblocking(False)
            t_trickle = time.time()
            trickle_end = None

            answers = []
            last_byte = 0.0
            stop = time.time() + DEADLINE + 4
            while time.time() < stop and (len(ends) < len(slow) or trickle_end is None):
                now = time.time()
                for i, (s, born) in enumerate(slow):
                    if i in ends:
                        continue
                    try:
                        b = s.recv(4096)
                        ends[i] = (now - born, b[:30].decode(errors="replace") if b else "EOF")
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        ends[i] = (now - born, f"error {e.errno}")
                if now - last_byte >= 2.0:
                    last_byte = now
                    for i, (s, _) in enumerate(slow):
                        if i not in ends:
                            try:
                                s.send(b"X")
                            except OSError:
                                pass
                    if trickle_end is None:
                        try:
                            trickle.send(b" ")
                        except OSError:
                            pass
                if trickle_end is None:
                    try:
                        b = trickle.recv(4096)
                        trickle_end = (now - t_trickle, b[:30].decode(errors="replace"))
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        trickle_end = (now - t_trickle, f"error {e.errno}")
                answers.append(ask(port))
                time.sleep(0.2)

            bad = [a for a in answers if not a[1].startswith("HTTP/1.1 200") or a[0] > 1.0]
            worst = max(a[0] for a in answers)
            log(f"client: {len(answers)} answers during the attack, worst {worst * 1000:.0f} ms, "
                f"{len(bad)} late or failed")
            check(answers and not bad, f"the client was not served: {bad[:5]}")

            held = [e for e in ends.values() if e[1].startswith("HTTP/1.1 408")]
            refused = [e for e in ends.values() if not e[1].startswith("HTTP/1.1 408")]
            log(f"slow sockets: {len(held)} cut with 408 at "
                f"{min((e[0] for e in held), default=0):.2f}..{max((e[0] for e in held), default=0):.2f}s, "
                f"{len(refused)} closed at once, {len(slow) - len(ends)} still open")
            check(len(ends) == len(slow), f"{len(slow) - len(ends)} slow sockets still open "
                  f"after {DEADLINE + 4:.0f}s")
            check(0 < len(held) <= PER_IP, f"127.0.0.2 held {len(held)} connections "
                  f"(at most {PER_IP})")
            check(all(DEADLINE - 0.5 <= e[0] <= DEADLINE + 2 for e in held),
                  f"not cut at the deadline: {sorted(e[0] for e in held)[:3]}...")
            check(all(e[0] < DEADLINE - 1 for e in refused),
                  f"refused ones lingered: {sorted(e[0] for e in refused)[-3:]}")
            check(trickle_end and trickle_end[1].startswith("HTTP/1.1 408") and
                  DEADLINE - 0.5 <= trickle_end[0] <= DEADLINE + 2,
                  f"a trickling body was not cut at the deadline: {trickle_end}")

            ka.sendall(b"GET /api/drivers HTTP/1.1\r\nHost: x\r\n\r\n")
            check(b"200 OK" in ka.recv(4096), "an idle keep-alive connection was cut")
            ev.settimeout(3)
            data = b""
            t1 = time.time()
            while b"event: drivers" not in data[-2000:] and time.time() - t1 < 3:
                got = ev.recv(65536)
                check(got, "the event stream was cut")
                data += got
            check(data.count(b"event: drivers") >= DEADLINE - 2,
                  f"the event stream stalled: {data.count(b'event: drivers')} events")
            log("keep-alive and the event stream outlived the deadline")

            # Many addresses, each under its share: cut early under pressure.
            for s, _ in slow:
                s.close()
            slow, ends = [], {}
            for i in range(N_SLOW):
                try:
                    slow.append((slow_socket(port, f"127.0.0.{3 + i % 6}"), time.time()))
                except OSError:
                    pass
            answers = []
            t_attack = time.time()
            stop = t_attack + 4
            while time.time() < stop:
                now = time.time()
                for i, (s, born) in enumerate(slow):
                    if i in ends:
                        continue
                    try:
                        b = s.recv(4096)
                        ends[i] = (now - born, b[:30].decode(errors="replace") if b else "EOF")
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        ends[i] = (now - born, f"error {e.errno}")
                if now - t_attack >= 1.5:
                    answers.append(ask(port))
                time.sleep(0.1)
            bad = [a for a in answers if not a[1].startswith("HTTP/1.1 200") or a[0] > 1.0]
            cut = sorted(e[0] for e in ends.values() if e[1].startswith("HTTP/1.1 408"))
            log(f"six addresses: {len(slow)} open, {len(cut)} cut with 408 at "
                f"{cut[0] if cut else 0:.2f}..{cut[-1] if cut else 0:.2f}s, "
                f"{len(ends)} closed in all; client {len(answers)} answers, {len(bad)} bad")
            check(answers and not bad, f"the client was not served: {bad[:5]}")
            held = len(slow) - len(ends)
            check(held <= 256 * 3 // 4, f"{held} slow sockets still held after 4 s")
            check(cut and cut[-1] < 3.0, f"not cut early under pressure: {cut[-3:]}")
        finally:
            for s, _ in slow:
                s.close()
            for s in (ka, ev, trickle):
                if s is not None:
                    s.close()
        check(orch.alive(), "the orchestrator died")


if __name__ == "__main__":
    run_test(main)
