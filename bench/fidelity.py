#!/usr/bin/env python3
"""TSUNAMI fidelity: does load-driver send on schedule? Measured from
outside the driver, on the wire.

    bench/fidelity.py [--build DIR] [--reps 3] [--gaps 10,1] [--secs 5]

For each gap G (ms), load-driver runs a TSUNAMI of `secs` seconds (request
i due at start + i × G) against target-server (no delay), while dumpcap
captures on the loopback interface the first packet of every request: TCP
to the target's port whose payload starts with "GET " (a small request is
one packet). The kernel's capture timestamps give:

- the inter-send gaps: their median, and the jitter |gap - G| (median,
  p99, max);
- the drift from the schedule: how far the i-th send is from
  offset + i × G, the offset being the median of (send time - i × G)
  over the run (median, p99, max of the distance), which a schedule that
  catches up keeps small even when single gaps jitter;
- the achieved rate, (n - 1) / (last send - first send), against 1 / G,
  and that every request was seen once.

Medians over --reps runs. Bounded: about 1.5 minutes with the defaults,
never more than 10. Results: stdout and bench/results/fidelity-*.json."""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402


class Capture:
    """dumpcap on lo with a capture filter, stopped by PID; times() reads
    the packets' timestamps (epoch seconds) back with tshark."""

    def __init__(self, bpf):
        self.path = os.path.join(bl.WORK, f"cap-{time.time_ns()}.pcapng")
        self.proc = bl.Proc("dumpcap", ["dumpcap", "-q", "-i", "lo", "-f", bpf, "-w", self.path])
        # dumpcap says nothing on stdout; wait for the file to appear.
        for _ in range(100):
            if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
                break
            time.sleep(0.05)
        time.sleep(0.3)

    def stop(self):
        time.sleep(0.3)  # let the last packets reach the file
        self.proc.stop()
        with open(self.proc.logpath, errors="replace") as f:
            self.log = f.read()

    def fields(self, *names):
        r = subprocess.run(["tshark", "-r", self.path, "-T", "fields",
                            *[a for n in names for a in ("-e", n)]],
                           capture_output=True, text=True, timeout=300, check=True)
        rows = [line.split("\t") for line in r.stdout.splitlines() if line.strip()]
        return rows

    def dropped(self):
        # "Packets received/dropped on interface 'lo': 1000/0 (pcap:0/dumpcap:0/flushed:0/...)"
        import re
        m = re.search(r"received/dropped on interface '[^']*': (\d+)/(\d+)", self.log)
        return int(m.group(2)) if m else None

    def remove(self):
        try:
            os.unlink(self.path)
        except OSError:
            pass


def get_filter(port):
    # First 4 bytes of the TCP payload are "GET ".
    return (f"tcp dst port {port} and "
            f"tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420")


def analyse(times, gap_s):
    n = len(times)
    gaps = [(b - a) for a, b in zip(times, times[1:])]
    jitter = [abs(g - gap_s) * 1e3 for g in gaps]
    # The schedule is start + i × G: its offset is taken as the median of
    # t_i - i × G (the first request, which opens a connection, is not a
    # good anchor), and drift is each send's distance from it.
    offs = [t - i * gap_s for i, t in enumerate(times)]
    anchor = bl.median(offs)
    drift = [abs(o - anchor) * 1e3 for o in offs]
    span = times[-1] - times[0]
    return {"n": n, "gap_median_ms": bl.median(gaps) * 1e3,
            "jitter_median_ms": bl.median(jitter), "jitter_p99_ms": bl.pct(jitter, 99),
            "jitter_max_ms": max(jitter),
            "drift_median_ms": bl.median(drift), "drift_p99_ms": bl.pct(drift, 99),
            "drift_max_ms": max(drift), "first_ms": (offs[0] - anchor) * 1e3,
            "rate": (n - 1) / span if span > 0 else None, "requested": 1.0 / gap_s}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--gaps", default="10,1", help="ms, comma-separated")
    ap.add_argument("--secs", type=float, default=5)
    args = ap.parse_args()
    bl.deadline(10 * 60)
    bl.ensure_tools({"dumpcap": "tshark", "tshark": "tshark"})
    build = bl.build_dir(args.build)
    m = bl.machine()
    bl.print_machine(m)
    res = {"machine": m, "runs": {}}
    t = bl.Target(build)
    try:
        for g in [float(x) for x in args.gaps.split(",")]:
            count = int(round(args.secs * 1000 / g))
            runs = []
            for rep in range(args.reps):
                cap = Capture(get_filter(t.port))
                try:
                    rep_, r = bl.driver_bench(build, t.url, {
                        "test_type": "TSUNAMI", "test_message_delay": g / 1000.0,
                        "message_count_per_driver": count, "concurrency": 64})
                finally:
                    cap.stop()
                times = sorted(float(x[0]) for x in cap.fields("frame.time_epoch"))
                cap.remove()
                a = analyse(times, g / 1000.0)
                a.update({"sent": rep_["requests_sent"], "late": rep_.get("late"),
                          "errors": rep_["errors"], "dropped": cap.dropped(),
                          "driver_cpu_s": r.cpu})
                runs.append(a)
                bl.log(f"gap {g} ms rep {rep + 1}: {a['n']} packets for {a['sent']} requests, "
                       f"rate {a['rate']:.2f}/s of {a['requested']:.0f}, jitter p99 "
                       f"{a['jitter_p99_ms']:.3f} ms, drift p99 {a['drift_p99_ms']:.3f} ms")
            res["runs"][g] = runs
    finally:
        t.stop()
    m["loadavg_after"] = bl.loadavg()

    def med(runs, k):
        return bl.median([r[k] for r in runs])

    bl.out("\n| gap | requests (seen / sent) | median gap | jitter median | jitter p99 "
           "| jitter max | drift from schedule median / p99 / max | first request "
           "| achieved ÷ requested rate | late (driver) |")
    bl.out("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for g, runs in res["runs"].items():
        bl.out(f"| {g:g} ms | {med(runs, 'n'):.0f} / {med(runs, 'sent'):.0f} | "
               f"{med(runs, 'gap_median_ms'):.3f} ms | {med(runs, 'jitter_median_ms'):.3f} ms | "
               f"{med(runs, 'jitter_p99_ms'):.3f} ms | {med(runs, 'jitter_max_ms'):.3f} ms | "
               f"{med(runs, 'drift_median_ms'):.3f} / {med(runs, 'drift_p99_ms'):.3f} / "
               f"{med(runs, 'drift_max_ms'):.3f} ms | {med(runs, 'first_ms'):+.3f} ms | "
               f"{bl.median([r['rate'] / r['requested'] for r in runs]):.5f} | "
               f"{med(runs, 'late'):.0f} |")
    bl.out(f"\nload average after: {m['loadavg_after']}")
    bl.save_results("fidelity", res)


if __name__ == "__main__":
    sys.exit(main())
