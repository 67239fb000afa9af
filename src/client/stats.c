#include "stats.h"

#include "jget.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static const char *const stats_lat_keys[LAT_N] = {"min", "mean", "median", "mode", "p90",
                                                  "p95", "p99",  "p999",   "max"};

const char *stats_lat_key(enum stats_lat l)
{
    return l >= 0 && l < LAT_N ? stats_lat_keys[l] : "";
}

/* o[key] as an integer into *v; 1 when it is there, else 0 (*v = 0). */
static int stats_int(const cJSON *o, const char *key, int64_t *v)
{
    double d = jget_num(o, key, NAN);
    *v = isnan(d) ? 0 : jget_int(o, key, 0);
    return !isnan(d);
}

static int stats_num(const cJSON *o, const char *key, double *v)
{
    double d = jget_num(o, key, NAN);
    *v = isnan(d) ? 0 : d;
    return !isnan(d);
}

void stats_from_json(const cJSON *o, struct stats *s)
{
    memset(s, 0, sizeof *s);
    s->sent = jget_int(o, "requests_sent", 0);
    s->received = jget_int(o, "responses_received", 0);
    s->has_errors = stats_int(o, "errors", &s->errors);
    const cJSON *k = jget_obj(o, "error_kinds");
    s->has_kinds = k != NULL;
    s->err_connect = jget_int(k, "connect", 0);
    s->err_timeout = jget_int(k, "timeout", 0);
    s->err_4xx = jget_int(k, "http_4xx", 0);
    s->err_5xx = jget_int(k, "http_5xx", 0);
    s->err_other = jget_int(k, "other", 0);
    s->has_elapsed = stats_int(o, "elapsed_ms", &s->elapsed_ms);
    s->has_rps = stats_num(o, "rps", &s->rps);
    const cJSON *lat = jget_obj(o, "latency_ms");
    for (int i = 0; i < LAT_N; i++)
        s->has_lat[i] = stats_num(lat, stats_lat_keys[i], &s->lat[i]);
    const cJSON *codes = jget_obj(o, "status_codes");
    s->has_checks = codes != NULL;
    for (const cJSON *c = codes ? codes->child : NULL; c; c = c->next) {
        if (!cJSON_IsNumber(c) || !c->string || c->valuedouble < 0)
            continue;
        int code = atoi(c->string);
        if (threshold_status_check(code))
            s->checks_passed += (int64_t)c->valuedouble;
        else
            s->checks_failed += (int64_t)c->valuedouble;
    }
    /* A mix's figures: the drivers' own count of every check. */
    if (jget_num(o, "checks_passed", NAN) >= 0 && jget_num(o, "checks_failed", NAN) >= 0) {
        s->has_checks = 1;
        s->checks_passed = jget_int(o, "checks_passed", 0);
        s->checks_failed = jget_int(o, "checks_failed", 0);
    }
}

int stats_lookup_request(void *test, const char *name, struct thr_figures *out)
{
    const cJSON *by = jget_obj(jget_obj((const cJSON *)test, "aggregate"), "by_request");
    const cJSON *r = jget_obj(by, name);
    if (!r)
        return 0;
    struct stats st;
    stats_from_json(r, &st);
    st.has_errors = st.has_rps = 1;
    stats_figures(&st, out);
    return 1;
}

void stats_figures(const struct stats *s, struct thr_figures *f)
{
    memset(f, 0, sizeof *f);
    f->sent = s->sent;
    f->received = s->received;
    f->errors = s->errors;
    f->checks_passed = s->checks_passed;
    f->checks_failed = s->checks_failed;
    f->rps = s->rps;
    f->has_errors = s->has_errors;
    f->has_rps = s->has_rps;
    f->has_checks = s->has_checks;
    for (int i = 0; i < LAT_N; i++) {
        f->lat[i] = s->lat[i];
        f->has_lat[i] = s->has_lat[i];
    }
}

double stats_error_pct(const struct stats *s)
{
    if (!s->has_errors)
        return NAN;
    if (s->sent <= 0)
        return 0;
    return 100.0 * (double)s->errors / (double)s->sent;
}

void stats_fmt_count(int known, int64_t v, char *buf, size_t n)
{
    if (known)
        snprintf(buf, n, "%lld", (long long)v);
    else
        snprintf(buf, n, "%s", STATS_UNKNOWN);
}

void stats_fmt_num(int known, double v, int decimals, char *buf, size_t n)
{
    if (known && isfinite(v))
        snprintf(buf, n, "%.*f", decimals, v);
    else
        snprintf(buf, n, "%s", STATS_UNKNOWN);
}

int64_t stats_done(const struct stats *s)
{
    /* responses_received counts every request that got an HTTP response,
     * 4xx and 5xx included; a request that failed without one counts only
     * in its error kind (docs/PROTOCOL.md). */
    return s->received + s->err_connect + s->err_timeout + s->err_other;
}

int stats_state_final(const char *state)
{
    static const char *const fin[] = {"COMPLETED", "PARTIAL", "FAILED", "ABORTED"};
    for (size_t i = 0; state && i < sizeof fin / sizeof fin[0]; i++)
        if (strcmp(state, fin[i]) == 0)
            return 1;
    return 0;
}

int stats_state_failed(const char *state)
{
    return stats_state_final(state) && strcmp(state, "COMPLETED") != 0;
}
