#define _POSIX_C_SOURCE 200809L
#include "dstore.h"

#include "store.h"

#include <stdio.h>
#include <stdlib.h>

struct dstore {
    struct store *st;
};

static const char dstore_schema[] = "CREATE TABLE IF NOT EXISTS driver_tests ("
                                    " test_id TEXT NOT NULL,"
                                    " node_id TEXT NOT NULL,"
                                    " test_type TEXT,"
                                    " target_url TEXT,"
                                    " started_ms INTEGER,"
                                    " ended_ms INTEGER NOT NULL,"
                                    " requests_sent INTEGER NOT NULL,"
                                    " responses_received INTEGER NOT NULL,"
                                    " errors INTEGER NOT NULL,"
                                    " failure TEXT NOT NULL DEFAULT '',"
                                    " report_json TEXT NOT NULL,"
                                    " histogram TEXT,"
                                    " service_histogram TEXT,"
                                    " PRIMARY KEY (test_id, node_id));";

static const char dstore_insert[] =
    "INSERT OR REPLACE INTO driver_tests (test_id, node_id, test_type, target_url,"
    " started_ms, ended_ms, requests_sent, responses_received, errors, failure, report_json,"
    " histogram, service_histogram) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
    " ?13)";

int dstore_open(const char *path, struct dstore **out, char *err, size_t errlen)
{
    *out = NULL;
    struct dstore *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (store_open(path, dstore_schema, &s->st, err, errlen) < 0) {
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void dstore_close(struct dstore *s)
{
    if (!s)
        return;
    store_close(s->st);
    free(s);
}

static void dstore_bind_text(sqlite3_stmt *q, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(q, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(q, i);
}

int dstore_save(struct dstore *s, const struct dstore_test *t, const struct msg_metrics *m,
                const char *json, char *err, size_t errlen)
{
    sqlite3_stmt *q = store_stmt(s->st, dstore_insert, err, errlen);
    if (!q)
        return -1;
    dstore_bind_text(q, 1, m->test_id);
    dstore_bind_text(q, 2, m->node_id);
    dstore_bind_text(q, 3, t->test_type);
    dstore_bind_text(q, 4, t->target_url);
    if (t->started_ms > 0)
        sqlite3_bind_int64(q, 5, t->started_ms);
    else
        sqlite3_bind_null(q, 5);
    sqlite3_bind_int64(q, 6, t->ended_ms);
    sqlite3_bind_int64(q, 7, m->requests_sent);
    sqlite3_bind_int64(q, 8, m->responses_received);
    sqlite3_bind_int64(q, 9, m->errors);
    dstore_bind_text(q, 10, m->failure);
    dstore_bind_text(q, 11, json);
    dstore_bind_text(q, 12, m->histogram);
    dstore_bind_text(q, 13, m->service_histogram);
    return store_step_done(s->st, q, err, errlen);
}

int64_t dstore_count(struct dstore *s)
{
    sqlite3_stmt *q = store_stmt(s->st, "SELECT count(*) FROM driver_tests", NULL, 0);
    if (!q)
        return -1;
    int64_t n = -1;
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return n;
}
