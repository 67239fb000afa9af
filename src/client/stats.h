/* stats: the figures of one <stats> object of the API (a driver's or the
 * aggregate), as plain values. */
#ifndef DLT_CLIENT_STATS_H
#define DLT_CLIENT_STATS_H

#include <cjson/cJSON.h>
#include <stdint.h>

enum stats_lat {
    LAT_MIN = 0,
    LAT_MEAN,
    LAT_MEDIAN,
    LAT_MODE,
    LAT_P90,
    LAT_P95,
    LAT_P99,
    LAT_P999,
    LAT_MAX,
    LAT_N
};

struct stats {
    int64_t sent, received, errors;
    int64_t err_connect, err_timeout, err_4xx, err_5xx, err_other;
    int64_t elapsed_ms;
    double rps;
    double lat[LAT_N]; /* milliseconds, from "latency_ms" */
};

/* Read a <stats> object; missing or malformed fields read as 0. Can't fail;
 * o may be NULL (everything 0). */
void stats_from_json(const cJSON *o, struct stats *out);

/* The key of a latency in "latency_ms" ("min", "mean", "median", ...). */
const char *stats_lat_key(enum stats_lat l);

/* Errors as a percentage of requests sent; 0 when nothing was sent. */
double stats_error_pct(const struct stats *s);

/* Requests that are finished: those with a response (responses_received)
 * plus those that failed without one (connect, timeout, other). */
int64_t stats_done(const struct stats *s);

/* 1 for the states a test never leaves (COMPLETED, PARTIAL, FAILED,
 * ABORTED); 0 otherwise. */
int stats_state_final(const char *state);
/* 1 for the final states that count as failure (PARTIAL, FAILED, ABORTED). */
int stats_state_failed(const char *state);

#endif
