#define _POSIX_C_SOURCE 200809L
#include "threshold.h"

#include "opts.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    const char *canon;
    enum thr_metric metric;
    enum stats_lat lat;
} thr_names[] = {
    {"min", "min", THR_LATENCY, LAT_MIN},
    {"mean", "mean", THR_LATENCY, LAT_MEAN},
    {"avg", "mean", THR_LATENCY, LAT_MEAN},
    {"median", "median", THR_LATENCY, LAT_MEDIAN},
    {"p50", "p50", THR_LATENCY, LAT_MEDIAN},
    {"mode", "mode", THR_LATENCY, LAT_MODE},
    {"p90", "p90", THR_LATENCY, LAT_P90},
    {"p95", "p95", THR_LATENCY, LAT_P95},
    {"p99", "p99", THR_LATENCY, LAT_P99},
    {"p999", "p999", THR_LATENCY, LAT_P999},
    {"p99.9", "p999", THR_LATENCY, LAT_P999},
    {"max", "max", THR_LATENCY, LAT_MAX},
    {"errors", "errors", THR_ERRORS, LAT_MIN},
    {"error_rate", "error_rate", THR_ERROR_RATE, LAT_MIN},
    {"rps", "rps", THR_RPS, LAT_MIN},
    {"sent", "sent", THR_SENT, LAT_MIN},
    {"received", "received", THR_RECEIVED, LAT_MIN},
    {"checks", "checks", THR_CHECKS, LAT_MIN},
};

#define THR_METRIC_LIST                                                                            \
    "min, mean, median, p50, mode, p90, p95, p99, p999, max, errors, error_rate, rps, sent, "      \
    "received, checks"

const char *threshold_op_text(enum thr_op op)
{
    switch (op) {
    case THR_LT:
        return "<";
    case THR_LE:
        return "<=";
    case THR_GT:
        return ">";
    case THR_GE:
        return ">=";
    }
    return "?";
}

int threshold_parse(const char *s, struct threshold *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (!s) {
        snprintf(err, errlen, "empty threshold");
        return -1;
    }
    /* Work on a copy without spaces: "p99 < 200 ms" == "p99<200ms". */
    char buf[THRESHOLD_TEXT_MAX];
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (isspace((unsigned char)*p))
            continue;
        if (n + 1 >= sizeof buf) {
            snprintf(err, errlen, "threshold '%.40s...' is too long", s);
            return -1;
        }
        buf[n++] = *p;
    }
    buf[n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "empty threshold (use e.g. 'p99<200ms', 'errors<1%%')");
        return -1;
    }
    snprintf(t->text, sizeof t->text, "%s", buf);
    /* NAME: before the metric, for one request's figures. */
    size_t colon = strcspn(buf, ":<>=!");
    if (buf[colon] == ':') {
        if (colon == 0) {
            snprintf(err, errlen, "threshold '%s' has an empty request name before ':'", buf);
            return -1;
        }
        if (colon >= sizeof t->req) {
            snprintf(err, errlen, "threshold '%s': the request name is over %d bytes", buf,
                     THRESHOLD_NAME_MAX - 1);
            return -1;
        }
        for (size_t i = 0; i < colon; i++) {
            unsigned char ch = (unsigned char)buf[i];
            if (!isalnum(ch) && ch != '_' && ch != '-' && ch != '.') {
                snprintf(err, errlen,
                         "threshold '%s': the request name may hold only letters, digits, '_', "
                         "'-' and '.'",
                         buf);
                return -1;
            }
        }
        memcpy(t->req, buf, colon);
        t->req[colon] = '\0';
        memmove(buf, buf + colon + 1, n - colon);
        n -= colon + 1;
    }
    size_t op_at = strcspn(buf, "<>=!");
    if (!buf[op_at]) {
        snprintf(err, errlen,
                 "threshold '%s' has no operator (use <, <=, > or >=, e.g. 'p99<200ms')", t->text);
        return -1;
    }
    char metric[32];
    if (op_at == 0 || op_at >= sizeof metric) {
        snprintf(err, errlen,
                 "threshold '%s' has no metric before the operator (one of " THR_METRIC_LIST ")",
                 t->text);
        return -1;
    }
    memcpy(metric, buf, op_at);
    metric[op_at] = '\0';
    const char *op = buf + op_at;
    size_t op_len;
    if (strncmp(op, "<=", 2) == 0) {
        t->op = THR_LE;
        op_len = 2;
    } else if (strncmp(op, ">=", 2) == 0) {
        t->op = THR_GE;
        op_len = 2;
    } else if (op[0] == '<' && op[1] != '<' && op[1] != '>') {
        t->op = THR_LT;
        op_len = 1;
    } else if (op[0] == '>' && op[1] != '>' && op[1] != '<') {
        t->op = THR_GT;
        op_len = 1;
    } else {
        snprintf(err, errlen, "threshold '%s' has an unknown operator (use <, <=, > or >=)",
                 t->text);
        return -1;
    }
    const char *val = op + op_len;
    if (strpbrk(val, "<>=!:")) {
        snprintf(err, errlen, "threshold '%s' has more than one operator", t->text);
        return -1;
    }
    int found = 0;
    for (size_t i = 0; i < sizeof thr_names / sizeof thr_names[0]; i++) {
        if (strcasecmp(metric, thr_names[i].name) == 0) {
            t->metric = thr_names[i].metric;
            t->lat = thr_names[i].lat;
            snprintf(t->name, sizeof t->name, "%s", thr_names[i].canon);
            found = 1;
            break;
        }
    }
    if (!found) {
        snprintf(err, errlen, "threshold '%s': unknown metric '%s' (one of " THR_METRIC_LIST ")",
                 t->text, metric);
        return -1;
    }
    if (!*val) {
        snprintf(err, errlen, "threshold '%s' has no value after the operator", t->text);
        return -1;
    }
    char why[160];
    size_t vl = strlen(val);
    int pct = vl > 0 && val[vl - 1] == '%';
    char num[64];
    if (vl >= sizeof num) {
        snprintf(err, errlen, "threshold '%s': value too long", t->text);
        return -1;
    }
    memcpy(num, val, vl + 1);
    if (pct)
        num[vl - 1] = '\0';
    switch (t->metric) {
    case THR_LATENCY: {
        int64_t us;
        if (pct) {
            snprintf(err, errlen, "threshold '%s': a latency takes a duration (e.g. 200ms), not %%",
                     t->text);
            return -1;
        }
        if (opt_parse_duration_us(num, 1000, 3600LL * 1000000, &us, why, sizeof why) < 0) {
            snprintf(err, errlen, "threshold '%s': %s", t->text, why);
            return -1;
        }
        t->value = (double)us / 1000.0;
        break;
    }
    case THR_ERRORS:
        if (opt_parse_double(num, 0, pct ? 100 : 1e15, &t->value, why, sizeof why) < 0) {
            snprintf(err, errlen, "threshold '%s': %s", t->text, why);
            return -1;
        }
        t->percent = pct;
        break;
    case THR_ERROR_RATE:
        if (opt_parse_double(num, 0, pct ? 100 : 1, &t->value, why, sizeof why) < 0) {
            snprintf(err, errlen, "threshold '%s': %s (a fraction 0..1, or a percentage)", t->text,
                     why);
            return -1;
        }
        if (pct)
            t->value /= 100.0;
        break;
    case THR_CHECKS:
        if (opt_parse_double(num, 0, pct ? 100 : 1, &t->value, why, sizeof why) < 0) {
            snprintf(err, errlen, "threshold '%s': %s (a percentage, or a fraction 0..1)", t->text,
                     why);
            return -1;
        }
        if (pct)
            t->value /= 100.0;
        t->percent = pct;
        break;
    case THR_RPS:
    case THR_SENT:
    case THR_RECEIVED:
        if (pct) {
            snprintf(err, errlen, "threshold '%s': %s takes a number, not a percentage", t->text,
                     t->name);
            return -1;
        }
        if (opt_parse_double(num, 0, 1e15, &t->value, why, sizeof why) < 0) {
            snprintf(err, errlen, "threshold '%s': %s", t->text, why);
            return -1;
        }
        break;
    }
    return 0;
}

int threshold_status_check(int status)
{
    return status >= 200 && status < 400;
}

static const char *const thr_lat_keys[LAT_N] = {"min", "mean", "median", "mode", "p90",
                                                "p95", "p99",  "p999",   "max"};

int threshold_known(const struct threshold *t, const struct thr_figures *f)
{
    switch (t->metric) {
    case THR_LATENCY:
        return f->has_lat[t->lat];
    case THR_ERRORS:
    case THR_ERROR_RATE:
        return f->has_errors;
    case THR_RPS:
        return f->has_rps;
    case THR_SENT:
    case THR_RECEIVED:
        return 1;
    case THR_CHECKS:
        /* No check judged yet: no share to compare. */
        return f->has_checks && f->checks_passed + f->checks_failed > 0;
    }
    return 0;
}

static double thr_error_pct(const struct thr_figures *f)
{
    if (f->sent <= 0)
        return 0;
    return 100.0 * (double)f->errors / (double)f->sent;
}

double threshold_actual(const struct threshold *t, const struct thr_figures *f)
{
    if (!threshold_known(t, f))
        return NAN;
    switch (t->metric) {
    case THR_LATENCY:
        return f->lat[t->lat];
    case THR_ERRORS:
        return t->percent ? thr_error_pct(f) : (double)f->errors;
    case THR_ERROR_RATE:
        return thr_error_pct(f) / 100.0;
    case THR_RPS:
        return f->rps;
    case THR_SENT:
        return (double)f->sent;
    case THR_RECEIVED:
        return (double)f->received;
    case THR_CHECKS: {
        double share = (double)f->checks_passed / (double)(f->checks_passed + f->checks_failed);
        return t->percent ? 100.0 * share : share;
    }
    }
    return NAN;
}

int threshold_holds(const struct threshold *t, const struct thr_figures *f)
{
    double a = threshold_actual(t, f);
    if (isnan(a))
        return 0;
    /* value is a fraction for checks; a percentage actual compares in %. */
    double v = t->metric == THR_CHECKS && t->percent ? 100.0 * t->value : t->value;
    switch (t->op) {
    case THR_LT:
        return a < v;
    case THR_LE:
        return a <= v;
    case THR_GT:
        return a > v;
    case THR_GE:
        return a >= v;
    }
    return 0;
}

void threshold_shown(const struct threshold *t, const struct thr_figures *f, char *buf,
                     size_t buflen)
{
    double a = threshold_actual(t, f);
    if (isnan(a)) {
        snprintf(buf, buflen, "unknown");
        return;
    }
    switch (t->metric) {
    case THR_LATENCY:
        snprintf(buf, buflen, "%.1f ms", a);
        break;
    case THR_ERRORS:
        if (t->percent)
            snprintf(buf, buflen, "%.3f%% (%lld of %lld)", a, (long long)f->errors,
                     (long long)f->sent);
        else
            snprintf(buf, buflen, "%lld", (long long)f->errors);
        break;
    case THR_ERROR_RATE:
        snprintf(buf, buflen, "%.5f", a);
        break;
    case THR_CHECKS:
        if (t->percent)
            snprintf(buf, buflen, "%.3f%% (%lld of %lld)", a, (long long)f->checks_passed,
                     (long long)(f->checks_passed + f->checks_failed));
        else
            snprintf(buf, buflen, "%.5f", a);
        break;
    case THR_RPS:
        snprintf(buf, buflen, "%.1f", a);
        break;
    case THR_SENT:
    case THR_RECEIVED:
        snprintf(buf, buflen, "%.0f", a);
        break;
    }
}

void threshold_verdict(const struct threshold *t, const struct thr_figures *f, char *buf,
                       size_t buflen)
{
    double a = threshold_actual(t, f);
    if (isnan(a)) {
        /* What the orchestrator reports as null: no participant sent it. */
        const char *field = t->metric == THR_LATENCY  ? thr_lat_keys[t->lat]
                            : t->metric == THR_RPS    ? "rps"
                            : t->metric == THR_CHECKS ? "status codes"
                                                      : "errors";
        if (t->metric == THR_CHECKS && f->has_checks)
            snprintf(buf, buflen, "%s: unknown (no response was checked)", t->text);
        else
            snprintf(buf, buflen, "%s: unknown (no participant sent %s)", t->text, field);
        return;
    }
    char shown[64];
    if (t->metric == THR_LATENCY)
        snprintf(shown, sizeof shown, "%.3fms", a);
    else
        threshold_shown(t, f, shown, sizeof shown);
    snprintf(buf, buflen, "%s: %s (%s = %s)", t->text, threshold_holds(t, f) ? "PASS" : "FAIL",
             t->name, shown);
}

int threshold_figures(const struct threshold *t, const struct thr_figures *whole,
                      threshold_lookup_fn lookup, void *ctx, struct thr_figures *out)
{
    if (!t->req[0]) {
        *out = *whole;
        return 1;
    }
    memset(out, 0, sizeof *out);
    if (!lookup || lookup(ctx, t->req, out) != 1) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    return 1;
}
