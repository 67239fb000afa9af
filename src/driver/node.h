/* node: the driver's Kafka side and its test state machine.
 *
 * It registers once its broadcast consumers (test_config, trigger) are
 * assigned, heartbeats every interval, takes a test_config that names it (or
 * names no drivers), prepares the engine and says READY, starts on the
 * trigger at start_at, publishes cumulative metrics reports and a final one,
 * stores that final report, and goes back to IDLE. One test at a time.
 * See docs/driver.md for the full behaviour. */
#ifndef DLT_DRIVER_NODE_H
#define DLT_DRIVER_NODE_H

#include "bus.h"
#include "ids.h"

#include <signal.h>
#include <stdint.h>

struct node_opts {
    struct bus_conf *bus;     /* borrowed */
    const char *target;       /* URL used when a test_config names none */
    const char *orchestrator; /* informational only */
    const char *db;           /* SQLite file */
    int threads;              /* engine threads */
    int engine;               /* enum engine_kind */
    char node_id[ID_MAX];
    char node_ip[64];         /* "": found from the route to the first broker */
    const char *const *allow; /* --allow-target hosts; n_allow 0: default */
    int n_allow;
    int64_t max_inflight; /* TSUNAMI in-flight bound when the config has none */
    int64_t heartbeat_us; /* heartbeat interval */
};

/* Run the driver until one of the signals in *stop arrives (they must be
 * blocked in every thread; they are taken with sigtimedwait). Prints
 * "ready node_id=ID" on stdout once registered. Returns the exit status: 0
 * after a clean shutdown, 1 when it could not start (the reason is logged). */
int node_run(struct node_opts *o, const sigset_t *stop);

/* Run one test_config (JSON text; test_id optional) at once, without Kafka,
 * and print its final metrics report (JSON) on stdout. Returns 0 when the
 * test ran, 1 when it was refused or could not run, 2 for a config that
 * does not decode (the reason is logged). */
int node_bench(struct node_opts *o, const char *config_json, const sigset_t *stop);

/* The local address used to reach the first broker of brokers
 * ("HOST:PORT,..."), or "127.0.0.1" when it cannot be found. Can't fail. */
void node_default_ip(const char *brokers, char *buf, size_t buflen);

#endif
