"""docker-compose.yml validates with docker-compose (no engine needed) and
holds what the README promises: Kafka in KRaft mode with a healthcheck, the
target, the orchestrator with its port published on loopback, drivers with 2
replicas, and a client service under a profile; every node gets the Kafka and
orchestrator addresses."""

import json
import os
import subprocess

from dlt import check, run_test

SRC = os.environ.get("DLT_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    compose = os.path.join(SRC, "docker-compose.yml")
    r = subprocess.run(["docker-compose", "-f", compose, "config", "-q"],
                       capture_output=True, timeout=30)
    check(r.returncode == 0, f"docker-compose config failed: {r.stderr.decode()}")
    # The resolved configuration, as JSON through the YAML the tool prints.
    r = subprocess.run(["docker-compose", "-f", compose, "--profile", "client", "config"],
                       capture_output=True, timeout=30, check=True)
    # Debian's docker-compose runs on /usr/bin/python3 with PyYAML: use that
    # interpreter to turn the YAML into JSON.
    conv = subprocess.run(["/usr/bin/python3", "-c",
                           "import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
                          input=r.stdout, capture_output=True, timeout=30, check=True)
    cfg = json.loads(conv.stdout)
    svc = cfg["services"]
    for name in ("kafka", "target", "orchestrator", "driver", "client"):
        check(name in svc, f"service {name} missing")
    k = svc["kafka"]
    check(k["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller", "Kafka not in KRaft mode")
    check("healthcheck" in k, "Kafka has no healthcheck")
    check(svc["driver"].get("deploy", {}).get("replicas") == 2, "drivers do not default to 2")
    check(svc["client"].get("profiles") == ["client"], "client is not under a profile")
    ports = json.dumps(svc["orchestrator"].get("ports"))
    check("8080" in ports and "127.0.0.1" in ports, f"orchestrator port not on loopback: {ports}")
    for name in ("orchestrator", "driver"):
        cmd = " ".join(svc[name]["command"])
        check("--kafka=kafka:9092" in cmd, f"{name} lacks the Kafka address: {cmd}")
    check("--orchestrator=http://orchestrator:8080" in " ".join(svc["driver"]["command"]),
          "drivers lack the orchestrator address")
    check("--orchestrator=http://orchestrator:8080" in " ".join(svc["client"]["entrypoint"]),
          "client lacks the orchestrator address")


if __name__ == "__main__":
    run_test(main)
