"""Helpers for the load-driver integration tests: kcat plays the
orchestrator (test_config and trigger out; register, heartbeat and metrics
in). Standard library only."""

import json
import time

from dlt import KcatConsumer, check, get_json, kcat_produce, log, wait_until


class Orchestra:
    """kcat consumers on the driver-produced topics of one cluster, read
    from the beginning (each test has its own broker), and a producer for
    configs and triggers."""

    def __init__(self, cluster):
        self.c = cluster
        self.kafka = cluster.kafka
        self.metrics = KcatConsumer(self.kafka, "metrics", offset="beginning", cluster=cluster)
        self.heartbeat = KcatConsumer(self.kafka, "heartbeat", offset="beginning",
                                      cluster=cluster)
        self.register = KcatConsumer(self.kafka, "register", offset="beginning", cluster=cluster)

    def config(self, cfg, key=None):
        text = cfg if isinstance(cfg, str) else json.dumps(cfg)
        kcat_produce(self.kafka, "test_config", text, key=key)

    def trigger(self, test_id, abort=False, start_at=None, key=None):
        msg = {"test_id": test_id, "trigger": "ABORT" if abort else "YES"}
        if start_at is not None:
            msg["start_at"] = start_at
        kcat_produce(self.kafka, "trigger", json.dumps(msg), key=key)

    def wait_ready(self, test_id, nodes, timeout=30):
        for n in nodes:
            self.heartbeat.wait_for(lambda m, n=n: m.get("node_id") == n.node_id
                                    and m.get("state") == "READY"
                                    and m.get("test_id") == test_id, timeout)

    def reports(self, test_id, node_id=None):
        return [in_ms(m) for m in self.metrics.json_messages()
                if m.get("test_id") == test_id and (node_id is None or m.get("node_id") == node_id)]

    def final(self, test_id, node, timeout=60):
        return in_ms(self.metrics.wait_for(lambda m: m.get("test_id") == test_id
                                           and m.get("node_id") == node.node_id
                                           and m.get("final") is True, timeout))

    def run(self, cfg, nodes, timeout=60, start_at_ms=None):
        """Send cfg, wait until every node is READY, trigger, and return the
        final report of each node (in the order of nodes)."""
        self.config(cfg)
        self.wait_ready(cfg["test_id"], nodes)
        self.trigger(cfg["test_id"], start_at=start_at_ms)
        return [self.final(cfg["test_id"], n, timeout) for n in nodes]


def in_ms(report):
    """A metrics report with its latencies in milliseconds, as the checks
    speak them: on the wire they are seconds (docs/PROTOCOL.md)."""
    r = dict(report)
    for key in ("metrics", "service_metrics"):
        if isinstance(r.get(key), dict):
            r[key] = {k: v * 1000.0 if k.endswith("_latency") else v
                      for k, v in r[key].items()}
    return r


def target_total(target):
    return get_json(target.url + "/metrics")["total_requests"]


def wait_target_quiet(target, timeout=10):
    """Wait until the target has nothing in flight; return its totals."""
    return wait_until(lambda: (lambda m: m if m["in_flight"] == 0 else None)(
        get_json(target.url + "/metrics")), timeout, what="target idle")


def check_report_shape(r, node_id, test_id):
    """Every field of a final report, with consistent counts."""
    check(r["node_id"] == node_id and r["test_id"] == test_id, f"ids in {r}")
    for k in ("mean_latency", "median_latency", "min_latency", "max_latency", "mode_latency",
              "p90_latency", "p95_latency", "p99_latency", "p999_latency"):
        check(isinstance(r["metrics"].get(k), (int, float)), f"metrics.{k} missing: {r['metrics']}")
    for k in ("seq", "requests_sent", "responses_received", "errors", "elapsed_ms", "late",
              "report_id", "histogram", "service_metrics", "service_histogram", "status_codes",
              "error_kinds"):
        check(k in r, f"report lacks {k}: {sorted(r)}")
    kinds = r["error_kinds"]
    check(sorted(kinds) == ["connect", "http_4xx", "http_5xx", "other", "timeout"],
          f"error_kinds {kinds}")
    check(sum(kinds.values()) == r["errors"], f"errors {r['errors']} != sum of {kinds}")
    m = r["metrics"]
    if r["responses_received"] > 0:
        check(m["min_latency"] <= m["median_latency"] <= m["p90_latency"] <= m["p95_latency"]
              <= m["p99_latency"] <= m["p999_latency"] <= m["max_latency"],
              f"percentiles out of order: {m}")


def log_report(r):
    m = r["metrics"]
    log(f"{r['node_id']} {r['test_id']}: sent {r['requests_sent']} done "
        f"{r['responses_received']} errors {r['error_kinds']} late {r['late']} "
        f"p50 {m['median_latency']} p99 {m['p99_latency']} max {m['max_latency']} ms, "
        f"service p99 {r['service_metrics']['p99_latency']} ms, elapsed {r['elapsed_ms']} ms")


def now_ms():
    return int(time.time() * 1000)
