#define _POSIX_C_SOURCE 200809L
#include "ostore.h"

#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ostore {
    struct store *st;
};

static const char ostore_schema[] =
    "CREATE TABLE IF NOT EXISTS tests ("
    " test_id TEXT PRIMARY KEY,"
    " created_ms INTEGER NOT NULL,"
    " state TEXT NOT NULL,"
    " reason TEXT NOT NULL DEFAULT '',"
    " config TEXT NOT NULL,"
    " min_drivers INTEGER NOT NULL DEFAULT 1,"
    " participants TEXT NOT NULL DEFAULT '[]',"
    " start_at_ms INTEGER,"
    " ended_ms INTEGER,"
    " summary TEXT,"
    " per_driver TEXT,"
    " thresholds TEXT,"
    " verdict TEXT);"
    "CREATE INDEX IF NOT EXISTS tests_by_created ON tests(created_ms);"
    "CREATE INDEX IF NOT EXISTS tests_by_state ON tests(state);"
    "CREATE TABLE IF NOT EXISTS drivers ("
    " node_id TEXT PRIMARY KEY,"
    " node_ip TEXT NOT NULL DEFAULT '',"
    " hostname TEXT NOT NULL DEFAULT '',"
    " pid INTEGER NOT NULL DEFAULT 0,"
    " version TEXT NOT NULL DEFAULT '',"
    " registered_ms INTEGER NOT NULL,"
    " last_heartbeat_ms INTEGER NOT NULL DEFAULT 0,"
    " last_sent_ms INTEGER NOT NULL DEFAULT 0,"
    " state INTEGER NOT NULL DEFAULT 0,"
    " test_id TEXT NOT NULL DEFAULT '',"
    " requests_sent INTEGER NOT NULL DEFAULT 0);"
    /* A report is known by its node and its report_id: the original
     * programs' report ids are millisecond timestamps, so two drivers can
     * send the same one. Stores from before keyed reports by report_id
     * alone, in a table named reports: its rows move here at open. */
    "CREATE TABLE IF NOT EXISTS node_reports ("
    " report_id TEXT NOT NULL,"
    " test_id TEXT NOT NULL,"
    " node_id TEXT NOT NULL,"
    " seq INTEGER,"
    " final INTEGER NOT NULL,"
    " received_ms INTEGER NOT NULL,"
    " json TEXT NOT NULL,"
    " PRIMARY KEY (node_id, report_id));"
    "CREATE INDEX IF NOT EXISTS node_reports_by_test ON node_reports(test_id, node_id);"
    "CREATE TABLE IF NOT EXISTS reports (report_id TEXT PRIMARY KEY, test_id TEXT NOT NULL,"
    " node_id TEXT NOT NULL, seq INTEGER, final INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    " json TEXT NOT NULL);"
    "INSERT OR IGNORE INTO node_reports SELECT report_id, test_id, node_id, seq, final,"
    " received_ms, json FROM reports;"
    "DROP TABLE reports;"
    "CREATE TABLE IF NOT EXISTS points ("
    " test_id TEXT NOT NULL,"
    " node_id TEXT NOT NULL,"
    " idx INTEGER NOT NULL,"
    " t_ms INTEGER NOT NULL,"
    " requests_sent INTEGER NOT NULL,"
    " responses_received INTEGER NOT NULL,"
    " errors INTEGER NOT NULL,"
    " rps REAL NOT NULL,"
    " p50 REAL, p90 REAL, p99 REAL, mean REAL, max REAL,"
    " PRIMARY KEY (test_id, node_id, idx));";

static int ostore_fail(char *err, size_t errlen, const char *what, sqlite3 *db)
{
    if (err && errlen)
        snprintf(err, errlen, "sqlite %s: %s", what, db ? sqlite3_errmsg(db) : "?");
    return -1;
}

/* Columns added since the first schema: a store made before them gets
 * them at open (NULL in the rows already there). */
static const struct {
    const char *table, *column, *type;
} ostore_added[] = {
    {"tests", "thresholds", "TEXT"},
    {"tests", "verdict", "TEXT"},
};

static int ostore_has_column(struct ostore *s, const char *table, const char *column, char *err,
                             size_t errlen)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name = ?1", table);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(store_db(s->st), sql, -1, &st, NULL) != SQLITE_OK)
        return ostore_fail(err, errlen, "table info", store_db(s->st));
    sqlite3_bind_text(st, 1, column, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return ostore_fail(err, errlen, "table info", store_db(s->st));
}

static int ostore_migrate(struct ostore *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof ostore_added / sizeof ostore_added[0]; i++) {
        int has = ostore_has_column(s, ostore_added[i].table, ostore_added[i].column, err, errlen);
        if (has < 0)
            return -1;
        if (has)
            continue;
        char sql[160];
        snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", ostore_added[i].table,
                 ostore_added[i].column, ostore_added[i].type);
        if (store_exec(s->st, sql, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int ostore_open(const char *path, struct ostore **out, char *err, size_t errlen)
{
    *out = NULL;
    struct ostore *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (store_open(path, ostore_schema, &s->st, err, errlen) < 0) {
        free(s);
        return -1;
    }
    if (ostore_migrate(s, err, errlen) < 0) {
        ostore_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

void ostore_close(struct ostore *s)
{
    if (!s)
        return;
    store_close(s->st);
    free(s);
}

int ostore_begin(struct ostore *s, char *err, size_t errlen)
{
    return store_begin(s->st, err, errlen);
}

int ostore_commit(struct ostore *s, char *err, size_t errlen)
{
    return store_commit(s->st, err, errlen);
}

void ostore_rollback(struct ostore *s)
{
    store_rollback(s->st);
}

static char *ostore_col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

static void ostore_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void ostore_bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
    if (v > 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

/* ---- tests ---- */

void ostore_test_free(struct ostore_test *t)
{
    if (!t)
        return;
    free(t->reason);
    free(t->config);
    free(t->participants);
    free(t->summary);
    free(t->per_driver);
    free(t->thresholds);
    free(t->verdict);
    t->reason = t->config = t->participants = t->summary = t->per_driver = NULL;
    t->thresholds = t->verdict = NULL;
}

int ostore_test_put(struct ostore *s, const struct ostore_test *t, char *err, size_t errlen)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO tests (test_id, created_ms, state, reason, config, min_drivers,"
        " participants, start_at_ms, ended_ms, summary, per_driver, thresholds, verdict)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, t->test_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, t->created_ms);
    sqlite3_bind_text(st, 3, t->state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, t->reason ? t->reason : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, t->config ? t->config : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, t->min_drivers);
    sqlite3_bind_text(st, 7, t->participants ? t->participants : "[]", -1, SQLITE_TRANSIENT);
    ostore_bind_opt(st, 8, t->start_at_ms);
    ostore_bind_opt(st, 9, t->ended_ms);
    ostore_bind_text(st, 10, t->summary);
    ostore_bind_text(st, 11, t->per_driver);
    ostore_bind_text(st, 12, t->thresholds);
    ostore_bind_text(st, 13, t->verdict);
    return store_step_done(s->st, st, err, errlen);
}

int ostore_test_get(struct ostore *s, const char *test_id, struct ostore_test *out, char *err,
                    size_t errlen)
{
    static const char sql[] =
        "SELECT test_id, created_ms, state, reason, config, min_drivers, participants,"
        " start_at_ms, ended_ms, summary, per_driver, thresholds, verdict FROM tests"
        " WHERE test_id = ?1";
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, test_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        ostore_fail(err, errlen, "select test", store_db(s->st));
        sqlite3_reset(st);
        return -1;
    }
    snprintf(out->test_id, sizeof out->test_id, "%s", (const char *)sqlite3_column_text(st, 0));
    out->created_ms = sqlite3_column_int64(st, 1);
    snprintf(out->state, sizeof out->state, "%s", (const char *)sqlite3_column_text(st, 2));
    out->reason = ostore_col_text(st, 3);
    out->config = ostore_col_text(st, 4);
    out->min_drivers = sqlite3_column_int64(st, 5);
    out->participants = ostore_col_text(st, 6);
    out->start_at_ms = sqlite3_column_int64(st, 7);
    out->ended_ms = sqlite3_column_int64(st, 8);
    out->summary = ostore_col_text(st, 9);
    out->per_driver = ostore_col_text(st, 10);
    out->thresholds = ostore_col_text(st, 11);
    out->verdict = ostore_col_text(st, 12);
    sqlite3_reset(st);
    return 1;
}

int ostore_test_exists(struct ostore *s, const char *test_id, char *err, size_t errlen)
{
    static const char sql[] = "SELECT 1 FROM tests WHERE test_id = ?1";
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, test_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return ostore_fail(err, errlen, "select test", store_db(s->st));
}

int ostore_tests_in_state(struct ostore *s, const char *state, char (*ids)[ID_MAX], int max,
                          char *err, size_t errlen)
{
    static const char sql[] =
        "SELECT test_id FROM tests WHERE state = ?1 ORDER BY created_ms ASC, rowid ASC";
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, state, -1, SQLITE_TRANSIENT);
    int n = 0, rc;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        if (n < max)
            snprintf(ids[n++], ID_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return ostore_fail(err, errlen, "select tests", store_db(s->st));
    return n;
}

int ostore_tests_list(struct ostore *s, int limit,
                      void (*fn)(void *ctx, const char *test_id, const char *summary), void *ctx,
                      char *err, size_t errlen)
{
    static const char sql[] =
        "SELECT test_id, summary FROM tests ORDER BY created_ms DESC, rowid DESC LIMIT ?1";
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_int(st, 1, limit);
    int n = 0, rc;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        fn(ctx, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return ostore_fail(err, errlen, "list tests", store_db(s->st));
    return n;
}

int ostore_tests_count(struct ostore *s, const char *const *states, int n, int64_t *counts,
                       char *err, size_t errlen)
{
    static const char sql[] = "SELECT state, COUNT(*) FROM tests GROUP BY state";
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    for (int i = 0; i < n; i++)
        counts[i] = 0;
    int rc;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        const char *state = (const char *)sqlite3_column_text(st, 0);
        for (int i = 0; state && i < n; i++)
            if (strcmp(state, states[i]) == 0)
                counts[i] = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return ostore_fail(err, errlen, "count tests", store_db(s->st));
    return 0;
}

/* ---- drivers ---- */

int ostore_driver_put(struct ostore *s, const struct reg_driver *d, char *err, size_t errlen)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO drivers (node_id, node_ip, hostname, pid, version,"
        " registered_ms, last_heartbeat_ms, last_sent_ms, state, test_id, requests_sent)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, d->node_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, d->node_ip, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, d->hostname, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, d->pid);
    sqlite3_bind_text(st, 5, d->version, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, d->registered_ms);
    sqlite3_bind_int64(st, 7, d->last_rx_ms);
    sqlite3_bind_int64(st, 8, d->last_sent_ms);
    sqlite3_bind_int(st, 9, (int)d->state);
    sqlite3_bind_text(st, 10, d->test_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 11, d->requests_sent);
    return store_step_done(s->st, st, err, errlen);
}

int ostore_driver_delete(struct ostore *s, const char *node_id, char *err, size_t errlen)
{
    static const char sql[] = "DELETE FROM drivers WHERE node_id = ?1";
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, node_id, -1, SQLITE_TRANSIENT);
    return store_step_done(s->st, st, err, errlen);
}

static void ostore_col_buf(sqlite3_stmt *st, int col, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
}

int ostore_drivers_load(struct ostore *s, int64_t since_ms,
                        void (*fn)(void *ctx, const struct reg_driver *d), void *ctx, char *err,
                        size_t errlen)
{
    static const char sql[] =
        "SELECT node_id, node_ip, hostname, pid, version, registered_ms, last_heartbeat_ms,"
        " last_sent_ms, state, test_id, requests_sent FROM drivers"
        " WHERE last_heartbeat_ms >= ?1 ORDER BY registered_ms";
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, since_ms);
    int rc, n = 0;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        struct reg_driver d;
        memset(&d, 0, sizeof d);
        ostore_col_buf(st, 0, d.node_id, sizeof d.node_id);
        ostore_col_buf(st, 1, d.node_ip, sizeof d.node_ip);
        ostore_col_buf(st, 2, d.hostname, sizeof d.hostname);
        d.pid = sqlite3_column_int64(st, 3);
        ostore_col_buf(st, 4, d.version, sizeof d.version);
        d.registered_ms = sqlite3_column_int64(st, 5);
        d.last_rx_ms = sqlite3_column_int64(st, 6);
        d.last_sent_ms = sqlite3_column_int64(st, 7);
        int state = sqlite3_column_int(st, 8);
        d.state = state >= NODE_STATE_NONE && state <= NODE_STATE_RUNNING ? (enum node_state)state
                                                                          : NODE_STATE_NONE;
        ostore_col_buf(st, 9, d.test_id, sizeof d.test_id);
        d.requests_sent = sqlite3_column_int64(st, 10);
        if (id_valid(d.node_id)) {
            fn(ctx, &d);
            n++;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return ostore_fail(err, errlen, "load drivers", store_db(s->st));
    return n;
}

/* ---- reports ---- */

int ostore_report_put(struct ostore *s, const char *report_id, const char *test_id,
                      const char *node_id, int64_t seq, int final, int64_t received_ms,
                      const char *json, size_t len, char *err, size_t errlen)
{
    static const char sql[] =
        "INSERT OR IGNORE INTO node_reports (report_id, test_id, node_id, seq, final, received_ms,"
        " json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, report_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, test_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, node_id, -1, SQLITE_TRANSIENT);
    if (seq >= 0)
        sqlite3_bind_int64(st, 4, seq);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_int(st, 5, final ? 1 : 0);
    sqlite3_bind_int64(st, 6, received_ms);
    sqlite3_bind_text(st, 7, json, (int)len, SQLITE_TRANSIENT);
    if (store_step_done(s->st, st, err, errlen) < 0)
        return -1;
    return sqlite3_changes(store_db(s->st)) > 0 ? 1 : 0;
}

int ostore_report_latest(struct ostore *s, const char *test_id, const char *node_id, char **json,
                         char *err, size_t errlen)
{
    static const char sql[] = "SELECT json FROM node_reports WHERE test_id = ?1 AND node_id = ?2"
                              " ORDER BY seq IS NULL DESC, final DESC, seq DESC LIMIT 1";
    *json = NULL;
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, test_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, node_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *json = ostore_col_text(st, 0);
        sqlite3_reset(st);
        if (!*json) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 1;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return ostore_fail(err, errlen, "latest report", store_db(s->st));
    return 0;
}

/* ---- time series ---- */

int ostore_point_put(struct ostore *s, const char *test_id, const char *node_id, int64_t idx,
                     const struct series_point *p, char *err, size_t errlen)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO points (test_id, node_id, idx, t_ms, requests_sent,"
        " responses_received, errors, rps, p50, p90, p99, mean, max)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, test_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, node_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, idx);
    sqlite3_bind_int64(st, 4, p->t_ms);
    sqlite3_bind_int64(st, 5, p->requests_sent);
    sqlite3_bind_int64(st, 6, p->responses_received);
    sqlite3_bind_int64(st, 7, p->errors);
    sqlite3_bind_double(st, 8, p->rps);
    const double lat[] = {p->p50, p->p90, p->p99, p->mean, p->max};
    for (int i = 0; i < 5; i++) {
        if (p->has_lat)
            sqlite3_bind_double(st, 9 + i, lat[i]);
        else
            sqlite3_bind_null(st, 9 + i);
    }
    return store_step_done(s->st, st, err, errlen);
}

int64_t ostore_point_last(struct ostore *s, const char *test_id, const char *node_id)
{
    static const char sql[] = "SELECT MAX(idx) FROM points WHERE test_id = ?1 AND node_id = ?2";
    sqlite3_stmt *st = store_stmt(s->st, sql, NULL, 0);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, test_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, node_id, -1, SQLITE_TRANSIENT);
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

int ostore_points_each(struct ostore *s, const char *test_id,
                       void (*fn)(void *ctx, const char *node_id, const struct series_point *p),
                       void *ctx, char *err, size_t errlen)
{
    static const char sql[] =
        "SELECT node_id, t_ms, requests_sent, responses_received, errors, rps, p50, p90, p99,"
        " mean, max FROM points WHERE test_id = ?1 ORDER BY node_id, idx";
    sqlite3_stmt *st = store_stmt(s->st, sql, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, test_id, -1, SQLITE_TRANSIENT);
    int rc, n = 0;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        struct series_point p;
        memset(&p, 0, sizeof p);
        const unsigned char *node = sqlite3_column_text(st, 0);
        p.t_ms = sqlite3_column_int64(st, 1);
        p.requests_sent = sqlite3_column_int64(st, 2);
        p.responses_received = sqlite3_column_int64(st, 3);
        p.errors = sqlite3_column_int64(st, 4);
        p.rps = sqlite3_column_double(st, 5);
        p.has_lat = sqlite3_column_type(st, 6) != SQLITE_NULL;
        p.p50 = sqlite3_column_double(st, 6);
        p.p90 = sqlite3_column_double(st, 7);
        p.p99 = sqlite3_column_double(st, 8);
        p.mean = sqlite3_column_double(st, 9);
        p.max = sqlite3_column_double(st, 10);
        fn(ctx, node ? (const char *)node : "", &p);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return ostore_fail(err, errlen, "select points", store_db(s->st));
    return n;
}
