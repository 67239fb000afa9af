/* store: a thin SQLite wrapper (WAL, busy timeout, cached prepared
 * statements) that each program gives its own schema.
 *
 * A store is one connection; it is not thread-safe, so a caller that shares
 * it between threads serializes the calls. Every function returns 0 or -1
 * with the reason in err; none prints. */
#ifndef DLT_STORE_H
#define DLT_STORE_H

#include <sqlite3.h>
#include <stddef.h>

struct store;

/* Open (creating when missing) the database at path, switch it to WAL,
 * and run schema_sql (statements that must be idempotent, e.g. CREATE TABLE
 * IF NOT EXISTS) in one transaction. ":memory:" works for tests.
 * On failure *out is NULL. */
int store_open(const char *path, const char *schema_sql, struct store **out, char *err,
               size_t errlen);
/* Finalize cached statements and close. Accepts NULL. */
void store_close(struct store *s);

/* Run one or more statements that return no rows. */
int store_exec(struct store *s, const char *sql, char *err, size_t errlen);

/* A prepared statement for sql, cached by its text: the same sql string
 * returns the same statement, reset and with its bindings cleared. The store
 * keeps ownership; never finalize it. NULL on error (err filled). */
sqlite3_stmt *store_stmt(struct store *s, const char *sql, char *err, size_t errlen);

/* Step a statement that returns no rows and reset it.
 * Returns 0, or -1 with err. */
int store_step_done(struct store *s, sqlite3_stmt *st, char *err, size_t errlen);

int store_begin(struct store *s, char *err, size_t errlen);
int store_commit(struct store *s, char *err, size_t errlen);
/* Roll back; can't fail in a way the caller can act on. */
void store_rollback(struct store *s);

/* The raw handle, borrowed, for what this wrapper does not cover. */
sqlite3 *store_db(struct store *s);

#endif
