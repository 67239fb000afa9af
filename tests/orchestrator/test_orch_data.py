"""A test's data (CSV rows for a mix's {{column}} templates) through the REST
API and load-client, on two real drivers, against a recording server of
this test's own:
- split: each driver gets a disjoint, contiguous slice of the rows and
  uses its rows in turn; over 1,000 users every user is sent exactly once,
  with its own password, in the URL, a header and the body;
- shared: every driver gets all the rows and uses them in turn;
- 100,000 rows (about 2.5 MB) go to the drivers in many chunks on
  test_data, and each driver starts on the first row of its slice;
- a value is percent-encoded in the URL and sent as it is in a header;
- load-client start --data FILE --data-mode shared sends the file;
- bad data is refused with 400 and its reason (the line of a bad CSV row,
  an unknown column, data without a mix, the size limit), and split data
  of fewer rows than drivers ends the test FAILED with the reason."""

import collections
import json
import os
import subprocess
import tempfile
from urllib.parse import parse_qs, urlsplit

from dlt import Cluster, binary, check, log, run_test
from orchlib import post, start_test, wait_drivers, wait_test
from recorder import Recording


def users_csv(n):
    return "user,pass\n" + "".join(f"user{i:06d},pw{i * 7}\n" for i in range(n))


def mix(base):
    return [{"name": "login", "method": "POST", "url": base + "/login?u={{user}}",
             "headers": {"X-User": "{{user}}", "X-Pass": "{{pass}}", "X-Driver": "{{driver}}"},
             "body": "user={{user}}&pass={{pass}}"}]


def main():
    with Recording() as rec, Cluster() as c:
        c.broker()
        orch = c.orchestrator("--heartbeat-timeout", "5s")
        for _ in range(2):
            c.driver("--allow-target", "loopback", target=rec.base + "/")
        wait_drivers(orch.url, 2)
        scenarios(orch, rec, tempfile.mkdtemp(prefix="orch-data-"))


def scenarios(orch, rec, tmp):
    base = rec.base

    def take():
        return [{"path": r["path"], "body": r["body"], "user": r["headers"].get("x-user"),
                 "pass": r["headers"].get("x-pass"), "driver": r["headers"].get("x-driver")}
                for r in rec.take()]

    api = orch.url + "/api/tests"

    # Refused at creation, with the reason.
    one = {"test_type": "AVALANCHE", "message_count_per_driver": 1, "requests": mix(base)}
    for data, want in (
            ({"csv": "user,pass\nalice\n"}, "line 2: 1 value(s), but the header names 2"),
            ({"csv": "name,pass\nalice,x\n"}, "unknown variable {{user}}"),
            ({"csv": "user,pass\na,b\n", "mode": "both"}, "\"data.mode\" must be"),
            ({"csv": "user,pass\n"}, "no rows"),
            ({"csv": "user,pass\n" + "u,\"" + "x" * (8 * 1024 * 1024) + "\"\n"},
             "over the limit of 8388608")):
        status, doc = post(api, dict(one, data=data))
        check(status == 400 and want in doc.get("error", ""), f"{want}: {status} {doc}")
    status, doc = post(api, {"test_type": "AVALANCHE", "message_count_per_driver": 1,
                             "data": {"csv": "user\na\n"}})
    check(status == 400 and "for a request mix" in doc.get("error", ""), f"{status} {doc}")

    # Split: 1000 users, 500 per driver, each used once.
    take()
    tid = start_test(orch.url, dict(
        one, message_count_per_driver=500, concurrency=8,
        data={"csv": users_csv(1000), "mode": "split"}))
    t = wait_test(orch.url, tid, timeout=90)
    check(t["state"] == "COMPLETED", f"split: {t['state']} {t.get('reason')}")
    check(t["config"]["data"] == {"mode": "split", "columns": ["user", "pass"], "rows": 1000},
          f"split: stored data {t['config'].get('data')}")
    seen = take()
    check(len(seen) == 1000, f"split: the server saw {len(seen)} requests, not 1000")
    users = collections.Counter(s["user"] for s in seen)
    check(len(users) == 1000 and set(users.values()) == {1},
          f"split: {len(users)} distinct users, counts {set(users.values())}")
    by_driver = collections.defaultdict(set)
    for s in seen:
        i = int(s["user"][4:])
        check(s["pass"] == f"pw{i * 7}", f"split: {s['user']} sent password {s['pass']}")
        check(s["body"] == f"user={s['user']}&pass=pw{i * 7}", f"split: body {s['body']}")
        check(parse_qs(urlsplit(s["path"]).query)["u"] == [s["user"]], f"split: {s['path']}")
        by_driver[s["driver"]].add(i)
    check(by_driver == {"0": set(range(500)), "1": set(range(500, 1000))},
          f"split: the slices {[(k, min(v), max(v), len(v)) for k, v in by_driver.items()]}")
    log("split: 1000 users, each sent once; driver 0 rows 0-499, driver 1 rows 500-999")

    # Shared, from a file through load-client: every driver uses every row
    # in turn (3 rows, 6 sends each: every row twice per driver).
    path = os.path.join(tmp, "users.csv")
    with open(path, "w") as f:
        f.write("user,pass\r\n\"a b&c\",x\r\nbob,\"y,z\"\r\ncarol,q\r\n")
    spec = os.path.join(tmp, "mix.json")
    with open(spec, "w") as f:
        json.dump({"test_type": "AVALANCHE", "message_count_per_driver": 6, "concurrency": 1,
                   "requests": mix(base)}, f)
    r = subprocess.run([binary("load-client"), "--orchestrator", orch.url, "start", "-f", spec,
                        "--data", path, "--data-mode", "shared", "--wait"],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"load-client --data: {r.returncode}\n{r.stdout}\n{r.stderr}")
    seen = take()
    pairs = collections.Counter((s["driver"], s["user"]) for s in seen)
    want = {(d, u): 2 for d in ("0", "1") for u in ("a b&c", "bob", "carol")}
    check(dict(pairs) == want, f"shared: {dict(pairs)}")
    paths = {s["user"]: s["path"] for s in seen}
    check(paths["a b&c"] == "/login?u=a%20b%26c", f"the URL's value: {paths['a b&c']}")
    check({s["pass"] for s in seen if s["user"] == "bob"} == {"y,z"}, "a quoted value")
    log("shared: each driver sent each of 3 rows twice; 'a b&c' went as a%20b%26c in the URL")

    # Many chunks: 100,000 rows, 10 sends per driver.
    before = orch.stderr_text().count("chunk(s)")
    tid = start_test(orch.url, dict(one, message_count_per_driver=10, concurrency=1,
                                    data={"csv": users_csv(100000)}))
    t = wait_test(orch.url, tid, timeout=120)
    check(t["state"] == "COMPLETED", f"chunks: {t['state']} {t.get('reason')}")
    seen = take()
    got = sorted(int(s["user"][4:]) for s in seen)
    check(got == list(range(10)) + list(range(50000, 50010)), f"chunks: rows {got}")
    line = [x for x in orch.stderr_text().splitlines() if "chunk(s)" in x][before:]
    check(line, "chunks: no line on the chunks sent")
    n = int(line[-1].split("sent in ")[1].split()[0])
    check(n >= 8, f"chunks: {n} chunks for 2.5 MB")
    log(f"100000 rows went in {n} chunks; each driver began at the first row of its slice")

    # Split among more drivers than rows: FAILED, with the reason.
    tid = start_test(orch.url, dict(one, data={"csv": "user,pass\nalone,x\n"}))
    t = wait_test(orch.url, tid, timeout=60)
    check(t["state"] == "FAILED" and "cannot be split among 2 drivers" in (t.get("reason") or ""),
          f"too few rows: {t['state']} {t.get('reason')}")
    check(not take(), "too few rows: requests were sent")
    log("1 row split among 2 drivers: FAILED,", t["reason"])


if __name__ == "__main__":
    run_test(main)
