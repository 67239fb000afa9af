#!/usr/bin/env bash
# Benchmark target-server against nginx with wrk, on loopback only.
#
#   bench/targetd/run.sh [BUILD_DIR]
#
# BUILD_DIR holds src/targetd/target-server (default: build-target at the top
# of this repository). Environment: DURATION seconds per throughput run
# (default 5), DELAY_DURATION per delay run (default 10), RUNS per case
# (default 3). It takes about 2.5 minutes with the defaults.
#
# 1. Throughput: wrk -t1 at 64 and 256 connections against target-server
#    (no delay) and against an nginx of our own (1 worker, keep-alive, the
#    same 2-byte body), the two runs of each pair back to back, RUNS pairs
#    per case, alternating which goes first. Medians and the
#    target-server/nginx ratio, with each run's CPU use by the server and by
#    wrk (a run where wrk got less of a core is a run slowed by the rest of
#    the machine, not by the server).
# 2. Delay: target-server --delay-ms 50 with 1,000 and 2,000 connections:
#    requests/s against the ideal (connections / 50 ms), wrk's p50 and p99,
#    and the server's CPU use.
#
# Everything it starts is stopped by PID on exit, and its temporary folder
# removed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$REPO/build-target}
EXE=$BUILD/src/targetd/target-server
DURATION=${DURATION:-5}
DELAY_DURATION=${DELAY_DURATION:-10}
RUNS=${RUNS:-3}

die() { echo "run.sh: $*" >&2; exit 2; }
[ -x "$EXE" ] || die "no target-server at $EXE (build it, or pass the build folder)"
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
command -v nginx >/dev/null || die "nginx is not installed (apt-get install nginx-light)"
command -v python3 >/dev/null || die "python3 is needed to find free ports"

TMP=$(mktemp -d /tmp/bench-target.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wrk with 2,000 connections needs that many descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Start target-server with the given options; sets TS_PID and TS_PORT.
start_target() {
    local out=$TMP/target-$RANDOM.out
    "$EXE" --listen 127.0.0.1:0 --log-level warn "$@" >"$out" 2>>"$TMP/target.log" &
    TS_PID=$!
    PIDS+=("$TS_PID")
    for _ in $(seq 100); do
        grep -q '^ready ' "$out" 2>/dev/null && break
        sleep 0.05
    done
    grep -q '^ready ' "$out" || die "target-server did not start: $(tail -3 "$TMP/target.log")"
    TS_PORT=$(sed -n 's/^ready listen=.*:\([0-9]*\)$/\1/p' "$out")
}

stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

start_nginx() {
    NG_PORT=$(free_port)
    mkdir -p "$TMP/nginx"
    cat >"$TMP/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NG_PORT;
        location = /ping { default_type text/plain; return 200 "OK"; }
    }
}
CONF
    nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" 2>>"$TMP/nginx/stderr" &
    NG_PID=$!
    PIDS+=("$NG_PID")
    for _ in $(seq 100); do
        if curl -fs "http://127.0.0.1:$NG_PORT/ping" >/dev/null 2>&1; then
            # The worker does the serving; its CPU is what counts.
            NG_WORKER=$(cat "/proc/$NG_PID/task/$NG_PID/children" 2>/dev/null | awk '{print $1}')
            NG_WORKER=${NG_WORKER:-$NG_PID}
            return
        fi
        sleep 0.05
    done
    die "nginx did not start: $(cat "$TMP/nginx/stderr" "$TMP/nginx/error.log" 2>/dev/null | tail -3)"
}

# wrk -t1 against a URL; prints requests/s. Raw output in $TMP/last.wrk,
# wrk's CPU time in clock ticks in $TMP/last.cpu (the shell's waited-for
# children's time, read once wrk has exited).
wrk_rps() {
    local conns=$1 secs=$2 url=$3 t0
    t0=$(date +%s.%N)
    sh -c 'timeout "$1" wrk -t1 -c"$2" -d"$3s" --timeout 10s --latency "$4" >"$5" 2>&1
           awk "{print \$16 + \$17}" /proc/$$/stat >"$6"' \
        sh $((secs + 60)) "$conns" "$secs" "$url" "$TMP/last.wrk" "$TMP/last.cpu" || true
    awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}' >"$TMP/last.wall"
    awk '/^Requests\/sec:/ {print $2}' "$TMP/last.wrk"
}

# wrk's share of one core during the last run, e.g. "97%".
wrk_cpu() {
    awk -v hz="$CLK_TCK" -v s="$(cat "$TMP/last.wall")" '{printf "%.0f%%", $1 / hz / s * 100}' \
        "$TMP/last.cpu"
}

# A process's CPU time per request over the last run, in microseconds,
# from its CPU ticks before and after and the run's requests/s.
per_req_us() {
    awk -v a="$1" -v b="$2" -v hz="$CLK_TCK" -v s="$(cat "$TMP/last.wall")" -v r="${3:-0}" \
        'BEGIN {printf (r > 0 ? "%.2f" : "-"), (b - a) / hz / (r * s) * 1e6}'
}

# A process's share of one core over the last run, from its CPU ticks
# before and after.
share() {
    awk -v a="$1" -v b="$2" -v hz="$CLK_TCK" -v s="$(cat "$TMP/last.wall")" \
        'BEGIN {printf "%.0f%%", (b - a) / hz / s * 100}'
}

# A percentile line of wrk --latency ("50%" or "99%") in milliseconds.
wrk_pct_ms() {
    awk -v p="$1" '$1 == p {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000;
        printf "%.1f", v }' "$TMP/last.wrk"
}

wrk_errors() {
    awk '/Socket errors|Non-2xx/ {sub(/^ +/, ""); printf "%s; ", $0}' "$TMP/last.wrk"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {printf "%.3f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "# target-server benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r)"
echo "tools: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(nginx -v 2>&1 | cut -d' ' -f3), libmicrohttpd $(pkg-config --modversion libmicrohttpd 2>/dev/null || echo '?')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

start_nginx
start_target
echo "## Throughput: wrk -t1 -d${DURATION}s, GET /ping, 2-byte body, keep-alive"
echo
echo "| connections | run | target-server rps | nginx rps | ratio | server CPU (target-server, nginx) | wrk CPU (target-server, nginx) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
SUMMARY=()
for conns in 64 256; do
    T=()
    N=()
    R=()
    for run in $(seq "$RUNS"); do
        for which in $( [ $((run % 2)) -eq 1 ] && echo "ts ng" || echo "ng ts"); do
            if [ "$which" = ts ]; then pid=$TS_PID port=$TS_PORT; else pid=$NG_WORKER port=$NG_PORT; fi
            c0=$(cpu_ticks "$pid")
            r=$(wrk_rps "$conns" "$DURATION" "http://127.0.0.1:$port/ping")
            c1=$(cpu_ticks "$pid")
            scpu="$(share "$c0" "$c1") ($(per_req_us "$c0" "$c1" "$r") us/req)"
            if [ "$which" = ts ]; then t=$r tcpu=$scpu twrk=$(wrk_cpu);
            else n=$r ncpu=$scpu nwrk=$(wrk_cpu); fi
        done
        T+=("${t:-0}")
        N+=("${n:-0}")
        ratio=$(awk -v a="${t:-0}" -v b="${n:-0}" 'BEGIN {printf (b > 0 ? "%.3f" : "0"), a / b}')
        R+=("$ratio")
        echo "| $conns | $run | ${t:-failed} | ${n:-failed} | $ratio | $tcpu, $ncpu | $twrk, $nwrk |"
    done
    mt=$(median "${T[@]}")
    mn=$(median "${N[@]}")
    SUMMARY+=("| $conns | $mt | $mn | $(awk -v a="$mt" -v b="$mn" 'BEGIN {printf (b > 0 ? "%.3f" : "-"), a / b}') | $(median "${R[@]}") |")
done
echo
echo "Medians:"
echo
echo "| connections | target-server rps | nginx rps | ratio of medians | median of paired ratios |"
echo "| --- | --- | --- | --- | --- |"
printf '%s\n' "${SUMMARY[@]}"
stop_pid "$TS_PID"
stop_pid "$NG_PID"

echo
echo "## Delay: target-server --delay-ms 50, wrk -t1 -d${DELAY_DURATION}s"
echo
echo "| connections | run | rps | % of ideal | p50 ms | p99 ms | server CPU | wrk CPU | wrk errors |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for conns in 1000 2000; do
    start_target --delay-ms 50
    ideal=$((conns * 20))
    for run in $(seq "$RUNS"); do
        c0=$(cpu_ticks "$TS_PID")
        r=$(wrk_rps "$conns" "$DELAY_DURATION" "http://127.0.0.1:$TS_PORT/ping")
        c1=$(cpu_ticks "$TS_PID")
        cpu=$(share "$c0" "$c1")
        echo "| $conns | $run | ${r:-failed} | $(awk -v r="${r:-0}" -v i="$ideal" 'BEGIN {printf "%.1f%%", r / i * 100}') | $(wrk_pct_ms 50%) | $(wrk_pct_ms 99%) | $cpu | $(wrk_cpu) | $(wrk_errors) |"
    done
    stop_pid "$TS_PID"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
