#define _POSIX_C_SOURCE 200809L
/* views: the JSON views of tests and drivers, for the REST API and the
 * dashboard's event stream. */
#include "ctl_int.h"

#include "clock.h"

#include <stdlib.h>
#include <string.h>

static int ctl_add_opt_ms(cJSON *o, const char *k, int64_t v)
{
    if (v > 0)
        return cJSON_AddNumberToObject(o, k, (double)v) != NULL;
    return cJSON_AddNullToObject(o, k) != NULL;
}

/* Move every member of src to the end of dst; src is left empty. */
static void ctl_move_members(cJSON *dst, cJSON *src)
{
    while (src->child) {
        cJSON *it = cJSON_DetachItemViaPointer(src, src->child);
        cJSON_AddItemToObject(dst, it->string, it);
    }
}

cJSON *ctl_per_driver_json(struct ctl *c, struct test *t, int64_t now)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < t->n_parts; i++) {
        struct part *p = &t->parts[i];
        struct agg_stats st;
        agg_driver_stats(&p->agg, &st);
        st.has_checks &= t->cfg.n_requests > 0; /* checks belong to named requests */
        cJSON *stats = agg_stats_to_json(&st);
        cJSON *e = cJSON_CreateObject();
        int ok = stats && e && cJSON_AddStringToObject(e, "node_id", p->agg.node_id) &&
                 cJSON_AddStringToObject(e, "liveness",
                                         liveness_name(ctl_part_liveness(c, t, p, now))) &&
                 cJSON_AddBoolToObject(e, "final", p->agg.final) &&
                 cJSON_AddStringToObject(e, "failure", p->agg.failure) &&
                 cJSON_AddBoolToObject(e, "ready", p->ready) &&
                 cJSON_AddBoolToObject(e, "approximate", agg_driver_approximate(&p->agg)) &&
                 ctl_add_opt_ms(e, "first_send_ms", p->agg.first_send_ms) &&
                 (p->agg.engine[0] ? cJSON_AddStringToObject(e, "engine", p->agg.engine)
                                   : cJSON_AddNullToObject(e, "engine"));
        if (ok)
            ctl_move_members(e, stats);
        cJSON_Delete(stats);
        if (ok && t->cfg.n_requests > 0) {
            struct agg_driver *one = &p->agg;
            ok = agg_json_add(e, "by_request",
                              agg_by_request_json(&one, 1, t->cfg.requests, t->cfg.n_requests,
                                                  st.elapsed_ms, c->s.a, c->s.d));
        }
        if (!ok || !cJSON_AddItemToArray(arr, e)) {
            cJSON_Delete(e);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

/* The test object (API.md) of the active test; per_driver when asked. */
cJSON *ctl_test_json(struct ctl *c, struct test *t, int64_t now, int per_driver)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    struct agg_driver **ds = calloc((size_t)(t->n_parts ? t->n_parts : 1), sizeof *ds);
    if (!ds) {
        cJSON_Delete(o);
        return NULL;
    }
    for (int i = 0; i < t->n_parts; i++)
        ds[i] = &t->parts[i].agg;
    struct agg_stats agg;
    int approximate = 0;
    agg_merge(ds, t->n_parts, &c->s, &agg, &approximate);
    agg.has_checks &= t->cfg.n_requests > 0;
    cJSON *aggj = agg_stats_to_json(&agg);
    if (aggj && t->cfg.n_requests > 0 &&
        !agg_json_add(aggj, "by_request",
                      agg_by_request_json(ds, t->n_parts, t->cfg.requests, t->cfg.n_requests,
                                          agg.elapsed_ms, c->s.a, c->s.d))) {
        cJSON_Delete(aggj);
        aggj = NULL;
    }
    free(ds);

    int64_t lo = 0, hi = 0;
    for (int i = 0; i < t->n_parts; i++) {
        int64_t f = t->parts[i].agg.first_send_ms;
        if (f <= 0)
            continue;
        if (lo == 0 || f < lo)
            lo = f;
        if (f > hi)
            hi = f;
    }
    int ok = cJSON_AddStringToObject(o, "test_id", t->id) &&
             cJSON_AddStringToObject(o, "state", tstate_names[t->state]) &&
             cJSON_AddStringToObject(o, "reason", t->reason) &&
             agg_json_add(o, "config", msg_test_config_to_json(&t->cfg)) &&
             cJSON_AddNumberToObject(o, "created_ms", (double)t->created_ms) &&
             ctl_add_opt_ms(o, "start_at_ms", t->start_at_ms) &&
             ctl_add_opt_ms(o, "ended_ms", t->ended_ms) &&
             (!t->cfg.keep_rate || cJSON_AddNumberToObject(o, "reshares", t->reshares));
    cJSON *drv = cJSON_CreateArray();
    for (int i = 0; drv && i < t->n_parts; i++) {
        cJSON *s = cJSON_CreateString(t->parts[i].agg.node_id);
        if (!s || !cJSON_AddItemToArray(drv, s)) {
            cJSON_Delete(s);
            ok = 0;
        }
    }
    ok = ok && agg_json_add(o, "drivers", drv);
    ok = ok && cJSON_AddNumberToObject(o, "min_drivers", (double)t->min_drivers) &&
         cJSON_AddBoolToObject(o, "approximate", approximate);
    if (lo > 0)
        ok = ok && cJSON_AddNumberToObject(o, "start_skew_ms", (double)(hi - lo));
    else
        ok = ok && cJSON_AddNullToObject(o, "start_skew_ms");
    if (ok)
        ok = agg_json_add(o, "aggregate", aggj);
    else
        cJSON_Delete(aggj);
    cJSON *thr = cJSON_CreateArray();
    for (int i = 0; thr && i < t->verdict.n; i++) {
        cJSON *e = cJSON_CreateString(t->verdict.it[i].t.text);
        if (!e || !cJSON_AddItemToArray(thr, e)) {
            cJSON_Delete(e);
            ok = 0;
        }
    }
    ok = ok && agg_json_add(o, "thresholds", thr) &&
         cJSON_AddBoolToObject(o, "abort_on_fail", t->verdict.abort_on_fail) &&
         agg_json_add(o, "verdict", verdict_to_json(&t->verdict));
    if (per_driver)
        ok = ok && agg_json_add(o, "per_driver", ctl_per_driver_json(c, t, now));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *ctl_print(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    return s;
}

void ctl_publish_test(struct ctl *c, struct test *t, int64_t now)
{
    t->last_event_ms = now;
    if (sse_hub_clients(c->hub) == 0)
        return;
    cJSON *o = ctl_test_json(c, t, now, 1);
    char *s = ctl_print(o);
    if (s)
        sse_hub_publish(c->hub, "test", s);
    cJSON_free(s);
    cJSON_Delete(o);
}

void ctl_publish_drivers(struct ctl *c, int64_t now)
{
    c->last_drivers_event_ms = now;
    c->drivers_changed = 0;
    if (sse_hub_clients(c->hub) == 0)
        return;
    cJSON *o = registry_to_json(c->reg, now);
    char *s = ctl_print(o);
    if (s)
        sse_hub_publish(c->hub, "drivers", s);
    cJSON_free(s);
    cJSON_Delete(o);
}

void ctl_publish_point(struct ctl *c, const char *test_id, const char *node_id,
                       const struct series_point *p)
{
    if (sse_hub_clients(c->hub) == 0)
        return;
    /* {"test_id", "node_id", <point fields>} */
    cJSON *pt = series_point_to_json(p);
    cJSON *o = cJSON_CreateObject();
    if (pt && o && cJSON_AddStringToObject(o, "test_id", test_id) &&
        cJSON_AddStringToObject(o, "node_id", node_id)) {
        ctl_move_members(o, pt);
        char *s = ctl_print(o);
        if (s)
            sse_hub_publish(c->hub, "point", s);
        cJSON_free(s);
    }
    cJSON_Delete(pt);
    cJSON_Delete(o);
}

static int ctl_stored_test(struct ctl *c, const char *test_id, int per_driver, cJSON **out,
                           char *err, size_t errlen)
{
    struct ostore_test row;
    char dberr[256];
    int rc = ostore_test_get(c->db, test_id, &row, dberr, sizeof dberr);
    if (rc < 0) {
        ctl_db_error(c, "load test", dberr);
        ctl_err(err, errlen, "the metrics store failed: %s", dberr);
        return 500;
    }
    if (rc == 0) {
        ctl_err(err, errlen, "no test with id %s", test_id);
        return 404;
    }
    cJSON *o = row.summary ? cJSON_Parse(row.summary) : NULL;
    /* The verdict as stored beside the test: its summary may be older
     * (a test ended at a restart keeps its summary of then). */
    cJSON *verdict = row.verdict ? cJSON_Parse(row.verdict) : NULL;
    if (o && verdict) {
        if (cJSON_GetObjectItemCaseSensitive(o, "verdict"))
            cJSON_ReplaceItemInObjectCaseSensitive(o, "verdict", verdict);
        else
            cJSON_AddItemToObject(o, "verdict", verdict);
        verdict = NULL;
    }
    cJSON_Delete(verdict);
    if (o && per_driver) {
        cJSON *pd = row.per_driver ? cJSON_Parse(row.per_driver) : NULL;
        if (!pd)
            pd = cJSON_CreateArray();
        if (!agg_json_add(o, "per_driver", pd)) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    ostore_test_free(&row);
    if (!o) {
        ctl_err(err, errlen, "stored test %s is unreadable", test_id);
        return 500;
    }
    *out = o;
    return 200;
}

int ctl_test_get(struct ctl *c, const char *test_id, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    pthread_mutex_lock(&c->mu);
    int status;
    if (c->active && strcmp(c->active->id, test_id) == 0) {
        *out = ctl_test_json(c, c->active, clock_wall_ms(), 1);
        status = *out ? 200 : 500;
        if (!*out)
            ctl_err(err, errlen, "out of memory");
    } else {
        status = ctl_stored_test(c, test_id, 1, out, err, errlen);
    }
    pthread_mutex_unlock(&c->mu);
    return status;
}

struct ctl_list_ctx {
    struct ctl *c;
    cJSON *arr;
    int64_t now;
    int failed;
};

static void ctl_list_row(void *ctx, const char *test_id, const char *summary)
{
    struct ctl_list_ctx *lc = ctx;
    cJSON *o = NULL;
    if (lc->c->active && strcmp(lc->c->active->id, test_id) == 0)
        o = ctl_test_json(lc->c, lc->c->active, lc->now, 0);
    else if (summary)
        o = cJSON_Parse(summary);
    if (!o)
        return;
    if (!cJSON_AddItemToArray(lc->arr, o)) {
        cJSON_Delete(o);
        lc->failed = 1;
    }
}

int ctl_tests_list(struct ctl *c, int limit, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "tests") : NULL;
    if (!arr) {
        cJSON_Delete(root);
        ctl_err(err, errlen, "out of memory");
        return 500;
    }
    pthread_mutex_lock(&c->mu);
    struct ctl_list_ctx lc = {c, arr, clock_wall_ms(), 0};
    char dberr[256];
    int rc = ostore_tests_list(c->db, limit, ctl_list_row, &lc, dberr, sizeof dberr);
    if (rc < 0)
        ctl_db_error(c, "list tests", dberr);
    pthread_mutex_unlock(&c->mu);
    if (rc < 0 || lc.failed) {
        cJSON_Delete(root);
        ctl_err(err, errlen, "the metrics store failed: %s", rc < 0 ? dberr : "out of memory");
        return 500;
    }
    *out = root;
    return 200;
}

struct ctl_series_ctx {
    cJSON *agg, *drivers;
    int failed;
};

static void ctl_series_row(void *ctx, const char *node_id, const struct series_point *p)
{
    struct ctl_series_ctx *sc = ctx;
    cJSON *arr = sc->agg;
    if (node_id[0]) {
        arr = cJSON_GetObjectItemCaseSensitive(sc->drivers, node_id);
        if (!arr) {
            arr = cJSON_AddArrayToObject(sc->drivers, node_id);
            if (!arr) {
                sc->failed = 1;
                return;
            }
        }
    }
    cJSON *o = series_point_to_json(p);
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        sc->failed = 1;
    }
}

int ctl_test_timeseries(struct ctl *c, const char *test_id, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    struct ctl_series_ctx sc = {NULL, NULL, 0};
    if (root) {
        cJSON_AddStringToObject(root, "test_id", test_id);
        sc.agg = cJSON_AddArrayToObject(root, "aggregate");
        sc.drivers = cJSON_AddObjectToObject(root, "drivers");
    }
    if (!sc.agg || !sc.drivers) {
        cJSON_Delete(root);
        ctl_err(err, errlen, "out of memory");
        return 500;
    }
    pthread_mutex_lock(&c->mu);
    char dberr[256];
    int status = 200;
    int known = (c->active && strcmp(c->active->id, test_id) == 0)
                    ? 1
                    : ostore_test_exists(c->db, test_id, dberr, sizeof dberr);
    if (known == 0) {
        ctl_err(err, errlen, "no test with id %s", test_id);
        status = 404;
    } else if (known < 0 ||
               ostore_points_each(c->db, test_id, ctl_series_row, &sc, dberr, sizeof dberr) < 0) {
        ctl_db_error(c, "load points", dberr);
        ctl_err(err, errlen, "the metrics store failed: %s", dberr);
        status = 500;
    } else if (sc.failed) {
        ctl_err(err, errlen, "out of memory");
        status = 500;
    }
    pthread_mutex_unlock(&c->mu);
    if (status != 200) {
        cJSON_Delete(root);
        return status;
    }
    *out = root;
    return 200;
}

int ctl_drivers(struct ctl *c, cJSON **out, char *err, size_t errlen)
{
    pthread_mutex_lock(&c->mu);
    *out = registry_to_json(c->reg, clock_wall_ms());
    pthread_mutex_unlock(&c->mu);
    if (!*out) {
        ctl_err(err, errlen, "out of memory");
        return 500;
    }
    return 200;
}

void ctl_sse_hello(struct ctl *c, struct sse_client *cl)
{
    pthread_mutex_lock(&c->mu);
    int64_t now = clock_wall_ms();
    cJSON *d = registry_to_json(c->reg, now);
    cJSON *t = c->active ? ctl_test_json(c, c->active, now, 1) : NULL;
    pthread_mutex_unlock(&c->mu);
    char *ds = ctl_print(d);
    char *ts = ctl_print(t);
    if (ds)
        sse_client_push(cl, "drivers", ds);
    if (ts)
        sse_client_push(cl, "test", ts);
    cJSON_free(ds);
    cJSON_free(ts);
    cJSON_Delete(d);
    cJSON_Delete(t);
}
