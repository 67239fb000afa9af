#!/usr/bin/env python3
"""Mix: what picking a request and expanding its templates costs.

    bench/mix.py [--build DIR] [--reps 3] [--conns 64] [--count 600000]

One load-driver engine thread (AVALANCHE, --conns connections, the native
engine) against nginx, counted at the server over the middle of each run,
with the driver's CPU per request:
- single: today's one request, GET /ping;
- mix: three requests by weight 3:2:1, two of them templated: a URL with
  {{seq}} and {{rand:1-1000}}, a header X-Id: {{uuid}}, and one fixed;
- mix100: 100 requests of equal weight, all templated (the bound of a
  test), to show that memory stays flat with the number of requests;
- data: the mix with 100,000 rows of data (about 2.6 MB of CSV), its
  "page" URL taking {{user}} (percent-encoded) and its "item" request a
  header X-Pass: {{pass}}, each send the next row.
--ir adds user-space instructions per request under valgrind's callgrind:
a run of 25,000 requests less one of 5,000, over 20,000 (start-up, the
parse of the data and connection set-up cancel out); deterministic up to
the engine's timing (a spin before blocking waits polls epoll a number of
times that depends on it).
The goal: the mix (and the mix with data) within 5% of the single
request's requests/s. Runs are paired (single, mix, mix100, data in turn) and each figure is the median of
--reps. RSS is the driver's peak (VmHWM). Bounded: every run at most 120 s;
about 2 minutes with the defaults. Results: stdout and
bench/results/mix-*.json."""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import benchlib as bl  # noqa: E402


def configs(url, conns, count):
    base = {"test_type": "AVALANCHE", "test_message_delay": 0,
            "message_count_per_driver": count, "concurrency": conns}
    mix = dict(base, requests=[
        {"name": "page", "url": url + "?s={{seq}}&r={{rand:1-1000}}", "weight": 3},
        {"name": "item", "url": url + "?item={{rand:1-1000000}}", "headers": {"X-Id": "{{uuid}}"},
         "weight": 2},
        {"name": "fixed", "url": url, "weight": 1}])
    mix100 = dict(base, requests=[{"name": f"r{i}", "url": url + f"?r={i}&s={{{{seq}}}}"}
                                  for i in range(100)])
    rows = "".join(f"user {i:06d}@example.org,pw-{i * 7919 % 100000:05d}\n" for i in range(100000))
    data = dict(base, data={"csv": "user,pass\n" + rows}, requests=[
        {"name": "page", "url": url + "?u={{user}}&s={{seq}}&r={{rand:1-1000}}", "weight": 3},
        {"name": "item", "url": url + "?item={{rand:1-1000000}}",
         "headers": {"X-Id": "{{uuid}}", "X-Pass": "{{pass}}"}, "weight": 2},
        {"name": "fixed", "url": url, "weight": 1}])
    return {"single": base, "mix": mix, "mix100": mix100, "data": data}


def run(build, ng, cfg):
    with bl.ServerCounter(ng) as sc:
        def started(pid):
            sc.pid = pid
        rep, r = bl.driver_bench(build, ng.url, cfg, on_start=started, timeout=120)
    want = cfg["message_count_per_driver"]
    if rep["errors"] or rep["responses_received"] != want:
        raise RuntimeError(f"errors: {rep['error_kinds']}")
    st = sc.steady()
    return {"rps": st["rps"], "cpu_us": st["tool_us"], "rss_mb": r.hwm_kb / 1024
            if getattr(r, "hwm_kb", None) else None, "engine": rep.get("engine")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--count", type=int, default=600000)
    ap.add_argument("--ir", action="store_true", help="also instructions per request (callgrind)")
    a = ap.parse_args()
    build = bl.build_dir(a.build)
    bl.deadline(20 * 60)
    bl.raise_nofile()
    m = bl.machine()
    bl.print_machine(m)
    ng = bl.Nginx(bl.private_loopback())
    runs = {k: [] for k in ("single", "mix", "mix100", "data")}
    try:
        cfgs = configs(ng.url, a.conns, a.count)
        for rep in range(a.reps):
            for name, cfg in cfgs.items():
                x = run(build, ng, cfg)
                runs[name].append(x)
                bl.log(f"rep {rep + 1} {name}: {x['rps']:.0f} requests/s, "
                       f"{x['cpu_us']:.2f} us/request, RSS {x['rss_mb']} MB, {x['engine']}")
        ir = {}
        if a.ir:
            for name, cfg in cfgs.items():
                def mk(n):
                    return bl.bench_argv(build, ng.url, dict(cfg, message_count_per_driver=n))
                ir[name] = (bl.callgrind_ir(mk(25000)) - bl.callgrind_ir(mk(5000))) / 20000
                bl.log(f"{name}: {ir[name]:.0f} instructions per request")
    finally:
        ng.stop()
    med = {k: {f: bl.median([x[f] for x in v if x[f] is not None])
               for f in ("rps", "cpu_us", "rss_mb")} for k, v in runs.items()}
    bl.out(f"\n{a.conns} connections, 1 engine thread, medians of {a.reps} paired runs:")
    bl.out("| test | requests/s | ÷ single | CPU/request | peak RSS |")
    bl.out("| --- | --- | --- | --- | --- |")
    for k in runs:
        r = med[k]
        bl.out(f"| {k} | {r['rps']:.0f} | {r['rps'] / med['single']['rps']:.3f} | "
               f"{r['cpu_us']:.2f} µs | {r['rss_mb']:.1f} MB |")
    if ir:
        bl.out("\n| test | instructions/request (user space) | ÷ single |\n| --- | --- | --- |")
        for k, v in ir.items():
            bl.out(f"| {k} | {v:,.0f} | {v / ir['single']:.3f} |")
    ratio = min(med[k]["rps"] for k in ("mix", "data")) / med["single"]["rps"]
    verdict = "PASS" if ratio >= 0.95 else "FAIL"
    bl.out(f"\nthe lower of mix and data ÷ single = {ratio:.3f} (goal: at least 0.95): {verdict}")
    bl.save_results("mix", {"machine": m, "runs": runs, "medians": med, "ir": ir})
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
