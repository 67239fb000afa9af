#define _POSIX_C_SOURCE 200809L
#include "view.h"

#include "jget.h"
#include "stats.h"
#include "table.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void view_format_time(int64_t epoch_ms, char *buf, size_t buflen)
{
    if (epoch_ms <= 0) {
        snprintf(buf, buflen, "-");
        return;
    }
    time_t t = (time_t)(epoch_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, buflen, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, buflen, "%lld", (long long)epoch_ms);
}

int64_t view_total_requests(const cJSON *test)
{
    const cJSON *cfg = jget_obj(test, "config");
    int64_t count = jget_int(cfg, "message_count_per_driver", 0);
    const cJSON *d = jget_arr(test, "drivers");
    int n = d ? cJSON_GetArraySize(d) : 0;
    if (n == 0) {
        const cJSON *pd = jget_arr(test, "per_driver");
        n = pd ? cJSON_GetArraySize(pd) : 0;
    }
    if (count <= 0 || n <= 0 || count > INT64_MAX / n)
        return 0;
    return count * n;
}

int64_t view_run_ms(const cJSON *test)
{
    const cJSON *cfg = jget_obj(test, "config");
    double s = jget_num(cfg, "duration", 0);
    if (!(s > 0)) {
        s = 0;
        const cJSON *st;
        cJSON_ArrayForEach(st, jget_arr(cfg, "stages")) s += jget_num(st, "duration", 0);
    }
    return s > 0 && s < 1e9 ? (int64_t)(s * 1000) : 0;
}

static void view_ms(int known, double ms, char *buf, size_t n)
{
    if (!known || !isfinite(ms))
        snprintf(buf, n, "%s", STATS_UNKNOWN);
    else if (ms >= 1000)
        snprintf(buf, n, "%.0f", ms);
    else if (ms >= 100)
        snprintf(buf, n, "%.1f", ms);
    else
        snprintf(buf, n, "%.2f", ms);
}

#define SUMMARY_COLS 12

static int view_stats_row(struct table *t, const char *name, const cJSON *o)
{
    struct stats s;
    stats_from_json(o, &s);
    char c[SUMMARY_COLS][48];
    snprintf(c[0], sizeof c[0], "%.47s", name);
    snprintf(c[1], sizeof c[1], "%lld", (long long)s.sent);
    snprintf(c[2], sizeof c[2], "%lld", (long long)s.received);
    stats_fmt_count(s.has_errors, s.errors, c[3], sizeof c[3]);
    stats_fmt_num(s.has_rps, s.rps, 1, c[4], sizeof c[4]);
    static const enum stats_lat cols[] = {LAT_MIN, LAT_MEAN, LAT_MEDIAN, LAT_MODE,
                                          LAT_P90, LAT_P99,  LAT_MAX};
    for (int i = 0; i < 7; i++)
        view_ms(s.has_lat[cols[i]], s.lat[cols[i]], c[5 + i], sizeof c[5 + i]);
    const char *cells[SUMMARY_COLS];
    for (int i = 0; i < SUMMARY_COLS; i++)
        cells[i] = c[i];
    return table_add(t, cells);
}

#define BYREQ_COLS 12

int view_by_request(const cJSON *test, FILE *out)
{
    const cJSON *agg = jget_obj(test, "aggregate");
    const cJSON *by = jget_obj(agg, "by_request");
    if (!by || !by->child)
        return 0;
    static const char *const head[BYREQ_COLS] = {"request", "sent",   "received", "errors",
                                                 "passed",  "failed", "rps",      "mean",
                                                 "p50",     "p90",    "p99",      "max"};
    struct table *t = table_create(BYREQ_COLS, head);
    if (!t)
        return -1;
    for (int i = 1; i < BYREQ_COLS; i++)
        table_align_right(t, i);
    int rc = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, by)
    {
        if (!cJSON_IsObject(r))
            continue;
        struct stats s;
        stats_from_json(r, &s);
        double passed = jget_num(r, "checks_passed", NAN),
               failed = jget_num(r, "checks_failed", NAN);
        char c[BYREQ_COLS][48];
        snprintf(c[0], sizeof c[0], "%.47s", r->string ? r->string : "?");
        snprintf(c[1], sizeof c[1], "%lld", (long long)s.sent);
        snprintf(c[2], sizeof c[2], "%lld", (long long)s.received);
        stats_fmt_count(s.has_errors, s.errors, c[3], sizeof c[3]);
        stats_fmt_count(!isnan(passed), (int64_t)passed, c[4], sizeof c[4]);
        stats_fmt_count(!isnan(failed), (int64_t)failed, c[5], sizeof c[5]);
        stats_fmt_num(s.has_rps, s.rps, 1, c[6], sizeof c[6]);
        static const enum stats_lat cols[] = {LAT_MEAN, LAT_MEDIAN, LAT_P90, LAT_P99, LAT_MAX};
        for (int i = 0; i < 5; i++)
            view_ms(s.has_lat[cols[i]], s.lat[cols[i]], c[7 + i], sizeof c[7 + i]);
        const char *cells[BYREQ_COLS];
        for (int i = 0; i < BYREQ_COLS; i++)
            cells[i] = c[i];
        if (table_add(t, cells) < 0)
            rc = -1;
    }
    fprintf(out, "Per request (checks passed and failed; latency in milliseconds):\n");
    if (rc == 0)
        rc = table_print(t, out);
    table_destroy(t);
    cJSON_ArrayForEach(r, by)
    {
        const cJSON *fb = jget_obj(r, "checks_failed_by");
        if (!r->string || jget_int(r, "checks_failed", 0) <= 0 || !fb)
            continue;
        fprintf(out, "  %s: checks failed on", r->string);
        const cJSON *k;
        cJSON_ArrayForEach(k, fb)
        {
            if (k->string && cJSON_IsNumber(k) && k->valuedouble > 0)
                fprintf(out, " %s %.0f", k->string, k->valuedouble);
        }
        fputc('\n', out);
    }
    return rc < 0 || ferror(out) ? -1 : 0;
}

int view_summary(const cJSON *test, FILE *out)
{
    static const char *const head[SUMMARY_COLS] = {"driver", "sent", "received", "errors",
                                                   "rps",    "min",  "mean",     "median",
                                                   "mode",   "p90",  "p99",      "max"};
    struct table *t = table_create(SUMMARY_COLS, head);
    if (!t)
        return -1;
    for (int i = 1; i < SUMMARY_COLS; i++)
        table_align_right(t, i);
    int rc = 0;
    const cJSON *pd = jget_arr(test, "per_driver");
    const cJSON *d;
    cJSON_ArrayForEach(d, pd)
    {
        if (view_stats_row(t, jget_str(d, "node_id", "?"), d) < 0)
            rc = -1;
    }
    table_rule(t);
    if (view_stats_row(t, "all", jget_obj(test, "aggregate")) < 0)
        rc = -1;
    fprintf(out, "Latency in milliseconds%s.\n",
            jget_bool(test, "approximate", 0) ? " (aggregate percentiles approximate: a driver "
                                                "sent no histogram)"
                                              : "");
    if (rc == 0)
        rc = table_print(t, out);
    table_destroy(t);
    cJSON_ArrayForEach(d, pd)
    {
        const char *failure = jget_str(d, "failure", "");
        const char *live = jget_str(d, "liveness", "");
        if (*failure || (*live && strcmp(live, "alive") != 0))
            fprintf(out, "  %s: %s%s%s\n", jget_str(d, "node_id", "?"), *live ? live : "?",
                    *failure ? ", " : "", failure);
    }
    if (rc == 0)
        rc = view_by_request(test, out);
    const cJSON *agg = jget_obj(test, "aggregate");
    double cp = jget_num(agg, "checks_passed", NAN), cf = jget_num(agg, "checks_failed", NAN);
    if (!isnan(cp) && !isnan(cf))
        fprintf(out, "Checks: %.0f passed, %.0f failed\n", cp, cf);
    const cJSON *kinds = jget_obj(agg, "error_kinds");
    if (jget_int(agg, "errors", 0) > 0 && kinds) {
        fprintf(out, "Errors by kind:");
        const cJSON *k;
        cJSON_ArrayForEach(k, kinds)
        {
            if (k->string && cJSON_IsNumber(k) && k->valuedouble > 0)
                fprintf(out, " %s %.0f", k->string, k->valuedouble);
        }
        fputc('\n', out);
    }
    const char *reason = jget_str(test, "reason", "");
    fprintf(out, "State: %s\n", jget_str(test, "state", "?"));
    if (*reason)
        fprintf(out, "Reason: %s\n", reason);
    return rc < 0 || ferror(out) ? -1 : 0;
}

int view_status(const cJSON *test, FILE *out)
{
    const cJSON *cfg = jget_obj(test, "config");
    char created[32], started[32], ended[32];
    view_format_time(jget_int(test, "created_ms", 0), created, sizeof created);
    view_format_time(jget_int(test, "start_at_ms", 0), started, sizeof started);
    view_format_time(jget_int(test, "ended_ms", 0), ended, sizeof ended);
    fprintf(out, "Test %s: %s\n", jget_str(test, "test_id", "?"), jget_str(test, "state", "?"));
    fprintf(out, "  type %s", jget_str(cfg, "test_type", "?"));
    int64_t count = jget_int(cfg, "message_count_per_driver", 0);
    if (count > 0)
        fprintf(out, ", %lld messages per driver", (long long)count);
    double duration = jget_num(cfg, "duration", 0);
    if (duration > 0)
        fprintf(out, ", %s %gs", count > 0 ? "at most" : "for", duration);
    const cJSON *stages = jget_arr(cfg, "stages");
    if (stages)
        fprintf(out, ", %d stage%s", cJSON_GetArraySize(stages),
                cJSON_GetArraySize(stages) == 1 ? "" : "s");
    else if (strcmp(jget_str(cfg, "test_type", ""), "TSUNAMI") == 0)
        fprintf(out, ", delay %gs", jget_num(cfg, "test_message_delay", 0));
    const cJSON *d = jget_arr(test, "drivers");
    fprintf(out, ", %d driver%s\n", d ? cJSON_GetArraySize(d) : 0,
            d && cJSON_GetArraySize(d) == 1 ? "" : "s");
    const char *url = jget_str(cfg, "target_url", "");
    fprintf(out, "  target %s\n", *url ? url : "(each driver's --target)");
    fprintf(out, "  created %s, started %s, ended %s (UTC)\n", created, started, ended);
    double skew = jget_num(test, "start_skew_ms", NAN);
    if (!isnan(skew))
        fprintf(out, "  start skew %.1f ms\n", skew);
    fputc('\n', out);
    return view_summary(test, out);
}

int view_list(const cJSON *doc, FILE *out)
{
    static const char *const head[] = {"test_id", "state",  "type", "per_driver", "drivers",
                                       "sent",    "errors", "rps",  "p99_ms",     "created (UTC)"};
    struct table *t = table_create(10, head);
    if (!t)
        return -1;
    for (int i = 3; i < 9; i++)
        table_align_right(t, i);
    int rc = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, jget_arr(doc, "tests"))
    {
        const cJSON *cfg = jget_obj(it, "config");
        struct stats s;
        stats_from_json(jget_obj(it, "aggregate"), &s);
        const cJSON *d = jget_arr(it, "drivers");
        char c[10][64];
        snprintf(c[0], sizeof c[0], "%.63s", jget_str(it, "test_id", "?"));
        snprintf(c[1], sizeof c[1], "%.63s", jget_str(it, "state", "?"));
        snprintf(c[2], sizeof c[2], "%.63s", jget_str(cfg, "test_type", "?"));
        snprintf(c[3], sizeof c[3], "%lld",
                 (long long)jget_int(cfg, "message_count_per_driver", 0));
        snprintf(c[4], sizeof c[4], "%d", d ? cJSON_GetArraySize(d) : 0);
        snprintf(c[5], sizeof c[5], "%lld", (long long)s.sent);
        stats_fmt_count(s.has_errors, s.errors, c[6], sizeof c[6]);
        stats_fmt_num(s.has_rps, s.rps, 1, c[7], sizeof c[7]);
        view_ms(s.has_lat[LAT_P99], s.lat[LAT_P99], c[8], sizeof c[8]);
        view_format_time(jget_int(it, "created_ms", 0), c[9], sizeof c[9]);
        const char *cells[10];
        for (int i = 0; i < 10; i++)
            cells[i] = c[i];
        if (table_add(t, cells) < 0)
            rc = -1;
    }
    if (rc == 0)
        rc = table_print(t, out);
    table_destroy(t);
    return rc;
}

int view_drivers(const cJSON *doc, FILE *out)
{
    static const char *const head[] = {"node_id",       "ip",      "hostname", "liveness", "state",
                                       "heartbeat_age", "test_id", "sent"};
    struct table *t = table_create(8, head);
    if (!t)
        return -1;
    table_align_right(t, 5);
    table_align_right(t, 7);
    int rc = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, jget_arr(doc, "drivers"))
    {
        char c[8][80];
        snprintf(c[0], sizeof c[0], "%.79s", jget_str(it, "node_id", "?"));
        snprintf(c[1], sizeof c[1], "%.79s", jget_str(it, "node_ip", ""));
        snprintf(c[2], sizeof c[2], "%.79s", jget_str(it, "hostname", ""));
        snprintf(c[3], sizeof c[3], "%.79s", jget_str(it, "liveness", ""));
        /* A driver of the original format does not say its state. */
        const char *dstate = jget_str(it, "state", "");
        snprintf(c[4], sizeof c[4], "%.79s", *dstate ? dstate : STATS_UNKNOWN);
        double age = jget_num(it, "since_heartbeat_ms", NAN);
        if (isnan(age))
            snprintf(c[5], sizeof c[5], "%s", STATS_UNKNOWN);
        else
            snprintf(c[5], sizeof c[5], "%.1fs", age / 1000.0);
        snprintf(c[6], sizeof c[6], "%.79s", jget_str(it, "test_id", ""));
        int64_t sent = 0;
        double sent_d = jget_num(it, "requests_sent", NAN);
        if (!isnan(sent_d))
            sent = jget_int(it, "requests_sent", 0);
        stats_fmt_count(!isnan(sent_d), sent, c[7], sizeof c[7]);
        const char *cells[8];
        for (int i = 0; i < 8; i++)
            cells[i] = c[i];
        if (table_add(t, cells) < 0)
            rc = -1;
    }
    if (rc == 0)
        rc = table_print(t, out);
    table_destroy(t);
    return rc;
}
