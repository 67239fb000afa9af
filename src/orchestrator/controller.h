/* controller: the runtime controller. It owns the driver registry, the
 * test lifecycle (CREATED -> CONFIGURED -> RUNNING -> COMPLETED | PARTIAL |
 * FAILED | ABORTED), the aggregation of metrics reports and the metrics
 * store, and runs two threads: the Kafka consumer (register, heartbeat,
 * metrics; offsets committed only once a batch is stored) and a ticker that
 * judges liveness, bounds every wait and samples the time series.
 *
 * One test is active at a time. Every wait is bounded: for min_drivers and
 * for READY by --ready-timeout, a run by the participants' liveness, a stop
 * by the heartbeat timeout.
 *
 * Thread-safe: one mutex guards all of it (registry, tests, store). Lock
 * order: the controller's mutex, then the SSE hub's. The REST functions
 * return an HTTP status; on 2xx *out is a JSON tree the caller owns
 * (cJSON_Delete), otherwise err holds the reason. */
#ifndef ORCH_CONTROLLER_H
#define ORCH_CONTROLLER_H

#include "bus.h"
#include "msg.h"
#include "ostore.h"
#include "sse.h"
#include "verdict.h"

#include <cjson/cJSON.h>
#include <stdint.h>

struct ctl_conf {
    int64_t hb_interval_ms;   /* drivers' heartbeat interval: suspect after 2 missed */
    int64_t hb_timeout_ms;    /* dead after this long without a heartbeat */
    int64_t ready_timeout_ms; /* bound on the min_drivers and READY waits */
    int64_t start_delay_ms;   /* margin between the trigger and start_at */
    int64_t report_grace_ms;  /* margin on the longest run of a silent (original) participant */
};

struct ctl;

/* Load the registry and any unfinished test from db, and prepare. db, prod
 * and hub are borrowed and must outlive the controller. Returns 0, or -1
 * with err (*out is then NULL). */
int ctl_create(const struct ctl_conf *conf, struct ostore *db, struct bus_producer *prod,
               struct sse_hub *hub, struct ctl **out, char *err, size_t errlen);
/* Start the consumer and ticker threads. cons and bconf are borrowed until
 * ctl_stop returns (bconf is used to create missing topics). Returns 0 or -1. */
int ctl_start(struct ctl *c, struct bus_consumer *cons, const struct bus_conf *bconf, char *err,
              size_t errlen);
/* Stop the threads (the batch in hand is stored and its offsets marked)
 * and save the registry. Safe to call twice, or without ctl_start. */
void ctl_stop(struct ctl *c);
/* Accepts NULL. Call ctl_stop first. */
void ctl_destroy(struct ctl *c);

/* ---- REST ---- */

/* Start a test from cfg (test_id empty; drivers optional) needing
 * min_drivers alive drivers, judged by the thresholds of v (NULL: none).
 * 201 with the test object (state CREATED); 409 while another test is
 * active; 400 for a named driver never seen. */
int ctl_test_create(struct ctl *c, const struct msg_test_config *cfg, int64_t min_drivers,
                    const struct verdict *v, cJSON **out, char *err, size_t errlen);
/* 200 with the test object, or 404. */
int ctl_test_get(struct ctl *c, const char *test_id, cJSON **out, char *err, size_t errlen);
/* 200 with {"tests": [summary, ...]}, newest first. */
int ctl_tests_list(struct ctl *c, int limit, cJSON **out, char *err, size_t errlen);
/* 200 with {"test_id", "aggregate": [...], "drivers": {...}}, or 404. */
int ctl_test_timeseries(struct ctl *c, const char *test_id, cJSON **out, char *err, size_t errlen);
/* Send trigger ABORT: 200 with the test object, 404, or 409 when the test
 * is not active. */
int ctl_test_stop(struct ctl *c, const char *test_id, cJSON **out, char *err, size_t errlen);
/* 200 with {"drivers": [...]}. */
int ctl_drivers(struct ctl *c, cJSON **out, char *err, size_t errlen);
/* 200 with Prometheus text in *text (free()). */
int ctl_prometheus(struct ctl *c, char **text, char *err, size_t errlen);
/* Queue the current drivers and the active test on a new event stream. */
void ctl_sse_hello(struct ctl *c, struct sse_client *cl);

#endif
