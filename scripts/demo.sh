#!/usr/bin/env bash
# The main job on one machine: set up (packages + build), start load-broker,
# target-server, load-orchestrator and two load-drivers on loopback, run a
# TSUNAMI and an AVALANCHE test through `load-client start --wait`, print the
# summaries and the dashboard URL, then stop everything it started (Ctrl-C
# included).
#
#   scripts/demo.sh           run the two tests and stop
#   scripts/demo.sh --keep    keep the system running afterwards, until Ctrl-C,
#                             so the dashboard can be explored
#
# Default addresses are the programs' own defaults (Kafka 127.0.0.1:9092,
# target 127.0.0.1:8081, orchestrator 127.0.0.1:8080); a port that is taken is
# replaced by a free one.
set -euo pipefail
cd "$(dirname "$0")/.."

keep=0
case "${1:-}" in
  --keep) keep=1 ;;
  "") ;;
  -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
  *) echo "demo.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

scripts/setup.sh build
BIN=$PWD/build/src
RUN=$(mktemp -d /tmp/dlt-demo.XXXXXX)
pids=()
names=()

cleanup() {
  local i
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      kill -TERM "${pids[$i]}" 2>/dev/null || true
      wait "${pids[$i]}" 2>/dev/null || true
    fi
  done
  echo "demo: stopped every process it started; logs are in $RUN" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# port_or_free PORT: PORT when nothing listens on it, else a free port.
port_or_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
  else
    echo "$1"
  fi
}

# start NAME ARGV...: run in the background, stdout to $RUN/NAME.out and
# stderr to $RUN/NAME.log, and wait for its "ready" line.
start() {
  local name=$1
  shift
  "$@" >"$RUN/$name.out" 2>"$RUN/$name.log" &
  pids+=($!)
  names+=("$name")
  local pid=$!
  for _ in $(seq 300); do
    if grep -q '^ready' "$RUN/$name.out" 2>/dev/null; then
      echo "demo: $name (pid $pid) $(grep -m1 '^ready' "$RUN/$name.out")"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: $name exited before it was ready:" >&2
      tail -20 "$RUN/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "demo: $name was not ready after 30 s; its log:" >&2
  tail -20 "$RUN/$name.log" >&2
  exit 1
}

KPORT=$(port_or_free 9092)
TPORT=$(port_or_free 8081)
OPORT=$(port_or_free 8080)
KAFKA=127.0.0.1:$KPORT
TARGET=http://127.0.0.1:$TPORT/ping
ORCH=http://127.0.0.1:$OPORT

start load-broker "$BIN/broker/load-broker" --listen "$KAFKA"
start target-server "$BIN/targetd/target-server" --listen "127.0.0.1:$TPORT" --delay-ms 1-5
start load-orchestrator "$BIN/orchestrator/load-orchestrator" --listen "127.0.0.1:$OPORT" \
  --kafka "$KAFKA" --db "$RUN/orchestrator.db"
for n in 1 2; do
  start "load-driver-$n" "$BIN/driver/load-driver" --kafka "$KAFKA" --target "$TARGET" \
    --orchestrator "$ORCH" --db "$RUN/driver-$n.db"
done

CLIENT=("$BIN/client/load-client" --orchestrator "$ORCH")
# Both drivers must be alive in the orchestrator's registry before a test.
for _ in $(seq 100); do
  alive=$("${CLIENT[@]}" --json drivers 2>/dev/null | grep -o '"liveness": *"alive"' | wc -l || true)
  [ "$alive" -ge 2 ] && break
  sleep 0.2
done
echo
echo "demo: dashboard at $ORCH/  (drivers: $ORCH/api/drivers)"
echo

echo "demo: TSUNAMI, open loop: 2 drivers x 2000 requests, one every 2 ms each"
"${CLIENT[@]}" start --type tsunami --count 2000 --delay 2ms --wait
echo
echo "demo: AVALANCHE, closed loop: 2 drivers x 20000 requests, 32 in flight each"
"${CLIENT[@]}" start --type avalanche --count 20000 --concurrency 32 --wait
echo
echo "demo: both tests are stored; list them with: build/src/client/load-client --orchestrator $ORCH list"
echo "demo: dashboard at $ORCH/"

if [ "$keep" = 1 ]; then
  echo "demo: running until Ctrl-C"
  while sleep 3600; do :; done
fi
