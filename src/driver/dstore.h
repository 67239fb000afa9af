/* dstore: the driver's own metrics store (SQLite through store.h): each
 * test's final report and histograms, keyed by test_id and node_id, written
 * when the test ends. It survives restarts.
 *
 * Not thread-safe: the node thread alone uses it. */
#ifndef DLT_DRIVER_DSTORE_H
#define DLT_DRIVER_DSTORE_H

#include "msg.h"

#include <stddef.h>
#include <stdint.h>

struct dstore;

/* Open (creating when missing) the database at path. Returns 0, or -1 with
 * err (then *out is NULL). */
int dstore_open(const char *path, struct dstore **out, char *err, size_t errlen);

/* Close. Accepts NULL. */
void dstore_close(struct dstore *s);

/* What is kept about one ended test besides its final report. */
struct dstore_test {
    const char *test_type;  /* "AVALANCHE"/"TSUNAMI"; NULL unknown */
    const char *target_url; /* NULL unknown */
    int64_t started_ms;     /* epoch ms; 0 never started */
    int64_t ended_ms;       /* epoch ms */
};

/* Save the final report m (json is its encoded form, as sent) for
 * (m->test_id, m->node_id), replacing an earlier row for the same pair.
 * Returns 0, or -1 with err. */
int dstore_save(struct dstore *s, const struct dstore_test *t, const struct msg_metrics *m,
                const char *json, char *err, size_t errlen);

/* Rows stored so far (for logs and tests); -1 on error. */
int64_t dstore_count(struct dstore *s);

#endif
