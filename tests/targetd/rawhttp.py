"""Raw-socket HTTP/1.1 keep-alive clients for target-server's tests.

Standard library only. One thread drives many non-blocking connections with
selectors (epoll), so the measurement is not distorted by thread switching
or the GIL:

- closed_loop(): every connection sends its next request as soon as the
  previous response is complete, until a total count is reached.
- one_round(): every connection sends one request; returns each one's
  latency, from a clock read just before send() to the kernel's receive
  timestamp of the response's last segment (SO_TIMESTAMPNS). So the time
  the client spends parsing other responses, or waiting for a CPU, never
  counts as server latency. The latency seen when epoll reported the data
  is kept too (user_latencies), for comparison.
"""

import resource
import selectors
import socket
import struct
import time

# Linux's SO_TIMESTAMPNS (and SCM_TIMESTAMPNS); Python does not export it.
SO_TIMESTAMPNS = 35


def raise_nofile(n):
    """Make room for n sockets in this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def request(method="GET", path="/ping", body=b"", headers=None, host="127.0.0.1"):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def parse_one(buf):
    """(status, headers, body, consumed) for the first complete response in
    buf, or None when it is not complete yet. Needs Content-Length (every
    response target-server sends has it)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    parts = head[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"bad status line {head[0]!r}")
    status = int(parts[1])
    headers = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    if len(buf) < end + 4 + n:
        return None
    return status, headers, buf[end + 4:end + 4 + n], end + 4 + n


def connect_many(port, n, host="127.0.0.1", timeout=10):
    raise_nofile(n)
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection((host, port), timeout=timeout)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            socks.append(s)
    except BaseException:
        close_all(socks)
        raise
    return socks


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


class Outcome:
    def __init__(self):
        self.status = {}      # status code -> count
        self.statuses = []    # every status, in the order received
        self.bodies = {}      # (status, body) -> count
        self.latencies = []   # seconds
        self.user_latencies = []  # seconds, up to when the client saw the data
        self.closed = 0       # connections the server closed under us

    def add(self, status, body, latency, user_latency=None):
        self.status[status] = self.status.get(status, 0) + 1
        self.statuses.append(status)
        key = (status, bytes(body))
        self.bodies[key] = self.bodies.get(key, 0) + 1
        self.latencies.append(latency)
        self.user_latencies.append(latency if user_latency is None else user_latency)

    @property
    def count(self):
        return sum(self.status.values())


def closed_loop(socks, total, req, timeout=60):
    """Send total requests over socks, each connection one at a time
    (keep-alive, no pipelining). Returns an Outcome; raises on timeout."""
    sel = selectors.DefaultSelector()
    out = Outcome()
    sent = 0
    state = {}
    deadline = time.monotonic() + timeout
    try:
        for s in socks:
            if sent >= total:
                break
            state[s] = [bytearray(), time.monotonic()]
            s.sendall(req)
            sent += 1
            sel.register(s, selectors.EVENT_READ)
        while out.count < total:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"closed_loop: {out.count}/{total} responses in {timeout}s")
            for key, _ in sel.select(min(left, 1.0)):
                now = time.monotonic()
                s = key.fileobj
                buf, t_sent = state[s]
                data = s.recv(65536)
                if not data:
                    out.closed += 1
                    sel.unregister(s)
                    raise ConnectionError(f"server closed a connection after {out.count} responses")
                buf += data
                parsed = parse_one(buf)
                if parsed is None:
                    continue
                status, _, body, used = parsed
                del buf[:used]
                out.add(status, body, now - t_sent)
                if sent < total:
                    state[s][1] = time.monotonic()
                    s.sendall(req)
                    sent += 1
    finally:
        sel.close()
    return out


def one_round(socks, req, timeout=30, during=None, spread=0.0):
    """Every connection sends req once; wait for every response. Returns an
    Outcome with one latency per socket.

    spread: seconds over which the sends are spread evenly (0: all at
    once). A burst of hundreds of requests queues in any single-threaded
    server, and the queueing would then be measured rather than the server's
    delay; spread over one delay period, the same number are in flight at
    the peak while each is read as it arrives.
    during(), if given, runs right after the last send (it must be quick and
    must not talk to the server)."""
    sel = selectors.DefaultSelector()
    out = Outcome()
    bufs = {}
    t_sent = {}   # CLOCK_REALTIME ns, the kernel's timestamp clock
    t_sent_mono = {}
    rx_ts = {}
    anc_size = socket.CMSG_SPACE(16)
    n = len(socks)
    try:
        for s in socks:
            bufs[s] = bytearray()
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sel.register(s, selectors.EVENT_READ)
        start = time.monotonic()
        deadline = start + spread + timeout
        sent = 0
        pending = n
        while pending:
            now = time.monotonic()
            if sent < n:
                # Everything due by now goes out (all of it when spread is 0).
                due = n if spread <= 0 else min(n, int((now - start) / spread * n) + 1)
                while sent < due:
                    s = socks[sent]
                    t_sent_mono[s] = time.monotonic()
                    t_sent[s] = time.clock_gettime_ns(time.CLOCK_REALTIME)
                    s.sendall(req)
                    sent += 1
                if sent == n and during:
                    during()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"one_round: {pending} of {n} responses missing")
            wait = min(left, 1.0) if sent == n else 0.0005
            events = sel.select(wait)
            seen = time.monotonic()  # when epoll saw them: before any parsing
            for key, _ in events:
                s = key.fileobj
                data, anc, _, _ = s.recvmsg(65536, anc_size)
                if not data:
                    raise ConnectionError("server closed a connection mid-round")
                for level, kind, blob in anc:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(blob) >= 16:
                        sec, nsec = struct.unpack("qq", blob[:16])
                        rx_ts[s] = sec * 1000000000 + nsec
                bufs[s] += data
                parsed = parse_one(bufs[s])
                if parsed is None:
                    continue
                status, _, body, used = parsed
                del bufs[s][:used]
                user = seen - t_sent_mono[s]
                kernel = (rx_ts[s] - t_sent[s]) / 1e9 if s in rx_ts else user
                out.add(status, body, kernel, user)
                sel.unregister(s)
                pending -= 1
    finally:
        sel.close()
    return out


def exchange(port, data, read_timeout=5, host="127.0.0.1"):
    """Send raw bytes on a fresh connection; return every byte the server
    sent back until it closed or went quiet for read_timeout."""
    with socket.create_connection((host, port), timeout=read_timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = bytearray()
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return bytes(got)


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise RuntimeError(f"no Threads line for pid {pid}")
