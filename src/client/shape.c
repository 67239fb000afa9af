/* shape: is an orchestrator's answer shaped as docs/API.md says? */
#include "shape.h"

#include "ids.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const shape_states[] = {"CREATED", "CONFIGURED", "RUNNING", "COMPLETED",
                                           "PARTIAL", "FAILED",     "ABORTED"};
#define SHAPE_STATES_TEXT "CREATED, CONFIGURED, RUNNING, COMPLETED, PARTIAL, FAILED, ABORTED"

static const char *const shape_lat_keys[] = {"min", "mean", "median", "mode", "p90",
                                             "p95", "p99",  "p999",   "max"};
/* The latencies a driver of the original format does not send: null. */
static const int shape_lat_nullable[] = {0, 0, 0, 1, 1, 1, 1, 1, 0};

/* The error being built, and the path of the object being looked at. */
struct shape {
    char *err;
    size_t errlen;
    char path[160];
};

int shape_state_known(const char *state)
{
    for (size_t i = 0; state && i < sizeof shape_states / sizeof shape_states[0]; i++)
        if (strcmp(state, shape_states[i]) == 0)
            return 1;
    return 0;
}

static const char *shape_type(const cJSON *v)
{
    if (!v)
        return "missing";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "of no JSON type";
}

/* s cut to 40 bytes, anything unprintable as '?'. */
static void shape_quote(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    for (; s && *s && n + 4 < outlen && n < 40; s++)
        out[n++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?';
    if (s && *s && n + 4 < outlen) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

__attribute__((format(printf, 3, 4))) static int shape_fail(struct shape *sh, const char *key,
                                                            const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *sep = sh->path[0] && key && *key != '[' ? "." : "";
    snprintf(sh->err, sh->errlen, "%s%s%s %s", sh->path, key ? sep : "", key ? key : "", what);
    if (!sh->path[0] && !key)
        snprintf(sh->err, sh->errlen, "the answer %s", what);
    return -1;
}

/* Descend into key (".key" or "[i]"); returns the old path length. */
static size_t shape_push(struct shape *sh, const char *key)
{
    size_t n = strlen(sh->path);
    const char *sep = n && *key != '[' ? "." : "";
    snprintf(sh->path + n, sizeof sh->path - n, "%s%s", sep, key);
    return n;
}

static void shape_pop(struct shape *sh, size_t n)
{
    sh->path[n] = '\0';
}

enum {
    SH_REQUIRED = 1, /* must be present */
    SH_NULL = 2      /* null is allowed */
};

static const cJSON *shape_field(struct shape *sh, const cJSON *o, const char *key, int flags,
                                int (*is)(const cJSON *), const char *want, int *rc)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *rc = 0;
    if (!v) {
        if (flags & SH_REQUIRED)
            *rc = shape_fail(sh, key, "is missing (%s expected)", want);
        return NULL;
    }
    if (cJSON_IsNull(v) && (flags & SH_NULL))
        return NULL;
    if (!is(v))
        *rc = shape_fail(sh, key, "is %s, not %s", shape_type(v), want);
    return *rc ? NULL : v;
}

static int shape_is_string(const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring;
}

static int shape_is_number(const cJSON *v)
{
    return cJSON_IsNumber(v);
}

static int shape_is_bool(const cJSON *v)
{
    return cJSON_IsBool(v);
}

static int shape_is_object(const cJSON *v)
{
    return cJSON_IsObject(v);
}

static int shape_is_array(const cJSON *v)
{
    return cJSON_IsArray(v);
}

static int shape_str(struct shape *sh, const cJSON *o, const char *key, int flags)
{
    int rc;
    shape_field(sh, o, key, flags, shape_is_string, "a string", &rc);
    return rc;
}

static int shape_num(struct shape *sh, const cJSON *o, const char *key, int flags)
{
    int rc;
    shape_field(sh, o, key, flags, shape_is_number, "a number", &rc);
    return rc;
}

/* A count: a number, whole and not negative. */
static int shape_count(struct shape *sh, const cJSON *o, const char *key, int flags)
{
    int rc;
    const cJSON *v = shape_field(sh, o, key, flags, shape_is_number, "a count", &rc);
    if (v &&
        (v->valuedouble < 0 || v->valuedouble > 9e18 || v->valuedouble != floor(v->valuedouble)))
        return shape_fail(sh, key, "is %g, not a count", v->valuedouble);
    return rc;
}

static int shape_bool(struct shape *sh, const cJSON *o, const char *key, int flags)
{
    int rc;
    shape_field(sh, o, key, flags, shape_is_bool, "true or false", &rc);
    return rc;
}

static int shape_test_id(struct shape *sh, const cJSON *o, const char *key)
{
    int rc;
    const cJSON *v = shape_field(sh, o, key, SH_REQUIRED, shape_is_string, "a test id", &rc);
    if (v && !id_valid(v->valuestring)) {
        char q[48];
        shape_quote(v->valuestring, q, sizeof q);
        return shape_fail(sh, key, "is '%s', not a test id", q);
    }
    return rc;
}

static int shape_by_request(struct shape *sh, const cJSON *o);
static int shape_sub(struct shape *sh, const cJSON *o, const char *key, int flags,
                     int (*check)(struct shape *, const cJSON *));

/* A <stats> object (the aggregate, or a driver's figures). What a driver
 * of the original format never sends is null (docs/API.md): errors,
 * error_kinds, elapsed_ms, rps and the latency's mode and percentiles. */
static int shape_stats(struct shape *sh, const cJSON *o)
{
    static const char *const counts[] = {"requests_sent", "responses_received"};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        if (shape_count(sh, o, counts[i], SH_REQUIRED))
            return -1;
    if (shape_count(sh, o, "errors", SH_REQUIRED | SH_NULL) ||
        shape_count(sh, o, "elapsed_ms", SH_NULL) || shape_num(sh, o, "rps", SH_NULL))
        return -1;
    int rc;
    const cJSON *k = shape_field(sh, o, "error_kinds", SH_NULL, shape_is_object, "an object", &rc);
    if (rc)
        return -1;
    if (k) {
        static const char *const kinds[] = {"connect", "timeout", "http_4xx", "http_5xx", "other"};
        size_t n = shape_push(sh, "error_kinds");
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (shape_count(sh, k, kinds[i], 0))
                return -1;
        shape_pop(sh, n);
    }
    const cJSON *lat = shape_field(sh, o, "latency_ms", 0, shape_is_object, "an object", &rc);
    if (rc)
        return -1;
    if (lat) {
        size_t n = shape_push(sh, "latency_ms");
        for (size_t i = 0; i < sizeof shape_lat_keys / sizeof shape_lat_keys[0]; i++)
            if (shape_num(sh, lat, shape_lat_keys[i], shape_lat_nullable[i] ? SH_NULL : 0))
                return -1;
        shape_pop(sh, n);
    }
    if (shape_count(sh, o, "checks_passed", SH_NULL) ||
        shape_count(sh, o, "checks_failed", SH_NULL))
        return -1;
    return shape_sub(sh, o, "by_request", 0, shape_by_request);
}

static int shape_stats(struct shape *sh, const cJSON *o);

/* One request name's figures in "by_request": a <stats> object with its
 * checks. */
static int shape_request(struct shape *sh, const cJSON *r)
{
    if (shape_stats(sh, r) || shape_count(sh, r, "checks_passed", SH_REQUIRED) ||
        shape_count(sh, r, "checks_failed", SH_REQUIRED))
        return -1;
    int rc;
    const cJSON *fb = shape_field(sh, r, "checks_failed_by", 0, shape_is_object, "an object", &rc);
    if (rc)
        return -1;
    if (fb) {
        static const char *const kinds[] = {"status", "body_contains", "json"};
        size_t n = shape_push(sh, "checks_failed_by");
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (shape_count(sh, fb, kinds[i], 0))
                return -1;
        shape_pop(sh, n);
    }
    return 0;
}

/* "by_request": {name: <request figures>}. */
static int shape_by_request(struct shape *sh, const cJSON *o)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        char key[80];
        snprintf(key, sizeof key, "%.70s", it->string ? it->string : "?");
        if (!cJSON_IsObject(it))
            return shape_fail(sh, key, "is %s, not an object", shape_type(it));
        size_t n = shape_push(sh, key);
        int rc = shape_request(sh, it);
        shape_pop(sh, n);
        if (rc)
            return -1;
    }
    return 0;
}

/* The object at o[key], checked by check. */
static int shape_sub(struct shape *sh, const cJSON *o, const char *key, int flags,
                     int (*check)(struct shape *, const cJSON *))
{
    int rc;
    const cJSON *v = shape_field(sh, o, key, flags, shape_is_object, "an object", &rc);
    if (rc || !v)
        return rc;
    size_t n = shape_push(sh, key);
    rc = check(sh, v);
    shape_pop(sh, n);
    return rc;
}

/* The array at o[key], each element checked by check (NULL: strings). */
static int shape_each(struct shape *sh, const cJSON *o, const char *key, int flags,
                      int (*check)(struct shape *, const cJSON *))
{
    int rc;
    const cJSON *arr = shape_field(sh, o, key, flags, shape_is_array, "an array", &rc);
    if (rc || !arr)
        return rc;
    size_t n = shape_push(sh, key);
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        char idx[24];
        snprintf(idx, sizeof idx, "[%d]", i++);
        if (!check) {
            if (!shape_is_string(it)) {
                rc = shape_fail(sh, idx, "is %s, not a string", shape_type(it));
                break;
            }
            continue;
        }
        if (!cJSON_IsObject(it)) {
            rc = shape_fail(sh, idx, "is %s, not an object", shape_type(it));
            break;
        }
        size_t m = shape_push(sh, idx);
        rc = check(sh, it);
        shape_pop(sh, m);
        if (rc)
            break;
    }
    shape_pop(sh, n);
    return rc;
}

static int shape_config(struct shape *sh, const cJSON *cfg)
{
    if (shape_str(sh, cfg, "test_type", 0) || shape_count(sh, cfg, "message_count_per_driver", 0) ||
        shape_num(sh, cfg, "test_message_delay", SH_NULL) ||
        shape_str(sh, cfg, "target_url", SH_NULL))
        return -1;
    return 0;
}

static int shape_driver_figures(struct shape *sh, const cJSON *d)
{
    if (shape_str(sh, d, "node_id", SH_REQUIRED) || shape_str(sh, d, "liveness", 0) ||
        shape_str(sh, d, "failure", 0) || shape_bool(sh, d, "final", 0))
        return -1;
    return shape_stats(sh, d);
}

static int shape_verdict_item(struct shape *sh, const cJSON *v)
{
    if (shape_str(sh, v, "expr", SH_REQUIRED) || shape_bool(sh, v, "holds", SH_REQUIRED) ||
        shape_num(sh, v, "value", SH_REQUIRED | SH_NULL))
        return -1;
    return 0;
}

/* {"passed", "final", "thresholds": [{"expr", "holds", "value"}]}. */
static int shape_verdict(struct shape *sh, const cJSON *v)
{
    if (shape_bool(sh, v, "passed", SH_REQUIRED) || shape_bool(sh, v, "final", 0) ||
        shape_each(sh, v, "thresholds", SH_REQUIRED, shape_verdict_item))
        return -1;
    return 0;
}

static int shape_test_body(struct shape *sh, const cJSON *t)
{
    if (shape_test_id(sh, t, "test_id"))
        return -1;
    int rc;
    const cJSON *st = shape_field(sh, t, "state", SH_REQUIRED, shape_is_string, "a state", &rc);
    if (rc)
        return -1;
    if (!shape_state_known(st->valuestring)) {
        char q[48];
        shape_quote(st->valuestring, q, sizeof q);
        return shape_fail(sh, "state", "is '%s', not one of " SHAPE_STATES_TEXT, q);
    }
    if (shape_num(sh, t, "created_ms", 0))
        return -1;
    static const char *const times[] = {"start_at_ms", "ended_ms", "start_skew_ms"};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
        if (shape_num(sh, t, times[i], SH_NULL))
            return -1;
    if (shape_str(sh, t, "reason", 0) || shape_bool(sh, t, "approximate", 0) ||
        shape_sub(sh, t, "config", SH_NULL, shape_config) ||
        shape_each(sh, t, "drivers", 0, NULL) ||
        shape_sub(sh, t, "aggregate", SH_REQUIRED, shape_stats) ||
        shape_each(sh, t, "per_driver", 0, shape_driver_figures) ||
        shape_each(sh, t, "thresholds", 0, NULL) || shape_bool(sh, t, "abort_on_fail", 0) ||
        shape_sub(sh, t, "verdict", SH_NULL, shape_verdict))
        return -1;
    return 0;
}

static int shape_begin(struct shape *sh, const cJSON *doc, char *err, size_t errlen)
{
    sh->err = err;
    sh->errlen = errlen;
    sh->path[0] = '\0';
    err[0] = '\0';
    if (!cJSON_IsObject(doc))
        return shape_fail(sh, NULL, "is %s, not an object", shape_type(doc));
    return 0;
}

int shape_test(const cJSON *doc, char *err, size_t errlen)
{
    struct shape sh;
    return shape_begin(&sh, doc, err, errlen) ? -1 : shape_test_body(&sh, doc);
}

int shape_test_list(const cJSON *doc, char *err, size_t errlen)
{
    struct shape sh;
    if (shape_begin(&sh, doc, err, errlen))
        return -1;
    return shape_each(&sh, doc, "tests", SH_REQUIRED, shape_test_body);
}

static int shape_driver(struct shape *sh, const cJSON *d)
{
    static const char *const strs[] = {"node_ip", "hostname", "state", "test_id"};
    if (shape_str(sh, d, "node_id", SH_REQUIRED) || shape_str(sh, d, "liveness", SH_REQUIRED))
        return -1;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (shape_str(sh, d, strs[i], 0))
            return -1;
    if (shape_num(sh, d, "since_heartbeat_ms", SH_NULL) ||
        shape_num(sh, d, "last_heartbeat_ms", SH_NULL) || shape_count(sh, d, "requests_sent", 0))
        return -1;
    return 0;
}

int shape_drivers(const cJSON *doc, char *err, size_t errlen)
{
    struct shape sh;
    if (shape_begin(&sh, doc, err, errlen))
        return -1;
    return shape_each(&sh, doc, "drivers", SH_REQUIRED, shape_driver);
}

static int shape_point(struct shape *sh, const cJSON *p)
{
    /* A point's counts and rate are numbers; its latencies are null when
     * no response completed in its interval. */
    static const char *const nums[] = {"requests_sent", "responses_received", "errors", "rps"};
    static const char *const lats[] = {"p50", "p90", "p99", "mean", "max"};
    if (shape_num(sh, p, "t_ms", SH_REQUIRED))
        return -1;
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (shape_num(sh, p, nums[i], 0))
            return -1;
    for (size_t i = 0; i < sizeof lats / sizeof lats[0]; i++)
        if (shape_num(sh, p, lats[i], SH_NULL))
            return -1;
    return 0;
}

int shape_timeseries(const cJSON *doc, char *err, size_t errlen)
{
    struct shape sh;
    if (shape_begin(&sh, doc, err, errlen))
        return -1;
    if (shape_str(&sh, doc, "test_id", 0) ||
        shape_each(&sh, doc, "aggregate", SH_REQUIRED, shape_point))
        return -1;
    int rc;
    const cJSON *drv =
        shape_field(&sh, doc, "drivers", SH_REQUIRED, shape_is_object, "an object", &rc);
    if (rc)
        return -1;
    size_t n = shape_push(&sh, "drivers");
    const cJSON *d;
    cJSON_ArrayForEach(d, drv)
    {
        char key[96];
        shape_quote(d->string, key, sizeof key);
        const cJSON *arr = d;
        if (!cJSON_IsArray(arr)) {
            rc = shape_fail(&sh, key, "is %s, not an array", shape_type(arr));
            break;
        }
        size_t m = shape_push(&sh, key);
        int i = 0;
        const cJSON *p;
        cJSON_ArrayForEach(p, arr)
        {
            char idx[24];
            snprintf(idx, sizeof idx, "[%d]", i++);
            if (!cJSON_IsObject(p)) {
                rc = shape_fail(&sh, idx, "is %s, not an object", shape_type(p));
                break;
            }
            size_t k = shape_push(&sh, idx);
            rc = shape_point(&sh, p);
            shape_pop(&sh, k);
            if (rc)
                break;
        }
        shape_pop(&sh, m);
        if (rc)
            break;
    }
    shape_pop(&sh, n);
    return rc;
}

int shape_started(const cJSON *doc, char *err, size_t errlen)
{
    struct shape sh;
    if (shape_begin(&sh, doc, err, errlen))
        return -1;
    if (shape_test_id(&sh, doc, "test_id") || shape_str(&sh, doc, "message", 0))
        return -1;
    return 0;
}
