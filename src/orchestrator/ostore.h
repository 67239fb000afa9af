/* ostore: the orchestrator's SQLite schema and queries (on store.h; WAL).
 *
 * Tables: tests (config, state, reason, timestamps, participants, final
 * results as JSON, thresholds and their verdict), drivers, reports (every metrics report as raw
 * JSON, unique by report_id) and points (the time series). Not thread-safe: the caller serializes.
 * Every function returns 0 (or a count, or 1/0 for found/not found) or -1 with the reason in err.
 * Strings handed out are malloc'd; the caller frees them with free(). */
#ifndef ORCH_OSTORE_H
#define ORCH_OSTORE_H

#include "registry.h"
#include "series.h"

#include <stddef.h>
#include <stdint.h>

struct ostore;

int ostore_open(const char *path, struct ostore **out, char *err, size_t errlen);
/* Accepts NULL. */
void ostore_close(struct ostore *s);

int ostore_begin(struct ostore *s, char *err, size_t errlen);
int ostore_commit(struct ostore *s, char *err, size_t errlen);
void ostore_rollback(struct ostore *s);

/* ---- tests ---- */

/* One row of the tests table. Strings are NULL when not set. */
struct ostore_test {
    char test_id[ID_MAX];
    int64_t created_ms;
    char state[16];
    char *reason;
    char *config; /* test_config JSON as sent to the drivers */
    int64_t min_drivers;
    char *participants;            /* JSON array of node ids */
    int64_t start_at_ms, ended_ms; /* 0: not yet */
    char *summary;                 /* the test object without per_driver */
    char *per_driver;              /* JSON array */
    char *thresholds;              /* {"thresholds": [...], "abort_on_fail"}; NULL none */
    char *verdict;                 /* the latest verdict JSON (null: no thresholds) */
};

/* Free the strings of t. Accepts NULL. */
void ostore_test_free(struct ostore_test *t);

/* Insert or replace the whole row. */
int ostore_test_put(struct ostore *s, const struct ostore_test *t, char *err, size_t errlen);
/* Load one test: 1 found (*out filled; free with ostore_test_free), 0 not
 * found, -1 error. */
int ostore_test_get(struct ostore *s, const char *test_id, struct ostore_test *out, char *err,
                    size_t errlen);
/* 1 when test_id is stored, 0 when not, -1 on error. */
int ostore_test_exists(struct ostore *s, const char *test_id, char *err, size_t errlen);
/* The ids of the tests in the given state, oldest first, up to max into ids.
 * Returns how many. */
int ostore_tests_in_state(struct ostore *s, const char *state, char (*ids)[ID_MAX], int max,
                          char *err, size_t errlen);
/* Call fn with each test's id and summary (NULL when unset), newest first,
 * at most limit. Returns the number of rows or -1. */
int ostore_tests_list(struct ostore *s, int limit,
                      void (*fn)(void *ctx, const char *test_id, const char *summary), void *ctx,
                      char *err, size_t errlen);
/* Count the tests in each of the n states named in states. */
int ostore_tests_count(struct ostore *s, const char *const *states, int n, int64_t *counts,
                       char *err, size_t errlen);

/* ---- drivers ---- */

int ostore_driver_put(struct ostore *s, const struct reg_driver *d, char *err, size_t errlen);
int ostore_driver_delete(struct ostore *s, const char *node_id, char *err, size_t errlen);
/* Call fn with every driver heard from at or after since_ms. */
int ostore_drivers_load(struct ostore *s, int64_t since_ms,
                        void (*fn)(void *ctx, const struct reg_driver *d), void *ctx, char *err,
                        size_t errlen);

/* ---- reports ---- */

/* Store one report's raw JSON. seq < 0: none (an original-format report).
 * Returns 1 when stored, 0 when a report with that report_id was stored
 * before (nothing changes), -1 on error. */
int ostore_report_put(struct ostore *s, const char *report_id, const char *test_id,
                      const char *node_id, int64_t seq, int final, int64_t received_ms,
                      const char *json, size_t len, char *err, size_t errlen);
/* The newest report (highest seq; an original-format one counts as the
 * newest) of node_id in test_id: 1 with *json (free()), 0 none, -1 error. */
int ostore_report_latest(struct ostore *s, const char *test_id, const char *node_id, char **json,
                         char *err, size_t errlen);

/* ---- time series ---- */

/* Insert or replace point idx of node_id ("" for the aggregate). */
int ostore_point_put(struct ostore *s, const char *test_id, const char *node_id, int64_t idx,
                     const struct series_point *p, char *err, size_t errlen);
/* Highest idx stored for node_id in test_id, or -1 when none (or error). */
int64_t ostore_point_last(struct ostore *s, const char *test_id, const char *node_id);
/* Every point of test_id in order: fn(node_id, point). Returns the count. */
int ostore_points_each(struct ostore *s, const char *test_id,
                       void (*fn)(void *ctx, const char *node_id, const struct series_point *p),
                       void *ctx, char *err, size_t errlen);

#endif
