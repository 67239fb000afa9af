/* watch: follow a running test until it ends, showing its progress.
 *
 * GET /api/tests/{id} is polled every WATCH_POLL_MS. On a terminal a
 * progress bar is redrawn in place at every poll; otherwise one plain line
 * is printed per second (and on every state change). */
#ifndef DLT_CLIENT_WATCH_H
#define DLT_CLIENT_WATCH_H

#include "http.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WATCH_POLL_MS 300
/* How long the orchestrator may fail to answer before the watch gives up. */
#define WATCH_FAIL_BUDGET_MS 15000

struct watch_opts {
    FILE *out;      /* progress output; NULL: none (machine output) */
    int tty;        /* 1: a bar redrawn in place; 0: a line per second */
    int columns;    /* the terminal width: the bar is cut to fit it; 0 unknown */
    int64_t max_ms; /* give up after this long; 0: no limit */
    /* Counts SIGINTs (may be NULL): the first asks the orchestrator to stop
     * the test and the watch goes on to its end; a second gives up. */
    volatile sig_atomic_t *interrupts;
};

/* Follow test id until it is COMPLETED, PARTIAL, FAILED or ABORTED.
 * Returns 0 with *final set to the last test object (the caller's,
 * cJSON_Delete), or -1 with the reason in err (*final NULL): the
 * orchestrator stopped answering for WATCH_FAIL_BUDGET_MS, answered an
 * error, max_ms passed, or a second interrupt came. */
int watch_test(struct http_client *h, const char *id, const struct watch_opts *o, cJSON **final,
               char *err, size_t errlen);

/* The progress bar for a test object, without a line end:
 * "RUNNING [#####-----]  45.2%  904/2000  451 req/s  p50 1.21ms  p99 4.50ms  errors 0  2.0s".
 * The bar is 30 characters, or narrower to fit columns when columns > 0
 * (none when less than 5 are left). Always NUL-terminates buf; can't fail. */
void watch_format_bar(const cJSON *test, double elapsed_s, int columns, char *buf, size_t buflen);

/* The plain per-second line, without a line end:
 * "t=2.0s state=RUNNING done=904/2000 (45.2%) rps=451.3 p50=1.21ms p99=4.50ms errors=0".
 * Always NUL-terminates buf; can't fail. */
void watch_format_line(const cJSON *test, double elapsed_s, char *buf, size_t buflen);

#endif
