/* load-broker: a single-machine Kafka-protocol broker for demos and tests.
 *
 * librdkafka's mock cluster runs in this process on a random loopback port;
 * a forwarder puts it behind a fixed bootstrap address so every other binary
 * works with its defaults. Nothing is written to disk. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "fwd.h"
#include "log.h"
#include "msg.h"
#include "opts.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "load-broker"

#define BROKER_PREFIXES_MAX 16

struct broker_opts {
    char host[256];
    int port;
    int64_t partitions;
    char prefixes[BROKER_PREFIXES_MAX][64];
    int n_prefixes;
};

static void broker_usage(FILE *out)
{
    fprintf(out, "Usage: " PROG " [OPTIONS]\n"
                 "\n"
                 "A single-machine Kafka-protocol broker for demos and tests. It runs\n"
                 "librdkafka's mock cluster and is NOT durable: every message lives in memory\n"
                 "and is gone when it stops. Real Kafka (see docker-compose.yml) is what spans\n"
                 "machines.\n"
                 "\n"
                 "It creates the topics register, test_config, trigger, test_trigger,\n"
                 "test_data, metrics and heartbeat, then prints one line on stdout,\n"
                 "'ready bootstrap=HOST:PORT', and serves until\n"
                 "SIGINT or SIGTERM.\n"
                 "\n"
                 "Options:\n"
                 "  --listen HOST:PORT   bootstrap address to listen on (default 127.0.0.1:9092;\n"
                 "                       port 0 picks a free port, printed on the ready line)\n"
                 "  --partitions N       partitions per topic, 1..64 (default 4)\n"
                 "  --topic-prefix P     also create the seven topics with this prefix;\n"
                 "                       repeatable, up to 16 (the unprefixed topics always\n"
                 "                       exist)\n"
                 "  --log-level LEVEL    debug, info, warn or error (default info)\n"
                 "  -h, --help           show this help and exit\n"
                 "  -V, --version        show the version and exit\n");
}

static void broker_parse(int argc, char **argv, struct broker_opts *o)
{
    enum { OPT_LISTEN = 256, OPT_PARTITIONS, OPT_PREFIX, OPT_LOG };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"partitions", required_argument, NULL, OPT_PARTITIONS},
        {"topic-prefix", required_argument, NULL, OPT_PREFIX},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    o->port = 9092;
    o->partitions = 4;
    char err[256];
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            if (opt_parse_hostport(optarg, o->host, sizeof o->host, &o->port, err, sizeof err))
                cli_usage_error("--listen: %s", err);
            break;
        case OPT_PARTITIONS:
            if (opt_parse_int64(optarg, 1, 64, &o->partitions, err, sizeof err))
                cli_usage_error("--partitions: %s", err);
            break;
        case OPT_PREFIX:
            if (strlen(optarg) > 48)
                cli_usage_error("--topic-prefix: '%.48s...' is too long", optarg);
            if (o->n_prefixes >= BROKER_PREFIXES_MAX)
                cli_usage_error("--topic-prefix: at most %d prefixes", BROKER_PREFIXES_MAX);
            snprintf(o->prefixes[o->n_prefixes++], sizeof o->prefixes[0], "%s", optarg);
            break;
        default:
            cli_other_option(c, OPT_LOG, optarg, argv);
        }
    }
    cli_no_operands(argc, argv);
}

/* librdkafka's mock broker listens with an accept backlog of 5: when dozens
 * of clients start at once, their connection attempts are dropped and retried
 * seconds later. Find the mock's listening socket in this process and raise
 * its backlog (listen() on a listening socket updates it on Linux).
 * Returns the number of sockets raised. */
static int broker_raise_backlog(int port)
{
    int raised = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end = NULL;
        long fd = strtol(e->d_name, &end, 10);
        if (*e->d_name == '\0' || *end != '\0' || fd == dirfd(d))
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int acc = 0;
        socklen_t al = sizeof acc;
        if (getsockname((int)fd, (struct sockaddr *)&ss, &sl) < 0 || ss.ss_family != AF_INET ||
            ntohs(((struct sockaddr_in *)&ss)->sin_port) != port ||
            getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 || !acc)
            continue;
        if (listen((int)fd, SOMAXCONN) == 0)
            raised++;
    }
    closedir(d);
    return raised;
}

static void broker_rk_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    log_msg(level <= 3 ? LOGL_ERROR : level == 4 ? LOGL_WARN : LOGL_DEBUG, "mock %s: %s", fac, buf);
}

int main(int argc, char **argv)
{
    log_set_name(PROG);
    cli_init(PROG, broker_usage);
    struct broker_opts o = {0};
    broker_parse(argc, argv, &o);

    /* Block the stop signals before any library thread exists, so that only
     * sigwait below receives them. */
    sigset_t stop;
    cli_block_stop_signals(&stop);

    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, broker_rk_log);
    rd_kafka_conf_set(conf, "log.connection.close", "false", err, sizeof err);
    /* The handle only hosts the mock cluster; it never connects anywhere. */
    rd_kafka_conf_set(conf, "bootstrap.servers", "", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        log_error("cannot create the mock cluster's handle: %s", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    if (!mc) {
        log_error("cannot start the mock cluster");
        rd_kafka_destroy(rk);
        return 1;
    }
    static const char *const topics[] = {TOPIC_REGISTER,     TOPIC_TEST_CONFIG, TOPIC_TRIGGER,
                                         TOPIC_TEST_TRIGGER, TOPIC_TEST_DATA,   TOPIC_METRICS,
                                         TOPIC_HEARTBEAT};
    /* The unprefixed set (k = -1) and one set per --topic-prefix. */
    for (int k = -1; k < o.n_prefixes; k++) {
        for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++) {
            char name[128];
            snprintf(name, sizeof name, "%s%s", k < 0 ? "" : o.prefixes[k], topics[i]);
            rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, (int)o.partitions, 1);
            if (e) {
                log_error("cannot create topic %s: %s", name, rd_kafka_err2str(e));
                rd_kafka_mock_cluster_destroy(mc);
                rd_kafka_destroy(rk);
                return 1;
            }
        }
    }
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    char up_host[256];
    int up_port = 0;
    /* The bootstrap list holds one broker: "127.0.0.1:PORT". */
    char first[300];
    snprintf(first, sizeof first, "%s", boot);
    char *comma = strchr(first, ',');
    if (comma)
        *comma = '\0';
    if (opt_parse_hostport(first, up_host, sizeof up_host, &up_port, err, sizeof err)) {
        log_error("unexpected mock bootstrap address '%s': %s", boot, err);
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 1;
    }
    if (broker_raise_backlog(up_port) == 0)
        log_warn("could not raise the mock broker's accept backlog; many clients starting "
                 "at once may wait for connection retries");
    struct fwd *f = NULL;
    if (fwd_create(o.host, o.port, up_host, up_port, &f, err, sizeof err) ||
        fwd_start(f, err, sizeof err)) {
        log_error("%s", err);
        fwd_destroy(f);
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 1;
    }
    int v6 = strchr(o.host, ':') != NULL;
    char addr[300];
    snprintf(addr, sizeof addr, "%s%s%s:%d", v6 ? "[" : "", o.host, v6 ? "]" : "", fwd_port(f));
    log_info("mock cluster at %s, %lld partitions per topic, not durable", boot,
             (long long)o.partitions);
    printf("ready bootstrap=%s\n", addr);
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    log_info("%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fwd_destroy(f);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
