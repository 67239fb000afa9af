/* stats: the figures of one <stats> object of the API (a driver's or the
 * aggregate), as plain values. */
#ifndef DLT_CLIENT_STATS_H
#define DLT_CLIENT_STATS_H

#include "threshold.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* A figure the answer does not hold (null: a driver of the original format
 * never sends it; or missing) is unknown, never 0: its has_ flag is 0 and
 * its value reads as 0. requests_sent and responses_received are always
 * known (docs/API.md). */
struct stats {
    int64_t sent, received, errors;
    int64_t err_connect, err_timeout, err_4xx, err_5xx, err_other;
    int64_t elapsed_ms;
    double rps;
    double lat[LAT_N]; /* milliseconds, from "latency_ms" */
    /* The status check on the responses, from "status_codes" (see
     * threshold.h): known when the answer holds status codes. */
    int64_t checks_passed, checks_failed;
    int has_errors, has_kinds, has_elapsed, has_rps, has_checks;
    int has_lat[LAT_N];
};

/* Read a <stats> object; a missing, null or malformed field is unknown
 * (reads as 0 with its has_ flag 0), except the two request counts, which
 * read as 0. Can't fail; o may be NULL. */
void stats_from_json(const cJSON *o, struct stats *out);

/* The figures of s that a threshold compares. Can't fail. */
void stats_figures(const struct stats *s, struct thr_figures *out);

/* threshold_lookup_fn over a test object (ctx): the figures of the request
 * of that name in aggregate.by_request; 0 when there is none. */
int stats_lookup_request(void *test, const char *name, struct thr_figures *out);

/* The key of a latency in "latency_ms" ("min", "mean", "median", ...). */
const char *stats_lat_key(enum stats_lat l);

/* Errors as a percentage of requests sent; 0 when nothing was sent; NAN
 * when the errors are unknown. */
double stats_error_pct(const struct stats *s);

/* Requests that are finished: those with a response (responses_received)
 * plus those that failed without one (connect, timeout, other; none when
 * the error kinds are unknown). */
int64_t stats_done(const struct stats *s);

/* The text for a figure that is unknown: an en dash, as the dashboard
 * shows it. One column wide, three bytes. */
#define STATS_UNKNOWN "\xe2\x80\x93"

/* Write into buf the count v ("%lld"), or STATS_UNKNOWN when !known. */
void stats_fmt_count(int known, int64_t v, char *buf, size_t n);
/* Write into buf the number v with that many decimals, or STATS_UNKNOWN
 * when !known or v is not finite. */
void stats_fmt_num(int known, double v, int decimals, char *buf, size_t n);

/* 1 for the states a test never leaves (COMPLETED, PARTIAL, FAILED,
 * ABORTED); 0 otherwise. */
int stats_state_final(const char *state);
/* 1 for the final states that count as failure (PARTIAL, FAILED, ABORTED). */
int stats_state_failed(const char *state);

#endif
