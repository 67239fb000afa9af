"""docker-compose.yml validates with docker-compose (no engine needed) and
holds what the README promises: Kafka in KRaft mode with a healthcheck, the
target, the orchestrator with its port published on loopback, drivers with 2
replicas, and a client service under a profile; every node gets the Kafka and
orchestrator addresses; docker-compose.cluster.yml makes Kafka three nodes.
tests/compose runs both files for real."""

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
        env = svc[name].get("environment", {})
        check(env.get("DLT_KAFKA") == "kafka:9092", f"{name} lacks the Kafka address: {env}")
    # The three-node variant: kafka-2 and kafka-3 join kafka, and every Kafka
    # user gets the three addresses.
    r = subprocess.run(["docker-compose", "-f", compose, "-f",
                        os.path.join(SRC, "docker-compose.cluster.yml"), "config"],
                       capture_output=True, timeout=30, check=True)
    conv = subprocess.run(["/usr/bin/python3", "-c",
                           "import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
                          input=r.stdout, capture_output=True, timeout=30, check=True)
    csvc = json.loads(conv.stdout)["services"]
    voters = "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
    for i, name in enumerate(("kafka", "kafka-2", "kafka-3"), 1):
        env = csvc[name]["environment"]
        check(str(env["KAFKA_NODE_ID"]) == str(i) and env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == voters
              and str(env["KAFKA_MIN_INSYNC_REPLICAS"]) == "2", f"{name}: {env}")
    for name in ("orchestrator", "driver"):
        check(csvc[name]["environment"]["DLT_KAFKA"] == "kafka:9092,kafka-2:9092,kafka-3:9092",
              f"{name} on the cluster: {csvc[name]['environment']}")
        check(set(csvc[name]["depends_on"]) >= {"kafka", "kafka-2", "kafka-3"},
              f"{name} does not wait for the three nodes")
    check("--orchestrator=http://orchestrator:8080" in " ".join(svc["driver"]["command"]),
          "drivers lack the orchestrator address")
    check("--orchestrator=http://orchestrator:8080" in " ".join(svc["client"]["entrypoint"]),
          "client lacks the orchestrator address")


if __name__ == "__main__":
    run_test(main)
