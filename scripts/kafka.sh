#!/usr/bin/env bash
# Real Apache Kafka on this machine, on loopback: 1 or 3 KRaft nodes (each a
# combined broker and controller), installed from Maven Central with the
# committed kafka/pom.xml, without Docker. See docs/KAFKA.md.
#
#   scripts/kafka.sh install                    fetch the jars once (Maven)
#   scripts/kafka.sh start [options]            format (first time) and start
#                                               every node not running, wait
#                                               until all are ready, print
#                                               "bootstrap=HOST:PORT,..."
#   scripts/kafka.sh stop [--run-dir DIR]       stop the nodes by their PIDs
#   scripts/kafka.sh status [--run-dir DIR]     one line per node; exit 1 if
#                                               any is not running
#
# Options:
#   --run-dir DIR     node configs, PIDs, logs and log dirs (default
#                     $HOME/.cache/dlt-kafka/run); a second start on the same
#                     dir restarts stopped nodes from their log dirs
#   --nodes N         1 or 3 (default 1); fixed once the dir is formatted
#   --base-port P     node i (1..N) listens for clients on P+i-1 and for the
#                     controller quorum on P+100+i-1 (default 9092: the
#                     default address of every dlt program)
#   --set KEY=VALUE   a broker property for every node (repeatable), e.g.
#                     --set auto.create.topics.enable=false
#   --timeout S       seconds to wait for the nodes to be ready (default 180)
#   --node I          start or stop node I only
#   --grace S         stop: seconds from SIGTERM to SIGKILL (default 20)
#
# Environment: DLT_KAFKA_CACHE (default /var/cache/dlt-kafka when writable,
# else $HOME/.cache/dlt-kafka) holds Maven's repository and the jars;
# DLT_KAFKA_HEAP (default 512m) is each node's maximum heap.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
pom=$here/kafka/pom.xml
log4j=$here/kafka/log4j2.properties

if [ -n "${DLT_KAFKA_CACHE:-}" ]; then
  cache=$DLT_KAFKA_CACHE
elif mkdir -p /var/cache/dlt-kafka 2>/dev/null && [ -w /var/cache/dlt-kafka ]; then
  cache=/var/cache/dlt-kafka
else
  cache=$HOME/.cache/dlt-kafka
fi
heap=${DLT_KAFKA_HEAP:-512m}

die() {
  echo "kafka.sh: $*" >&2
  exit 2
}

usage() {
  sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
}

# The version pinned in the pom, and the folder its jars are copied to: a
# change of version in the pom fetches again, into a folder of its own.
kafka_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom"
}
libs_dir() {
  echo "$cache/kafka-$(kafka_version)-$(sha256sum "$pom" | cut -c1-12)"
}

cmd_install() {
  local libs
  libs=$(libs_dir)
  if [ -f "$libs/.complete" ]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  command -v java >/dev/null || die "java not found (apt-get install openjdk-17-jre-headless)"
  echo "kafka.sh: fetching Kafka $(kafka_version) into $libs" >&2
  mkdir -p "$cache"
  rm -rf "$libs.tmp"
  mvn -B -q -Dstyle.color=never -f "$pom" -Dmaven.repo.local="$cache/m2" \
    dependency:copy-dependencies -DoutputDirectory="$libs.tmp" -DincludeScope=runtime >&2 ||
    die "Maven could not fetch the jars of $pom"
  ls "$libs.tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "no kafka_2.13 jar in $libs.tmp"
  touch "$libs.tmp/.complete"
  rm -rf "$libs"
  mv "$libs.tmp" "$libs"
}

run_dir=$HOME/.cache/dlt-kafka/run
nodes=""
base_port=""
timeout=180
grace=20
only_node=""
sets=()

parse_opts() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --run-dir) [ $# -ge 2 ] || die "--run-dir needs a value"; run_dir=$2; shift ;;
      --nodes) [ $# -ge 2 ] || die "--nodes needs a value"; nodes=$2; shift ;;
      --base-port) [ $# -ge 2 ] || die "--base-port needs a value"; base_port=$2; shift ;;
      --timeout) [ $# -ge 2 ] || die "--timeout needs a value"; timeout=$2; shift ;;
      --node) [ $# -ge 2 ] || die "--node needs a value"; only_node=$2; shift ;;
      --grace) [ $# -ge 2 ] || die "--grace needs a value"; grace=$2; shift ;;
      --set)
        [ $# -ge 2 ] || die "--set needs KEY=VALUE"
        case "$2" in *=*) ;; *) die "--set '$2': expected KEY=VALUE" ;; esac
        sets+=("$2"); shift ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown option '$1' (try --help)" ;;
    esac
    shift
  done
  case "$run_dir" in /*) ;; *) run_dir=$(pwd)/$run_dir ;; esac
  [[ "$timeout" =~ ^[0-9]+$ ]] || die "--timeout '$timeout': expected seconds"
  [[ "$grace" =~ ^[0-9]+$ ]] || die "--grace '$grace': expected seconds"
}

# The layout of a run dir is fixed when it is first used: cluster.env holds
# the cluster id, the node count and the base port.
load_layout() {
  if [ -f "$run_dir/cluster.env" ]; then
    # shellcheck disable=SC1091
    . "$run_dir/cluster.env"
    if [ -n "$nodes" ] && [ "$nodes" != "$NODES" ]; then
      die "$run_dir holds a $NODES-node cluster; --nodes $nodes does not match"
    fi
    if [ -n "$base_port" ] && [ "$base_port" != "$BASE_PORT" ]; then
      die "$run_dir uses base port $BASE_PORT; --base-port $base_port does not match"
    fi
    return 0
  fi
  return 1
}

node_pid() { # node -> pid of the running node, or nothing
  local f=$run_dir/node-$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  # The PID must still be this node's java (a PID can be reused).
  if [ -r "/proc/$pid/cmdline" ] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$run_dir/node-$1.properties"; then
    echo "$pid"
  fi
}

bootstrap() {
  local i out=""
  for i in $(seq 1 "$NODES"); do
    out+="${out:+,}127.0.0.1:$((BASE_PORT + i - 1))"
  done
  echo "$out"
}

write_props() { # node
  local i=$1 voters="" j
  for j in $(seq 1 "$NODES"); do
    voters+="${voters:+,}$j@127.0.0.1:$((BASE_PORT + 100 + j - 1))"
  done
  local rf=1 isr=1
  if [ "$NODES" -ge 3 ]; then
    rf=3
    isr=2
  fi
  {
    echo "# written by scripts/kafka.sh"
    echo "process.roles=broker,controller"
    echo "node.id=$i"
    echo "controller.quorum.voters=$voters"
    echo "listeners=PLAINTEXT://127.0.0.1:$((BASE_PORT + i - 1)),CONTROLLER://127.0.0.1:$((BASE_PORT + 100 + i - 1))"
    echo "advertised.listeners=PLAINTEXT://127.0.0.1:$((BASE_PORT + i - 1))"
    echo "inter.broker.listener.name=PLAINTEXT"
    echo "controller.listener.names=CONTROLLER"
    echo "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    echo "log.dirs=$run_dir/data-$i"
    echo "num.partitions=1"
    echo "default.replication.factor=$rf"
    echo "min.insync.replicas=$isr"
    echo "offsets.topic.replication.factor=$rf"
    echo "offsets.topic.num.partitions=6"
    echo "transaction.state.log.replication.factor=$rf"
    echo "transaction.state.log.min.isr=$isr"
    echo "share.coordinator.state.topic.replication.factor=$rf"
    echo "share.coordinator.state.topic.min.isr=$isr"
    echo "group.initial.rebalance.delay.ms=0"
    echo "log.segment.bytes=16777216"
    echo "log.retention.hours=24"
    for kv in "${SETS[@]}"; do
      echo "$kv"
    done
  } >"$run_dir/node-$i.properties.tmp"
  mv "$run_dir/node-$i.properties.tmp" "$run_dir/node-$i.properties"
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_start() {
  cmd_install
  local libs
  libs=$(libs_dir)
  mkdir -p "$run_dir"
  if ! load_layout; then
    NODES=${nodes:-1}
    BASE_PORT=${base_port:-9092}
    case "$NODES" in 1 | 3) ;; *) die "--nodes $NODES: 1 or 3" ;; esac
    [[ "$BASE_PORT" =~ ^[0-9]+$ ]] && [ "$BASE_PORT" -ge 1024 ] && [ "$BASE_PORT" -le 65000 ] ||
      die "--base-port $BASE_PORT: expected 1024..65000"
    CLUSTER_ID=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    [ -n "$CLUSTER_ID" ] || die "StorageTool random-uuid printed no cluster id"
    {
      echo "NODES=$NODES"
      echo "BASE_PORT=$BASE_PORT"
      echo "CLUSTER_ID=$CLUSTER_ID"
      printf 'SETS=('
      for kv in "${sets[@]}"; do printf '%q ' "$kv"; done
      echo ')'
    } >"$run_dir/cluster.env"
  elif [ ${#sets[@]} -gt 0 ]; then
    die "$run_dir is already set up; --set applies to a fresh run dir only"
  fi
  # shellcheck disable=SC1091
  . "$run_dir/cluster.env"

  local list i started=()
  if [ -n "$only_node" ]; then
    [[ "$only_node" =~ ^[0-9]+$ ]] && [ "$only_node" -ge 1 ] && [ "$only_node" -le "$NODES" ] ||
      die "--node $only_node: expected 1..$NODES"
    list=$only_node
  else
    list=$(seq 1 "$NODES")
  fi
  for i in $list; do
    if [ -n "$(node_pid "$i")" ]; then
      continue
    fi
    if port_open $((BASE_PORT + i - 1)) || port_open $((BASE_PORT + 100 + i - 1)); then
      die "port $((BASE_PORT + i - 1)) or $((BASE_PORT + 100 + i - 1)) is taken by another process (try --base-port)"
    fi
    write_props "$i"
    if [ ! -f "$run_dir/data-$i/meta.properties" ]; then
      java -cp "$libs/*" -Dlog4j2.configurationFile="$log4j" kafka.tools.StorageTool format \
        -t "$CLUSTER_ID" -c "$run_dir/node-$i.properties" >"$run_dir/node-$i.format.log" 2>&1 ||
        die "formatting node $i failed: $(tail -3 "$run_dir/node-$i.format.log")"
    fi
    # The readiness line is looked for only in what this start appends.
    local mark=0
    [ -f "$run_dir/node-$i.log" ] && mark=$(wc -l <"$run_dir/node-$i.log")
    echo "$mark" >"$run_dir/node-$i.mark"
    setsid java -Xms128m -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$log4j" -cp "$libs/*" \
      kafka.Kafka "$run_dir/node-$i.properties" </dev/null >>"$run_dir/node-$i.log" 2>&1 &
    echo $! >"$run_dir/node-$i.pid"
    started+=("$i")
  done

  local deadline=$((SECONDS + timeout)) pending
  for i in "${started[@]}"; do
    pending=1
    while [ "$SECONDS" -lt "$deadline" ]; do
      if [ -z "$(node_pid "$i")" ]; then
        echo "kafka.sh: node $i exited during start; its log ($run_dir/node-$i.log) ends:" >&2
        tail -15 "$run_dir/node-$i.log" >&2
        exit 1
      fi
      # One reader, no pipe: "tail | grep -q" fails under pipefail once
      # the log after the match outgrows the pipe (tail gets SIGPIPE), and
      # a node that started would never be seen to.
      if awk -v m="$(cat "$run_dir/node-$i.mark")" \
        'NR > m && /Kafka Server started/ { found = 1; exit } END { exit !found }' \
        "$run_dir/node-$i.log" && port_open $((BASE_PORT + i - 1)); then
        pending=0
        break
      fi
      sleep 0.5
    done
    if [ "$pending" = 1 ]; then
      echo "kafka.sh: node $i not ready in ${timeout}s; its log ($run_dir/node-$i.log) ends:" >&2
      tail -15 "$run_dir/node-$i.log" >&2
      exit 1
    fi
    echo "kafka.sh: node $i ready (pid $(node_pid "$i"), 127.0.0.1:$((BASE_PORT + i - 1)))" >&2
  done
  echo "bootstrap=$(bootstrap)"
}

cmd_stop() {
  load_layout || die "$run_dir holds no cluster"
  local list i pid
  list=${only_node:-$(seq 1 "$NODES")}
  local pids=()
  for i in $list; do
    pid=$(node_pid "$i")
    if [ -n "$pid" ]; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$i:$pid")
    fi
    rm -f "$run_dir/node-$i.pid"
  done
  # A controlled shutdown moves leaders away first; give it time, then kill.
  # The last nodes of a cluster stopped whole can wait for a quorum that is
  # gone: they are killed after the grace time (their logs are recovered at
  # the next start).
  local deadline=$((SECONDS + grace)) entry
  for entry in "${pids[@]}"; do
    i=${entry%%:*}
    pid=${entry#*:}
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "kafka.sh: node $i (pid $pid) still running ${grace}s after SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "kafka.sh: node $i stopped (pid $pid)" >&2
  done
}

cmd_status() {
  load_layout || die "$run_dir holds no cluster"
  local i pid rc=0
  for i in $(seq 1 "$NODES"); do
    pid=$(node_pid "$i")
    if [ -n "$pid" ]; then
      echo "node $i running pid=$pid listen=127.0.0.1:$((BASE_PORT + i - 1))"
    else
      echo "node $i stopped listen=127.0.0.1:$((BASE_PORT + i - 1))"
      rc=1
    fi
  done
  echo "bootstrap=$(bootstrap)"
  return $rc
}

[ $# -ge 1 ] || {
  usage >&2
  exit 2
}
cmd=$1
shift
case "$cmd" in
  install) parse_opts "$@"; cmd_install; echo "libs=$(libs_dir)" ;;
  start) parse_opts "$@"; cmd_start ;;
  stop) parse_opts "$@"; cmd_stop ;;
  status) parse_opts "$@"; cmd_status ;;
  libs) parse_opts "$@"; cmd_install >/dev/null; libs_dir ;;
  -h | --help | help) usage ;;
  *) die "unknown command '$cmd' (install, start, stop, status; try --help)" ;;
esac
