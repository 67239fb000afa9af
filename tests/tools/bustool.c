/* bustool: drive the project's bus module from the command line, for tests.
 *
 *   bustool produce BOOTSTRAP TOPIC KEY VALUE
 *   bustool broadcast BOOTSTRAP TOPIC COUNT TIMEOUT_MS
 *   bustool group BOOTSTRAP GROUP TOPIC[,TOPIC...] COUNT TIMEOUT_MS
 *
 * Consumers print "ready" once they can receive, then one line per message
 * value, and exit 0 after COUNT messages or 1 when TIMEOUT_MS passes. A
 * group consumer is maintained as the orchestrator's is
 * (bus_consumer_maintain). */
#define _POSIX_C_SOURCE 200809L
#include "bus.h"
#include "clock.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int consume(struct bus_consumer *c, long count, long timeout_ms)
{
    printf("ready\n");
    fflush(stdout);
    int64_t deadline = clock_mono_us() + timeout_ms * 1000;
    long got = 0;
    struct bus_record rec = {0};
    char err[256];
    while (got < count && clock_mono_us() < deadline) {
        if (bus_consumer_maintain(c, err, sizeof err) < 0)
            fprintf(stderr, "bustool: %s\n", err);
        int rc = bus_consumer_poll(c, 100, &rec, err, sizeof err);
        if (rc == 1) {
            printf("%.*s\n", (int)rec.len, rec.payload);
            fflush(stdout);
            bus_consumer_commit(c, &rec);
            got++;
        } else if (rc < 0) {
            fprintf(stderr, "bustool: %s\n", err);
        }
    }
    bus_record_release(&rec);
    bus_consumer_destroy(c);
    return got == count ? 0 : 1;
}

int main(int argc, char **argv)
{
    log_set_name("bustool");
    char err[512];
    struct bus_conf conf;
    bus_conf_init(&conf, "bustool");
    conf.log_cb = log_sink;
    if (argc < 3 || bus_conf_set_brokers(&conf, argv[2], err, sizeof err)) {
        fprintf(stderr, "usage: see the comment at the top of bustool.c\n");
        return 2;
    }
    if (strcmp(argv[1], "produce") == 0 && argc == 6) {
        struct bus_producer *p;
        if (bus_producer_create(&conf, &p, err, sizeof err) ||
            bus_produce(p, argv[3], argv[4], argv[5], strlen(argv[5]), err, sizeof err)) {
            fprintf(stderr, "bustool: %s\n", err);
            return 1;
        }
        int ok = bus_producer_flush(p, 15000) == 0 && bus_producer_failed(p) == 0;
        bus_producer_destroy(p);
        return ok ? 0 : 1;
    }
    if (strcmp(argv[1], "broadcast") == 0 && argc == 6) {
        struct bus_consumer *c;
        const char *topics[] = {argv[3]};
        if (bus_consumer_create_broadcast(&conf, topics, 1, 10000, &c, err, sizeof err)) {
            fprintf(stderr, "bustool: %s\n", err);
            return 1;
        }
        return consume(c, atol(argv[4]), atol(argv[5]));
    }
    if (strcmp(argv[1], "group") == 0 && argc == 7) {
        struct bus_consumer *c;
        const char *topics[8];
        int n = 0;
        for (char *save = NULL, *t = strtok_r(argv[4], ",", &save); t && n < 8;
             t = strtok_r(NULL, ",", &save))
            topics[n++] = t;
        if (bus_consumer_create_group(&conf, argv[3], topics, n, &c, err, sizeof err)) {
            fprintf(stderr, "bustool: %s\n", err);
            return 1;
        }
        return consume(c, atol(argv[5]), atol(argv[6]));
    }
    fprintf(stderr, "usage: see the comment at the top of bustool.c\n");
    return 2;
}
