/* report: turns an engine snapshot into a metrics message (msg.h).
 *
 * Latencies go out in milliseconds, computed from the histograms: the four
 * original fields (mean, median, min, max) plus mode, p90, p95, p99 and
 * p99.9; the encoded histograms travel along so the orchestrator can merge
 * drivers exactly. */
#ifndef DLT_DRIVER_REPORT_H
#define DLT_DRIVER_REPORT_H

#include "engine.h"
#include "hist.h"
#include "msg.h"

#include <stdint.h>

struct report_in {
    const char *node_id;
    const char *test_id;
    int64_t seq;
    int final;
    const struct engine_stats *st; /* NULL: every count is zero */
    const struct hist *lat;        /* latency (due or send to completion) */
    const struct hist *svc;        /* service time (send to completion) */
    int64_t elapsed_ms;
    int64_t first_send_ms; /* epoch ms; 0 when nothing was sent */
    const char *failure;   /* NULL or "": none */
    const char *engine;    /* engine_name; NULL: none was made */
    struct engine *eng;    /* NULL, or a mix's engine: by_request is filled from it */
    struct hist *scratch;  /* with eng: a histogram to merge each request's into */
};

/* Build the metrics message for in, with a new report_id. out is
 * overwritten; free it with msg_metrics_free. Returns 0, or -1 when out of
 * memory (out then holds nothing to free). */
int report_build(const struct report_in *in, struct msg_metrics *out);

#endif
