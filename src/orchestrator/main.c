/* load-orchestrator: REST API and dashboard, runtime controller and
 * metrics store of a dlt fleet.
 *
 * main parses the options, wires the modules (store, Kafka producer and
 * consumer, controller, HTTP server), waits for SIGINT or SIGTERM and tears
 * everything down in order. */
#define _POSIX_C_SOURCE 200809L
#include "api.h"
#include "bus.h"
#include "cli.h"
#include "controller.h"
#include "log.h"
#include "msg.h"
#include "opts.h"
#include "topics.h"
#include "ostore.h"
#include "sse.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "load-orchestrator"
#define MAX_BODY_LIMIT (64LL * 1024 * 1024)
#define MAX_CONNS 256
#define MAX_CONNS_LIMIT 4096
#define MAX_STREAMS 64

struct orch_opts {
    char host[256];
    int port;
    char db[4096];
    struct ctl_conf ctl;
    char *token; /* malloc'd; NULL: no token */
    int64_t max_body;
    int64_t max_conns;
    int64_t max_conns_per_ip; /* -1: a quarter of max_conns */
    int64_t request_timeout_ms;
};

static void orch_usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROG " [OPTIONS]\n"
            "\n"
            "Coordinates load-driver nodes over Kafka: keeps the registry of drivers and\n"
            "their liveness, runs one test at a time (configure, wait for READY, trigger a\n"
            "common start), merges the drivers' latency histograms into cluster-wide\n"
            "percentiles, stores tests and every metrics report in SQLite, and serves the\n"
            "REST API, live events (/api/events), Prometheus metrics (/metrics) and the\n"
            "dashboard (/). test_message_delay is in seconds; latencies in milliseconds.\n"
            "\n"
            "Once it serves, it prints one line on stdout: 'ready listen=HOST:PORT'.\n"
            "SIGINT or SIGTERM stops it cleanly; a running test resumes at the next start.\n"
            "\n"
            "Options:\n"
            "  --listen HOST:PORT          address of the REST API (default 127.0.0.1:8080;\n"
            "                              port 0 picks a free port)\n"
            "  --kafka HOST:PORT[,...]     Kafka bootstrap servers (default $DLT_KAFKA or\n"
            "                              " BUS_DEFAULT_BROKERS ")\n"
            "  -X key=value                librdkafka property, repeatable (e.g. SASL/SSL)\n"
            "  --kafka-config FILE         librdkafka properties from FILE, one key=value a\n"
            "                              line ('#' starts a comment), applied as -X is;\n"
            "                              keeps secrets such as sasl.password off the\n"
            "                              command line\n"
            "  --topic-prefix P            prefix of every topic name (default none)\n"
            "  --db PATH                   SQLite metrics store, WAL mode\n"
            "                              (default ./load-orchestrator.db)\n"
            "  --heartbeat-timeout DUR     a driver is dead after this long without a\n"
            "                              heartbeat (default 10s)\n"
            "  --heartbeat-interval DUR    the drivers' heartbeat interval; a driver is\n"
            "                              suspect after 2 missed (default 1s)\n"
            "  --ready-timeout DUR         longest wait for min_drivers and for READY\n"
            "                              (default 5s)\n"
            "  --start-delay DUR           margin between the trigger and the common start\n"
            "                              (default 500ms)\n"
            "  --report-grace DUR          a participant of the original format (it sends\n"
            "                              nothing while it runs) is given up when it has\n"
            "                              not reported by the config time + count x (delay\n"
            "                              + request timeout) + DUR (default 30s)\n"
            "  --api-token TOKEN           require 'Authorization: Bearer TOKEN' on every POST\n"
            "                              (default $DLT_API_TOKEN; none when unset); seen\n"
            "                              by every local user in the process list\n"
            "  --api-token-file FILE       the token from the first line of FILE instead\n"
            "  --max-body BYTES            largest request body; 413 beyond (default 20971520:\n"
            "                              a test with 8 MiB of CSV data fits)\n"
            "  --request-timeout DUR       a request's headers and body must arrive within\n"
            "                              this long (408 and close after; default 10s);\n"
            "                              idle keep-alive connections and event streams\n"
            "                              are not cut\n"
            "  --max-conns N               open HTTP connections at most (default 256)\n"
            "  --max-conns-per-ip N        of them from one client address (default a\n"
            "                              quarter of --max-conns; 0: no limit)\n"
            "  --log-level LEVEL           debug, info, warn or error (default info)\n"
            "  -h, --help                  show this help and exit\n"
            "  -V, --version               show the version and exit\n"
            "\n"
            "Durations take a unit: us, ms, s, m or h (e.g. 250ms, 1.5s); a bare number is\n"
            "in seconds.\n");
}

static void orch_duration(const char *opt, const char *val, int64_t min_ms, int64_t max_ms,
                          int64_t *out_ms)
{
    char err[256];
    int64_t us = 0;
    if (opt_parse_duration_us(val, 1000000, max_ms * 1000, &us, err, sizeof err) < 0)
        cli_usage_error("%s: %s", opt, err);
    if (us < min_ms * 1000) {
        char lim[32];
        opt_format_duration(min_ms * 1000, lim, sizeof lim);
        cli_usage_error("%s: '%s' is too short (at least %s)", opt, val, lim);
    }
    *out_ms = us / 1000;
}

static void orch_token(struct orch_opts *o, const char *tok, const char *from)
{
    size_t n = strlen(tok);
    if (n == 0 || n > 512)
        cli_usage_error("%s: the API token must be 1..512 characters", from);
    for (size_t i = 0; i < n; i++)
        if (tok[i] <= ' ' || tok[i] == 0x7f)
            cli_usage_error("%s: the API token may not hold spaces or control characters", from);
    free(o->token);
    o->token = strdup(tok);
    if (!o->token)
        cli_usage_error("out of memory");
}

/* The token from the first line of path (a trailing newline, and CR, are
 * not part of it). */
static void orch_token_file(struct orch_opts *o, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        cli_usage_error("--api-token-file %s: %s", path, strerror(errno));
    char line[1024];
    int got = fgets(line, sizeof line, f) != NULL;
    int rerr = ferror(f);
    fclose(f);
    if (rerr)
        cli_usage_error("--api-token-file %s: cannot read it", path);
    if (!got)
        cli_usage_error("--api-token-file %s: the file is empty", path);
    size_t n = strlen(line);
    if (n == sizeof line - 1 && line[n - 1] != '\n')
        cli_usage_error("--api-token-file %s: the first line is too long", path);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    orch_token(o, line, "--api-token-file");
    memset(line, 0, sizeof line);
}

static void orch_parse(int argc, char **argv, struct orch_opts *o, struct bus_conf *bc)
{
    enum {
        OPT_LISTEN = 256,
        OPT_KAFKA,
        OPT_PREFIX,
        OPT_DB,
        OPT_HB_TIMEOUT,
        OPT_HB_INTERVAL,
        OPT_READY,
        OPT_START_DELAY,
        OPT_REPORT_GRACE,
        OPT_TOKEN,
        OPT_TOKEN_FILE,
        OPT_MAX_BODY,
        OPT_REQUEST_TIMEOUT,
        OPT_MAX_CONNS,
        OPT_MAX_CONNS_IP,
        OPT_KAFKA_CONFIG,
        OPT_LOG
    };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"kafka", required_argument, NULL, OPT_KAFKA},
        {"topic-prefix", required_argument, NULL, OPT_PREFIX},
        {"db", required_argument, NULL, OPT_DB},
        {"heartbeat-timeout", required_argument, NULL, OPT_HB_TIMEOUT},
        {"heartbeat-interval", required_argument, NULL, OPT_HB_INTERVAL},
        {"ready-timeout", required_argument, NULL, OPT_READY},
        {"start-delay", required_argument, NULL, OPT_START_DELAY},
        {"report-grace", required_argument, NULL, OPT_REPORT_GRACE},
        {"api-token", required_argument, NULL, OPT_TOKEN},
        {"api-token-file", required_argument, NULL, OPT_TOKEN_FILE},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
        {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
        {"max-conns-per-ip", required_argument, NULL, OPT_MAX_CONNS_IP},
        {"kafka-config", required_argument, NULL, OPT_KAFKA_CONFIG},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    o->port = 8080;
    snprintf(o->db, sizeof o->db, "./load-orchestrator.db");
    o->ctl.hb_timeout_ms = 10000;
    o->ctl.hb_interval_ms = 1000;
    o->ctl.ready_timeout_ms = 5000;
    o->ctl.start_delay_ms = 500;
    o->ctl.report_grace_ms = 30000;
    o->max_body = 20 * 1024 * 1024;
    o->max_conns = MAX_CONNS;
    o->max_conns_per_ip = -1;
    o->request_timeout_ms = 10000;
    const char *env_token = getenv("DLT_API_TOKEN");
    if (env_token && *env_token)
        orch_token(o, env_token, "DLT_API_TOKEN");
    char err[512];
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hVX:", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            if (opt_parse_hostport(optarg, o->host, sizeof o->host, &o->port, err, sizeof err))
                cli_usage_error("--listen: %s", err);
            break;
        case OPT_KAFKA:
            if (bus_conf_set_brokers(bc, optarg, err, sizeof err))
                cli_usage_error("%s", err);
            break;
        case 'X':
            if (bus_conf_add_property(bc, optarg, err, sizeof err))
                cli_usage_error("%s", err);
            break;
        case OPT_PREFIX:
            if (bus_conf_set_prefix(bc, optarg, err, sizeof err))
                cli_usage_error("%s", err);
            break;
        case OPT_DB:
            if (!*optarg || strlen(optarg) >= sizeof o->db)
                cli_usage_error("--db: give a file path (or :memory:)");
            snprintf(o->db, sizeof o->db, "%s", optarg);
            break;
        case OPT_HB_TIMEOUT:
            orch_duration("--heartbeat-timeout", optarg, 100, 3600000, &o->ctl.hb_timeout_ms);
            break;
        case OPT_HB_INTERVAL:
            orch_duration("--heartbeat-interval", optarg, 10, 600000, &o->ctl.hb_interval_ms);
            break;
        case OPT_READY:
            orch_duration("--ready-timeout", optarg, 0, 3600000, &o->ctl.ready_timeout_ms);
            break;
        case OPT_START_DELAY:
            orch_duration("--start-delay", optarg, 0, 600000, &o->ctl.start_delay_ms);
            break;
        case OPT_REPORT_GRACE:
            orch_duration("--report-grace", optarg, 0, 86400000, &o->ctl.report_grace_ms);
            break;
        case OPT_TOKEN:
            orch_token(o, optarg, "--api-token");
            break;
        case OPT_TOKEN_FILE:
            orch_token_file(o, optarg);
            break;
        case OPT_KAFKA_CONFIG:
            if (bus_conf_add_file(bc, optarg, err, sizeof err))
                cli_usage_error("%s", err);
            break;
        case OPT_REQUEST_TIMEOUT:
            orch_duration("--request-timeout", optarg, 100, 3600000, &o->request_timeout_ms);
            break;
        case OPT_MAX_CONNS:
            if (opt_parse_int64(optarg, 1, MAX_CONNS_LIMIT, &o->max_conns, err, sizeof err))
                cli_usage_error("--max-conns: %s", err);
            break;
        case OPT_MAX_CONNS_IP:
            if (opt_parse_int64(optarg, 0, MAX_CONNS_LIMIT, &o->max_conns_per_ip, err, sizeof err))
                cli_usage_error("--max-conns-per-ip: %s", err);
            break;
        case OPT_MAX_BODY:
            if (opt_parse_int64(optarg, 64, MAX_BODY_LIMIT, &o->max_body, err, sizeof err))
                cli_usage_error("--max-body: %s", err);
            break;
        default:
            cli_other_option(c, OPT_LOG, optarg, argv);
        }
    }
    cli_no_operands(argc, argv);
    if (o->max_conns_per_ip < 0)
        o->max_conns_per_ip = o->max_conns >= 4 ? o->max_conns / 4 : 1;
    else if (o->max_conns_per_ip > o->max_conns)
        cli_usage_error("--max-conns-per-ip (%lld) is more than --max-conns (%lld)",
                        (long long)o->max_conns_per_ip, (long long)o->max_conns);
    if (o->ctl.hb_timeout_ms <= o->ctl.hb_interval_ms)
        cli_usage_error("--heartbeat-timeout (%lldms) must be longer than "
                        "--heartbeat-interval (%lldms)",
                        (long long)o->ctl.hb_timeout_ms, (long long)o->ctl.hb_interval_ms);
}

int main(int argc, char **argv)
{
    log_set_name(PROG);
    cli_init(PROG, orch_usage);
    struct orch_opts o;
    memset(&o, 0, sizeof o);
    struct bus_conf bc;
    bus_conf_init(&bc, PROG);
    bc.log_cb = log_sink;
    orch_parse(argc, argv, &o, &bc);

    /* Block the stop signals before any library thread exists, so that only
     * sigwait below receives them. */
    sigset_t stop;
    cli_block_stop_signals(&stop);

    int rc = 1;
    char err[512];
    struct ostore *db = NULL;
    struct bus_producer *prod = NULL;
    struct bus_consumer *cons = NULL;
    struct sse_hub *hub = NULL;
    struct ctl *ctl = NULL;
    struct api *api = NULL;
    static const char *const topics[] = {TOPIC_REGISTER, TOPIC_HEARTBEAT, TOPIC_METRICS};
    char group[128];
    snprintf(group, sizeof group, "%sdlt-orchestrator", bc.topic_prefix);

    if (ostore_open(o.db, &db, err, sizeof err) < 0) {
        log_error("%s", err);
        goto out;
    }
    /* On a real cluster the topics may not exist yet. Not fatal: Kafka may
     * come up later, and the drivers create them too. */
    if (topics_ensure(&bc, 5000, err, sizeof err) < 0)
        log_warn("topics not checked or created: %s", err);
    if (bus_producer_create(&bc, &prod, err, sizeof err) < 0 ||
        bus_consumer_create_group(&bc, group, topics, 3, &cons, err, sizeof err) < 0) {
        log_error("%s", err);
        goto out;
    }
    if (sse_hub_create(MAX_STREAMS, &hub) < 0) {
        log_error("out of memory");
        goto out;
    }
    if (ctl_create(&o.ctl, db, prod, hub, &ctl, err, sizeof err) < 0) {
        log_error("%s", err);
        goto out;
    }
    struct api_conf ac;
    memset(&ac, 0, sizeof ac);
    snprintf(ac.host, sizeof ac.host, "%s", o.host);
    ac.port = o.port;
    ac.token = o.token;
    ac.max_body = (size_t)o.max_body;
    ac.max_conns = (unsigned)o.max_conns;
    ac.max_conns_per_ip = (unsigned)o.max_conns_per_ip;
    ac.request_timeout_ms = o.request_timeout_ms;
    if (api_start(&ac, ctl, hub, &api, err, sizeof err) < 0) {
        log_error("%s", err);
        goto out;
    }
    if (ctl_start(ctl, cons, &bc, err, sizeof err) < 0) {
        log_error("%s", err);
        goto out;
    }
    int v6 = strchr(o.host, ':') != NULL;
    log_info("serving on %s%s%s:%d, kafka %s, store %s%s", v6 ? "[" : "", o.host, v6 ? "]" : "",
             api_port(api), bc.brokers, o.db, o.token ? ", API token required" : "");
    printf("ready listen=%s%s%s:%d\n", v6 ? "[" : "", o.host, v6 ? "]" : "", api_port(api));
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    log_info("%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
out:
    /* Order: no new requests, then no new messages (the batch in hand is
     * stored), then commit offsets and flush what we produced. */
    api_stop(api);
    ctl_stop(ctl);
    bus_consumer_destroy(cons);
    bus_producer_destroy(prod);
    ctl_destroy(ctl);
    sse_hub_destroy(hub);
    ostore_close(db);
    bus_conf_free(&bc);
    free(o.token);
    if (rc == 0)
        log_info("stopped");
    return rc;
}
