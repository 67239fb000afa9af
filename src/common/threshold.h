/* threshold: pass/fail conditions on a test's fleet-wide figures, judged
 * by the orchestrator while the test runs and by the client on demand.
 *
 * Grammar (spaces allowed anywhere between the parts):
 *
 *     [NAME:] METRIC OP VALUE
 *     NAME    a request name (letters, digits, '_', '-', '.'; at most
 *             THRESHOLD_NAME_MAX - 1 bytes): the figures of that request
 *             only; without it, those of the whole test
 *     METRIC  latency: min mean median|p50 mode p90 p95 p99 p999 max
 *             counts:  errors sent received
 *             rates:   error_rate rps
 *             checks:  checks (the share of checks that passed)
 *     OP      <  <=  >  >=
 *     VALUE   latency: a duration, us, ms or s (bare numbers are ms)
 *             errors:  a count, or a percentage of requests sent ("1%")
 *             error_rate: a fraction ("0.01") or a percentage ("1%")
 *             checks:  a percentage ("99%") or a fraction ("0.99")
 *             rps, sent, received: a number
 *
 * e.g. "p99<200ms", "errors<1%", "rps>=1000", "checks>99%",
 * "home:p95<100ms". Metric names are case-insensitive, request names are
 * not.
 *
 * A check is judged on each response. Until a test has checks of its own
 * there is one, the status check: a response with status 2xx or 3xx
 * passes it, any other status fails it (threshold_status_check). */
#ifndef DLT_THRESHOLD_H
#define DLT_THRESHOLD_H

#include <stddef.h>
#include <stdint.h>

#define THRESHOLD_TEXT_MAX 128
#define THRESHOLD_NAME_MAX 64

/* The latency figures, in the order of the API's "latency_ms". */
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

enum thr_metric {
    THR_LATENCY = 0, /* lat holds which */
    THR_ERRORS,
    THR_ERROR_RATE,
    THR_RPS,
    THR_SENT,
    THR_RECEIVED,
    THR_CHECKS
};

enum thr_op { THR_LT = 0, THR_LE, THR_GT, THR_GE };

/* A parsed threshold; a plain value. */
struct threshold {
    char text[THRESHOLD_TEXT_MAX]; /* as given, spaces removed */
    char req[THRESHOLD_NAME_MAX];  /* the request name; "" for the whole test */
    char name[16];                 /* canonical metric name, e.g. "p50" */
    enum thr_metric metric;
    enum stats_lat lat; /* for THR_LATENCY */
    enum thr_op op;
    double value; /* ms for latency; a fraction for error_rate and checks; else as given */
    int percent;  /* errors given as a percentage of sent: value is in %; checks
                   * given as a percentage (value is still a fraction) */
};

/* The figures a threshold can compare, as plain values. A figure whose
 * has_ flag is 0 is unknown (a driver of the original format sends no
 * errors, rps, status codes, mode, p90 ... p999): it reads as 0. */
struct thr_figures {
    int64_t sent, received, errors;
    int64_t checks_passed, checks_failed;
    double rps;
    double lat[LAT_N]; /* ms */
    int has_errors, has_rps, has_checks;
    int has_lat[LAT_N];
};

/* Parse s into *out. Returns 0, or -1 with one reason in err (out is then
 * unspecified). */
int threshold_parse(const char *s, struct threshold *out, char *err, size_t errlen);

/* Whether a response with this status passes the status check: 2xx, 3xx. */
int threshold_status_check(int status);

/* 1 when the figure t compares is known in f; 0 when it is not. */
int threshold_known(const struct threshold *t, const struct thr_figures *f);

/* The figure the threshold compares: ms for latency, % for errors given in
 * %, a fraction for error_rate, % for checks given in %, a fraction for
 * checks otherwise, else the count or rate; NAN when it is unknown. Can't
 * fail. */
double threshold_actual(const struct threshold *t, const struct thr_figures *f);

/* 1 when f meets t, else 0. A threshold on a figure that is unknown cannot
 * be shown to hold: 0. Can't fail. */
int threshold_holds(const struct threshold *t, const struct thr_figures *f);

/* One line without '\n': "p99<200ms: PASS (p99 = 12.4ms)", or for an
 * unknown figure "p99<200ms: unknown (no participant sent p99)". Always
 * NUL-terminates buf; can't fail. */
void threshold_verdict(const struct threshold *t, const struct thr_figures *f, char *buf,
                       size_t buflen);

/* The figure alone as a reader wants it, e.g. "312.4 ms", "3.1%", "950";
 * "unknown" when it is. Always NUL-terminates buf; can't fail. */
void threshold_shown(const struct threshold *t, const struct thr_figures *f, char *buf,
                     size_t buflen);

/* "<", "<=", ">" or ">=". */
const char *threshold_op_text(enum thr_op op);

/* The figures of one request by its name, for the NAME: thresholds: 1 with
 * *out filled, 0 when the test has no request of that name. */
typedef int (*threshold_lookup_fn)(void *ctx, const char *name, struct thr_figures *out);

/* The figures t is judged on: whole for a threshold without a request
 * name, else what lookup (NULL: no request has a name) gives for its name.
 * Returns 1, or 0 when there is no request of that name (*out is then
 * zeroed, every figure unknown). */
int threshold_figures(const struct threshold *t, const struct thr_figures *whole,
                      threshold_lookup_fn lookup, void *ctx, struct thr_figures *out);

#endif
