#!/usr/bin/env bash
# The main job on one machine: set up (packages + build), start load-broker,
# and show a message going round through it. Every process it starts is
# stopped on exit, Ctrl-C included.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh build
BIN=build/src
RUN=$(mktemp -d /tmp/dlt-demo.XXXXXX)
pids=()
cleanup() {
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  echo "demo: stopped everything it started; logs in $RUN" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

KAFKA=${DLT_KAFKA:-127.0.0.1:9092}
"$BIN/broker/load-broker" --listen "$KAFKA" >"$RUN/broker.out" 2>"$RUN/broker.log" &
pids+=($!)
for _ in $(seq 100); do
  grep -q '^ready' "$RUN/broker.out" 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$RUN/broker.log" >&2; exit 1; }
  sleep 0.1
done
echo "demo: $(cat "$RUN/broker.out")"

msg='{"node_id":"demo","heartbeat":"YES","timestamp":'"$(date +%s.%3N)"'}'
echo "$msg" | kcat -b "$KAFKA" -P -t heartbeat -k demo
echo "demo: sent    $msg"
echo "demo: read    $(kcat -b "$KAFKA" -C -t heartbeat -o beginning -c 1 -q)"
