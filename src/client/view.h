/* view: the human-readable forms of the API's answers (tables on stdout).
 * Every function reads the documents leniently (see jget.h), never
 * crashing. A figure that is unknown (null, as the orchestrator reports
 * what a driver of the original format never sends, or missing) shows as
 * STATS_UNKNOWN, never as 0. Each returns 0, or -1 when out of memory or
 * writing failed. */
#ifndef DLT_CLIENT_VIEW_H
#define DLT_CLIENT_VIEW_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The summary table of a test object: a row per driver and an aggregate
 * row, with sent, received, errors, rps, min, mean, median, mode, p90, p99
 * and max (latencies in ms), then the per-request table (view_by_request)
 * and the fleet's checks, then the final state and reason. */
int view_summary(const cJSON *test, FILE *out);

/* The per-request table of a test with "requests" (aggregate.by_request):
 * a row per request name with sent, received, errors, checks passed and
 * failed, rps, mean, p50, p90, p99 and max, then the checks each request
 * failed, by kind. Writes nothing for a test without by_request. */
int view_by_request(const cJSON *test, FILE *out);

/* A test object: id, state, config, times, then the summary. */
int view_status(const cJSON *test, FILE *out);

/* GET /api/tests: a table with a row per test. */
int view_list(const cJSON *doc, FILE *out);

/* GET /api/drivers: a table with a row per driver. */
int view_drivers(const cJSON *doc, FILE *out);

/* Requests the test will send in all: message_count_per_driver times the
 * number of participants (0 when unknown). */
int64_t view_total_requests(const cJSON *test);

/* How long the test runs by its "duration", or its stages together, in ms;
 * 0 when it has neither (its count ends it). */
int64_t view_run_ms(const cJSON *test);

/* Epoch ms as "YYYY-MM-DD HH:MM:SS" UTC; "-" for 0 or a missing value.
 * Always NUL-terminates buf. */
void view_format_time(int64_t epoch_ms, char *buf, size_t buflen);

#endif
