/* load-driver: registers with the orchestrator over Kafka, heartbeats, and
 * runs AVALANCHE and TSUNAMI tests against a target with libcurl, reporting
 * metrics as it goes. main parses the options and hands over to node. */
#define _POSIX_C_SOURCE 200809L
#include "bus.h"
#include "cli.h"
#include "engine.h"
#include "ids.h"
#include "log.h"
#include "msg.h"
#include "node.h"
#include "opts.h"
#include "plan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <curl/curl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "load-driver"
#define ALLOW_MAX 64

struct driver_opts {
    struct bus_conf bus;
    struct node_opts node;
    char *allow[ALLOW_MAX];
    const char *bench; /* --bench JSON */
};

static void driver_usage(FILE *out)
{
    fprintf(
        out,
        "Usage: " PROG " [OPTIONS]\n"
        "\n"
        "A load-test driver node. It registers with the orchestrator over Kafka, sends a\n"
        "heartbeat every interval, and runs the AVALANCHE (closed loop) and TSUNAMI (open\n"
        "loop) tests it is configured for with libcurl, publishing metrics reports as it\n"
        "goes. Once registered it prints 'ready node_id=ID' on stdout. SIGINT or SIGTERM\n"
        "stops the current test (its final report is sent), unregisters and exits 0.\n"
        "\n"
        "Options:\n"
        "  --kafka HOST:PORT[,..]     Kafka bootstrap servers (default $DLT_KAFKA, else\n"
        "                             " BUS_DEFAULT_BROKERS ")\n"
        "  -X key=value               librdkafka property, repeatable (e.g. -X\n"
        "                             security.protocol=SASL_SSL)\n"
        "  --kafka-config FILE        librdkafka properties from FILE, one key=value a\n"
        "                             line ('#' starts a comment), applied as -X is;\n"
        "                             keeps secrets such as sasl.password off the\n"
        "                             command line\n"
        "  --topic-prefix P           prefix of every topic name (default none)\n"
        "  --target URL               target used when a test_config names no target_url\n"
        "                             (default http://127.0.0.1:8081/ping)\n"
        "  --orchestrator URL         the orchestrator's address; informational, only logged\n"
        "                             (default none)\n"
        "  --db PATH                  SQLite file keeping each test's final report\n"
        "                             (default ./load-driver.db)\n"
        "  --threads N                engine threads, 1..%d; each takes its share of a test\n"
        "                             (default 1)\n"
        "  --engine auto|native|curl  how requests are sent: 'native' is the driver's own\n"
        "                             HTTP/1.1 client (plain http:// only), 'curl' is\n"
        "                             libcurl (HTTPS, HTTP/2, credentials in the URL);\n"
        "                             'auto' picks native whenever it can serve the test\n"
        "                             (default auto). A test the forced engine cannot\n"
        "                             serve is refused.\n"
        "  --node-id ID               this driver's id (default: a new unique id)\n"
        "  --node-ip IP               address announced in register (default: the local\n"
        "                             address that reaches the first Kafka broker, else\n"
        "                             127.0.0.1)\n"
        "  --allow-target HOST        a host that may receive load, repeatable; '*' allows\n"
        "                             any, 'loopback' every loopback address (default: the\n"
        "                             host of --target plus loopback). A test whose target is\n"
        "                             not allowed is refused.\n"
        "  --max-in-flight N          requests in flight at most during a TSUNAMI whose config\n"
        "                             sets no concurrency, 1..%d (default 1000); a request\n"
        "                             held back by it goes out late and counts as late\n"
        "  --heartbeat-interval DUR   heartbeat period, 100ms..60s (default 1s)\n"
        "  --bench JSON               run this test_config once at start, without Kafka,\n"
        "                             print its final metrics report on stdout and exit;\n"
        "                             @FILE reads it from FILE (at most 20 MiB: a test\n"
        "                             with data is larger than a command line takes)\n"
        "  --log-level LEVEL          debug, info, warn or error (default info)\n"
        "  -h, --help                 show this help and exit\n"
        "  -V, --version              show the version and exit\n",
        ENGINE_THREADS_MAX, MSG_CONCURRENCY_MAX);
}

static void driver_parse(int argc, char **argv, struct driver_opts *o)
{
    enum {
        OPT_KAFKA = 256,
        OPT_PREFIX,
        OPT_TARGET,
        OPT_ORCH,
        OPT_DB,
        OPT_THREADS,
        OPT_ENGINE,
        OPT_NODE_ID,
        OPT_NODE_IP,
        OPT_ALLOW,
        OPT_MAX_INFLIGHT,
        OPT_HB,
        OPT_BENCH,
        OPT_KAFKA_CONFIG,
        OPT_LOG
    };
    static const struct option longopts[] = {
        {"kafka", required_argument, NULL, OPT_KAFKA},
        {"topic-prefix", required_argument, NULL, OPT_PREFIX},
        {"target", required_argument, NULL, OPT_TARGET},
        {"orchestrator", required_argument, NULL, OPT_ORCH},
        {"db", required_argument, NULL, OPT_DB},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"engine", required_argument, NULL, OPT_ENGINE},
        {"node-id", required_argument, NULL, OPT_NODE_ID},
        {"node-ip", required_argument, NULL, OPT_NODE_IP},
        {"allow-target", required_argument, NULL, OPT_ALLOW},
        {"max-in-flight", required_argument, NULL, OPT_MAX_INFLIGHT},
        {"heartbeat-interval", required_argument, NULL, OPT_HB},
        {"bench", required_argument, NULL, OPT_BENCH},
        {"kafka-config", required_argument, NULL, OPT_KAFKA_CONFIG},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    struct node_opts *n = &o->node;
    bus_conf_init(&o->bus, PROG);
    o->bus.log_cb = log_sink;
    n->bus = &o->bus;
    n->target = "http://127.0.0.1:8081/ping";
    n->db = "./load-driver.db";
    n->threads = 1;
    n->max_inflight = 1000;
    n->heartbeat_us = 1000000;
    char err[512];
    int c;
    int64_t v;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":X:hV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_KAFKA:
            if (bus_conf_set_brokers(&o->bus, optarg, err, sizeof err))
                cli_usage_error("%s", err);
            break;
        case 'X':
            if (bus_conf_add_property(&o->bus, optarg, err, sizeof err))
                cli_usage_error("%s", err);
            break;
        case OPT_KAFKA_CONFIG:
            if (bus_conf_add_file(&o->bus, optarg, err, sizeof err))
                cli_usage_error("%s", err);
            break;
        case OPT_PREFIX:
            if (bus_conf_set_prefix(&o->bus, optarg, err, sizeof err))
                cli_usage_error("%s", err);
            break;
        case OPT_TARGET: {
            char host[256];
            if (strlen(optarg) > MSG_URL_MAX ||
                plan_url_host(optarg, host, sizeof host, err, sizeof err))
                cli_usage_error("--target: %s",
                                strlen(optarg) > MSG_URL_MAX ? "URL is too long" : err);
            n->target = optarg;
            break;
        }
        case OPT_ORCH:
            if (!*optarg)
                cli_usage_error("--orchestrator needs a URL");
            n->orchestrator = optarg;
            break;
        case OPT_DB:
            if (!*optarg)
                cli_usage_error("--db needs a path");
            n->db = optarg;
            break;
        case OPT_THREADS:
            if (opt_parse_int64(optarg, 1, ENGINE_THREADS_MAX, &v, err, sizeof err))
                cli_usage_error("--threads: %s", err);
            n->threads = (int)v;
            break;
        case OPT_ENGINE: {
            int k = engine_kind_parse(optarg);
            if (k < 0)
                cli_usage_error("--engine: '%.80s' is not auto, native or curl", optarg);
            n->engine = k;
            break;
        }
        case OPT_NODE_ID:
            if (!id_valid(optarg))
                cli_usage_error("--node-id: '%.80s' is not a valid id (1..63 of A-Z a-z "
                                "0-9 _ . : -)",
                                optarg);
            snprintf(n->node_id, sizeof n->node_id, "%s", optarg);
            break;
        case OPT_NODE_IP: {
            unsigned char buf[sizeof(struct in6_addr)];
            if (inet_pton(AF_INET, optarg, buf) != 1 && inet_pton(AF_INET6, optarg, buf) != 1)
                cli_usage_error("--node-ip: '%.80s' is not an IPv4 or IPv6 address", optarg);
            snprintf(n->node_ip, sizeof n->node_ip, "%s", optarg);
            break;
        }
        case OPT_ALLOW:
            if (!*optarg || strlen(optarg) > 255 || strchr(optarg, '/') || strchr(optarg, ' '))
                cli_usage_error("--allow-target: '%.80s' is not a host name or address", optarg);
            if (n->n_allow >= ALLOW_MAX)
                cli_usage_error("--allow-target: at most %d hosts", ALLOW_MAX);
            o->allow[n->n_allow++] = optarg;
            break;
        case OPT_MAX_INFLIGHT:
            if (opt_parse_int64(optarg, 1, MSG_CONCURRENCY_MAX, &n->max_inflight, err, sizeof err))
                cli_usage_error("--max-in-flight: %s", err);
            break;
        case OPT_HB:
            if (opt_parse_duration_us(optarg, 1000000, 60000000, &n->heartbeat_us, err, sizeof err))
                cli_usage_error("--heartbeat-interval: %s", err);
            if (n->heartbeat_us < 100000)
                cli_usage_error("--heartbeat-interval: '%s' is below 100ms", optarg);
            break;
        case OPT_BENCH:
            o->bench = optarg;
            break;
        default:
            cli_other_option(c, OPT_LOG, optarg, argv);
        }
    }
    cli_no_operands(argc, argv);
    n->allow = (const char *const *)o->allow;
    if (!n->node_id[0] && id_new("d-", n->node_id, sizeof n->node_id) < 0)
        cli_usage_error("cannot make a node id");
}

/* The text of the file at path (at most BENCH_FILE_MAX bytes, no NUL), or
 * NULL with why. */
#define BENCH_FILE_MAX (20 * 1024 * 1024)
static char *main_read_file(const char *path, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "cannot open: %s", strerror(errno));
        return NULL;
    }
    char *buf = malloc(BENCH_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, BENCH_FILE_MAX + 1, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad || n > BENCH_FILE_MAX || memchr(buf, '\0', n)) {
        snprintf(why, whylen, "%s",
                 !buf                 ? "out of memory"
                 : bad                ? "cannot read it"
                 : n > BENCH_FILE_MAX ? "over the 20 MiB limit"
                                      : "it holds a NUL byte");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    log_set_name(PROG);
    cli_init(PROG, driver_usage);
    static struct driver_opts o;
    driver_parse(argc, argv, &o);

    /* Block the stop signals before any library thread exists, so that the
     * node loop alone takes them (sigtimedwait). */
    sigset_t stop;
    cli_block_stop_signals(&stop);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("cannot initialise libcurl");
        bus_conf_free(&o.bus);
        return 1;
    }
    char *bench_file = NULL;
    if (o.bench && o.bench[0] == '@') {
        char why[300];
        if (!(bench_file = main_read_file(o.bench + 1, why, sizeof why))) {
            log_error("--bench %s: %s", o.bench, why);
            curl_global_cleanup();
            bus_conf_free(&o.bus);
            return 2;
        }
        o.bench = bench_file;
    }
    int rc = o.bench ? node_bench(&o.node, o.bench, &stop) : node_run(&o.node, &stop);
    free(bench_file);
    curl_global_cleanup();
    bus_conf_free(&o.bus);
    return rc;
}
