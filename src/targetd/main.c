/* target-server: the web server under test.
 *
 * /ping answers 200 "OK" (optionally after a delay, optionally failing with
 * 500 for a fraction of requests); /metrics reports what was served. The
 * HTTP side is server.c; this file parses the options, wires the modules,
 * waits for SIGINT or SIGTERM and stops cleanly. */
#define _GNU_SOURCE /* getrandom */
#include "cli.h"
#include "clock.h"
#include "delayspec.h"
#include "log.h"
#include "opts.h"
#include "rng.h"
#include "server.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#define PROG "target-server"

/* Descriptors needed besides client connections: listening socket, epoll
 * and wake-up descriptors per thread, the timer, stdio, log files. */
#define FD_RESERVE 64

struct target_opts {
    char host[256];
    struct server_config cfg;
    int64_t grace_us;
    uint64_t seed;
    int seed_set;
};

static void target_usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROG " [OPTIONS]\n"
            "\n"
            "The web server under test. GET, POST or HEAD /ping answers 200 with the 2-byte\n"
            "body \"OK\", optionally after a delay and optionally failing with 500 for a\n"
            "fraction of requests (HEAD: the same headers, no body). GET /metrics reports\n"
            "total_requests, total_responses, in_flight and uptime_s as JSON, or Prometheus\n"
            "text with ?format=prometheus or 'Accept: text/plain'. A delayed request holds\n"
            "no thread: its connection waits on a timer. Prints 'ready listen=HOST:PORT' on\n"
            "stdout once it serves, and stops cleanly on SIGINT or SIGTERM (delayed requests\n"
            "are answered at once). POST /test merges a JSON object into the one the server\n"
            "holds and returns it; GET /test returns it.\n"
            "\n"
            "Options:\n"
            "  --listen HOST:PORT      address to serve on (default 127.0.0.1:8081; port 0\n"
            "                          picks a free port, printed on the ready line)\n"
            "  --threads N             event-loop threads, 1..256 (default 1; more form a\n"
            "                          pool, worth it only with cores to spare)\n"
            "  --delay-ms A[-B]        delay each /ping answer by A ms, or by a time drawn\n"
            "                          uniformly from [A, B] ms; decimals allowed, at most\n"
            "                          %d (default 0: no delay; 100-500 behaves like the\n"
            "                          original server)\n"
            "  --error-rate P          answer 500 to a fraction P of /ping requests, 0..1\n"
            "                          (default 0)\n"
            "  --seed N                seed of the random draws for --delay-ms and\n"
            "                          --error-rate; with --threads 1, requests answered in\n"
            "                          the same order get the same draws (default: random)\n"
            "  --max-connections N     client connections served at once, 1..1000000\n"
            "                          (default 10000; the open-files limit is raised to fit)\n"
            "  --timeout SECONDS       close a connection idle or stalled mid-request this\n"
            "                          long; units allowed (30s, 2m); 0 = never (default 60)\n"
            "  --conn-memory BYTES     memory per connection, 4096..16777216; the request\n"
            "                          line and headers must fit (about 12 KB of them with\n"
            "                          the default), or the request is refused (default\n"
            "                          16384)\n"
            "  --max-body BYTES        largest request body read (and discarded); a larger\n"
            "                          one is refused with 413, 0..1073741824 (default\n"
            "                          1048576); also the largest object /test may hold\n"
            "  --grace DURATION        on SIGINT/SIGTERM, wait this long for requests under\n"
            "                          way before closing every connection (default 5s)\n"
            "  --log-level LEVEL       debug, info, warn or error (default info)\n"
            "  -h, --help              show this help and exit\n"
            "  -V, --version           show the version and exit\n",
            DELAYSPEC_MAX_MS);
}

static void target_parse(int argc, char **argv, struct target_opts *o)
{
    enum {
        OPT_LISTEN = 256,
        OPT_THREADS,
        OPT_DELAY,
        OPT_ERROR_RATE,
        OPT_SEED,
        OPT_MAX_CONN,
        OPT_TIMEOUT,
        OPT_CONN_MEMORY,
        OPT_MAX_BODY,
        OPT_GRACE,
        OPT_LOG
    };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"delay-ms", required_argument, NULL, OPT_DELAY},
        {"error-rate", required_argument, NULL, OPT_ERROR_RATE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"max-connections", required_argument, NULL, OPT_MAX_CONN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"conn-memory", required_argument, NULL, OPT_CONN_MEMORY},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"grace", required_argument, NULL, OPT_GRACE},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    struct server_config *cfg = &o->cfg;
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    cfg->port = 8081;
    cfg->threads = 1;
    cfg->error_rate = 0;
    cfg->max_connections = 10000;
    cfg->timeout_s = 60;
    cfg->conn_memory = 16384;
    cfg->max_body = 1048576;
    o->grace_us = 5000000;
    char err[256];
    int64_t v;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            if (opt_parse_hostport(optarg, o->host, sizeof o->host, &cfg->port, err, sizeof err))
                cli_usage_error("--listen: %s", err);
            break;
        case OPT_THREADS:
            if (opt_parse_int64(optarg, 1, 256, &v, err, sizeof err))
                cli_usage_error("--threads: %s", err);
            cfg->threads = (unsigned)v;
            break;
        case OPT_DELAY:
            if (delayspec_parse(optarg, &cfg->delay, err, sizeof err))
                cli_usage_error("--delay-ms: %s", err);
            break;
        case OPT_ERROR_RATE:
            if (opt_parse_double(optarg, 0.0, 1.0, &cfg->error_rate, err, sizeof err))
                cli_usage_error("--error-rate: %s", err);
            break;
        case OPT_SEED:
            if (opt_parse_int64(optarg, 0, INT64_MAX, &v, err, sizeof err))
                cli_usage_error("--seed: %s", err);
            o->seed = (uint64_t)v;
            o->seed_set = 1;
            break;
        case OPT_MAX_CONN:
            if (opt_parse_int64(optarg, 1, 1000000, &v, err, sizeof err))
                cli_usage_error("--max-connections: %s", err);
            cfg->max_connections = (unsigned)v;
            break;
        case OPT_TIMEOUT:
            if (opt_parse_duration_us(optarg, 1000000, 86400LL * 1000000, &v, err, sizeof err))
                cli_usage_error("--timeout: %s", err);
            /* libmicrohttpd counts whole seconds: round up, keep 0 as never. */
            cfg->timeout_s = (unsigned)((v + 999999) / 1000000);
            break;
        case OPT_CONN_MEMORY:
            if (opt_parse_int64(optarg, 4096, 16777216, &v, err, sizeof err))
                cli_usage_error("--conn-memory: %s", err);
            cfg->conn_memory = (size_t)v;
            break;
        case OPT_MAX_BODY:
            if (opt_parse_int64(optarg, 0, 1073741824, &v, err, sizeof err))
                cli_usage_error("--max-body: %s", err);
            cfg->max_body = (uint64_t)v;
            break;
        case OPT_GRACE:
            if (opt_parse_duration_us(optarg, 1000000, 600LL * 1000000, &o->grace_us, err,
                                      sizeof err))
                cli_usage_error("--grace: %s", err);
            break;
        default:
            cli_other_option(c, OPT_LOG, optarg, argv);
        }
    }
    cli_no_operands(argc, argv);
    cfg->host = o->host;
}

/* Raise the open-files limit to fit max_connections; lower the connection
 * limit when the hard limit cannot be raised. Without this, accepting
 * stops near 1,020 connections and the rest wait unseen in the backlog. */
static void target_fit_nofile(struct server_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t need = (rlim_t)cfg->max_connections + FD_RESERVE;
    if (rl.rlim_cur >= need)
        return;
    struct rlimit want = {need, rl.rlim_max >= need ? rl.rlim_max : need};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0)
        return;
    want.rlim_cur = rl.rlim_max;
    want.rlim_max = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) != 0)
        want.rlim_cur = rl.rlim_cur;
    unsigned fit = want.rlim_cur > FD_RESERVE ? (unsigned)(want.rlim_cur - FD_RESERVE) : 1;
    log_warn("open-files limit is %llu: serving at most %u connections, not %u",
             (unsigned long long)want.rlim_cur, fit, cfg->max_connections);
    cfg->max_connections = fit;
}

int main(int argc, char **argv)
{
    log_set_name(PROG);
    cli_init(PROG, target_usage);
    struct target_opts o;
    memset(&o, 0, sizeof o);
    target_parse(argc, argv, &o);

    /* Block the stop signals before any thread exists (the event loops'),
     * so that only sigwait below receives them. */
    sigset_t stop;
    cli_block_stop_signals(&stop);

    if (!o.seed_set && getrandom(&o.seed, sizeof o.seed, GRND_NONBLOCK) != sizeof o.seed)
        o.seed = (uint64_t)clock_wall_us() ^ ((uint64_t)getpid() << 40);
    rng_set_seed(o.seed);
    target_fit_nofile(&o.cfg);

    char err[512];
    struct server *s = NULL;
    if (server_create(&o.cfg, &s, err, sizeof err)) {
        log_error("%s", err);
        return 1;
    }
    char delay[64];
    delayspec_format(&o.cfg.delay, delay, sizeof delay);
    log_info("serving on %s: threads=%u delay=%s error-rate=%g seed=%llu max-connections=%u",
             server_address(s), o.cfg.threads, delay, o.cfg.error_rate, (unsigned long long)o.seed,
             o.cfg.max_connections);
    printf("ready listen=%s\n", server_address(s));
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    log_info("%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    uint64_t left = server_shutdown(s, o.grace_us);
    if (left)
        log_warn("%llu requests still under way after the grace period; closing",
                 (unsigned long long)left);
    struct metrics_snapshot snap;
    server_snapshot(s, &snap);
    log_info("served %llu /ping requests (%llu answered, %llu failed on purpose)",
             (unsigned long long)snap.requests, (unsigned long long)snap.responses,
             (unsigned long long)snap.errors);
    server_destroy(s);
    return 0;
}
