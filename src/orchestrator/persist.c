#define _POSIX_C_SOURCE 200809L
/* persist: the store side of the controller: saving tests, points and
 * drivers, and bringing the unfinished test back after a restart or a
 * rolled-back batch. */
#include "ctl_int.h"

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ctl_db_error(struct ctl *c, const char *what, const char *err)
{
    c->db_errors++;
    c->store_refusing = 1;
    /* A store that refuses (disk full) refuses every write: one line per
     * CTL_DBLOG_MS says so, with how many were not logged. */
    int64_t now = clock_wall_ms();
    if (now - c->dblog_ms < CTL_DBLOG_MS) {
        c->dblog_suppressed++;
        return;
    }
    if (c->dblog_suppressed > 0)
        log_error("store: %s: %s (and %lld more store error(s) in the last %lld s)", what, err,
                  (long long)c->dblog_suppressed, (long long)(now - c->dblog_ms) / 1000);
    else
        log_error("store: %s: %s", what, err);
    c->dblog_ms = now;
    c->dblog_suppressed = 0;
}

/* Save the active test's row: config, state and results so far. */
void ctl_persist(struct ctl *c, struct test *t, int64_t now)
{
    cJSON *summary = ctl_test_json(c, t, now, 0);
    cJSON *perd = ctl_per_driver_json(c, t, now);
    cJSON *cfg = msg_test_config_to_json(&t->cfg);
    cJSON *parts = cJSON_CreateArray();
    for (int i = 0; parts && i < t->n_parts; i++)
        cJSON_AddItemToArray(parts, cJSON_CreateString(t->parts[i].agg.node_id));
    struct ostore_test row;
    memset(&row, 0, sizeof row);
    snprintf(row.test_id, sizeof row.test_id, "%s", t->id);
    row.created_ms = t->created_ms;
    snprintf(row.state, sizeof row.state, "%s", tstate_names[t->state]);
    row.reason = t->reason;
    row.config = ctl_print(cfg);
    row.min_drivers = t->min_drivers;
    row.participants = ctl_print(parts);
    row.start_at_ms = t->start_at_ms;
    row.ended_ms = t->ended_ms;
    row.summary = ctl_print(summary);
    row.per_driver = ctl_print(perd);
    cJSON *thr = t->verdict.n > 0 ? verdict_def_to_json(&t->verdict) : NULL;
    cJSON *verdict = t->verdict.n > 0 ? verdict_to_json(&t->verdict) : NULL;
    row.thresholds = ctl_print(thr);
    row.verdict = ctl_print(verdict);
    char err[256];
    if (!row.config || !row.participants || !row.summary || !row.per_driver ||
        (t->verdict.n > 0 && (!row.thresholds || !row.verdict)))
        ctl_db_error(c, "save test", "out of memory");
    else if (ostore_test_put(c->db, &row, err, sizeof err) < 0)
        ctl_db_error(c, "save test", err);
    cJSON_free(row.config);
    cJSON_free(row.participants);
    cJSON_free(row.summary);
    cJSON_free(row.per_driver);
    cJSON_free(row.thresholds);
    cJSON_free(row.verdict);
    cJSON_Delete(thr);
    cJSON_Delete(verdict);
    cJSON_Delete(summary);
    cJSON_Delete(perd);
    cJSON_Delete(cfg);
    cJSON_Delete(parts);
}

void ctl_store_point(struct ctl *c, struct test *t, const char *node_id, int64_t idx,
                     const struct series_point *p)
{
    char err[256];
    if (ostore_point_put(c->db, t->id, node_id, idx, p, err, sizeof err) < 0)
        ctl_db_error(c, "save point", err);
    ctl_publish_point(c, t->id, node_id, p);
}

void ctl_save_driver(struct ctl *c, struct reg_driver *d)
{
    char err[256];
    if (ostore_driver_put(c->db, d, err, sizeof err) < 0)
        ctl_db_error(c, "save driver", err);
    else
        d->dirty = 0;
}

void ctl_save_drivers(struct ctl *c)
{
    char err[256];
    int n = registry_count(c->reg), dirty = 0;
    for (int i = 0; i < n; i++)
        dirty += registry_at(c->reg, i)->dirty;
    if (dirty == 0)
        return;
    int in_tx = ostore_begin(c->db, err, sizeof err) == 0;
    for (int i = 0; i < n; i++) {
        struct reg_driver *d = registry_at(c->reg, i);
        if (d->dirty)
            ctl_save_driver(c, d);
    }
    if (in_tx && ostore_commit(c->db, err, sizeof err) < 0) {
        ctl_db_error(c, "commit", err);
        ostore_rollback(c->db);
    }
}

void ctl_restore_driver(void *ctx, const struct reg_driver *d)
{
    struct ctl *c = ctx;
    int rc = registry_restore(c->reg, d);
    if (rc == -ENOMEM || rc == -ENOSPC)
        log_error("registry: cannot restore driver %s: %s", d->node_id,
                  rc == -ENOSPC ? "the registry is full" : "out of memory");
}

/* Rebuild a participant from its newest stored report. */
static void ctl_rebuild_part(struct ctl *c, struct test *t, struct part *p, int64_t now)
{
    char *json = NULL;
    char err[256];
    int rc = ostore_report_latest(c->db, t->id, p->agg.node_id, &json, err, sizeof err);
    if (rc < 0)
        ctl_db_error(c, "load report", err);
    if (rc != 1)
        return;
    struct msg_metrics m;
    if (msg_metrics_decode(json, strlen(json), &m, err, sizeof err) == 0) {
        struct series_point pt;
        char warn[256];
        agg_driver_apply(&p->agg, &m, t->cfg.message_count_per_driver, t->start_at_ms, now, &c->s,
                         &pt, warn, sizeof warn);
        int strays = 0;
        agg_driver_apply_req(&p->agg, &m, t->cfg.requests, t->cfg.n_requests, c->s.d, &strays, NULL,
                             0, NULL, 0);
        if (m.final && t->state != TS_RUNNING)
            p->refused = 1;
        msg_metrics_free(&m);
    } else {
        log_warn("test %s: stored report of %s unreadable: %s", t->id, p->agg.node_id, err);
    }
    free(json);
}

/* The test as stored, or NULL with why filled. */
static struct test *ctl_load_test(struct ctl *c, const char *id, int64_t now, char *why,
                                  size_t whylen)
{
    struct ostore_test row;
    char err[256];
    int got = ostore_test_get(c->db, id, &row, err, sizeof err);
    if (got != 1) {
        snprintf(why, whylen, "%s", got < 0 ? err : "not in the store");
        return NULL;
    }
    struct test *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(why, whylen, "out of memory");
        ostore_test_free(&row);
        return NULL;
    }
    snprintf(t->id, sizeof t->id, "%s", row.test_id);
    snprintf(t->reason, sizeof t->reason, "%s", row.reason ? row.reason : "");
    for (int i = 0; i < TS_COUNT; i++)
        if (strcmp(row.state, tstate_names[i]) == 0)
            t->state = (enum tstate)i;
    t->created_ms = row.created_ms;
    t->start_at_ms = row.start_at_ms;
    t->min_drivers = row.min_drivers > 0 ? row.min_drivers : 1;
    t->deadline_ms = now + c->conf.ready_timeout_ms;
    const char *cfg = row.config ? row.config : "";
    if (msg_test_config_decode(cfg, strlen(cfg), &t->cfg, err, sizeof err) < 0) {
        snprintf(why, whylen, "its stored config is unreadable: %s", err);
        ostore_test_free(&row);
        free(t);
        return NULL;
    }
    if (verdict_load(row.thresholds, row.verdict, &t->verdict, err, sizeof err) < 0) {
        snprintf(why, whylen, "%s", err);
        msg_test_config_free(&t->cfg);
        ostore_test_free(&row);
        free(t);
        return NULL;
    }
    t->named = t->state == TS_CREATED && t->cfg.drivers != NULL;
    cJSON *parts = row.participants ? cJSON_Parse(row.participants) : NULL;
    int n = cJSON_IsArray(parts) ? cJSON_GetArraySize(parts) : 0;
    if (n > MSG_DRIVERS_MAX)
        n = MSG_DRIVERS_MAX;
    if (n > 0) {
        t->parts = calloc((size_t)n, sizeof *t->parts);
        for (int i = 0; t->parts && i < n; i++) {
            cJSON *it = cJSON_GetArrayItem(parts, i);
            const char *nid = cJSON_IsString(it) ? it->valuestring : NULL;
            if (!nid || !id_valid(nid) || ctl_part(t, nid))
                continue;
            struct part *p = &t->parts[t->n_parts++];
            agg_driver_init(&p->agg, nid);
            p->agg_idx = -1;
            p->last_seen_ms = now;
            const struct reg_driver *d = registry_find(c->reg, nid);
            p->original = d && registry_original(d);
            p->ready = p->ready || (p->original && t->state != TS_CREATED);
            ctl_rebuild_part(c, t, p, now);
        }
    }
    cJSON_Delete(parts);
    ostore_test_free(&row);
    if (t->state == TS_RUNNING) {
        /* Points already stored stay; what the rebuilt reports hold counts
         * as reported up to the next point. */
        int64_t last = ostore_point_last(c->db, t->id, "");
        t->agg_next = last + 1;
        ctl_agg_snapshot(t, &t->agg_snap);
        t->agg_snap.t_ms = t->agg_next * ctl_interval_ms(t);
        t->have_agg_prev = 1;
        for (int i = 0; i < t->n_parts; i++)
            t->parts[i].agg_idx = last;
    }
    return t;
}

/* A batch was rolled back: undo in memory what it did to the test that was
 * active by loading that test again from the store, as a restart would; the
 * batch's messages are then applied again. */
void ctl_reload_test(struct ctl *c, const char *id, int64_t now)
{
    if (!id[0])
        return;
    char why[512];
    struct test *t = ctl_load_test(c, id, now, why, sizeof why);
    if (!t) {
        log_error("test %s: cannot be reloaded from the store (%s); it goes on as held in memory",
                  id, why);
        return;
    }
    if (c->active)
        ctl_test_free(c->active);
    c->active = NULL;
    if (t->state == TS_CREATED || t->state == TS_CONFIGURED || t->state == TS_RUNNING) {
        c->active = t;
        log_warn("test %s reloaded from the store in state %s", t->id, tstate_names[t->state]);
        ctl_publish_test(c, t, now);
    } else {
        ctl_test_free(t);
    }
}

/* End a stored test that cannot be loaded: FAILED, with the reason, so
 * that it is not tried again at every start. Its stored config stays as it
 * was; its view shows that config as stored (null when it is not JSON). */
static void ctl_fail_stored(struct ctl *c, const char *id, const char *why, int64_t now)
{
    struct ostore_test row;
    char err[256];
    if (ostore_test_get(c->db, id, &row, err, sizeof err) != 1)
        return;
    struct test *t = calloc(1, sizeof *t);
    cJSON *view = NULL;
    if (t) {
        memcpy(t->id, row.test_id, sizeof t->id);
        t->state = TS_FAILED;
        t->created_ms = row.created_ms;
        t->start_at_ms = row.start_at_ms;
        t->ended_ms = now;
        t->min_drivers = row.min_drivers > 0 ? row.min_drivers : 1;
        ctl_reason(t, "cannot be resumed after a restart: %s", why);
        view = ctl_test_json(c, t, now, 0);
    }
    /* Its thresholds' verdict stays as stored, in the view too. */
    cJSON *verdict = row.verdict ? cJSON_Parse(row.verdict) : NULL;
    if (view && verdict && cJSON_ReplaceItemInObjectCaseSensitive(view, "verdict", verdict))
        verdict = NULL;
    cJSON_Delete(verdict);
    cJSON *cfg = row.config ? cJSON_Parse(row.config) : NULL;
    char *summary = NULL, *old_reason = row.reason, *old_summary = row.summary,
         *old_per_driver = row.per_driver;
    if (view &&
        cJSON_ReplaceItemInObjectCaseSensitive(view, "config", cfg ? cfg : cJSON_CreateNull()))
        summary = cJSON_PrintUnformatted(view);
    else
        cJSON_Delete(cfg);
    if (!summary) {
        ctl_db_error(c, "save test", "out of memory");
    } else {
        snprintf(row.state, sizeof row.state, "%s", tstate_names[TS_FAILED]);
        row.reason = t->reason;
        row.ended_ms = now;
        row.summary = summary;
        row.per_driver = "[]";
        if (ostore_test_put(c->db, &row, err, sizeof err) < 0)
            ctl_db_error(c, "save test", err);
    }
    row.reason = old_reason;
    row.summary = old_summary;
    row.per_driver = old_per_driver;
    cJSON_free(summary);
    cJSON_Delete(view);
    if (t)
        ctl_test_free(t);
    ostore_test_free(&row);
}

/* Bring back the unfinished test, if any; older unfinished ones failed. */
int ctl_restore_tests(struct ctl *c, int64_t now, char *err, size_t errlen)
{
    char ids[64][ID_MAX];
    char newest[ID_MAX] = "";
    int64_t newest_ms = -1;
    static const enum tstate open_states[] = {TS_CREATED, TS_CONFIGURED, TS_RUNNING};
    char all[192][ID_MAX];
    int nall = 0;
    for (size_t s = 0; s < 3; s++) {
        int n = ostore_tests_in_state(c->db, tstate_names[open_states[s]], ids, 64, err, errlen);
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++)
            memcpy(all[nall++], ids[i], ID_MAX);
    }
    for (int i = 0; i < nall; i++) {
        struct ostore_test row;
        if (ostore_test_get(c->db, all[i], &row, err, errlen) == 1 && row.created_ms > newest_ms) {
            newest_ms = row.created_ms;
            memcpy(newest, all[i], ID_MAX);
        }
        ostore_test_free(&row);
    }
    for (int i = 0; i < nall; i++) {
        char why[512];
        struct test *t = ctl_load_test(c, all[i], now, why, sizeof why);
        if (!t) {
            log_error("test %s cannot be resumed: %s; it ends FAILED", all[i], why);
            ctl_fail_stored(c, all[i], why, now);
            continue;
        }
        if (strcmp(all[i], newest) == 0 && !c->active) {
            c->active = t;
            log_info("test %s resumes in state %s with %d participant(s)", t->id,
                     tstate_names[t->state], t->n_parts);
            if (t->state == TS_CONFIGURED)
                ctl_reason(t, "the orchestrator restarted while waiting for READY");
        } else {
            ctl_reason(t, "the orchestrator restarted and a newer test took over");
            ctl_finish(c, t, TS_FAILED, now);
        }
    }
    return 0;
}
