/* series: one point of a test's time series, made from two consecutive
 * cumulative snapshots (counts and latency histogram).
 *
 * The latencies of a point are those of the responses that completed in
 * its interval only (the later histogram minus the earlier), so a stall
 * shows as a spike instead of being averaged away. */
#ifndef ORCH_SERIES_H
#define ORCH_SERIES_H

#include "hist.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* A cumulative snapshot: counts since the start of the test. */
struct series_snap {
    int64_t t_ms; /* since start_at */
    int64_t requests_sent, responses_received, errors;
};

struct series_point {
    int64_t t_ms;                                      /* ms since start_at */
    int64_t requests_sent, responses_received, errors; /* cumulative */
    double rps;                                        /* responses per second over the interval */
    int has_lat;                     /* 0: no response completed in the interval */
    double p50, p90, p99, mean, max; /* ms, over the interval */
};

/* Make the point for the interval from prev to cur.
 * cur_h is cur's cumulative histogram and prev_h prev's (NULL: none yet,
 * the interval starts at the test's start). scratch receives the interval's
 * samples. Returns 0, or 1 when prev_h was not an earlier snapshot of cur_h
 * (the point then describes all of cur_h). Can't fail otherwise. */
int series_point_make(const struct series_snap *prev, const struct series_snap *cur,
                      const struct hist *prev_h, const struct hist *cur_h, struct hist *scratch,
                      struct series_point *out);

/* A point from summary figures alone (a report without a histogram). */
void series_point_from_summary(const struct series_snap *prev, const struct series_snap *cur,
                               double p50, double p90, double p99, double mean, double max,
                               struct series_point *out);

/* {"t_ms", "requests_sent", "responses_received", "errors", "rps", "p50",
 * "p90", "p99", "mean", "max"}; the latencies are null when no response
 * completed in the interval. The caller owns the tree; NULL when out of
 * memory. */
cJSON *series_point_to_json(const struct series_point *p);

#endif
