#include "series.h"

#include <math.h>
#include <string.h>

static double series_rps(const struct series_snap *prev, const struct series_snap *cur)
{
    int64_t dt = cur->t_ms - (prev ? prev->t_ms : 0);
    int64_t dn = cur->responses_received - (prev ? prev->responses_received : 0);
    if (dt <= 0 || dn <= 0)
        return 0.0;
    return (double)dn * 1000.0 / (double)dt;
}

static void series_counts(const struct series_snap *prev, const struct series_snap *cur,
                          struct series_point *out)
{
    memset(out, 0, sizeof *out);
    out->t_ms = cur->t_ms;
    out->requests_sent = cur->requests_sent;
    out->responses_received = cur->responses_received;
    out->errors = cur->errors;
    out->rps = series_rps(prev, cur);
}

int series_point_make(const struct series_snap *prev, const struct series_snap *cur,
                      const struct hist *prev_h, const struct hist *cur_h, struct hist *scratch,
                      struct series_point *out)
{
    series_counts(prev, cur, out);
    int rc = 0;
    hist_copy(scratch, cur_h);
    if (prev_h && hist_subtract(scratch, prev_h) != 0) {
        hist_copy(scratch, cur_h);
        rc = 1;
    }
    if (hist_count(scratch) > 0) {
        out->has_lat = 1;
        out->p50 = (double)hist_percentile(scratch, 50) / 1000.0;
        out->p90 = (double)hist_percentile(scratch, 90) / 1000.0;
        out->p99 = (double)hist_percentile(scratch, 99) / 1000.0;
        out->mean = hist_mean(scratch) / 1000.0;
        out->max = (double)hist_max(scratch) / 1000.0;
    }
    return rc;
}

void series_point_from_summary(const struct series_snap *prev, const struct series_snap *cur,
                               double p50, double p90, double p99, double mean, double max,
                               struct series_point *out)
{
    series_counts(prev, cur, out);
    out->has_lat = 1;
    out->p50 = p50;
    out->p90 = p90;
    out->p99 = p99;
    out->mean = mean;
    out->max = max;
}

static int series_add_num(cJSON *o, const char *k, double v)
{
    return cJSON_AddNumberToObject(o, k, v) != NULL;
}

static int series_add_lat(cJSON *o, const char *k, int has, double v)
{
    if (!has)
        return cJSON_AddNullToObject(o, k) != NULL;
    return series_add_num(o, k, round(v * 1000.0) / 1000.0);
}

cJSON *series_point_to_json(const struct series_point *p)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int ok = series_add_num(o, "t_ms", (double)p->t_ms) &&
             series_add_num(o, "requests_sent", (double)p->requests_sent) &&
             series_add_num(o, "responses_received", (double)p->responses_received) &&
             series_add_num(o, "errors", (double)p->errors) &&
             series_add_num(o, "rps", round(p->rps * 10.0) / 10.0) &&
             series_add_lat(o, "p50", p->has_lat, p->p50) &&
             series_add_lat(o, "p90", p->has_lat, p->p90) &&
             series_add_lat(o, "p99", p->has_lat, p->p99) &&
             series_add_lat(o, "mean", p->has_lat, p->mean) &&
             series_add_lat(o, "max", p->has_lat, p->max);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
