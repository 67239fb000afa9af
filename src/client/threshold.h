/* threshold: pass/fail conditions on a test's cluster-wide aggregate, for CI.
 *
 * Grammar (spaces allowed anywhere between the parts):
 *
 *     METRIC OP VALUE
 *     METRIC  latency: min mean median|p50 mode p90 p95 p99 p999 max
 *             counts:  errors sent received
 *             rates:   error_rate rps
 *     OP      <  <=  >  >=
 *     VALUE   latency: a duration, us, ms or s (bare numbers are ms)
 *             errors:  a count, or a percentage of requests sent ("1%")
 *             error_rate: a fraction ("0.01") or a percentage ("1%")
 *             rps, sent, received: a number
 *
 * e.g. "p99<200ms", "errors<1%", "rps>=1000". Metric names are
 * case-insensitive. */
#ifndef DLT_CLIENT_THRESHOLD_H
#define DLT_CLIENT_THRESHOLD_H

#include "stats.h"

#include <stddef.h>

#define THRESHOLD_TEXT_MAX 128

enum thr_metric {
    THR_LATENCY = 0, /* lat holds which */
    THR_ERRORS,
    THR_ERROR_RATE,
    THR_RPS,
    THR_SENT,
    THR_RECEIVED
};

enum thr_op { THR_LT = 0, THR_LE, THR_GT, THR_GE };

/* A parsed threshold; a plain value. */
struct threshold {
    char text[THRESHOLD_TEXT_MAX]; /* as given, spaces removed */
    char name[16];                 /* canonical metric name, e.g. "p50" */
    enum thr_metric metric;
    enum stats_lat lat; /* for THR_LATENCY */
    enum thr_op op;
    double value; /* ms for latency; a fraction for error_rate; else as given */
    int percent;  /* errors given as a percentage of sent: value is in % */
};

/* Parse s into *out. Returns 0, or -1 with one reason in err (out is then
 * unspecified). */
int threshold_parse(const char *s, struct threshold *out, char *err, size_t errlen);

/* 1 when the figure t compares is known in s; 0 when it is not (the
 * orchestrator reports it as null: no participant sent it, as a driver of
 * the original format sends no errors, rps, mode, p90, p95, p99, p999). */
int threshold_known(const struct threshold *t, const struct stats *s);

/* The figure the threshold compares: ms for latency, % for errors given in
 * %, a fraction for error_rate, else the count or rate; NAN when it is
 * unknown. Can't fail. */
double threshold_actual(const struct threshold *t, const struct stats *s);

/* 1 when the aggregate s meets t, else 0. A threshold on a figure that is
 * unknown cannot be shown to hold: 0. Can't fail. */
int threshold_holds(const struct threshold *t, const struct stats *s);

/* One line without '\n': "p99<200ms: PASS (p99 = 12.4ms)", or for an
 * unknown figure "p99<200ms: unknown (no participant sent p99)". Always
 * NUL-terminates buf; can't fail. */
void threshold_verdict(const struct threshold *t, const struct stats *s, char *buf, size_t buflen);

/* "<", "<=", ">" or ">=". */
const char *threshold_op_text(enum thr_op op);

#endif
