#define _POSIX_C_SOURCE 200809L
#include "verdict.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int verdict_from_request(const cJSON *o, const struct msg_request *reqs, int n_reqs,
                         struct verdict *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    const cJSON *ab = cJSON_GetObjectItemCaseSensitive(o, "abort_on_fail");
    if (ab && !cJSON_IsNull(ab)) {
        if (!cJSON_IsBool(ab)) {
            snprintf(err, errlen, "\"abort_on_fail\" must be true or false");
            return -1;
        }
        v->abort_on_fail = cJSON_IsTrue(ab);
    }
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "thresholds");
    if (!arr || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr)) {
        snprintf(err, errlen,
                 "\"thresholds\" must be an array of strings, e.g. [\"p99<200ms\", "
                 "\"errors<1%%\"]");
        return -1;
    }
    int n = cJSON_GetArraySize(arr);
    if (n > VERDICT_THRESHOLDS_MAX) {
        snprintf(err, errlen, "\"thresholds\" holds %d thresholds, over the limit of %d", n,
                 VERDICT_THRESHOLDS_MAX);
        return -1;
    }
    int i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        if (!cJSON_IsString(it) || !it->valuestring) {
            snprintf(err, errlen, "\"thresholds\"[%d] must be a string, e.g. \"p99<200ms\"", i);
            return -1;
        }
        char why[300];
        struct verdict_item *vi = &v->it[v->n];
        if (threshold_parse(it->valuestring, &vi->t, why, sizeof why) < 0) {
            snprintf(err, errlen, "\"thresholds\"[%d]: %s", i, why);
            memset(v, 0, sizeof *v);
            return -1;
        }
        int named = n_reqs < 0; /* a stored definition: checked when it was made */
        for (int k = 0; vi->t.req[0] && k < n_reqs && !named; k++)
            named = strcmp(reqs[k].name, vi->t.req) == 0;
        if (vi->t.req[0] && !named) {
            snprintf(err, errlen,
                     "\"thresholds\"[%d]: threshold '%s' names the request \"%s\", but the test "
                     "has no request of that name",
                     i, vi->t.text, vi->t.req);
            memset(v, 0, sizeof *v);
            return -1;
        }
        for (int k = 0; k < v->n; k++) {
            if (strcmp(v->it[k].t.text, vi->t.text) == 0) {
                snprintf(err, errlen, "\"thresholds\" holds '%s' twice", vi->t.text);
                memset(v, 0, sizeof *v);
                return -1;
            }
        }
        vi->value = NAN;
        v->n++;
    }
    return 0;
}

/* The latencies of f from l: known once any response is in (mode, p90 ...
 * p999 only when l has them). */
static void verdict_lat(const struct msg_latency *l, int any, struct thr_figures *f)
{
    double lat[LAT_N] = {l->min, l->mean, l->median, l->mode, l->p90,
                         l->p95, l->p99,  l->p999,   l->max};
    static const int ext[LAT_N] = {0, 0, 0, 1, 1, 1, 1, 1, 0};
    for (int i = 0; i < LAT_N; i++) {
        f->lat[i] = lat[i];
        f->has_lat[i] = any && (!ext[i] || l->has_ext);
    }
}

void verdict_figures(const struct agg_stats *st, struct thr_figures *f)
{
    memset(f, 0, sizeof *f);
    f->sent = st->requests_sent;
    f->received = st->responses_received;
    f->errors = st->errors;
    f->rps = st->rps;
    f->has_errors = f->has_rps = f->has_checks = st->has_counts;
    if (st->has_checks) {
        /* The drivers' own count: every check of a mix's requests. */
        f->checks_passed = st->checks_passed;
        f->checks_failed = st->checks_failed;
        f->has_checks = 1;
    } else {
        for (int c = 100; c < AGG_STATUS_CODES; c++) {
            if (threshold_status_check(c))
                f->checks_passed += st->status[c];
            else
                f->checks_failed += st->status[c];
        }
    }
    verdict_lat(&st->lat, st->responses_received > 0, f);
}

/* A breach of these may still be undone by the rest of the run. */
static int verdict_final_breach(const struct threshold *t)
{
    return t->metric != THR_RPS && t->metric != THR_SENT && t->metric != THR_RECEIVED;
}

int verdict_judge(struct verdict *v, const struct thr_figures *whole, threshold_lookup_fn lookup,
                  void *ctx)
{
    int stop = -1;
    for (int i = 0; i < v->n; i++) {
        struct verdict_item *vi = &v->it[i];
        struct thr_figures f;
        threshold_figures(&vi->t, whole, lookup, ctx, &f);
        vi->known = threshold_known(&vi->t, &f);
        vi->holds = threshold_holds(&vi->t, &f);
        vi->value = threshold_actual(&vi->t, &f);
        if (stop < 0 && v->abort_on_fail && vi->known && !vi->holds && verdict_final_breach(&vi->t))
            stop = i;
    }
    v->judged = 1;
    return stop;
}

int verdict_passed(const struct verdict *v)
{
    if (v->n == 0 || !v->judged)
        return 0;
    for (int i = 0; i < v->n; i++)
        if (!v->it[i].holds)
            return 0;
    return 1;
}

cJSON *verdict_to_json(const struct verdict *v)
{
    if (v->n == 0)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_CreateArray() : NULL;
    int ok = arr && cJSON_AddBoolToObject(o, "passed", verdict_passed(v)) &&
             cJSON_AddBoolToObject(o, "final", v->final) && agg_json_add(o, "thresholds", arr);
    for (int i = 0; ok && i < v->n; i++) {
        const struct verdict_item *vi = &v->it[i];
        cJSON *e = cJSON_CreateObject();
        ok = e && cJSON_AddItemToArray(arr, e);
        if (!ok) {
            cJSON_Delete(e);
            break;
        }
        ok = cJSON_AddStringToObject(e, "expr", vi->t.text) &&
             cJSON_AddBoolToObject(e, "holds", vi->holds) &&
             (vi->known && isfinite(vi->value) ? cJSON_AddNumberToObject(e, "value", vi->value)
                                               : cJSON_AddNullToObject(e, "value"));
    }
    if (!ok) {
        if (!arr || !cJSON_GetObjectItemCaseSensitive(o, "thresholds"))
            cJSON_Delete(arr);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *verdict_def_to_json(const struct verdict *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "thresholds") : NULL;
    int ok = arr && cJSON_AddBoolToObject(o, "abort_on_fail", v->abort_on_fail);
    for (int i = 0; ok && i < v->n; i++) {
        cJSON *s = cJSON_CreateString(v->it[i].t.text);
        ok = s && cJSON_AddItemToArray(arr, s);
        if (!ok)
            cJSON_Delete(s);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int verdict_load(const char *def, const char *judged, struct verdict *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    if (!def || !*def)
        return 0;
    cJSON *o = cJSON_Parse(def);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        snprintf(err, errlen, "its stored thresholds are not a JSON object");
        return -1;
    }
    int rc = verdict_from_request(o, NULL, -1, v, err, errlen);
    cJSON_Delete(o);
    if (rc < 0 || !judged)
        return rc;
    cJSON *j = cJSON_Parse(judged);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "thresholds");
    if (cJSON_IsObject(j) && cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == v->n) {
        v->judged = 1;
        v->final = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "final"));
        int i = 0;
        for (const cJSON *e = arr->child; e && i < v->n; e = e->next, i++) {
            const cJSON *val = cJSON_GetObjectItemCaseSensitive(e, "value");
            v->it[i].holds = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "holds"));
            v->it[i].known = cJSON_IsNumber(val);
            v->it[i].value = cJSON_IsNumber(val) ? val->valuedouble : NAN;
        }
    }
    cJSON_Delete(j);
    return 0;
}

void verdict_req_figures(const struct agg_req_stats *r, struct thr_figures *f)
{
    memset(f, 0, sizeof *f);
    f->sent = r->sent;
    f->received = r->responses;
    f->errors = r->errors;
    f->checks_passed = r->checks_passed;
    f->checks_failed = r->checks_failed;
    f->rps = r->rps;
    f->has_errors = f->has_rps = f->has_checks = 1;
    verdict_lat(&r->lat, r->responses > 0, f);
}
