"""Secrets stay off the command line (/proc/PID/cmdline is readable by
every local user):
- load-orchestrator --api-token-file FILE takes the token from the first
  line of FILE: POST without it is 401, with it is answered; the token is
  not in the process's cmdline. A missing or empty file, or one whose first
  line is not a valid token, is one line on stderr and exit status 2.
- --kafka-config FILE, for load-orchestrator and load-driver, applies the
  librdkafka properties of FILE as -X would ('#' comments, blank lines and
  spaces around '=' allowed): with SASL_PLAINTEXT/PLAIN settings both try
  to authenticate (load-broker does not offer SASL, which they report) and
  stop cleanly; sasl.password is not in their cmdline. An unreadable file,
  a line without '=' or an unknown property is one line naming the file
  and the line, without quoting the line, and exit status 2."""

import os
import stat
import subprocess
import tempfile
import time

from dlt import (ARTIFACTS, Cluster, binary, check, free_port, http, log, run_test,
                 wait_until)

TOKEN = "f1le-t0ken-for-tests"
PASSWORD = "pa55-in-a-file"


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode(errors="replace")


def bad_start(prog, argv, words, secret=None):
    r = subprocess.run([binary(prog), *argv], capture_output=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    err = r.stderr.decode(errors="replace").strip()
    log(f"{prog} {' '.join(argv[-2:])}: exit {r.returncode}: {err}")
    check(r.returncode == 2, f"{prog}: exit {r.returncode}, want 2: {err!r}")
    check(len(err.splitlines()) == 1, f"{prog}: more than one line: {err!r}")
    for w in words:
        check(w in err, f"{prog}: {err!r} does not mention {w!r}")
    if secret:
        check(secret not in err, f"{prog}: the error quotes the secret: {err!r}")


def main():
    tmp = tempfile.mkdtemp(prefix="dlt-secrets-", dir=ARTIFACTS)
    token_file = os.path.join(tmp, "token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(token_file, stat.S_IRUSR | stat.S_IWUSR)
    kconf = os.path.join(tmp, "kafka.conf")
    with open(kconf, "w") as f:
        f.write("# SASL for the test cluster\n\n"
                "security.protocol = SASL_PLAINTEXT\n"
                "  sasl.mechanisms=PLAIN\n"
                "sasl.username=u\n"
                f"sasl.password={PASSWORD}\n")
    with Cluster() as c:
        c.broker()
        db = os.path.join(ARTIFACTS, f"secrets-{os.getpid()}.db")
        common = ["--kafka", c.kafka, "--db", db]

        # --api-token-file.
        orch = c.orchestrator("--api-token-file", token_file)
        check(TOKEN not in cmdline(orch.pid), "the token is in the orchestrator's cmdline")
        st, _, _ = http("POST", orch.url + "/api/tests", body={"test_type": "AVALANCHE"})
        check(st == 401, f"POST without the token: {st}")
        st, _, body = http("POST", orch.url + "/api/tests", body={"test_type": "AVALANCHE"},
                           headers={"Authorization": f"Bearer {TOKEN}"})
        check(st == 400 and b"message_count_per_driver" in body,
              f"POST with the file's token: {st} {body[:200]!r}")
        check(orch.stop() == 0, "the orchestrator did not stop cleanly")
        empty = os.path.join(tmp, "empty")
        open(empty, "w").close()
        spaced = os.path.join(tmp, "spaced")
        with open(spaced, "w") as f:
            f.write("two words\n")
        bad_start("load-orchestrator", [*common, "--api-token-file", os.path.join(tmp, "none")],
                  ["--api-token-file", "No such file"])
        bad_start("load-orchestrator", [*common, "--api-token-file", empty], ["empty"])
        bad_start("load-orchestrator", [*common, "--api-token-file", spaced], ["spaces"])

        # --kafka-config, bad files.
        for prog, extra in (("load-orchestrator", common),
                            ("load-driver", ["--kafka", c.kafka, "--db", db + "-d"])):
            bad_start(prog, [*extra, "--kafka-config", os.path.join(tmp, "none")],
                      ["--kafka-config", "No such file"])
            noeq = os.path.join(tmp, "noeq")
            with open(noeq, "w") as f:
                f.write("# ok\nsasl.username=u\nsasl.password " + PASSWORD + "\n")
            bad_start(prog, [*extra, "--kafka-config", noeq], ["line 3", "key=value"],
                      secret=PASSWORD)
            unknown = os.path.join(tmp, "unknown")
            with open(unknown, "w") as f:
                f.write("no.such.property=1\n")
            bad_start(prog, [*extra, "--kafka-config", unknown], ["line 1", "no.such.property"])

        # --kafka-config applied: both try SASL PLAIN, and stop cleanly.
        o = c.start("load-orchestrator-sasl", [
            binary("load-orchestrator"), "--kafka", c.kafka, "--listen",
            f"127.0.0.1:{free_port()}", "--db", db + "-sasl", "--kafka-config", kconf],
            ready="ready ")
        d = c.start("load-driver-sasl", [
            binary("load-driver"), "--kafka", c.kafka, "--db", db + "-sasl-d",
            "--kafka-config", kconf])
        for p in (o, d):
            wait_until(lambda p=p: "SASL authentication" in p.stderr_text() and
                       "mechanism PLAIN" in p.stderr_text(), timeout=20,
                       what=f"{p.name} trying SASL PLAIN")
            check(p.alive(), f"{p.name} exited with SASL settings from a file")
            check(PASSWORD not in cmdline(p.pid), f"{p.name}: the password is in its cmdline")
            check(PASSWORD not in p.stderr_text(), f"{p.name}: the password is in its log")
        for p in (d, o):
            t0 = time.time()
            rc = p.stop()
            check(rc == 0 and time.time() - t0 < 12, f"{p.name}: exit {rc}")
        log("orchestrator and driver took SASL settings from --kafka-config")


if __name__ == "__main__":
    run_test(main)
