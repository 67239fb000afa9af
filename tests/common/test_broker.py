"""load-broker: kcat (a client the project did not write) and the project's
own bus module each produce and consume on all five topics through the fixed
bootstrap port; two broadcast consumers in two processes both receive the
same message; a group consumer gets what was produced before it joined;
SIGTERM stops the broker cleanly."""

import os
import subprocess
import time

from dlt import BUILD, Cluster, Proc, check, kcat_produce, log, run_test

TOPICS = ["register", "test_config", "trigger", "metrics", "heartbeat"]
BUSTOOL = os.path.join(BUILD, "tests", "bustool")


def kcat_read_all(bootstrap, topic, n, timeout=20):
    out = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning",
                          "-c", str(n), "-q", "-f", "%k=%s\n"],
                         capture_output=True, timeout=timeout, check=True)
    return out.stdout.decode().splitlines()


def main():
    with Cluster() as c:
        broker = c.broker()
        boot = broker.bootstrap
        log("broker ready at", boot)
        check(boot.startswith("127.0.0.1:"), f"bootstrap {boot} is not on loopback")

        # Metadata through the fixed port lists the five topics.
        md = subprocess.run(["kcat", "-b", boot, "-L"], capture_output=True, timeout=20,
                            check=True).stdout.decode()
        for t in TOPICS:
            check(f'topic "{t}" with 4 partitions' in md, f"topic {t} missing:\n{md}")

        # kcat round trip on every topic.
        for t in TOPICS:
            kcat_produce(boot, t, f'{{"via":"kcat","topic":"{t}"}}', key="k1")
        for t in TOPICS:
            lines = kcat_read_all(boot, t, 1)
            check(lines == [f'k1={{"via":"kcat","topic":"{t}"}}'], f"{t}: kcat read {lines}")

        # The bus module: produce on every topic, read back with kcat, and
        # read kcat's messages with a bus group consumer.
        for t in TOPICS:
            subprocess.run([BUSTOOL, "produce", boot, t, "k2", f'{{"via":"bus","topic":"{t}"}}'],
                           check=True, timeout=30)
        for t in TOPICS:
            lines = kcat_read_all(boot, t, 2)
            check(f'k2={{"via":"bus","topic":"{t}"}}' in lines, f"{t}: bus message not seen: {lines}")
        for t in TOPICS:
            out = subprocess.run([BUSTOOL, "group", boot, f"g-{t}", t, "2", "20000"],
                                 capture_output=True, timeout=40)
            got = out.stdout.decode().splitlines()
            check(out.returncode == 0, f"{t}: group consumer got {got}")
            check(f'{{"via":"kcat","topic":"{t}"}}' in got and f'{{"via":"bus","topic":"{t}"}}' in got,
                  f"{t}: group consumer read {got}")

        # Two broadcast consumers in two processes both see one message sent
        # after they are ready, and nothing older.
        consumers = [Proc(f"bcast{i}", [BUSTOOL, "broadcast", boot, "trigger", "1", "20000"])
                     for i in range(2)]
        c.procs.extend(consumers)
        for p in consumers:
            p.wait_line("ready", 20)
        kcat_produce(boot, "trigger", '{"test_id":"x1","trigger":"YES"}', key="x1")
        for p in consumers:
            rc = p.p.wait(30)
            check(rc == 0, f"{p.name} exited {rc}: {p.lines} {p.stderr_tail()}")
            check(p.lines[1:] == ['{"test_id":"x1","trigger":"YES"}'], f"{p.name} read {p.lines}")

        # Clean stop on SIGTERM.
        t0 = time.time()
        rc = broker.stop()
        check(rc == 0, f"load-broker exited {rc} on SIGTERM")
        check(time.time() - t0 < 10, "load-broker took too long to stop")

    # Bad options: one line on stderr, exit 2.
    for argv in (["--listen", "nowhere"], ["--partitions", "0"], ["--bogus"], ["extra"]):
        r = subprocess.run([os.path.join(BUILD, "src/broker/load-broker"), *argv],
                           capture_output=True, timeout=10)
        err = r.stderr.decode().strip()
        check(r.returncode == 2, f"{argv}: exit {r.returncode}")
        check(len(err.splitlines()) == 1 and err.startswith("load-broker:"), f"{argv}: {err!r}")


if __name__ == "__main__":
    run_test(main)
