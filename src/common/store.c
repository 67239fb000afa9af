#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_STMTS_MAX 96

struct store_cached {
    const char *sql; /* compared by content; borrowed from the caller */
    sqlite3_stmt *st;
};

struct store {
    sqlite3 *db;
    struct store_cached stmts[STORE_STMTS_MAX];
    int n_stmts;
};

static int store_fail(struct store *s, char *err, size_t errlen, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "sqlite %s: %s", what, s && s->db ? sqlite3_errmsg(s->db) : "");
    return -1;
}

int store_exec(struct store *s, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if (err && errlen)
            snprintf(err, errlen, "sqlite: %s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int store_open(const char *path, const char *schema_sql, struct store **out, char *err,
               size_t errlen)
{
    *out = NULL;
    struct store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        if (err && errlen)
            snprintf(err, errlen, "cannot open database %s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        free(s);
        return -1;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (store_exec(s,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                   "PRAGMA foreign_keys=ON;",
                   err, errlen) < 0 ||
        store_exec(s, "BEGIN IMMEDIATE", err, errlen) < 0) {
        store_close(s);
        return -1;
    }
    if (schema_sql && store_exec(s, schema_sql, err, errlen) < 0) {
        store_rollback(s);
        store_close(s);
        return -1;
    }
    if (store_exec(s, "COMMIT", err, errlen) < 0) {
        store_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_stmts; i++)
        sqlite3_finalize(s->stmts[i].st);
    sqlite3_close(s->db);
    free(s);
}

sqlite3_stmt *store_stmt(struct store *s, const char *sql, char *err, size_t errlen)
{
    for (int i = 0; i < s->n_stmts; i++) {
        if (s->stmts[i].sql == sql || strcmp(s->stmts[i].sql, sql) == 0) {
            sqlite3_reset(s->stmts[i].st);
            sqlite3_clear_bindings(s->stmts[i].st);
            return s->stmts[i].st;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        store_fail(s, err, errlen, "prepare");
        return NULL;
    }
    if (s->n_stmts < STORE_STMTS_MAX) {
        s->stmts[s->n_stmts].sql = sql;
        s->stmts[s->n_stmts].st = st;
        s->n_stmts++;
    } else {
        /* Cache full: keep it anyway by replacing the oldest entry. */
        sqlite3_finalize(s->stmts[0].st);
        memmove(&s->stmts[0], &s->stmts[1], sizeof s->stmts[0] * (STORE_STMTS_MAX - 1));
        s->stmts[STORE_STMTS_MAX - 1].sql = sql;
        s->stmts[STORE_STMTS_MAX - 1].st = st;
    }
    return st;
}

int store_step_done(struct store *s, sqlite3_stmt *st, char *err, size_t errlen)
{
    int rc = sqlite3_step(st);
    int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
    if (!ok)
        store_fail(s, err, errlen, "step");
    sqlite3_reset(st);
    return ok ? 0 : -1;
}

int store_begin(struct store *s, char *err, size_t errlen)
{
    return store_exec(s, "BEGIN IMMEDIATE", err, errlen);
}

int store_commit(struct store *s, char *err, size_t errlen)
{
    return store_exec(s, "COMMIT", err, errlen);
}

void store_rollback(struct store *s)
{
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

sqlite3 *store_db(struct store *s)
{
    return s->db;
}
